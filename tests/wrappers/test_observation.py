"""Observation wrappers whose specs tell the truth: NormalizeObservation and ExtendObservation."""

import pickle
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

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
    batched = wrappers.NormalizeObservation(wrappers.Tile(inner, num_envs=3)).observation_spec()
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


class _CountResets(jit_env.Wrapper):
    """Counts calls of `reset` (each trace is one)."""

    def __init__(self, env):
        super().__init__(env)
        self.resets = 0

    def reset(self, key, *, options=None):
        self.resets += 1
        return self._env.reset(key, options=options)

    def step(self, state, action):
        return self._env.step(state, action)


def test_extend_observation__one_type_per_fields_equal_treedefs_and_picklable():
    fields = ("observation", "action", "step_type")
    a = wrappers.ExtendObservation(jit_env.make("CartPole-v1"), *fields)
    b = wrappers.ExtendObservation(jit_env.make("CartPole-v1"), *fields)
    assert a.ObsStruct is b.ObsStruct and a.observation_spec() == b.observation_spec()
    _, ts_a = a.reset(jax.random.key(0))
    _, ts_b = b.step(b.reset(jax.random.key(1))[0], jnp.int32(1))
    assert jax.tree_util.tree_structure(ts_a.observation) == jax.tree_util.tree_structure(ts_b.observation)
    assert ts_a.observation._fields == fields
    clone = pickle.loads(pickle.dumps(ts_b.observation))
    assert type(clone) is a.ObsStruct and bool(jnp.all(clone.observation == ts_b.observation.observation))
    assert pickle.loads(pickle.dumps(a)).observation_spec() == a.observation_spec()
    # A fresh interpreter finds the type by its name, before any wrapper built it.
    payload = pickle.dumps(jax.device_get(ts_b.observation))
    code = ("import pickle, sys; obs = pickle.loads(sys.stdin.buffer.read()); "
            "print(type(obs).__module__, type(obs).__qualname__, obs._fields, int(obs.action))")
    out = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True, check=True)
    assert out.stdout.decode().split() == ["jit_env.wrappers._observation", "ExtendedObservation014",
                                           "('observation',", "'action',", "'step_type')", "1"]


def test_extend_observation__spec_is_built_once_at_construction():
    counted = _CountResets(jit_env.make("CartPole-v1"))
    env = wrappers.ExtendObservation.pomdp_fields(counted)
    built = counted.resets
    assert built <= 1
    spec = env.observation_spec()
    for _ in range(3):
        assert env.observation_spec() is spec
    assert counted.resets == built


@pytest.mark.parametrize("batch", ["Tile", "TileAutoReset", "Vmap", "VmapAutoReset"])
def test_extend_observation__works_over_batched_envs(batch):
    inner = jit_env.make("CartPole-v1")
    batched = getattr(wrappers, batch)(inner, 3) if batch.startswith("Tile") else getattr(wrappers, batch)(inner)
    env = wrappers.ExtendObservation.pomdp_fields(batched)
    sized = batch.startswith("Tile")
    key = jax.random.key(0) if sized else jax.random.split(jax.random.key(0), 3)
    spec = env.observation_spec() if sized else specs.Batched(env.observation_spec(), 3)
    state, first = jax.jit(env.reset)(key)
    spec.validate(jax.device_get(first.observation))
    assert first.observation.action.shape == (3,) and first.observation.step_type.shape == (3,)
    step = jax.jit(env.step)
    state, ts = step(state, first.observation.action)
    spec.validate(jax.device_get(ts.observation))
    shapes = lambda t: jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), t)  # noqa: E731
    assert shapes(jax.eval_shape(env.reset, key)) == shapes(jax.eval_shape(env.step, state, ts.observation.action))
    for _ in range(30 if batch.endswith("AutoReset") else 0):  # through auto-resets too
        state, ts = step(state, jnp.ones(3, jnp.int32))
        spec.validate(jax.device_get(ts.observation))
