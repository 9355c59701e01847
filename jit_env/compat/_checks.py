"""NumPy-side checks shared by the stateful bridges: actions, and what a bridge can run.

Nothing here imports an optional dependency. Checks run eagerly on the host
before any device call, so a bad action never reaches the jitted step. How
states and outputs cross the jit boundary is `jit_env.compat._transport`.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jit_env import _core, specs

ERR_ACTION_STRUCTURE = "Action for the action spec {spec} must have structure {expected}, got {got}."
ERR_ACTION_SHAPE = "Action for the action spec {spec} must have shape {expected}, got shape {got}."
ERR_ACTION_DTYPE = (
    "Action for the action spec {spec} must have a dtype that converts to {expected} without "
    "loss, got dtype {got}; the bridge never casts lossily, so cast the action explicitly."
)
ERR_ACTION_RANGE = (
    "Action for the action spec {spec} must lie in [{minimum}, {maximum}], got {value}; "
    "the bridge never clips."
)
ERR_AUTO_RESETS = (
    "{bridge} cannot run {env!r}: it resets by itself, so the caller would never see an "
    "episode end (terminated/truncated, LAST). Pass the environment without its auto-reset "
    "wrapper: {bridge} {how}."
)
ERR_BATCHED = (
    "{bridge} runs one environment per sub-environment, but {env!r} is batched ({what}); "
    "dm_env and gymnasium.Env have no batch axis. Pass the unbatched environment "
    "(ToGymnasiumVector(env, num_envs) batches it for Gymnasium)."
)
ERR_KEEPS = (
    "{bridge} cannot keep the data {across} keeps across episodes (Scope.ACROSS_EPISODES): "
    "it would restart with every episode. {advice}"
)
ERR_HIDDEN = (
    "{bridge} starts each episode after the first keeping {across}'s data across episodes, "
    "which needs {across} outside {outer} (a wrapper that keeps nothing across episodes). "
    "Pass {across}({outer}(env)) instead."
)
ERR_CLOSED = "{bridge}.{call}() was called after close(); create a new {bridge} instead."
ERR_NOT_RESET = "{bridge}.step() was called before reset(); call reset() first."


def check_bridgeable(env: Any, bridge: str, how: str, *, keeps: str | None = None) -> None:
    """Refuses, when a bridge is built, an environment it would run wrongly.

    It asks the stack's declarations (`jit_env.boundary`), never its classes.

    Args:
        env: The jit_env environment given to the bridge.
        bridge: The bridge's class name, for the message.
        how: How the bridge starts episodes, for the message.
        keeps: None if the bridge starts episodes with `jit_env.new_episode`, which
            keeps across-episode data; else the advice for a user of that bridge
            whose stack keeps some (the bridge then refuses it).

    Raises:
        ValueError: If `env` auto-resets, is batched, or keeps data across
            episodes that the bridge cannot keep (see `keeps`).
    """
    declared = _core.boundary(env)
    if declared.auto_reset is not None:
        raise ValueError(ERR_AUTO_RESETS.format(bridge=bridge, env=env, how=how))
    if declared.batch is not None:
        raise ValueError(ERR_BATCHED.format(bridge=bridge, env=env, what=repr(declared.batch)))
    if declared.keeps and keeps is not None:
        raise ValueError(ERR_KEEPS.format(bridge=bridge, across=declared.keeps[0], advice=keeps))
    if declared.hidden_by is not None:
        outer, across = declared.hidden_by
        raise ValueError(ERR_HIDDEN.format(bridge=bridge, outer=outer, across=across))


class LeafCheck:
    """Eager NumPy check of one action leaf: shape, dtype and bounds.

    It accepts what the caller's contract accepts and converts it to the spec's
    dtype without loss. With a Gymnasium space's dtype that is exactly what
    the space's `contains` accepts: NumPy values whose dtype casts safely to the
    space's (`np.can_cast`), Python ints for integer spaces, Python floats and
    sequences for float spaces, all within bounds. Without one (dm_env), any
    integer dtype is accepted for an integer spec when the values fit it.

    Args of the constructor:
        spec: The jit_env leaf spec the action must match (named in errors).
        dtype: The dtype of the caller's space, or None to use the spec's (dm_env).
        batch: Leading batch axes the action carries.
    """

    __slots__ = ("any_int", "dtype", "info", "label", "maximum", "minimum", "shape", "space_dtype",
                 "target")

    def __init__(self, spec: specs.Array, dtype: Any = None, batch: tuple[int, ...] = ()):
        self.label = repr(spec)
        self.shape = (*batch, *spec.shape)
        self.target = np.dtype(spec.dtype)
        self.dtype = np.dtype(spec.dtype if dtype is None else dtype)
        self.space_dtype = dtype is not None
        self.any_int = dtype is None and self.target.kind in "iu"
        self.info = np.iinfo(self.target) if self.target.kind in "iu" else None
        self.minimum: np.ndarray | None = None
        self.maximum: np.ndarray | None = None
        if isinstance(spec, specs.BoundedArray):
            self.minimum, self.maximum = spec.minimum, spec.maximum

    def _as_array(self, value: Any) -> Any:
        if isinstance(value, (np.ndarray, jax.Array)):
            return value
        if isinstance(value, int) and self.dtype.kind in "iu":
            # A Python int: exact, or out of range for every integer dtype.
            if self.info is not None and not self.info.min <= value <= self.info.max:
                self._range_error(value)
            return np.asarray(value, self.target)
        array = np.asarray(value)
        if self.space_dtype and self.dtype.kind == "f" and array.dtype.kind in "biuf":
            # Numbers that are not an ndarray, converted as Gymnasium's Box does.
            return array.astype(self.dtype)
        return array

    def __call__(self, value: Any) -> Any:
        """Returns `value` ready for the device, or raises ValueError."""
        value = self._as_array(value)
        if value.shape != self.shape:
            raise ValueError(ERR_ACTION_SHAPE.format(spec=self.label, expected=self.shape, got=value.shape))
        dtype = np.dtype(value.dtype)
        integers = self.any_int and dtype.kind in "iu"
        if not (np.can_cast(dtype, self.dtype) or integers):
            raise ValueError(ERR_ACTION_DTYPE.format(spec=self.label, expected=self.dtype, got=dtype))
        if self.minimum is not None or (
                self.info is not None and not np.can_cast(dtype, self.target)):
            host = np.asarray(value)
            low = self.info.min if self.minimum is None else self.minimum  # type: ignore[union-attr]
            high = self.info.max if self.maximum is None else self.maximum  # type: ignore[union-attr]
            if (host < low).any() or (host > high).any() or (dtype.kind == "f" and np.isnan(host).any()):
                self._range_error(host)
        if dtype != self.target:
            return np.asarray(value).astype(self.target)
        return value

    def _range_error(self, value: Any) -> None:
        minimum = self.minimum if self.minimum is not None or self.info is None else np.asarray(self.info.min)
        maximum = self.maximum if self.maximum is not None or self.info is None else np.asarray(self.info.max)
        raise ValueError(ERR_ACTION_RANGE.format(
            spec=self.label, minimum=_bound_text(minimum), maximum=_bound_text(maximum), value=value))


def _bound_text(bound: np.ndarray | None) -> str:
    if bound is None:
        return "?"
    flat = np.unique(bound)
    return str(flat[0]) if flat.size == 1 else np.array2string(bound, separator=", ")


class ActionCheck:
    """Checks a whole action pytree against a spec, leaf by leaf, in NumPy.

    Args of the constructor:
        spec: The action spec.
        dtypes: Optional list of per-leaf dtypes the caller sends (default: the spec's).
        batch: Leading batch axes of every leaf.
        structure: Optional treedef the caller's action has (e.g. Gymnasium's
            dicts and tuples); the checked leaves are rebuilt in the spec's structure.
    """

    def __init__(
        self,
        spec: specs.Spec[Any],
        *,
        dtypes: list[Any] | None = None,
        batch: tuple[int, ...] = (),
        structure: Any = None,
    ):
        leaves, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=specs.is_spec)
        self.treedef: Any = treedef
        dtypes = dtypes or [None] * len(leaves)
        self.checks = [LeafCheck(s, d, batch) for s, d in zip(leaves, dtypes, strict=True)]
        self.in_treedef: Any = self.treedef if structure is None else structure
        self.label = repr(spec)
        self._single = jax.tree_util.treedef_is_leaf(treedef)

    def __call__(self, action: Any) -> Any:
        """Returns the action in the spec's structure, or raises ValueError."""
        if self._single:
            return self.checks[0](action)
        try:
            leaves = self.in_treedef.flatten_up_to(action)
        except (ValueError, TypeError):
            raise ValueError(ERR_ACTION_STRUCTURE.format(
                spec=self.label, expected=self.in_treedef,
                got=jax.tree_util.tree_structure(action))) from None
        return self.treedef.unflatten([check(leaf) for check, leaf in zip(self.checks, leaves, strict=True)])
