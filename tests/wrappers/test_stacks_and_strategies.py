"""Auto-reset strategies keep their promises, and wrong wrapper orders are refused when built."""

import re

import _envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import _core, wrappers
from jit_env.envs import cartpole
from jit_env.wrappers import _autoreset


def _gravity(n):
    params = jax.tree.map(lambda x: jnp.full((n,), x, jnp.float32), cartpole.Params())
    return jax.tree.map(lambda x: x, params.__class__(**{
        **{f: getattr(params, f) for f in params.__dataclass_fields__},
        "gravity": jnp.arange(1, n + 1, dtype=jnp.float32)}))


def test_precomputed__each_new_episode_draws_another_pool_entry():
    env = wrappers.TileAutoReset(jit_env.make("CartPole-v1", max_episode_steps=20), 4,
                                 strategy="precomputed", pool_size=64)
    step = jax.jit(env.step)
    state, ts = env.reset(jax.random.key(0))
    starts = []
    for _ in range(20 * 20):
        state, ts = step(state, jnp.zeros(4, jnp.int32))
        if bool(ts.first()[1]):
            starts.append(tuple(np.asarray(ts.observation[1]).tolist()))
    assert len(starts) >= 20
    # 64 pooled starts drawn 20 times: collisions happen, a single start is the old bug.
    assert len(set(starts)) >= 12


def test_precomputed__deterministic_given_the_reset_key():
    env = wrappers.TileAutoReset(jit_env.make("CartPole-v1", max_episode_steps=5), 3,
                                 strategy="precomputed", pool_size=8)

    step = jax.jit(env.step)

    def run(key):
        state, ts = env.reset(key)
        for _ in range(12):
            state, ts = step(state, jnp.ones(3, jnp.int32))
        return ts.observation

    np.testing.assert_array_equal(run(jax.random.key(3)), run(jax.random.key(3)))


@pytest.mark.parametrize("strategy, kwargs", [
    ("complete", {}), ("optimistic", {"num_resets": 2}), ("precomputed", {"pool_size": 4})])
@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_strategies__per_env_options_survive_when_all_finish_at_once(strategy, kwargs, mode):
    env = wrappers.TileAutoReset(wrappers.TimeLimit(cartpole.CartPole(per_episode_params=True), max_episode_steps=1), 8,
                                 mode=mode, strategy=strategy, options_in_axes=0, **kwargs)
    state, _ = env.reset(jax.random.key(0), options=_gravity(8))
    step = jax.jit(env.step)
    for _ in range(3):  # Every sub-environment ends on every step (next-step: every other).
        state, _ = step(state, jnp.zeros(8, jnp.int32))
        np.testing.assert_array_equal(_core.state_options(state).gravity, np.arange(1, 9))


def test_optimistic__overflow_rows_keep_their_own_keys():
    env = wrappers.TileAutoReset(wrappers.TimeLimit(cartpole.CartPole(per_episode_params=True), max_episode_steps=1), 8,
                                 strategy="optimistic", num_resets=2)
    state, _ = env.reset(jax.random.key(0))
    state, _ = env.step(state, jnp.zeros(8, jnp.int32))
    keys = jax.random.key_data(_core.state_key(state))
    assert len({tuple(np.asarray(k).tolist()) for k in keys}) == 8


def test_precomputed__options_in_axes_other_than_none_or_zero_refused():
    with pytest.raises(ValueError) as info:
        wrappers.VmapAutoReset(_envs.PointMass(), strategy="precomputed", options_in_axes=1)
    assert str(info.value) == _autoreset.ERR_POOL_OPTIONS.format(1)


PER_EPISODE = [
    ("TimeLimit", lambda env: wrappers.TimeLimit(env, max_episode_steps=3)),
    ("EpisodeStatistics", wrappers.EpisodeStatistics),
]
AUTO_RESETS = [
    ("AutoReset", wrappers.AutoReset),
    ("AutoReset", lambda env: wrappers.AutoReset(env, mode="next_step")),
    ("VmapAutoReset", wrappers.VmapAutoReset),
    ("TileAutoReset", lambda env: wrappers.TileAutoReset(env, 2, strategy="optimistic")),
]


@pytest.mark.parametrize("wrapper, per_episode", PER_EPISODE)
@pytest.mark.parametrize("auto_reset, make_auto_reset", AUTO_RESETS)
def test_stack__per_episode_wrapper_outside_auto_reset_refused(wrapper, per_episode, auto_reset,
                                                                make_auto_reset):
    inner = wrappers.Jit(make_auto_reset(_envs.PointMass()))  # Through any stateless layer.
    with pytest.raises(ValueError, match=re.escape(_core.ERR_PER_EPISODE_OUTSIDE_AUTO_RESET.format(
            wrapper=wrapper, auto_reset=auto_reset))):
        per_episode(inner)


@pytest.mark.parametrize("auto_reset, make_auto_reset", AUTO_RESETS)
def test_stack__auto_reset_around_cross_episode_statistics_refused(auto_reset, make_auto_reset):
    inner = wrappers.StopGradient(wrappers.NormalizeObservation(_envs.PointMass()))
    with pytest.raises(ValueError) as info:
        make_auto_reset(inner)
    assert str(info.value) == _core.ERR_ACROSS_EPISODES_INSIDE_AUTO_RESET.format(
        wrapper="NormalizeObservation", auto_reset=auto_reset)


def test_stack__right_orders_build_and_auto_resets_reads_the_declarations():
    env = _envs.PointMass()
    good = wrappers.NormalizeObservation(wrappers.TileAutoReset(
        wrappers.EpisodeStatistics(wrappers.FrameStack(wrappers.TimeLimit(env, max_episode_steps=3),
                                                       num_stack=2)), 2))
    assert wrappers.auto_resets(good) and not wrappers.auto_resets(env)
    assert wrappers.AutoReset.episodes == _core.AUTO_RESET
    assert wrappers.NormalizeObservation.episodes == _core.ACROSS_EPISODES
    assert wrappers.TimeLimit.episodes == _core.PER_EPISODE
    wrappers.FrameStack(wrappers.AutoReset(env), num_stack=2)  # Refills on FIRST: either side.
    for num_envs in (None, 2):
        for mode in ("same_step", "next_step"):
            wrappers.wrap(env, num_envs=num_envs, mode=mode, max_episode_steps=3, frame_stack=2,
                          normalize_observation=True)
