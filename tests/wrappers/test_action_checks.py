"""Every entry point refuses an action of the wrong structure, shape or dtype while tracing.

One helper (`wrappers._common.check_action`) checks every wrapper's `step` and
`jit_env.rollout` against the action spec; the error names the stack, the spec and
the mismatch, before anything runs.
"""

from __future__ import annotations

import re

import _envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import envs, specs, wrappers
from jit_env.wrappers import _common

# name -> (factory over a fresh PointMass, leading batch axes of the action)
CATALOGUE = {
    "Jit": (lambda e: wrappers.Jit(e), ()),
    "StopGradient": (lambda e: wrappers.StopGradient(e), ()),
    "TimeLimit": (lambda e: wrappers.TimeLimit(e, max_episode_steps=3), ()),
    "EpisodeStatistics": (lambda e: wrappers.EpisodeStatistics(e), ()),
    "AutoReset": (lambda e: wrappers.AutoReset(e), ()),
    "AutoReset(next_step)": (lambda e: wrappers.AutoReset(e, mode="next_step"), ()),
    "TransformObservation": (lambda e: wrappers.TransformObservation(e, fn=lambda o: 2 * o), ()),
    "TransformReward": (lambda e: wrappers.TransformReward(e, fn=lambda r: r - 1), ()),
    "TransformDiscount": (lambda e: wrappers.TransformDiscount(e, fn=lambda d: d * 0.5), ()),
    "TransformAction": (lambda e: wrappers.TransformAction(
        e, fn=lambda a: a * 0.5, action_spec=specs.BoundedArray((2,), jnp.float32, -2.0, 2.0)), ()),
    "ClipAction": (lambda e: wrappers.ClipAction(e), ()),
    "FlattenObservation": (lambda e: wrappers.FlattenObservation(e), ()),
    "NormalizeObservation": (lambda e: wrappers.NormalizeObservation(e), ()),
    "FrameStack": (lambda e: wrappers.FrameStack(e, num_stack=3), ()),
    "ExtendObservation": (lambda e: wrappers.ExtendObservation.pomdp_fields(e), ()),
    "Tile": (lambda e: wrappers.Tile(e, 3), (3,)),
    "TileAutoReset": (lambda e: wrappers.TileAutoReset(e, 3), (3,)),
    "Jit(Vmap)": (lambda e: wrappers.Jit(wrappers.Vmap(e)), (4,)),
    "NormalizeObservation(VmapAutoReset)": (
        lambda e: wrappers.NormalizeObservation(wrappers.VmapAutoReset(e)), (4,)),
    "wrap": (lambda e: wrappers.wrap(e, num_envs=2, max_episode_steps=4, frame_stack=2,
                                     normalize_observation=True, jit=False), (2,)),
}
NAMES = sorted(CATALOGUE)


def _reset(env, batch):
    key = jax.random.key(0)
    if wrappers._common.is_unsized_batch(env):
        return env.reset(jax.random.split(key, batch[0]))
    return env.reset(key)


def _expected(env, detail):
    return _common.ERR_ACTION.format(env=env, spec=env.action_spec(), detail=detail, name=type(env).__name__)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", NAMES)
def test_step__wrong_shape_is_refused_naming_the_action_spec(name, jit):
    factory, batch = CATALOGUE[name]
    env = factory(_envs.PointMass(horizon=4))
    state, _ = _reset(env, batch)
    step = jax.jit(env.step) if jit else env.step
    bad = jnp.zeros((*batch, 3), jnp.float32)
    got = (*batch, 3) if name in ("Tile", "TileAutoReset", "wrap") else (3,)
    want = (*batch, 2) if name in ("Tile", "TileAutoReset", "wrap") else (2,)
    if name in ("Jit(Vmap)", "NormalizeObservation(VmapAutoReset)"):
        got, want = (*batch, 3), (*batch, 2)
    label = "Array spec" if name == "TransformAction" else "Array spec 'push'"
    detail = specs.ERR_SHAPE.format(spec=label, expected=want, got=got)
    with pytest.raises(ValueError) as info:
        step(state, bad)
    # Every entry point checks (and names) itself, the auto-reset wrappers included.
    assert str(info.value) == _expected(env, detail)


@pytest.mark.parametrize("name", NAMES)
def test_step__wrong_dtype_is_refused_under_jit(name):
    factory, batch = CATALOGUE[name]
    env = factory(_envs.PointMass(horizon=4))
    state, _ = _reset(env, batch)
    label = "Array spec" if name == "TransformAction" else "Array spec 'push'"
    detail = specs.ERR_DTYPE.format(spec=label, expected="float32", got="int32")
    with pytest.raises(ValueError, match=re.escape(detail)):
        jax.jit(env.step)(state, jnp.zeros((*batch, 2), jnp.int32))


@pytest.mark.parametrize("name", NAMES)
def test_step__right_action_passes_and_costs_no_retrace(name):
    factory, batch = CATALOGUE[name]
    env = factory(_envs.PointMass(horizon=4))
    state, _ = _reset(env, batch)
    traces = []

    def step(state, action):
        traces.append(None)
        return env.step(state, action)

    fast = jax.jit(step)
    action = jnp.full((*batch, 2), 0.1, jnp.float32)
    for _ in range(3):
        state, timestep = fast(state, action)
    assert len(traces) == 1
    assert bool(jnp.all(jnp.isfinite(timestep.reward)))


def test_step__structure_mismatch_names_the_spec():
    env = wrappers.TimeLimit(_envs.DictEnv(), max_episode_steps=3)
    state, _ = env.reset(jax.random.key(0))
    action = jnp.zeros((), jnp.float32)
    detail = specs.ERR_STRUCTURE.format(
        spec=repr(env.action_spec()), expected=jax.tree_util.tree_structure((0, 0)),
        got=jax.tree_util.tree_structure(action))
    with pytest.raises(ValueError) as info:
        jax.jit(env.step)(state, action)
    assert str(info.value) == _expected(env, detail)


def test_tile__in_axes_none_broadcasts_an_unbatched_action():
    env = wrappers.Tile(_envs.PointMass(horizon=4), 3, in_axes=(0, None))
    state, _ = env.reset(jax.random.key(0))
    _, timestep = jax.jit(env.step)(state, jnp.full((2,), 0.1, jnp.float32))
    assert timestep.reward.shape == (3,)


def test_rollout__plain_env_refuses_a_float_action_for_a_discrete_spec():
    env = envs.CartPole()
    detail = specs.ERR_DTYPE.format(spec="Array spec 'action'", expected="int32", got="float32")
    with pytest.raises(ValueError) as info:
        jit_env.rollout(env, lambda params, observation, key: jnp.float32(0.7), jax.random.key(0), 5)
    assert str(info.value) == _expected(env, detail)


def test_rollout__plain_env_refuses_a_wrong_shape_under_jit():
    env = envs.CartPole()
    fast = jax.jit(jit_env.rollout, static_argnames=("env", "policy", "num_steps", "keep"))
    detail = specs.ERR_SHAPE.format(spec="Array spec 'action'", expected=(), got=(2,))

    def policy(params, observation, key):
        return jnp.zeros((2,), jnp.int32)

    with pytest.raises(ValueError) as info:
        fast(env, policy, jax.random.key(0), 5)
    assert str(info.value) == _expected(env, detail)


def test_rollout__batched_and_vmapped_policies_pass():
    env = wrappers.wrap(envs.CartPole(), num_envs=2, jit=False)
    _, traj = jit_env.rollout(env, lambda p, o, k: jax.random.randint(k, (2,), 0, 2, jnp.int32),
                              jax.random.key(0), 4)
    assert traj.actions.shape == (4, 2)
    single = wrappers.AutoReset(envs.CartPole())
    _, traj = jit_env.rollout_batch(single, lambda p, o, k: jnp.asarray(1, jnp.int32),
                                    jax.random.split(jax.random.key(0), 3), 4)
    assert traj.actions.shape == (3, 4)


def test_jit__python_int_is_taken_as_the_spec_dtype():
    env = wrappers.Jit(envs.CartPole())
    state, _ = env.reset(jax.random.key(0))
    _, timestep = env.step(state, 1)
    _, expected = envs.CartPole().step(state, np.int32(1))
    np.testing.assert_allclose(timestep.observation, expected.observation, rtol=1e-6)


def test_step__unsized_batch_needs_one_leading_axis_on_every_leaf():
    env = wrappers.Jit(wrappers.Vmap(_envs.DictEnv()))
    state, _ = env.reset(jax.random.split(jax.random.key(0), 3))
    action = (jnp.zeros((3,), jnp.int32), jnp.zeros((4, 3), jnp.float32))
    detail = _common.ERR_BATCH_AXIS.format(spec=repr(env.action_spec()), got=[3, 4])
    with pytest.raises(ValueError) as info:
        env.step(state, action)
    assert str(info.value) == _expected(env, detail)


def test_step__unsized_batch_takes_one_broadcast_action_with_in_axes_none():
    env = wrappers.Jit(wrappers.Vmap(_envs.PointMass(), in_axes=(0, None)))
    state, _ = env.reset(jax.random.split(jax.random.key(0), 3))
    _, timestep = env.step(state, jnp.full((2,), 0.1, jnp.float32))
    assert timestep.reward.shape == (3,)
