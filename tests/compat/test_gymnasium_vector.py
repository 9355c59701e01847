"""The vector bridge against Gymnasium's own SyncVectorEnv, mode by mode."""

import re

import chex
import counting_env
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import jit_env
from jit_env import compat
from jit_env.compat import _checks, _gymnasium_vector
from jit_env.wrappers import _autoreset

NUM = 3


def _single():
    return jit_env.wrappers.TimeLimit(counting_env.CountingEnv(3), max_episode_steps=4)


def _actions(rng):
    return rng.integers(0, 2, NUM).astype(np.int64)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__matches_sync_vector_env(mode):
    ours = compat.ToGymnasiumVector(_single(), NUM, autoreset_mode=mode)
    ref = gymnasium.vector.SyncVectorEnv(
        [lambda: compat.ToGymnasium(_single()) for _ in range(NUM)], autoreset_mode=mode)
    assert ours.metadata["autoreset_mode"] == mode
    assert ours.single_observation_space == ref.single_observation_space
    assert ours.action_space == ref.action_space
    np.testing.assert_array_equal(ours.reset(seed=0)[0], ref.reset(seed=0)[0])
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = _actions(rng)
        got = ours.step(actions)
        want = ref.step(actions)
        for a, b in zip(got[:4], want[:4]):
            np.testing.assert_array_equal(a, b)
        if mode == AutoresetMode.SAME_STEP:
            assert ("_final_obs" in got[4]) == ("_final_obs" in want[4])
            if "_final_obs" in want[4]:
                np.testing.assert_array_equal(got[4]["_final_obs"], want[4]["_final_obs"])
                assert list(got[4]["final_obs"]) == list(want[4]["final_obs"])
                np.testing.assert_array_equal(got[4]["_final_info"], want[4]["_final_info"])
        if mode == AutoresetMode.DISABLED:
            ended = got[2] | got[3]
            if ended.any():
                obs_a, _ = ours.reset(options={"reset_mask": ended})
                obs_b, _ = ref.reset(options={"reset_mask": ended})
                np.testing.assert_array_equal(obs_a, obs_b)


def _assert_info_equal(got, want, path="info"):
    """Key by key: the same keys, `_` masks, dtypes and values as SyncVectorEnv's."""
    assert set(got) == set(want), (path, sorted(got), sorted(want))
    for key, expected in want.items():
        value = got[key]
        where = f"{path}[{key!r}]"
        if isinstance(expected, dict):
            assert isinstance(value, dict), where
            _assert_info_equal(value, expected, where)
        elif expected.dtype == object:
            assert value.dtype == object and value.shape == expected.shape, where
            for a, b in zip(value, expected, strict=True):
                assert (a is None) == (b is None), where
                if b is not None:
                    np.testing.assert_array_equal(a, b, err_msg=where)
                    assert a.dtype == b.dtype, where
        else:
            assert value.dtype == expected.dtype and value.shape == expected.shape, where
            np.testing.assert_array_equal(value, expected, err_msg=where)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__info_is_sync_vector_envs_for_the_same_sub_envs(mode):
    """Info dicts (structure, masks, values) equal SyncVectorEnv's over ToGymnasium sub-envs.

    The sub-environments start deterministically (reset_bound 0), so both run the same
    episodes; a short time limit and random actions end episodes often (terminations
    and truncations), and EpisodeStatistics gives every step and reset a nested info.
    """
    num = 4
    env = jit_env.wrappers.EpisodeStatistics(
        jit_env.wrappers.TimeLimit(jit_env.make("CartPole-v1", per_episode_params=True), max_episode_steps=12))
    options = {"reset_bound": 0.0}
    ours = compat.ToGymnasiumVector(env, num, autoreset_mode=mode, options=options)
    ref = gymnasium.vector.SyncVectorEnv(
        [lambda: compat.ToGymnasium(env, options=options) for _ in range(num)], autoreset_mode=mode)
    got, want = ours.reset(seed=0), ref.reset(seed=0)
    np.testing.assert_array_equal(got[0], want[0])
    _assert_info_equal(got[1], want[1])
    rng = np.random.default_rng(0)
    ends = {"terminated": 0, "truncated": 0, "masked resets": 0}
    for _ in range(300):
        actions = rng.integers(0, 2, num).astype(np.int64)
        got, want = ours.step(actions), ref.step(actions)
        for a, b in zip(got[:4], want[:4], strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
        _assert_info_equal(got[4], want[4])
        ends["terminated"] += int(want[2].sum())
        ends["truncated"] += int(want[3].sum())
        ended = want[2] | want[3]
        if mode == AutoresetMode.DISABLED and ended.any():
            got, want = ours.reset(options={"reset_mask": ended}), ref.reset(options={"reset_mask": ended.copy()})
            np.testing.assert_array_equal(got[0], want[0])
            _assert_info_equal(got[1], want[1])
            np.testing.assert_array_equal(got[1]["_episode"], ended)
            ends["masked resets"] += int(not ended.all())
    assert ends["terminated"] >= 10 and ends["truncated"] >= 30, ends
    if mode == AutoresetMode.DISABLED:
        assert ends["masked resets"] >= 5, ends


def test_to_gymnasium_vector__disabled_needs_masked_reset():
    env = compat.ToGymnasiumVector(_single(), NUM, autoreset_mode=AutoresetMode.DISABLED)
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.ones(NUM, np.int64))
    with pytest.raises(RuntimeError) as info:
        env.step(np.ones(NUM, np.int64))
    assert str(info.value) == _gymnasium_vector.ERR_NEEDS_RESET.format([0, 1, 2])


def test_to_gymnasium_vector__errors():
    env = compat.ToGymnasiumVector(_single(), NUM)
    with pytest.raises(RuntimeError) as info:
        env.step(np.ones(NUM, np.int64))
    assert str(info.value) == _checks.ERR_NOT_RESET.format(bridge="ToGymnasiumVector")
    env.reset(seed=0)
    with pytest.raises(ValueError) as info:
        env.step(np.full(NUM, 2, np.int64))
    spec = env.env.action_spec()
    assert str(info.value) == _checks.ERR_ACTION_RANGE.format(
        spec=repr(spec), minimum="0", maximum="1", value=np.full(NUM, 2, np.int64))
    env.close()
    with pytest.raises(RuntimeError) as info:
        env.reset()
    assert str(info.value) == _checks.ERR_CLOSED.format(bridge="ToGymnasiumVector", call="reset")


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__one_step_trace_in_every_mode_over_2000_steps(mode):
    counter = jit_env.testing.TraceCounter()
    inner = jit_env.wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=7)

    class Counted(jit_env.Wrapper):
        def step(self, state, action):
            return counter.wrap(inner.step)(state, action)

    env = compat.ToGymnasiumVector(Counted(inner), 8, seed=0, autoreset_mode=mode)
    env.reset()
    rng = np.random.default_rng(0)
    ended = 0
    for _ in range(2000):
        _, _, terminated, truncated, _ = env.step(rng.integers(0, 2, 8))
        ended += int((terminated | truncated).sum())
        if mode == AutoresetMode.DISABLED and (terminated | truncated).any():
            env.reset(options={"reset_mask": terminated | truncated})
    assert ended > 1000  # Every number of finished rows has come up.
    # One trace of the step, at construction (its output layout), reused by every call.
    assert counter.count == 1


@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_to_gymnasium_vector__steps_bit_identical_to_tile_auto_reset(mode):
    """The bridge's auto-reset is TileAutoReset's: outputs and states equal, bit for bit."""
    env = jit_env.wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=9)
    gym_mode = AutoresetMode.SAME_STEP if mode == "same_step" else AutoresetMode.NEXT_STEP
    bridge = compat.ToGymnasiumVector(env, 8, seed=1, autoreset_mode=gym_mode)
    reference = jit_env.wrappers.TileAutoReset(env, 8, mode=mode)
    bridge.reset(seed=5)
    # A copy: the bridge donates its state's buffers to its next step.
    ref_state = jax.tree_util.tree_map(lambda x: x.copy(), bridge.state)
    ref_step = jax.jit(reference.step)
    rng = np.random.default_rng(0)
    for _ in range(200):
        actions = rng.integers(0, 2, 8)
        obs, reward, terminated, truncated, info = bridge.step(actions)
        ref_state, ts = ref_step(ref_state, jnp.asarray(actions, jnp.int32))
        np.testing.assert_array_equal(obs, ts.observation)
        np.testing.assert_array_equal(reward, ts.reward)
        ended = ts.first() if mode == "same_step" else ts.last()
        np.testing.assert_array_equal(terminated, ended & (ts.discount == 0))
        np.testing.assert_array_equal(truncated, ended & (ts.discount > 0))
        if mode == "same_step" and ended.any():
            for i in np.flatnonzero(ended):
                np.testing.assert_array_equal(info["final_obs"][i], ts.extras["final_observation"][i])
        chex.assert_trees_all_equal(
            jax.tree_util.tree_map(np.asarray, _strip_keys(bridge.state)),
            jax.tree_util.tree_map(np.asarray, _strip_keys(ref_state)))


def _strip_keys(state):
    return jax.tree_util.tree_map(
        lambda x: jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x, state)


def test_to_gymnasium_vector__seed_list_seeds_each_sub_env_as_to_gymnasium():
    seeds = [3, 3, 7]
    env = compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), NUM, autoreset_mode=AutoresetMode.DISABLED)
    observation, _ = env.reset(seed=seeds)
    for i, seed in enumerate(seeds):
        np.testing.assert_array_equal(
            observation[i], compat.ToGymnasium(jit_env.make("CartPole-v1")).reset(seed=seed)[0])
    # Equal seeds give equal episodes: rows 0 and 1 stay identical under equal actions.
    for _ in range(5):
        observation, *_ = env.step(np.ones(NUM, np.int64))
        np.testing.assert_array_equal(observation[0], observation[1])
    assert not np.array_equal(observation[0], observation[2])


def test_to_gymnasium_vector__seed_errors():
    env = compat.ToGymnasiumVector(_single(), NUM)
    with pytest.raises(ValueError) as info:
        env.reset(seed=[0, 1])
    assert str(info.value) == _gymnasium_vector.ERR_SEED_LENGTH.format(NUM, 2)
    for seed in ([0, 1.5, 2], 1.5, True):
        with pytest.raises(TypeError) as info:
            env.reset(seed=seed)
        assert str(info.value) == _gymnasium_vector.ERR_SEED.format(seed)


def test_to_gymnasium_vector__chunked_resets_match_complete_auto_reset():
    # Past 64 sub-environments, NEXT_STEP restarts only the rows that are due,
    # `chunk` (here 128 // 16 = 8) at a time; the results equal the complete
    # strategy's whether one pass or several are needed.
    num = 128
    env = compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), num)
    reference = jit_env.wrappers.TileAutoReset(
        jit_env.make("CartPole-v1"), num, mode=jit_env.wrappers.NEXT_STEP)
    step = jax.jit(reference.step)
    observation, _ = env.reset(seed=0)
    episode_seed = _gymnasium_vector._draw_seed(gymnasium.utils.seeding.np_random(0)[0])
    state, timestep = jax.jit(reference.reset)(jax.random.key(episode_seed))
    np.testing.assert_array_equal(observation, timestep.observation)
    rng = np.random.default_rng(0)
    resets = set()
    for i in range(60):
        # Equal actions first, so that many episodes end together, then random ones.
        actions = np.ones(num, np.int64) if i < 20 else rng.integers(0, 2, num)
        resets.add(int(np.sum(state.needs_reset)))
        state, timestep = step(state, actions.astype(np.int32))
        observation, reward, terminated, truncated, _ = env.step(actions)
        np.testing.assert_array_equal(observation, timestep.observation)
        np.testing.assert_array_equal(reward, timestep.reward)
        np.testing.assert_array_equal(terminated | truncated, timestep.last())
    # None, one pass (1 to 8 rows) and several passes (more than 8 rows at once).
    for low, high in ((-1, 0), (0, 8), (8, num)):
        assert any(low < n <= high for n in resets), (low, high, sorted(resets))


@pytest.mark.parametrize("value, gym_mode", [
    ("next_step", AutoresetMode.NEXT_STEP), ("same_step", AutoresetMode.SAME_STEP),
    ("NextStep", AutoresetMode.NEXT_STEP), ("SameStep", AutoresetMode.SAME_STEP),
    (AutoresetMode.NEXT_STEP, AutoresetMode.NEXT_STEP), (AutoresetMode.SAME_STEP, AutoresetMode.SAME_STEP)])
def test_autoreset_mode__bridge_and_wrappers_accept_the_same_values(value, gym_mode):
    bridge = compat.ToGymnasiumVector(_single(), NUM, autoreset_mode=value)
    assert bridge.metadata["autoreset_mode"] == bridge.autoreset_mode == gym_mode
    wrapper = jit_env.wrappers.TileAutoReset(_single(), NUM, mode=value)
    assert wrapper.mode == jit_env.wrappers.auto_reset_mode(gym_mode)
    assert wrapper.mode == ("same_step" if gym_mode == AutoresetMode.SAME_STEP else "next_step")


@pytest.mark.parametrize("value", ["disabled", "Disabled", AutoresetMode.DISABLED])
def test_autoreset_mode__disabled_is_the_bridges_alone(value):
    assert compat.ToGymnasiumVector(_single(), NUM, autoreset_mode=value).autoreset_mode == AutoresetMode.DISABLED
    with pytest.raises(ValueError, match=re.escape(_autoreset.ERR_MODE_DISABLED.format(value))):
        jit_env.wrappers.AutoReset(_single(), mode=value)


def test_autoreset_mode__unknown_refused_naming_the_choices():
    with pytest.raises(ValueError, match=re.escape(_gymnasium_vector.ERR_AUTORESET_MODE.format("same-step"))):
        compat.ToGymnasiumVector(_single(), NUM, autoreset_mode="same-step")


def test_to_gymnasium_vector__resets_after_a_seed_list_follow_sync_vector_env():
    """After reset(seed=[...]), unseeded resets (masked ones too) draw from each sub-environment's
    generator, as SyncVectorEnv over ToGymnasium does: reproducible, not fresh entropy."""
    env = jit_env.wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=3)
    mode = AutoresetMode.DISABLED
    ours = compat.ToGymnasiumVector(env, NUM, autoreset_mode=mode)
    ref = gymnasium.vector.SyncVectorEnv([lambda: compat.ToGymnasium(env) for _ in range(NUM)], autoreset_mode=mode)
    seeds = [5, None, 7]
    got, want = ours.reset(seed=seeds), ref.reset(seed=seeds)
    np.testing.assert_array_equal(got[0][[0, 2]], want[0][[0, 2]])
    mask = np.array([True, False, True])
    for _ in range(3):
        ours.step(np.ones(NUM, np.int64))
        ref.step(np.ones(NUM, np.int64))
    got, want = ours.reset(options={"reset_mask": mask}), ref.reset(options={"reset_mask": mask.copy()})
    np.testing.assert_array_equal(got[0][mask], want[0][mask])
    got, want = ours.reset(), ref.reset()
    np.testing.assert_array_equal(got[0][mask], want[0][mask])
