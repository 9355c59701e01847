"""spec <-> Gymnasium space <-> dm_env spec round trips over a catalogue and drawn specs; lazy imports."""

import subprocess
import sys

import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jit_env import compat, specs
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
    _check_space_round_trip(spec)


def _check_space_round_trip(spec):
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
    _check_dm_round_trip(spec)


def _check_dm_round_trip(spec):
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


@pytest.mark.parametrize(("library", "name", "extra"), [
    ("gymnasium", "ToGymnasiumVector", "gymnasium"),
    ("dm_env", "ToDeepmindEnv", "dm-env"),
    ("gymnax", "FromGymnax", "gymnax"),
])
def test_compat__missing_dependency_import_error_message(library, name, extra):
    # `None` in sys.modules makes `import <library>` fail as if it were not installed.
    code = (f"import sys; sys.modules[{library!r}] = None\n"
            "from jit_env import compat\n"
            f"try:\n    getattr(compat, {name!r})\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    expected = compat.ERR_MISSING.format(feature=f"jit_env.compat.{name}", module=library, extra=extra)
    assert out.stdout.strip() == expected


_DTYPES = [np.float32, np.int32, np.uint8, np.int8]


@hypothesis.strategies.composite
def _leaf_specs(draw):
    shape = tuple(draw(hypothesis.strategies.lists(
        hypothesis.strategies.integers(1, 3), min_size=0, max_size=2)))
    kind = draw(hypothesis.strategies.sampled_from(["array", "bounded", "discrete"]))
    if kind == "discrete":
        num = draw(hypothesis.strategies.integers(2, 5))
        return specs.DiscreteArray(np.full(shape, num) if shape else num)
    dtype = np.dtype(draw(hypothesis.strategies.sampled_from(_DTYPES)))
    if kind == "array":
        return specs.Array(shape, dtype)
    low = draw(hypothesis.strategies.integers(-3 if dtype.kind != "u" else 0, 2))
    high = low + draw(hypothesis.strategies.integers(1, 4))
    return specs.BoundedArray(shape, dtype, low, high)


_NESTED_SPECS = hypothesis.strategies.recursive(
    _leaf_specs(),
    lambda children: hypothesis.strategies.one_of(
        hypothesis.strategies.lists(children, min_size=1, max_size=3).map(lambda v: specs.Tuple(*v)),
        hypothesis.strategies.dictionaries(
            hypothesis.strategies.sampled_from(["a", "b", "c"]), children, min_size=1, max_size=3,
        ).map(specs.Dict),
    ),
    max_leaves=4,
)


@hypothesis.settings(max_examples=40, deadline=None)
@hypothesis.given(_NESTED_SPECS)
def test_spec_conversions__round_trip_drawn_specs(spec):
    _check_space_round_trip(spec)
    _check_dm_round_trip(spec)
