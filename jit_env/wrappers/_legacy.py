"""jit_env 0.1.5's mixins, kept importable for code written against that release.

New code should compose `Tile`, `TileAutoReset` and friends instead: these
mixins depend on cooperative multiple inheritance, which the house style avoids.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax.numpy as jnp

from jit_env import _core, specs
from jit_env.wrappers import _autoreset, _common, _transforms

DEPRECATED = "{} is kept for jit_env 0.1.5 code; compose {} instead."


class BatchSpecMixin:
    """Deprecated: specs of a fixed batch of `num`, for a class with `env` (use `Tile`)."""

    env: _core.Environment[Any, Any, Any]

    def __init__(self, env: _core.Environment[Any, Any, Any], num: int, *args: Any, **kwargs: Any):
        warnings.warn(DEPRECATED.format("BatchSpecMixin", "jit_env.wrappers.Tile"), DeprecationWarning,
                      stacklevel=2)
        super().__init__(env, *args, **kwargs)  # type: ignore[call-arg]
        self.num = _common.check_positive_int("num", num)

    @property
    def batch(self) -> _core.Batch:
        """`Batch(num)`: its specs describe the whole batch, as `Tile` declares."""
        return _core.Batch(self.num)

    def action_spec(self) -> specs.Spec[Any]:
        return specs.Batched(self.env.action_spec(), self.num)

    def observation_spec(self) -> specs.Spec[Any]:
        return specs.Batched(self.env.observation_spec(), self.num)

    def reward_spec(self) -> specs.Spec[Any]:
        return _transforms.batched_spec(self.env.reward_spec(), self.num)

    def discount_spec(self) -> specs.Spec[Any]:
        return _transforms.batched_spec(self.env.discount_spec(), self.num)


class ResetMixin:
    """Deprecated: 0.1.5's same-step reset helper, for a class with `env` (use `AutoReset`)."""

    env: _core.Environment[Any, Any, Any]

    def __init_subclass__(cls, **kwargs: Any):
        warnings.warn(DEPRECATED.format("ResetMixin", "jit_env.wrappers.AutoReset"), DeprecationWarning,
                      stacklevel=2)
        super().__init_subclass__(**kwargs)

    def _auto_reset(self, state: Any, step: _core.TimeStep[Any]) -> tuple[Any, _core.TimeStep[Any]]:
        """Resets from `state.key`; keeps the reward, discount and extras of `step`.

        The same-step auto-reset of `AutoReset` (`_autoreset.restart_complete`
        and `_autoreset.same_step_timestep`, one environment), applied
        unconditionally as in 0.1.5: the caller's `lax.cond` on `step.last()`
        decides whether it runs. As in 0.1.5 the extras are returned unchanged
        (no final observation), so that
        `lax.cond(last, self._auto_reset, self._identity, state, step)` traces.
        """
        restart = jnp.ones(jnp.shape(step.step_type), bool)
        new_state, first = _autoreset.restart_complete(self.env, restart, state, (state, step))
        return new_state, _autoreset.same_step_timestep(restart, step, first, keep_final=False)

    @staticmethod
    def _identity(*x: Any) -> Any:
        return x
