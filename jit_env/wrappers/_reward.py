"""Reward and discount transforms: TransformReward, TransformDiscount."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, specs
from jit_env.wrappers import _common


def _transformed(timestep: _core.TimeStep[Any], field: str, fn: Callable[[Any], Any],
                 fill: Callable[[Any], Any], boundary: _core.Boundary | None) -> _core.TimeStep[Any]:
    """`timestep` with `fn` applied to its `field` ("reward" or "discount"), where that is real.

    A placeholder gets `fill` (zeros, ones) of the transformed value's shape and
    dtype instead: a reset's FIRST (`boundary` None) and, in a step, a FIRST the
    `boundary` beneath calls a placeholder (a next-step auto-reset).
    """
    value = fn(getattr(timestep, field))
    placeholder = jax.tree_util.tree_map(fill, value)
    if boundary is not None:
        placeholder = _common.select(boundary.placeholder(timestep), placeholder, value)
    return dataclasses.replace(timestep, **{field: placeholder})


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
        return state, _transformed(timestep, "reward", self._fn, jnp.zeros_like, None)

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        return state, _transformed(timestep, "reward", self._fn, jnp.zeros_like, self._boundary)


class TransformDiscount(_core.Wrapper[Any, Any, Any]):
    """Applies `fn` to the discount of every transition.

    For an environment whose discount is not one number per step, before a
    bridge whose episode end is one bool (Gymnasium's ``terminated``):
    Jumanji's multi-agent environments (Connector, LevelBasedForaging,
    SearchAndRescue) give one discount per agent, all ending together, and
    ``fn=jnp.min`` gives the team's. A placeholder discount is never
    transformed: a FIRST time step from `reset`, or from a next-step auto-reset
    beneath (`jit_env.Boundary.placeholder`), carries ones of the transformed
    shape and dtype, as `restart` does.

    If `discount_spec` is None it is inferred from the shapes and dtypes `fn`
    produces, bounded in [0, 1] (a discount's range).

    >>> import jit_env
    >>> env = TransformDiscount(jit_env.make("CartPole-v1"), fn=lambda d: d * 0.5)
    >>> env.discount_spec()
    BoundedArray(shape=(), dtype=float32, minimum=0.0, maximum=1.0, name='discount')
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        fn: Callable[[Any], Any],
        discount_spec: specs.Spec[Any] | None = None,
    ):
        super().__init__(env)
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {fn!r}.")
        self._fn = fn
        if discount_spec is None:
            shape = jax.eval_shape(fn, env.discount_spec().generate_value())
            discount_spec = specs.BoundedArray(shape.shape, shape.dtype, 0.0, 1.0, name="discount")
        self._discount_spec = discount_spec
        self._boundary = _core.boundary(env)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("fn", self._fn)]

    def discount_spec(self) -> specs.Spec[Any]:
        return self._discount_spec

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        return state, _transformed(timestep, "discount", self._fn, jnp.ones_like, None)

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        return state, _transformed(timestep, "discount", self._fn, jnp.ones_like, self._boundary)
