"""Reward transforms: TransformReward."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

from jit_env import _core, specs
from jit_env.wrappers import _common


class TransformReward(_core.Wrapper[Any, Any, Any]):
    """Applies `fn` to the reward of every time step (FIRST included).

    If `reward_spec` is None it is inferred as unbounded `Array` specs from the
    shapes and dtypes `fn` produces.

    >>> # Scale rewards: TransformReward(env, fn=lambda r: 0.1 * r)
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        fn: Callable[[Any], Any],
        reward_spec: specs.Spec[Any] | None = None,
    ):
        super().__init__(env)
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {fn!r}.")
        self._fn = fn
        if reward_spec is None:
            reward_spec = _common.spec_from_value(
                jax.eval_shape(fn, env.reward_spec().generate_value()))
        self._reward_spec = reward_spec

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("fn", self._fn)]

    def reward_spec(self) -> specs.Spec[Any]:
        return self._reward_spec

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        return state, dataclasses.replace(timestep, reward=self._fn(timestep.reward))

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        return state, dataclasses.replace(timestep, reward=self._fn(timestep.reward))
