"""The Gymnasium bridge: env_checker with warnings as errors, seeding, errors, registry."""

import dataclasses
import re
import warnings
from typing import Any

import counting_env
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils import env_checker

import jit_env
from jit_env import compat, specs, wrappers
from jit_env.compat import _checks, _gymnasium, _registration

compat.register_gymnasium_envs()


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Catch-v0", "MountainCarContinuous-v0"])
def test_to_gymnasium__passes_env_checker(env_id):
    env = gymnasium.make(f"jit_env/{env_id}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env_checker.check_env(env.unwrapped)


def test_to_gymnasium__terminated_and_truncated():
    env = compat.ToGymnasium(jit_env.wrappers.TimeLimit(counting_env.CountingEnv(2), max_episode_steps=3))
    env.reset(seed=0)
    env.step(1)
    obs, reward, terminated, truncated, info = env.step(np.int64(1))
    assert (terminated, truncated, reward, info) == (True, False, 1.0, {})
    assert obs.dtype == env.observation_space.dtype
    env.reset()
    for _ in range(3):
        _, _, terminated, truncated, _ = env.step(0)
    assert (terminated, truncated) == (False, True)


def test_to_gymnasium__same_seed_same_episode():
    env = gymnasium.make("jit_env/CartPole-v1")
    first, _ = env.reset(seed=5)
    again, _ = env.reset(seed=5)
    np.testing.assert_array_equal(first, again)
    other, _ = env.reset()
    assert not np.array_equal(first, other)


def test_to_gymnasium__step_before_reset_and_after_close():
    env = compat.ToGymnasium(counting_env.CountingEnv(2))
    with pytest.raises(RuntimeError) as info:
        env.step(1)
    assert str(info.value) == _checks.ERR_NOT_RESET.format(bridge="ToGymnasium")
    env.reset()
    env.close()
    with pytest.raises(RuntimeError) as info:
        env.step(1)
    assert str(info.value) == _checks.ERR_CLOSED.format(bridge="ToGymnasium", call="step")


def test_to_gymnasium__out_of_range_action_not_clipped():
    env = compat.ToGymnasium(jit_env.make("Pendulum-v1"))
    env.reset(seed=0)
    spec = env.env.action_spec()
    with pytest.raises(ValueError) as info:
        env.step(np.array([3.0], np.float32))
    assert str(info.value) == _checks.ERR_ACTION_RANGE.format(
        spec=repr(spec), minimum="-2.0", maximum="2.0", value=np.array([3.0], np.float32))
    with pytest.raises(ValueError) as info:
        env.step(np.array([1.0], np.float64))
    assert str(info.value) == _checks.ERR_ACTION_DTYPE.format(
        spec=repr(spec), expected=np.dtype(np.float32), got=np.dtype(np.float64))


def test_to_gymnasium__render_rgb_array():
    env = gymnasium.make("jit_env/CartPole-v1", render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[-1] == 3


def test_to_gymnasium__no_retrace_over_1000_steps():
    counter = jit_env.testing.TraceCounter()
    inner = jit_env.make("CartPole-v1")

    class Counted(jit_env.Wrapper):
        def step(self, state, action):
            return counter.wrap(inner.step)(state, action)

    env = compat.ToGymnasium(Counted(inner))
    env.reset(seed=0)
    for i in range(1000):
        _, _, terminated, truncated, _ = env.step(i % 2)
        if terminated or truncated:
            env.reset()
    assert counter.count == 1


def test_make_vec__vector_entry_point_is_the_vector_bridge():
    env = gymnasium.make_vec("jit_env/CartPole-v1", num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(env, compat.ToGymnasiumVector)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (3, 4)


def test_register_gymnasium_envs__user_env_registered_later():
    jit_env.register("UserCounting-v0", lambda: counting_env.CountingEnv(3))
    assert "jit_env/UserCounting-v0" in compat.register_gymnasium_envs()
    env = gymnasium.make("jit_env/UserCounting-v0")
    assert env.reset(seed=0)[0] == 0
    assert _registration.gymnasium_id("x") == "jit_env/x"


def test_make_gymnasium_wrapper__returns_class_and_converter():
    cls, convert = compat.make_gymnasium_wrapper()
    assert cls is compat.ToGymnasium
    assert convert(specs.DiscreteArray(3)) == gymnasium.spaces.Discrete(3)


def test_spec_to_space__unknown_container_raises():
    spec = jit_env.wrappers._common.spec_from_value(jnp.zeros(2, jnp.complex64))
    with pytest.raises(NotImplementedError) as info:
        _gymnasium.spec_to_space(spec)
    assert str(info.value) == _gymnasium.ERR_UNKNOWN_SPEC.format(spec)
    # None has no space (0.1.5's test_wrong_spec): not an empty Dict.
    with pytest.raises(NotImplementedError, match=re.escape(_gymnasium.ERR_UNKNOWN_SPEC.format(None))):
        _gymnasium.spec_to_space(None)



@dataclasses.dataclass(frozen=True)
class _Parts:
    """A dataclass pytree node whose fields are not in sorted order, as Jumanji's nested
    observations (BinPack's `ems: Space`) are."""

    velocity: Any
    angle: Any


jax.tree_util.register_dataclass(_Parts, data_fields=["velocity", "angle"], meta_fields=[])


def _tree(node):
    return specs.Tree(*jax.tree_util.tree_flatten(node, is_leaf=specs.is_spec))


def _parted_cartpole():
    """CartPole with a `_Parts` observation (velocity 7s, angle -2s: each field recognisable)
    and a `_Parts` action (velocity: CartPole's push, angle: a float the step ignores)."""
    box = specs.BoundedArray((2,), np.float32, -1e3, 1e3)
    env = wrappers.TransformObservation(
        jit_env.make("CartPole-v1"),
        fn=lambda o: _Parts(velocity=o[:2] * 0 + 7, angle=o[2:] * 0 - 2),
        observation_spec=_tree(_Parts(velocity=box, angle=box)))
    action_spec = _tree(_Parts(velocity=specs.DiscreteArray(2),
                               angle=specs.BoundedArray((), np.float32, 0.0, 1.0)))
    return wrappers.TransformAction(env, fn=lambda a: a.velocity, action_spec=action_spec)


def test_spec_to_space__dataclass_node_is_a_dict_by_field_names():
    # Before: NotImplementedError ("Cannot convert ...") for any pytree node but a dict, tuple
    # or list, so jumanji/BinPack-v2 could not cross the Gymnasium bridges.
    env = _parted_cartpole()
    space = _gymnasium.spec_to_space(env.observation_spec())
    assert isinstance(space, gymnasium.spaces.Dict) and list(space.spaces) == ["angle", "velocity"]
    assert isinstance(_gymnasium.spec_to_space(env.action_spec())["velocity"], gymnasium.spaces.Discrete)
    bridge = compat.ToGymnasium(env, seed=0)
    observation, _ = bridge.reset(seed=3)
    # Each field's values under its own name (the pytree's leaf order is velocity, angle).
    np.testing.assert_array_equal(observation["velocity"], [7, 7])
    np.testing.assert_array_equal(observation["angle"], [-2, -2])
    # A swapped action would put 0.5 into the Discrete leaf, which is refused.
    observation, *_ = bridge.step({"angle": np.float32(0.5), "velocity": np.int64(1)})
    np.testing.assert_array_equal(observation["velocity"], [7, 7])
    with pytest.raises(ValueError):
        bridge.step({"angle": np.int64(1), "velocity": np.float32(0.5)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env_checker.check_env(compat.ToGymnasium(_parted_cartpole(), seed=0), skip_render_check=True)
    vector = compat.ToGymnasiumVector(_parted_cartpole(), 3, seed=0)
    observations, _ = vector.reset(seed=0)
    np.testing.assert_array_equal(observations["angle"], np.full((3, 2), -2))
    vector.step({"angle": np.full(3, 0.25, np.float32), "velocity": np.array([0, 1, 1])})
    vector.close()


def _per_agent_discount(env):
    """`env` with a discount per agent (two agents), as Jumanji's multi-agent environments have."""
    return wrappers.TransformDiscount(env, fn=lambda d: jnp.stack([d, d]))


def test_gymnasium_bridges__refuse_more_than_one_discount_per_step():
    # Before: accepted, then terminated had a value per agent (ToGymnasiumVector's shape
    # (N, agents); ToGymnasium raised NumPy's ambiguous-truth-value error at the first LAST).
    env = _per_agent_discount(jit_env.make("CartPole-v1"))
    assert env.discount_spec().shape == (2,)
    for bridge, build in (("ToGymnasium", lambda: compat.ToGymnasium(env)),
                          ("ToGymnasiumVector", lambda: compat.ToGymnasiumVector(env, 2))):
        message = _checks.ERR_DISCOUNT_SHAPE.format(bridge=bridge, env=env, spec=env.discount_spec())
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            build()
    # The fix the message names: one discount for the team.
    team = wrappers.TransformDiscount(env, fn=jnp.min)
    vector = compat.ToGymnasiumVector(team, 2, seed=0)
    vector.reset(seed=0)
    _, _, terminated, truncated, _ = vector.step(np.array([0, 1]))
    assert terminated.shape == truncated.shape == (2,)
    vector.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env_checker.check_env(compat.ToGymnasium(team, seed=0), skip_render_check=True)
