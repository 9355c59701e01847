"""The bridges survive `copy.deepcopy` and pickling mid-episode and continue identically.

The bug: `copy.deepcopy` of any of the three bridges raised "RawKeys is
immutable", and their jitted closures cannot be pickled. A copy (deep or
through pickle) taken mid-episode must continue exactly as the original does
under the same actions: the environment state, the key chain and every NumPy
RNG (the bridge's `np_random`, the spaces' samplers) included, while both
step independently.
"""

import copy
import pickle

import jax
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import jit_env
from jit_env import compat, wrappers

NUM = 3
STEPS = 40


def _env():
    """CartPole with a short time limit and statistics: episodes end often, extras are nested."""
    return wrappers.EpisodeStatistics(jit_env.make("CartPole-v1", max_episode_steps=9))


def _round_trips():
    return {"deepcopy": copy.deepcopy, "pickle": lambda bridge: pickle.loads(pickle.dumps(bridge))}


def _assert_same(a, b, where):
    """Equal trees; object arrays (SAME_STEP's `final_obs`) element by element."""
    def same(x, y):
        if isinstance(x, np.ndarray) and x.dtype == object:
            assert x.shape == y.shape, where
            for u, v in zip(x, y, strict=True):
                _assert_same(u, v, where)
        elif hasattr(x, "dtype") and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
            assert x.dtype == y.dtype, where
            np.testing.assert_array_equal(jax.random.key_data(x), jax.random.key_data(y), err_msg=where)
        else:
            np.testing.assert_array_equal(x, y, err_msg=where)

    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b), where
    jax.tree_util.tree_map(same, a, b)


@pytest.mark.parametrize("round_trip", list(_round_trips()))
def test_to_gymnasium__copy_mid_episode_continues_identically(round_trip):
    original = compat.ToGymnasium(_env(), seed=3, render_mode="rgb_array")
    original.reset()
    for _ in range(4):
        original.step(original.action_space.sample())
    copied = _round_trips()[round_trip](original)
    assert copied is not original and repr(copied) == repr(original)
    _assert_same(jax.device_get(copied.state), jax.device_get(original.state), "state")
    np.testing.assert_array_equal(copied.render(), original.render())
    resets = 0
    for t in range(STEPS):
        # The copy steps first: the original must not notice.
        outs = []
        for bridge in (copied, original):
            out = bridge.step(bridge.action_space.sample())
            if out[2] or out[3]:
                out = (out, bridge.reset())  # seed=None: the next seed comes from np_random.
            outs.append(out)
        _assert_same(outs[0], outs[1], f"step {t}")
        resets += len(outs[0]) == 2
    assert resets >= 3


@pytest.mark.parametrize("round_trip", list(_round_trips()))
def test_to_deepmind_env__copy_mid_episode_continues_identically(round_trip):
    original = compat.ToDeepmindEnv(_env(), seed=5)
    original.reset()
    rng = np.random.default_rng(0)
    for _ in range(3):
        original.step(np.int32(rng.integers(2)))
    copied = _round_trips()[round_trip](original)
    _assert_same(jax.device_get(copied.state), jax.device_get(original.state), "state")
    firsts = 0
    for t in range(STEPS):
        action = np.int32(rng.integers(2))
        got, want = copied.step(action), original.step(action)  # After LAST: a new episode, keys from the chain.
        assert got.step_type == want.step_type, t
        _assert_same((got.reward, got.discount, got.observation), (want.reward, want.discount, want.observation),
                     f"step {t}")
        _assert_same(copied.extras, original.extras, f"extras {t}")
        firsts += got.first()
    assert firsts >= 3


@pytest.mark.parametrize("mode", list(AutoresetMode))
@pytest.mark.parametrize("round_trip", list(_round_trips()))
def test_to_gymnasium_vector__copy_mid_episode_continues_identically(round_trip, mode):
    original = compat.ToGymnasiumVector(_env(), NUM, seed=7, autoreset_mode=mode)
    original.reset()
    for _ in range(5):
        original.step(original.action_space.sample())
        if mode == AutoresetMode.DISABLED and original._finished.any():
            original.reset(options={"reset_mask": original._finished.copy()})
    copied = _round_trips()[round_trip](original)
    _assert_same(jax.device_get(copied.state), jax.device_get(original.state), "state")
    ends = 0
    for t in range(STEPS):
        outs = []
        for bridge in (copied, original):  # The copy steps first; the step donates only its own state.
            out = bridge.step(bridge.action_space.sample())
            ended = out[2] | out[3]
            if mode == AutoresetMode.DISABLED and ended.any():
                out = (out, bridge.reset(options={"reset_mask": ended}))  # Seeds drawn from np_random.
            outs.append(out)
        _assert_same(outs[0], outs[1], f"step {t}")
        ends += int(ended.sum())
    assert ends >= 3
