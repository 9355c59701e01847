"""Observation transforms.

Every wrapper here also transforms ``extras["final_observation"]`` when an
auto-reset wrapper beneath it put one there, so the terminal observation an
agent bootstraps from looks like every other observation.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, _struct, specs
from jit_env.wrappers import _common

EXTENDABLE_FIELDS = ("observation", "action", "reward", "discount", "step_type")
ERR_NO_FIELDS = "ExtendObservation needs at least one field, e.g. 'observation', 'action'."
ERR_REPEATED_FIELD = "The fields of an extended observation must differ, got {}."
ERR_BAD_FIELD = "{!r} is not an extendable field; choose from " + ", ".join(map(repr, EXTENDABLE_FIELDS)) + "."
ERR_FLATTEN_DTYPES = (
    "FlattenObservation got observation leaves of dtypes {}; pass `dtype=` to cast them "
    "all to one dtype explicitly."
)
ERR_NORMALIZE_DTYPE = "NormalizeObservation needs floating-point observations, got dtype {} ({!r})."


def _leading_axes(value: Any, leaf_spec: specs.Spec[Any]) -> int:
    """Number of batch axes `value` has in front of its spec's shape."""
    return int(jnp.ndim(value)) - len(leaf_spec.shape)  # type: ignore[attr-defined]


_TYPE_PREFIX = "ExtendedObservation"


@functools.cache
def observation_type(fields: tuple[str, ...]) -> type[Any]:
    """The namedtuple type `ExtendObservation` uses for `fields`, in that order.

    One type per field order, shared by every instance, so observations of two
    wrappers with the same fields have equal tree structures, and picklable:
    the type is this module's attribute ``ExtendedObservation<indices>``, the
    indices of the fields in `EXTENDABLE_FIELDS` (``ExtendedObservation01`` for
    observation and action), found again by name when unpickled.

    >>> observation_type(("observation", "action"))(1, 2)
    Observation(observation=1, action=2)

    Raises:
        ValueError: If `fields` is empty, repeats a field or names an unknown one.
    """
    if not fields:
        raise ValueError(ERR_NO_FIELDS)
    for name in fields:
        if name not in EXTENDABLE_FIELDS:
            raise ValueError(ERR_BAD_FIELD.format(name))
    if len(set(fields)) != len(fields):
        raise ValueError(ERR_REPEATED_FIELD.format(fields))
    cls = collections.namedtuple("Observation", fields)  # type: ignore[misc]
    cls.__qualname__ = _TYPE_PREFIX + "".join(str(EXTENDABLE_FIELDS.index(f)) for f in fields)
    cls.__module__ = __name__
    return cls


def __getattr__(name: str) -> Any:
    """Finds `observation_type`'s types by their names (how pickle looks them up)."""
    digits = name[len(_TYPE_PREFIX):]
    if name.startswith(_TYPE_PREFIX) and digits and all(d in "01234" for d in digits):
        try:
            return observation_type(tuple(EXTENDABLE_FIELDS[int(d)] for d in digits))
        except ValueError:
            pass
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _step_type_shape(env: _core.Environment[Any, Any, Any]) -> tuple[int, ...]:
    """The shape of `env`'s step types as its specs count them (one slice for `Vmap`)."""
    key = jax.random.key(0)
    batch = _core.boundary(env).batch
    if batch is not None and batch.size is None:
        keys = jax.random.split(key, 1)
        return tuple(jax.eval_shape(lambda k: env.reset(k)[1].step_type, keys).shape[1:])
    return tuple(jax.eval_shape(lambda k: env.reset(k)[1].step_type, key).shape)


class ExtendObservation(_core.Wrapper[Any, Any, Any]):
    """Puts time step fields (and the action) into the observation, as a namedtuple.

    The namedtuple's fields keep the order given (duplicates dropped); its type
    is `observation_type(fields)`, shared by all instances and picklable. On
    `reset`, where there is no action yet, the action field holds
    `action_spec().generate_value()` (broadcast over the batch of `Vmap`).
    The observation spec is built once, at construction. Works over batched
    environments (`Tile`, `Vmap` and their auto-reset twins).

    >>> import jit_env
    >>> env = ExtendObservation(jit_env.make("CartPole-v1"), "observation", "action")
    >>> env.observation_spec().treedef == ExtendObservation(jit_env.make("CartPole-v1"),
    ...     "observation", "action").observation_spec().treedef
    True
    """

    def __init__(self, env: _core.Environment[Any, Any, Any], *values: str):
        """Args:
        env: The environment.
        *values: Names from ``'observation', 'action', 'reward', 'discount',
            'step_type'``.

        Raises:
            ValueError: If no or unknown names are given.
        """
        if not values:
            raise ValueError(ERR_NO_FIELDS)
        for name in values:
            if name not in EXTENDABLE_FIELDS:
                raise ValueError(ERR_BAD_FIELD.format(name))
        super().__init__(env)
        self.fields = tuple(dict.fromkeys(values))
        self.ObsStruct = observation_type(self.fields)
        self._step_type_shape = _step_type_shape(env)
        entries = {
            "observation": env.observation_spec,
            "action": env.action_spec,
            "reward": env.reward_spec,
            "discount": env.discount_spec,
            "step_type": lambda: specs.BoundedArray(self._step_type_shape, jnp.int8, 0, 2, "step_type"),
        }
        struct = self.ObsStruct(**{f: entries[f]() for f in self.fields})
        leaves, treedef = jax.tree_util.tree_flatten(struct, is_leaf=specs.is_spec)
        self._observation_spec = specs.Tree(leaves, treedef)

    @classmethod
    def pomdp_fields(cls, env: _core.Environment[Any, Any, Any]) -> ExtendObservation:
        """All fields, in the order observation, action, reward, discount, step_type."""
        return cls(env, *EXTENDABLE_FIELDS)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return []

    def __repr__(self) -> str:
        return f"ExtendObservation({self._env!r}, {', '.join(map(repr, self.fields))})"

    def _extend(self, timestep: _core.TimeStep[Any], action: Any) -> _core.TimeStep[Any]:
        def build(obs: Any) -> Any:
            values = {"observation": obs, "action": action, "reward": timestep.reward,
                      "discount": timestep.discount, "step_type": timestep.step_type}
            return self.ObsStruct(**{f: values[f] for f in self.fields})

        return _common.map_observation(timestep, build)

    def _reset_action(self, timestep: _core.TimeStep[Any]) -> Any:
        """The action spec's value, over the batch axes the specs do not count (`Vmap`)."""
        step_type = timestep.step_type
        batch = tuple(step_type.shape[: step_type.ndim - len(self._step_type_shape)])
        full = self._env.action_spec().generate_value()
        if not batch:
            return full
        return jax.tree_util.tree_map(lambda v: jnp.broadcast_to(v, batch + v.shape), full)

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        return state, self._extend(timestep, self._reset_action(timestep))

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        return state, self._extend(timestep, action)

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec


class TransformObservation(_core.Wrapper[Any, Any, Any]):
    """Applies `fn` to every observation.

    If `observation_spec` is None it is inferred as unbounded `Array` specs
    from the shapes and dtypes `fn` produces.
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        fn: Callable[[Any], Any],
        observation_spec: specs.Spec[Any] | None = None,
    ):
        super().__init__(env)
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {fn!r}.")
        self._fn = fn
        if observation_spec is None:
            observation_spec = _common.spec_from_value(
                jax.eval_shape(fn, env.observation_spec().generate_value()))
        self._observation_spec = observation_spec

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("fn", self._fn)]

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        return state, _common.map_observation(timestep, self._fn)

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        return state, _common.map_observation(timestep, self._fn)


class FlattenObservation(_core.Wrapper[Any, Any, Any]):
    """Flattens the observation tree into one vector per environment.

    Leaves are raveled and concatenated in pytree order; batch axes (of `Vmap`
    or `Tile`) in front are kept. All leaves must share a dtype unless `dtype`
    names the one to cast to. The spec is a `BoundedArray` if every leaf is
    bounded, else an `Array`.
    """

    def __init__(self, env: _core.Environment[Any, Any, Any], *, dtype: Any = None):
        """Raises:
        ValueError: If leaves have different dtypes and `dtype` is None.
        """
        super().__init__(env)
        inner, self._batch = _common.slice_spec(env.observation_spec())
        self._leaves = jax.tree_util.tree_leaves(specs.unpack_spec(inner), is_leaf=specs.is_spec)
        dtypes = sorted({str(s.dtype) for s in self._leaves})
        if dtype is None and len(dtypes) > 1:
            raise ValueError(ERR_FLATTEN_DTYPES.format(dtypes))
        self._dtype = np.dtype(dtype) if dtype is not None else self._leaves[0].dtype
        size = sum(int(np.prod(s.shape)) for s in self._leaves)
        if all(isinstance(s, specs.BoundedArray) for s in self._leaves):
            lo = np.concatenate([np.broadcast_to(s.minimum, s.shape).ravel() for s in self._leaves])
            hi = np.concatenate([np.broadcast_to(s.maximum, s.shape).ravel() for s in self._leaves])
            spec: specs.Spec[Any] = specs.BoundedArray(
                (size,), self._dtype, lo.astype(self._dtype), hi.astype(self._dtype))
        else:
            spec = specs.Array((size,), self._dtype)
        self._observation_spec = _common.rebatch(spec, self._batch)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("dtype", self._dtype)]

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def _flatten(self, obs: Any) -> jax.Array:
        leaves = jax.tree_util.tree_leaves(obs)
        lead = jnp.shape(leaves[0])[: _leading_axes(leaves[0], self._leaves[0])]
        parts = [jnp.reshape(x, (*lead, -1)).astype(self._dtype) for x in leaves]
        return jnp.concatenate(parts, axis=-1)

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        return state, _common.map_observation(timestep, self._flatten)

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        state, timestep = self._env.step(state, action)
        return state, _common.map_observation(timestep, self._flatten)


def _unbounded(spec: specs.Spec[Any]) -> specs.Spec[Any]:
    """`spec` with every leaf an unbounded `Array` of the same shape, dtype and name."""
    inner, batch = _common.slice_spec(spec)
    leaves, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(inner), is_leaf=specs.is_spec)
    arrays = [specs.Array(leaf.shape, leaf.dtype, leaf.name) for leaf in leaves]
    unbounded = arrays[0] if jax.tree_util.treedef_is_leaf(treedef) else specs.Tree(arrays, treedef)
    return _common.rebatch(unbounded, batch)


@_struct.dataclass
class NormalizeObservationState(_core.WrapperState[Any]):
    """Running statistics of `NormalizeObservation`: per-leaf mean and variance, and a count."""

    count: jax.Array
    mean: Any
    var: Any


class NormalizeObservation(_core.Wrapper[Any, Any, Any]):
    """Normalises observations to zero mean and unit variance with running statistics.

    The statistics live in the state and are shared across any batch axes in
    front of the spec's shape: wrapped around `Vmap`/`Tile`, all sub-environments
    update and use one set. Each observation is normalised with the statistics
    updated by it (as Gymnasium does). With `update=False` the statistics are
    frozen (for evaluation).

    It declares `Scope.ACROSS_EPISODES`: it sits outside any auto-reset
    wrapper, and a new episode started by `jit_env.new_episode` (each
    `reset` of `ToGymnasium` and `ToDeepmindEnv` after the first) keeps the
    statistics and normalises the first observation with them (`carry`).
    """

    state_type = NormalizeObservationState
    episodes = _core.Scope.ACROSS_EPISODES

    def __init__(self, env: _core.Environment[Any, Any, Any], *, epsilon: float = 1e-8, update: bool = True):
        """Raises:
        ValueError: If an observation leaf is not floating point, or
            `epsilon` is not positive.
        """
        super().__init__(env)
        if not epsilon > 0:
            raise ValueError(f"`epsilon` must be positive, got {epsilon!r}.")
        inner, _ = _common.slice_spec(env.observation_spec())
        self._leaves = specs.unpack_spec(inner)
        for leaf in jax.tree_util.tree_leaves(self._leaves, is_leaf=specs.is_spec):
            if not jnp.issubdtype(leaf.dtype, jnp.floating):
                raise ValueError(ERR_NORMALIZE_DTYPE.format(leaf.dtype, leaf))
        self.epsilon = epsilon
        self.update = update
        self._observation_spec = _unbounded(env.observation_spec())

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("epsilon", self.epsilon), ("update", self.update)]

    def observation_spec(self) -> specs.Spec[Any]:
        """The inner spec's shapes and dtypes, unbounded: a normalised value can lie anywhere."""
        return self._observation_spec

    def _updated(self, state: NormalizeObservationState, obs: Any) -> NormalizeObservationState:
        if not self.update:
            return state
        first = jax.tree_util.tree_leaves(obs)[0]
        first_spec = jax.tree_util.tree_leaves(self._leaves, is_leaf=specs.is_spec)[0]
        axes = tuple(range(_leading_axes(first, first_spec)))
        n = jnp.asarray(float(np.prod(jnp.shape(first)[: len(axes)])), jnp.float32)
        total = state.count + n

        def moments(x: jax.Array, mean: jax.Array, var: jax.Array) -> tuple[jax.Array, jax.Array]:
            x = x.astype(mean.dtype)
            b_mean = jnp.mean(x, axis=axes) if axes else x
            b_var = jnp.var(x, axis=axes) if axes else jnp.zeros_like(x)
            delta = b_mean - mean
            new_mean = mean + delta * (n / total).astype(mean.dtype)
            m2 = var * state.count.astype(mean.dtype) + b_var * n.astype(mean.dtype) + \
                jnp.square(delta) * (state.count * n / total).astype(mean.dtype)
            return new_mean, m2 / total.astype(mean.dtype)

        pairs = jax.tree_util.tree_map(moments, obs, state.mean, state.var)
        is_pair = lambda p: isinstance(p, tuple) and len(p) == 2 and not isinstance(p[0], tuple)  # noqa: E731
        mean = jax.tree_util.tree_map(lambda p: p[0], pairs, is_leaf=is_pair)
        var = jax.tree_util.tree_map(lambda p: p[1], pairs, is_leaf=is_pair)
        return NormalizeObservationState(inner=state.inner, count=total, mean=mean, var=var)

    def _normalize(self, state: NormalizeObservationState, obs: Any) -> Any:
        def normalize(x: jax.Array, m: jax.Array, v: jax.Array) -> jax.Array:
            lead = (1,) * (x.ndim - m.ndim)  # explicit broadcast over batch axes
            scale = jnp.sqrt(v.reshape(lead + v.shape) + self.epsilon)
            return ((x - m.reshape(lead + m.shape)) / scale).astype(x.dtype)

        return jax.tree_util.tree_map(normalize, obs, state.mean, state.var)

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        inner, timestep = self._env.reset(key, options=options)
        zeros = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), self._leaves, is_leaf=specs.is_spec)
        state = NormalizeObservationState(
            inner=inner, count=jnp.zeros((), jnp.float32), mean=zeros,
            var=jax.tree_util.tree_map(jnp.ones_like, zeros))
        state = self._updated(state, timestep.observation)
        return state, _common.map_observation(timestep, lambda o: self._normalize(state, o))

    def step(self, state: NormalizeObservationState, action: Any) -> Any:
        _common.check_action(self, action)
        return self.carry(state, *self._env.step(state.inner, action))

    def carry(self, state: NormalizeObservationState, inner_state: Any, inner_timestep: Any) -> Any:
        """Updates the statistics with the inner observation and normalises it with them."""
        state = self._updated(dataclasses.replace(state, inner=inner_state), inner_timestep.observation)
        return state, _common.map_observation(inner_timestep, lambda o: self._normalize(state, o))


@_struct.dataclass
class FrameStackState(_core.WrapperState[Any]):
    """State of `FrameStack`: the stacked frames (the current observation)."""

    frames: Any


class FrameStack(_core.Wrapper[Any, Any, Any]):
    """Observes the last `num_stack` observations, stacked on a new axis in front of each leaf.

    After `reset`, and on a FIRST step of an auto-reset wrapper beneath, the
    stack is filled with the first observation (Gymnasium's ``padding_type="reset"``).
    ``extras["final_observation"]`` is the stack the final observation ends: on
    a same-step reset the old episode's frames and its terminal observation; on a
    next-step reset (a placeholder start, `jit_env.Boundary.placeholder`)
    the new stack, equal to `observation`.

    It declares `Scope.STATELESS`: its frames belong to one episode, but it
    restarts them itself at every boundary it sees, so it needs no place
    relative to an auto-reset wrapper (`wrap` puts it inside, where the
    auto-reset restarts it with `reset`).
    """

    state_type = FrameStackState
    episodes = _core.Scope.STATELESS

    def __init__(self, env: _core.Environment[Any, Any, Any], *, num_stack: int):
        """Raises:
        ValueError: If `num_stack` is not a positive int.
        """
        super().__init__(env)
        self.num_stack = _common.check_positive_int("num_stack", num_stack)
        self._boundary = _core.boundary(env)
        inner, self._batch = _common.slice_spec(env.observation_spec())
        self._leaves = specs.unpack_spec(inner)
        stacked = specs.reshape_spec(inner, prepend=(num_stack,))
        if not isinstance(stacked, specs.Spec):
            flat, treedef = jax.tree_util.tree_flatten(stacked, is_leaf=specs.is_spec)
            stacked = specs.Tree(flat, treedef)
        self._observation_spec = _common.rebatch(stacked, self._batch)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("num_stack", self.num_stack)]

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def _fill(self, obs: Any) -> Any:
        def fill(x: jax.Array, s: specs.Array) -> jax.Array:
            axis = _leading_axes(x, s)
            return jnp.repeat(jnp.expand_dims(x, axis), self.num_stack, axis=axis)

        return jax.tree_util.tree_map(fill, obs, self._leaves)

    def _push(self, frames: Any, obs: Any) -> Any:
        def push(f: jax.Array, x: jax.Array, s: specs.Array) -> jax.Array:
            axis = _leading_axes(x, s)
            return jnp.concatenate(
                [jax.lax.slice_in_dim(f, 1, self.num_stack, axis=axis), jnp.expand_dims(x, axis)], axis=axis)

        return jax.tree_util.tree_map(push, frames, obs, self._leaves)

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        inner, timestep = self._env.reset(key, options=options)
        frames = self._fill(timestep.observation)
        timestep = _common.map_observation(timestep, self._fill)
        return FrameStackState(inner=inner, frames=frames), dataclasses.replace(timestep, observation=frames)

    def step(self, state: FrameStackState, action: Any) -> Any:
        _common.check_action(self, action)
        inner, timestep = self._env.step(state.inner, action)
        frames = _common.select(
            timestep.first(), self._fill(timestep.observation), self._push(state.frames, timestep.observation))
        # The final observation continues the old stack where it ends the old episode
        # (same-step), and starts a new one where it is a placeholder start's (next-step).
        placeholder = self._boundary.placeholder(timestep)
        timestep = _common.map_observation(
            timestep, lambda o: _common.select(placeholder, self._fill(o), self._push(state.frames, o)))
        return FrameStackState(inner=inner, frames=frames), dataclasses.replace(timestep, observation=frames)
