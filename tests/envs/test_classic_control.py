"""Classic control in lockstep with Gymnasium's own NumPy environments.

Each step starts both from the same state (ours, copied into Gymnasium's
`.state`) and applies the same action; observations, rewards and terminations
must agree to float32 precision.
"""

import dataclasses

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import wrappers
from jit_env.envs import _common, acrobot, cartpole, mountain_car, mountain_car_continuous, pendulum

NUM_SEEDS = 10
NUM_STEPS = 60


def _cartpole_state(s):
    return np.array([s.x, s.x_dot, s.theta, s.theta_dot], np.float64)


def _acrobot_state(s):
    return np.array([s.theta1, s.theta2, s.dtheta1, s.dtheta2], np.float64)


def _car_state(s):
    return np.array([s.position, s.velocity], np.float64)


def _car_continuous_state(s):
    return np.array([s.position, s.velocity], np.float32)


def _pendulum_state(s):
    return np.array([s.theta, s.theta_dot], np.float64)


CASES = {
    "CartPole-v1": (cartpole.CartPole, _cartpole_state, 2),
    "Acrobot-v1": (acrobot.Acrobot, _acrobot_state, 3),
    "MountainCar-v0": (mountain_car.MountainCar, _car_state, 3),
    "MountainCarContinuous-v0": (mountain_car_continuous.MountainCarContinuous, _car_continuous_state, None),
    "Pendulum-v1": (pendulum.Pendulum, _pendulum_state, None),
}


def _gym_action(action, discrete):
    return int(action) if discrete else np.asarray(action, np.float32)


def _lockstep(env_id, options=None, gym_attrs=None, seeds=NUM_SEEDS):
    env_cls, to_gym, discrete = CASES[env_id]
    env = env_cls(per_episode_params=options is not None)
    gym_env = gymnasium.make(env_id).unwrapped
    for name, value in (gym_attrs or {}).items():
        setattr(gym_env, name, value)
    reset = jax.jit(lambda k: env.reset(k, options=options))
    step = jax.jit(env.step)
    terminations = 0
    for seed in range(seeds):
        key = jax.random.key(seed)
        state, _ = reset(key)
        rng = np.random.default_rng(seed)
        for t in range(NUM_STEPS):
            if discrete:
                action = jnp.asarray(rng.integers(discrete), jnp.int32)
            else:
                high = float(env.action_spec().maximum)
                # Slightly beyond the bounds, to exercise the clipping.
                action = jnp.asarray(rng.uniform(-1.2 * high, 1.2 * high, (1,)), jnp.float32)
            gym_env.state = to_gym(state)
            if env_id == "CartPole-v1":
                gym_env.steps_beyond_terminated = None
            gym_obs, gym_reward, gym_terminated, gym_truncated, _ = gym_env.step(
                _gym_action(action, discrete))
            state, ts = step(state, action)
            np.testing.assert_allclose(ts.observation, gym_obs, rtol=1e-5, atol=1e-5,
                                       err_msg=f"{env_id} seed {seed} step {t}")
            np.testing.assert_allclose(ts.reward, gym_reward, rtol=1e-5, atol=1e-5)
            assert ts.observation.dtype == jnp.float32 and ts.reward.dtype == jnp.float32
            assert bool(ts.last()) == gym_terminated and not gym_truncated
            assert float(ts.discount) == (0.0 if gym_terminated else 1.0)
            if gym_terminated:
                terminations += 1
                state, _ = reset(jax.random.fold_in(key, t))
    return terminations


@pytest.mark.parametrize("env_id", sorted(CASES))
def test_env__matches_gymnasium_in_lockstep(env_id):
    terminations = _lockstep(env_id)
    if env_id == "CartPole-v1":
        assert terminations > 0  # Random play drops the pole: terminations were compared.


def test_cartpole__params_override_matches_gymnasium_with_same_constants():
    _lockstep("CartPole-v1", options={"gravity": 5.0, "force_mag": 7.0},
              gym_attrs={"gravity": 5.0, "force_mag": 7.0}, seeds=3)


def test_pendulum__params_override_matches_gymnasium_with_same_constants():
    _lockstep("Pendulum-v1", options=pendulum.Params(g=3.7), gym_attrs={"g": 3.7}, seeds=3)


@pytest.mark.parametrize(("env_cls", "fields", "low", "high"), [
    (cartpole.CartPole, ("x", "x_dot", "theta", "theta_dot"), -0.05, 0.05),
    (acrobot.Acrobot, ("theta1", "theta2", "dtheta1", "dtheta2"), -0.1, 0.1),
    (mountain_car.MountainCar, ("position",), -0.6, -0.4),
    (mountain_car_continuous.MountainCarContinuous, ("position",), -0.6, -0.4),
    (pendulum.Pendulum, ("theta",), -np.pi, np.pi),
])
def test_reset__draws_from_gymnasium_initial_distribution(env_cls, fields, low, high):
    env = env_cls()
    states, _ = jax.jit(jax.vmap(env.reset))(jax.random.split(jax.random.key(0), 256))
    for name in fields:
        values = np.asarray(getattr(states, name))
        assert values.dtype == np.float32
        assert values.min() >= low and values.max() <= high
        assert values.max() - values.min() > 0.8 * (high - low)  # Spread over the range.


def test_params__dict_and_params_instance_give_the_same_state():
    env = cartpole.CartPole(per_episode_params=True)
    key = jax.random.key(3)
    from_dict, _ = env.reset(key, options={"gravity": 3.0})
    from_params, _ = env.reset(key, options=cartpole.Params(gravity=3.0))
    again, _ = env.reset(key, options=from_dict.options)
    for a, b, c in zip(jax.tree_util.tree_leaves(from_dict), jax.tree_util.tree_leaves(from_params),
                       jax.tree_util.tree_leaves(again)):
        np.testing.assert_array_equal(jax.random.key_data(a) if a.dtype == jax.random.key(0).dtype else a,
                                      jax.random.key_data(b) if b.dtype == jax.random.key(0).dtype else b)
        assert jnp.asarray(a).dtype == jnp.asarray(c).dtype
    assert float(from_dict.options.gravity) == 3.0
    assert float(from_dict.options.masscart) == 1.0


def test_params__survive_auto_reset():
    env = wrappers.AutoReset(jit_env.make("CartPole-v1", per_episode_params=True))
    state, _ = env.reset(jax.random.key(0), options={"gravity": 2.0})
    step = jax.jit(env.step)
    episodes = 0
    for _ in range(120):
        state, ts = step(state, jnp.int32(1))
        episodes += int(ts.first())
    assert episodes > 0
    assert float(state.options.gravity) == 2.0


def test_params__vmap_with_options_in_axes_gives_each_env_its_own():
    env = wrappers.Vmap(cartpole.CartPole(per_episode_params=True), options_in_axes=0)
    gravity = jnp.asarray([1.0, 9.8, 30.0], jnp.float32)
    # Every field needs the batch axis: broadcast the defaults, then set gravity.
    defaults = jax.tree_util.tree_map(lambda x: jnp.full((3,), x, jnp.float32), cartpole.Params())
    options = dataclasses.replace(defaults, gravity=gravity)
    keys = jnp.stack([jax.random.key(0)] * 3)
    counter = jit_env.testing.TraceCounter()
    reset = jax.jit(counter.wrap(lambda k, o: env.reset(k, options=o)))
    state, _ = reset(keys, options)
    state, _ = reset(keys, dataclasses.replace(defaults, gravity=gravity * 2))  # New values, no recompile.
    assert counter.count == 1
    np.testing.assert_array_equal(state.options.gravity, gravity * 2)
    for _ in range(10):
        state, ts = jax.jit(env.step)(state, jnp.zeros(3, jnp.int32))
    theta = np.asarray(ts.observation[:, 2])
    assert len(set(theta.tolist())) == 3  # Same start, different gravity: different paths.


def test_params__unknown_field_raises():
    fields = [f for f in cartpole.Params.__dataclass_fields__]
    with pytest.raises(ValueError) as info:
        cartpole.CartPole(per_episode_params=True).reset(jax.random.key(0), options={"gravty": 1.0})
    assert str(info.value) == _common.ERR_OPTIONS_FIELDS.format(
        env="CartPole", unknown=["gravty"], params="Params", fields=fields)


def test_params__wrong_type_raises():
    with pytest.raises(TypeError) as info:
        pendulum.Pendulum(per_episode_params=True).reset(jax.random.key(0), options=[1.0])
    assert str(info.value) == _common.ERR_OPTIONS_TYPE.format(env="Pendulum", params="Params", got="list")


def test_pendulum__never_terminates():
    env = pendulum.Pendulum()
    state, _ = env.reset(jax.random.key(0))

    def body(state, key):
        state, ts = env.step(state, env.action_spec().sample(key))
        return state, ts.step_type

    _, step_types = jax.jit(lambda s: jax.lax.scan(body, s, jax.random.split(jax.random.key(1), 300)))(state)
    assert np.all(np.asarray(step_types) == jit_env.StepType.MID)
