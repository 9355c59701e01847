"""Built-in environments fix their state's structure when built; reset options fill values.

Built with fixed parameters (the default), an environment uses its `Params`
as NumPy float32 constants, stores `options=None` and refuses reset options;
built with `per_episode_params=True`, every state holds the episode's float32
`Params`, with or without reset options.
"""

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
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
def test_params__fixed_params_state_has_no_param_leaves_and_reset_refuses_options(name):
    env_cls, params_cls = ENVS[name]
    env = env_cls()
    state, _ = env.reset(jax.random.key(0))
    assert state.options is None
    stepped, _ = env.step(state, env.action_spec().generate_value())
    assert stepped.options is None
    for options in ({}, {"x": 1.0}, params_cls()):
        message = _common.ERR_OPTIONS_NOT_TAKEN.format(env=name, got=type(options).__name__, cls=name)
        with pytest.raises(ValueError, match=re.escape(message)):
            env.reset(jax.random.key(0), options=options)


@pytest.mark.parametrize("name", ENVS)
def test_params__per_episode_state_structure_is_the_same_with_and_without_options(name):
    """The bug: the state's structure depended on whether reset got options."""
    env_cls, params_cls = ENVS[name]
    env = env_cls(per_episode_params=True)
    key = jax.random.key(0)
    field = dataclasses.fields(params_cls)[0].name
    structures = {
        jax.tree_util.tree_structure(jax.eval_shape(lambda o=o: env.reset(key, options=o)))
        for o in (None, {}, {field: 2.0}, params_cls())}
    assert len(structures) == 1
    default_state, _ = env.reset(key)
    assert isinstance(default_state.options, params_cls)
    num_fields = len(dataclasses.fields(params_cls))
    fixed_state, _ = env_cls().reset(key)
    assert (len(jax.tree_util.tree_leaves(default_state))
            == len(jax.tree_util.tree_leaves(fixed_state)) + num_fields)
    # Filled with the construction parameters (the defaults here), as float32 arrays.
    for f in dataclasses.fields(params_cls):
        value = getattr(default_state.options, f.name)
        assert jnp.asarray(value).dtype == jnp.float32, f.name
        assert value == np.float32(getattr(params_cls(), f.name)), f.name
    # The same fresh observation either way.
    _assert_trees_equal(env.reset(key)[1].observation, env_cls().reset(key)[1].observation)


def test_params__cartpole_has_nine_fewer_leaves_with_fixed_params():
    default_state, _ = cartpole.CartPole().reset(jax.random.key(0))
    per_episode_state, _ = cartpole.CartPole(per_episode_params=True).reset(jax.random.key(0))
    assert len(jax.tree_util.tree_leaves(default_state)) == 5
    assert len(jax.tree_util.tree_leaves(per_episode_state)) == 5 + 9


def test_params__construction_params_are_numpy_float32_constants():
    env_params = _common.EpisodeParams("CartPole", cartpole.Params, {"gravity": 3.7}, False)
    for field in dataclasses.fields(cartpole.Params):
        value = getattr(env_params.constants, field.name)
        assert type(value) is np.float32, field.name
    assert env_params.constants.gravity == np.float32(3.7)
    assert env_params.constants.masscart == np.float32(1.0)
    assert env_params.of(None) is env_params.constants
    given = cartpole.Params(gravity=jnp.float32(3.0))
    assert _common.EpisodeParams("CartPole", cartpole.Params, None, True).of(given) is given


def test_params__bad_construction_arguments_raise():
    fields = [f.name for f in dataclasses.fields(cartpole.Params)]
    with pytest.raises(ValueError, match=re.escape(_common.ERR_PARAMS_FIELDS.format(
            env="CartPole", unknown=["gravty"], params="Params", fields=fields))):
        cartpole.CartPole(params={"gravty": 1.0})
    with pytest.raises(TypeError, match=re.escape(_common.ERR_PARAMS_TYPE.format(
            env="Pendulum", params="Params", got="list"))):
        pendulum.Pendulum(params=[1.0])
    with pytest.raises(ValueError, match=re.escape(_common.ERR_PER_EPISODE_FLAG.format(env="Catch", got="yes"))):
        catch.Catch(per_episode_params="yes")


def test_params__repr_reads_like_the_constructor_call():
    assert repr(cartpole.CartPole()) == "CartPole()"
    assert repr(cartpole.CartPole(params={"gravity": 3.7}, per_episode_params=True)) == (
        "CartPole(params={'gravity': 3.7}, per_episode_params=True)")
    assert repr(catch.Catch(rows=3, params=catch.Params(reward_catch=2.0))) == (
        "Catch(rows=3, columns=5, params={'reward_catch': 2.0})")
    assert repr(jit_env.make("CartPole-v1", per_episode_params=True)) == (
        "TimeLimit(CartPole(per_episode_params=True), max_episode_steps=500)")


def _theta_dot_after_push_left(gravity, theta=0.1):
    """Gymnasium's CartPole: theta_dot after one step from rest at `theta`, pushed left."""
    masscart, masspole, length, force, tau = 1.0, 0.1, 0.5, -10.0, 0.02
    total = masscart + masspole
    cos, sin = np.cos(theta), np.sin(theta)
    temp = force / total
    thetaacc = (gravity * sin - cos * temp) / (length * (4.0 / 3.0 - masspole * cos**2 / total))
    return tau * thetaacc


@pytest.mark.parametrize("transform", ["eager", "jit"])
def test_params__given_options_are_stored_float32_and_used(transform):
    env = cartpole.CartPole(per_episode_params=True)
    reset = env.reset if transform == "eager" else jax.jit(env.reset)
    step = env.step if transform == "eager" else jax.jit(env.step)
    state, _ = reset(jax.random.key(1), options={"gravity": 3.7})
    assert isinstance(state.options, cartpole.Params)
    for field in dataclasses.fields(cartpole.Params):
        assert jnp.asarray(getattr(state.options, field.name)).dtype == jnp.float32, field.name
    assert float(state.options.gravity) == float(np.float32(3.7))
    default, _ = reset(jax.random.key(1))
    assert float(default.options.gravity) == float(np.float32(9.8))
    np.testing.assert_array_equal(np.asarray(state.theta), np.asarray(default.theta))
    at_rest = {"x_dot": jnp.float32(0.0), "theta": jnp.float32(0.1), "theta_dot": jnp.float32(0.0)}
    state, _ = step(dataclasses.replace(state, **at_rest), jnp.int32(0))
    default, _ = step(dataclasses.replace(default, **at_rest), jnp.int32(0))
    assert float(state.options.gravity) == float(np.float32(3.7))
    np.testing.assert_allclose(float(state.theta_dot), _theta_dot_after_push_left(3.7), rtol=1e-5)
    np.testing.assert_allclose(float(default.theta_dot), _theta_dot_after_push_left(9.8), rtol=1e-5)


@pytest.mark.parametrize("transform", ["eager", "jit"])
def test_params__construction_params_are_used_and_fill_per_episode_states(transform):
    fixed = cartpole.CartPole(params={"gravity": 3.7})
    per_episode = cartpole.CartPole(params={"gravity": 3.7}, per_episode_params=True)
    at_rest = {"x_dot": jnp.float32(0.0), "theta": jnp.float32(0.1), "theta_dot": jnp.float32(0.0)}
    for env in (fixed, per_episode):
        step = env.step if transform == "eager" else jax.jit(env.step)
        state, _ = env.reset(jax.random.key(1))
        state, _ = step(dataclasses.replace(state, **at_rest), jnp.int32(0))
        np.testing.assert_allclose(float(state.theta_dot), _theta_dot_after_push_left(3.7), rtol=1e-5)
    assert float(per_episode.reset(jax.random.key(1))[0].options.gravity) == float(np.float32(3.7))
    # A dict overrides fields of the construction parameters.
    state, _ = per_episode.reset(jax.random.key(1), options={"masscart": 2.0})
    assert float(state.options.gravity) == float(np.float32(3.7)) and float(state.options.masscart) == 2.0


@pytest.mark.parametrize("name", ENVS)
def test_params__fixed_and_per_episode_defaults_give_the_same_trajectory(name):
    env_cls, params_cls = ENVS[name]
    env, per_episode = env_cls(), env_cls(per_episode_params=True)
    actions = _actions(env, NUM_STEPS)
    key = jax.random.key(5)
    # Eagerly, the constants and the stored float32 parameters give the same bits.
    default = _rollout(env, key, None, actions)
    explicit = _rollout(per_episode, key, params_cls(), actions)
    assert default[3].options is None and isinstance(explicit[3].options, params_cls)
    for a, b in zip(default[:3], explicit[:3], strict=True):
        _assert_trees_equal(_stack(a), _stack(b))
    # Under jit, XLA folds the constants, so results may differ in the last bit.
    jit_default = _scanned(env, None)(key, actions)
    jit_explicit = _scanned(per_episode, None)(key, actions)
    _assert_trees_equal(jit_default, jit_explicit, tolerance=1e-6)
    # And the jitted default trajectory is the eager one (to the same tolerance).
    eager_obs = _stack(default[0])
    _assert_trees_equal(jit_default[0], jax.tree_util.tree_map(lambda x: x[0], eager_obs), tolerance=1e-6)
    _assert_trees_equal(jit_default[1], jax.tree_util.tree_map(lambda x: x[1:], eager_obs), tolerance=1e-6)
    _assert_trees_equal(jit_default[2], _stack(default[1]), tolerance=1e-6)


@pytest.mark.parametrize("name", ["CartPole", "Pendulum", "Catch"])
def test_params__render_uses_the_same_parameters(name):
    env_cls, params_cls = ENVS[name]
    env, per_episode = env_cls(), env_cls(per_episode_params=True)
    key = jax.random.key(2)
    default, _ = env.reset(key)
    explicit, _ = per_episode.reset(key, options=params_cls())
    np.testing.assert_array_equal(np.asarray(jax.jit(env.render)(default)),
                                  np.asarray(jax.jit(per_episode.render)(explicit)))


def test_params__auto_reset_keeps_the_structure_and_given_options():
    env = wrappers.VmapAutoReset(wrappers.TimeLimit(cartpole.CartPole(per_episode_params=True), max_episode_steps=5))
    keys = jax.random.split(jax.random.key(0), 3)
    counter = jit_env.testing.TraceCounter()
    step = jax.jit(counter.wrap(env.step))
    state, _ = env.reset(keys)
    given, _ = env.reset(keys, options={"gravity": 2.0})
    actions = jnp.zeros(3, jnp.int32)
    for _ in range(12):  # Two auto-resets.
        state, _ = step(state, actions)
        given, _ = step(given, actions)
    assert counter.count == 1  # One structure: one trace for both.
    assert jax.tree_util.tree_structure(given) == jax.tree_util.tree_structure(state)
    np.testing.assert_array_equal(given.options.gravity, np.float32(2.0))
    np.testing.assert_array_equal(state.options.gravity, np.float32(9.8))
