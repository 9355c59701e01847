"""Wrappers that apply JAX transformations: Jit, Vmap, Tile and StopGradient."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, specs
from jit_env.wrappers import _common

is_unsized_batch = _common.is_unsized_batch


class Jit(_core.Wrapper[Any, Any, Any]):
    """Compiles `step` and `reset` with `jax.jit`, once each.

    The action's structure, shapes and dtypes are checked against the action
    spec while tracing, so a mismatch is a `ValueError` before anything runs.
    """

    def __init__(self, env: _core.Environment[Any, Any, Any], **jit_kwargs: Any):
        """Args:
        env: The environment to compile.
        **jit_kwargs: Passed to `jax.jit` for both `step` and `reset`.
        """
        super().__init__(env)
        self._jit_kwargs = jit_kwargs
        self._step_fn = jax.jit(self._checked_step, **jit_kwargs)
        self._reset_fn = jax.jit(self._reset, **jit_kwargs)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return list(self._jit_kwargs.items())

    def _reset(self, key: jax.Array, options: Any) -> Any:
        return self._env.reset(key, options=options)

    def _checked_step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        return self._env.step(state, action)

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        return self._reset_fn(key, options)

    def step(self, state: Any, action: Any) -> Any:
        return self._step_fn(state, action)


def _vmapped_reset(env: _core.Environment[Any, Any, Any], options_in_axes: Any) -> Any:
    return jax.vmap(lambda k, o: env.reset(k, options=o), in_axes=(0, options_in_axes))


def _checked_slice_step(env: _core.Environment[Any, Any, Any]) -> Any:
    def step(state: Any, action: Any) -> Any:
        _common.check_action(env, action)
        return env.step(state, action)

    return step


def _render_batch(env: _core.Environment[Any, Any, Any], state: Any) -> Any:
    """Renders every slice: with `vmap` if the renderer is pure JAX, else in a loop."""
    try:
        return jax.vmap(env.render)(state)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
            jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError):
        n = jax.tree_util.tree_leaves(state)[0].shape[0]
        frames = [env.render(jax.tree_util.tree_map(lambda x, i=i: x[i], state)) for i in range(n)]
        return np.stack([np.asarray(f) for f in frames])


class Vmap(_core.Wrapper[Any, Any, Any]):
    """Batches `step` and `reset` with `jax.vmap` over a batch of any size.

    `reset` takes a batch of keys, shape `(N,)` for typed keys. The specs are
    those of one slice, since the batch size is not fixed (use `Tile` for specs
    of the whole batch). Reset `options` are shared by all sub-environments by
    default; pass `options_in_axes=0` to give each its own.
    """

    unsized_batch = True

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        options_in_axes: Any = None,
        **step_vmap_kwargs: Any,
    ):
        """Args:
        env: The environment to batch.
        options_in_axes: `in_axes` of the reset options (None: shared).
        **step_vmap_kwargs: Passed to `jax.vmap` for `step` only (e.g. `in_axes`).
        """
        super().__init__(env)
        self._options_in_axes = options_in_axes
        self._step_vmap_kwargs = step_vmap_kwargs
        self._step_fn = jax.vmap(_checked_slice_step(env), **step_vmap_kwargs)
        self._reset_fn = _vmapped_reset(env, options_in_axes)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        kwargs = list(self._step_vmap_kwargs.items())
        if self._options_in_axes is not None:
            kwargs.insert(0, ("options_in_axes", self._options_in_axes))
        return kwargs

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        return self._reset_fn(key, options)

    def step(self, state: Any, action: Any) -> Any:
        return self._step_fn(state, action)

    def render(self, state: Any) -> Any:
        """Renders every sub-environment: a batch of frames."""
        if self._renderer is not None:
            return self._renderer(state)
        return _render_batch(self._env, state)


def batched_spec(spec: specs.Spec[Any], num: int) -> specs.Spec[Any]:
    """`spec` with a leading axis of `num`: reshaped if a leaf, `Batched` otherwise."""
    if isinstance(spec, specs.Array):
        return specs.reshape_spec(spec, prepend=(num,))
    return specs.Batched(spec, num)


class Tile(_core.Wrapper[Any, Any, Any]):
    """A fixed batch of `num` copies: `reset` takes one key and splits it `num` ways.

    The specs describe the whole batch: `Batched` observation and action specs,
    and reward and discount specs with a leading axis of `num`.
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        num: int,
        *,
        options_in_axes: Any = None,
        **step_vmap_kwargs: Any,
    ):
        """Args:
        env: The environment to batch.
        num: The batch size.
        options_in_axes: `in_axes` of the reset options (None: shared).
        **step_vmap_kwargs: Passed to `jax.vmap` for `step` only.

        Raises:
            ValueError: If `num` is not a positive int.
        """
        super().__init__(env)
        self.num = _common.check_positive_int("num", num)
        self._options_in_axes = options_in_axes
        self._step_vmap_kwargs = step_vmap_kwargs
        self._step_fn = jax.vmap(_checked_slice_step(env), **step_vmap_kwargs)
        self._reset_fn = _vmapped_reset(env, options_in_axes)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        kwargs: list[tuple[str, Any]] = [("num", self.num)]
        if self._options_in_axes is not None:
            kwargs.append(("options_in_axes", self._options_in_axes))
        return kwargs + list(self._step_vmap_kwargs.items())

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        return self._reset_fn(jax.random.split(key, self.num), options)

    def step(self, state: Any, action: Any) -> Any:
        # Only an action batched along axis 0 (the default `in_axes`) is checked here;
        # `in_axes=(0, None)` broadcasts one action to every sub-environment (0.1.5 allowed it).
        in_axes = self._step_vmap_kwargs.get("in_axes", 0)
        action_axes = in_axes[1] if isinstance(in_axes, (tuple, list)) else in_axes
        if action_axes == 0:
            _common.check_action(self, action)
        return self._step_fn(state, action)

    def render(self, state: Any) -> Any:
        """Renders every sub-environment: a batch of `num` frames."""
        if self._renderer is not None:
            return self._renderer(state)
        return _render_batch(self._env, state)

    def observation_spec(self) -> specs.Spec[Any]:
        return specs.Batched(self._env.observation_spec(), self.num)

    def action_spec(self) -> specs.Spec[Any]:
        return specs.Batched(self._env.action_spec(), self.num)

    def reward_spec(self) -> specs.Spec[Any]:
        return batched_spec(self._env.reward_spec(), self.num)

    def discount_spec(self) -> specs.Spec[Any]:
        return batched_spec(self._env.discount_spec(), self.num)


def _stop_gradient(tree: Any) -> Any:
    return jax.tree_util.tree_map(
        lambda x: jax.lax.stop_gradient(x) if jnp.issubdtype(jnp.result_type(x), jnp.inexact) else x,
        tree,
    )


class StopGradient(_core.Wrapper[Any, Any, Any]):
    """Blocks gradients through the environment's outputs (`reset` and `step`)."""

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        return _stop_gradient(self._env.reset(key, options=options))

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        return _stop_gradient(self._env.step(state, action))
