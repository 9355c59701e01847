"""TimeLimit: truncate episodes after a fixed number of steps."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, _struct
from jit_env.wrappers import _common


@_struct.dataclass
class TimeLimitState(_core.WrapperState[Any]):
    """State of `TimeLimit`: the inner state and `steps` (int32) taken this episode."""

    steps: jax.Array


class TimeLimit(_core.Wrapper[Any, Any, Any]):
    """Ends every episode after `max_episode_steps` steps with a truncation.

    At the limit the step type becomes LAST and the discount is kept (so a
    truncation is LAST with discount > 0); a step that terminates at the limit
    stays a termination (discount 0). Place it inside any auto-reset wrapper.
    """

    state_type = TimeLimitState
    episodes = _core.PER_EPISODE

    def __init__(self, env: _core.Environment[Any, Any, Any], *, max_episode_steps: int):
        """Raises:
        ValueError: If `max_episode_steps` is not a positive int, or an
            auto-reset wrapper is beneath it (its counter would never reset).
        """
        super().__init__(env)
        self.max_episode_steps = _common.check_positive_int("max_episode_steps", max_episode_steps)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("max_episode_steps", self.max_episode_steps)]

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        steps = jnp.zeros(jnp.shape(timestep.step_type), jnp.int32)
        return TimeLimitState(inner=state, steps=steps), timestep

    def step(self, state: TimeLimitState, action: Any) -> Any:
        _common.check_action(self, action)
        inner, timestep = self._env.step(state.inner, action)
        steps = state.steps + 1
        step_type = jnp.where(
            steps >= self.max_episode_steps,
            jnp.asarray(_core.StepType.LAST, jnp.int8),
            timestep.step_type,
        )
        return TimeLimitState(inner=inner, steps=steps), dataclasses.replace(timestep, step_type=step_type)
