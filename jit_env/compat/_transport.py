"""How states and outputs cross the bridges' jit boundary: packed outputs and raw keys.

The stateful bridges (`ToDeepmindEnv`, `ToGymnasium`, `ToGymnasiumVector`)
call a jitted function per user call and fetch its outputs to NumPy. A call's
cost from Python is mostly fixed overhead per argument and per output buffer,
not compute, so this module keeps both small:

* `RawKeys`: the state crosses the boundary with its typed PRNG keys as raw
  key data, which keeps the call on JAX's C++ dispatch path.
* `OutputPacker`: a jitted step's outputs travel as one uint8 buffer (or
  one flat buffer per dtype when large) and are viewed as the output tree on
  the host, instead of one device-to-host copy per leaf (every bridge's step,
  and the vector bridge's resets).
* Named outputs (`ResetOutput`, `StepOutput`, `VectorStepOutput`): what each
  jitted function returns, read by field name on the host.

What that saves, measured on a shared 2-core CPU under heavy load (load
average ~25; medians of alternating rounds; redo on a quiet machine for
absolute numbers):

* Raw keys: ``python benchmarks/per_call.py --profile --rounds 5 --calls 100``
  times `make("CartPole-v1")`'s jitted step with the state's typed key at
  33.5 µs dispatch / 89.9 µs call + fetch, and with its raw key data at
  28.0 / 83.2 µs.
* Packing: the vector bridge's NEXT_STEP step over
  `EpisodeStatistics(make("CartPole-v1"))` (8 output leaves), timed with and
  without `OutputPacker` (per-leaf `fetch` instead), call + fetch:

  ====  ===================  ==========
  N     per-leaf fetch (µs)  packed (µs)
  ====  ===================  ==========
  16    99.2                 74.5 (1.33x faster)
  1024  348.8                292.7 (1.19x faster)
  ====  ===================  ==========

  The single-env bridges' step (`make("CartPole-v1")`, 5 output leaves),
  call + fetch: 36.3 µs per-leaf, 27.9 µs packed (1.30x faster; returning the
  named `StepOutput` unpacked cost 1.8 µs more than a plain tuple, so it is
  packed too).

  The profile above also shows why: `jax.device_get` of a time step's 4
  leaves costs 53 µs against 7 µs for `np.asarray` of each, and every output
  buffer of an XLA:CPU call adds dispatch work.

Layouts (which leaves are keys, where each output leaf lies in the buffers)
are fixed when a bridge is built, from `jax.eval_shape`; the environment
fixes its state's structure (reset options fill values, never add leaves), so
one set of jitted functions serves a bridge's whole life. A state or output of
another layout is a `ValueError` at trace time, never a silently wrong view.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np


class ResetOutput(NamedTuple):
    """What a bridge's jitted reset returns to the host (besides the state).

    Attributes:
        observation: The first observation (the observation spec's shapes and
            dtypes; a leading `(num_envs,)` axis in the vector bridge).
        extras: The reset time step's extras (a dict, possibly empty or None).
    """

    observation: Any
    extras: Any


class StepOutput(NamedTuple):
    """What a single-env bridge's jitted step returns to the host (besides the state).

    Attributes:
        step_type: int8 `()`, a `jit_env.StepType`.
        reward, discount: The time step's reward and discount (their specs' shapes and dtypes).
        observation: The time step's observation.
        extras: The time step's extras.
    """

    step_type: Any
    reward: Any
    discount: Any
    observation: Any
    extras: Any


class VectorStepOutput(NamedTuple):
    """What `ToGymnasiumVector`'s jitted step returns to the host (besides the state).

    Every leaf has a leading `(num_envs,)` axis.

    Attributes:
        observation: The observations Gymnasium's `step` returns.
        reward: The rewards (the reward spec's dtype).
        terminated, truncated: bool, LAST with discount 0 / > 0 (in SAME_STEP
            mode, where the step that ended an episode returned FIRST).
        info: The extras Gymnasium's info is built from (in SAME_STEP mode,
            the new episode's reset extras where an episode ended).
        final_observation: SAME_STEP mode only (else None): the terminal
            observations of the episodes that ended.
        final_info: SAME_STEP mode only (else None): the ending steps' extras.
    """

    observation: Any
    reward: Any
    terminated: Any
    truncated: Any
    info: Any
    final_observation: Any = None
    final_info: Any = None


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
    "RawKeys was built for states {expected}, got {got}. A bridge builds its jitted functions "
    "once, for the state structure its environment's reset gives with the construction "
    "options; the environment must fix that structure when it is built, so that reset "
    "options fill values and never add or remove leaves (see docs/writing_envs.md). Build "
    "RawKeys from jax.eval_shape of the state the jitted functions carry."
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

    def __copy__(self) -> OutputPacker:
        return self  # Immutable: a copy is the packer itself.

    def __deepcopy__(self, memo: dict[int, Any]) -> OutputPacker:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return _packer_from_layout, (self.layout,)

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

    def __copy__(self) -> RawKeys:
        return self  # Immutable: a copy is the codec itself.

    def __deepcopy__(self, memo: dict[int, Any]) -> RawKeys:
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return RawKeys, (self._shapes(),)

    def _shapes(self) -> Any:
        """A tree of `jax.ShapeDtypeStruct`s with the codec's layout (keys where it has keys)."""
        return self.layout.treedef.unflatten([
            jax.ShapeDtypeStruct((), np.float32 if dtype is None else dtype) for dtype in self.layout.key_dtypes])

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


def _packer_from_layout(layout: PackLayout) -> OutputPacker:
    packer = OutputPacker.__new__(OutputPacker)
    object.__setattr__(packer, "layout", layout)
    return packer


@dataclasses.dataclass(frozen=True)
class SingleJitted:
    """A single-env bridge's jitted functions, built once with the bridge.

    Attributes:
        decode: The state codec's `RawKeys.decode`.
        reset: The jitted reset; its arguments are the bridge's own, and it
            returns the raw-key state and a `ResetOutput` (among the bridge's own outputs).
        step: The jitted step (`jit_single_step`), its `StepOutput` packed.
        step_out: The step's output packer: `step_out.unpack` gives the `StepOutput`.
        render: The jitted render of a raw-key state (traced on the first frame).
    """

    decode: Callable[[Any], Any]
    reset: Callable[..., Any]
    step: Callable[..., Any]
    step_out: OutputPacker
    render: Callable[[Any], Any]


def jit_single_step(env: Any, raw_keys: RawKeys, state_shapes: Any) -> tuple[Any, OutputPacker]:
    """The single-env bridges' jitted step, `(raw state, action) -> (raw state, packed StepOutput)`.

    Args:
        env: The unbatched environment.
        raw_keys: The state's codec.
        state_shapes: The state's shapes (typed keys), from `reset_state_shapes`.

    Returns:
        The jitted step and the packer whose `unpack` gives its `StepOutput`.
    """

    def step(state: Any, action: Any) -> tuple[Any, StepOutput]:
        state, ts = env.step(raw_keys.decode(state), action)
        return raw_keys.encode(state), StepOutput(ts.step_type, ts.reward, ts.discount, ts.observation, ts.extras)

    raw_state = jax.eval_shape(raw_keys.encode, state_shapes)
    action = jax.eval_shape(env.action_spec().generate_value)
    return jit_packed(step, raw_state, action)


def jit_render(env: Any, raw_keys: RawKeys) -> Any:
    """The bridges' jitted render of a raw-key state.

    Rendering op by op costs ~20x a jitted render; it is traced on the first frame.
    """
    return jax.jit(lambda state: env.render(raw_keys.decode(state)))


def copy_sharing(bridge: Any, shared: tuple[str, ...], memo: dict[int, Any]) -> Any:
    """`copy.deepcopy(bridge)` that shares the attributes named in `shared`.

    A bridge's jitted functions, codecs, layouts and checks are immutable and
    fixed by its environment, so a copy shares them (no recompilation); its
    data (the environment state, RNGs, spaces, flags) is deep-copied, so the
    copy continues exactly as the original would, independently of it.
    """
    copied = object.__new__(type(bridge))
    memo[id(bridge)] = copied
    for name, value in vars(bridge).items():
        object.__setattr__(copied, name, value if name in shared else copy.deepcopy(value, memo))
    return copied


def state_without(bridge: Any, derived: tuple[str, ...]) -> dict[str, Any]:
    """A bridge's `__dict__` for pickling: its data, without the `derived` attributes it rebuilds."""
    return {name: value for name, value in vars(bridge).items() if name not in derived}
