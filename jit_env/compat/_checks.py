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
ERR_ACTION_NOT_FINITE = (
    "Action for the action spec {spec} must be finite, got {value}; NaN and infinities are "
    "outside every float action space, and one would poison the episode."
)
ERR_ACTION_LOSSY = (
    "Action for the action spec {spec} changes value when converted to {dtype}: {value} "
    "becomes {converted}; the bridge never casts lossily, so pass {dtype} values."
)
ERR_ACTION_TYPE = (
    "Action for the action spec {spec} must be {expected} ({space}.contains refuses anything "
    "else), got {got!r}."
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


ERR_DISCOUNT_SHAPE = (
    "{bridge} needs one discount per step (its episode end is one bool, Gymnasium's "
    "terminated), but {env!r} has discount spec {spec}. Reduce it to one first, e.g. a team's "
    "with jit_env.wrappers.TransformDiscount(env, fn=jnp.min).")


def check_one_discount(env: Any, bridge: str) -> None:
    """Refuses, when a Gymnasium bridge is built, a discount that is not one number per step.

    Raises:
        ValueError: If the discount spec is not a single leaf of shape ``()``
            (Jumanji's multi-agent environments give one per agent).
    """
    spec = env.discount_spec()
    leaves = jax.tree_util.tree_leaves(specs.unpack_spec(spec), is_leaf=specs.is_spec)
    if len(leaves) != 1 or tuple(leaves[0].shape) != ():
        raise ValueError(ERR_DISCOUNT_SHAPE.format(bridge=bridge, env=env, spec=spec))


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
    """Eager NumPy check of one action leaf for the dm_env bridge: shape, dtype and range.

    It accepts what dm_env's contract accepts, converted to the spec's dtype
    without loss: the spec's dtype or one that casts to it safely
    (`np.can_cast`), Python ints and, for an integer spec, any integer dtype
    whose values fit it; all within the spec's bounds. A float action must be
    finite: NaN and infinities are refused whatever the spec's bounds, since one
    would poison the episode. (The Gymnasium bridges check against their spaces
    instead: `jit_env.compat._gymnasium.SpaceCheck`.)

    Args of the constructor:
        spec: The jit_env leaf spec the action must match (named in errors).
    """

    __slots__ = ("info", "label", "maximum", "minimum", "shape", "target")

    def __init__(self, spec: specs.Array):
        self.label = repr(spec)
        self.shape = spec.shape
        self.target = np.dtype(spec.dtype)
        self.info = np.iinfo(self.target) if self.target.kind in "iu" else None
        self.minimum: np.ndarray | None = None
        self.maximum: np.ndarray | None = None
        if isinstance(spec, specs.BoundedArray):
            self.minimum, self.maximum = spec.minimum, spec.maximum

    def _as_array(self, value: Any) -> Any:
        if isinstance(value, (np.ndarray, jax.Array)):
            return value
        if isinstance(value, int) and self.target.kind in "iu":
            # A Python int: exact, or out of range for every integer dtype.
            if self.info is not None and not self.info.min <= value <= self.info.max:
                self._range_error(value)
            return np.asarray(value, self.target)
        return np.asarray(value)

    def __call__(self, value: Any) -> Any:
        """Returns `value` ready for the device, or raises ValueError."""
        value = self._as_array(value)
        if value.shape != self.shape:
            raise ValueError(ERR_ACTION_SHAPE.format(spec=self.label, expected=self.shape, got=value.shape))
        dtype = np.dtype(value.dtype)
        integers = self.info is not None and dtype.kind in "iu"
        if not (np.can_cast(dtype, self.target) or integers):
            raise ValueError(ERR_ACTION_DTYPE.format(spec=self.label, expected=self.target, got=dtype))
        if dtype.kind == "f":
            host = np.asarray(value)
            if not np.all(np.isfinite(host)):
                raise ValueError(ERR_ACTION_NOT_FINITE.format(spec=self.label, value=host))
        if self.minimum is not None or (
                self.info is not None and not np.can_cast(dtype, self.target)):
            host = np.asarray(value)
            low = self.info.min if self.minimum is None else self.minimum  # type: ignore[union-attr]
            high = self.info.max if self.maximum is None else self.maximum  # type: ignore[union-attr]
            if (host < low).any() or (host > high).any():
                self._range_error(host)
        if dtype != self.target:
            return np.asarray(value).astype(self.target)
        return value

    def _range_error(self, value: Any) -> None:
        minimum = self.minimum if self.minimum is not None or self.info is None else np.asarray(self.info.min)
        maximum = self.maximum if self.maximum is not None or self.info is None else np.asarray(self.info.max)
        raise ValueError(ERR_ACTION_RANGE.format(
            spec=self.label, minimum=bound_text(minimum), maximum=bound_text(maximum), value=value))


def bound_text(bound: np.ndarray | None) -> str:
    """A bound for an error message: its one value if uniform, else the array."""
    if bound is None:
        return "?"
    flat = np.unique(bound)
    return str(flat[0]) if flat.size == 1 else np.array2string(bound, separator=", ")


class ActionCheck:
    """The dm_env bridge's check of a whole action pytree, leaf by leaf (`LeafCheck`), in NumPy.

    Args of the constructor:
        spec: The action spec.
    """

    def __init__(self, spec: specs.Spec[Any]):
        leaves, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=specs.is_spec)
        self.treedef: Any = treedef
        self.checks = [LeafCheck(s) for s in leaves]
        self.label = repr(spec)
        self._single = jax.tree_util.treedef_is_leaf(treedef)

    def __call__(self, action: Any) -> Any:
        """Returns the action in the spec's structure, or raises ValueError."""
        if self._single:
            return self.checks[0](action)
        try:
            leaves = self.treedef.flatten_up_to(action)
        except (ValueError, TypeError):
            raise ValueError(ERR_ACTION_STRUCTURE.format(
                spec=self.label, expected=self.treedef,
                got=jax.tree_util.tree_structure(action))) from None
        return self.treedef.unflatten([check(leaf) for check, leaf in zip(self.checks, leaves, strict=True)])
