"""EpisodeStatistics: running episode return and length in `extras`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, _struct
from jit_env.wrappers import _common

EPISODE = "episode"
"""Key in `TimeStep.extras` of the dict ``{"return", "length", "done"}``."""



@_struct.dataclass
class EpisodeStatisticsState(_core.WrapperState[Any]):
    """State of `EpisodeStatistics`: return (reward's structure) and length (int32)."""

    episode_return: Any
    episode_length: jax.Array


class EpisodeStatistics(_core.Wrapper[Any, Any, Any]):
    """Adds ``extras["episode"] = {"return", "length", "done"}`` to every time step.

    `return` and `length` cover the current episode up to and including this
    step (zero after `reset`); `done` is True on the LAST step, where they are
    the finished episode's totals. Under an outer auto-reset wrapper the ending
    step's extras are kept, so `done` marks the finished episodes::

        env = VmapAutoReset(EpisodeStatistics(TimeLimit(env, max_episode_steps=500)))
        ...
        stats = timestep.extras["episode"]
        finished_returns = stats["return"][stats["done"]]
    """

    state_type = EpisodeStatisticsState
    episodes = _core.PER_EPISODE

    def _extras(self, timestep: _core.TimeStep[Any], state: EpisodeStatisticsState) -> Any:
        return _common.with_extras(timestep, **{EPISODE: {
            "return": state.episode_return,
            "length": state.episode_length,
            "done": timestep.last(),
        }})

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        inner, timestep = self._env.reset(key, options=options)
        state = EpisodeStatisticsState(
            inner=inner,
            episode_return=jax.tree_util.tree_map(jnp.zeros_like, timestep.reward),
            episode_length=jnp.zeros(jnp.shape(timestep.step_type), jnp.int32),
        )
        return state, self._extras(timestep, state)

    def step(self, state: EpisodeStatisticsState, action: Any) -> Any:
        _common.check_action(self, action)
        inner, timestep = self._env.step(state.inner, action)
        new = EpisodeStatisticsState(
            inner=inner,
            episode_return=jax.tree_util.tree_map(jnp.add, state.episode_return, timestep.reward),
            episode_length=state.episode_length + 1,
        )
        return new, self._extras(timestep, new)
