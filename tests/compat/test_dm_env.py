"""The dm_env bridge against dm_env's own conformance mixin, plus its edges."""

import dataclasses

import counting_env
import dm_env
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import absltest
from dm_env import specs as dm_specs
from dm_env import test_utils

import jit_env
from jit_env import compat, specs
from jit_env.compat import _checks, _dm_env


def _env(target=3, limit=None):
    env = counting_env.CountingEnv(target=target)
    return env if limit is None else jit_env.wrappers.TimeLimit(env, max_episode_steps=limit)


class CountingConformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
    def make_object_under_test(self):
        return compat.ToDeepmindEnv(_env(target=3, limit=5))

    def make_action_sequence(self):
        # Ones reach the terminal count; zeros reach the time limit (a truncation).
        for _ in range(3):
            yield from [np.int32(1)] * 4 + [np.int32(0)] * 6


class CartPoleConformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
    def make_object_under_test(self):
        return compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), seed=1)

    def make_action_sequence(self):
        for _ in range(300):
            yield np.int32(1)  # Pushing one way ends episodes quickly.


def test_to_deepmind_env__episode_semantics():
    env = compat.ToDeepmindEnv(_env(target=2, limit=3))
    assert env.step(np.int32(1)).first()  # A fresh bridge starts an episode.
    ts = env.step(np.int32(1))
    assert ts.mid() and ts.reward == 1.0
    ts = env.step(np.int32(1))
    assert ts.last() and ts.discount == 0.0  # Termination.
    first = env.step(np.int32(1))
    assert first.first() and first.reward is None and first.discount is None
    for _ in range(3):
        ts = env.step(np.int32(0))
    assert ts.last() and ts.discount == 1.0  # Truncation.
    assert isinstance(ts.observation, np.ndarray) and ts.observation.dtype == np.int32
    assert env.extras == {}


def test_to_deepmind_env__specs_converted():
    env = compat.ToDeepmindEnv(_env())
    assert env.action_spec() == dm_specs.DiscreteArray(2, np.int32, name="increment")
    assert env.observation_spec() == dm_specs.Array((), np.int32, name="count")
    assert env.discount_spec() == dm_specs.BoundedArray((), np.float32, 0.0, 1.0, name="discount")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.float32(1), _checks.ERR_ACTION_DTYPE.format(
            spec=repr(specs.DiscreteArray(2, name="increment")), expected=np.dtype(np.int32),
            got=np.dtype(np.float32))),
        (np.int64(2**40), _checks.ERR_ACTION_RANGE.format(
            spec=repr(specs.DiscreteArray(2, name="increment")), minimum="0", maximum="1",
            value=np.int64(2**40))),
        (np.zeros(2, np.int32), _checks.ERR_ACTION_SHAPE.format(
            spec=repr(specs.DiscreteArray(2, name="increment")), expected=(), got=(2,))),
        (np.int32(2), _checks.ERR_ACTION_RANGE.format(
            spec=repr(specs.DiscreteArray(2, name="increment")), minimum="0", maximum="1",
            value=np.int32(2))),
    ],
)
def test_to_deepmind_env__bad_action_is_value_error(action, message):
    env = compat.ToDeepmindEnv(_env())
    env.reset()
    calls = []
    env._jitted = dataclasses.replace(env._jitted, step=lambda *a: calls.append(a))  # Must not be reached.
    with pytest.raises(ValueError) as info:
        env.step(action)
    assert str(info.value) == message
    assert calls == []


def test_to_deepmind_env__closed_is_runtime_error():
    env = compat.ToDeepmindEnv(_env())
    env.reset()
    env.close()
    with pytest.raises(RuntimeError) as info:
        env.step(np.int32(1))
    assert str(info.value) == _checks.ERR_CLOSED.format(bridge="ToDeepmindEnv", call="step")


def test_to_deepmind_env__same_seed_same_episode():
    a = compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), seed=3)
    b = compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), seed=3)
    np.testing.assert_array_equal(a.reset().observation, b.reset().observation)
    assert not np.array_equal(a.reset().observation, compat.ToDeepmindEnv(
        jit_env.make("CartPole-v1"), seed=4).reset().observation)


def test_to_deepmind_env__no_retrace_over_1000_steps():
    counter = jit_env.testing.TraceCounter()
    inner = counting_env.CountingEnv(target=7)

    class Counted(jit_env.Wrapper):
        def step(self, state, action):
            return counter.wrap(inner.step)(state, action)

    env = compat.ToDeepmindEnv(Counted(inner))
    rng = np.random.default_rng(0)
    for _ in range(1000):
        env.step(np.int32(rng.integers(2)))
    assert counter.count == 1


def test_make_deepmind_wrapper__returns_class_and_converter():
    cls, convert = compat.make_deepmind_wrapper()
    assert cls is compat.ToDeepmindEnv and issubclass(cls, dm_env.Environment)
    assert convert(specs.Array((2,), jnp.float32)) == dm_specs.Array((2,), np.float32)


def test_spec_to_dm_spec__multi_discrete_is_bounded():
    got = _dm_env.spec_to_dm_spec(specs.DiscreteArray(np.array([2, 3])))
    assert got == dm_specs.BoundedArray((2,), np.int32, 0, np.array([1, 2]))


def test_dm_spec_to_spec__unknown_leaf_raises():
    with pytest.raises(NotImplementedError) as info:
        _dm_env.dm_spec_to_spec([1])
    assert str(info.value) == _dm_env.ERR_UNKNOWN_DM_SPEC.format([1])


def test_to_deepmind_env__key_seed_from_0_1_5():
    env = compat.ToDeepmindEnv(_env(), jax.random.key(0))
    assert env.reset().first()


def test_to_deepmind_env__scalar_reward_and_discount_are_numpy_scalars():
    # Shimmy hands the reward on as is; Gymnasium's checker warns about a 0-d array.
    env = compat.ToDeepmindEnv(_env(target=2, limit=3))
    env.reset()
    ts = env.step(np.int32(1))
    assert type(ts.reward) is np.float32 and type(ts.discount) is np.float32
    env.reward_spec().validate(ts.reward)
    env.discount_spec().validate(ts.discount)


def test_to_deepmind_env__rng_attribute_seeds_as_bsuite_envs_do():
    # Shimmy's BSuiteCompatibilityV0.reset(seed=s) assigns RandomState(s) to `_rng`.
    env = compat.ToDeepmindEnv(jit_env.make("CartPole-v1"))
    assert env._rng is None
    starts = []
    for seed in (3, 3, 4):
        env._rng = np.random.RandomState(seed)
        starts.append(env.reset().observation)
    np.testing.assert_array_equal(starts[0], starts[1])
    assert not np.array_equal(starts[0], starts[2])
    assert isinstance(env._rng, np.random.RandomState)


def test_to_deepmind_env__takes_0_1_5s_rng_keyword():
    # jit_env 0.1.5 called the key argument `rng`; before, `rng=` was a TypeError.
    env = jit_env.make("CartPole-v1")
    by_rng = compat.ToDeepmindEnv(env, rng=jax.random.key(3)).reset()
    by_seed = compat.ToDeepmindEnv(env, jax.random.key(3)).reset()
    np.testing.assert_array_equal(by_rng.observation, by_seed.observation)
    with pytest.raises(ValueError) as error:
        compat.ToDeepmindEnv(env, 1, rng=jax.random.key(3))
    assert str(error.value) == _dm_env.ERR_SEED_AND_RNG
