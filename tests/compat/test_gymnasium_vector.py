"""The vector bridge against Gymnasium's own SyncVectorEnv, mode by mode."""

import counting_env
import gymnasium
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import jit_env
from jit_env import compat
from jit_env.compat import _checks, _gymnasium_vector

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


def test_to_gymnasium_vector__no_retrace_over_1000_steps():
    counter = jit_env.testing.TraceCounter()
    inner = jit_env.make("CartPole-v1")

    class Counted(jit_env.Wrapper):
        def step(self, state, action):
            return counter.wrap(inner.step)(state, action)

    env = compat.ToGymnasiumVector(Counted(inner), 8, seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(1000):
        env.step(rng.integers(0, 2, 8))
    assert counter.count == 1
