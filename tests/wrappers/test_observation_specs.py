"""Observation wrappers whose specs tell the truth: NormalizeObservation and ExtendObservation."""

import pickle

import jax
import jax.numpy as jnp
import numpy as np

import jit_env
from jit_env import specs, testing, wrappers
from jit_env.compat import _gymnasium


def test_normalize_observation__spec_is_unbounded_with_the_inner_shape_and_dtype():
    inner = jit_env.make("Pendulum-v1")
    env = wrappers.NormalizeObservation(inner)
    spec = env.observation_spec()
    assert type(spec) is specs.Array
    assert (spec.shape, spec.dtype, spec.name) == (inner.observation_spec().shape, inner.observation_spec().dtype,
                                                   inner.observation_spec().name)
    batched = wrappers.NormalizeObservation(wrappers.Tile(inner, num=3)).observation_spec()
    assert specs.unpack_spec(batched) == specs.Array((3, 3), jnp.float32, spec.name)


def test_normalize_observation__passes_the_environment_checker():
    testing.check_environment(wrappers.NormalizeObservation(jit_env.make("Pendulum-v1")), num_steps=50)


def test_normalize_observation__gymnasium_observations_stay_in_the_space():
    env = _gymnasium.ToGymnasium(wrappers.NormalizeObservation(jit_env.make("Pendulum-v1")), seed=0)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    outside = 0
    for _ in range(50):
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs), obs
        outside += int(np.any(np.abs(obs) > 1.0))  # values the inner Box [-1, 1]/[-8, 8] would refuse
        if terminated or truncated:
            obs, _ = env.reset()
    assert outside > 0  # the check above was not vacuous
    env.close()
