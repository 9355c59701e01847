"""The Gymnasium bridge: a stateful `gymnasium.Env` over a pure jit_env environment.

>>> from jit_env import specs
>>> from jit_env.compat import _gymnasium
>>> _gymnasium.spec_to_space(specs.DiscreteArray(3))
Discrete(3)
"""

from __future__ import annotations

import collections.abc
import functools
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import numpy as np
from gymnasium import spaces

from jit_env import _core, specs
from jit_env.compat import _checks, _transport

ERR_UNKNOWN_SPEC = (
    "Cannot convert {!r} to a Gymnasium space: only Array, BoundedArray, DiscreteArray "
    "leaves in dicts, tuples and lists (and Tree, Tuple, Dict, Batched specs) are supported."
)
ERR_UNKNOWN_SPACE = (
    "Cannot convert {!r} to a jit_env spec: only Box, Discrete, MultiDiscrete, MultiBinary, "
    "Dict and Tuple spaces are supported."
)
ERR_SPACE_START = "Cannot convert {!r} to a jit_env spec: DiscreteArray starts at 0, this space at {}."
ERR_RENDER_MODE = "`render_mode` must be None or 'rgb_array', got {!r}."
ERR_NO_RENDER_MODE = "{}.render() needs render_mode='rgb_array' at construction; it was None."
ERR_RENDER_BEFORE_RESET = "ToGymnasium.render() was called before reset(); call reset() first."
ERR_STEP_AFTER_END = "ToGymnasium.step() was called after the episode ended; call reset() first."

RENDER_MODES = ["rgb_array"]
_SEED_BOUND = 2**32


def _leaf_space(spec: specs.Spec[Any]) -> spaces.Space[Any]:
    if isinstance(spec, specs.DiscreteArray):
        if spec.shape == ():
            return spaces.Discrete(int(spec.num_values))
        # Gymnasium stores the counts in the space's dtype: widen it where a count does not fit.
        counts = np.asarray(spec.num_values, np.int64)
        return spaces.MultiDiscrete(counts, dtype=np.promote_types(spec.dtype, np.min_scalar_type(counts.max())).type)
    if isinstance(spec, specs.BoundedArray):
        low, high = np.broadcast_to(spec.minimum, spec.shape), np.broadcast_to(spec.maximum, spec.shape)
        if spec.dtype.kind == "f":  # Infinite bounds become the finite extremes, as in Gymnasium.
            info_f = np.finfo(spec.dtype)
            low, high = np.clip(low, info_f.min, info_f.max), np.clip(high, info_f.min, info_f.max)
        return spaces.Box(low, high, spec.shape, spec.dtype.type)
    if isinstance(spec, specs.Array):
        kind = spec.dtype.kind
        if kind == "f":
            # The dtype's finite extremes, not inf, which Gymnasium's checker flags.
            info_f = np.finfo(spec.dtype)
            low = np.full(spec.shape, info_f.min, spec.dtype)
            high = np.full(spec.shape, info_f.max, spec.dtype)
        elif kind in "iu":
            info = np.iinfo(spec.dtype)
            low, high = np.full(spec.shape, info.min, spec.dtype), np.full(spec.shape, info.max, spec.dtype)
        elif kind == "b":
            low, high = np.zeros(spec.shape, bool), np.ones(spec.shape, bool)
        else:
            raise NotImplementedError(ERR_UNKNOWN_SPEC.format(spec))
        return spaces.Box(low, high, spec.shape, spec.dtype.type)
    raise NotImplementedError(ERR_UNKNOWN_SPEC.format(spec))


def _plain(tree: Any, is_leaf: Callable[[Any], bool]) -> Any:
    """`tree` in the containers Gymnasium spaces have, leaves kept.

    Dicts stay dicts; tuples and lists (NamedTuples too) become tuples; any other
    pytree node (a dataclass, a chex or flax struct: Jumanji's nested
    observations) becomes a dict keyed by its field names.
    """
    if is_leaf(tree):
        return tree
    if isinstance(tree, dict):
        return {k: _plain(v, is_leaf) for k, v in tree.items()}
    if isinstance(tree, (tuple, list)):
        return tuple(_plain(v, is_leaf) for v in tree)
    children, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=lambda x: x is not tree)
    if not children or (len(children) == 1 and not children[0][0]):  # None, or an unknown leaf.
        raise NotImplementedError(ERR_UNKNOWN_SPEC.format(tree))
    return {_field_name(path[0]): _plain(child, is_leaf) for path, child in children}


def _field_name(entry: Any) -> str:
    for attribute in ("name", "key", "idx"):
        if hasattr(entry, attribute):
            return str(getattr(entry, attribute))
    return str(entry)


def _tree_space(tree: Any) -> spaces.Space[Any]:
    if isinstance(tree, specs.Spec):
        return _leaf_space(tree)
    if isinstance(tree, dict):
        return spaces.Dict({k: _tree_space(tree[k]) for k in sorted(tree)})
    if isinstance(tree, tuple):
        return spaces.Tuple(tuple(_tree_space(v) for v in tree))
    raise NotImplementedError(ERR_UNKNOWN_SPEC.format(tree))


def _space_order(spec: specs.Spec[Any]) -> list[int]:
    """The spec's leaves (in its pytree order) in the order of its space's leaves.

    They differ where a field container (a dataclass) becomes a `Dict`, whose
    keys are sorted; elsewhere it is ``0, 1, ...``.
    """
    leaves, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=specs.is_spec)
    numbered = jax.tree_util.tree_unflatten(treedef, range(len(leaves)))
    order: list[int] = jax.tree_util.tree_leaves(_plain(numbered, lambda x: isinstance(x, int)))
    return order


def spec_to_space(spec: specs.Spec[Any]) -> spaces.Space[Any]:
    """Converts a jit_env spec into a Gymnasium space.

    A scalar `DiscreteArray` becomes `Discrete` (Gymnasium's int64), a shaped
    one `MultiDiscrete`, a `BoundedArray` a `Box` with its bounds (infinite float
    bounds clipped to the dtype's finite extremes), an unbounded
    `Array` a `Box` spanning its dtype's finite range. Dicts, tuples and lists of specs
    (inside `Tree`, `Tuple`, `Dict` and `Batched`) become `Dict` and `Tuple`; any
    other pytree node of a `Tree` (a dataclass) a `Dict` keyed by its field names.

    Raises:
        NotImplementedError: On a spec or container that has no Gymnasium space.
    """
    return _tree_space(_plain(specs.unpack_spec(spec), specs.is_spec))


def space_to_spec(space: spaces.Space[Any]) -> specs.Spec[Any]:
    """Converts a Gymnasium space into a jit_env spec (the inverse of `spec_to_space`).

    A `Box` spanning its dtype's whole range everywhere (infinite or finite
    extremes for floats) becomes an unbounded `Array`, else a `BoundedArray`. `MultiBinary`
    becomes a `BoundedArray` of int8 in [0, 1].

    Raises:
        NotImplementedError: On a space type with no spec.
        ValueError: On a `Discrete`/`MultiDiscrete` that does not start at 0.
    """
    if isinstance(space, spaces.Discrete):
        if int(space.start) != 0:
            raise ValueError(ERR_SPACE_START.format(space, int(space.start)))
        return specs.DiscreteArray(int(space.n), space.dtype)
    if isinstance(space, spaces.MultiDiscrete):
        if np.any(space.start != 0):
            raise ValueError(ERR_SPACE_START.format(space, space.start))
        return specs.DiscreteArray(np.asarray(space.nvec), space.dtype)
    if isinstance(space, spaces.MultiBinary):
        return specs.BoundedArray(space.shape, space.dtype, 0, 1)
    if isinstance(space, spaces.Box):
        kind = np.dtype(space.dtype).kind
        if kind == "f":
            info_f = np.finfo(space.dtype)
            unbounded = bool(np.all(space.low <= info_f.min) and np.all(space.high >= info_f.max))
        elif kind in "iu":
            info = np.iinfo(space.dtype)
            unbounded = bool(np.all(space.low == info.min) and np.all(space.high == info.max))
        else:
            unbounded = bool(np.all(space.low == 0) and np.all(space.high == 1))
        if unbounded:
            return specs.Array(space.shape, space.dtype)
        return specs.BoundedArray(space.shape, space.dtype, space.low, space.high)
    if isinstance(space, spaces.Dict):
        return specs.Dict({k: space_to_spec(v) for k, v in space.spaces.items()})
    if isinstance(space, spaces.Tuple):
        return specs.Tuple(*(space_to_spec(v) for v in space.spaces))
    raise NotImplementedError(ERR_UNKNOWN_SPACE.format(space))


class SpaceLayout:
    """How values move between a spec's pytree and its space's dicts and tuples.

    Precomputed once per bridge: the spec's and the space's tree structures and
    each leaf space's dtype, so converting an output is a flatten and unflatten
    and, where the dtypes differ (Discrete is int64), one `astype` per leaf.
    """

    def __init__(self, spec: specs.Spec[Any], space: spaces.Space[Any]):
        leaf_specs, spec_treedef = jax.tree_util.tree_flatten(
            specs.unpack_spec(spec), is_leaf=specs.is_spec)
        leaf_spaces, space_treedef = jax.tree_util.tree_flatten(
            _space_tree(space), is_leaf=lambda s: isinstance(s, spaces.Space))
        self.spec_treedef: Any = spec_treedef
        self.space_treedef: Any = space_treedef
        order = _space_order(spec)
        self.order = None if order == sorted(order) else order
        leaf_specs = [leaf_specs[i] for i in order]
        self.dtypes = [s.dtype for s in leaf_spaces]
        self.casts = [
            None if np.dtype(sp.dtype) == np.dtype(sc.dtype) else np.dtype(sp.dtype)
            for sc, sp in zip(leaf_specs, leaf_spaces, strict=True)
        ]
        self.discrete = [isinstance(s, spaces.Discrete) for s in leaf_spaces]
        self.identity = str(spec_treedef) == str(space_treedef) and self.order is None and not any(
            c is not None for c in self.casts)

    def to_space(self, value: Any, batched: bool = False) -> Any:
        """Converts a NumPy value in the spec's structure to the space's structure and dtypes."""
        if self.identity:
            return value
        leaves = self.spec_treedef.flatten_up_to(value)
        if self.order is not None:
            leaves = [leaves[i] for i in self.order]
        out = []
        for leaf, cast, discrete in zip(leaves, self.casts, self.discrete, strict=True):
            if cast is not None:
                leaf = leaf.astype(cast)
            if discrete and not batched:
                leaf = leaf[()]  # Gymnasium wants an np.int64 scalar, not a 0-d array.
            out.append(leaf)
        return self.space_treedef.unflatten(out)


def _space_tree(space: spaces.Space[Any]) -> Any:
    """A space as a pytree of leaf spaces in plain dicts and tuples."""
    if isinstance(space, spaces.Dict):
        return {k: _space_tree(v) for k, v in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return tuple(_space_tree(v) for v in space.spaces)
    return space


class SpaceCheck:
    """Checks an action against a Gymnasium space, in NumPy, before the device call.

    It accepts exactly what `space.contains(action)` accepts, for the spaces
    `spec_to_space` builds (`Box`, `Discrete`, `MultiDiscrete` leaves in `Dict`
    and `Tuple`, also as `gymnasium.vector.utils.batch_space` batches them),
    containers included: a list or an array for a `Tuple`, any `dict` (an
    `OrderedDict` too) with the space's keys for a `Dict`. Then it converts
    every leaf to the spec's dtype without loss, and rebuilds the spec's
    structure. Where `contains` itself casts lossily (a `Box` takes a
    non-ndarray value through ``np.asarray(x, dtype=space.dtype)``, so 0.7
    would pass as 0 for an integer `Box`), the action is refused: integer and
    bool leaves must keep their values exactly; float leaves may round, as
    Gymnasium and JAX round Python floats. Non-numeric values (strings,
    complex numbers) are refused. NaN and infinities are outside every float
    space (`spec_to_space` gives finite bounds), and the error says so.

    >>> check = SpaceCheck(specs.DiscreteArray(3), spec_to_space(specs.DiscreteArray(3)))
    >>> check(2), check(2).dtype
    (array(2, dtype=int32), dtype('int32'))
    """

    def __init__(self, spec: specs.Spec[Any], space: spaces.Space[Any]):
        """Args:
        spec: The action spec of one environment (named in errors; its leaves' dtypes
            are the conversion targets).
        space: The action space the caller sees (batched for the vector bridge).
        """
        leaf_specs, treedef = jax.tree_util.tree_flatten(specs.unpack_spec(spec), is_leaf=specs.is_spec)
        self._treedef: Any = treedef
        self._label = repr(spec)
        order = _space_order(spec)
        # Where the space orders leaves otherwise (a dataclass as a Dict), the spec's
        # position of each space leaf, to put the converted leaves back.
        self._order = None if order == sorted(order) else order
        targets = iter([np.dtype(leaf_specs[i].dtype) for i in order])
        self._check = self._build(space, targets)

    def _build(self, space: spaces.Space[Any], targets: Any) -> Any:
        """A function from an action to its list of converted leaves (in the space's order)."""
        if isinstance(space, spaces.Tuple):
            parts = [self._build(s, targets) for s in space.spaces]
            return functools.partial(self._tuple, space, parts)
        if isinstance(space, spaces.Dict):
            keys = sorted(space.spaces)  # The spec's (pytree) order.
            parts = [self._build(space.spaces[k], targets) for k in keys]
            return functools.partial(self._dict, space, keys, parts)
        target = next(targets)
        if isinstance(space, spaces.Discrete):
            return functools.partial(self._discrete, space, target)
        if isinstance(space, spaces.MultiDiscrete):
            return functools.partial(self._multi_discrete, space, target)
        if isinstance(space, spaces.Box):
            return functools.partial(self._box, space, target)
        raise NotImplementedError(ERR_UNKNOWN_SPACE.format(space))

    def __call__(self, action: Any) -> Any:
        """Returns the action in the spec's structure and dtypes, or raises ValueError."""
        leaves = self._check(action)
        if self._order is not None:
            in_spec_order = [None] * len(leaves)
            for leaf, i in zip(leaves, self._order, strict=True):
                in_spec_order[i] = leaf
            leaves = in_spec_order
        return self._treedef.unflatten(leaves)

    def _type_error(self, space: Any, expected: str, got: Any) -> ValueError:
        return ValueError(_checks.ERR_ACTION_TYPE.format(spec=self._label, expected=expected, space=space, got=got))

    def _tuple(self, space: spaces.Tuple, parts: list[Any], x: Any) -> list[Any]:
        if isinstance(x, list) or (isinstance(x, np.ndarray) and x.ndim > 0):
            x = tuple(x)
        if not isinstance(x, tuple) or len(x) != len(parts):
            raise self._type_error(space, f"a tuple, list or array of {len(parts)} entries", x)
        return [leaf for part, value in zip(parts, x, strict=True) for leaf in part(value)]

    def _dict(self, space: spaces.Dict, keys: list[Any], parts: list[Any], x: Any) -> list[Any]:
        if not isinstance(x, dict) or x.keys() != space.spaces.keys():
            raise self._type_error(space, f"a dict with the keys {keys}", x)
        return [leaf for key, part in zip(keys, parts, strict=True) for leaf in part(x[key])]

    def _range_error(self, low: Any, high: Any, value: Any) -> ValueError:
        return ValueError(_checks.ERR_ACTION_RANGE.format(
            spec=self._label, minimum=_checks.bound_text(np.asarray(low)),
            maximum=_checks.bound_text(np.asarray(high)), value=value))

    def _discrete(self, space: Any, target: np.dtype[Any], x: Any) -> list[Any]:
        low, high = space.start, space.start + space.n - 1
        if isinstance(x, int):  # A Python bool is an int here, as in `contains`.
            try:
                as_np = np.dtype(space.dtype).type(x)
            except OverflowError:
                raise self._range_error(low, high, x) from None
        elif isinstance(x, (np.generic, np.ndarray)) and np.issubdtype(x.dtype, np.integer) and x.shape == ():
            as_np = x
        else:
            raise self._type_error(space, "a Python int or a NumPy integer of shape ()", x)
        if not np.can_cast(as_np.dtype, space.dtype):
            raise ValueError(_checks.ERR_ACTION_DTYPE.format(
                spec=self._label, expected=np.dtype(space.dtype), got=as_np.dtype))
        if not space.start <= as_np < space.start + space.n:
            raise self._range_error(low, high, as_np)
        return [np.asarray(as_np, target)]

    def _multi_discrete(self, space: Any, target: np.dtype[Any], x: Any) -> list[Any]:
        if isinstance(x, collections.abc.Sequence):
            try:
                x = np.array(x)
            except ValueError:  # Ragged.
                raise self._type_error(space, f"an integer array of shape {space.shape}", x) from None
        if not isinstance(x, np.ndarray):
            raise self._type_error(space, f"a NumPy integer array (or a sequence) of shape {space.shape}", x)
        if x.shape != space.shape:
            raise ValueError(_checks.ERR_ACTION_SHAPE.format(spec=self._label, expected=space.shape, got=x.shape))
        if not np.can_cast(x.dtype, space.dtype):
            raise ValueError(_checks.ERR_ACTION_DTYPE.format(
                spec=self._label, expected=np.dtype(space.dtype), got=x.dtype))
        if not ((space.start <= x).all() and (x - space.start < space.nvec).all()):
            raise self._range_error(space.start, space.start + space.nvec - 1, x)
        return [x.astype(target, copy=False)]

    def _box(self, space: Any, target: np.dtype[Any], x: Any) -> list[Any]:
        dtype = space.dtype
        if type(x) is np.ndarray and x.dtype == dtype:  # The common case, and the fast path.
            natural = value = x
        elif isinstance(x, np.ndarray):
            natural = value = x
            if not np.can_cast(x.dtype, dtype):
                raise ValueError(_checks.ERR_ACTION_DTYPE.format(spec=self._label, expected=dtype, got=x.dtype))
        else:  # `contains` takes it through np.asarray(x, dtype=space.dtype).
            try:
                natural = np.asarray(x)
            except (ValueError, TypeError, OverflowError):
                natural = np.asarray(None)
            if natural.dtype.kind not in "biuf":
                raise self._type_error(space, f"numbers of shape {space.shape}", x)
            with np.errstate(all="ignore"):
                value = natural.astype(dtype)
        if value.shape != space.shape:
            raise ValueError(_checks.ERR_ACTION_SHAPE.format(spec=self._label, expected=space.shape, got=value.shape))
        if natural.dtype.kind == "f" and not np.isfinite(natural).all():
            raise ValueError(_checks.ERR_ACTION_NOT_FINITE.format(spec=self._label, value=natural))
        if not ((value >= space.low).all() and (value <= space.high).all()):
            raise self._range_error(space.low, space.high, natural)
        if value is not natural and dtype.kind in "biu" and not np.array_equal(natural, value):
            raise ValueError(_checks.ERR_ACTION_LOSSY.format(
                spec=self._label, value=natural, dtype=dtype, converted=value))
        return [value if value.dtype == target else value.astype(target)]


def is_default_options(options: Any) -> bool:
    """True for reset options that mean "the bridge's own": None or an empty dict.

    Both Gymnasium bridges use this rule, so `reset(options={})` (what
    Gymnasium's wrappers and vector envs often pass) keeps the options given
    at construction, and any other value replaces them for that reset.
    """
    return options is None or (isinstance(options, dict) and not options)


def _jit_functions(env: _core.Environment[Any, Any, Any], options: Any) -> _transport.SingleJitted:
    """`ToGymnasium`'s jitted functions, built once (the environment fixes its state's structure)."""
    # The state crosses the jit boundary with raw key data (see `_transport.RawKeys`).
    state_shapes = _transport.reset_state_shapes(env, options)
    keys = _transport.RawKeys(state_shapes)

    def reset(seed: jax.Array, options: Any, previous: Any) -> Any:
        # `previous`: None, or the last episode's state, whose across-episode data
        # (e.g. NormalizeObservation's statistics) the new episode keeps.
        if previous is None:
            state, ts = env.reset(jax.random.key(seed), options=options)
        else:
            state, ts = _core.new_episode(env, keys.decode(previous), jax.random.key(seed), options=options)
        return keys.encode(state), _transport.ResetOutput(ts.observation, ts.extras)

    step, step_out = _transport.jit_single_step(env, keys, state_shapes)
    return _transport.SingleJitted(
        decode=keys.decode,
        reset=jax.jit(reset),
        step=step,
        step_out=step_out,
        render=_transport.jit_render(env, keys),
    )


class ToGymnasium(gymnasium.Env[Any, Any]):
    """A `gymnasium.Env` that runs a jit_env environment.

    Spaces are built once from the specs. `reset(seed=...)` seeds
    `np_random` as Gymnasium does and draws the episode's JAX key from it, so
    the same seed gives the same episode. `terminated` is LAST with discount
    0, `truncated` LAST with discount > 0. Observations are NumPy arrays of the
    space's dtypes; `info` holds the time step's extras. Actions are checked in
    NumPy before the device call (`SpaceCheck`): exactly what
    `action_space.contains` accepts, converted to the spec's dtypes without
    loss (a Discrete action of Gymnasium's int64 is range-checked, then
    narrowed), never clipped; NaN and infinities are refused.

    `reset(options=...)` other than None or `{}` replaces the construction
    options for that episode. The environment fixes its state's structure
    when it is built (reset options fill values), so the jitted reset, step
    and render are built once, with the bridge. The bridge survives
    `copy.deepcopy` (the copy shares the jitted functions) and pickling (they
    are rebuilt) mid-episode, and the copy continues exactly as the original.

    >>> import counting_env  # doctest: +SKIP
    >>> env = ToGymnasium(counting_env.CountingEnv(target=2))  # doctest: +SKIP
    >>> obs, info = env.reset(seed=0)  # doctest: +SKIP
    """

    metadata: dict[str, Any] = {"render_modes": RENDER_MODES, "render_fps": 50}  # noqa: RUF012

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        seed: int | None = None,
        *,
        render_mode: str | None = None,
        options: _core.EnvOptions = None,
    ):
        """Args:
        env: The jit_env environment (unbatched).
        seed: Seeds the first `reset` that has no seed of its own, and the spaces.
        render_mode: None or ``"rgb_array"``.
        options: Default reset options (a `reset(options=...)` other than None
            or `{}` replaces them).

        Raises:
            TypeError: If `env` is not a jit_env Environment.
            ValueError: On an unknown render mode, or if `env` is batched,
                auto-resets or has more than one discount per step
                (`_checks.ERR_DISCOUNT_SHAPE`).
        """
        if not isinstance(env, _core.Environment):
            raise TypeError(_core.ERR_NOT_AN_ENV.format(env))
        if render_mode not in (None, "rgb_array"):
            raise ValueError(ERR_RENDER_MODE.format(render_mode))
        _checks.check_bridgeable(env, "ToGymnasium", "starts each episode with reset(), as Gymnasium does")
        _checks.check_one_discount(env, "ToGymnasium")
        self._env = env
        self.render_mode = render_mode
        self._options = options
        self._seed = seed
        self._state: Any = None
        self._done = False
        self._closed = False
        self.observation_space = spec_to_space(env.observation_spec())
        self.action_space = spec_to_space(env.action_spec())
        if seed is not None:
            self.observation_space.seed(seed)
            self.action_space.seed(seed)
        self._build()

    # Built from the environment and spaces alone (immutable): shared by copies, rebuilt after unpickling.
    _DERIVED = ("_obs_layout", "_check_action", "_jitted", "_keeps")

    def _build(self) -> None:
        env = self._env
        self._obs_layout = SpaceLayout(env.observation_spec(), self.observation_space)
        self._check_action = SpaceCheck(env.action_spec(), self.action_space)
        # One set of jitted functions: the environment fixes its state's structure.
        self._jitted = _jit_functions(env, self._options)
        # Episodes after the first keep what the stack keeps across them.
        self._keeps = bool(_core.boundary(self._env).keeps)

    def __deepcopy__(self, memo: dict[int, Any]) -> ToGymnasium:
        """A copy that continues exactly as this bridge would (state, RNGs), sharing its jitted functions."""
        copied: ToGymnasium = _transport.copy_sharing(self, self._DERIVED, memo)
        return copied

    def __getstate__(self) -> dict[str, Any]:
        return _transport.state_without(self, self._DERIVED)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build()

    def __repr__(self) -> str:
        return f"ToGymnasium({self._env!r})"

    def __str__(self) -> str:
        return repr(self)

    @property
    def env(self) -> _core.Environment[Any, Any, Any]:
        """The wrapped jit_env environment."""
        return self._env

    @property
    def state(self) -> Any:
        """The current environment state (on the device), None before `reset`."""
        return None if self._state is None else self._jitted.decode(self._state)

    def _check_open(self, call: str) -> None:
        if self._closed:
            raise RuntimeError(_checks.ERR_CLOSED.format(bridge="ToGymnasium", call=call))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Starts an episode; the same `seed` gives the same episode.

        Raises:
            RuntimeError: After `close()`.
        """
        self._check_open("reset")
        if seed is None and self._seed is not None:
            seed, self._seed = self._seed, None
        super().reset(seed=seed)
        self._seed = None
        episode_seed = np.uint32(self.np_random.integers(_SEED_BOUND, dtype=np.uint64))
        options = self._options if is_default_options(options) else options
        previous = self._state if self._keeps else None
        self._state, out = self._jitted.reset(episode_seed, options, previous)
        out = _transport.fetch(out)
        self._done = False
        return self._obs_layout.to_space(out.observation), dict(out.extras or {})

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """Advances one step.

        Raises:
            ValueError: If the action does not match the action space/spec.
            RuntimeError: Before `reset()`, after the episode ended, or after `close()`.
        """
        self._check_open("step")
        if self._state is None:
            raise RuntimeError(_checks.ERR_NOT_RESET.format(bridge="ToGymnasium"))
        if self._done:
            raise RuntimeError(ERR_STEP_AFTER_END)
        action = self._check_action(action)
        self._state, out = self._jitted.step(self._state, action)
        out = self._jitted.step_out.unpack(out)
        last = bool(out.step_type == _core.StepType.LAST)
        terminated = last and not out.discount > 0
        self._done = last
        reward = out.reward
        return (
            self._obs_layout.to_space(out.observation),
            reward.item() if reward.ndim == 0 else reward,
            terminated,
            last and not terminated,
            dict(out.extras or {}),
        )

    def render(self) -> np.ndarray | None:
        """An RGB frame (uint8 NumPy array) of the current state in ``"rgb_array"`` mode.

        Raises:
            RuntimeError: Without render_mode='rgb_array', or before `reset()`.
        """
        if self.render_mode != "rgb_array":
            raise RuntimeError(ERR_NO_RENDER_MODE.format("ToGymnasium"))
        if self._state is None:
            raise RuntimeError(ERR_RENDER_BEFORE_RESET)
        return np.asarray(jax.device_get(self._jitted.render(self._state))).astype(np.uint8, copy=False)

    def close(self) -> None:
        """Closes the wrapped environment; later `reset`/`step` calls raise."""
        if not self._closed:
            self._closed = True
            self._state = None
            self._env.close()
