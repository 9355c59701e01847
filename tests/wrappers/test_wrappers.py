"""Every wrapper under eager, jit, vmap, scan and grad; no retrace; behaviour and errors."""

from __future__ import annotations

import re

import _envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import specs, testing, wrappers
from jit_env.wrappers import _action, _common, _observation, _statistics

PUSH = jnp.full((2,), 0.1, jnp.float32)

# name -> (factory over a fresh PointMass, batch size the wrapper adds or None)
CATALOGUE = {
    "Wrapper": (lambda e: jit_env.Wrapper(e), None),
    "Jit": (lambda e: wrappers.Jit(e), None),
    "StopGradient": (lambda e: wrappers.StopGradient(e), None),
    "TimeLimit": (lambda e: wrappers.TimeLimit(e, max_episode_steps=3), None),
    "EpisodeStatistics": (lambda e: wrappers.EpisodeStatistics(e), None),
    "AutoReset": (lambda e: wrappers.AutoReset(e), None),
    "AutoReset(next_step)": (lambda e: wrappers.AutoReset(e, mode="next_step"), None),
    "TransformObservation": (lambda e: wrappers.TransformObservation(e, fn=lambda o: 2 * o), None),
    "TransformReward": (lambda e: wrappers.TransformReward(e, fn=lambda r: r - 1), None),
    "TransformDiscount": (lambda e: wrappers.TransformDiscount(e, fn=lambda d: d * 0.5), None),
    "TransformAction": (lambda e: wrappers.TransformAction(
        e, fn=lambda a: a * 0.5, action_spec=specs.BoundedArray((2,), jnp.float32, -2.0, 2.0)), None),
    "ClipAction": (lambda e: wrappers.ClipAction(e), None),
    "FlattenObservation": (lambda e: wrappers.FlattenObservation(e), None),
    "NormalizeObservation": (lambda e: wrappers.NormalizeObservation(e), None),
    "FrameStack": (lambda e: wrappers.FrameStack(e, num_stack=3), None),
    "ExtendObservation": (lambda e: wrappers.ExtendObservation.pomdp_fields(e), None),
    "Tile": (lambda e: wrappers.Tile(e, 3), 3),
    "TileAutoReset": (lambda e: wrappers.TileAutoReset(e, 3), 3),
    "TileAutoReset(next,optimistic)": (lambda e: wrappers.TileAutoReset(
        e, 3, mode="next_step", strategy="optimistic", num_resets=1), 3),
    "TileAutoReset(precomputed)": (lambda e: wrappers.TileAutoReset(e, 3, strategy="precomputed"), 3),
    "wrap": (lambda e: wrappers.wrap(e, num_envs=2, max_episode_steps=4, frame_stack=2,
                                     normalize_observation=True, jit=False), 2),
}
NAMES = sorted(CATALOGUE)


def _make(name):
    factory, num = CATALOGUE[name]
    return factory(_envs.PointMass(horizon=4)), num


def _push(num):
    return PUSH if num is None else jnp.broadcast_to(PUSH, (num, 2))


@pytest.mark.parametrize("name", NAMES)
def test_wrapper__reset_and_step_share_structure_and_specs_hold(name):
    env, num = _make(name)
    key = jax.random.key(0)
    reset_out = jax.eval_shape(env.reset, key)
    step_out = jax.eval_shape(env.step, reset_out[0], _push(num))
    testing.assert_same_structure(reset_out, step_out, name)
    state, ts = env.reset(key)
    for _ in range(5):
        state, ts = env.step(state, _push(num))
        env.observation_spec().validate(jax.device_get(ts.observation))
        env.reward_spec().validate(jax.device_get(ts.reward))


@pytest.mark.parametrize("name", NAMES)
def test_wrapper__eager_jit_and_scan_agree(name):
    env, num = _make(name)
    key = jax.random.key(1)

    def run(step):
        state, ts = env.reset(key)
        out = []
        for _ in range(5):
            state, ts = step(state, _push(num))
            out.append(ts)
        return out

    eager = run(env.step)
    jitted = run(jax.jit(env.step))
    state, _ = env.reset(key)
    _, scanned = jax.lax.scan(lambda s, a: env.step(s, a), state, jnp.stack([_push(num)] * 5))
    for i, (a, b) in enumerate(zip(eager, jitted)):
        for x, y, z in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b),
                           jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda v, i=i: v[i], scanned))):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(np.asarray(x), np.asarray(z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", [n for n in NAMES if CATALOGUE[n][1] is None and n != "Jit"])
def test_wrapper__vmap_equals_each_slice(name):
    env, _ = _make(name)
    keys = jax.random.split(jax.random.key(2), 2)
    states, _ = jax.vmap(env.reset)(keys)
    _, batched = jax.vmap(env.step)(states, jnp.stack([PUSH, -PUSH]))
    for i, action in enumerate([PUSH, -PUSH]):
        state, _ = env.reset(keys[i])
        _, single = env.step(state, action)
        for x, y in zip(jax.tree_util.tree_leaves(batched), jax.tree_util.tree_leaves(single)):
            np.testing.assert_allclose(np.asarray(x)[i], np.asarray(y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_wrapper__no_retrace_over_1000_steps(name):
    counter = testing.TraceCounter()
    inner = _envs.PointMass(horizon=4)
    inner.step = counter.wrap(inner.step)  # counts traces of the innermost step
    factory, num = CATALOGUE[name]
    env = wrappers.Jit(factory(inner))
    state, _ = env.reset(jax.random.key(0))
    action = _push(num)
    for _ in range(1000):
        state, ts = env.step(state, action)
    jax.block_until_ready(ts)
    traces_per_compile = 2 if "next" in name else 1  # next-step: a cond holds step once; eval_shape of spec
    assert counter.count <= traces_per_compile, counter.count


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("StopGradient", "TransformReward")])
def test_wrapper__gradients_flow_through(name):
    env, num = _make(name)
    state, _ = env.reset(jax.random.key(3))

    def total_reward(action):
        s, ts1 = env.step(state, action)
        _, ts2 = env.step(s, action)
        return jnp.sum(ts1.reward) + jnp.sum(ts2.reward)

    grad = jax.grad(total_reward)(_push(num))
    assert bool(jnp.all(jnp.isfinite(grad))) and float(jnp.abs(grad).sum()) > 0.0


def test_stop_gradient__blocks_gradients():
    env = wrappers.StopGradient(_envs.PointMass())
    state, _ = env.reset(jax.random.key(0))
    grad = jax.grad(lambda a: env.step(state, a)[1].reward)(PUSH)
    np.testing.assert_array_equal(grad, jnp.zeros(2))


def test_jit__mismatched_action_is_a_trace_time_value_error():
    env = wrappers.Jit(_envs.PointMass())
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError) as info:
        env.step(state, jnp.zeros(3, jnp.float32))
    detail = specs.ERR_SHAPE.format(spec="Array spec 'push'", expected=(2,), got=(3,))
    assert str(info.value) == _common.ERR_ACTION.format(
        env=env, spec=env.action_spec(), detail=detail, name="Jit")
    with pytest.raises(ValueError, match=r"expected dtype float32, got dtype int32"):
        env.step(state, jnp.zeros(2, jnp.int32))


def test_tile__specs_options_and_action_batch_check():
    env = wrappers.Tile(_envs.DictEnv(), 3)
    assert env.observation_spec() == specs.Batched(_envs.DictEnv().observation_spec(), 3)
    assert env.reward_spec() == specs.Array((3,), jnp.float32)
    state, _ = env.reset(jax.random.key(0), options={"length": jnp.asarray(9, jnp.int32)})
    np.testing.assert_array_equal(state.options["length"], [9, 9, 9])
    per_env = wrappers.Tile(_envs.DictEnv(), 3, options_in_axes=0)
    state, _ = per_env.reset(jax.random.key(0), options={"length": jnp.arange(3, dtype=jnp.int32)})
    np.testing.assert_array_equal(state.options["length"], [0, 1, 2])
    with pytest.raises(ValueError, match=re.escape("Array spec: expected shape (3,), got shape (2,).")):
        env.step(state, (jnp.zeros(2, jnp.int32), jnp.zeros((2, 3), jnp.float32)))
    with pytest.raises(ValueError) as info:
        wrappers.Tile(_envs.DictEnv(), 0)
    assert str(info.value) == _common.ERR_POSITIVE_INT.format("num_envs", 0)


@pytest.mark.parametrize("factory", [
    lambda env, **kw: wrappers.Tile(env, 3, **kw),
    lambda env, **kw: wrappers.TileAutoReset(env, 3, **kw),
])
def test_tile__action_unbatched_with_in_axes_none_is_broadcast(factory):
    env = factory(_envs.PointMass(horizon=4), in_axes=(0, None))
    reference = factory(_envs.PointMass(horizon=4))
    state, _ = env.reset(jax.random.key(0))
    ref_state, _ = reference.reset(jax.random.key(0))
    push = jnp.asarray([0.5, -0.25], jnp.float32)
    for _ in range(5):
        state, step = env.step(state, push)
        ref_state, ref_step = reference.step(ref_state, jnp.tile(push, (3, 1)))
        np.testing.assert_array_equal(step.observation, ref_step.observation)
        np.testing.assert_array_equal(step.step_type, ref_step.step_type)


def test_vmap__renders_every_sub_environment():
    env = wrappers.Vmap(_envs.PointMass())
    inner = env.env
    inner._renderer = lambda s: jnp.full((2, 2, 3), s.position[0] * 0, jnp.float32) + s.position[0]
    states, _ = env.reset(jax.random.split(jax.random.key(0), 4))
    frames = env.render(states)
    assert frames.shape == (4, 2, 2, 3)
    inner._renderer = lambda s: np.full((1, 1, 3), float(s.position[0]))  # not traceable: looped
    assert env.render(states).shape == (4, 1, 1, 3)


def test_time_limit__truncates_with_discount_kept_and_termination_wins():
    env = wrappers.TimeLimit(_envs.DictEnv(), max_episode_steps=2)
    state, _ = env.reset(jax.random.key(0), options={"length": jnp.asarray(10, jnp.int32)})
    action = (jnp.int32(0), jnp.zeros(3, jnp.float32))
    state, ts = env.step(state, action)
    assert bool(ts.mid())
    state, ts = env.step(state, action)
    assert bool(ts.last()) and float(ts.discount) == 1.0 and int(state.steps) == 2
    terminating = wrappers.TimeLimit(_envs.PointMass(horizon=2), max_episode_steps=2)
    state, _ = terminating.reset(jax.random.key(0))
    state, _ = terminating.step(state, PUSH)
    _, ts = terminating.step(state, PUSH)
    assert bool(ts.last()) and float(ts.discount) == 0.0
    with pytest.raises(ValueError) as info:
        wrappers.TimeLimit(_envs.PointMass(), max_episode_steps=0)
    assert str(info.value) == _common.ERR_POSITIVE_INT.format("max_episode_steps", 0)


def test_episode_statistics__totals_across_auto_resets():
    env = wrappers.TileAutoReset(wrappers.EpisodeStatistics(_envs.PointMass(horizon=3)), 2)
    state, _ = env.reset(jax.random.key(0))
    inner = _envs.PointMass(horizon=3)
    ref_states, _ = jax.vmap(inner.reset)(jax.random.split(jax.random.key(0), 2))
    total = jnp.zeros(2, jnp.float32)
    action = jnp.broadcast_to(PUSH, (2, 2))
    for t in range(6):
        state, ts = env.step(state, action)
        ref_states, ref_ts = jax.vmap(inner.step)(ref_states, action)
        total = total + ref_ts.reward
        stats = ts.extras[_statistics.EPISODE]
        np.testing.assert_allclose(stats["return"], total, rtol=1e-6)
        assert stats["length"].tolist() == [t % 3 + 1] * 2
        assert stats["done"].tolist() == [t % 3 == 2] * 2
        if t % 3 == 2:
            total = jnp.zeros(2, jnp.float32)
            ref_states, _ = jax.vmap(inner.reset)(ref_states.key)
    with pytest.raises(ValueError) as info:
        wrappers.EpisodeStatistics(wrappers.AutoReset(_envs.PointMass()))
    assert str(info.value) == jit_env._core.ERR_PER_EPISODE_OUTSIDE_AUTO_RESET.format(
        wrapper="EpisodeStatistics", auto_reset="AutoReset")


def test_extend_observation__keeps_the_given_order_and_its_spec_holds():
    env = wrappers.ExtendObservation(_envs.PointMass(), "reward", "action", "reward", "step_type")
    assert env.fields == ("reward", "action", "step_type")
    state, ts = env.reset(jax.random.key(0))
    assert ts.observation._fields == ("reward", "action", "step_type")
    _, ts = env.step(state, PUSH)
    np.testing.assert_array_equal(ts.observation.action, PUSH)
    env.observation_spec().validate(ts.observation)
    with pytest.raises(ValueError) as info:
        wrappers.ExtendObservation(_envs.PointMass(), "state")
    assert str(info.value) == _observation.ERR_BAD_FIELD.format("state")
    with pytest.raises(ValueError) as info:
        wrappers.ExtendObservation(_envs.PointMass())
    assert str(info.value) == _observation.ERR_NO_FIELDS


def test_observation_transforms__also_transform_the_final_observation():
    env = wrappers.TransformObservation(wrappers.AutoReset(_envs.PointMass(horizon=1)), fn=lambda o: o * 10)
    state, _ = env.reset(jax.random.key(0))
    _, inner_ts = _envs.PointMass(horizon=1).step(state, PUSH)
    _, ts = env.step(state, PUSH)
    np.testing.assert_allclose(ts.extras[wrappers.FINAL_OBSERVATION], inner_ts.observation * 10)
    assert env.observation_spec() == specs.Array((2,), jnp.float32)


def test_flatten_observation__concatenates_leaves_and_names_dtype_conflicts():
    env = wrappers.FlattenObservation(_envs.DictEnv(), dtype=jnp.float32)
    assert env.observation_spec() == specs.Array((4,), jnp.float32)
    _, ts = env.reset(jax.random.key(0))
    assert ts.observation.shape == (4,) and float(ts.observation[3]) == 0.0  # "t" sorts after "noise"
    with pytest.raises(ValueError) as info:
        wrappers.FlattenObservation(_envs.DictEnv())
    assert str(info.value) == _observation.ERR_FLATTEN_DTYPES.format(["float32", "int32"])
    tiled = wrappers.FlattenObservation(wrappers.Tile(_envs.DictEnv(), 2), dtype=jnp.float32)
    assert tiled.observation_spec() == specs.Batched(specs.Array((4,), jnp.float32), 2)
    assert tiled.reset(jax.random.key(0))[1].observation.shape == (2, 4)


def test_normalize_observation__matches_numpy_running_moments_over_the_batch():
    env = wrappers.NormalizeObservation(wrappers.Tile(_envs.PointMass(), 4))
    state, ts = env.reset(jax.random.key(0))
    seen = [np.asarray(wrappers.Tile(_envs.PointMass(), 4).reset(jax.random.key(0))[1].observation)]
    inner_state = state.inner
    for _ in range(3):
        inner_state, inner_ts = env.env.step(inner_state, jnp.broadcast_to(PUSH, (4, 2)))
        seen.append(np.asarray(inner_ts.observation))
        state, ts = env.step(state, jnp.broadcast_to(PUSH, (4, 2)))
    data = np.concatenate(seen)
    np.testing.assert_allclose(state.mean, data.mean(0), rtol=1e-5)
    np.testing.assert_allclose(state.var, data.var(0), rtol=1e-4)
    np.testing.assert_allclose(ts.observation, (seen[-1] - data.mean(0)) / np.sqrt(data.var(0) + 1e-8), rtol=1e-4)
    with pytest.raises(ValueError) as info:
        wrappers.NormalizeObservation(_envs.DictEnv())
    assert str(info.value).startswith("NormalizeObservation needs floating-point observations, got dtype int32")


def test_frame_stack__stacks_and_refills_on_a_new_episode():
    env = wrappers.FrameStack(wrappers.AutoReset(_envs.PointMass(horizon=2)), num_stack=3)
    assert env.observation_spec() == specs.Array((3, 2), jnp.float32, "position")
    state, ts = env.reset(jax.random.key(0))
    first = np.asarray(ts.observation[0])
    np.testing.assert_array_equal(ts.observation, np.stack([first] * 3))
    state, ts = env.step(state, PUSH)
    np.testing.assert_allclose(ts.observation, np.stack([first, first, first + 0.1]), rtol=1e-6)
    state, ts = env.step(state, PUSH)  # episode ends: the stack restarts
    assert bool(ts.first())
    np.testing.assert_array_equal(ts.observation, np.stack([np.asarray(ts.observation[0])] * 3))
    np.testing.assert_allclose(ts.extras[wrappers.FINAL_OBSERVATION],
                               np.stack([first, first + 0.1, first + 0.2]), rtol=1e-6)


def test_clip_action__clips_into_bounds_and_rejects_discrete_specs():
    env = wrappers.ClipAction(_envs.PointMass())
    assert env.action_spec() == specs.Array((2,), jnp.float32, "push")
    state, _ = env.reset(jax.random.key(0))
    _, ts = env.step(state, jnp.array([5.0, -5.0], jnp.float32))
    np.testing.assert_allclose(ts.observation, state.position + jnp.array([1.0, -1.0], jnp.float32), rtol=1e-6)
    with pytest.raises(ValueError) as info:
        wrappers.ClipAction(_envs.DictEnv())
    assert str(info.value) == _action.ERR_CLIP_SPEC.format(specs.DiscreteArray(2))


def test_wrap__composes_the_usual_stack_visibly():
    env = wrappers.wrap(_envs.PointMass(), num_envs=4, max_episode_steps=10, normalize_observation=True)
    assert str(env) == "Jit(NormalizeObservation(TileAutoReset(EpisodeStatistics(TimeLimit(PointMass)))))"
    single = wrappers.wrap(_envs.PointMass(), mode="next_step", jit=False)
    assert repr(single) == "AutoReset(EpisodeStatistics(PointMass()), mode='next_step')"
