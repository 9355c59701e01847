"""FromGymnax steps in lockstep with gymnax itself and goes out through the bridges."""

import gymnax
import jax
import numpy as np
import pytest

import jit_env
from jit_env import compat


@pytest.mark.parametrize(
    ("name", "action"), [("CartPole-v1", 1), ("Pendulum-v1", np.array([0.5], np.float32))])
def test_from_gymnax__lockstep_with_gymnax(name, action):
    genv, params = gymnax.make(name)
    env = compat.FromGymnax(genv, params)
    key = jax.random.key(0)
    state, ts = env.reset(key)
    with jax.numpy_dtype_promotion("standard"):  # gymnax itself is not strict-promotion clean.
        obs, gstate = genv.reset(key, params)
    np.testing.assert_allclose(ts.observation, obs)
    step = jax.jit(env.step)
    for i in range(params.max_steps_in_episode):
        state, ts = step(state, action)
        with jax.numpy_dtype_promotion("standard"):
            obs, gstate, reward, terminated, truncated, _ = genv.step(
                jax.random.key(i), gstate, action, params)
        np.testing.assert_allclose(ts.reward, reward, rtol=1e-6)
        assert bool(ts.last()) == bool(terminated | truncated)
        if bool(ts.last()):
            assert float(ts.discount) == (0.0 if bool(terminated) else 1.0)
            break
        np.testing.assert_allclose(ts.observation, obs, rtol=1e-6)
    assert bool(ts.last())


def test_from_gymnax__passes_check_environment_and_bridges():
    genv, params = gymnax.make("CartPole-v1")
    env = compat.FromGymnax(genv, params)
    jit_env.testing.check_environment(env)
    dm = compat.ToDeepmindEnv(env)
    assert dm.reset().first()
    vec = compat.ToGymnasiumVector(env, 4, seed=0)
    vec.reset()
    assert vec.step(np.ones(4, np.int64))[0].shape == (4, 4)
