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
ERR_ACTION = "Action does not match the action spec of {}: {} Pass an action that `{}.action_spec()` validates."


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


def check_action_structure(env: _core.Environment[Any, Any, Any], spec: specs.Spec[Any], action: Any) -> None:
    """Checks an action's structure, shapes and dtypes against `spec` (static, trace-time).

    A weakly typed action (what a Python scalar becomes under `jit`, also with
    `JAX_ENABLE_X64`) is taken as the spec's dtype where it fits, exactly as
    `specs.Array.validate` takes the Python scalar eagerly; whether a traced
    one fits is checked on the device, like a bound.

    Raises:
        ValueError: Naming the environment and the mismatch.
    """
    try:
        jax.tree_util.tree_map(_shape_dtype_only, specs.unpack_spec(spec), action,
                               is_leaf=specs.is_spec)
    except ValueError as e:
        raise ValueError(ERR_ACTION.format(env, e, type(env).__name__)) from None


def _shape_dtype_only(leaf_spec: specs.Spec[Any], value: Any) -> None:
    if isinstance(leaf_spec, specs.Array):
        specs.Array(leaf_spec.shape, leaf_spec.dtype, leaf_spec.name).validate(value)


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
