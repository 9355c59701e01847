"""Specifications of the data an environment exchanges, before that data exists.

Import the module, not its names, since `Array`, `Tuple` and `Dict` clash
with other libraries::

    from jit_env import specs
    spec = specs.BoundedArray((2,), jnp.float32, minimum=-1.0, maximum=1.0)

Leaf specs (`Array`, `BoundedArray`, `DiscreteArray`) describe one array;
composite specs (`Tree`, `Tuple`, `Dict`) are pytrees whose leaves are specs,
and `Batched` prepends a fixed batch axis to any spec.

Every spec offers:

* `validate(value)`: returns `value`, or raises `ValueError`. Shape, dtype and
  structure are static and are checked when called, also while tracing under
  `jit`/`vmap`. Bounds are checked at once on concrete values; on traced values
  the check runs on the device through `jax.debug.callback` and an out-of-bounds
  value makes the computation fail with a `JaxRuntimeError` carrying the message.
* `contains(value)`: a bool array (shape `()`), jit- and vmap-able; never raises,
  and is True exactly when `validate(value)` would not raise.

Python scalars (`bool`, `int`, `float`) and weakly typed JAX values (what a
Python scalar becomes under `jit`, or `jnp.asarray(1)`) are taken as JAX takes
them: as the spec's dtype, when their kind allows it (an int for any integer or
float dtype, a float for float dtypes) and their value fits that dtype (`1` is
in an `int8`, `uint8` or `uint32` spec, `-1` is not in a `uint8` spec, `2**40`
is not in an `int32` spec). Whether a traced weak value fits is checked like a
bound. NumPy scalars and arrays keep their dtype and must match exactly. NaN is
outside every `BoundedArray`, whatever its bounds.
* `generate_value()`: a fixed value in the spec (zeros or the minimum).
* `sample(key)`: a random value in the spec: uniform in bounds, uniform over the
  discrete values, standard normal where a float is unbounded, exponential from
  the finite side where it is half-bounded, uniform bits for unbounded ints.
* `replace(**kwargs)` (leaf specs), `==`, `hash`, pickling and a readable `repr`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Self, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from jit_env._core import Environment

__all__ = [
    "Array",
    "Batched",
    "BoundedArray",
    "CompositeSpec",
    "Dict",
    "DiscreteArray",
    "EnvironmentSpec",
    "Spec",
    "Tree",
    "Tuple",
    "is_spec",
    "make_environment_spec",
    "reshape_spec",
    "unpack_spec",
]

T = TypeVar("T")

ERR_SHAPE = "{spec}: expected shape {expected}, got shape {got}."
ERR_DTYPE = "{spec}: expected dtype {expected}, got dtype {got}. Cast the value explicitly."
ERR_BELOW = "{spec}: value {value} is below the minimum {minimum}."
ERR_ABOVE = "{spec}: value {value} is above the maximum {maximum}."
ERR_STRUCTURE = "{spec}: expected a value with structure {expected}, got {got}."
ERR_BAD_SHAPE = (
    "{spec}: `shape` must be a sequence of non-negative ints, got {shape!r}. Pass e.g. "
    "shape=(2, 3), or () for a scalar."
)
ERR_BOUNDS_SHAPE = (
    "{spec}: `{which}` of shape {got} does not broadcast to the spec shape {shape}. Pass a "
    "scalar or an array that broadcasts to {shape}."
)
ERR_BOUNDS_NAN = (
    "{spec}: `{which}` must not be NaN, got {value}. Use -inf or inf for an unbounded side, or "
    "an Array spec for no bounds."
)
ERR_BOUNDS_ORDER = "`minimum` must be <= `maximum` everywhere, got minimum={} and maximum={}."
ERR_NOT_INTEGER = "`dtype` of a DiscreteArray must be an integer type, got {}."
ERR_NUM_VALUES = "`num_values` must hold positive integers, got {}."
ERR_NUM_VALUES_DTYPE = (
    "`num_values` {num} does not fit `dtype` {dtype}: the largest value, num_values - 1, "
    "must be at most {largest}, so num_values at most {limit}. Use a wider dtype."
)
ERR_DOES_NOT_FIT = (
    "{spec}: value {value} does not fit dtype {dtype}; a Python scalar or weakly typed "
    "value is only taken as the spec's dtype where it fits."
)
ERR_NAN = "{spec}: value {value} contains NaN, which is outside every bound."
ERR_NOT_AN_ARRAY = "{spec}: expected an array, got {value!r}, which NumPy cannot convert ({error})."
ERR_EMPTY = "A {} spec needs at least one sub-spec."
ERR_NOT_A_SPEC = "Expected a jit_env.specs.Spec, got {!r}."
ERR_BATCH_NUM = "`num` must be a positive int, got {!r}."
ERR_COMPOSITE_REPLACE = (
    "Composite specs cannot be replaced field by field; build a new {} from its sub-specs."
)
ERR_RESHAPE = "reshape_spec does not know how to reshape a {}."


def _canonical_dtype(dtype: Any) -> np.dtype[Any]:
    """The dtype JAX will actually produce for `dtype` (float64 -> float32 without x64)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.dtype(dtype)))


def _is_traced(value: Any) -> bool:
    return isinstance(value, jax.core.Tracer)


_TAKES = {"b": "b", "i": "iufc", "u": "iufc", "f": "fc", "c": "c"}
"""For a Python scalar (or weak value) of each dtype kind, the kinds it may become.

As in JAX, a Python bool is a strong bool: it is taken for bool specs only."""


def _is_weak(value: jax.Array) -> bool:
    return bool(getattr(value, "weak_type", False))


def _kind_allows(src_kind: str, dst: np.dtype[Any]) -> bool:
    """Whether a Python scalar (or weak value) of dtype kind `src_kind` may become `dst`."""
    return dst.kind in _TAKES.get(src_kind, "")


def _scalar_fits(value: bool | int | float, dtype: np.dtype[Any]) -> bool:
    """Whether the Python scalar `value` becomes a `dtype` value without overflow."""
    if isinstance(value, bool) or dtype.kind == "b":
        return True
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return int(info.min) <= value <= int(info.max)
    try:
        number = float(value)
    except OverflowError:  # An int beyond every float.
        return False
    if not np.isfinite(number):
        return True  # NaN and the infinities exist in every float dtype.
    with np.errstate(over="ignore"):
        return bool(np.isfinite(np.asarray(number, dtype)))


def _fits(x: Any, dtype: np.dtype[Any], xp: Any) -> Any:
    """Elementwise: whether each value of the weakly typed `x` fits `dtype` (xp: np or jnp)."""
    src = np.dtype(x.dtype)
    if dtype.kind in "iu" and src.kind in "iu":
        d, s = np.iinfo(dtype), np.iinfo(src)
        return (x >= max(int(d.min), int(s.min))) & (x <= min(int(d.max), int(s.max)))
    if dtype.kind in "fc" and src.kind in "iufc":
        with np.errstate(over="ignore"):
            cast = x.astype(dtype)
        return xp.isfinite(cast) | ~xp.isfinite(x)
    return xp.ones(x.shape, bool)


def _check_shape(shape: Any, label: str) -> tuple[int, ...]:
    """`shape` as a tuple of ints, or ValueError naming the spec (no bool, float or negative entry)."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(ERR_BAD_SHAPE.format(spec=label, shape=shape)) from None
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(ERR_BAD_SHAPE.format(spec=label, shape=shape))
    return tuple(int(d) for d in dims)


class Spec(Generic[T], metaclass=abc.ABCMeta):
    """Base class of all specs; see the module docstring for the shared methods."""

    __slots__ = ("_name",)

    def __init__(self, name: str = ""):
        self._name = name

    @property
    def name(self) -> str:
        """The spec's name ("" when unnamed)."""
        return self._name

    def _label(self) -> str:
        return f"{type(self).__name__} spec" + (f" {self._name!r}" if self._name else "")

    @abc.abstractmethod
    def validate(self, value: Any) -> Any:
        """Returns `value` if it conforms, else raises `ValueError` (see module doc)."""

    @abc.abstractmethod
    def contains(self, value: Any) -> jax.Array:
        """Returns a bool array of shape `()`: True iff `value` conforms."""

    @abc.abstractmethod
    def generate_value(self) -> T:
        """Returns a fixed value that conforms to the spec."""

    @abc.abstractmethod
    def sample(self, key: jax.Array) -> T:
        """Returns a random value that conforms to the spec."""

    @abc.abstractmethod
    def replace(self, **kwargs: Any) -> Spec[Any]:
        """Returns a copy with the given constructor arguments replaced."""

    @abc.abstractmethod
    def _key(self) -> tuple[Any, ...]:
        """A hashable tuple that identifies the spec, for `==` and `hash`."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))


def _array_repr(a: np.ndarray) -> str:
    return repr(a.item()) if a.ndim == 0 else np.array2string(a, separator=", ")


class Array(Spec[jax.Array]):
    """An array of a fixed shape and dtype.

    >>> spec = Array((2,), jnp.float32, name="obs")
    >>> spec
    Array(shape=(2,), dtype=float32, name='obs')
    >>> spec.validate(jnp.zeros(2)).shape
    (2,)
    """

    __slots__ = ("_dtype", "_shape")

    def __init__(self, shape: Sequence[int], dtype: Any, name: str = ""):
        """Args:
        shape: The array's shape: non-negative ints (Python or NumPy).
        dtype: The array's dtype, canonicalised as JAX would (float64 is
            float32 unless `JAX_ENABLE_X64` is set).
        name: An optional name, used in error messages.

        Raises:
            ValueError: If `shape` is not a sequence of non-negative ints
                (`ERR_BAD_SHAPE`).
        """
        super().__init__(name)
        self._shape = _check_shape(shape, f"{type(self).__name__} spec" + (f" {name!r}" if name else ""))
        self._dtype = _canonical_dtype(dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._dtype

    def _repr_fields(self) -> list[str]:
        return [f"shape={self._shape}", f"dtype={self._dtype}"]

    def __repr__(self) -> str:
        fields = self._repr_fields() + ([f"name={self._name!r}"] if self._name else [])
        return f"{type(self).__name__}({', '.join(fields)})"

    def _key(self) -> tuple[Any, ...]:
        return (self._shape, self._dtype, self._name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._shape, self._dtype, self._name))

    def _constructor_kwargs(self) -> dict[str, Any]:
        return {"shape": self._shape, "dtype": self._dtype, "name": self._name}

    def replace(self, **kwargs: Any) -> Self:
        """Returns a copy with constructor arguments replaced.

        >>> Array((2,), jnp.float32).replace(shape=(3,)).shape
        (3,)
        """
        return type(self)(**{**self._constructor_kwargs(), **kwargs})

    def _as_array(self, value: Any) -> tuple[Any, Any]:
        """`value` as something with `.shape` and `.dtype`, and a traced weak value or None.

        Python scalars and weakly typed values whose kind allows it become the
        spec's dtype when they fit it (else ValueError). A traced weak value
        cannot be checked now: it comes back as the second item, for the
        caller to check on the device.
        """
        dtype = self._dtype
        if isinstance(value, jax.Array):
            if _is_weak(value) and value.dtype != dtype and _kind_allows(np.dtype(value.dtype).kind, dtype):
                if _is_traced(value):
                    return jax.ShapeDtypeStruct(value.shape, dtype), value
                host = np.asarray(value)
                if not np.all(_fits(host, dtype, np)):
                    raise ValueError(ERR_DOES_NOT_FIT.format(spec=self._label(), value=host, dtype=dtype))
                return host.astype(dtype), None
            return value, None
        if isinstance(value, (np.ndarray, np.generic)):
            return value, None
        kind = "b" if isinstance(value, bool) else "i" if isinstance(value, int) else (
            "f" if isinstance(value, float) else "")
        if kind and _kind_allows(kind, dtype):
            if not _scalar_fits(value, dtype):
                raise ValueError(ERR_DOES_NOT_FIT.format(spec=self._label(), value=value, dtype=dtype))
            return np.asarray(value, dtype), None
        try:
            return np.asarray(value), None
        except (ValueError, TypeError, OverflowError) as e:
            raise ValueError(ERR_NOT_AN_ARRAY.format(spec=self._label(), value=value, error=e)) from None

    def _check_shape_dtype(self, value: Any) -> tuple[Any, Any]:
        arr, pending = self._as_array(value)
        if tuple(arr.shape) != self._shape:
            raise ValueError(
                ERR_SHAPE.format(spec=self._label(), expected=self._shape, got=tuple(arr.shape))
            )
        if arr.dtype != self._dtype:
            raise ValueError(
                ERR_DTYPE.format(spec=self._label(), expected=self._dtype, got=arr.dtype)
            )
        return arr, pending

    def _check_fits(self, value: Any) -> np.ndarray:
        """Raises unless the (host copy of a) weak value fits; returns it in the spec's dtype."""
        host = np.asarray(value)
        if not np.all(_fits(host, self._dtype, np)):
            raise ValueError(ERR_DOES_NOT_FIT.format(spec=self._label(), value=host, dtype=self._dtype))
        return host.astype(self._dtype)

    def validate(self, value: Any) -> Any:
        _, pending = self._check_shape_dtype(value)
        if pending is not None:
            jax.debug.callback(self._check_fits_only, pending)
        return value

    def _check_fits_only(self, value: Any) -> None:
        self._check_fits(value)

    def _conforms(self, value: Any) -> tuple[bool, Any, Any]:
        """(shape, dtype and fit are right, the value as an array, a traced weak value or None)."""
        try:
            arr, pending = self._check_shape_dtype(value)
        except ValueError:
            return False, None, None
        return True, arr, pending

    def contains(self, value: Any) -> jax.Array:
        ok, _, pending = self._conforms(value)
        if pending is not None:
            return jnp.all(_fits(pending, self._dtype, jnp))
        return jnp.asarray(ok)

    def generate_value(self) -> jax.Array:
        return jnp.zeros(self._shape, self._dtype)

    def sample(self, key: jax.Array) -> jax.Array:
        dtype = self._dtype
        if jnp.issubdtype(dtype, jnp.floating) or jnp.issubdtype(dtype, jnp.complexfloating):
            return jax.random.normal(key, self._shape, dtype)
        if dtype == np.bool_:
            return jax.random.bernoulli(key, 0.5, self._shape)
        bits = jax.random.bits(key, self._shape, np.dtype(f"uint{dtype.itemsize * 8}"))
        return jax.lax.bitcast_convert_type(bits, dtype)


class BoundedArray(Array):
    """An array whose values lie in `[minimum, maximum]` (elementwise, inclusive).

    >>> spec = BoundedArray((2,), jnp.float32, minimum=-1.0, maximum=1.0)
    >>> bool(spec.contains(jnp.array([0.5, 2.0], jnp.float32)))
    False
    """

    __slots__ = ("_maximum", "_minimum")

    def __init__(
        self,
        shape: Sequence[int],
        dtype: Any,
        minimum: Any,
        maximum: Any,
        name: str = "",
    ):
        """Args:
        shape: The array's shape.
        dtype: The array's dtype.
        minimum: Lower bound, broadcastable to `shape`.
        maximum: Upper bound, broadcastable to `shape`.
        name: An optional name.

        Raises:
            ValueError: If `shape` is not a sequence of non-negative ints, a
                bound is NaN or does not broadcast to `shape`, or
                `minimum > maximum` anywhere.
        """
        super().__init__(shape, dtype, name)
        bounds = []
        for which, bound in (("minimum", minimum), ("maximum", maximum)):
            raw = np.asarray(bound)
            if raw.dtype.kind in "fc" and np.any(np.isnan(raw)):
                raise ValueError(ERR_BOUNDS_NAN.format(spec=self._label(), which=which, value=raw))
            arr = np.array(bound, dtype=self._dtype)
            try:
                np.broadcast_to(arr, self._shape)
            except ValueError:
                raise ValueError(ERR_BOUNDS_SHAPE.format(
                    spec=self._label(), which=which, got=arr.shape, shape=self._shape)) from None
            arr.flags.writeable = False
            bounds.append(arr)
        self._minimum, self._maximum = bounds
        if np.any(self._minimum > self._maximum):
            raise ValueError(ERR_BOUNDS_ORDER.format(self._minimum, self._maximum))

    @property
    def minimum(self) -> np.ndarray:
        """The lower bound as a read-only NumPy array (broadcastable to `shape`)."""
        return self._minimum

    @property
    def maximum(self) -> np.ndarray:
        """The upper bound as a read-only NumPy array (broadcastable to `shape`)."""
        return self._maximum

    def _repr_fields(self) -> list[str]:
        return [
            *super()._repr_fields(),
            f"minimum={_array_repr(self._minimum)}",
            f"maximum={_array_repr(self._maximum)}",
        ]

    def _key(self) -> tuple[Any, ...]:
        return (
            *super()._key(),
            self._minimum.shape,
            self._minimum.tobytes(),
            self._maximum.shape,
            self._maximum.tobytes(),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self._shape, self._dtype, self._minimum, self._maximum, self._name),
        )

    def _constructor_kwargs(self) -> dict[str, Any]:
        return {
            **super()._constructor_kwargs(),
            "minimum": self._minimum,
            "maximum": self._maximum,
        }

    def validate(self, value: Any) -> Any:
        arr, pending = self._check_shape_dtype(value)
        if pending is not None:
            jax.debug.callback(self._check_fits_and_bounds, pending)
        elif _is_traced(arr):
            jax.debug.callback(self._check_bounds, arr)
        else:
            self._check_bounds(arr)
        return value

    def _check_fits_and_bounds(self, value: Any) -> None:
        self._check_bounds(self._check_fits(value))

    def _check_bounds(self, value: Any) -> None:
        arr = np.asarray(value)
        if arr.dtype.kind in "fc" and np.any(np.isnan(arr)):
            raise ValueError(ERR_NAN.format(spec=self._label(), value=arr))
        if np.any(arr < self._minimum):
            raise ValueError(
                ERR_BELOW.format(spec=self._label(), value=arr, minimum=self._minimum)
            )
        if np.any(arr > self._maximum):
            raise ValueError(
                ERR_ABOVE.format(spec=self._label(), value=arr, maximum=self._maximum)
            )

    def contains(self, value: Any) -> jax.Array:
        ok, arr, pending = self._conforms(value)
        if not ok:
            return jnp.asarray(False)
        if pending is not None:  # A traced weak value: it must fit, then lie in bounds.
            inside = self._in_bounds(pending.astype(self._dtype), jnp)
            return jnp.all(_fits(pending, self._dtype, jnp)) & inside
        if isinstance(arr, (np.ndarray, np.generic)):
            return jnp.asarray(self._in_bounds(arr, np))
        return self._in_bounds(arr, jnp)

    def _in_bounds(self, arr: Any, xp: Any) -> Any:
        # NaN compares False with everything: it is outside, as validate says.
        return xp.all((arr >= self._minimum) & (arr <= self._maximum))

    def generate_value(self) -> jax.Array:
        return jnp.broadcast_to(jnp.asarray(self._minimum), self._shape)

    def sample(self, key: jax.Array) -> jax.Array:
        low = np.broadcast_to(self._minimum, self._shape)
        high = np.broadcast_to(self._maximum, self._shape)
        dtype = self._dtype
        if jnp.issubdtype(dtype, jnp.floating):
            k_unif, k_exp, k_norm = jax.random.split(key, 3)
            u = jax.random.uniform(k_unif, self._shape, dtype)
            # low * (1 - u) + high * u cannot overflow, unlike low + (high - low) * u.
            with np.errstate(invalid="ignore"):
                unif = low * (1 - u) + high * u
            expo = jax.random.exponential(k_exp, self._shape, dtype)
            norm = jax.random.normal(k_norm, self._shape, dtype)
            lo_fin, hi_fin = np.isfinite(low), np.isfinite(high)
            value = jnp.where(
                lo_fin & hi_fin,
                unif,
                jnp.where(lo_fin, low + expo, jnp.where(hi_fin, high - expo, norm)),
            )
            return jnp.clip(value, low, high)
        # Integers and bools: uniform over [low, high]. randint's range is
        # half-open and its upper bound must fit the dtype, so draw from
        # [low, high) and pick `high` with probability 1 / (high - low + 1).
        int_dtype = np.dtype(np.int32) if dtype == np.bool_ else dtype
        k_int, k_top = jax.random.split(key)
        below_top = jax.random.randint(
            k_int, self._shape, low.astype(int_dtype), high.astype(int_dtype), int_dtype
        )
        count = high.astype(np.float64) - low.astype(np.float64) + 1.0
        top = jax.random.uniform(k_top, self._shape, jnp.float32) < (1.0 / count).astype(np.float32)
        value = jnp.where(top, jnp.asarray(high.astype(int_dtype)), below_top)
        return value.astype(dtype)


class DiscreteArray(BoundedArray):
    """Integers in `[0, num_values)`; `num_values` may be an array (multi-discrete).

    >>> spec = DiscreteArray(3)
    >>> spec
    DiscreteArray(num_values=3, dtype=int32)
    >>> int(spec.num_values), spec.shape
    (3, ())
    """

    __slots__ = ("_num_values",)

    def __init__(self, num_values: Any, dtype: Any = jnp.int32, name: str = ""):
        """Args:
        num_values: Number of values: an int, or an array of ints whose
            shape becomes the spec's shape. Every count the dtype can index
            is allowed: up to 256 for uint8, 128 for int8.
        dtype: An integer dtype.
        name: An optional name.

        Raises:
            ValueError: If `dtype` is not an integer type, `num_values` is
                not positive, or `num_values - 1` does not fit `dtype`.
        """
        if not jnp.issubdtype(np.dtype(dtype), jnp.integer):
            raise ValueError(ERR_NOT_INTEGER.format(np.dtype(dtype)))
        num = np.asarray(num_values)
        if not jnp.issubdtype(num.dtype, jnp.integer) or not np.all(num > 0):
            raise ValueError(ERR_NUM_VALUES.format(num_values))
        canonical = _canonical_dtype(dtype)
        limit = min(int(np.iinfo(canonical).max) + 1, int(np.iinfo(np.int64).max))
        if np.any(num > limit):
            raise ValueError(ERR_NUM_VALUES_DTYPE.format(
                num=num_values, dtype=canonical, largest=limit - 1, limit=limit))
        counts = num.astype(np.int64)
        counts.flags.writeable = False
        super().__init__(num.shape, dtype, minimum=0, maximum=counts - 1, name=name)
        self._num_values = counts

    @property
    def num_values(self) -> np.ndarray:
        """The number of values per element: an int64 array of the spec's shape.

        int64 whatever the dtype, so it never wraps (`DiscreteArray(256, jnp.uint8)`
        has 256 values).
        """
        return self._num_values

    def _repr_fields(self) -> list[str]:
        return [f"num_values={_array_repr(self.num_values)}", f"dtype={self._dtype}"]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.num_values, self._dtype, self._name))

    def _constructor_kwargs(self) -> dict[str, Any]:
        return {"num_values": self.num_values, "dtype": self._dtype, "name": self._name}

    def sample(self, key: jax.Array) -> jax.Array:
        return jax.random.randint(key, self._shape, 0, self.num_values, self._dtype)


class CompositeSpec(Spec[Any]):
    """A spec built from other specs."""

    __slots__ = ()

    @abc.abstractmethod
    def as_spec_struct(self) -> Any:
        """Returns the sub-specs one level down, as a plain pytree of specs."""

    def replace(self, **kwargs: Any) -> Spec[Any]:
        """Always raises: rebuild composite specs from their parts instead.

        Raises:
            RuntimeError: Always.
        """
        raise RuntimeError(ERR_COMPOSITE_REPLACE.format(type(self).__name__))


def is_spec(x: Any) -> bool:
    """True if `x` is a `Spec`: the `is_leaf` that keeps specs whole in `jax.tree_util` calls."""
    return isinstance(x, Spec)


@jax.tree_util.register_pytree_node_class
class Tree(CompositeSpec):
    """A pytree of specs: `leave_specs` unflattened by `treedef`.

    A `Tree` is itself a pytree whose leaves are its sub-specs, so
    `jax.tree_util.tree_map(f, spec)` maps over them.

    >>> obs, act = Array((2,), jnp.float32), DiscreteArray(2)
    >>> spec = Tree([obs, act], jax.tree_util.tree_structure((0, 0)))
    >>> spec.generate_value()[1].dtype
    dtype('int32')
    """

    __slots__ = ("_leave_specs", "_treedef")

    def __init__(self, leaves: Sequence[Spec[Any]], structure: Any, name: str = ""):
        """Args:
        leaves: The sub-specs, in `structure`'s flattening order.
        structure: A `jax.tree_util.PyTreeDef` with `len(leaves)` leaves.
        name: An optional name.

        Raises:
            TypeError: If a leaf is not a Spec.
            ValueError: If the number of leaves does not match `structure`.
        """
        super().__init__(name)
        leaves = list(leaves)
        for leaf in leaves:
            if not isinstance(leaf, Spec):
                raise TypeError(ERR_NOT_A_SPEC.format(leaf))
        if structure.num_leaves != len(leaves):
            raise ValueError(
                f"`structure` has {structure.num_leaves} leaves but {len(leaves)} specs were given."
            )
        self._leave_specs = leaves
        self._treedef = structure

    @property
    def leave_specs(self) -> list[Spec[Any]]:
        return self._leave_specs

    @property
    def treedef(self) -> Any:
        return self._treedef

    def __repr__(self) -> str:
        inner = self._treedef.unflatten([_ReprLeaf(repr(s)) for s in self._leave_specs])
        name = f", name={self._name!r}" if self._name else ""
        return f"{type(self).__name__}({inner!r}{name})"

    def _key(self) -> tuple[Any, ...]:
        return (self._treedef, tuple(self._leave_specs), self._name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unflatten_tree, (type(self), self.tree_flatten()[1], self._leave_specs))

    def tree_flatten(self) -> tuple[list[Spec[Any]], tuple[Any, str]]:
        return self._leave_specs, (self._treedef, self._name)

    @classmethod
    def tree_unflatten(cls, aux: tuple[Any, str], children: Sequence[Any]) -> Tree:
        obj = object.__new__(cls)
        obj._name = aux[1]
        obj._treedef = aux[0]
        obj._leave_specs = list(children)
        return obj

    def as_spec_struct(self) -> Any:
        return self._treedef.unflatten(self._leave_specs)

    def _flatten_value(self, value: Any) -> list[Any]:
        try:
            return self._treedef.flatten_up_to(value)
        except (ValueError, TypeError):
            raise ValueError(
                ERR_STRUCTURE.format(
                    spec=self._label(),
                    expected=self._treedef,
                    got=jax.tree_util.tree_structure(value),
                )
            ) from None

    def validate(self, value: Any) -> Any:
        for spec, leaf in zip(self._leave_specs, self._flatten_value(value), strict=True):
            spec.validate(leaf)
        return value

    def contains(self, value: Any) -> jax.Array:
        try:
            leaves = self._flatten_value(value)
        except ValueError:
            return jnp.asarray(False)
        result = jnp.asarray(True)
        for spec, leaf in zip(self._leave_specs, leaves, strict=True):
            result = result & spec.contains(leaf)
        return result

    def generate_value(self) -> Any:
        return self._treedef.unflatten([s.generate_value() for s in self._leave_specs])

    def sample(self, key: jax.Array) -> Any:
        keys = jax.random.split(key, len(self._leave_specs))
        return self._treedef.unflatten(
            [s.sample(k) for s, k in zip(self._leave_specs, keys, strict=True)]
        )


def _unflatten_tree(cls: type[Tree], aux: tuple[Any, str], children: Sequence[Any]) -> Tree:
    return cls.tree_unflatten(aux, children)


class _ReprLeaf:
    """Prints as the given text inside a pytree's repr."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


@jax.tree_util.register_pytree_node_class
class Tuple(Tree):
    """A tuple of specs.

    >>> Tuple(Array((), jnp.float32), DiscreteArray(2)).generate_value()[0].shape
    ()
    """

    __slots__ = ()

    def __init__(self, *var_specs: Spec[Any], name: str = ""):
        """Raises:
        ValueError: If no specs are given.
        """
        if not var_specs:
            raise ValueError(ERR_EMPTY.format("Tuple"))
        super().__init__(list(var_specs), jax.tree_util.tree_structure((0,) * len(var_specs)), name)

    def __repr__(self) -> str:
        name = f", name={self._name!r}" if self._name else ""
        return f"Tuple({', '.join(map(repr, self._leave_specs))}{name})"


@jax.tree_util.register_pytree_node_class
class Dict(Tree):
    """A dict of specs (keys are sorted, as in JAX pytrees).

    >>> Dict(pos=Array((2,), jnp.float32)).generate_value()["pos"].shape
    (2,)
    """

    __slots__ = ()

    def __init__(
        self,
        dict_spec: Mapping[str, Spec[Any]] | None = None,
        name: str = "",
        **kwarg_specs: Spec[Any],
    ):
        """Args:
        dict_spec: A mapping from keys to specs.
        name: An optional name.
        **kwarg_specs: More entries, merged into `dict_spec`.

        Raises:
            ValueError: If there are no entries.
        """
        full = {**(dict_spec or {}), **kwarg_specs}
        if not full:
            raise ValueError(ERR_EMPTY.format("Dict"))
        structure: Any = jax.tree_util.tree_structure({k: 0 for k in full})
        super().__init__(structure.flatten_up_to(full), structure, name)

    def __repr__(self) -> str:
        keys = self._treedef.unflatten(range(len(self._leave_specs)))
        entries = ", ".join(f"{k!r}: {self._leave_specs[i]!r}" for k, i in keys.items())
        name = f", name={self._name!r}" if self._name else ""
        return f"Dict({{{entries}}}{name})"


class Batched(CompositeSpec, Generic[T]):
    """`num` stacked values of `spec`: every leaf gains a leading axis of size `num`.

    >>> spec = Batched(DiscreteArray(3), num=4)
    >>> spec.generate_value().shape
    (4,)
    """

    __slots__ = ("_num", "_spec")

    def __init__(self, spec: Spec[Any], num: int, name: str = ""):
        """Raises:
        TypeError: If `spec` is not a Spec.
        ValueError: If `num` is not a positive int.
        """
        super().__init__(name)
        if not isinstance(spec, Spec):
            raise TypeError(ERR_NOT_A_SPEC.format(spec))
        if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num <= 0:
            raise ValueError(ERR_BATCH_NUM.format(num))
        self._spec = spec
        self._num = int(num)

    @property
    def spec(self) -> Spec[Any]:
        """The spec of one slice."""
        return self._spec

    @property
    def num(self) -> int:
        """The batch size."""
        return self._num

    def __repr__(self) -> str:
        name = f", name={self._name!r}" if self._name else ""
        return f"Batched({self._spec!r}, num={self._num}{name})"

    def _key(self) -> tuple[Any, ...]:
        return (self._spec, self._num, self._name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._spec, self._num, self._name))

    def as_spec_struct(self) -> Any:
        """The sub-specs one level down, each with the batch axis prepended."""
        inner = self._spec.as_spec_struct() if isinstance(self._spec, CompositeSpec) else self._spec
        return jax.tree_util.tree_map(
            lambda s: reshape_spec(s, prepend=(self._num,)), inner, is_leaf=is_spec
        )

    def _unpacked(self) -> Spec[Any]:
        return _as_tree(unpack_spec(self))

    def validate(self, value: Any) -> Any:
        return self._unpacked().validate(value)

    def contains(self, value: Any) -> jax.Array:
        return self._unpacked().contains(value)

    def generate_value(self) -> Any:
        return jax.tree_util.tree_map(
            lambda v: jnp.broadcast_to(v, (self._num, *jnp.shape(v))),
            self._spec.generate_value(),
        )

    def sample(self, key: jax.Array) -> Any:
        return jax.vmap(self._spec.sample)(jax.random.split(key, self._num))


def _as_tree(spec_struct: Any) -> Spec[Any]:
    """A plain pytree of leaf specs as one `Spec`."""
    if isinstance(spec_struct, Spec):
        return spec_struct
    leaves, treedef = jax.tree_util.tree_flatten(spec_struct, is_leaf=is_spec)
    return Tree(leaves, treedef)


def _broadcast_bound(bound: np.ndarray, shape: tuple[int, ...], prepend: tuple[int, ...],
                     append: tuple[int, ...]) -> np.ndarray:
    full = np.broadcast_to(bound, shape).reshape(shape + (1,) * len(append))
    return np.broadcast_to(full, (*prepend, *shape, *append))


def reshape_spec(
    spec: Spec[Any], prepend: Sequence[int] = (), append: Sequence[int] = ()
) -> Any:
    """Adds axes before and/or after the shape of every leaf of `spec`.

    Bounds are broadcast to the new shape. A composite spec gives back a plain
    pytree of reshaped leaf specs (as `unpack_spec` does).

    Args:
        spec: The spec to reshape.
        prepend: Axes to put in front.
        append: Axes to put at the back.

    Returns:
        The reshaped spec, or a pytree of them.

    Raises:
        NotImplementedError: If a leaf is of an unknown spec type.

    >>> reshape_spec(DiscreteArray(3), prepend=(2,)).num_values.tolist()
    [3, 3]
    """
    prepend, append = tuple(prepend), tuple(append)
    if isinstance(spec, CompositeSpec):
        return jax.tree_util.tree_map(
            lambda s: reshape_spec(s, prepend, append), unpack_spec(spec), is_leaf=is_spec
        )
    if isinstance(spec, DiscreteArray):
        return spec.replace(
            num_values=_broadcast_bound(spec.num_values, spec.shape, prepend, append)
        )
    if isinstance(spec, BoundedArray):
        return spec.replace(
            shape=(*prepend, *spec.shape, *append),
            minimum=_broadcast_bound(spec.minimum, spec.shape, prepend, append),
            maximum=_broadcast_bound(spec.maximum, spec.shape, prepend, append),
        )
    if isinstance(spec, Array):
        return spec.replace(shape=(*prepend, *spec.shape, *append))
    raise NotImplementedError(ERR_RESHAPE.format(type(spec).__name__))


def unpack_spec(spec: Spec[Any]) -> Any:
    """Recursively turns composite specs into a plain pytree of leaf specs.

    >>> unpack_spec(Batched(Array((), jnp.float32), num=3)).shape
    (3,)
    """
    if isinstance(spec, CompositeSpec):
        return jax.tree_util.tree_map(unpack_spec, spec.as_spec_struct(), is_leaf=is_spec)
    return spec


class EnvironmentSpec(NamedTuple):
    """The four specs of an environment."""

    observations: Spec[Any]
    actions: Spec[Any]
    rewards: Spec[Any]
    discounts: Spec[Any]


def make_environment_spec(env: Environment[Any, Any, Any]) -> EnvironmentSpec:
    """Collects the four specs of `env` into an `EnvironmentSpec`."""
    return EnvironmentSpec(
        observations=env.observation_spec(),
        actions=env.action_spec(),
        rewards=env.reward_spec(),
        discounts=env.discount_spec(),
    )


PrimitiveSpec = Array  # jit_env 0.1.5's name of `Array`; deprecated, so not in `__all__`.
"""jit_env 0.1.5's name for the base of the leaf specs; an alias of `Array`."""
