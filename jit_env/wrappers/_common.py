"""Plain functions the wrappers share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, specs

FINAL_OBSERVATION = "final_observation"
"""Key in `TimeStep.extras` of the observation an auto-reset wrapper's inner step returned."""

ERR_BOOL = "`{}` must be True or False, got {!r}."
ERR_POSITIVE_INT = _core.ERR_POSITIVE_INT
ERR_CHOICE = "`{}` must be one of {}, got {!r}."
ERR_ACTION = (
    "Action does not match the action spec of {env}, {spec}: {detail} Pass an action that "
    "`{name}.action_spec()` validates."
)
ERR_BATCH_AXIS = (
    "{spec} is the spec of one slice of an unsized batch, so every action leaf needs the "
    "same leading batch axis; got leading axes {got}."
)


check_positive_int = _core.check_positive_int


def check_bool(name: str, value: Any) -> bool:
    """Returns `value` if it is a bool, else raises TypeError naming the argument."""
    if not isinstance(value, bool):
        raise TypeError(ERR_BOOL.format(name, value))
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """Returns `value` if it is one of `choices`, else raises ValueError."""
    if value not in choices:
        raise ValueError(ERR_CHOICE.format(name, ", ".join(map(repr, choices)), value))
    return value


def is_unsized_batch(env: _core.Environment[Any, Any, Any]) -> bool:
    """True if `env`'s specs describe one slice of a batch of unknown size (`Vmap`).

    Asks the stack's declaration (`jit_env.boundary(env).batch`): `Vmap` and
    `VmapAutoReset` declare `Batch(None)`, `Tile`, `Shard` a sized batch.
    """
    batch = _core.boundary(env).batch
    return batch is not None and batch.size is None


def check_action(env: _core.Environment[Any, Any, Any], action: Any) -> None:
    """Refuses an action whose structure, shapes or dtypes do not match `env.action_spec()`.

    The one action check of every entry point (each wrapper's `step`,
    `jit_env.rollout`). Structure, shapes and dtypes are static, so under `jit`,
    `vmap` and `scan` the check runs once, while tracing, and costs nothing per
    step. Over an unsized batch (`Vmap`, `VmapAutoReset` beneath `env`, whose
    specs are those of one slice) every leaf carries one leading batch axis
    more, or none at all (one action broadcast with ``in_axes=(0, None)``; the
    batch checks each slice again). A weakly typed action (what a Python scalar becomes under `jit`, also
    with `JAX_ENABLE_X64`) is taken as the spec's dtype where its kind allows it,
    exactly as `specs.Array.validate` takes the Python scalar eagerly; whether a
    traced one fits is checked on the device, like a bound. Any other dtype must
    match: cast the action explicitly (e.g. ``.astype(jnp.int32)``).

    Args:
        env: The environment whose `step` receives `action`.
        action: The action (arrays, tracers or Python scalars).

    Raises:
        ValueError: `ERR_ACTION`, naming `env`, the spec and the mismatch.
    """
    spec = env.action_spec()
    leaf_specs, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=specs.is_spec)
    treedef_: Any = treedef
    try:
        try:
            leaves = treedef_.flatten_up_to(action)
        except (ValueError, TypeError):
            raise ValueError(specs.ERR_STRUCTURE.format(
                spec=repr(spec), expected=treedef, got=jax.tree_util.tree_structure(action))) from None
        batch: tuple[int, ...] = ()
        sliced = all(jnp.ndim(leaf) == len(s.shape) for s, leaf in zip(leaf_specs, leaves, strict=True)
                     if isinstance(s, specs.Array))
        if is_unsized_batch(env) and not sliced:  # One slice's action is broadcast (`in_axes=None`).
            batch = _unsized_batch_axis(spec, leaves)
        for leaf_spec, leaf in zip(leaf_specs, leaves, strict=True):
            if isinstance(leaf_spec, specs.Array):
                specs.Array((*batch, *leaf_spec.shape), leaf_spec.dtype, leaf_spec.name).validate(leaf)
    except ValueError as e:
        raise ValueError(ERR_ACTION.format(env=env, spec=spec, detail=e, name=type(env).__name__)) from None


def _unsized_batch_axis(spec: specs.Spec[Any], leaves: list[Any]) -> tuple[int, ...]:
    """The leading batch axis every leaf of an action for an unsized batch carries."""
    sizes = {jnp.shape(leaf)[0] if jnp.ndim(leaf) else None for leaf in leaves}
    size = next(iter(sizes)) if len(sizes) == 1 else None
    if size is None:
        raise ValueError(ERR_BATCH_AXIS.format(spec=repr(spec), got=sorted(sizes, key=str)))
    return (int(size),)


def with_extras(timestep: _core.TimeStep[Any], **entries: Any) -> _core.TimeStep[Any]:
    """Returns `timestep` with `entries` added to its extras (None counts as {})."""
    return dataclasses.replace(timestep, extras={**(timestep.extras or {}), **entries})


def map_observation(timestep: _core.TimeStep[Any], fn: Callable[[Any], Any]) -> _core.TimeStep[Any]:
    """Applies `fn` to the observation and to the final observation in extras, if any."""
    extras = timestep.extras
    if extras is not None and FINAL_OBSERVATION in extras:
        extras = {**extras, FINAL_OBSERVATION: fn(extras[FINAL_OBSERVATION])}
    return dataclasses.replace(timestep, observation=fn(timestep.observation), extras=extras)


def select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Leafwise `where(pred, on_true, on_false)`, `pred` broadcast over trailing axes."""

    def pick(a: Any, b: Any) -> Any:
        p = jnp.reshape(pred, pred.shape + (1,) * (jnp.ndim(a) - pred.ndim))
        return jnp.where(p, a, b)

    return jax.tree_util.tree_map(pick, on_true, on_false)


def spec_from_value(value: Any) -> specs.Spec[Any]:
    """Unbounded `Array` specs (as one spec) for the shapes and dtypes of `value`."""
    leaves, treedef = jax.tree_util.tree_flatten(value)
    arrays = [specs.Array(jnp.shape(x), jnp.result_type(x)) for x in leaves]
    scalar: Any = jax.tree_util.tree_structure(0)
    if treedef == scalar:
        return arrays[0]
    return specs.Tree(arrays, treedef)


def slice_spec(spec: specs.Spec[Any]) -> tuple[specs.Spec[Any], tuple[int, ...]]:
    """Splits a `Batched` spec into the per-slice spec and its batch shape."""
    batch: tuple[int, ...] = ()
    while isinstance(spec, specs.Batched):
        batch += (spec.num,)
        spec = spec.spec
    return spec, batch


def rebatch(spec: specs.Spec[Any], batch: tuple[int, ...]) -> specs.Spec[Any]:
    """Wraps `spec` in `Batched` once per entry of `batch` (inverse of `slice_spec`)."""
    for num in reversed(batch):
        spec = specs.Batched(spec, num)
    return spec
