"""The bridges with reset options: one state structure, one set of jitted functions.

A built-in environment fixes its state's structure when it is built
(`per_episode_params`), so reset options fill values and never change the
structure: each bridge builds its jitted functions once, and a masked vector
reset may bring new options, as Gymnasium's SyncVectorEnv allows.
"""

import re

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import jit_env
from jit_env import compat
from jit_env.envs import _common

NUM = 3
GRAVITY = 3.7


def _cartpole():
    return jit_env.make("CartPole-v1", per_episode_params=True)


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


def _compiled(jitted):
    """How many traces each of a bridge's jitted step and render holds (`jax.jit`'s cache)."""
    return jitted.step._cache_size(), jitted.render._cache_size()


def test_to_gymnasium__reset_options_fill_values_in_one_state_structure():
    bridge = compat.ToGymnasium(_cartpole(), render_mode="rgb_array")
    jitted = bridge._jitted
    bridge.reset(seed=0)
    structure = jax.tree_util.tree_structure(bridge.state)
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32(9.8))
    bridge.step(1)
    frame = bridge.render()

    bridge.reset(seed=0, options={"gravity": GRAVITY})
    assert jax.tree_util.tree_structure(bridge.state) == structure
    assert float(bridge.state.options.gravity) == float(np.float32(GRAVITY))
    before = bridge.state
    obs, *_ = bridge.step(1)
    np.testing.assert_allclose(obs, _expected_step(before, jnp.int32(1)), rtol=1e-6, atol=1e-6)
    assert float(bridge.state.options.gravity) == float(np.float32(GRAVITY))
    assert bridge.render().shape == frame.shape

    # Gravity changes the dynamics: the same start and action, another observation.
    bridge.reset(seed=0)
    obs_default, *_ = bridge.step(1)
    assert not np.allclose(obs_default, obs)
    assert bridge.render().shape == frame.shape
    # One set of jitted functions, each step and render traced once.
    assert bridge._jitted is jitted
    assert _compiled(jitted) == (1, 1)


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
    expected = 9.8 if options is None else GRAVITY
    assert float(bridge.state.options.gravity) == float(np.float32(expected))
    before = bridge.state
    ts = bridge.step(np.int32(1))
    np.testing.assert_allclose(ts.observation, _expected_step(before, jnp.int32(1)), rtol=1e-6, atol=1e-6)
    bridge.reset()
    assert jax.tree_util.tree_structure(bridge.state) == jax.tree_util.tree_structure(before)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__reset_options_fill_values_in_one_state_structure(mode):
    bridge = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=mode, render_mode="rgb_array")
    jitted = bridge._jitted
    actions = np.ones(NUM, np.int64)
    bridge.reset(seed=0)
    structure = jax.tree_util.tree_structure(bridge.state)
    bridge.step(actions)
    frames = bridge.render()

    bridge.reset(seed=0, options={"gravity": GRAVITY})
    assert jax.tree_util.tree_structure(bridge.state) == structure
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32(GRAVITY))
    before = _copy(bridge.state)  # The step donates the state's buffers.
    obs, *_ = bridge.step(actions)
    np.testing.assert_allclose(
        obs, _expected_vector_step(bridge, before, jnp.ones(NUM, jnp.int32)), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32(GRAVITY))
    assert bridge.render().shape == frames.shape

    bridge.reset(seed=0)
    np.testing.assert_array_equal(bridge.state.options.gravity, np.float32(9.8))
    obs_default, *_ = bridge.step(actions)
    assert not np.allclose(obs_default, obs)
    assert bridge.render().shape == frames.shape
    assert bridge._jitted is jitted
    assert _compiled(jitted) == (1, 1)


@pytest.mark.parametrize("first", [None, {"gravity": GRAVITY}])
def test_to_gymnasium_vector__masked_reset_with_new_options_as_sync_vector_env(first):
    """Only the masked rows reset, with the new options; the others keep theirs (as SyncVectorEnv)."""
    ours = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=AutoresetMode.DISABLED)
    ref = gymnasium.vector.SyncVectorEnv(
        [lambda: compat.ToGymnasium(_cartpole()) for _ in range(NUM)], autoreset_mode=AutoresetMode.DISABLED)
    seeds = [10, 11, 12]
    got = ours.reset(seed=seeds, options=first)
    want = ref.reset(seed=seeds, options=None if first is None else dict(first))
    np.testing.assert_array_equal(got[0], want[0])
    actions = np.array([0, 1, 1], np.int64)
    for a, b in zip(ours.step(actions)[:4], ref.step(actions)[:4], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    kept = np.float32(9.8 if first is None else GRAVITY)

    mask = np.array([True, False, True])
    masked_seeds = [20, None, 22]
    got = ours.reset(seed=masked_seeds, options={"reset_mask": mask.copy(), "gravity": 5.0})
    want = ref.reset(seed=masked_seeds, options={"reset_mask": mask.copy(), "gravity": 5.0})
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(ours.state.options.gravity, np.float32([5.0, kept, 5.0]))
    for _ in range(5):
        actions = np.array([1, 0, 1], np.int64)
        for a, b in zip(ours.step(actions)[:4], ref.step(actions)[:4], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ours.state.options.gravity, np.float32([5.0, kept, 5.0]))

    # Then other fields for the masked rows only: the rest of their Params are the defaults.
    ours.reset(options={"reset_mask": mask.copy(), "masscart": 2.0})
    np.testing.assert_array_equal(ours.state.options.masscart, np.float32([2.0, 1.0, 2.0]))
    np.testing.assert_array_equal(ours.state.options.gravity, np.float32([9.8, kept, 9.8]))
    ours.step(np.zeros(NUM, np.int64))


def test_to_gymnasium_vector__masked_reset_keeps_one_set_of_jitted_functions():
    bridge = compat.ToGymnasiumVector(_cartpole(), NUM, autoreset_mode=AutoresetMode.DISABLED)
    jitted = bridge._jitted
    bridge.reset(seed=0)
    mask = np.array([True, False, False])
    for options in ({"gravity": 5.0}, {}, {"gravity": 6.0}, None):
        bridge.reset(options={"reset_mask": mask, **(options or {})})
        bridge.step(np.zeros(NUM, np.int64))
    assert bridge._jitted is jitted
    assert jitted.step._cache_size() == 1


@pytest.mark.parametrize("bridge", [
    lambda env: compat.ToGymnasium(env),
    lambda env: compat.ToGymnasiumVector(env, NUM),
])
def test_gymnasium_bridges__options_on_an_env_with_fixed_params_name_the_flag(bridge):
    env = jit_env.make("CartPole-v1")
    bridge = bridge(env)
    bridge.reset(seed=0)
    message = _common.ERR_OPTIONS_NOT_TAKEN.format(env="CartPole", got="dict", cls="CartPole")
    with pytest.raises(ValueError, match=re.escape(message)):
        bridge.reset(seed=0, options={"gravity": GRAVITY})
    bridge.step(bridge.action_space.sample())


class _StructureFromOptions(jit_env.Wrapper):
    """Breaks the rule: the state gains a leaf when reset gets options."""

    def reset(self, key, *, options=None):
        state, timestep = self._env.reset(key)
        return (state if options is None else {"inner": state, "extra": jnp.zeros(())}), timestep


def test_to_gymnasium__a_state_structure_that_depends_on_options_is_named_at_reset():
    bridge = compat.ToGymnasium(_StructureFromOptions(jit_env.make("CartPole-v1")))
    bridge.reset(seed=0)
    with pytest.raises(ValueError, match=re.escape("the environment must fix that structure when it is built")):
        bridge.reset(seed=0, options={"anything": 1.0})
    bridge.step(1)  # The bridge still runs the episode it had.
