"""jit_env.testing.check_env: correct environments pass, each kind of broken one fails by name."""

from __future__ import annotations

import dataclasses
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import specs, testing, wrappers

pytestmark = pytest.mark.integration

STEPS = 12  # Two FakeEnv episodes (5 steps each) and a bit.


def _fails(env, message, num_steps=STEPS):
    with pytest.raises(testing.EnvCheckError) as info:
        testing.check_env(env, num_steps=num_steps)
    assert str(info.value) == message
    return info.value


def _replace_step(transform):
    """A step that builds the default step's result and lets `transform` change it."""

    def step(state, action):
        new_state, timestep = testing.FakeEnv.default_step(state, action)
        return transform(state, new_state, timestep)

    return step


# ----------------------------------------------------------------------------- correct envs


def test_check_env__passes_fake_env_and_reports_every_check():
    env = testing.FakeEnv()
    testing.check_env(env, num_steps=STEPS)
    report = testing.run_checks(env, num_steps=STEPS)
    assert [r.name for r in report] == list(testing.CHECKS)
    assert {r.status for r in report} == {testing.PASS}


def test_check_environment__is_check_env():
    assert testing.check_environment is testing.check_env


@pytest.mark.parametrize("make", [
    lambda: wrappers.Tile(testing.FakeEnv(), 3),
    lambda: wrappers.Vmap(jit_env.make("CartPole-v1")),
    lambda: wrappers.VmapAutoReset(testing.FakeEnv(), mode=wrappers.NEXT_STEP),
    lambda: wrappers.wrap(jit_env.make("CartPole-v1"), num_envs=4),
], ids=["Tile", "Vmap", "VmapAutoReset-next-step", "wrap-num-envs-4"])
def test_check_env__passes_batched_stacks(make):
    # Before: a TypeError ("Only scalar arrays can be converted") on any batched env.
    testing.check_env(make(), num_steps=STEPS)


@pytest.mark.parametrize("env_id", jit_env.registered_envs(include_gymnax=False))
def test_check_env__passes_every_built_in_batched_with_auto_reset(env_id):
    testing.check_env(wrappers.wrap(jit_env.make(env_id), num_envs=2, jit=False), num_steps=STEPS)


def test_check_env__does_not_hold_first_placeholders_to_the_reward_spec():
    # MountainCar's rewards are all -1 (its reward spec is [-1, -1]); a FIRST carries reward 0,
    # at reset and after each LAST in next-step mode. Before: "reward returned by reset is
    # outside its spec".
    env = jit_env.make("MountainCar-v0", max_episode_steps=4)
    testing.check_env(env, num_steps=STEPS)
    testing.check_env(wrappers.wrap(env, num_envs=2, mode=wrappers.NEXT_STEP), num_steps=STEPS)


def test_check_env__rejects_bad_arguments():
    with pytest.raises(ValueError, match=testing.ERR_POSITIVE.format("num_steps", 0)):
        testing.check_env(testing.FakeEnv(), num_steps=0)
    with pytest.raises(TypeError, match=r"must be a jit_env\.Environment"):
        testing.check_env(object())


def test_check_env__rejects_bad_tolerances():
    for name, bad in (("rtol", -1e-3), ("atol", float("nan")), ("rtol", True), ("atol", "1e-3")):
        with pytest.raises(ValueError, match=f"^{re.escape(testing.ERR_TOLERANCE.format(name=name, got=bad))}$"):
            testing.check_env(testing.FakeEnv(), num_steps=STEPS, **{name: bad})


def _jit_moves_reset(shift):
    """A reset whose float observation moves by `shift` when traced (under jit), as XLA's
    fusion may move float32 results by some ulps, and chaotic physics amplify them."""

    def reset(key):
        state, timestep = testing.FakeEnv.default_reset(key)
        if isinstance(timestep.observation, jax.core.Tracer):
            timestep = dataclasses.replace(timestep, observation=timestep.observation + np.float32(shift))
        return state, timestep

    return reset


def test_check_env__jit_check_compares_floats_within_its_tolerance():
    # Below the default tolerance: passes. Above it: the 'jit' check fails, naming the
    # tolerances and how to loosen them; with them loosened it passes (brax's humanoid:
    # jax.jit(step) and the same step inside lax.scan differ by up to 1e-4 after one step).
    testing.check_env(testing.FakeEnv(reset=_jit_moves_reset(1e-6)), num_steps=STEPS)
    env = testing.FakeEnv(reset=_jit_moves_reset(1e-3))
    error = _fails(env, testing.ERR_JIT_DISAGREES.format(
        call="reset", other="reset called eagerly", path="timestep.observation", t=0,
        rtol=testing.JIT_RTOL, atol=testing.JIT_ATOL))
    assert error.check == "jit"
    testing.check_env(env, num_steps=STEPS, atol=1e-2)
    report = testing.run_checks(env, num_steps=STEPS, rtol=0.0, atol=1e-2)
    assert {r.status for r in report} == {testing.PASS}


# ----------------------------------------------------------------------------- broken envs


def test_check_env__catches_a_spec_that_is_not_a_spec():
    bad = (specs.DiscreteArray(2), specs.DiscreteArray(2))
    env = testing.FakeEnv(action_spec=bad)
    _fails(env, testing.ERR_NOT_A_SPEC.format(method="action_spec", env=env, spec=bad))


def test_check_env__catches_an_impure_reset():
    rng = np.random.default_rng(0)

    def reset(key):  # A NumPy draw: different on every call, invisible to JAX.
        state, timestep = testing.FakeEnv.default_reset(key)
        noisy = timestep.observation.at[1].set(np.float32(rng.uniform()))
        return state, dataclasses.replace(timestep, observation=noisy)

    error = _fails(testing.FakeEnv(reset=reset),
                   testing.ERR_IMPURE.format(call="reset", path="timestep.observation"))
    assert isinstance(error, AssertionError) and error.check == "purity"


def test_check_env__catches_an_impure_step():
    calls = []

    def step(state, action):  # Reads a counter kept outside the state.
        calls.append(None)
        new_state, timestep = testing.FakeEnv.default_step(state, action)
        return new_state, dataclasses.replace(timestep, reward=timestep.reward * 0 + len(calls) % 2)

    _fails(testing.FakeEnv(step=step), testing.ERR_IMPURE.format(call="step", path="timestep.reward"))


def test_check_env__catches_an_observation_outside_its_spec():
    def step(state, new_state, timestep):  # Leaves [0, 1] on the third step (time 3).
        observation = jnp.stack([new_state.time.astype(jnp.float32) * jnp.float32(0.4), jnp.float32(0.5)])
        return new_state, dataclasses.replace(timestep, observation=observation)

    env = testing.FakeEnv(step=_replace_step(step))
    with pytest.raises(ValueError) as spec_error:  # What the spec itself says of that value.
        env.observation_spec().validate(np.array([np.float32(3) * np.float32(0.4), 0.5], np.float32))
    _fails(env, testing.ERR_OUTSIDE_SPEC.format(check="rollout", field="observation", where="step 2",
                                                error=spec_error.value))


def test_check_env__catches_an_observation_of_the_wrong_dtype():
    env = testing.FakeEnv(observation_spec=specs.BoundedArray((2,), jnp.int32, 0, 1))
    _, timestep = testing.FakeEnv.default_reset(jax.random.key(0))
    with pytest.raises(ValueError) as spec_error:
        env.observation_spec().validate(np.asarray(timestep.observation))
    _fails(env, testing.ERR_OUTSIDE_SPEC.format(check="reset", field="observation", where="reset",
                                                error=spec_error.value))


def test_check_env__catches_an_extras_entry_only_step_returns():
    def step(state, new_state, timestep):
        return new_state, dataclasses.replace(timestep, extras={"time": new_state.time})

    _fails(testing.FakeEnv(step=_replace_step(step)), testing.ERR_STRUCTURE.format(
        path="timestep.extras['time']", reset="absent", step="int32[]", cause=testing.CAUSE_ABSENT))


def test_check_env__catches_a_reward_shape_change():
    def step(state, new_state, timestep):
        return new_state, dataclasses.replace(timestep, reward=timestep.reward[None])

    _fails(testing.FakeEnv(step=_replace_step(step)), testing.ERR_STRUCTURE.format(
        path="timestep.reward", reset="float32[]", step="float32[1]", cause=testing.CAUSE_SHAPE))


@jit_env.dataclass
class CountingState:
    key: jax.Array
    time: jax.Array
    calls: int = jit_env.field(static=True, default=0)


def test_check_env__catches_static_metadata_that_changes():
    def reset(key):
        state, timestep = testing.FakeEnv.default_reset(key)
        return CountingState(key=state.key, time=state.time), timestep

    def step(state, action):  # A Python counter as static metadata: a new trace every step.
        new_state, timestep = testing.FakeEnv.default_step(state, action)
        return CountingState(key=new_state.key, time=new_state.time, calls=state.calls + 1), timestep

    env = testing.FakeEnv(reset=reset, step=step)
    abstract_reset = jax.eval_shape(env.reset, jax.random.key(0))
    abstract_step = jax.eval_shape(env.step, abstract_reset[0], jnp.int32(0))
    _fails(env, testing.ERR_STRUCTURE_STATIC.format(reset=jax.tree_util.tree_structure(abstract_reset),
                                                    step=jax.tree_util.tree_structure(abstract_step)))


def test_check_env__catches_a_retrace_from_a_weakly_typed_reset_state():
    def reset(key):  # jnp.asarray(0) is weakly typed; step returns a strong int32: two traces.
        state, timestep = testing.FakeEnv.default_reset(key)
        return dataclasses.replace(state, time=jnp.asarray(0)), timestep

    _fails(testing.FakeEnv(reset=reset), testing.ERR_RETRACE.format(
        call="step", count=2, cause=testing.CAUSE_RETRACE_LEAF.format(
            path="state.time", reset="int32[] (weak)", step="int32[]")))


def test_check_env__catches_a_reset_that_stores_its_key():
    def reset(key):
        state, timestep = testing.FakeEnv.default_reset(key)
        return dataclasses.replace(state, key=key), timestep

    _fails(testing.FakeEnv(reset=reset), testing.ERR_KEY_STORED.format(rows=""))
    _fails(wrappers.Vmap(testing.FakeEnv(reset=reset)),
           testing.ERR_KEY_STORED.format(rows=" in sub-environments [0, 1, 2]"))


def _stuck_key(state, new_state, timestep):  # Draws from state.key, keeps it.
    return dataclasses.replace(new_state, key=state.key), timestep


def test_check_env__catches_a_step_that_reuses_its_key():
    _fails(testing.FakeEnv(step=_replace_step(_stuck_key)), testing.ERR_KEY_REUSED.format(rows=""))


def test_check_env__catches_a_reused_key_in_a_batch():
    env = wrappers.Tile(testing.FakeEnv(step=_replace_step(_stuck_key)), 2)
    _fails(env, testing.ERR_KEY_REUSED.format(rows=" in sub-environments [0, 1]"))


def test_check_env__accepts_a_deterministic_step_that_keeps_its_key():
    def step(state, new_state, timestep):  # Draws nothing from the key, so keeping it is fine.
        observation = timestep.observation.at[1].set(jnp.float32(0.5))
        return dataclasses.replace(new_state, key=state.key), dataclasses.replace(timestep, observation=observation)

    testing.check_env(testing.FakeEnv(step=_replace_step(step)), num_steps=STEPS)


UNBOUNDED_DISCOUNT = specs.Array((), jnp.float32, "discount")


def _at_episode_end(make_last):
    def step(state, new_state, timestep):
        end = make_last(timestep)
        return new_state, jax.lax.cond(new_state.time >= testing.FakeEnv.EPISODE_LENGTH,
                                       lambda: end, lambda: timestep)

    return _replace_step(step)


def test_check_env__catches_a_discount_above_one_at_last():
    step = _at_episode_end(lambda ts: jit_env.truncation(ts.reward, ts.observation, discount=jnp.float32(1.5)))
    _fails(testing.FakeEnv(step=step, discount_spec=UNBOUNDED_DISCOUNT),
           testing.ERR_DISCOUNT_RANGE.format(t=4, got=np.float32(1.5), rows=""))


def test_check_env__catches_a_terminal_step_marked_mid():
    step = _at_episode_end(lambda ts: jit_env.transition(ts.reward, ts.observation, discount=jnp.float32(0)))
    # The episode never ends, so the observation leaves its spec after step 4: stop there.
    _fails(testing.FakeEnv(step=step), testing.ERR_MID_DISCOUNT_ZERO.format(t=4, rows=""), num_steps=5)


def test_check_env__catches_first_from_a_step_without_auto_reset():
    step = _at_episode_end(lambda ts: jit_env.restart(ts.observation))
    env = testing.FakeEnv(step=step)
    _fails(env, testing.ERR_FIRST_FROM_STEP.format(t=4, rows="", env=env), num_steps=5)
    batched = wrappers.Tile(env, 2)
    _fails(batched, testing.ERR_FIRST_FROM_STEP.format(t=4, rows=" in sub-environments [0, 1]", env=batched),
           num_steps=5)


def test_check_env__catches_a_first_time_step_with_discount_zero():
    def reset(key):
        state, timestep = testing.FakeEnv.default_reset(key)
        return state, dataclasses.replace(timestep, discount=jnp.zeros((), jnp.float32))

    _fails(testing.FakeEnv(reset=reset),
           testing.ERR_RESET_VALUES.format(field="discount", got=np.float32(0), expected=1))


def test_check_env__names_the_check_an_exception_broke():
    def step(state, action):
        raise ValueError("boom")

    _fails(testing.FakeEnv(step=step), testing.ERR_RAISED.format(
        check="structure", call="step", error="ValueError: boom"))


def test_run_checks__reports_each_check_and_skips_after_a_broken_structure():
    def step(state, new_state, timestep):
        return new_state, dataclasses.replace(timestep, reward=timestep.reward[None])

    report = testing.run_checks(testing.FakeEnv(step=_replace_step(step)), num_steps=STEPS)
    assert [(r.name, r.status) for r in report] == [
        ("specs", "PASS"), ("structure", "FAIL"),
        *[(name, "SKIP") for name in testing.CHECKS[2:]]]
    assert report[2].message == testing.SKIPPED.format(failed="structure")


def test_run_checks__keeps_going_after_a_failed_check():
    report = testing.run_checks(testing.FakeEnv(step=_replace_step(_stuck_key)), num_steps=STEPS)
    assert {r.name: r.status for r in report} == {**{name: "PASS" for name in testing.CHECKS}, "keys": "FAIL"}


def test_check_env__catches_a_reset_that_ignores_its_key():
    def reset(key):  # Splits a fixed key, not the one it is given.
        return testing.FakeEnv.default_reset(jax.random.key(0))

    env = testing.FakeEnv(reset=reset)
    # What the check exists for: under AutoReset, episode 2 replays episode 1 exactly.
    auto = wrappers.AutoReset(env)
    _, trajectory = jit_env.rollout(auto, lambda p, o, k: jnp.int32(0), jax.random.key(1), 10)
    length = testing.FakeEnv.EPISODE_LENGTH
    np.testing.assert_array_equal(trajectory.observations[1:length], trajectory.observations[length + 1:2 * length])
    _fails(env, testing.ERR_KEY_IGNORED)
    _fails(wrappers.Tile(env, 2), testing.ERR_KEY_IGNORED)


@pytest.mark.parametrize("make", [
    lambda: jit_env.make("CartPole-v1"),
    lambda: wrappers.wrap(jit_env.make("CartPole-v1"), num_envs=2),
    lambda: testing.FakeEnv(),
], ids=["CartPole", "wrap-num-envs-2", "FakeEnv"])
def test_check_env__passes_a_correct_env_with_a_raw_key(make):
    # Before: 'keys' (a key batch of the raw key's shape) and then a false 'retrace'.
    testing.check_env(make(), key=jax.random.PRNGKey(0), num_steps=STEPS)
