"""Shimmy's converter for generic dm_env environments over `ToDeepmindEnv`.

Shimmy 2 converts dm_env environments to Gymnasium with
`DmControlCompatibilityV0`, which needs a dm_control physics environment
(`control_timestep()`, `physics`, a composer or rl.control env inside), and
`BSuiteCompatibilityV0`, which needs only `dm_env.Environment`'s methods (and
seeds through bsuite's `_rng` attribute): the latter is the converter for a
generic dm_env environment such as the bridge.
"""

import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils import env_checker
from shimmy import bsuite_compatibility

import jit_env
from jit_env import compat

NUM = 3


def _shimmy_cartpole(seed=0):
    return bsuite_compatibility.BSuiteCompatibilityV0(compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), seed))


def _checker_warnings(env):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env_checker.check_env(env, skip_render_check=True)
    return {str(w.message) for w in caught}


def test_shimmy__check_env_warns_only_as_for_gymnasiums_own_cartpole():
    # Gymnasium's checker warns about CartPole's infinite velocity bounds, which
    # Shimmy's spec conversion keeps (as Gymnasium's own CartPole has them); any
    # other warning (a reward that is not a number, ...) would be about our outputs.
    got = _checker_warnings(_shimmy_cartpole())
    want = _checker_warnings(gymnasium.make("CartPole-v1").unwrapped)
    assert got == want
    assert all("infinity" in message for message in got)


def test_shimmy__same_seed_same_episode():
    env = _shimmy_cartpole()
    first, _ = env.reset(seed=3)
    steps = [env.step(np.int64(1)) for _ in range(5)]
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first, again)
    for want in steps:
        got = env.step(np.int64(1))
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1:4] == want[1:4]
    assert not np.array_equal(env.reset(seed=4)[0], first)


def test_shimmy__steps_as_the_dm_env_bridge_with_gymnasium_types():
    env = _shimmy_cartpole(seed=5)
    ref = compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), 5)
    obs, _ = env.reset()
    np.testing.assert_array_equal(obs, ref.reset().observation)
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(200):
        action = rng.integers(0, 2, dtype=np.int64)  # Gymnasium's Discrete dtype.
        obs, reward, terminated, truncated, info = env.step(action)
        ts = ref.step(np.int32(action))
        np.testing.assert_array_equal(obs, ts.observation)
        assert isinstance(reward, (float, np.floating)) and reward == ts.reward
        assert info["timestep.discount"] == ts.discount and info["timestep.step_type"] == ts.step_type
        assert (terminated, truncated) == (ts.last() and ts.discount == 0, ts.last() and ts.discount > 0)
        assert env.observation_space.contains(obs)
        if terminated or truncated:
            ends += 1
            obs, _ = env.reset()
            np.testing.assert_array_equal(obs, ref.reset().observation)
    assert ends >= 5


def test_shimmy__inside_sync_vector_env_takes_int64_actions():
    vec = gymnasium.vector.SyncVectorEnv([lambda i=i: _shimmy_cartpole(seed=i) for i in range(NUM)])
    refs = [compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), i) for i in range(NUM)]
    obs, _ = vec.reset()
    np.testing.assert_array_equal(obs, np.stack([ref.reset().observation for ref in refs]))
    vec.action_space.seed(0)
    restart = np.zeros(NUM, bool)
    ends = 0
    for _ in range(150):
        actions = vec.action_space.sample()
        assert actions.dtype == np.int64
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        for i, ref in enumerate(refs):
            if restart[i]:  # NEXT_STEP: SyncVectorEnv resets it, reward 0.
                np.testing.assert_array_equal(obs[i], ref.reset().observation)
                assert (rewards[i], terminated[i], truncated[i]) == (0.0, False, False)
                continue
            ts = ref.step(actions[i])
            np.testing.assert_array_equal(obs[i], ts.observation)
            assert rewards[i] == ts.reward
            assert terminated[i] == (ts.last() and ts.discount == 0)
            assert truncated[i] == (ts.last() and ts.discount > 0)
        restart = terminated | truncated
        ends += int(restart.sum())
    assert ends >= 5


@pytest.mark.parametrize("seed", [0, 7])
def test_shimmy__seeded_sync_vector_env_is_deterministic(seed):
    runs = []
    for _ in range(2):
        vec = gymnasium.vector.SyncVectorEnv([lambda: _shimmy_cartpole() for _ in range(NUM)])
        obs, _ = vec.reset(seed=seed)
        steps = [obs] + [vec.step(np.array([1, 0, 1]))[0] for _ in range(10)]
        runs.append(np.stack(steps))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0][0, 0], runs[0][0, 1])  # Sub-envs seeded seed + i.
