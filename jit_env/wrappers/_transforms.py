"""Wrappers that apply JAX transformations: Jit, Vmap, Tile and StopGradient."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, specs
from jit_env.wrappers import _common

ERR_STEP_IN_AXES = (
    "Tile's `in_axes` for `step` must batch the state on axis 0 and the action on axis 0 "
    "(one action per sub-environment, the default) or None (one action broadcast to every "
    "sub-environment), i.e. 0, (0, 0) or (0, None); got {!r}."
)


def _action_axis(step_vmap_kwargs: dict[str, Any]) -> int | None:
    """The action's `in_axes` for `Tile`'s step: 0 (batched) or None (broadcast).

    Raises:
        ValueError: For any other `in_axes`.
    """
    in_axes = step_vmap_kwargs.get("in_axes", 0)
    pair = tuple(in_axes) if isinstance(in_axes, (tuple, list)) else (in_axes, in_axes)
    if len(pair) != 2 or not isinstance(pair[0], int) or isinstance(pair[0], bool) or pair[0] != 0 \
            or pair[1] not in (0, None) or isinstance(pair[1], bool):
        raise ValueError(ERR_STEP_IN_AXES.format(in_axes))
    return pair[1]


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

    batch = _core.Batch(None)

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


ERR_NUM_ENVS_TWICE = "{}: pass the batch size once, as `num_envs` (`num` is its deprecated name), got both."
ERR_NUM_ENVS_MISSING = "{}() needs the batch size: pass `num_envs`, e.g. {}(env, num_envs=8)."
DEPRECATED_NUM = "{}(num=...) is deprecated: the batch size is `num_envs` everywhere; pass num_envs={!r}."


def batch_size(owner: str, num_envs: int | None, num: int | None) -> int:
    """The batch size from `num_envs`, or from its deprecated name `num` (with a warning).

    Raises:
        ValueError: If neither or both are given, or the size is not a positive int.
    """
    if num is not None:
        if num_envs is not None:
            raise ValueError(ERR_NUM_ENVS_TWICE.format(owner))
        warnings.warn(DEPRECATED_NUM.format(owner, num), DeprecationWarning, stacklevel=3)
        num_envs = num
    if num_envs is None:
        raise ValueError(ERR_NUM_ENVS_MISSING.format(owner, owner))
    return _common.check_positive_int("num_envs", num_envs)


class Tile(_core.Wrapper[Any, Any, Any]):
    """A fixed batch of `num_envs` copies: `reset` takes one key and splits it `num_envs` ways.

    The specs describe the whole batch: `Batched` observation and action specs,
    and reward and discount specs with a leading axis of `num_envs`.
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        num_envs: int | None = None,
        *,
        options_in_axes: Any = None,
        num: int | None = None,
        **step_vmap_kwargs: Any,
    ):
        """Args:
        env: The environment to batch.
        num_envs: The batch size.
        options_in_axes: `in_axes` of the reset options (None: shared).
        num: Deprecated name of `num_envs` (a `DeprecationWarning`); the
            attribute `num` stays readable.
        **step_vmap_kwargs: Passed to `jax.vmap` for `step` only.

        Raises:
            ValueError: If `num_envs` is not a positive int, or given twice or not at all.
        """
        super().__init__(env)
        self.num_envs = batch_size("Tile", num_envs, num)
        self.num = self.num_envs
        self._action_axis = _action_axis(step_vmap_kwargs)
        self._options_in_axes = options_in_axes
        self._step_vmap_kwargs = step_vmap_kwargs
        self._step_fn = jax.vmap(_checked_slice_step(env), **step_vmap_kwargs)
        self._reset_fn = _vmapped_reset(env, options_in_axes)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        kwargs: list[tuple[str, Any]] = [("num_envs", self.num)]
        if self._options_in_axes is not None:
            kwargs.append(("options_in_axes", self._options_in_axes))
        return kwargs + list(self._step_vmap_kwargs.items())

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        return self._reset_fn(jax.random.split(key, self.num), options)

    def step(self, state: Any, action: Any) -> Any:
        # The action spec says what `step` takes: batched along axis 0 (the default), or
        # with `in_axes=(0, None)` one action of the inner spec broadcast to every
        # sub-environment (0.1.5 allowed it).
        _common.check_action(self, action)
        return self._step_fn(state, action)

    @property
    def batch(self) -> _core.Batch:  # type: ignore[override]
        """`Batch(num)`, or an unsized batch over one that is unsized (its specs count one slice)."""
        inner = self._env.batch
        return inner if inner is not None and inner.size is None else _core.Batch(self.num)

    def render(self, state: Any) -> Any:
        """Renders every sub-environment: a batch of `num_envs` frames."""
        if self._renderer is not None:
            return self._renderer(state)
        return _render_batch(self._env, state)

    def observation_spec(self) -> specs.Spec[Any]:
        return specs.Batched(self._env.observation_spec(), self.num)

    def action_spec(self) -> specs.Spec[Any]:
        """`Batched` over the sub-environments, or the inner spec with ``in_axes=(0, None)``."""
        if self._action_axis is None:
            return self._env.action_spec()
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
