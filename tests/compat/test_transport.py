"""How the bridges cross the jit boundary: output packing, raw-key states, named outputs."""

import copy
import doctest
import pickle
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jit_env.compat import _transport


def test_transport__doctests_pass():
    result = doctest.testmod(_transport)
    assert result.attempted >= 3
    assert result.failed == 0


@pytest.mark.parametrize("size", [3, 20_000])  # One byte buffer, then one buffer per dtype.
def test_output_packer__round_trips_every_dtype_and_shape(size):
    def outputs(x):
        return {
            "f32": x,
            "bool": x > 1,
            "i8": (x % 100).astype(jnp.int8),
            "u16": x.astype(jnp.uint16)[:, None] * jnp.ones((1, 2), jnp.uint16),
            "scalar": jnp.sum(x, dtype=jnp.int32),
            "empty": jnp.zeros((0, 3), jnp.float32),
        }

    x = jnp.arange(size, dtype=jnp.float32)
    packer = _transport.OutputPacker(jax.eval_shape(outputs, x))
    packed = jax.jit(lambda x: packer.pack(outputs(x)))(x)
    expected = jax.device_get(outputs(x))
    assert len(packed) == (1 if size == 3 else 5)
    got = packer.unpack(packed)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)
    for name, value in expected.items():
        assert got[name].dtype == value.dtype, name
        assert got[name].shape == value.shape, name
        np.testing.assert_array_equal(got[name], value)


def test_output_packer__returns_trees_with_keys_unpacked():
    packer = _transport.OutputPacker.of(lambda k: (k, jnp.ones(2)), jax.random.key(3))
    out = jax.jit(lambda k: packer.pack((k, jnp.ones(2))))(jax.random.key(3))
    key, ones = packer.unpack(out)
    assert jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(ones, np.ones(2, np.float32))


def test_raw_keys__round_trip_restores_typed_keys_of_each_impl():
    tree = {"k": jax.random.split(jax.random.key(0), 4), "r": jax.random.key(1, impl="rbg"), "x": jnp.ones(4)}
    codec = _transport.RawKeys(jax.eval_shape(lambda: tree))
    raw = jax.jit(codec.encode)(tree)
    assert raw["k"].dtype == np.uint32 and raw["k"].shape == (4, 2)
    assert raw["r"].dtype == np.uint32
    back = jax.jit(codec.decode)(raw)
    for name in ("k", "r"):
        assert back[name].dtype == tree[name].dtype
        np.testing.assert_array_equal(jax.random.key_data(back[name]), jax.random.key_data(tree[name]))
    np.testing.assert_array_equal(back["x"], tree["x"])


def test_raw_keys__rejects_a_tree_with_keys_elsewhere():
    codec = _transport.RawKeys({"k": jax.random.key(0), "x": jnp.ones(())})
    other = {"k": jnp.ones(()), "x": jax.random.key(0)}
    with pytest.raises(ValueError) as error:
        codec.encode(other)
    assert str(error.value) == _transport.ERR_STATE_LAYOUT.format(
        expected=codec.layout, got=_transport.StateLayout.of(other))
    with pytest.raises(ValueError) as error:
        jax.jit(codec.decode)(other)
    assert str(error.value) == _transport.ERR_STATE_LAYOUT.format(
        expected=codec.layout, got=_transport.StateLayout.of(jax.eval_shape(lambda: other)))


def test_output_packer__layout_is_fixed_when_built_and_never_meets_another():
    """The bug: one packer whose layout was set while tracing, used for shapes (3,), (5,), (3,).

    The third call hit the cached trace of the first but unpacked with the layout of the
    second (a reshape error, or garbage when the sizes agree).
    """
    three, five = jnp.arange(3, dtype=jnp.float32), jnp.arange(5, dtype=jnp.float32)
    packer = _transport.OutputPacker(jax.eval_shape(lambda x: x * 2, three))
    fn = jax.jit(lambda x: packer.pack(x * 2))
    np.testing.assert_array_equal(packer.unpack(fn(three)), [0.0, 2.0, 4.0])
    with pytest.raises(ValueError) as error:
        fn(five)
    assert str(error.value) == _transport.ERR_PACK_LAYOUT.format(
        expected=packer.layout.signature, got=_transport.PackLayout.of(jax.eval_shape(lambda: five)).signature)
    np.testing.assert_array_equal(packer.unpack(fn(three)), [0.0, 2.0, 4.0])


def test_output_packer__one_packer_per_function_gives_each_shape_its_layout():
    outputs = []
    for size in (3, 5, 3):
        x = jnp.arange(size, dtype=jnp.float32)
        packer = _transport.OutputPacker.of(lambda x: (x * 2, x > 1), x)
        fn = jax.jit(lambda x, packer=packer: packer.pack((x * 2, x > 1)))
        outputs.append(packer.unpack(fn(x)))
    for (doubled, above), size in zip(outputs, (3, 5, 3), strict=True):
        np.testing.assert_array_equal(doubled, np.arange(size, dtype=np.float32) * 2)
        np.testing.assert_array_equal(above, np.arange(size) > 1)


def test_output_packer__and_raw_keys_are_immutable():
    packer = _transport.OutputPacker.of(lambda: jnp.ones(3))
    codec = _transport.RawKeys({"k": jax.random.key(0)})
    with pytest.raises(AttributeError, match=re.escape("OutputPacker is immutable; cannot set 'layout'.")):
        packer.layout = _transport.PackLayout.of(jnp.ones(5))  # type: ignore[misc]
    with pytest.raises(AttributeError, match=re.escape("RawKeys is immutable; cannot set 'layout'.")):
        codec.layout = None  # type: ignore[misc]
    assert packer.layout == _transport.PackLayout.of(jax.eval_shape(lambda: jnp.ones(3)))
    assert hash(packer.layout) == hash(_transport.PackLayout.of(jnp.ones(3)))


def test_output_packer__and_raw_keys_survive_deepcopy_and_pickle():
    """The bug: `copy.deepcopy` of any bridge raised "RawKeys is immutable"."""
    state = {"k": jax.random.key(0), "x": jnp.ones(3)}
    codec = _transport.RawKeys(jax.eval_shape(lambda: state))
    packer = _transport.OutputPacker.of(lambda: (jnp.ones(3), jnp.zeros((), jnp.int32)))
    assert copy.deepcopy(codec) is codec and copy.copy(packer) is packer
    codec_back, packer_back = pickle.loads(pickle.dumps((codec, packer)))
    assert codec_back.layout == codec.layout and packer_back.layout == packer.layout
    raw = jax.jit(codec_back.encode)(state)
    np.testing.assert_array_equal(raw["k"], jax.random.key_data(state["k"]))
    assert codec.decode(raw)["k"].dtype == state["k"].dtype
    packed = jax.jit(lambda: packer_back.pack((jnp.ones(3), jnp.zeros((), jnp.int32))))()
    ones, zero = packer.unpack(packed)
    np.testing.assert_array_equal(ones, np.ones(3, np.float32))
    assert zero.dtype == np.int32


def test_vector_step_output__packs_with_its_names_and_without_the_same_step_fields():
    def outputs(x):
        return _transport.VectorStepOutput(x, x * 2, x > 1, x < 0, {"n": x.astype(jnp.int32)})

    x = jnp.arange(3, dtype=jnp.float32)
    packer = _transport.OutputPacker.of(outputs, x)
    out = packer.unpack(jax.jit(lambda x: packer.pack(outputs(x)))(x))
    assert isinstance(out, _transport.VectorStepOutput)
    assert out.final_observation is None and out.final_info is None
    np.testing.assert_array_equal(out.reward, [0.0, 2.0, 4.0])
    np.testing.assert_array_equal(out.terminated, [False, False, True])
    assert out.info["n"].dtype == np.int32
