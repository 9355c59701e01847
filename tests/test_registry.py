"""The registry: make, register, registered_envs, and check_environment on every built-in."""

import pytest

import jit_env
from jit_env import _registry, testing, wrappers
from jit_env.envs import cartpole, catch

BUILT_IN = ["Acrobot-v1", "CartPole-v1", "Catch-v0", "DeepSea-v0", "MountainCar-v0",
            "MountainCarContinuous-v0", "Pendulum-v1"]


@pytest.fixture
def scratch_id():
    env_id = "ScratchEnv-v0"
    yield env_id
    _registry._REGISTRY.pop(env_id, None)


def test_registered_envs__lists_built_ins_sorted():
    ids = jit_env.registered_envs()
    assert ids == sorted(ids)
    assert set(BUILT_IN) <= set(ids)


@pytest.mark.parametrize(("env_id", "steps"), [
    ("CartPole-v1", 500), ("Acrobot-v1", 500), ("MountainCar-v0", 200),
    ("MountainCarContinuous-v0", 999), ("Pendulum-v1", 200)])
def test_make__applies_gymnasium_time_limit(env_id, steps):
    env = jit_env.make(env_id)
    assert isinstance(env, wrappers.TimeLimit)
    assert env.max_episode_steps == steps


def test_make__kwargs_override_defaults():
    assert jit_env.make("CartPole-v1", max_episode_steps=7).max_episode_steps == 7
    assert repr(jit_env.make("CartPole-v1", max_episode_steps=None)) == "CartPole()"
    assert repr(jit_env.make("Catch-v0", rows=6)) == "Catch(rows=6, columns=5)"


def test_make__unknown_id_names_close_matches():
    with pytest.raises(ValueError) as info:
        jit_env.make("CartPol-v1")
    assert str(info.value) == _registry.ERR_UNKNOWN_ID.format(
        id="CartPol-v1", hint=_registry.HINT_CLOSE.format("'CartPole-v1', 'gymnax/CartPole-v1'"),
        ids=", ".join(jit_env.registered_envs()))


def test_make__unknown_id_without_close_match():
    with pytest.raises(ValueError) as info:
        jit_env.make("Zzzzzz-v9")
    assert str(info.value) == _registry.ERR_UNKNOWN_ID.format(
        id="Zzzzzz-v9", hint="", ids=", ".join(jit_env.registered_envs()))


def test_register__callable_and_string_entry_points(scratch_id):
    jit_env.register(scratch_id, catch.Catch, rows=4, max_episode_steps=2)
    env = jit_env.make(scratch_id)
    assert repr(env) == "TimeLimit(Catch(rows=4, columns=5), max_episode_steps=2)"
    assert scratch_id in jit_env.registered_envs()
    jit_env.register(scratch_id, "jit_env.envs.cartpole:CartPole", override=True)
    assert isinstance(jit_env.make(scratch_id), cartpole.CartPole)


def test_register__existing_id_raises_unless_override(scratch_id):
    jit_env.register(scratch_id, catch.Catch)
    with pytest.raises(ValueError) as info:
        jit_env.register(scratch_id, catch.Catch)
    assert str(info.value) == _registry.ERR_ALREADY_REGISTERED.format(scratch_id)


@pytest.mark.parametrize("bad_id", ["CartPole", "cart pole-v1", "-v1", "CartPole-vX"])
def test_register__malformed_id_raises(bad_id):
    with pytest.raises(ValueError) as info:
        jit_env.register(bad_id, catch.Catch)
    assert str(info.value) == _registry.ERR_BAD_ID.format(bad_id)


@pytest.mark.parametrize("entry_point", ["jit_env.envs.catch.Catch", 3])
def test_register__bad_entry_point_raises(entry_point, scratch_id):
    with pytest.raises(ValueError) as info:
        jit_env.register(scratch_id, entry_point)
    assert str(info.value) == _registry.ERR_ENTRY_POINT.format(entry_point)


def test_make__entry_point_not_returning_env_raises(scratch_id):
    jit_env.register(scratch_id, dict)
    with pytest.raises(ValueError) as info:
        jit_env.make(scratch_id)
    assert str(info.value) == _registry.ERR_NOT_AN_ENV.format(scratch_id, {})


@pytest.mark.parametrize("env_id", BUILT_IN)
def test_built_in__passes_check_environment(env_id):
    testing.check_environment(jit_env.make(env_id))
