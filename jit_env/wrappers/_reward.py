"""Reward transforms: TransformReward."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, specs
from jit_env.wrappers import _common


class TransformReward(_core.Wrapper[Any, Any, Any]):
    """Applies `fn` to the reward of every transition.

    A placeholder reward is never transformed: the FIRST time step of `reset`,
    and that of a next-step auto-reset beneath
    (`jit_env.Boundary.placeholder`), carry zeros of the transformed
    reward's shape and dtype, as `restart` does. A same-step FIRST carries the
    ending transition's reward, which is transformed.

    If `reward_spec` is None it is inferred as unbounded `Array` specs from the
    shapes and dtypes `fn` produces.

    >>> import jit_env
    >>> env = TransformReward(jit_env.make("CartPole-v1"), fn=lambda r: r - 0.01)
    >>> float(env.reset(jax.random.key(0))[1].reward)
    0.0
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
        self._boundary = _core.boundary(env)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("fn", self._fn)]

    def reward_spec(self) -> specs.Spec[Any]:
        return self._reward_spec

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        placeholder = jax.tree_util.tree_map(jnp.zeros_like, self._fn(timestep.reward))
        return state, dataclasses.replace(timestep, reward=placeholder)

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        reward = self._fn(timestep.reward)
        placeholder = jax.tree_util.tree_map(jnp.zeros_like, reward)
        reward = _common.select(self._boundary.placeholder(timestep), placeholder, reward)
        return state, dataclasses.replace(timestep, reward=reward)
