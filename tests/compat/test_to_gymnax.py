"""`compat.ToGymnax`: a jit_env environment under gymnax's API, against gymnax's own machinery."""

from __future__ import annotations

import copy
import re
from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import compat, specs, wrappers
from jit_env.compat import _checks, _to_gymnax

ENV_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0",
           "Pendulum-v1", "Catch-v0", "DeepSea-v0")


def _gymnax_rollout(env: Any, key: jax.Array, num_steps: int) -> Any:
    """gymnax's usual loop: reset once, then the auto-resetting `step` with random actions."""
    params = env.default_params
    obs, state = env.reset(key, params)

    def body(carry: Any, key: jax.Array) -> Any:
        _obs, state = carry
        action_key, step_key = jax.random.split(key)
        action = env.action_space(params).sample(action_key)
        out = env.step(step_key, state, action, params)
        return (out[0], out[1]), (action, out)

    _, (actions, outs) = jax.lax.scan(body, (obs, state), jax.random.split(key, num_steps))
    return obs, actions, outs


def _reference(env: jit_env.Environment, reset_key: jax.Array, keys: jax.Array, actions: Any) -> Any:
    """What gymnax's step over `env` must give, stepped by hand in Python."""
    state, _timestep = env.reset(reset_key)
    out = []
    for key, action in zip(keys, actions, strict=True):
        state, stepped = env.step(state, action)
        observation = stepped.observation
        if bool(stepped.last()):
            _, reset_key = jax.random.split(key)  # gymnax's step: (step key, reset key)
            state, first = env.reset(reset_key)
            observation = first.observation
        ends = bool(stepped.last())
        terminated = ends and float(stepped.discount) == 0.0
        out.append((observation, float(stepped.reward), terminated, ends and not terminated,
                    stepped.observation))
    return out


def test_to_gymnax__is_a_gymnax_environment() -> None:
    env = compat.ToGymnax(jit_env.make("CartPole-v1"))
    assert isinstance(env, gymnax.environments.environment.Environment)
    assert env.num_actions == 2
    assert env.default_params.max_steps_in_episode == 500
    assert isinstance(env.action_space(env.default_params), gymnax.environments.spaces.Discrete)
    assert repr(env) == "ToGymnax(TimeLimit(CartPole(), max_episode_steps=500))"


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1", "Catch-v0"])
def test_to_gymnax__step_equals_the_environment_with_gymnax_auto_reset(env_id: str) -> None:
    base = jit_env.make(env_id, max_episode_steps=9)
    env = compat.ToGymnax(base)
    key = jax.random.key(3)
    num_steps = 30
    first_obs, actions, outs = jax.jit(_gymnax_rollout, static_argnums=(0, 2))(env, key, num_steps)
    obs, _, reward, terminated, truncated, info = outs
    # The loop splits each key into (action, step); gymnax's step splits the step key into
    # (step, reset), and the reset key seeds the new episode.
    step_keys = jax.random.split(key, num_steps)
    want = _reference(base, key, [jax.random.split(k)[1] for k in step_keys],
                      [jax.tree.map(lambda x, i=i: x[i], actions) for i in range(num_steps)])
    np.testing.assert_array_equal(jax.tree.leaves(first_obs)[0], jax.tree.leaves(base.reset(key)[1].observation)[0])
    assert bool(jnp.any(terminated | truncated)), "the test needs an episode end"
    for t, (w_obs, w_reward, w_term, w_trunc, w_final) in enumerate(want):
        for got, expected in zip(jax.tree.leaves(jax.tree.map(lambda x, t=t: x[t], obs)),
                                 jax.tree.leaves(w_obs), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=f"step {t}")
        for got, expected in zip(jax.tree.leaves(jax.tree.map(lambda x, t=t: x[t], info["final_observation"])),
                                 jax.tree.leaves(w_final), strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=f"step {t}")
        assert float(reward[t]) == pytest.approx(w_reward, rel=1e-6)
        assert (bool(terminated[t]), bool(truncated[t])) == (w_term, w_trunc), f"step {t}"


def test_to_gymnax__time_limit_is_a_truncation_not_a_termination() -> None:
    env = compat.ToGymnax(jit_env.make("Pendulum-v1", max_episode_steps=5))
    _, _, (_, _, _, terminated, truncated, info) = _gymnax_rollout(env, jax.random.key(0), 10)
    np.testing.assert_array_equal(truncated, np.arange(1, 11) % 5 == 0)
    assert not bool(jnp.any(terminated))
    np.testing.assert_array_equal(info["discount"], np.ones(10, np.float32))


def test_to_gymnax__five_values_keep_both_flags_in_info() -> None:
    six = compat.ToGymnax(jit_env.make("CartPole-v1", max_episode_steps=15))
    five = compat.ToGymnax(jit_env.make("CartPole-v1", max_episode_steps=15), five_values=True)
    key = jax.random.key(1)
    _, _, (obs6, _, reward6, terminated, truncated, _) = _gymnax_rollout(six, key, 100)
    _, _, out5 = _gymnax_rollout(five, key, 100)
    assert len(out5) == 5
    obs5, _, reward5, done, info = out5
    np.testing.assert_array_equal(obs5, obs6)
    np.testing.assert_array_equal(reward5, reward6)
    np.testing.assert_array_equal(done, terminated | truncated)
    np.testing.assert_array_equal(info["terminated"], terminated)
    np.testing.assert_array_equal(info["truncated"], truncated)
    assert bool(jnp.any(truncated)) and bool(jnp.any(terminated))


def test_to_gymnax__vmap_over_a_batch_as_pure_jax_trainers_do() -> None:
    env = compat.ToGymnax(jit_env.make("CartPole-v1"))
    params = env.default_params
    keys = jax.random.split(jax.random.key(0), 8)
    _obs, state = jax.vmap(env.reset, in_axes=(0, None))(keys, params)
    actions = jnp.zeros(8, jnp.int32)
    out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(keys, state, actions, params)
    assert out[0].shape == (8, 4) and out[2].shape == (8,)
    assert jax.tree.structure(out[1]) == jax.tree.structure(state)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_to_gymnax__spaces_round_trip_through_from_gymnax(env_id: str) -> None:
    base = jit_env.make(env_id)
    env = compat.ToGymnax(base)
    for spec, space in ((base.observation_spec(), env.observation_space(None)),
                        (base.action_spec(), env.action_space(None))):
        back = compat.gymnax_space_to_spec(space)
        assert jax.tree.structure(specs.unpack_spec(back), is_leaf=specs.is_spec) == jax.tree.structure(
            specs.unpack_spec(spec), is_leaf=specs.is_spec)
        for got, want in zip(jax.tree.leaves(specs.unpack_spec(back), is_leaf=specs.is_spec),
                             jax.tree.leaves(specs.unpack_spec(spec), is_leaf=specs.is_spec), strict=True):
            assert (got.shape, got.dtype) == (want.shape, want.dtype)
            if isinstance(want, specs.BoundedArray):
                np.testing.assert_array_equal(np.broadcast_to(got.minimum, got.shape),
                                              np.broadcast_to(want.minimum, want.shape))
                np.testing.assert_array_equal(np.broadcast_to(got.maximum, got.shape),
                                              np.broadcast_to(want.maximum, want.shape))


def test_to_gymnax__from_gymnax_of_to_gymnax_is_the_environment() -> None:
    base = jit_env.make("CartPole-v1", max_episode_steps=6)
    twice = compat.FromGymnax(compat.ToGymnax(base), compat.ToGymnax(base).default_params)
    key = jax.random.key(5)
    _, ts_base = base.reset(key)
    state, ts = twice.reset(key)
    assert ts.observation.shape == ts_base.observation.shape
    for _ in range(8):
        state, ts = twice.step(state, jnp.int32(1))
        if bool(ts.last()):
            break
    assert bool(ts.last()) and float(ts.discount) in (0.0, 1.0)


def test_to_gymnax__copies_and_hashes_as_trainers_need() -> None:
    env = compat.ToGymnax(jit_env.make("CartPole-v1"), five_values=True)
    clone = copy.deepcopy(env)
    assert clone.five_values and clone.default_params == env.default_params
    assert isinstance(hash(env), int)
    obs, _state = clone.reset(jax.random.key(0), clone.default_params)
    assert obs.shape == (4,)


def test_to_gymnax__refuses_auto_resetting_environments() -> None:
    env = wrappers.AutoReset(jit_env.make("CartPole-v1"))
    with pytest.raises(ValueError, match=re.escape(_checks.ERR_AUTO_RESETS.format(
            bridge="ToGymnax", env=env, how=_to_gymnax.BRIDGE_HOW))):
        compat.ToGymnax(env)


def test_to_gymnax__refuses_batched_environments() -> None:
    env = wrappers.Tile(jit_env.make("CartPole-v1"), 2)
    with pytest.raises(ValueError, match=re.escape("ToGymnax runs one environment per sub-environment")):
        compat.ToGymnax(env)


def test_to_gymnax__refuses_a_bad_step_limit() -> None:
    with pytest.raises(ValueError, match=re.escape(_to_gymnax.ERR_NOT_INT.format("max_steps_in_episode", 0))):
        compat.ToGymnax(jit_env.make("CartPole-v1"), max_steps_in_episode=0)


def test_to_gymnax__unknown_spec_names_the_spec() -> None:
    spec = specs.Array((2,), np.complex64)
    with pytest.raises(NotImplementedError, match=re.escape(_to_gymnax.ERR_UNKNOWN_SPEC.format(spec))):
        compat.spec_to_gymnax_space(spec)


def test_to_gymnax__facade_imports_lazily() -> None:
    assert "ToGymnax" in compat.__all__ and "spec_to_gymnax_space" in compat.__all__
    assert compat.ToGymnax is _to_gymnax.ToGymnax
