"""The bridges keep the contract real clients rely on: writable outputs, the actions
the spaces accept, Gymnasium's attributes, one options rule, and no stack they would
run wrongly."""

import warnings

import counting_env
import gymnasium
import jax
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import vector as vector_wrappers

import jit_env
from jit_env import compat, wrappers
from jit_env.compat import _checks

NUM = 3


def _cartpole():
    return jit_env.make("CartPole-v1")


def _writable(tree):
    return all(np.asarray(x).flags.writeable for x in jax.tree_util.tree_leaves(tree)
               if isinstance(x, np.ndarray))


def _arrays(tree):
    return [x for x in jax.tree_util.tree_leaves(tree) if isinstance(x, np.ndarray)]


def test_to_gymnasium__outputs_are_writable():
    env = compat.ToGymnasium(jit_env.make("Catch-v0"))
    obs, info = env.reset(seed=0)
    assert _arrays(obs) and _writable(obs)
    obs, _, _, _, info = env.step(np.int64(0))
    assert _writable((obs, info))
    for leaf in _arrays(obs):
        leaf[...] = 0  # What in-place observation transforms do.


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__outputs_are_writable(mode):
    env = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=mode)
    obs, info = env.reset(seed=0)
    assert _writable((obs, info))
    obs[...] = 0
    for _ in range(30):
        out = env.step(np.ones(NUM, np.int64))
        assert _writable(out)
        out[1][...] = 0  # reward
        out[0][...] = 0  # observation
        if mode == AutoresetMode.DISABLED and (out[2] | out[3]).any():
            env.reset(options={"reset_mask": out[2] | out[3]})


def test_to_deepmind_env__outputs_are_writable():
    env = compat.ToDeepmindEnv(_cartpole())
    ts = env.reset()
    ts.observation[...] = 0
    ts = env.step(np.int32(1))
    assert _writable((ts.observation, ts.reward, ts.discount))


@pytest.mark.parametrize("make_wrapper", [
    lambda env: vector_wrappers.ClipReward(env, 0.0, 0.5),
    lambda env: vector_wrappers.TransformReward(env, lambda r: 2 * r),
    lambda env: vector_wrappers.FlattenObservation(env),
    lambda env: vector_wrappers.TransformObservation(env, lambda o: np.multiply(o, 2, out=o)),
])
def test_to_gymnasium_vector__gymnasium_vector_wrappers_as_over_sync_vector_env(make_wrapper):
    ours = make_wrapper(compat.ToGymnasiumVector(_cartpole(), NUM))
    ref = make_wrapper(gymnasium.vector.SyncVectorEnv(
        [lambda: compat.ToGymnasium(_cartpole()) for _ in range(NUM)]))
    got_obs, _ = ours.reset(seed=[1, 2, 3])
    want_obs, _ = ref.reset(seed=[1, 2, 3])
    np.testing.assert_allclose(got_obs, want_obs, rtol=1e-6)
    # Until the first episode ends: later episodes draw their starts differently (the
    # bridge continues each sub-environment's key chain, SyncVectorEnv calls reset()).
    for _ in range(40):
        actions = np.ones(NUM, np.int64)
        got, want = ours.step(actions), ref.step(actions)
        for g, w in zip(got[:4], want[:4], strict=True):
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        if (got[2] | got[3]).any():
            break
    else:
        raise AssertionError("no episode ended")
    for _ in range(5):  # Steps through the auto-reset with the same structure.
        got, want = ours.step(actions), ref.step(actions)
        assert [np.shape(g) for g in got[:4]] == [np.shape(w) for w in want[:4]]


ACTIONS = [0, 1, 2, True, -1, 2**40, 1.0, np.int8(1), np.int32(1), np.int64(1), np.uint8(1),
           np.uint64(1), np.int32(5), np.float32(1), np.array(1), np.array([1]), np.array(1, np.int16),
           None]


@pytest.mark.parametrize("action", ACTIONS, ids=repr)
def test_to_gymnasium__discrete_action_accepted_iff_space_contains_it(action):
    env = compat.ToGymnasium(_cartpole())
    env.reset(seed=0)
    if env.action_space.contains(action):
        env.step(action)
    else:
        with pytest.raises(ValueError, match=r"^Action for the action spec"):
            env.step(action)


BOX_ACTIONS = [np.array([0.5], np.float32), np.array([0.5], np.float16), np.array([0.5]),
               np.array([3.0], np.float32), np.array([np.nan], np.float32), np.array([1], np.int8),
               np.array([1], np.int32), np.zeros((1, 1), np.float32), [0.5], 0.5, None, [None]]


@pytest.mark.parametrize("action", BOX_ACTIONS, ids=repr)
def test_to_gymnasium__box_action_accepted_iff_space_contains_it(action):
    env = compat.ToGymnasium(jit_env.make("Pendulum-v1"))
    env.reset(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Box.contains warns when it converts a non-array.
        contained = env.action_space.contains(action)
    if contained:
        env.step(action)
    else:
        with pytest.raises(ValueError, match=r"^Action for the action spec"):
            env.step(action)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint32, np.float32])
def test_to_gymnasium_vector__batched_action_accepted_iff_space_contains_it(dtype):
    env = compat.ToGymnasiumVector(_cartpole(), NUM)
    env.reset(seed=0)
    actions = np.ones(NUM, dtype)
    if env.action_space.contains(actions):
        env.step(actions)
    else:
        with pytest.raises(ValueError, match=r"^Action for the action spec"):
            env.step(actions)
    assert env.action_space.contains(np.ones(NUM, np.int32))  # What a JAX policy emits.


def test_to_deepmind_env__integer_actions_of_any_dtype_that_fit():
    env = compat.ToDeepmindEnv(_cartpole())
    env.reset()
    for action in (np.int64(1), np.uint8(0), np.int16(1), 1, np.array(0, np.int64)):
        env.step(action)
    with pytest.raises(ValueError) as info:
        env.step(np.int64(2))
    spec = env.env.action_spec()
    assert str(info.value) == _checks.ERR_ACTION_RANGE.format(
        spec=repr(spec), minimum="0", maximum="1", value=np.int64(2))


def test_to_gymnasium_vector__autoreset_mode_attribute():
    for mode in AutoresetMode:
        env = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=mode.value)
        assert env.autoreset_mode is mode == env.metadata["autoreset_mode"]


@pytest.mark.parametrize("name, bridge, how", [
    ("ToDeepmindEnv", compat.ToDeepmindEnv, "starts each episode with reset(), as dm_env does"),
    ("ToGymnasium", compat.ToGymnasium, "starts each episode with reset(), as Gymnasium does"),
    ("ToGymnasiumVector", lambda env: compat.ToGymnasiumVector(env, NUM),
     "batches it and resets its sub-environments itself (autoreset_mode)"),
])
@pytest.mark.parametrize("stack", [
    lambda env: wrappers.wrap(env, jit=False),
    lambda env: wrappers.AutoReset(env, mode="next_step"),
    lambda env: wrappers.Jit(wrappers.AutoReset(env)),
])
def test_bridges__refuse_an_auto_resetting_env(name, bridge, how, stack):
    env = stack(counting_env.CountingEnv(3))
    with pytest.raises(ValueError) as info:
        bridge(env)
    assert str(info.value) == _checks.ERR_AUTO_RESETS.format(bridge=name, env=env, how=how)


@pytest.mark.parametrize("bridge", [compat.ToDeepmindEnv, compat.ToGymnasium])
@pytest.mark.parametrize("stack, what", [  # What the stack declares (`jit_env.boundary`).
    (lambda env: wrappers.Tile(env, 4), "Batch(size=4)"),
    (lambda env: wrappers.Vmap(env), "Batch(size=None)"),
    (lambda env: wrappers.Jit(wrappers.Tile(env, 2)), "Batch(size=2)"),
])
def test_bridges__refuse_a_batched_env(bridge, stack, what):
    env = stack(counting_env.CountingEnv(3))
    with pytest.raises(ValueError) as info:
        bridge(env)
    assert str(info.value) == _checks.ERR_BATCHED.format(bridge=bridge.__name__, env=env, what=what)


def test_bridges__empty_options_mean_the_constructors_options():
    params = jit_env.envs.CartPoleParams(gravity=20.0)
    single = compat.ToGymnasium(jit_env.make("CartPole-v1", per_episode_params=True), options=params)
    vector = compat.ToGymnasiumVector(jit_env.make("CartPole-v1", per_episode_params=True), NUM, options=params)
    for options in (None, {}):
        single.reset(seed=0, options=options)
        vector.reset(seed=0, options=options)
        assert float(single.state.options.gravity) == 20.0
        np.testing.assert_array_equal(vector.state.options.gravity, 20.0)
    other = jit_env.envs.CartPoleParams(gravity=5.0)
    single.reset(seed=0, options=other)
    vector.reset(seed=0, options=other)
    assert float(single.state.options.gravity) == 5.0
    np.testing.assert_array_equal(vector.state.options.gravity, 5.0)


def test_to_gymnasium__seed_positional_as_in_0_1_5():
    cls, _ = compat.make_gymnasium_wrapper()
    a, b = cls(_cartpole(), 7), cls(_cartpole(), seed=7)
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])


@pytest.mark.parametrize("vector", [False, True])
def test_gymnasium_bridges__render_is_jitted_once_and_equals_the_eager_render(vector):
    counter = jit_env.testing.TraceCounter()
    inner = _cartpole()

    class CountedRender(jit_env.Wrapper):
        def render(self, state):
            return counter.wrap(inner.render)(state)

    env = CountedRender(inner)
    if vector:
        bridge = compat.ToGymnasiumVector(env, NUM, render_mode="rgb_array")
        eager_render = wrappers.TileAutoReset(inner, NUM, mode="next_step").render
    else:
        bridge = compat.ToGymnasium(env, render_mode="rgb_array")
        eager_render = inner.render
    bridge.reset(seed=0)
    for step in range(3):
        frame = bridge.render()
        with jax.disable_jit():
            eager = np.asarray(eager_render(bridge.state)).astype(np.uint8)
        assert frame.dtype == np.uint8 and frame.shape == eager.shape
        np.testing.assert_array_equal(frame, eager)
        assert counter.count == 1, step  # Traced for the first frame, never again.
        bridge.step(bridge.action_space.sample())
