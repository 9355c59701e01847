"""NumPy-side action checks and output helpers shared by the stateful bridges.

Nothing here imports an optional dependency. Checks run eagerly on the host
before any device call, so a bad action never reaches the jitted step.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import jax
import numpy as np

from jit_env import specs, wrappers
from jit_env.wrappers import _transforms

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
ERR_CLOSED = "{bridge}.{call}() was called after close(); create a new {bridge} instead."
ERR_NOT_RESET = "{bridge}.step() was called before reset(); call reset() first."


def is_spec(x: Any) -> bool:
    return isinstance(x, specs.Spec)


def check_bridgeable(env: Any, bridge: str, how: str) -> None:
    """Refuses, when a bridge is built, an environment it would run wrongly.

    Args:
        env: The jit_env environment given to the bridge.
        bridge: The bridge's class name, for the message.
        how: How the bridge starts episodes, for the message.

    Raises:
        ValueError: If `env` auto-resets (`jit_env.wrappers.auto_resets`) or is
            batched (`Vmap`, `Tile`, or a reward spec with a batch shape).
    """
    if wrappers.auto_resets(env):
        raise ValueError(ERR_AUTO_RESETS.format(bridge=bridge, env=env, how=how))
    reward = env.reward_spec()
    if _transforms.is_unsized_batch(env):
        what = "a Vmap beneath it"
    elif isinstance(env.observation_spec(), specs.Batched) or isinstance(env.action_spec(), specs.Batched):
        what = "its observation or action spec is Batched"
    elif isinstance(reward, specs.Array) and reward.shape != ():
        what = f"its reward spec has shape {reward.shape}"
    else:
        return
    raise ValueError(ERR_BATCHED.format(bridge=bridge, env=env, what=what))


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
        leaves, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=is_spec)
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


def fetch(tree: Any) -> Any:
    """Device arrays in `tree` as writable NumPy arrays the caller owns (PRNG keys stay keys).

    `jax.device_get` returns read-only views on the CPU, which in-place
    transforms (Gymnasium's own wrappers among them) cannot write to.

    >>> fetch({"x": jax.numpy.zeros(2)})["x"].flags.writeable
    True
    """
    return jax.tree_util.tree_map(lambda x: jax.device_get(x) if _is_key(x) else np.array(x), tree)


ERR_PACK_LAYOUT = (
    "OutputPacker was built for outputs {expected}, but pack() got {got}; build one packer "
    "per jitted function, from jax.eval_shape of the outputs it packs (OutputPacker.of)."
)
ERR_STATE_LAYOUT = (
    "RawKeys was built for states {expected}, got {got}; the state's structure must not "
    "change between calls (did reset options change it?). Build RawKeys from "
    "jax.eval_shape of the state the jitted functions carry."
)


def _signature(tree: Any) -> tuple[Any, tuple[tuple[tuple[int, ...], Any], ...]]:
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, tuple((tuple(x.shape), x.dtype) for x in leaves)


@dataclasses.dataclass(frozen=True)
class PackLayout:
    """Where each output leaf lies in the packed buffers: immutable, computed from shapes alone.

    Attributes:
        signature: The outputs' treedef and each leaf's `(shape, dtype)`.
        packed: False if a leaf has no NumPy dtype (a PRNG key): the tree travels unpacked.
        as_bytes: True if every leaf travels in one uint8 buffer.
        entries: Per leaf: its buffer, start, stop (elements, or bytes for one
            byte buffer), NumPy dtype and shape.
        num_buffers: How many buffers `pack` returns.
    """

    signature: Any
    packed: bool
    as_bytes: bool
    entries: tuple[tuple[int, int, int, np.dtype[Any], tuple[int, ...]], ...]
    num_buffers: int

    @classmethod
    def of(cls, tree: Any) -> PackLayout:
        """The layout of `tree`, whose leaves have `shape` and `dtype` (arrays, tracers,
        `jax.ShapeDtypeStruct`s)."""
        signature = _signature(tree)
        shapes = signature[1]
        if any(jax.dtypes.issubdtype(dtype, jax.dtypes.extended) for _, dtype in shapes):
            return cls(signature, packed=False, as_bytes=False, entries=(), num_buffers=0)
        dtypes = [np.dtype(dtype) for _, dtype in shapes]
        sizes = [math.prod(shape) for shape, _ in shapes]
        as_bytes = sum(n * d.itemsize for n, d in zip(sizes, dtypes, strict=True)) <= OutputPacker.SMALL_BYTES
        if as_bytes:
            # One byte buffer; leaves by decreasing itemsize, so every view is aligned.
            keys = [np.dtype(np.uint8)] * len(shapes)
            order = sorted(range(len(shapes)), key=lambda i: -dtypes[i].itemsize)
            sizes = [n * d.itemsize for n, d in zip(sizes, dtypes, strict=True)]
        else:
            keys = dtypes
            order = list(range(len(shapes)))
        buffers: dict[np.dtype[Any], int] = {}  # buffer key -> elements so far
        entries: list[Any] = [None] * len(shapes)
        for i in order:
            start = buffers.setdefault(keys[i], 0)
            buffers[keys[i]] = start + sizes[i]
            entries[i] = (list(buffers).index(keys[i]), start, start + sizes[i], dtypes[i], shapes[i][0])
        return cls(signature, packed=True, as_bytes=as_bytes, entries=tuple(entries),
                   num_buffers=max(1, len(buffers)))


class OutputPacker:
    """Packs a jitted function's outputs into few buffers, fetched together.

    Fetching many small arrays from the device costs a fixed overhead per
    array, and so does every output buffer of an XLA:CPU call. Small outputs
    (up to `SMALL_BYTES` in all) therefore travel as one uint8 buffer of
    their bytes. Larger ones travel as one flat buffer per dtype (usually two
    or three): XLA:CPU bitcasts large arrays to bytes slowly enough to cost
    more than the extra buffers. The layout (`PackLayout`) is fixed when the
    packer is built, from the outputs' shapes (`OutputPacker.of` takes them
    from `jax.eval_shape`), and never changes: `pack`, inside the jitted
    function, refuses any other structure, shape or dtype (at trace time), so
    a cached trace can never meet another layout. Build one packer per jitted
    function. `unpack` views the fetched buffers as the tree of NumPy arrays
    (writable and owned by the caller: each call fetches into fresh memory, as
    Gymnasium's own environments return fresh arrays). Trees with leaves that
    have no NumPy dtype (PRNG keys) are returned unpacked and fetched with `fetch`.

    >>> import jax.numpy as jnp
    >>> x = jnp.arange(3, dtype=jnp.float32)
    >>> packer = OutputPacker.of(lambda x: (x, x > 1), x)
    >>> fn = jax.jit(lambda x: packer.pack((x, x > 1)))
    >>> packer.unpack(fn(x))
    (array([0., 1., 2.], dtype=float32), array([False, False,  True]))
    """

    SMALL_BYTES = 32 * 1024

    __slots__ = ("layout",)
    layout: PackLayout

    def __init__(self, outputs: Any):
        """Args:
        outputs: A tree shaped like the outputs, e.g. `jax.ShapeDtypeStruct`s
            from `jax.eval_shape`, or arrays.
        """
        object.__setattr__(self, "layout", PackLayout.of(outputs))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"OutputPacker is immutable; cannot set {name!r}.")

    @classmethod
    def of(cls, fn: Any, *args: Any) -> OutputPacker:
        """The packer for `fn(*args)`'s outputs (shapes from `jax.eval_shape`, nothing runs)."""
        return cls(jax.eval_shape(fn, *args))

    def pack(self, tree: Any) -> Any:
        """Inside `jax.jit`: a tuple of 1-D buffers holding every leaf of `tree`.

        Raises:
            ValueError: If `tree` does not have the layout the packer was built for.
        """
        got = _signature(tree)
        layout = self.layout
        if got != layout.signature:
            raise ValueError(ERR_PACK_LAYOUT.format(expected=layout.signature, got=got))
        if not layout.packed:
            return tree
        leaves = jax.tree_util.tree_leaves(tree)
        groups: list[list[Any]] = [[] for _ in range(layout.num_buffers)]
        for i in sorted(range(len(leaves)), key=lambda i: (layout.entries[i][0], layout.entries[i][1])):
            leaf = leaves[i]
            if layout.as_bytes:
                leaf = _to_bytes(leaf, layout.entries[i][3])
            groups[layout.entries[i][0]].append(jax.numpy.reshape(leaf, -1))
        if not leaves:
            return (jax.numpy.zeros((0,), jax.numpy.uint8),)
        return tuple(jax.numpy.concatenate(group) for group in groups)

    def unpack(self, packed: Any) -> Any:
        """On the host: the tree `pack` was given, as NumPy arrays."""
        layout = self.layout
        treedef = layout.signature[0]
        if not layout.packed:
            return fetch(packed)
        # One copy per buffer (a few per call), so the views below are writable
        # and the caller owns them; on an accelerator it is one transfer per buffer.
        host = [np.array(buffer) for buffer in packed]
        if layout.as_bytes:
            return treedef.unflatten([
                host[buffer][start:stop].view(dtype).reshape(shape)
                for buffer, start, stop, dtype, shape in layout.entries])
        return treedef.unflatten([
            host[buffer][start:stop].reshape(shape) for buffer, start, stop, _, shape in layout.entries])


def _to_bytes(leaf: Any, dtype: np.dtype[Any]) -> Any:
    if dtype == np.bool_:
        return leaf.astype(jax.numpy.uint8)
    return jax.lax.bitcast_convert_type(leaf, jax.numpy.uint8)


@dataclasses.dataclass(frozen=True)
class StateLayout:
    """Which leaves of a state are typed PRNG keys, and their implementations.

    Attributes:
        treedef: The state's treedef.
        key_dtypes: Per leaf, its key dtype (e.g. ``key<fry>``), or None for data.
    """

    treedef: Any
    key_dtypes: tuple[Any, ...]

    @classmethod
    def of(cls, tree: Any) -> StateLayout:
        """The layout of `tree` (arrays, tracers or `jax.ShapeDtypeStruct`s)."""
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        return cls(treedef, tuple(x.dtype if _is_key(x) else None for x in leaves))


class RawKeys:
    """Carries a state's PRNG keys across the jit boundary as raw key data.

    A jitted call whose arguments hold typed PRNG keys leaves JAX's C++
    dispatch path for a slower Python one (about 50 µs more per call on a
    2-core machine). The bridges therefore keep their state with every key
    replaced by its `jax.random.key_data`: `encode` runs at the end of each
    jitted function and `decode` at the start, and both are free inside XLA.
    Which leaves are keys, and their implementations (`StateLayout`), is
    fixed when the codec is built, from the state's shapes (`jax.eval_shape`);
    a state of another structure is a `ValueError` at trace time.

    >>> state = {"key": jax.random.key(0), "x": 1.0}
    >>> codec = RawKeys(jax.eval_shape(lambda: state))
    >>> raw = jax.jit(codec.encode)(state)
    >>> raw["key"].dtype
    dtype('uint32')
    >>> codec.decode(raw)["key"].dtype
    key<fry>
    """

    __slots__ = ("_impls", "layout")
    layout: StateLayout
    _impls: tuple[Any, ...]

    def __init__(self, state: Any):
        """Args:
        state: A tree shaped like the state (`jax.ShapeDtypeStruct`s or arrays).
        """
        layout = StateLayout.of(state)
        impls = tuple(None if d is None else jax.random.key_impl(jax.numpy.zeros((), d))
                      for d in layout.key_dtypes)
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "_impls", impls)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"RawKeys is immutable; cannot set {name!r}.")

    def encode(self, tree: Any) -> Any:
        """`tree` with each typed key replaced by its key data.

        Raises:
            ValueError: If `tree` does not have the layout the codec was built for.
        """
        got = StateLayout.of(tree)
        if got != self.layout:
            raise ValueError(ERR_STATE_LAYOUT.format(expected=self.layout, got=got))
        leaves = jax.tree_util.tree_leaves(tree)
        return self.layout.treedef.unflatten([
            x if impl is None else jax.random.key_data(x) for x, impl in zip(leaves, self._impls, strict=True)])

    def decode(self, tree: Any) -> Any:
        """The tree `encode` was given, typed keys restored.

        Raises:
            ValueError: If `tree` is not an encoded state of the codec's layout.
        """
        leaves, treedef = jax.tree_util.tree_flatten(tree)
        if treedef != self.layout.treedef or any(_is_key(x) for x in leaves):
            raise ValueError(ERR_STATE_LAYOUT.format(expected=self.layout, got=StateLayout.of(tree)))
        return jax.tree_util.tree_unflatten(treedef, [
            x if impl is None else jax.random.wrap_key_data(x, impl=impl)
            for x, impl in zip(leaves, self._impls, strict=True)])


def _is_key(x: Any) -> bool:
    return hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def reset_state_shapes(env: Any, options: Any) -> Any:
    """The shapes of `env.reset`'s state (nothing runs), for `RawKeys`."""
    return jax.eval_shape(lambda: env.reset(jax.random.key(0), options=options)[0])


def jit_packed(fn: Any, *example_args: Any, donate_argnums: tuple[int, ...] = ()) -> tuple[Any, OutputPacker]:
    """`jax.jit` of `fn`, which returns `(carry, outputs)`, with `outputs` packed.

    The packer is built for this function alone, from the shapes of `fn(*example_args)`
    (nothing runs). `fn` is traced once for them, and that trace is reused when
    the jitted function is first called with arguments shaped like `example_args`.

    Returns:
        The jitted function, returning `(carry, buffers)`, and its packer.
    """
    inner = jax.jit(fn)
    packer = OutputPacker(inner.eval_shape(*example_args)[1])

    def packed(*args: Any) -> Any:
        carry, outputs = inner(*args)
        return carry, packer.pack(outputs)

    return jax.jit(packed, donate_argnums=donate_argnums), packer


T = TypeVar("T")


class PerOptions(Generic[T]):
    """A bridge's jitted functions, built once per tree structure of the reset options.

    A state's structure can depend on the reset options: a built-in
    environment stores its `Params` in `state.options` only when `reset` got
    options, and None otherwise. The `RawKeys` codec, and every jitted function
    that carries the state, are fixed for one state structure, so a bridge
    builds them per `jax.tree_util.tree_structure(options)`: `get(options)`
    calls `build(options)` the first time a structure is seen (on the host,
    from `jax.eval_shape`; nothing is set while tracing) and returns the same
    entry afterwards. Options of one structure with other values share an entry.

    >>> calls = []
    >>> per_options = PerOptions(lambda options: calls.append(options) or len(calls))
    >>> per_options.get(None), per_options.get({"g": 1.0}), per_options.get({"g": 2.0})
    (1, 2, 2)
    """

    __slots__ = ("_build", "_entries")

    def __init__(self, build: Callable[[Any], T]):
        """Args:
        build: Builds the entry for options of one structure, given such options.
        """
        self._build = build
        self._entries: dict[Any, T] = {}

    def get(self, options: Any) -> T:
        """The entry for `options`' tree structure, built on first use."""
        structure = jax.tree_util.tree_structure(options)
        entry = self._entries.get(structure)
        if entry is None:
            entry = self._entries[structure] = self._build(options)
        return entry

    def __len__(self) -> int:
        return len(self._entries)


@dataclasses.dataclass(frozen=True)
class SingleJitted:
    """A single-env bridge's jitted functions for one options structure (`PerOptions`).

    Attributes:
        decode: The state codec's `RawKeys.decode`.
        reset: The jitted reset; its arguments and outputs are the bridge's own.
        step: The jitted step (`jit_single_step`).
        render: The jitted render of a raw-key state (traced on the first frame).
    """

    decode: Callable[[Any], Any]
    reset: Callable[..., Any]
    step: Callable[..., Any]
    render: Callable[[Any], Any]


def jit_single_step(env: Any, raw_keys: RawKeys) -> Any:
    """The single-env bridges' jitted step.

    It takes and returns the state with raw key data (`raw_keys`), and returns
    the time step's fields as `(step_type, reward, discount, observation, extras)`.
    """

    def step(state: Any, action: Any) -> Any:
        state, ts = env.step(raw_keys.decode(state), action)
        return raw_keys.encode(state), (ts.step_type, ts.reward, ts.discount, ts.observation, ts.extras)

    return jax.jit(step)
