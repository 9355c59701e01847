"""Tests of jit_env.specs: validation, containment, sampling, pickling, reshaping."""

from __future__ import annotations

import pickle
import re
import typing

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jit_env import specs

LEAVES = [
    specs.Array((), jnp.float32),
    specs.Array((2, 3), jnp.int32, name="grid"),
    specs.Array((4,), jnp.bool_),
    specs.Array((2,), jnp.uint8),
    specs.BoundedArray((3,), jnp.float32, -1.0, [1.0, 2.0, 3.0]),
    specs.BoundedArray((2,), jnp.float32, [-jnp.inf, 0.0], [0.0, jnp.inf]),
    specs.BoundedArray((2,), jnp.float32, -jnp.inf, jnp.inf),
    specs.BoundedArray((), jnp.float32, -3e38, 3e38),
    specs.BoundedArray((5,), jnp.int8, -128, 127),
    specs.BoundedArray((2,), jnp.int32, np.iinfo(np.int32).min, np.iinfo(np.int32).max),
    specs.BoundedArray((), jnp.int32, 7, 7),
    specs.BoundedArray((3,), jnp.uint8, 0, 255),
    specs.BoundedArray((2,), jnp.bool_, False, True),
    specs.DiscreteArray(5),
    specs.DiscreteArray([2, 3, 4], dtype=jnp.int8),
    specs.DiscreteArray(1),
]
COMPOSITES = [
    specs.Tuple(LEAVES[0], LEAVES[13]),
    specs.Dict(a=LEAVES[4], b=specs.Tuple(LEAVES[1], LEAVES[14]), name="nested"),
    specs.Tree([LEAVES[2], LEAVES[5]], jax.tree_util.tree_structure({"x": 0, "y": [0]})),
    specs.Batched(LEAVES[4], 3),
    specs.Batched(specs.Dict(p=LEAVES[13], q=LEAVES[9]), 2),
    specs.Batched(specs.Batched(LEAVES[14], 2), 3),
]
CATALOGUE = LEAVES + COMPOSITES
ids = [repr(s)[:60] for s in CATALOGUE]


_COMPILED: dict[int, object] = {}


def _sample_and_contain(spec):
    """One compiled function per spec: 8 vmapped samples and their containment."""
    if id(spec) not in _COMPILED:
        _COMPILED[id(spec)] = jax.jit(lambda k: (lambda v: (v, jax.vmap(spec.contains)(v)))(
            jax.vmap(spec.sample)(jax.random.split(k, 8))))
    return _COMPILED[id(spec)]


@pytest.mark.parametrize("spec", CATALOGUE, ids=ids)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_spec__samples_under_jit_and_vmap_validate_and_are_contained(spec, seed):
    values, inside = _sample_and_contain(spec)(jax.random.key(seed))
    assert inside.shape == (8,) and bool(jnp.all(inside))
    batched = specs.Batched(spec, 8)
    batched.validate(values)  # eager: shapes, dtypes and bounds on concrete values
    assert bool(batched.contains(values))


@pytest.mark.parametrize("spec", CATALOGUE, ids=ids)
def test_spec__eager_sample_and_generate_value_validate_and_are_contained(spec):
    for value in (spec.generate_value(), spec.sample(jax.random.key(3))):
        assert spec.validate(value) is value
        assert bool(spec.contains(value))


@pytest.mark.parametrize("spec", CATALOGUE, ids=ids)
def test_spec__pickles_equal_hashes_and_repr_is_stable(spec):
    clone = pickle.loads(pickle.dumps(spec))
    assert clone == spec and hash(clone) == hash(spec)
    assert repr(clone) == repr(spec)


def test_spec__sampling_is_uniform_over_discrete_and_int_bounds():
    draws = jax.vmap(specs.DiscreteArray(4).sample)(jax.random.split(jax.random.key(0), 4000))
    counts = np.bincount(np.asarray(draws), minlength=4)
    assert counts.min() > 900 and counts.max() < 1100
    spec = specs.BoundedArray((), jnp.int8, 125, 127)
    draws = jax.vmap(spec.sample)(jax.random.split(jax.random.key(1), 3000))
    counts = np.bincount(np.asarray(draws).astype(int) - 125, minlength=3)
    assert counts.min() > 900, counts


def test_spec__float_sampling_follows_the_bound_kind():
    spec = specs.BoundedArray((4,), jnp.float32, [0.0, -jnp.inf, 2.0, -jnp.inf], [1.0, 5.0, jnp.inf, jnp.inf])
    draws = np.asarray(jax.vmap(spec.sample)(jax.random.split(jax.random.key(0), 2000)))
    assert 0.45 < draws[:, 0].mean() < 0.55  # uniform
    assert draws[:, 1].max() <= 5.0 and draws[:, 1].min() < 2.0  # 5 - exponential
    assert draws[:, 2].min() >= 2.0  # 2 + exponential
    assert abs(draws[:, 3].mean()) < 0.1 and 0.9 < draws[:, 3].std() < 1.1  # standard normal


def test_spec__equality_and_replace():
    spec = specs.BoundedArray((2,), jnp.float32, 0.0, 1.0, "x")
    assert spec == specs.BoundedArray((2,), jnp.float32, 0.0, 1.0, "x")
    assert spec != spec.replace(maximum=2.0)
    assert spec.replace(name="y").name == "y"
    assert specs.DiscreteArray(3).replace(num_values=4) == specs.DiscreteArray(4)
    assert specs.Array((2,), jnp.float32) != specs.BoundedArray((2,), jnp.float32, 0.0, 1.0)
    with pytest.raises(RuntimeError) as info:
        specs.Tuple(spec).replace(name="z")
    assert str(info.value) == specs.ERR_COMPOSITE_REPLACE.format("Tuple")


def test_spec__repr_reads_like_the_constructor():
    assert repr(specs.BoundedArray((2,), jnp.float32, 0.0, 1.0, "x")) == (
        "BoundedArray(shape=(2,), dtype=float32, minimum=0.0, maximum=1.0, name='x')")
    assert repr(specs.Tuple(specs.DiscreteArray(2))) == "Tuple(DiscreteArray(num_values=2, dtype=int32))"
    assert repr(specs.Dict(a=specs.Array((), jnp.int32))) == "Dict({'a': Array(shape=(), dtype=int32)})"
    assert repr(specs.Batched(specs.DiscreteArray(2), 3)) == (
        "Batched(DiscreteArray(num_values=2, dtype=int32), num=3)")


def test_validate__exact_messages_for_shape_dtype_and_bounds():
    spec = specs.BoundedArray((2,), jnp.float32, 0.0, 1.0, "x")
    label = "BoundedArray spec 'x'"
    with pytest.raises(ValueError) as info:
        spec.validate(jnp.zeros(3, jnp.float32))
    assert str(info.value) == specs.ERR_SHAPE.format(spec=label, expected=(2,), got=(3,))
    with pytest.raises(ValueError) as info:
        spec.validate(jnp.zeros(2, jnp.int32))
    assert str(info.value) == specs.ERR_DTYPE.format(spec=label, expected="float32", got="int32")
    value = np.array([0.5, 2.0], np.float32)
    with pytest.raises(ValueError) as info:
        spec.validate(value)
    assert str(info.value) == specs.ERR_ABOVE.format(spec=label, value=value, maximum=spec.maximum)
    value = np.array([-0.5, 0.0], np.float32)
    with pytest.raises(ValueError) as info:
        spec.validate(value)
    assert str(info.value) == specs.ERR_BELOW.format(spec=label, value=value, minimum=spec.minimum)


def test_validate__python_scalars_are_weakly_typed_but_numpy_dtypes_are_strict():
    spec = specs.Array((), jnp.float32)
    spec.validate(1.0)
    spec.validate(1)
    with pytest.raises(ValueError, match=re.escape(
            specs.ERR_DTYPE.format(spec="Array spec", expected=np.dtype(np.float32), got=np.dtype(np.float64)))):
        spec.validate(np.float64(1.0))
    with pytest.raises(ValueError, match=re.escape(
            specs.ERR_DTYPE.format(spec="Array spec", expected=np.dtype(np.int32), got=np.dtype(np.float64)))):
        specs.Array((), jnp.int32).validate(1.5)


def test_validate__under_jit_shape_errors_at_trace_time_bounds_at_run_time():
    spec = specs.BoundedArray((2,), jnp.float32, 0.0, 1.0, "x")
    with pytest.raises(ValueError) as info:
        jax.jit(spec.validate)(jnp.zeros(3, jnp.float32))
    assert str(info.value) == specs.ERR_SHAPE.format(spec="BoundedArray spec 'x'", expected=(2,), got=(3,))
    out = jax.jit(spec.validate)(jnp.full(2, 0.5, jnp.float32))
    assert out.shape == (2,)
    with pytest.raises(Exception, match="is above the maximum"):
        jax.block_until_ready(jax.jit(spec.validate)(jnp.full(2, 2.0, jnp.float32)))


def test_validate__structure_mismatch_is_a_value_error():
    spec = specs.Dict(a=specs.Array((), jnp.float32))
    with pytest.raises(ValueError, match=r"^Dict spec: expected a value with structure"):
        spec.validate({"b": jnp.zeros(())})
    assert not bool(spec.contains({"b": jnp.zeros(())}))
    assert not bool(spec.contains({"a": jnp.zeros((2,))}))


def test_constructors__exact_errors():
    with pytest.raises(ValueError) as info:
        specs.BoundedArray((2,), jnp.float32, [0.0, 0.0, 0.0], 1.0)
    assert str(info.value) == specs.ERR_BOUNDS_SHAPE.format(
        spec="BoundedArray spec", which="minimum", got=(3,), shape=(2,))
    with pytest.raises(ValueError, match=r"^`minimum` must be <= `maximum` everywhere"):
        specs.BoundedArray((), jnp.float32, 1.0, 0.0)
    with pytest.raises(ValueError) as info:
        specs.DiscreteArray(3, dtype=jnp.float32)
    assert str(info.value) == specs.ERR_NOT_INTEGER.format("float32")
    with pytest.raises(ValueError) as info:
        specs.DiscreteArray(0)
    assert str(info.value) == specs.ERR_NUM_VALUES.format(0)
    with pytest.raises(ValueError) as info:
        specs.Batched(specs.DiscreteArray(2), 0)
    assert str(info.value) == specs.ERR_BATCH_NUM.format(0)
    with pytest.raises(ValueError) as info:
        specs.Tuple()
    assert str(info.value) == specs.ERR_EMPTY.format("Tuple")
    with pytest.raises(TypeError) as info:
        specs.Tuple(3)  # type: ignore[arg-type]
    assert str(info.value) == specs.ERR_NOT_A_SPEC.format(3)


def test_dtypes__canonicalised_like_jax():
    spec = specs.Array((), np.float64)
    assert spec.dtype == jax.dtypes.canonicalize_dtype(np.float64)
    spec.validate(jnp.asarray(np.float64(1.0)))


def test_tree__is_a_pytree_of_specs():
    spec = specs.Dict(a=specs.DiscreteArray(2), b=specs.Array((3,), jnp.float32))
    leaves = jax.tree_util.tree_leaves(spec)
    assert leaves == [specs.DiscreteArray(2), specs.Array((3,), jnp.float32)]
    shapes = jax.tree_util.tree_map(lambda s: s.shape, spec)
    assert shapes.as_spec_struct() == {"a": (), "b": (3,)}


def test_reshape_spec__broadcasts_bounds_and_handles_composites():
    spec = specs.BoundedArray((2,), jnp.float32, [0.0, 1.0], [1.0, 2.0])
    out = specs.reshape_spec(spec, prepend=(3,), append=(4,))
    assert out.shape == (3, 2, 4)
    assert out.minimum.shape == (3, 2, 4) and float(out.minimum[0, 1, 3]) == 1.0
    discrete = specs.reshape_spec(specs.DiscreteArray([2, 3]), prepend=(2,))
    assert discrete.num_values.tolist() == [[2, 3], [2, 3]]
    tree = specs.reshape_spec(specs.Dict(a=specs.Array((), jnp.int32)), prepend=(5,))
    assert tree == {"a": specs.Array((5,), jnp.int32)}


def test_unpack_spec__batched_and_nested():
    spec = specs.Batched(specs.Tuple(specs.DiscreteArray(2), specs.Batched(specs.Array((), jnp.float32), 3)), 4)
    unpacked = specs.unpack_spec(spec)
    assert unpacked == (specs.DiscreteArray(np.full((4,), 2)), specs.Array((4, 3), jnp.float32))


def test_environment_spec__collects_the_four_specs():
    import _envs

    env_spec = specs.make_environment_spec(_envs.PointMass())
    assert env_spec.actions == specs.BoundedArray((2,), jnp.float32, -1.0, 1.0, "push")
    assert env_spec._fields == ("observations", "actions", "rewards", "discounts")


@pytest.mark.parametrize(("dtype", "count"), [(jnp.uint8, 256), (jnp.int8, 128), (jnp.int32, 2**31)])
def test_discrete_array__takes_every_count_its_dtype_can_index(dtype, count):
    spec = specs.DiscreteArray(count, dtype)
    assert spec.num_values.dtype == np.int64 and int(spec.num_values) == count
    assert int(spec.maximum) == count - 1
    assert repr(spec) == f"DiscreteArray(num_values={count}, dtype={np.dtype(dtype)})"
    top = np.asarray(count - 1, dtype)
    spec.validate(top)
    assert bool(spec.contains(top))
    draws = jax.vmap(spec.sample)(jax.random.split(jax.random.key(0), 4000))
    assert bool(jnp.all(jax.vmap(spec.contains)(draws)))
    if count <= 256:  # Every value is drawn, the top one included.
        assert np.unique(np.asarray(draws)).size == count
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert spec.replace(name="n").num_values == count
    multi = specs.DiscreteArray(np.array([count, 2]), dtype)
    assert multi.num_values.tolist() == [count, 2] and multi.num_values.dtype == np.int64
    assert specs.reshape_spec(multi, prepend=(2,)).num_values.tolist() == [[count, 2]] * 2


@pytest.mark.parametrize(("dtype", "count", "largest"), [(jnp.uint8, 257, 255), (jnp.uint8, 300, 255),
                                                         (jnp.int8, 129, 127)])
def test_discrete_array__refuses_counts_its_dtype_cannot_index(dtype, count, largest):
    with pytest.raises(ValueError) as info:
        specs.DiscreteArray(count, dtype)
    assert str(info.value) == specs.ERR_NUM_VALUES_DTYPE.format(
        num=count, dtype=np.dtype(dtype), largest=largest, limit=largest + 1)
    with pytest.raises(ValueError) as info:
        specs.DiscreteArray(np.array([2, count]), dtype)
    assert str(info.value).startswith("`num_values` [  2 ")


def test_contains__never_raises_on_python_ints_that_overflow():
    spec = specs.Array((), jnp.int32)
    assert not bool(spec.contains(2**40)) and not bool(spec.contains(-(2**70)))
    with pytest.raises(ValueError) as info:
        spec.validate(2**40)
    assert str(info.value) == specs.ERR_DOES_NOT_FIT.format(spec="Array spec", value=2**40, dtype="int32")
    bounded = specs.BoundedArray((), jnp.float32, 0.0, 1.0)
    assert not bool(bounded.contains(2**2000))  # beyond every float
    with pytest.raises(ValueError) as info:
        bounded.validate(1e300)  # a Python float that overflows float32
    assert str(info.value) == specs.ERR_DOES_NOT_FIT.format(spec="BoundedArray spec", value=1e300, dtype="float32")


def test_bounded_array__nan_is_outside_for_validate_and_contains():
    spec = specs.BoundedArray((2,), jnp.float32, -jnp.inf, jnp.inf)
    value = np.array([np.nan, 0.0], np.float32)
    with pytest.raises(ValueError) as info:
        spec.validate(value)
    assert str(info.value) == specs.ERR_NAN.format(spec="BoundedArray spec", value=value)
    assert not bool(spec.contains(value))
    assert not bool(spec.contains(jnp.asarray(value)))
    assert not bool(jax.jit(spec.contains)(jnp.asarray(value)))
    with pytest.raises(Exception, match="contains NaN"):
        jax.block_until_ready(jax.jit(spec.validate)(jnp.asarray(value)))
    assert not bool(specs.BoundedArray((), jnp.float32, 0.0, 1.0).contains(float("nan")))
    specs.Array((2,), jnp.float32).validate(value)  # unbounded: NaN is a float32 like any other


@pytest.mark.parametrize("dtype", [jnp.int8, jnp.uint8, jnp.int16, jnp.uint16, jnp.int32, jnp.uint32])
def test_validate__a_python_int_is_taken_iff_it_fits_the_int_dtype(dtype):
    spec = specs.Array((), dtype)
    info = np.iinfo(dtype)
    weak_info = np.iinfo(jnp.asarray(0).dtype)  # what JAX can pass to jit as a weak int
    for value in (1, 0, int(info.min), int(info.max)):
        assert spec.validate(value) == value
        assert bool(spec.contains(value))
        if weak_info.min <= value <= weak_info.max:
            assert bool(jax.jit(spec.contains)(value))
            jax.block_until_ready(jax.jit(spec.validate)(value))  # weakly typed under jit, fits
    for value in (int(info.min) - 1, int(info.max) + 1):
        with pytest.raises(ValueError) as err:
            spec.validate(value)
        assert str(err.value) == specs.ERR_DOES_NOT_FIT.format(spec="Array spec", value=value, dtype=np.dtype(dtype))
        assert not bool(spec.contains(value))
    if info.min == 0:  # -1 under jit is a weak int32: the device check refuses it
        assert not bool(jax.jit(spec.contains)(-1))
        with pytest.raises(Exception, match="does not fit dtype"):
            jax.block_until_ready(jax.jit(spec.validate)(-1))
    weak = jnp.asarray(1)  # a concrete weakly typed array is taken like the Python int
    assert weak.weak_type and bool(spec.contains(weak)) and spec.validate(weak) is weak
    with pytest.raises(ValueError, match=re.escape(
            specs.ERR_DTYPE.format(spec="Array spec", expected=np.dtype(dtype), got=np.dtype(bool)))):
        specs.Array((), dtype).validate(True)  # a Python bool is a strong bool, as in JAX
    with pytest.raises(ValueError, match=re.escape(
            specs.ERR_DTYPE.format(spec="Array spec", expected=np.dtype(dtype), got=np.dtype(np.int64)))):
        spec.validate(np.int64(1))  # NumPy scalars keep their dtype


_PROPERTY_DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.float32, np.float16]


@st.composite
def _property_specs(draw):
    shape = draw(st.sampled_from([(), (2,)]))
    dtype = np.dtype(draw(st.sampled_from(_PROPERTY_DTYPES)))
    kind = draw(st.sampled_from(["array", "bounded", "discrete"]))
    if kind == "discrete" and dtype.kind in "iu":
        count = draw(st.integers(1, int(min(np.iinfo(dtype).max, 2**20)) + 1))
        return specs.DiscreteArray(np.full(shape, count) if shape else count, dtype)
    if kind == "bounded" and dtype.kind in "iuf":
        info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
        a, b = sorted(draw(st.lists(st.integers(max(int(info.min), -1000), min(int(info.max), 1000)),
                                    min_size=2, max_size=2)))
        return specs.BoundedArray(shape, dtype, a, b)
    return specs.Array(shape, dtype)


_NUMPY_DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.float16, np.float32, np.float64]
_PYTHON_INTS = st.one_of(st.integers(-300, 300), st.integers(-(2**70), 2**70),
                         st.sampled_from([2**31 - 1, 2**31, 2**32, -(2**31), -(2**31) - 1, 2**63, 2**2000]))
_PYTHON_FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                           st.sampled_from([1e300, 7e4, 3.5e38, -0.0, 0.5]))


def _numpy_values():
    return st.sampled_from(_NUMPY_DTYPES).flatmap(
        lambda d: hnp.arrays(np.dtype(d), st.sampled_from([(), (2,), (3,)])))


_VALUES = st.one_of(
    _PYTHON_INTS,
    _PYTHON_FLOATS,
    st.booleans(),
    _numpy_values(),
    _numpy_values().map(lambda a: a[()] if a.ndim == 0 else a),  # NumPy scalars too
    _numpy_values().filter(lambda a: a.dtype in (np.bool_, np.int8, np.uint8, np.int32, np.float32))
    .map(jnp.asarray),
    st.integers(-(2**31), 2**31 - 1).map(jnp.asarray),  # weakly typed
    st.floats(allow_nan=True, allow_infinity=True, width=32).map(jnp.asarray),  # weakly typed
    st.lists(st.one_of(st.integers(-5, 5), st.floats(allow_nan=True)), max_size=3),
    st.sampled_from([None, "a", [[1], [1, 2]], object(), {"a": 1}, 2**70 + 0j]),
)


@settings(max_examples=400, deadline=None)
@given(spec=_property_specs(), value=_VALUES)
def test_contains__never_raises_and_agrees_with_validate(spec, value):
    inside = spec.contains(value)
    assert inside.shape == () and inside.dtype == np.bool_
    try:
        spec.validate(value)
        valid = True
    except ValueError:
        valid = False
    assert bool(inside) == valid, (spec, value)


@pytest.mark.parametrize("shape", [(-1, 2), (2.0,), (2.5, 3), (True,), "ab", 3, (None,)])
@pytest.mark.parametrize("make", [
    lambda shape: specs.Array(shape, jnp.float32, name="obs"),
    lambda shape: specs.BoundedArray(shape, jnp.float32, 0.0, 1.0, name="obs"),
], ids=["Array", "BoundedArray"])
def test_constructors__refuse_a_shape_that_is_not_non_negative_ints(make, shape):
    kind = "Array" if make(()).__class__ is specs.Array else "BoundedArray"
    with pytest.raises(ValueError) as info:
        make(shape)
    assert str(info.value) == specs.ERR_BAD_SHAPE.format(spec=f"{kind} spec 'obs'", shape=shape)


def test_constructors__take_numpy_ints_and_zero_dims():
    assert specs.Array(np.array([2, 0]), jnp.float32).shape == (2, 0)
    assert specs.Array((np.int64(3),), jnp.int32).shape == (3,)


@pytest.mark.parametrize("which", ["minimum", "maximum"])
def test_constructors__refuse_nan_bounds(which):
    bounds = {"minimum": -1.0, "maximum": 1.0, which: np.array([0.0, np.nan], np.float32)}
    with pytest.raises(ValueError) as info:
        specs.BoundedArray((2,), jnp.float32, name="push", **bounds)
    assert str(info.value) == specs.ERR_BOUNDS_NAN.format(
        spec="BoundedArray spec 'push'", which=which, value=bounds[which])


def test_constructors__refuse_bounds_that_do_not_broadcast():
    with pytest.raises(ValueError) as info:
        specs.BoundedArray((2, 3), jnp.float32, 0.0, np.ones((2,)), name="grid")
    assert str(info.value) == specs.ERR_BOUNDS_SHAPE.format(
        spec="BoundedArray spec 'grid'", which="maximum", got=(2,), shape=(2, 3))
    assert specs.BoundedArray((2, 3), jnp.float32, 0.0, np.ones((3,))).shape == (2, 3)


def test_specs__all_lists_the_public_names_sorted():
    assert specs.__all__ == sorted(specs.__all__)
    public = {name for name, value in vars(specs).items()
              if not name.startswith(("_", "ERR_")) and not isinstance(value, typing.TypeVar)
              and getattr(value, "__module__", None) == "jit_env.specs"}
    # `PrimitiveSpec` (0.1.5's alias of `Array`) still imports but is deprecated: not listed.
    assert set(specs.__all__) == public - {"PrimitiveSpec"}
    for name in specs.__all__:
        assert hasattr(specs, name)
