"""Auto-reset: terminal observation, reward, discount, keys and determinism, every mode and strategy."""

from __future__ import annotations

import dataclasses
import enum
import re
import warnings

import _envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import _core, wrappers
from jit_env.wrappers import _autoreset, _common, _transforms

FINAL = wrappers.FINAL_OBSERVATION
PUSH = jnp.full((2,), 0.1, jnp.float32)


def test_autoreset_same_step__keeps_terminal_reward_discount_and_observation():
    inner = _envs.PointMass(horizon=3)
    env = wrappers.AutoReset(inner)
    state, ts = env.reset(jax.random.key(0))
    assert bool(jnp.all(ts.extras[FINAL] == ts.observation))
    for _ in range(2):
        state, ts = env.step(state, PUSH)
        assert bool(ts.mid()) and bool(jnp.all(ts.extras[FINAL] == ts.observation))
    expected_state, expected = inner.step(state, PUSH)
    _, restarted = inner.reset(expected_state.key)
    state, ts = env.step(state, PUSH)
    assert bool(ts.first())
    assert float(ts.reward) == float(expected.reward) and float(ts.discount) == 0.0
    np.testing.assert_array_equal(ts.extras[FINAL], expected.observation)
    np.testing.assert_array_equal(ts.observation, restarted.observation)
    assert int(state.time) == 0
    assert int(ts.extras["time"]) == 3  # the ending step's own extras are kept


def test_autoreset_next_step__returns_last_then_first_ignoring_the_action():
    inner = _envs.PointMass(horizon=2)
    env = wrappers.AutoReset(inner, mode="next_step")
    state, _ = env.reset(jax.random.key(0))
    state, _ = env.step(state, PUSH)
    terminal_inner = inner.step(state.inner, PUSH)[0]
    state, ts = env.step(state, PUSH)
    assert bool(ts.last()) and float(ts.discount) == 0.0 and bool(state.needs_reset)
    np.testing.assert_array_equal(ts.observation, terminal_inner.position)
    _, restarted = inner.reset(terminal_inner.key)
    state, ts = env.step(state, jnp.full((2,), 1e6, jnp.float32))
    assert bool(ts.first()) and float(ts.reward) == 0.0 and float(ts.discount) == 1.0
    np.testing.assert_array_equal(ts.observation, restarted.observation)
    np.testing.assert_array_equal(ts.extras[FINAL], ts.observation)


def _rollout(env, key, actions):
    state, first = env.reset(key)

    def body(state, action):
        state, ts = env.step(state, action)
        return state, ts

    return first, jax.lax.scan(body, state, actions)[1]


def _actions(num, steps, seed=1):
    discrete = jax.random.randint(jax.random.key(seed), (steps, num), 0, 2, jnp.int32)
    continuous = jnp.zeros((steps, num, 3), jnp.float32)
    return (discrete, continuous)


def _assert_trees_equal(a, b):
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_vmap_autoreset__complete_equals_vmap_of_autoreset(mode):
    num, steps = 5, 12
    keys = jax.random.split(jax.random.key(0), num)
    reference = jax.vmap(wrappers.AutoReset(_envs.DictEnv(), mode=mode).reset)(keys)
    batched = wrappers.VmapAutoReset(_envs.DictEnv(), mode=mode)
    ref_env = wrappers.Vmap(wrappers.AutoReset(_envs.DictEnv(), mode=mode))
    actions = _actions(num, steps)
    expected = jax.jit(lambda: _rollout(ref_env, keys, actions))()
    got = jax.jit(lambda: _rollout(batched, keys, actions))()
    _assert_trees_equal(got, expected)
    _assert_trees_equal(batched.reset(keys)[1], reference[1])


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_optimistic__equals_complete_while_num_resets_suffices(mode):
    num, steps = 6, 15
    actions = _actions(num, steps, seed=3)
    complete = wrappers.TileAutoReset(_envs.DictEnv(), num, mode=mode)
    optimistic = wrappers.TileAutoReset(_envs.DictEnv(), num, mode=mode, strategy="optimistic", num_resets=num)
    key = jax.random.key(7)
    _assert_trees_equal(jax.jit(lambda: _rollout(optimistic, key, actions))(),
                        jax.jit(lambda: _rollout(complete, key, actions))())


def test_optimistic__extra_finishers_copy_a_fresh_episode_with_their_own_key():
    num = 4  # All four end on the first step; only one fresh reset per step.
    env = wrappers.TileAutoReset(_envs.DictEnv(), num, strategy="optimistic", num_resets=1)
    state, _ = env.reset(jax.random.key(0), options={"length": jnp.asarray(1, jnp.int32)})
    # DictEnv splits its key on every step: these are the finished states' keys.
    inner_keys = jax.vmap(lambda k: jax.random.split(k)[0])(state.key)
    state, ts = env.step(state, (jnp.zeros(num, jnp.int32), jnp.zeros((num, 3), jnp.float32)))
    assert bool(jnp.all(ts.first()))
    fresh_state, fresh = _envs.DictEnv().reset(inner_keys[0], options={"length": jnp.asarray(1, jnp.int32)})
    for i in range(num):  # every one starts from the single fresh episode...
        np.testing.assert_array_equal(ts.observation["noise"][i], fresh.observation["noise"])
    np.testing.assert_array_equal(jax.random.key_data(state.key[0]), jax.random.key_data(fresh_state.key))
    for i in range(1, num):  # ...but the copies continue their own key chains.
        np.testing.assert_array_equal(jax.random.key_data(state.key[i]), jax.random.key_data(inner_keys[i]))
    _, ts = env.step(state, (jnp.zeros(num, jnp.int32), jnp.zeros((num, 3), jnp.float32)))
    noise = np.asarray(ts.extras[FINAL]["noise"])
    assert len({tuple(row) for row in noise}) == num


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_precomputed__restarts_from_the_pool_with_distinct_keys(mode):
    num = 8
    env = wrappers.TileAutoReset(_envs.DictEnv(), num, mode=mode, strategy="precomputed", pool_size=3)
    state, _ = env.reset(jax.random.key(0))
    assert isinstance(state, wrappers.BatchedAutoResetState)
    pool_noise = np.asarray(state.pool_timestep.observation["noise"])
    assert pool_noise.shape == (3, 3)
    _, steps = jax.jit(lambda: _rollout(env, jax.random.key(0), _actions(num, 10)))()
    started = np.asarray(steps.step_type) == 0
    assert started.any()
    for t, i in zip(*np.nonzero(started)):
        assert any(np.array_equal(steps.observation["noise"][t, i], row) for row in pool_noise)
    # Pooled starts may coincide, but every step after a start draws noise from
    # the sub-environment's own key: no two such rows agree.
    for t in range(1, 10):
        rows = np.asarray(steps.observation["noise"][t])[~started[t]]
        assert len({tuple(r) for r in rows}) == len(rows)


@pytest.mark.parametrize("strategy", ["complete", "optimistic", "precomputed"])
@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_batched_autoreset__deterministic_independent_and_scan_stable(mode, strategy):
    num, steps = 4, 20
    env = wrappers.TileAutoReset(_envs.DictEnv(), num, mode=mode, strategy=strategy)
    run = jax.jit(lambda k: _rollout(env, k, _actions(num, steps)))
    a, b, c = run(jax.random.key(1)), run(jax.random.key(1)), run(jax.random.key(2))
    _assert_trees_equal(a, b)
    assert not np.array_equal(np.asarray(a[1].observation["noise"]), np.asarray(c[1].observation["noise"]))
    noise = np.asarray(a[1].observation["noise"])
    starts = np.asarray(a[1].step_type) == 0
    for t in range(steps):
        # Only the optimistic strategy past `num_resets` and the pool may start two
        # sub-environments alike; after that their own keys must take over.
        rows = noise[t] if strategy == "complete" else noise[t][~starts[t]]
        assert len({tuple(r) for r in rows}) == len(rows), "sub-environments share randomness"
    first, scanned = a
    assert set(scanned.extras) == {FINAL} and set(first.extras) == {FINAL}
    ended = np.asarray(scanned.step_type) == (0 if mode == "same_step" else 2)
    assert ended.any(), "the test must reach episode ends"
    if mode == "same_step":  # an ending step keeps its truncation discount (DictEnv: 0.5)
        assert np.all(np.asarray(scanned.discount)[ended] == 0.5)


def test_autoreset__reset_options_survive_auto_resets():
    env = wrappers.TileAutoReset(_envs.DictEnv(), 2)
    options = {"length": jnp.asarray(4, jnp.int32)}
    actions = (jnp.zeros((12, 2), jnp.int32), jnp.zeros((12, 2, 3), jnp.float32))
    state, _ = env.reset(jax.random.key(0), options=options)
    _, steps = jax.lax.scan(env.step, state, actions)
    firsts = np.nonzero(np.asarray(steps.step_type)[:, 0] == 0)[0]
    np.testing.assert_array_equal(firsts, [3, 7, 11])


def test_autoreset__rejects_batched_environments_and_bad_arguments():
    env = wrappers.AutoReset(wrappers.Tile(_envs.PointMass(), 2))
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError) as info:
        env.step(state, jnp.zeros((2, 2), jnp.float32))
    assert str(info.value) == _autoreset.ERR_BATCHED_STEP_TYPE.format((2,))
    with pytest.raises(ValueError) as info:
        wrappers.AutoReset(_envs.PointMass(), mode="eventually")
    assert str(info.value) == _common.ERR_CHOICE.format("mode", "'same_step', 'next_step'", "eventually")
    with pytest.raises(ValueError) as info:
        wrappers.VmapAutoReset(_envs.PointMass(), strategy="lazy")
    assert str(info.value) == _common.ERR_CHOICE.format(
        "strategy", "'complete', 'optimistic', 'precomputed'", "lazy")
    with pytest.raises(ValueError) as info:
        wrappers.TileAutoReset(_envs.PointMass(), 4, num_resets=2)
    assert str(info.value) == _autoreset.ERR_STRATEGY_ARG.format(
        "num_resets", "optimistic", "num_resets", 2, "complete")
    with pytest.raises(ValueError) as info:
        wrappers.TileAutoReset(_envs.PointMass(), 4, strategy="optimistic", num_resets=0)
    assert str(info.value) == _common.ERR_POSITIVE_INT.format("num_resets", 0)
    with pytest.raises(ValueError) as info:
        wrappers.VmapAutoReset(_envs.PointMass(), strategy="precomputed", options_in_axes=1)
    assert str(info.value) == _autoreset.ERR_POOL_OPTIONS.format(1)


def test_autoreset__state_keeps_inner_type_in_same_step_mode_for_0_1_5_code():
    state, _ = wrappers.TileAutoReset(_envs.PointMass(), 3).reset(jax.random.key(0))
    assert isinstance(state, _envs.PointState) and state.position.shape == (3, 2)
    state, _ = wrappers.AutoReset(_envs.PointMass()).reset(jax.random.key(0))
    assert isinstance(state, _envs.PointState)


def test_legacy_mixins__still_compose_like_0_1_5():
    with pytest.warns(DeprecationWarning):
        class MyReset(wrappers.ResetMixin, jit_env.Wrapper):
            def step(self, state, action):
                state, ts = self.env.step(state, action)
                return jax.lax.cond(ts.last(), self._auto_reset, self._identity, state, ts)
    env = MyReset(_envs.PointMass(horizon=1))
    state, _ = env.reset(jax.random.key(0))
    state, ts = env.step(state, PUSH)
    assert bool(ts.first()) and float(ts.discount) == 0.0
    with pytest.warns(DeprecationWarning):
        class MyTile(wrappers.BatchSpecMixin, wrappers.Vmap):
            pass
        tiled = MyTile(_envs.PointMass(), 3)
    assert tiled.observation_spec().num == 3
    assert _core.state_key(state) is not None


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_complete__chunked_restarts_equal_restarting_every_row(mode):
    num, steps = 128, 24
    # Episode lengths 1 (2 envs), 2 (6), 4 (24) and 9 (96): with unit steps the
    # finished counts are 2, 8, 32 and 128 rows, so the restarts take one pass
    # of `chunk` (128 // 16 = 8) rows, 4 passes and up to 16.
    row = jnp.arange(num, dtype=jnp.int32)
    lengths = jnp.where(row < 2, 1, jnp.where(row < 8, 2, jnp.where(row < 32, 4, 9))).astype(jnp.int32)
    options = {"length": lengths}
    keys = jax.random.split(jax.random.key(5), num)
    actions = (jnp.zeros((steps, num), jnp.int32), jnp.zeros((steps, num, 3), jnp.float32))
    reference = wrappers.Vmap(wrappers.AutoReset(_envs.DictEnv(), mode=mode), options_in_axes=0)
    chunked = wrappers.VmapAutoReset(_envs.DictEnv(), mode=mode, options_in_axes=0)
    chunk = chunked._chunk(num)

    def run(env):
        state, _ = env.reset(keys, options=options)
        return jax.lax.scan(env.step, state, actions)[1]

    expected, got = jax.jit(lambda: run(reference))(), jax.jit(lambda: run(chunked))()
    _assert_trees_equal(got, expected)
    counts = np.sum(np.asarray(expected.step_type) == (0 if mode == "same_step" else 2), axis=1)
    passes = {-(-int(c) // chunk) for c in counts if c}
    assert chunk == 8 and {1, 4} <= passes and max(passes) >= 13, counts


def _without_final(timestep):
    extras = {k: v for k, v in (timestep.extras or {}).items() if k != FINAL}
    return dataclasses.replace(timestep, extras=extras or None)


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
@pytest.mark.parametrize("make", [
    lambda **kw: wrappers.AutoReset(_envs.PointMass(horizon=3), **kw),
    lambda **kw: wrappers.TileAutoReset(_envs.PointMass(horizon=3), 32, **kw),
    lambda **kw: wrappers.TileAutoReset(_envs.PointMass(horizon=3), 32, strategy="optimistic", **kw),
    lambda **kw: wrappers.TileAutoReset(_envs.PointMass(horizon=3), 32, strategy="precomputed", **kw),
], ids=["single", "complete", "optimistic", "precomputed"])
def test_final_observation_false__drops_only_the_copy(make, mode):
    with_final, without = make(mode=mode), make(mode=mode, final_observation=False)
    assert "final_observation=False" in repr(without)
    batch = getattr(with_final, "num", None)
    action = PUSH if batch is None else jnp.tile(PUSH, (batch, 1))
    steps = 7

    def run(env):
        state, first = env.reset(jax.random.key(3))
        return first, jax.lax.scan(lambda s, _: env.step(s, action), state, None, length=steps)[1]

    (first_a, traj_a), (first_b, traj_b) = jax.jit(lambda: run(with_final))(), jax.jit(lambda: run(without))()
    assert FINAL not in (first_b.extras or {}) and FINAL not in (traj_b.extras or {})
    for a, b in ((_without_final(first_a), first_b), (_without_final(traj_a), traj_b)):
        assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
        _assert_trees_equal(a, b)
    # The stored trajectory is smaller by exactly one copy of the observations.
    saved = sum(x.nbytes for x in jax.tree_util.tree_leaves(traj_a)) - sum(
        x.nbytes for x in jax.tree_util.tree_leaves(traj_b))
    assert saved == traj_a.observation.nbytes


def test_final_observation__must_be_a_bool():
    for make in (lambda: wrappers.AutoReset(_envs.PointMass(), final_observation=0),
                 lambda: wrappers.VmapAutoReset(_envs.PointMass(), final_observation="no"),
                 lambda: wrappers.wrap(_envs.PointMass(), num_envs=2, final_observation=None)):
        with pytest.raises(TypeError, match="`final_observation` must be True or False"):
            make()


def test_wrap__final_observation_false_reaches_the_auto_reset():
    def extras_keys(**kwargs):
        env = wrappers.wrap(jit_env.make("CartPole-v1"), num_envs=4, **kwargs)
        state, _ = env.reset(jax.random.key(0))
        return set(env.step(state, jnp.zeros((4,), jnp.int32))[1].extras)

    assert extras_keys(final_observation=False) == extras_keys() - {FINAL}


def _assert_bits_equal(a, b):
    """Trees equal leaf by leaf, PRNG keys by their key data."""
    def bits(tree):
        return jax.tree_util.tree_map(
            lambda x: jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x, tree)

    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    _assert_trees_equal(bits(a), bits(b))


def _cartpole(max_episode_steps=7):
    return wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=max_episode_steps)


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
def test_autoreset__under_vmap_equals_vmap_autoreset_complete_bit_for_bit(mode):
    # 32 rows: the batched path restarts 2 rows per pass (chunked), the unbatched
    # one, under vmap, resets every row and selects; both run the same mode function.
    num, steps = 32, 30
    keys = jax.random.split(jax.random.key(11), num)
    single, batched = wrappers.AutoReset(_cartpole(), mode=mode), wrappers.VmapAutoReset(_cartpole(), mode=mode)
    actions = jax.random.randint(jax.random.key(2), (steps, num), 0, 2, jnp.int32)

    def run(reset, step):
        state, first = reset(keys)
        last, trajectory = jax.lax.scan(lambda s, a: step(s, a), state, actions)
        return first, trajectory, last

    expected = jax.jit(lambda: run(jax.vmap(single.reset), jax.vmap(single.step)))()
    got = jax.jit(lambda: run(batched.reset, batched.step))()
    # The same-step state is the inner state in both; in next-step mode the
    # fields of AutoResetState and BatchedAutoResetState (no pool) agree.
    _assert_bits_equal(got[:2], expected[:2])
    _assert_bits_equal((got[2].inner, got[2].needs_reset) if mode == "next_step" else got[2],
                        (expected[2].inner, expected[2].needs_reset) if mode == "next_step" else expected[2])
    ended = np.asarray(expected[1].step_type) == (0 if mode == "same_step" else 2)
    assert ended.sum(axis=1).max() > 2, "some steps must need more than one restart pass"


def test_reset_mixin__agrees_with_autoreset_bit_for_bit():
    with pytest.warns(DeprecationWarning):
        class Legacy(wrappers.ResetMixin, jit_env.Wrapper):
            def step(self, state, action):
                state, ts = self.env.step(state, action)
                return jax.lax.cond(ts.last(), self._auto_reset, self._identity, state, ts)

    # 0.1.5's mixin returns the ending step's extras unchanged: AutoReset without the copy.
    legacy, current = Legacy(_cartpole(5)), wrappers.AutoReset(_cartpole(5), final_observation=False)
    actions = jax.random.randint(jax.random.key(4), (23,), 0, 2, jnp.int32)

    def run(env):
        state, _ = env.reset(jax.random.key(9))
        return jax.lax.scan(env.step, state, actions)

    expected, got = jax.jit(lambda: run(current))(), jax.jit(lambda: run(legacy))()
    _assert_bits_equal(got, expected)
    assert int(np.sum(np.asarray(got[1].step_type) == 0)) >= 3


@pytest.mark.parametrize("mode", ["same_step", "next_step"])
@pytest.mark.parametrize("make", [
    lambda mode: wrappers.AutoReset(_envs.PointMass(horizon=3), mode=mode),
    lambda mode: wrappers.VmapAutoReset(_envs.PointMass(horizon=3), mode=mode),
    lambda mode: wrappers.TileAutoReset(_envs.PointMass(horizon=3), 2, mode=mode, strategy="precomputed"),
], ids=["AutoReset", "VmapAutoReset", "TileAutoReset"])
def test_step_with_reset_extras__returns_the_new_episodes_first_extras(make, mode):
    env = make(mode)
    batch = () if isinstance(env, wrappers.AutoReset) else (2,)
    state, _ = env.reset(jax.random.split(jax.random.key(0), 2) if isinstance(env, wrappers.VmapAutoReset)
                         else jax.random.key(0))
    action = jnp.broadcast_to(PUSH, (*batch, 2))
    step = jax.jit(lambda s: wrappers.step_with_reset_extras(env, s, action))
    plain_step = jax.jit(lambda s: env.step(s, action))
    starts = 0
    for _ in range(8):
        plain = plain_step(state)
        state, ts, reset_extras = step(state)
        _assert_bits_equal((state, ts), plain)  # what `step` returns, plus the extras
        first = np.asarray(ts.first())
        starts += int(first.sum())
        # PointMass's extras count the episode's steps: 0 on a reset, the horizon where it ends.
        np.testing.assert_array_equal(np.asarray(reset_extras["time"])[first], 0)
        if mode == "same_step":
            np.testing.assert_array_equal(np.asarray(ts.extras["time"])[first], 3)
        else:
            assert set(reset_extras) == {"time"}
            np.testing.assert_array_equal(reset_extras["time"], ts.extras["time"])
    assert starts >= 2


def test_step_with_reset_extras__refuses_other_environments():
    env = wrappers.Tile(_envs.PointMass(), 2)
    state, _ = env.reset(jax.random.key(0))
    with pytest.raises(ValueError, match=re.escape(_autoreset.ERR_NOT_AUTO_RESET.format(env))):
        wrappers.step_with_reset_extras(env, state, jnp.zeros((2, 2), jnp.float32))


@pytest.mark.parametrize("make", [
    lambda env, *args, **kw: wrappers.Tile(env, *args, **kw),
    lambda env, *args, **kw: wrappers.TileAutoReset(env, *args, **kw),
], ids=["Tile", "TileAutoReset"])
def test_num__deprecated_name_of_num_envs(make):
    name = "Tile" if isinstance(make(_envs.PointMass(), num_envs=1), wrappers.Tile) else "TileAutoReset"
    with pytest.warns(DeprecationWarning, match=re.escape(_transforms.DEPRECATED_NUM.format(name, 3))):
        old = make(_envs.PointMass(), num=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        positional, keyword = make(_envs.PointMass(), 3), make(_envs.PointMass(), num_envs=3)
    for env in (old, positional, keyword):
        assert env.num == env.num_envs == 3 and env.observation_spec().num == 3
        assert repr(env).startswith(f"{name}(PointMass(), num_envs=3")
    _assert_bits_equal(old.reset(jax.random.key(1)), keyword.reset(jax.random.key(1)))
    with pytest.raises(ValueError, match=re.escape(_transforms.ERR_NUM_ENVS_TWICE.format(name))):
        make(_envs.PointMass(), 3, num=3)
    with pytest.raises(ValueError, match=re.escape(_transforms.ERR_NUM_ENVS_MISSING.format(name, name))):
        make(_envs.PointMass())
    with pytest.raises(ValueError, match=re.escape(_common.ERR_POSITIVE_INT.format("num_envs", 0))):
        make(_envs.PointMass(), num_envs=0)


class _GymnasiumLikeMode(enum.Enum):
    """Stands in for `gymnasium.vector.AutoresetMode` here: the wrappers compare by value.

    tests/compat/test_gymnasium_vector.py checks Gymnasium's own enum.
    """

    NEXT_STEP = "NextStep"
    SAME_STEP = "SameStep"
    DISABLED = "Disabled"


@pytest.mark.parametrize("value, expected", [
    ("same_step", "same_step"), ("next_step", "next_step"), ("SameStep", "same_step"),
    ("NextStep", "next_step"), (_GymnasiumLikeMode.SAME_STEP, "same_step"),
    (_GymnasiumLikeMode.NEXT_STEP, "next_step")])
def test_auto_reset_mode__wrappers_accept_names_and_enum_values(value, expected):
    assert wrappers.auto_reset_mode(value) == expected
    for env in (wrappers.AutoReset(_envs.PointMass(), mode=value),
                wrappers.VmapAutoReset(_envs.PointMass(), mode=value),
                wrappers.TileAutoReset(_envs.PointMass(), 2, mode=value),
                wrappers.wrap(_envs.PointMass(), num_envs=2, mode=value, jit=False)):
        assert jit_env.wrappers.auto_resets(env)
        layer = env
        while not isinstance(layer, (wrappers.AutoReset, wrappers.VmapAutoReset, wrappers.TileAutoReset)):
            layer = layer.env
        assert layer.mode == expected
        assert (layer.state_type is not None) == (expected == "next_step")


@pytest.mark.parametrize("value", ["disabled", "Disabled", _GymnasiumLikeMode.DISABLED])
def test_auto_reset_mode__disabled_and_unknown_refused_by_the_wrappers(value):
    with pytest.raises(ValueError, match=re.escape(_autoreset.ERR_MODE_DISABLED.format(value))):
        wrappers.TileAutoReset(_envs.PointMass(), 2, mode=value)
    with pytest.raises(ValueError, match=re.escape(_common.ERR_CHOICE.format(
            "mode", "'same_step', 'next_step'", "same-step"))):
        wrappers.AutoReset(_envs.PointMass(), mode="same-step")
