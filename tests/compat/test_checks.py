"""The bridges' NumPy-side helpers: output packing and raw-key state."""

import doctest

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jit_env.compat import _checks


def test_checks__doctests_pass():
    result = doctest.testmod(_checks)
    assert result.attempted >= 3
    assert result.failed == 0


@pytest.mark.parametrize("size", [3, 20_000])  # One byte buffer, then one buffer per dtype.
def test_output_packer__round_trips_every_dtype_and_shape(size):
    packer = _checks.OutputPacker()

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
    packer = _checks.OutputPacker()
    out = jax.jit(lambda k: packer.pack((k, jnp.ones(2))))(jax.random.key(3))
    key, ones = packer.unpack(out)
    assert jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    np.testing.assert_array_equal(ones, np.ones(2, np.float32))


def test_raw_keys__round_trip_restores_typed_keys_of_each_impl():
    codec = _checks.RawKeys()
    tree = {"k": jax.random.split(jax.random.key(0), 4), "r": jax.random.key(1, impl="rbg"), "x": jnp.ones(4)}
    raw = jax.jit(codec.encode)(tree)
    assert raw["k"].dtype == np.uint32 and raw["k"].shape == (4, 2)
    assert raw["r"].dtype == np.uint32
    back = jax.jit(codec.decode)(raw)
    for name in ("k", "r"):
        assert back[name].dtype == tree[name].dtype
        np.testing.assert_array_equal(jax.random.key_data(back[name]), jax.random.key_data(tree[name]))
    np.testing.assert_array_equal(back["x"], tree["x"])


def test_raw_keys__rejects_a_tree_with_keys_elsewhere():
    codec = _checks.RawKeys()
    codec.encode({"k": jax.random.key(0), "x": jnp.ones(())})
    with pytest.raises(ValueError, match="keys are not where"):
        codec.encode({"k": jnp.ones(()), "x": jax.random.key(0)})
