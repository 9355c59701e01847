"""`wrap`: the usual wrapper stack, composed where the reader can see it."""

from __future__ import annotations

import enum
from typing import Any

from jit_env import _core
from jit_env.wrappers import _autoreset, _observation, _statistics, _time_limit, _transforms


def wrap(
    env: _core.Environment[Any, Any, Any],
    *,
    num_envs: int | None = None,
    max_episode_steps: int | None = None,
    auto_reset: bool = True,
    mode: str | enum.Enum = _autoreset.SAME_STEP,
    strategy: str = _autoreset.COMPLETE,
    final_observation: bool = True,
    episode_statistics: bool = True,
    frame_stack: int | None = None,
    normalize_observation: bool = False,
    jit: bool = True,
) -> _core.Environment[Any, Any, Any]:
    """Builds the usual training stack around `env`, innermost first::

        TimeLimit -> FrameStack -> EpisodeStatistics -> TileAutoReset (or Tile,
        AutoReset) -> NormalizeObservation -> Jit

    Each layer is present only when asked for. Per-episode wrappers sit inside
    the auto-reset wrapper, so the terminal observation in
    ``extras["final_observation"]`` is stacked like any other, and statistics are
    shared across the batch by `NormalizeObservation`, which sits outside.

    Args:
        env: The environment.
        num_envs: Batch size (`Tile`), or None for a single environment.
        max_episode_steps: Adds `TimeLimit` if given.
        auto_reset: Adds auto-reset (`TileAutoReset` or `AutoReset`).
        mode: Auto-reset mode, ``"same_step"`` or ``"next_step"`` (see `auto_reset_mode`).
        strategy: Batched reset strategy (see `VmapAutoReset`).
        final_observation: Whether the auto-reset keeps ``extras["final_observation"]``
            (False: a stored trajectory holds no second copy of the observations).
        episode_statistics: Adds `EpisodeStatistics`.
        frame_stack: Adds `FrameStack` with this many frames if given.
        normalize_observation: Adds `NormalizeObservation`.
        jit: Adds `Jit` on the outside.

    Returns:
        The wrapped environment.
    """
    if max_episode_steps is not None:
        env = _time_limit.TimeLimit(env, max_episode_steps=max_episode_steps)
    if frame_stack is not None:
        env = _observation.FrameStack(env, num_stack=frame_stack)
    if episode_statistics:
        env = _statistics.EpisodeStatistics(env)
    if num_envs is not None:
        if auto_reset:
            env = _autoreset.TileAutoReset(
                env, num_envs, mode=mode, strategy=strategy, final_observation=final_observation)
        else:
            env = _transforms.Tile(env, num_envs)
    elif auto_reset:
        env = _autoreset.AutoReset(env, mode=mode, final_observation=final_observation)
    if normalize_observation:
        env = _observation.NormalizeObservation(env)
    if jit:
        env = _transforms.Jit(env)
    return env
