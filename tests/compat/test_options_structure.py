"""The bridges with reset options that change the state's structure.

A built-in environment stores its parameters in the state only when reset got
options (`state.options` is None otherwise), so the bridges build their jitted
functions per options structure and switch between them on `reset`.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import jit_env
from jit_env import compat
from jit_env.compat import _checks, _gymnasium_vector

NUM = 3
GRAVITY = 3.7


def _cartpole():
    return jit_env.make("CartPole-v1")


def _host(tree):
    """A NumPy copy of a state (PRNG keys as their key data); the vector bridge donates its state."""
    return jax.tree_util.tree_map(
        lambda x: np.array(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key) else x), tree)


def _copy(tree):
    return jax.tree_util.tree_map(lambda x: x.copy(), tree)


def _expected_step(state, action):
    """The environment's own step from the bridge's (decoded) state, eagerly."""
    _, ts = _cartpole().step(state, action)
    return np.asarray(ts.observation)


def _expected_vector_step(bridge, state, actions):
    """The bridge's batched environment (`Tile` or `TileAutoReset`) stepped eagerly."""
    _, ts = bridge._batched.step(state, actions)
    return np.asarray(ts.observation)


def test_per_options__builds_once_per_structure():
    built = []
    per_options = _checks.PerOptions(lambda options: built.append(options) or object())
    first = per_options.get(None)
    given = per_options.get({"gravity": 1.0})
    assert per_options.get({"gravity": 2.0}) is given
    assert per_options.get(None) is first
    assert per_options.get({"masscart": 2.0}) is not given
    assert len(per_options) == 3
    assert built == [None, {"gravity": 1.0}, {"masscart": 2.0}]


def test_to_gymnasium__reset_options_change_the_state_structure_and_back():
    bridge = compat.ToGymnasium(_cartpole(), render_mode="rgb_array")
    bridge.reset(seed=0)
    assert bridge.state.options is None
    bridge.step(1)
    frame = bridge.render()

    bridge.reset(seed=0, options={"gravity": GRAVITY})
    assert float(bridge.state.options.gravity) == float(np.float32(GRAVITY))
    before = bridge.state
    obs, *_ = bridge.step(1)
    np.testing.assert_allclose(obs, _expected_step(before, jnp.int32(1)), rtol=1e-6, atol=1e-6)
    assert float(bridge.state.options.gravity) == float(np.float32(GRAVITY))
    assert bridge.render().shape == frame.shape

    # Gravity changes the dynamics: the same start and action, another observation.
    bridge.reset(seed=0)
    assert bridge.state.options is None
    obs_default, *_ = bridge.step(1)
    assert not np.allclose(obs_default, obs)
    assert bridge.render().shape == frame.shape
    assert len(bridge._per_options) == 2


def test_to_gymnasium__given_construction_options_then_default_reset_options():
    params = jit_env.envs.CartPoleParams(gravity=GRAVITY)
    bridge = compat.ToGymnasium(_cartpole(), options=params)
    bridge.reset(seed=0)
    assert float(bridge.state.options.gravity) == float(np.float32(GRAVITY))
    bridge.reset(seed=0, options={"masscart": 2.0})
    assert float(bridge.state.options.masscart) == 2.0
    assert float(bridge.state.options.gravity) == float(np.float32(9.8))
    before = bridge.state
    obs, *_ = bridge.step(0)
    np.testing.assert_allclose(obs, _expected_step(before, jnp.int32(0)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("options", [None, {"gravity": GRAVITY}])
def test_to_deepmind_env__default_and_given_construction_options(options):
    # dm_env's reset takes no options: the construction options hold for every episode.
    bridge = compat.ToDeepmindEnv(_cartpole(), options=options)
    bridge.reset()
    if options is None:
        assert bridge.state.options is None
    else:
        assert float(bridge.state.options.gravity) == float(np.float32(GRAVITY))
    before = bridge.state
    ts = bridge.step(np.int32(1))
    np.testing.assert_allclose(ts.observation, _expected_step(before, jnp.int32(1)), rtol=1e-6, atol=1e-6)
    bridge.reset()
    assert jax.tree_util.tree_structure(bridge.state) == jax.tree_util.tree_structure(before)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__reset_options_change_the_state_structure_and_back(mode):
    bridge = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=mode, render_mode="rgb_array")
    actions = np.ones(NUM, np.int64)
    bridge.reset(seed=0)
    assert bridge.state.options is None
    bridge.step(actions)
    frames = bridge.render()

    bridge.reset(seed=0, options={"gravity": GRAVITY})
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32(GRAVITY))
    before = _copy(bridge.state)  # The step donates the state's buffers.
    obs, *_ = bridge.step(actions)
    np.testing.assert_allclose(
        obs, _expected_vector_step(bridge, before, jnp.ones(NUM, jnp.int32)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32(GRAVITY))
    assert bridge.render().shape == frames.shape

    bridge.reset(seed=0)
    assert bridge.state.options is None
    obs_default, *_ = bridge.step(actions)
    assert not np.allclose(obs_default, obs)
    assert bridge.render().shape == frames.shape
    assert len(bridge._per_options) == 2


def test_to_gymnasium_vector__masked_reset_keeps_the_structure():
    bridge = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=AutoresetMode.DISABLED)
    mask = np.array([True, False, True])
    bridge.reset(seed=0, options={"gravity": GRAVITY})
    bridge.step(np.zeros(NUM, np.int64))
    # Other options of the same state structure: only the masked rows take them.
    bridge.reset(options={"reset_mask": mask, "gravity": 5.0})
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32([5.0, GRAVITY, 5.0]))
    bridge.reset(options={"reset_mask": mask, "masscart": 2.0})
    np.testing.assert_array_equal(bridge.state.options.masscart, np.float32([2.0, 1.0, 2.0]))
    bridge.step(np.zeros(NUM, np.int64))


@pytest.mark.parametrize("first, masked", [
    (None, {"gravity": GRAVITY}),
    ({"gravity": GRAVITY}, {}),
])
def test_to_gymnasium_vector__masked_reset_with_another_structure_is_value_error(first, masked):
    bridge = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=AutoresetMode.DISABLED)
    bridge.reset(seed=0, options=first)
    state = _host(bridge.state)
    mask = np.array([True, False, False])
    with pytest.raises(ValueError) as info:
        bridge.reset(options={"reset_mask": mask, **masked})
    env_options = None if not masked else masked
    assert str(info.value) == _gymnasium_vector.ERR_MASKED_OPTIONS.format(
        current=jax.tree_util.tree_structure(first), got=env_options)
    # Nothing changed: the bridge still steps its current state.
    jax.tree_util.tree_map(np.testing.assert_array_equal, _host(bridge.state), state)
    bridge.step(np.zeros(NUM, np.int64))
    # A full reset with the new options, then the masked reset works.
    bridge.reset(options=masked or None)
    bridge.reset(options={"reset_mask": mask, **masked})
