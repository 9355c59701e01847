"""Episode scopes and batch sizes: declared once (`jit_env.Scope`, `jit_env.Batch`), read by
`jit_env.boundary`, and what every composer does at an episode boundary follows from them."""

import re
from typing import Any

import _envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import _core, compat, specs, testing, wrappers
from jit_env.compat import _checks, _gymnasium_vector
from jit_env.wrappers import _common, _transforms

EPSILON = 1e-8


def _penalised(env: jit_env.Environment[Any, Any, Any]) -> wrappers.TransformReward:
    return wrappers.TransformReward(env, fn=lambda r: r - 0.01)


def _run(env: jit_env.Environment[Any, Any, Any], action: Any, steps: int) -> Any:
    """The reset time step and `steps` stepped ones (stacked), with a fixed action."""
    state, first = env.reset(jax.random.key(0))
    _, stepped = jax.jit(lambda s: jax.lax.scan(lambda s, _: env.step(s, action), s, None, steps))(state)
    return first, stepped


# ----------------------------------------------------------------------------- declarations


def test_scope__public_values_and_the_earlier_private_names():
    assert [s.value for s in jit_env.Scope] == [
        "stateless", "per_episode", "across_episodes", "auto_reset", "auto_reset_next_step"]
    assert _core.PER_EPISODE is jit_env.Scope.PER_EPISODE and _core.AUTO_RESET is jit_env.Scope.AUTO_RESET
    assert jit_env.Environment.episodes is jit_env.Scope.PER_EPISODE
    assert jit_env.Wrapper.episodes is jit_env.Scope.STATELESS


@pytest.mark.parametrize("make, scope", [
    (lambda e: wrappers.TimeLimit(e, max_episode_steps=3), jit_env.Scope.PER_EPISODE),
    (wrappers.EpisodeStatistics, jit_env.Scope.PER_EPISODE),
    (wrappers.NormalizeObservation, jit_env.Scope.ACROSS_EPISODES),
    # Its frames restart on every FIRST it sees: no place relative to auto-reset needed.
    (lambda e: wrappers.FrameStack(e, num_stack=2), jit_env.Scope.STATELESS),
    (_penalised, jit_env.Scope.STATELESS),
    (wrappers.AutoReset, jit_env.Scope.AUTO_RESET),
    (lambda e: wrappers.AutoReset(e, mode="next_step"), jit_env.Scope.AUTO_RESET_NEXT_STEP),
    (lambda e: wrappers.TileAutoReset(e, 2, mode="next_step"), jit_env.Scope.AUTO_RESET_NEXT_STEP),
    (lambda e: wrappers.VmapAutoReset(e), jit_env.Scope.AUTO_RESET),
])
def test_scope__each_wrapper_declares_what_its_code_does(make, scope):
    assert make(_envs.PointMass()).episodes is scope


@pytest.mark.parametrize("make, batch", [
    (lambda e: e, None),
    (lambda e: wrappers.Tile(e, 3), jit_env.Batch(3)),
    (lambda e: wrappers.Jit(wrappers.Tile(e, 3)), jit_env.Batch(3)),
    (lambda e: wrappers.Vmap(e), jit_env.Batch(None)),
    (lambda e: wrappers.VmapAutoReset(e), jit_env.Batch(None)),
    (lambda e: wrappers.TileAutoReset(e, 4), jit_env.Batch(4)),
    (lambda e: wrappers.Tile(wrappers.Vmap(e), 2), jit_env.Batch(None)),  # Specs count one slice.
    (lambda e: wrappers.NormalizeObservation(wrappers.TileAutoReset(e, 2)), jit_env.Batch(2)),
])
def test_batch__declared_by_batching_wrappers_and_inherited_by_the_rest(make, batch):
    assert jit_env.boundary(make(_envs.PointMass())).batch == batch


def test_batch__size_must_be_positive():
    with pytest.raises(ValueError, match=re.escape(_core.ERR_POSITIVE_INT.format("size", 0))):
        jit_env.Batch(0)


def test_declarations__must_have_the_declared_types():
    class Wrong(_envs.PointMass):
        episodes = "per_episode"  # A string is not a declaration.

    with pytest.raises(TypeError, match=re.escape(_core.ERR_SCOPE.format(owner="Wrong", value="per_episode"))):
        jit_env.boundary(Wrong())

    class Keeps(_envs.PointMass):
        episodes = jit_env.Scope.ACROSS_EPISODES

    with pytest.raises(TypeError, match=re.escape(_core.ERR_ENV_ACROSS.format(owner="Keeps"))):
        jit_env.boundary(Keeps())

    class WrongBatch(_envs.PointMass):
        batch = 4

    with pytest.raises(TypeError, match=re.escape(_core.ERR_BATCH.format(owner="WrongBatch", value=4))):
        jit_env.boundary(WrongBatch())


class _ResetsItself(_envs.PointMass):
    """An environment whose own `step` starts new episodes (as a hub adapter's may)."""

    episodes = jit_env.Scope.AUTO_RESET


class _Batched16(_envs.PointMass):
    """An environment that declares a batch (its step would hold 16 sub-environments)."""

    batch = jit_env.Batch(16)


@pytest.mark.parametrize("bridge", [compat.ToDeepmindEnv, compat.ToGymnasium])
def test_environment_declarations__bridges_refuse_an_env_that_resets_itself_or_is_batched(bridge):
    env = _ResetsItself()
    with pytest.raises(ValueError) as info:
        bridge(env)
    assert str(info.value).startswith(f"{bridge.__name__} cannot run {env!r}: it resets by itself")
    env = _Batched16()
    with pytest.raises(ValueError) as info:
        bridge(env)
    assert str(info.value) == _checks.ERR_BATCHED.format(
        bridge=bridge.__name__, env=env, what="Batch(size=16)")


def test_environment_declarations__per_episode_wrapper_refused_around_an_env_that_resets_itself():
    with pytest.raises(ValueError, match=re.escape(_core.ERR_PER_EPISODE_OUTSIDE_AUTO_RESET.format(
            wrapper="TimeLimit", auto_reset="_ResetsItself"))):
        wrappers.TimeLimit(_ResetsItself(), max_episode_steps=3)
    assert wrappers.auto_resets(wrappers.Jit(_ResetsItself()))


# ----------------------------------------------------------------------------- placeholder rewards


def test_transform_reward__next_step_reset_steps_have_no_phantom_penalty():
    env = _penalised(wrappers.TileAutoReset(_envs.PointMass(horizon=2), 2, mode="next_step"))
    first, stepped = _run(env, jnp.zeros((2, 2), jnp.float32), 6)
    np.testing.assert_array_equal(first.reward, 0.0)
    starts = np.asarray(stepped.first())
    assert starts.sum() == 4  # Steps 3 and 6 restart both rows.
    np.testing.assert_array_equal(np.asarray(stepped.reward)[starts], 0.0)
    # Real rewards are transformed.
    _, inner = _run(wrappers.TileAutoReset(_envs.PointMass(horizon=2), 2, mode="next_step"),
                              jnp.zeros((2, 2), jnp.float32), 6)
    np.testing.assert_allclose(np.asarray(stepped.reward)[~starts], np.asarray(inner.reward)[~starts] - 0.01)


def test_transform_reward__same_step_first_carries_the_transformed_ending_reward():
    env = _penalised(wrappers.AutoReset(_envs.PointMass(horizon=2)))
    _, inner = _run(wrappers.AutoReset(_envs.PointMass(horizon=2)), jnp.zeros(2, jnp.float32), 4)
    first, stepped = _run(env, jnp.zeros(2, jnp.float32), 4)
    assert np.asarray(stepped.first()).tolist() == [False, True, False, True]
    np.testing.assert_allclose(stepped.reward, np.asarray(inner.reward) - 0.01)
    assert float(first.reward) == 0.0


def test_transform_reward__reset_reward_is_a_placeholder_of_the_transformed_spec():
    env = wrappers.TransformReward(_envs.PointMass(), fn=lambda r: jnp.stack([r, r + 1.0]))
    _, first = env.reset(jax.random.key(0))
    np.testing.assert_array_equal(first.reward, np.zeros(2, np.float32))
    env.reward_spec().validate(first.reward)


def test_transform_reward__check_env_passes():
    testing.check_env(_penalised(jit_env.make("CartPole-v1")), num_steps=20)


def test_transform_discount__next_step_reset_steps_keep_a_placeholder_of_one():
    env = wrappers.TransformDiscount(wrappers.TileAutoReset(_envs.PointMass(horizon=2), 2, mode="next_step"),
                                     fn=lambda d: d * 0.5)
    first, stepped = _run(env, jnp.zeros((2, 2), jnp.float32), 6)
    np.testing.assert_array_equal(first.discount, 1.0)
    starts = np.asarray(stepped.first())
    assert starts.sum() == 4
    np.testing.assert_array_equal(np.asarray(stepped.discount)[starts], 1.0)
    _, inner = _run(wrappers.TileAutoReset(_envs.PointMass(horizon=2), 2, mode="next_step"),
                    jnp.zeros((2, 2), jnp.float32), 6)
    np.testing.assert_allclose(np.asarray(stepped.discount)[~starts], np.asarray(inner.discount)[~starts] * 0.5)
    testing.check_env(wrappers.TransformDiscount(jit_env.make("CartPole-v1"), fn=jnp.sqrt), num_steps=20)


# ----------------------------------------------------------------------------- FrameStack


def test_frame_stack__next_step_reset_step_final_observation_is_the_new_stack():
    env = wrappers.FrameStack(wrappers.TileAutoReset(_envs.PointMass(horizon=2), 2, mode="next_step"),
                              num_stack=3)
    _, stepped = _run(env, jnp.full((2, 2), 0.5, jnp.float32), 6)
    final = np.asarray(stepped.extras[_common.FINAL_OBSERVATION])
    # In next-step mode the final observation always equals the observation (docs/semantics.md).
    np.testing.assert_array_equal(final, np.asarray(stepped.observation))
    starts = np.asarray(stepped.first())
    obs = np.asarray(stepped.observation)[starts]
    np.testing.assert_array_equal(obs, np.repeat(obs[:, :1], 3, axis=1))  # One episode per stack.


def test_frame_stack__same_step_final_observation_ends_the_old_stack():
    env = wrappers.FrameStack(wrappers.AutoReset(_envs.PointMass(horizon=2)), num_stack=3)
    first, stepped = _run(env, jnp.full(2, 0.5, jnp.float32), 2)
    start = np.asarray(first.observation)[0]
    final = np.asarray(stepped.extras[_common.FINAL_OBSERVATION])[1]
    np.testing.assert_allclose(final, [start, start + 0.5, start + 1.0])
    new = np.asarray(stepped.observation)[1]
    np.testing.assert_array_equal(new, np.repeat(new[:1], 3, axis=0))


# ----------------------------------------------------------------------------- bridges keep statistics


def _running_normalised(history: list[np.ndarray], x: np.ndarray) -> np.ndarray:
    """`x` normalised with the population mean and variance of `history` (x included)."""
    data = np.asarray(history, np.float64)
    return (x - data.mean(0)) / np.sqrt(data.var(0) + EPSILON)


def test_to_gymnasium__normalize_observation_statistics_survive_reset():
    raw = compat.ToGymnasium(jit_env.make("CartPole-v1"))
    normalised = compat.ToGymnasium(wrappers.NormalizeObservation(jit_env.make("CartPole-v1")))
    history = [raw.reset(seed=0)[0]]
    normalised.reset(seed=0)
    done = False
    while not done:
        obs, _, terminated, truncated, _ = raw.step(0)
        normalised.step(0)
        history.append(obs)
        done = terminated or truncated
    second, _ = raw.reset()
    got, _ = normalised.reset()
    history.append(second)
    assert float(normalised.state.count) == len(history)
    np.testing.assert_allclose(got, _running_normalised(history, second), rtol=1e-4, atol=1e-5)
    assert np.abs(got).max() > 0.1  # Not the restarted statistics' zeros.


def test_to_deepmind_env__normalize_observation_statistics_survive_reset():
    raw = compat.ToDeepmindEnv(jit_env.make("CartPole-v1"), seed=3)
    normalised = compat.ToDeepmindEnv(wrappers.NormalizeObservation(jit_env.make("CartPole-v1")), seed=3)
    history = [raw.reset().observation]
    normalised.reset()
    while True:
        timestep = raw.step(np.int32(0))
        normalised.step(np.int32(0))
        history.append(timestep.observation)
        if timestep.last():
            break
    second = raw.reset().observation
    got = normalised.reset().observation
    history.append(second)
    np.testing.assert_allclose(got, _running_normalised(history, second), rtol=1e-4, atol=1e-5)


def test_new_episode__is_reset_where_nothing_is_kept():
    env = wrappers.TimeLimit(_envs.PointMass(), max_episode_steps=3)
    state, _ = env.reset(jax.random.key(0))
    _, got = jit_env.new_episode(env, state, jax.random.key(1))
    _, want = env.reset(jax.random.key(1))
    assert got == want


def test_new_episode__refused_where_a_layer_hides_the_kept_data():
    env = wrappers.FlattenObservation(wrappers.NormalizeObservation(_envs.PointMass()))
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match=re.escape(_core.ERR_KEEP_HIDDEN.format(
            outer="FlattenObservation", across="NormalizeObservation"))):
        jit_env.new_episode(env, state, jax.random.key(1))


@pytest.mark.parametrize("bridge", [compat.ToDeepmindEnv, compat.ToGymnasium])
def test_bridges__refuse_kept_data_hidden_beneath_a_layer_that_keeps_none(bridge):
    env = wrappers.FlattenObservation(wrappers.NormalizeObservation(_envs.PointMass()))
    with pytest.raises(ValueError, match=re.escape(_checks.ERR_HIDDEN.format(
            bridge=bridge.__name__, outer="FlattenObservation", across="NormalizeObservation"))):
        bridge(env)
    bridge(wrappers.NormalizeObservation(wrappers.FlattenObservation(_envs.PointMass())))  # The advice.


def test_to_gymnasium_vector__normalize_observation_refused_with_advice_for_its_user():
    with pytest.raises(ValueError, match=re.escape(_checks.ERR_KEEPS.format(
            bridge="ToGymnasiumVector", across="NormalizeObservation",
            advice=_gymnasium_vector.ERR_KEEPS_ADVICE))):
        compat.ToGymnasiumVector(wrappers.NormalizeObservation(jit_env.make("CartPole-v1")), 2)


def test_carry__required_of_a_wrapper_that_keeps_data_across_episodes():
    class Keeps(jit_env.Wrapper[Any, Any, Any]):
        episodes = jit_env.Scope.ACROSS_EPISODES

    env = Keeps(_envs.PointMass())
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(NotImplementedError, match=re.escape(_core.ERR_NO_CARRY.format(wrapper="Keeps"))):
        jit_env.new_episode(env, state, jax.random.key(1))


# ----------------------------------------------------------------------------- batches


def _one_device_mesh() -> Any:
    return jax.make_mesh((1,), ("envs",), devices=jax.devices()[:1])


def test_shard__of_an_unsized_batch_is_a_sized_batch():
    inner = wrappers.VmapAutoReset(jit_env.make("CartPole-v1"))
    env = wrappers.Shard(inner, mesh=_one_device_mesh(), axis_name="envs", num_envs=4)
    assert jit_env.boundary(env).batch == jit_env.Batch(4)
    extended = wrappers.ExtendObservation(env, "observation", "step_type")
    _, timestep = jax.jit(extended.reset)(jax.random.key(0))
    extended.observation_spec().validate(timestep.observation)
    report = {r.name: r for r in testing.run_checks(env, num_steps=10)}
    for check in ("specs", "structure", "reset", "rollout", "step_types"):
        assert report[check].status == "PASS", report[check]


def test_tile__broadcast_action_spec_is_what_its_step_takes():
    env = wrappers.Tile(_envs.PointMass(), 2, in_axes=(0, None))
    assert env.action_spec() == _envs.PointMass().action_spec()
    state, _ = env.reset(jax.random.key(0))
    _, timestep = env.step(state, env.action_spec().generate_value())
    assert timestep.reward.shape == (2,)
    batched = wrappers.Tile(_envs.PointMass(), 2)
    assert isinstance(batched.action_spec(), specs.Batched)
    batched.step(batched.reset(jax.random.key(0))[0], batched.action_spec().generate_value())


@pytest.mark.parametrize("in_axes", [1, (0, 1), (None, 0), (0, {"push": None})])
def test_tile__other_step_in_axes_refused_at_construction(in_axes):
    with pytest.raises(ValueError, match=re.escape(_transforms.ERR_STEP_IN_AXES.format(in_axes))):
        wrappers.Tile(_envs.PointMass(), 2, in_axes=in_axes)


def test_one_positive_int_template_and_one_is_spec():
    assert _common.ERR_POSITIVE_INT is _core.ERR_POSITIVE_INT is testing.ERR_POSITIVE
    assert not hasattr(_common, "is_spec") and not hasattr(_checks, "is_spec")
    assert specs.is_spec(specs.Array((), jnp.float32)) and not specs.is_spec(1.0)


def test_batch__declared_by_the_deprecated_batch_spec_mixin():
    class Legacy(wrappers.BatchSpecMixin, wrappers.Vmap):
        pass

    with pytest.warns(DeprecationWarning, match="BatchSpecMixin is kept for jit_env 0.1.5 code"):
        env = Legacy(_envs.PointMass(), 3)
    assert jit_env.boundary(env).batch == jit_env.Batch(3)  # Its specs describe the whole batch.
