"""The Gymnasium bridges accept exactly what the action space's `contains` accepts.

`SpaceCheck` is compared with the real spaces' `contains` over a catalogue of specs
(single and batched as the vector bridge batches them) and hypothesis-drawn values:
every accepted action is contained and converted without loss; every contained action
is accepted unless `contains` itself would cast it lossily. The bridges refuse NaN and
infinities for every float spec, and take lists, arrays and OrderedDicts where
`contains` does.
"""

from __future__ import annotations

import collections
import re
import warnings

import _envs
import hypothesis
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.vector import utils as vector_utils
from hypothesis import strategies as st

import jit_env
from jit_env import compat, specs, wrappers
from jit_env.compat import _checks, _gymnasium

SPECS = {
    "discrete": specs.DiscreteArray(3),
    "discrete_uint8": specs.DiscreteArray(4, jnp.uint8),
    "multi_discrete": specs.DiscreteArray(np.array([2, 3], np.int32)),
    "box": specs.BoundedArray((2,), jnp.float32, -1.0, 1.0),
    "unbounded": specs.Array((2,), jnp.float32),
    "int_box": specs.BoundedArray((), jnp.int32, -2, 5),
    "bool": specs.Array((), jnp.bool_),
    "tuple": specs.Tuple(specs.DiscreteArray(2), specs.BoundedArray((), jnp.float32, 0.0, 1.0)),
    "dict": specs.Dict(b=specs.DiscreteArray(3), a=specs.Array((1,), jnp.float32)),
    "nested": specs.Dict(x=specs.Tuple(specs.DiscreteArray(2), specs.DiscreteArray(3))),
}
CASES = [(name, batch) for name in SPECS for batch in (None, 2)]

DTYPES = [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.uint64, np.float16, np.float32, np.float64]
NUMBERS = st.one_of(
    st.integers(-3, 6), st.booleans(), st.sampled_from([0.0, 0.5, 1.0, -1.0, 2.0, 1e40]),
    st.sampled_from([float("nan"), float("inf"), -float("inf")]), st.just(2**70),
)


@st.composite
def _arrays(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.sampled_from([(), (1,), (2,), (3,), (2, 2)]))
    values = draw(st.lists(NUMBERS, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            array = np.array(values, dtype=object).astype(dtype).reshape(shape)
        except (OverflowError, ValueError, TypeError):
            array = np.zeros(shape, dtype)
    return array[()] if draw(st.booleans()) and shape == () else array


LEAVES = st.one_of(NUMBERS, _arrays(), st.lists(NUMBERS, min_size=1, max_size=3))


def _values(depth=2):
    if depth == 0:
        return LEAVES
    inner = _values(depth - 1)
    return st.one_of(
        LEAVES,
        st.lists(inner, min_size=1, max_size=3),
        st.lists(inner, min_size=1, max_size=3).map(tuple),
        st.dictionaries(st.sampled_from(["a", "b", "x"]), inner, min_size=1, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "x"]), inner, min_size=1, max_size=3).map(
            lambda d: collections.OrderedDict(sorted(d.items(), reverse=True))),
    )


def _space(name, batch):
    space = _gymnasium.spec_to_space(SPECS[name])
    return space if batch is None else vector_utils.batch_space(space, batch)


def _contains(space, value):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            return bool(space.contains(value))
        except Exception:  # `contains` raises on some inputs (e.g. 2**70 for an int32 Box).
            return False


def _space_leaves(space, value):
    """The leaves of `value` as `contains` reads them, in the spec's (sorted-key) order."""
    if isinstance(space, spaces.Tuple):
        return [leaf for s, v in zip(space.spaces, tuple(value), strict=True) for leaf in _space_leaves(s, v)]
    if isinstance(space, spaces.Dict):
        return [leaf for k in sorted(space.spaces) for leaf in _space_leaves(space.spaces[k], value[k])]
    return [value]


def _lossy(space, value):
    """Whether `contains` reads some leaf of `value` by a lossy `np.asarray(x, dtype=box.dtype)`."""
    for leaf_space, leaf in zip(_space_leaf_spaces(space), _space_leaves(space, value), strict=True):
        if not isinstance(leaf_space, spaces.Box) or isinstance(leaf, np.ndarray):
            continue
        natural = np.asarray(leaf)
        if natural.dtype.kind not in "biuf":
            return True
        with np.errstate(all="ignore"):
            cast = natural.astype(leaf_space.dtype)
        if leaf_space.dtype.kind in "biu" and not np.array_equal(natural, cast):
            return True
    return False


def _space_leaf_spaces(space):
    if isinstance(space, spaces.Tuple):
        return [leaf for s in space.spaces for leaf in _space_leaf_spaces(s)]
    if isinstance(space, spaces.Dict):
        return [leaf for k in sorted(space.spaces) for leaf in _space_leaf_spaces(space.spaces[k])]
    return [space]


@pytest.mark.parametrize(("name", "batch"), CASES)
@hypothesis.settings(max_examples=150, deadline=None, derandomize=True)
@hypothesis.given(value=_values())
def test_space_check__accepts_exactly_what_contains_accepts_without_loss(name, batch, value):
    spec = SPECS[name]
    space = _space(name, batch)
    check = _gymnasium.SpaceCheck(spec, space)
    contained = _contains(space, value)
    try:
        converted = check(value)
    except ValueError as e:
        assert str(e).startswith("Action for the action spec"), str(e)
        if contained:  # Only what `contains` itself would cast lossily may be refused.
            assert _lossy(space, value), (value, str(e))
        return
    assert contained, value
    leaf_specs = jax.tree_util.tree_leaves(specs.unpack_spec(spec), is_leaf=specs.is_spec)
    got = jax.tree_util.tree_leaves(converted)
    originals = _space_leaves(space, value)
    for leaf_spec, leaf, original in zip(leaf_specs, got, originals, strict=True):
        assert isinstance(leaf, np.ndarray) and leaf.dtype == leaf_spec.dtype
        original = np.asarray(original)
        if leaf.dtype.kind == "f":
            np.testing.assert_allclose(leaf, original.astype(np.float64), rtol=1e-3)
        else:
            np.testing.assert_array_equal(leaf, original)


@pytest.mark.parametrize(("name", "batch"), CASES)
def test_space_check__takes_every_sample_of_the_space(name, batch):
    space = _space(name, batch)
    space.seed(0)
    check = _gymnasium.SpaceCheck(SPECS[name], space)
    for _ in range(20):
        sample = space.sample()
        assert _contains(space, sample)
        check(sample)


def _pendulum_clipped():
    return wrappers.ClipAction(jit_env.make("Pendulum-v1"))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_to_gymnasium__non_finite_action_refused_for_an_unbounded_spec(bad):
    env = compat.ToGymnasium(_pendulum_clipped())
    env.reset(seed=0)
    action = np.array([bad], np.float32)
    assert not env.action_space.contains(action)
    with pytest.raises(ValueError) as info:
        env.step(action)
    assert str(info.value) == _checks.ERR_ACTION_NOT_FINITE.format(
        spec=repr(env.env.action_spec()), value=action)
    env.step(np.array([1e6], np.float32))  # Finite: ClipAction clips it, as documented.


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_to_gymnasium_vector__non_finite_action_refused_for_an_unbounded_spec(bad):
    env = compat.ToGymnasiumVector(_pendulum_clipped(), 3)
    env.reset(seed=0)
    action = np.array([[0.0], [bad], [0.5]], np.float32)
    with pytest.raises(ValueError) as info:
        env.step(action)
    assert str(info.value) == _checks.ERR_ACTION_NOT_FINITE.format(
        spec=repr(env.env.action_spec()), value=action)


def test_to_deepmind_env__non_finite_action_refused():
    env = compat.ToDeepmindEnv(_pendulum_clipped())
    env.reset()
    action = np.array([np.nan], np.float32)
    with pytest.raises(ValueError) as info:
        env.step(action)
    assert str(info.value) == _checks.ERR_ACTION_NOT_FINITE.format(spec=repr(env.env.action_spec()), value=action)


def test_to_gymnasium__containers_as_contains_takes_them():
    env = compat.ToGymnasium(_envs.DictEnv())
    env.reset(seed=0)
    push = np.zeros(3, np.float32)
    for action in ([1, push], (np.int64(1), push), [True, push.tolist()]):
        assert _contains(env.action_space, action)
        env.reset(seed=0)
        env.step(action)
    refused = np.True_
    assert not env.action_space.contains((refused, push))
    with pytest.raises(ValueError) as info:
        env.step((refused, push))
    assert str(info.value) == _checks.ERR_ACTION_TYPE.format(
        spec=repr(_envs.DictEnv().action_spec()), expected="a Python int or a NumPy integer of shape ()",
        space=env.action_space.spaces[0], got=refused)


class DictActionEnv(jit_env.Environment):
    """PointMass driven by a dict action {"dx": float32 (1,), "dy": float32 (1,)}."""

    def __init__(self):
        super().__init__()
        self._env = _envs.PointMass()

    def reset(self, key, *, options=None):
        return self._env.reset(key, options=options)

    def step(self, state, action):
        return self._env.step(state, jnp.concatenate([action["dx"], action["dy"]]))

    def observation_spec(self):
        return self._env.observation_spec()

    def action_spec(self):
        return specs.Dict(dx=specs.BoundedArray((1,), jnp.float32, -1.0, 1.0),
                          dy=specs.BoundedArray((1,), jnp.float32, -1.0, 1.0))

    def reward_spec(self):
        return self._env.reward_spec()

    def discount_spec(self):
        return self._env.discount_spec()


@pytest.mark.parametrize("vector", [False, True])
def test_gymnasium_bridges__ordered_dict_for_a_dict_space_is_taken_without_loss(vector):
    env = compat.ToGymnasiumVector(DictActionEnv(), 2) if vector else compat.ToGymnasium(DictActionEnv())
    env.reset(seed=0)
    shape = (2, 1) if vector else (1,)
    plain = {"dx": np.full(shape, 0.25, np.float32), "dy": np.full(shape, -0.5, np.float32)}
    ordered = collections.OrderedDict([("dy", plain["dy"]), ("dx", plain["dx"])])
    assert env.action_space.contains(ordered)
    first = env.step(plain)[0]
    env.reset(seed=0)
    second = env.step(ordered)[0]
    np.testing.assert_array_equal(first, second)
    with pytest.raises(ValueError, match=re.escape("must be a dict with the keys ['dx', 'dy']")):
        env.step({"dx": plain["dx"]})


def test_to_gymnasium__a_float_for_an_integer_box_is_refused_not_truncated():
    spec = specs.BoundedArray((), jnp.int32, -2, 5)
    check = _gymnasium.SpaceCheck(spec, _gymnasium.spec_to_space(spec))
    assert _contains(_gymnasium.spec_to_space(spec), 0.7)  # Gymnasium's contains casts it to 0.
    with pytest.raises(ValueError) as info:
        check(0.7)
    assert str(info.value) == _checks.ERR_ACTION_LOSSY.format(
        spec=repr(spec), value=np.asarray(0.7), dtype=np.dtype(np.int32), converted=np.asarray(0, np.int32))
    assert check(3.0) == 3
