"""Gymnasium's own wrappers over the bridges give what they give over Gymnasium's envs.

Single env: `gymnasium.wrappers.X(ToGymnasium(make("CartPole-v1")))` beside the
same wrapper over `gymnasium.make("CartPole-v1")` whose every episode starts
from the bridge's start (Gymnasium's physics is float64, ours float32: values
agree to 1e-5, structure, dtypes and episode ends exactly).

Vector: `gymnasium.wrappers.vector.X(ToGymnasiumVector(...))` beside the same
wrapper over `SyncVectorEnv([lambda: ToGymnasium(...)] * N)`, the reference
vector env running the same jit_env CartPole, compared step by step in the
default NEXT_STEP autoreset mode. Gymnasium 1.3 has no vector
`FrameStackObservation` or `TimeLimit`.
"""

import functools

import gymnasium
import jax
import numpy as np
import pytest
from gymnasium import wrappers
from gymnasium.wrappers import vector as vector_wrappers

import jit_env
from jit_env import compat

NUM = 3
ENV_ID = "CartPole-v1"
# Every episode of CartPole starting upright and still: SyncVectorEnv's resets
# (each sub-env's own np_random) and the vector bridge's (each sub-env's key
# chain) then give the same starts, so whole runs with auto-resets compare exactly.
STILL_START = {"reset_bound": 0.0}


def _double_in_place(obs):
    return np.multiply(obs, 2, out=obs)  # Needs a writable array the caller owns.


SINGLE_WRAPPERS = {
    "RecordEpisodeStatistics": wrappers.RecordEpisodeStatistics,
    "NormalizeObservation": wrappers.NormalizeObservation,
    "NormalizeReward": lambda env: wrappers.NormalizeReward(env, gamma=0.9),
    "ClipReward": lambda env: wrappers.ClipReward(env, 0.0, 0.5),
    "TransformReward": lambda env: wrappers.TransformReward(env, lambda r: 2.0 * r - 1.0),
    "FlattenObservation": wrappers.FlattenObservation,
    "FrameStackObservation": lambda env: wrappers.FrameStackObservation(env, 3),
    "TimeLimit": lambda env: wrappers.TimeLimit(env, max_episode_steps=12),
    "TransformObservation(in place)": lambda env: wrappers.TransformObservation(
        env, _double_in_place, env.observation_space),
    "stack": lambda env: wrappers.NormalizeReward(wrappers.RecordEpisodeStatistics(
        wrappers.FrameStackObservation(wrappers.TimeLimit(env, max_episode_steps=15), 2))),
}

VECTOR_WRAPPERS = {
    "RecordEpisodeStatistics": vector_wrappers.RecordEpisodeStatistics,
    "NormalizeObservation": vector_wrappers.NormalizeObservation,
    "NormalizeReward": lambda env: vector_wrappers.NormalizeReward(env, gamma=0.9),
    "ClipReward": lambda env: vector_wrappers.ClipReward(env, 0.0, 0.5),
    "TransformReward": lambda env: vector_wrappers.TransformReward(env, lambda r: 2.0 * r - 1.0),
    "FlattenObservation": vector_wrappers.FlattenObservation,
    "TransformObservation(in place)": lambda env: vector_wrappers.TransformObservation(
        env, _double_in_place, env.observation_space),
    "stack": lambda env: vector_wrappers.NormalizeReward(vector_wrappers.RecordEpisodeStatistics(
        vector_wrappers.NormalizeObservation(env))),
}


# The bridges are built (and compiled) once per module: every test starts them
# with a seeded reset, which restarts their np_random and state.
@functools.cache
def _bridge(name):
    return compat.ToGymnasium(jit_env.make(ENV_ID))


@functools.cache
def _vector_bridges(options_key):
    options = dict(options_key) if options_key else None
    per_episode = options is not None  # Reset options need an env built to take them.
    ours = compat.ToGymnasiumVector(jit_env.make(ENV_ID, per_episode_params=per_episode), NUM, options=options)
    singles = [compat.ToGymnasium(jit_env.make(ENV_ID, per_episode_params=per_episode), options=options)
               for _ in range(NUM)]
    return ours, singles


class _StartsAsTheBridge(gymnasium.Wrapper):
    """Gymnasium's CartPole, each episode started where `ToGymnasium` starts it.

    A twin bridge is reset with the same seeds (and so the same np_random
    stream) as the bridge under test; its first observation is CartPole's
    whole state, copied into Gymnasium's env.
    """

    def __init__(self, env):
        super().__init__(env)
        self._twin = _bridge("twin")

    def reset(self, *, seed=None, options=None):
        _, info = self.env.reset(seed=seed, options=options)
        start, _ = self._twin.reset(seed=seed)
        self.env.unwrapped.state = start.astype(np.float64)
        return start.copy(), info


def _assert_same_space(got, want):
    """Equal spaces, but for infinite float bounds, which the bridge gives as the
    dtype's finite extremes (Stable-Baselines3's checker warns about infinite ones)."""
    assert type(got) is type(want) and got.shape == want.shape and got.dtype == want.dtype
    finfo = np.finfo(want.dtype)
    for a, b in ((got.low, want.low), (got.high, want.high)):
        np.testing.assert_array_equal(np.clip(a, finfo.min, finfo.max), np.clip(b, finfo.min, finfo.max))


def _assert_same_structure(got, want):
    """Same pytree of values with the same types, shapes and dtypes."""
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    want_leaves, want_tree = jax.tree_util.tree_flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert type(g) is type(w), (g, w)
        assert np.shape(g) == np.shape(w) and np.asarray(g).dtype == np.asarray(w).dtype, (g, w)


def _without_times(info):
    """The info without RecordEpisodeStatistics' wall-clock entry ("t")."""
    return {k: _without_times(v) if isinstance(v, dict) else v for k, v in info.items() if k != "t"}


def _assert_close(got, want, rtol, atol):
    got_leaves, want_leaves = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        if np.asarray(g).dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", list(SINGLE_WRAPPERS))
def test_to_gymnasium__gymnasium_wrappers_as_over_gymnasium_cartpole(name):
    make_wrapper = SINGLE_WRAPPERS[name]
    ours = make_wrapper(_bridge("tested"))
    ref = make_wrapper(_StartsAsTheBridge(gymnasium.make(ENV_ID)))
    _assert_same_space(ours.observation_space, ref.observation_space)
    assert ours.action_space == ref.action_space
    rng = np.random.default_rng(0)
    got, want = ours.reset(seed=7), ref.reset(seed=7)
    _assert_same_structure(got, want)
    _assert_close(got, want, rtol=1e-5, atol=1e-6)
    episodes = 0
    for t in range(150):
        action = rng.integers(0, 2, dtype=np.int64)
        got, want = ours.step(action), ref.step(action)
        _assert_same_structure(_without_times(got[4]), _without_times(want[4]))
        _assert_same_structure(got[:4], want[:4])
        assert got[2:4] == want[2:4], f"step {t}"
        _assert_close(got[:2], want[:2], rtol=1e-4, atol=1e-5)
        _assert_close(_without_times(got[4]), _without_times(want[4]), rtol=1e-4, atol=1e-5)
        if got[2] or got[3]:
            episodes += 1
            got, want = ours.reset(), ref.reset()
            _assert_close(got, want, rtol=1e-5, atol=1e-6)
    assert episodes >= 5  # Ends and resets were compared too.


def _vector_pair(make_wrapper, options):
    vector, singles = _vector_bridges(tuple(sorted((options or {}).items())))
    ours = make_wrapper(vector)
    ref = make_wrapper(gymnasium.vector.SyncVectorEnv([lambda env=env: env for env in singles]))
    next_step = gymnasium.vector.AutoresetMode.NEXT_STEP
    assert ours.metadata["autoreset_mode"] == ref.metadata["autoreset_mode"] == next_step
    assert ours.observation_space == ref.observation_space
    assert ours.single_observation_space == ref.single_observation_space
    assert ours.action_space == ref.action_space
    return ours, ref


def _assert_vector_step(got, want, t):
    _assert_same_structure(got[:4], want[:4])
    _assert_same_structure(_without_times(got[4]), _without_times(want[4]))
    np.testing.assert_array_equal(got[2], want[2], err_msg=f"terminated, step {t}")
    np.testing.assert_array_equal(got[3], want[3], err_msg=f"truncated, step {t}")
    _assert_close(got[:2], want[:2], rtol=1e-5, atol=1e-6)
    _assert_close(_without_times(got[4]), _without_times(want[4]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(VECTOR_WRAPPERS))
def test_to_gymnasium_vector__gymnasium_vector_wrappers_as_over_sync_vector_env(name):
    ours, ref = _vector_pair(VECTOR_WRAPPERS[name], STILL_START)
    got, want = ours.reset(seed=[1, 2, 3]), ref.reset(seed=[1, 2, 3])
    _assert_same_structure(got, want)
    _assert_close(got, want, rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(1)
    ends = 0
    for t in range(120):
        actions = rng.integers(0, 2, NUM, dtype=np.int64)
        got, want = ours.step(actions), ref.step(actions)
        _assert_vector_step(got, want, t)
        ends += int((got[2] | got[3]).sum())
    assert ends >= 6  # Episode ends and NEXT_STEP restarts were compared too.


@pytest.mark.parametrize("name", list(VECTOR_WRAPPERS))
def test_to_gymnasium_vector__random_starts_as_sync_vector_env_until_the_first_end(name):
    # With CartPole's random starts the two vector envs begin alike (seed list) and
    # agree until the first restart, which each draws from its own stream.
    ours, ref = _vector_pair(VECTOR_WRAPPERS[name], None)
    got, want = ours.reset(seed=[4, 5, 6]), ref.reset(seed=[4, 5, 6])
    _assert_close(got, want, rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(2)
    for t in range(100):
        actions = rng.integers(0, 2, NUM, dtype=np.int64)
        got, want = ours.step(actions), ref.step(actions)
        _assert_vector_step(got, want, t)
        if (got[2] | got[3]).any():
            break
    else:
        raise AssertionError("no episode ended")
    restarting = got[2] | got[3]
    got, want = ours.step(actions), ref.step(actions)  # The restarting step.
    _assert_same_structure(got[:4], want[:4])
    # The restarted rows' observations differ; rewards and flags depend on no start.
    _assert_close(got[1:4], want[1:4], rtol=1e-5, atol=1e-6)
    assert not (got[2] | got[3])[restarting].any()
