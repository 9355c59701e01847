"""Default parameters are constants, not state leaves; given options are kept in the state.

With `options=None` a built-in environment stores `options=None` and uses its
default `Params` as NumPy float32 constants; with a `Params` or a dict it
stores the resolved float32 `Params`, as before.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jit_env import specs, wrappers
from jit_env.envs import _common, acrobot, cartpole, catch, deep_sea, mountain_car, mountain_car_continuous, pendulum

NUM_STEPS = 40

ENVS = {
    "CartPole": (cartpole.CartPole, cartpole.Params),
    "Acrobot": (acrobot.Acrobot, acrobot.Params),
    "MountainCar": (mountain_car.MountainCar, mountain_car.Params),
    "MountainCarContinuous": (mountain_car_continuous.MountainCarContinuous, mountain_car_continuous.Params),
    "Pendulum": (pendulum.Pendulum, pendulum.Params),
    "Catch": (catch.Catch, catch.Params),
    "DeepSea": (deep_sea.DeepSea, deep_sea.Params),
}


def _actions(env, num):
    """A fixed, varied action sequence inside the action spec."""
    spec = env.action_spec()
    t = np.arange(num)
    if isinstance(spec, specs.DiscreteArray):
        return jnp.asarray((t * 7 + t // 3) % int(spec.num_values), spec.dtype)
    fraction = (t * 0.37) % 1.0
    low, high = np.broadcast_to(spec.minimum, spec.shape), np.broadcast_to(spec.maximum, spec.shape)
    values = low + (high - low) * fraction.reshape((num,) + (1,) * len(spec.shape))
    return jnp.asarray(values, spec.dtype)


def _rollout(env, key, options, actions):
    """Reset then step through `actions`: (observations, rewards, discounts, final state), eagerly."""
    state, ts = env.reset(key, options=options)
    observations, rewards, discounts = [ts.observation], [], []
    for action in actions:
        state, ts = env.step(state, action)
        observations.append(ts.observation)
        rewards.append(ts.reward)
        discounts.append(ts.discount)
    return observations, rewards, discounts, state


def _scanned(env, options):
    def run(key, actions):
        state, ts = env.reset(key, options=options)

        def body(state, action):
            state, ts = env.step(state, action)
            return state, (ts.observation, ts.reward, ts.discount)

        _, (observations, rewards, discounts) = jax.lax.scan(body, state, actions)
        return ts.observation, observations, rewards, discounts

    return jax.jit(run)


def _assert_trees_equal(a, b, tolerance=None):
    """Leaf by leaf: bit for bit, or to `tolerance` (rtol = atol) where given."""
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(leaves_a, leaves_b, strict=True):
        if tolerance is None:
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        else:
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tolerance, atol=tolerance)


def _stack(values):
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *values)


@pytest.mark.parametrize("name", ENVS)
def test_default_params__reset_stores_none_and_fewer_leaves(name):
    env_cls, params_cls = ENVS[name]
    env = env_cls()
    key = jax.random.key(0)
    default_state, _ = env.reset(key)
    given_state, _ = env.reset(key, options={})
    assert default_state.options is None
    assert isinstance(given_state.options, params_cls)
    num_fields = len(dataclasses.fields(params_cls))
    assert (len(jax.tree_util.tree_leaves(given_state))
            == len(jax.tree_util.tree_leaves(default_state)) + num_fields)
    stepped, _ = env.step(default_state, env.action_spec().generate_value())
    assert stepped.options is None
    # The same fresh state either way, apart from the parameters.
    _assert_trees_equal(env.reset(key)[1].observation, env.reset(key, options={})[1].observation)


def test_default_params__cartpole_has_nine_fewer_leaves():
    env = cartpole.CartPole()
    default_state, _ = env.reset(jax.random.key(0))
    given_state, _ = env.reset(jax.random.key(0), options={})
    assert len(jax.tree_util.tree_leaves(default_state)) == 5
    assert len(jax.tree_util.tree_leaves(given_state)) == 5 + 9


def test_default_params__are_numpy_float32_constants():
    params = _common.params_of(None, cartpole.Params)
    for field in dataclasses.fields(cartpole.Params):
        value = getattr(params, field.name)
        assert type(value) is np.float32, field.name
        assert value == np.float32(getattr(cartpole.Params(), field.name))
    given = cartpole.Params(gravity=jnp.float32(3.0))
    assert _common.params_of(given, cartpole.Params) is given


def _theta_dot_after_push_left(gravity, theta=0.1):
    """Gymnasium's CartPole: theta_dot after one step from rest at `theta`, pushed left."""
    masscart, masspole, length, force, tau = 1.0, 0.1, 0.5, -10.0, 0.02
    total = masscart + masspole
    cos, sin = np.cos(theta), np.sin(theta)
    temp = force / total
    thetaacc = (gravity * sin - cos * temp) / (length * (4.0 / 3.0 - masspole * cos**2 / total))
    return tau * thetaacc


@pytest.mark.parametrize("transform", ["eager", "jit"])
def test_default_params__given_options_are_stored_float32_and_used(transform):
    env = cartpole.CartPole()
    reset = env.reset if transform == "eager" else jax.jit(env.reset)
    step = env.step if transform == "eager" else jax.jit(env.step)
    state, _ = reset(jax.random.key(1), options={"gravity": 3.7})
    assert isinstance(state.options, cartpole.Params)
    for field in dataclasses.fields(cartpole.Params):
        assert jnp.asarray(getattr(state.options, field.name)).dtype == jnp.float32, field.name
    assert float(state.options.gravity) == float(np.float32(3.7))
    default, _ = reset(jax.random.key(1))
    assert default.options is None
    np.testing.assert_array_equal(np.asarray(state.theta), np.asarray(default.theta))
    at_rest = {"x_dot": jnp.float32(0.0), "theta": jnp.float32(0.1), "theta_dot": jnp.float32(0.0)}
    state, _ = step(dataclasses.replace(state, **at_rest), jnp.int32(0))
    default, _ = step(dataclasses.replace(default, **at_rest), jnp.int32(0))
    assert isinstance(state.options, cartpole.Params) and default.options is None
    assert float(state.options.gravity) == float(np.float32(3.7))
    np.testing.assert_allclose(float(state.theta_dot), _theta_dot_after_push_left(3.7), rtol=1e-5)
    np.testing.assert_allclose(float(default.theta_dot), _theta_dot_after_push_left(9.8), rtol=1e-5)


@pytest.mark.parametrize("name", ENVS)
def test_default_params__same_trajectory_as_explicit_defaults(name):
    env_cls, params_cls = ENVS[name]
    env = env_cls()
    actions = _actions(env, NUM_STEPS)
    key = jax.random.key(5)
    # Eagerly, the constants and the stored float32 parameters give the same bits.
    default = _rollout(env, key, None, actions)
    explicit = _rollout(env, key, params_cls(), actions)
    assert default[3].options is None and isinstance(explicit[3].options, params_cls)
    for a, b in zip(default[:3], explicit[:3], strict=True):
        _assert_trees_equal(_stack(a), _stack(b))
    # Under jit, XLA folds the constants, so results may differ in the last bit.
    jit_default = _scanned(env, None)(key, actions)
    jit_explicit = _scanned(env, params_cls())(key, actions)
    _assert_trees_equal(jit_default, jit_explicit, tolerance=1e-6)
    # And the jitted default trajectory is the eager one (to the same tolerance).
    eager_obs = _stack(default[0])
    _assert_trees_equal(jit_default[0], jax.tree_util.tree_map(lambda x: x[0], eager_obs), tolerance=1e-6)
    _assert_trees_equal(jit_default[1], jax.tree_util.tree_map(lambda x: x[1:], eager_obs), tolerance=1e-6)
    _assert_trees_equal(jit_default[2], _stack(default[1]), tolerance=1e-6)


@pytest.mark.parametrize("name", ["CartPole", "Pendulum", "Catch"])
def test_default_params__render_uses_the_same_parameters(name):
    env_cls, params_cls = ENVS[name]
    env = env_cls()
    key = jax.random.key(2)
    default, _ = env.reset(key)
    explicit, _ = env.reset(key, options=params_cls())
    np.testing.assert_array_equal(np.asarray(jax.jit(env.render)(default)),
                                  np.asarray(jax.jit(env.render)(explicit)))


def test_default_params__auto_reset_keeps_none_and_given_options():
    env = wrappers.VmapAutoReset(wrappers.TimeLimit(cartpole.CartPole(), max_episode_steps=5))
    keys = jax.random.split(jax.random.key(0), 3)
    step = jax.jit(env.step)
    state, _ = env.reset(keys)
    given, _ = env.reset(keys, options={"gravity": 2.0})
    actions = jnp.zeros(3, jnp.int32)
    for _ in range(12):  # Two auto-resets.
        state, _ = step(state, actions)
        given, _ = step(given, actions)
    assert jax.tree_util.tree_structure(state) == jax.tree_util.tree_structure(env.reset(keys)[0])
    assert len(jax.tree_util.tree_leaves(given)) == len(jax.tree_util.tree_leaves(state)) + 9
    assert jax.tree_util.tree_structure(given) == jax.tree_util.tree_structure(
        env.reset(keys, options={"gravity": 2.0})[0])
