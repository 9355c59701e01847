"""NumPy-side action checks and output helpers shared by the stateful bridges.

Nothing here imports an optional dependency. Checks run eagerly on the host
before any device call, so a bad action never reaches the jitted step.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from jit_env import specs

ERR_ACTION_STRUCTURE = "Action for the action spec {spec} must have structure {expected}, got {got}."
ERR_ACTION_SHAPE = "Action for the action spec {spec} must have shape {expected}, got shape {got}."
ERR_ACTION_DTYPE = (
    "Action for the action spec {spec} must have dtype {expected}, got dtype {got}; "
    "the bridge never casts, so cast the action explicitly."
)
ERR_ACTION_RANGE = (
    "Action for the action spec {spec} must lie in [{minimum}, {maximum}], got {value}; "
    "the bridge never clips."
)
ERR_CLOSED = "{bridge}.{call}() was called after close(); create a new {bridge} instead."
ERR_NOT_RESET = "{bridge}.step() was called before reset(); call reset() first."


def is_spec(x: Any) -> bool:
    return isinstance(x, specs.Spec)


class LeafCheck:
    """Eager NumPy check of one action leaf: shape, dtype and bounds.

    Args of the constructor:
        spec: The jit_env leaf spec the action must match (named in errors).
        dtype: The dtype the caller must send (the spec's, or a Gymnasium
            space's); the leaf is then converted losslessly to the spec's dtype.
        batch: Leading batch axes the action carries.
    """

    __slots__ = ("_python_kind", "dtype", "label", "maximum", "minimum", "shape", "target")

    def __init__(self, spec: specs.Array, dtype: Any = None, batch: tuple[int, ...] = ()):
        self.label = repr(spec)
        self.shape = (*batch, *spec.shape)
        self.dtype = np.dtype(spec.dtype if dtype is None else dtype)
        self.target = None if self.dtype == spec.dtype else spec.dtype
        self.minimum: np.ndarray | None = None
        self.maximum: np.ndarray | None = None
        if isinstance(spec, specs.BoundedArray):
            self.minimum, self.maximum = spec.minimum, spec.maximum
        kind = self.dtype.kind
        self._python_kind: tuple[type, ...] = (
            (bool,) if kind == "b" else (int,) if kind in "iu" else (int, float) if kind == "f" else ()
        )

    def __call__(self, value: Any) -> Any:
        """Returns `value` ready for the device, or raises ValueError."""
        if type(value) in self._python_kind and not self.shape:
            # A Python scalar of a matching kind (ints for integer specs).
            if self.dtype.kind in "iu":
                info = np.iinfo(self.dtype)
                if not info.min <= value <= info.max:
                    self._range_error(value)
            value = np.asarray(value, self.dtype)
        elif not hasattr(value, "dtype") or not hasattr(value, "shape"):
            value = np.asarray(value)
        if value.shape != self.shape:
            raise ValueError(ERR_ACTION_SHAPE.format(spec=self.label, expected=self.shape, got=value.shape))
        if value.dtype != self.dtype:
            raise ValueError(ERR_ACTION_DTYPE.format(spec=self.label, expected=self.dtype, got=value.dtype))
        if self.minimum is not None:
            host = np.asarray(value)
            if (host < self.minimum).any() or (host > self.maximum).any() or (
                self.dtype.kind == "f" and np.isnan(host).any()
            ):
                self._range_error(host)
        if self.target is not None:
            return np.asarray(value).astype(self.target)
        return value

    def _range_error(self, value: Any) -> None:
        raise ValueError(ERR_ACTION_RANGE.format(
            spec=self.label, minimum=_bound_text(self.minimum), maximum=_bound_text(self.maximum),
            value=value))


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
        leaves, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=is_spec)
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


class OutputPacker:
    """Packs a jitted function's outputs into one uint8 buffer, fetched with one transfer.

    Fetching many small arrays from the device costs a fixed overhead per
    array; fetching one buffer costs it once. `pack` runs inside the jitted
    function while it is traced and records the outputs' structure, shapes and
    dtypes; `unpack` views the fetched buffer as that tree of NumPy arrays
    (read-only, as `jax.device_get` returns them). Leaves are laid out by
    decreasing itemsize, so every view is aligned. Trees with leaves that have
    no NumPy dtype (PRNG keys) are returned unpacked and fetched with
    `jax.device_get`.

    >>> import jax.numpy as jnp
    >>> packer = OutputPacker()
    >>> fn = jax.jit(lambda x: packer.pack((x, x > 1)))
    >>> packer.unpack(fn(jnp.arange(3.0)))
    (array([0., 1., 2.], dtype=float32), array([False, False,  True]))
    """

    def __init__(self) -> None:
        self._treedef: Any = None
        self._layout: list[tuple[int, int, np.dtype[Any], tuple[int, ...]]] = []
        self._packed = False

    def pack(self, tree: Any) -> Any:
        """Inside `jax.jit`: one uint8 vector holding every leaf of `tree`'s bytes."""
        leaves, self._treedef = jax.tree_util.tree_flatten(tree)
        self._packed = not any(jax.dtypes.issubdtype(x.dtype, jax.dtypes.extended) for x in leaves)
        if not self._packed:
            return tree
        dtypes = [np.dtype(x.dtype) for x in leaves]
        order = sorted(range(len(leaves)), key=lambda i: -dtypes[i].itemsize)
        layout: list[Any] = [None] * len(leaves)
        chunks = []
        offset = 0
        for i in order:
            leaf, dtype = leaves[i], dtypes[i]
            if dtype == np.bool_:
                data = leaf.astype(jax.numpy.uint8)
            else:
                data = jax.lax.bitcast_convert_type(leaf, jax.numpy.uint8)
            chunks.append(data.reshape(-1))
            size = leaf.size * dtype.itemsize
            layout[i] = (offset, offset + size, dtype, tuple(leaf.shape))
            offset += size
        self._layout = layout
        if not chunks:
            return jax.numpy.zeros((0,), jax.numpy.uint8)
        return jax.numpy.concatenate(chunks)

    def unpack(self, packed: Any) -> Any:
        """On the host: the tree `pack` was given, as NumPy arrays (one device transfer)."""
        if not self._packed:
            return jax.device_get(packed)
        host = np.asarray(packed)
        return self._treedef.unflatten([
            host[start:stop].view(dtype).reshape(shape) for start, stop, dtype, shape in self._layout])
