"""spec <-> Gymnasium space <-> dm_env spec round trips over a catalogue of nested specs."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jit_env import specs
from jit_env.compat import _dm_env, _gymnasium

CATALOGUE = [
    specs.Array((2, 3), jnp.float32),
    specs.Array((), jnp.int32),
    specs.BoundedArray((3,), jnp.float32, -1.0, np.array([1.0, 2.0, 3.0])),
    specs.BoundedArray((2,), jnp.int32, 0, 5),
    specs.DiscreteArray(4),
    specs.DiscreteArray(np.array([2, 3, 4])),
    specs.Tuple(specs.DiscreteArray(2), specs.Array((2,), jnp.float32)),
    specs.Dict(pos=specs.BoundedArray((2,), jnp.float32, -1.0, 1.0),
               inner=specs.Dict(a=specs.DiscreteArray(3), b=specs.Tuple(specs.Array((), jnp.float32)))),
]


def _normal(spec):
    """Leaf specs with full-shape bounds (the form conversions produce)."""
    return jax.tree_util.tree_map(lambda s: specs.reshape_spec(s), specs.unpack_spec(spec),
                                  is_leaf=lambda s: isinstance(s, specs.Spec))


@pytest.mark.parametrize("spec", CATALOGUE, ids=repr)
def test_spec_to_space__round_trip(spec):
    space = _gymnasium.spec_to_space(spec)
    assert _normal(_gymnasium.space_to_spec(space)) == _normal(spec)
    assert _gymnasium.spec_to_space(_gymnasium.space_to_spec(space)) == space
    assert space.contains(_gymnasium.SpaceLayout(spec, space).to_space(jax.device_get(spec.generate_value())))


def _as_bounded(s):
    """dm_env has no multi-dimensional DiscreteArray: it becomes the equal BoundedArray."""
    if isinstance(s, specs.DiscreteArray) and s.shape:
        return specs.BoundedArray(s.shape, s.dtype, np.zeros(s.shape, s.dtype), s.maximum)
    return s


@pytest.mark.parametrize("spec", CATALOGUE, ids=repr)
def test_spec_to_dm_spec__round_trip(spec):
    dm = _dm_env.spec_to_dm_spec(spec)
    is_spec = lambda s: isinstance(s, specs.Spec)  # noqa: E731
    back = jax.tree_util.tree_map(_as_bounded, _normal(_dm_env.dm_spec_to_spec(dm)), is_leaf=is_spec)
    assert back == jax.tree_util.tree_map(_as_bounded, _normal(spec), is_leaf=is_spec)
    value = jax.device_get(spec.generate_value())
    jax.tree_util.tree_map(lambda s, v: s.validate(v), dm, value,
                           is_leaf=lambda s: hasattr(s, "validate"))


def test_import_jit_env__loads_no_optional_dependency():
    code = ("import sys, jit_env, jit_env.compat; "
            "print(sorted(m for m in ('dm_env', 'gymnasium', 'gymnax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
