"""Gymnasium registration follows Gymnasium: time limits in the spec, `max_episode_steps` overrides."""

import gymnasium
import numpy as np
import pytest

import jit_env
from jit_env import _registry, compat
from jit_env.compat import _registration

compat.register_gymnasium_envs()


def _balance(observation):
    """A controller that keeps CartPole's pole up and the cart near the middle for 1000+ steps."""
    x, x_dot, theta, theta_dot = observation
    return int(theta + 0.5 * theta_dot + 0.05 * x + 0.2 * x_dot > 0)


def _episode_length(env, policy, limit):
    observation, _ = env.reset(seed=0)
    for t in range(1, limit + 1):
        observation, _, terminated, truncated, _ = env.step(policy(observation))
        if terminated or truncated:
            return t, bool(terminated), bool(truncated)
    return limit, False, False


def test_make__max_episode_steps_runs_past_the_default_limit_as_gymnasium_does():
    ours = gymnasium.make("jit_env/CartPole-v1", max_episode_steps=1000)
    theirs = gymnasium.make("CartPole-v1", max_episode_steps=1000)
    assert _episode_length(theirs, _balance, 1100) == (1000, False, True)
    assert _episode_length(ours, _balance, 1100) == (1000, False, True)


def test_make__pendulum_truncates_where_gymnasium_own_does():
    action = lambda observation: np.zeros((1,), np.float32)  # noqa: E731
    for steps in (None, 120, 300):
        extra = {} if steps is None else {"max_episode_steps": steps}
        theirs = _episode_length(gymnasium.make("Pendulum-v1", **extra), action, 400)
        ours = _episode_length(gymnasium.make("jit_env/Pendulum-v1", **extra), action, 400)
        assert ours == theirs == (steps or 200, False, True)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "MountainCar-v0",
                                    "MountainCarContinuous-v0", "Pendulum-v1"])
def test_spec__max_episode_steps_is_gymnasium_own(env_id):
    assert gymnasium.make(f"jit_env/{env_id}").spec.max_episode_steps == gymnasium.spec(
        env_id).max_episode_steps
    assert gymnasium.spec(f"jit_env/{env_id}").max_episode_steps == gymnasium.spec(
        env_id).max_episode_steps


def test_spec__every_registered_id_declares_its_episode_length():
    ids = compat.register_gymnasium_envs()
    assert ids == sorted(_registration.gymnasium_id(i) for i in jit_env.registered_envs())
    for env_id in jit_env.registered_envs():
        limit = _registry.spec(env_id).max_episode_steps
        assert gymnasium.spec(_registration.gymnasium_id(env_id)).max_episode_steps == limit
    assert gymnasium.spec("jit_env/CartPole-v1").max_episode_steps == 500
    assert gymnasium.spec("jit_env/Catch-v0").max_episode_steps is None


def test_make__no_jit_env_time_limit_inside_the_single_env():
    env = gymnasium.make("jit_env/CartPole-v1")
    assert isinstance(env, gymnasium.wrappers.TimeLimit)
    assert not isinstance(env.unwrapped.env, jit_env.wrappers.TimeLimit)


def test_make_vec__max_episode_steps_reaches_jit_env_time_limit():
    default = gymnasium.make_vec("jit_env/CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point")
    longer = gymnasium.make_vec("jit_env/CartPole-v1", num_envs=2, vectorization_mode="vector_entry_point",
                                max_episode_steps=1000)
    assert default.env.max_episode_steps == 500
    assert longer.env.max_episode_steps == 1000
    observations, _ = longer.reset(seed=0)
    for t in range(1, 1001):
        actions = np.array([_balance(o) for o in observations])
        observations, _, terminated, truncated, _ = longer.step(actions)
        assert not terminated.any()
        assert truncated.all() == (t == 1000)
    default.close()
    longer.close()


def test_gymnasium_id__hub_ids_take_one_slash():
    assert _registration.gymnasium_id("gymnax/CartPole-v1") == "jit_env/gymnax.CartPole-v1"
    gym_id = _registration.register_gymnasium_env("gymnax/CartPole-v1")
    assert gymnasium.spec(gym_id).max_episode_steps == 500
    env = gymnasium.make(gym_id)
    assert isinstance(env.unwrapped.env, compat.FromGymnax)
    env.close()
