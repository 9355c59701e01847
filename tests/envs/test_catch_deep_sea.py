"""Catch-v0 and DeepSea-v0 behaviour: exact rewards, episode lengths, observations and masks.

Each rollout is one episode as a `lax.scan`, mapped over seeds and jitted. The
policy is picked by a traced int and the reset options are traced, so one
compilation per environment serves every test of it.
"""

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env.envs import catch, deep_sea

NUM_SEEDS = 32
SEEDS = jnp.arange(NUM_SEEDS, dtype=jnp.uint32)


def _keys():
    return jax.vmap(jax.random.key)(SEEDS)


def _np(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


# ----------------------------------------------------------------------------- Catch

TOWARD, AWAY, RANDOM = 0, 1, 2
LEFT_ACTION, STAY_ACTION, RIGHT_ACTION = 0, 1, 2


def _catch_action(mode, state, random_action):
    gap = state.ball_column - state.paddle_column
    toward = jnp.sign(gap) + 1
    away = jnp.where(gap == 0, jnp.int32(RIGHT_ACTION), 1 - jnp.sign(gap))  # on the ball's column: go right
    return jnp.select([mode == TOWARD, mode == AWAY], [toward, away], random_action)


@functools.cache
def _catch(rows=10, columns=5):
    """Returns the env and a jitted `(keys, mode, random_actions, reward_catch) -> (first, trajectory)`.

    Every reset overrides `reward_catch` through its options (pass the default to
    keep it), so that one compilation serves all tests.
    """
    env = catch.Catch(rows=rows, columns=columns, per_episode_params=True)

    def episode(key, mode, random_actions, reward_catch):
        state, first = env.reset(key, options={"reward_catch": reward_catch})

        def body(state, random_action):
            action = _catch_action(mode, state, random_action)
            new, timestep = env.step(state, action)
            record = {
                "ball_row": new.ball_row,
                "ball_column": new.ball_column,
                "paddle": state.paddle_column,
                "next_paddle": new.paddle_column,
                "action": action,
                "timestep": timestep,
                "options": new.options,
            }
            return new, record

        _, trajectory = jax.lax.scan(body, state, random_actions)
        return first, trajectory

    return env, jax.jit(jax.vmap(episode, in_axes=(0, None, 0, None)))


def _catch_rollout(mode, reward_catch=catch.Params.reward_catch, rows=10, columns=5):
    env, rollout = _catch(rows, columns)
    random_actions = np.random.default_rng(0).integers(0, 3, (NUM_SEEDS, rows - 1), dtype=np.int32)
    return env, _np(rollout(_keys(), jnp.int32(mode), random_actions, jnp.float32(reward_catch)))


@pytest.mark.parametrize(("rows", "columns"), [(10, 5), (6, 7)])
def test_catch__toward_policy_always_catches(rows, columns):
    _, (first, traj) = _catch_rollout(TOWARD, rows=rows, columns=columns)
    ts = traj["timestep"]
    # Every ball column is covered by the seeds.
    assert set(traj["ball_column"][:, 0].tolist()) == set(range(columns))
    # Episode: FIRST, then rows - 2 MID steps, then LAST with discount 0.
    np.testing.assert_array_equal(first.step_type, np.full(NUM_SEEDS, jit_env.StepType.FIRST))
    expected_types = np.full((NUM_SEEDS, rows - 1), jit_env.StepType.MID)
    expected_types[:, -1] = jit_env.StepType.LAST
    np.testing.assert_array_equal(ts.step_type, expected_types)
    expected_discount = np.ones((NUM_SEEDS, rows - 1), np.float32)
    expected_discount[:, -1] = 0.0
    np.testing.assert_array_equal(ts.discount, expected_discount)
    expected_reward = np.zeros((NUM_SEEDS, rows - 1), np.float32)
    expected_reward[:, -1] = catch.Params.reward_catch
    np.testing.assert_array_equal(ts.reward, expected_reward)
    assert ts.reward.dtype == np.float32 and ts.discount.dtype == np.float32
    np.testing.assert_array_equal(traj["next_paddle"][:, -1], traj["ball_column"][:, -1])
    np.testing.assert_array_equal(traj["ball_row"][:, -1], np.full(NUM_SEEDS, rows - 1))


def test_catch__away_policy_always_misses():
    env, (_, traj) = _catch_rollout(AWAY)
    ts = traj["timestep"]
    expected_reward = np.zeros((NUM_SEEDS, env.rows - 1), np.float32)
    expected_reward[:, -1] = catch.Params.reward_miss
    np.testing.assert_array_equal(ts.reward, expected_reward)
    assert ts.step_type[:, -1].tolist() == [jit_env.StepType.LAST] * NUM_SEEDS
    assert ts.discount[:, -1].tolist() == [0.0] * NUM_SEEDS
    assert np.all(traj["next_paddle"][:, -1] != traj["ball_column"][:, -1])


def test_catch__reset_options_override_rewards():
    _, (_, caught) = _catch_rollout(TOWARD, reward_catch=5.0)
    _, (_, missed) = _catch_rollout(AWAY, reward_catch=5.0)
    np.testing.assert_array_equal(caught["timestep"].reward[:, -1], np.full(NUM_SEEDS, 5.0, np.float32))
    np.testing.assert_array_equal(caught["timestep"].reward[:, :-1], 0.0)
    # Fields not overridden keep their defaults.
    np.testing.assert_array_equal(missed["timestep"].reward[:, -1], np.full(NUM_SEEDS, -1.0, np.float32))
    # The resolved params ride along in the state for the whole episode.
    np.testing.assert_array_equal(caught["options"].reward_catch, 5.0)
    assert caught["options"].reward_catch.dtype == np.float32


def _catch_board(rows, columns, ball_row, ball_column, paddle):
    board = np.zeros((rows, columns), np.float32)
    board[ball_row, ball_column] = 1.0
    board[rows - 1, paddle] = 1.0
    return board


def test_catch__observation_board_and_mask_follow_state():
    env, (first, traj) = _catch_rollout(RANDOM)
    rows, columns = env.rows, env.columns
    obs = traj["timestep"].observation
    assert obs["board"].dtype == np.float32 and obs["action_mask"].dtype == np.bool_
    # Reset: ball on the top row, paddle in the middle of the bottom row.
    for seed in range(NUM_SEEDS):
        ball_column = traj["ball_column"][seed, 0]
        np.testing.assert_array_equal(
            first.observation["board"][seed], _catch_board(rows, columns, 0, ball_column, columns // 2))
        np.testing.assert_array_equal(
            obs["board"][seed],
            np.stack([_catch_board(rows, columns, r, c, p) for r, c, p in zip(
                traj["ball_row"][seed], traj["ball_column"][seed], traj["next_paddle"][seed])]))
    # The ball falls one row per step.
    np.testing.assert_array_equal(traj["ball_row"], np.broadcast_to(np.arange(1, rows), (NUM_SEEDS, rows - 1)))
    # One cell each, or one cell in all when the paddle holds the ball.
    holds = (traj["ball_row"] == rows - 1) & (traj["next_paddle"] == traj["ball_column"])
    np.testing.assert_array_equal(obs["board"].sum(axis=(-2, -1)), np.where(holds, 1.0, 2.0))
    paddle = traj["next_paddle"]
    expected_mask = np.stack([paddle > 0, np.ones_like(paddle, bool), paddle < columns - 1], axis=-1)
    np.testing.assert_array_equal(obs["action_mask"], expected_mask)
    np.testing.assert_array_equal(first.observation["action_mask"], np.ones((NUM_SEEDS, 3), bool))


def test_catch__masked_action_leaves_paddle_in_place():
    env, (first, traj) = _catch_rollout(RANDOM)
    paddle, action = traj["paddle"], traj["action"]
    # The mask seen before each step: the reset mask, then each step's.
    mask_before = np.concatenate(
        [first.observation["action_mask"][:, None], traj["timestep"].observation["action_mask"][:, :-1]], axis=1)
    allowed = np.take_along_axis(mask_before, action[..., None], axis=-1)[..., 0]
    expected = np.where(allowed, paddle + action - 1, paddle)
    np.testing.assert_array_equal(traj["next_paddle"], expected)
    # The random walk hits both walls with the masked action.
    assert np.any((paddle == 0) & (action == LEFT_ACTION))
    assert np.any((paddle == env.columns - 1) & (action == RIGHT_ACTION))
    assert not np.all(allowed)


@pytest.mark.parametrize(("rows", "columns"), [(1, 5), (0, 5), (10, 0), (-1, -1)])
def test_catch__rejects_bad_size(rows, columns):
    with pytest.raises(ValueError, match=f"^{re.escape(catch.ERR_SIZE.format(rows, columns))}$"):
        catch.Catch(rows=rows, columns=columns)


def test_catch__smallest_board_is_valid():
    env = catch.Catch(rows=2, columns=1)
    assert repr(env) == "Catch(rows=2, columns=1)"


# --------------------------------------------------------------------------- DeepSea

OPTIMAL, ALWAYS_LEFT = 0, 1  # and RANDOM = 2, as for Catch


def _deep_sea_action(mode, state, random_action, size):
    right = state.action_right[jnp.minimum(state.row, size - 1), state.column]
    return jnp.select([mode == OPTIMAL, mode == ALWAYS_LEFT], [right, 1 - right], random_action)


@functools.cache
def _deep_sea(size=10, randomize_actions=True):
    """Returns the env and a jitted `(keys, mode, random_actions, options) -> (first, action_right, trajectory)`.

    `options` is a `{"move_cost": ..., "goal_reward": ...}` dict of reset overrides.
    Seeds go through `lax.map`, as they did when the mapping was drawn per reset.
    """
    env = deep_sea.DeepSea(size=size, randomize_actions=randomize_actions, per_episode_params=True)

    def episode(key, mode, random_actions, options):
        state, first = env.reset(key, options=options)

        def body(state, random_action):
            action = _deep_sea_action(mode, state, random_action, size)
            new, timestep = env.step(state, action)
            record = {
                "row": state.row,
                "column": state.column,
                "next_row": new.row,
                "next_column": new.column,
                "action": action,
                "timestep": timestep,
            }
            return new, record

        _, trajectory = jax.lax.scan(body, state, random_actions)
        return first, state.action_right, trajectory

    def rollout(keys, mode, random_actions, options):
        return jax.lax.map(lambda xs: episode(xs[0], mode, xs[1], options), (keys, random_actions))

    return env, jax.jit(rollout)


def _deep_sea_rollout(mode, move_cost=deep_sea.Params.move_cost, goal_reward=deep_sea.Params.goal_reward,
                      size=10, randomize_actions=True):
    env, rollout = _deep_sea(size, randomize_actions)
    random_actions = np.random.default_rng(0).integers(0, 2, (NUM_SEEDS, size), dtype=np.int32)
    options = {"move_cost": jnp.float32(move_cost), "goal_reward": jnp.float32(goal_reward)}
    return env, _np(rollout(_keys(), jnp.int32(mode), random_actions, options))


def _deep_sea_optimal_rewards(size, move_cost, goal_reward):
    """Per-step rewards of always moving right, computed in float32 as the module does.

    Compare with `_assert_rewards`: XLA may compute `move_cost / size` as
    `move_cost * (1 / size)`, which can differ in the last bit.
    """
    step_cost = np.float32(move_cost) / np.float32(size)
    rewards = np.full(size, -step_cost, np.float32)
    rewards[-1] = np.float32(goal_reward) - step_cost
    return rewards


def _assert_rewards(actual, expected):
    assert actual.dtype == np.float32
    np.testing.assert_array_max_ulp(actual, np.broadcast_to(expected, actual.shape).astype(np.float32), maxulp=1)


@pytest.mark.parametrize(("size", "randomize_actions"), [(10, True), (10, False), (1, True)])
def test_deep_sea__optimal_policy_finds_the_treasure(size, randomize_actions):
    _, (first, _, traj) = _deep_sea_rollout(OPTIMAL, size=size, randomize_actions=randomize_actions)
    ts = traj["timestep"]
    defaults = deep_sea.Params()
    expected = _deep_sea_optimal_rewards(size, defaults.move_cost, defaults.goal_reward)
    _assert_rewards(ts.reward, expected)
    # bsuite's documented optimum: goal_reward - move_cost (0.99 with the defaults).
    np.testing.assert_allclose(
        ts.reward.astype(np.float64).sum(axis=1), defaults.goal_reward - defaults.move_cost, rtol=0, atol=1e-6)
    # The agent walks the diagonal to the bottom-right corner.
    np.testing.assert_array_equal(traj["column"], np.broadcast_to(np.arange(size), (NUM_SEEDS, size)))
    # Episode length is `size`: FIRST, size - 1 MID, then LAST with discount 0.
    assert first.step_type.tolist() == [jit_env.StepType.FIRST] * NUM_SEEDS
    expected_types = np.full((NUM_SEEDS, size), jit_env.StepType.MID)
    expected_types[:, -1] = jit_env.StepType.LAST
    np.testing.assert_array_equal(ts.step_type, expected_types)
    expected_discount = np.ones((NUM_SEEDS, size), np.float32)
    expected_discount[:, -1] = 0.0
    np.testing.assert_array_equal(ts.discount, expected_discount)
    assert ts.reward.dtype == np.float32 and ts.discount.dtype == np.float32


def test_deep_sea__always_left_returns_zero():
    env, (_, _, traj) = _deep_sea_rollout(ALWAYS_LEFT)
    np.testing.assert_array_equal(traj["timestep"].reward, np.zeros((NUM_SEEDS, env.size), np.float32))
    np.testing.assert_array_equal(traj["next_column"], 0)
    assert traj["timestep"].step_type[:, -1].tolist() == [jit_env.StepType.LAST] * NUM_SEEDS


def test_deep_sea__reset_options_override_rewards():
    env, (_, _, traj) = _deep_sea_rollout(OPTIMAL, move_cost=0.5, goal_reward=2.0)
    expected = _deep_sea_optimal_rewards(env.size, 0.5, 2.0)
    _assert_rewards(traj["timestep"].reward, expected)
    np.testing.assert_allclose(traj["timestep"].reward.astype(np.float64).sum(axis=1), 1.5, rtol=0, atol=1e-6)


def test_deep_sea__random_policy_follows_the_action_mapping():
    env, (_, action_right, traj) = _deep_sea_rollout(RANDOM)
    size = env.size
    row, column, action = traj["row"], traj["column"], traj["action"]
    seeds = np.arange(NUM_SEEDS)[:, None]
    right = action == action_right[seeds, row, column]
    np.testing.assert_array_equal(traj["next_row"], row + 1)
    np.testing.assert_array_equal(traj["next_column"], np.clip(column + np.where(right, 1, -1), 0, size - 1))
    step_cost = np.float32(deep_sea.Params.move_cost) / np.float32(size)
    goal = np.where(right & (column == size - 1), np.float32(deep_sea.Params.goal_reward), np.float32(0.0))
    _assert_rewards(traj["timestep"].reward, goal - np.where(right, step_cost, np.float32(0.0)))
    assert right.any() and not right.all()


def test_deep_sea__observation_is_one_hot_of_the_position():
    env, (first, _, traj) = _deep_sea_rollout(RANDOM)
    size = env.size
    obs = traj["timestep"].observation
    assert obs.dtype == np.float32 and obs.shape == (NUM_SEEDS, size, size, size)
    expected_first = np.zeros((size, size), np.float32)
    expected_first[0, 0] = 1.0
    np.testing.assert_array_equal(first.observation, np.broadcast_to(expected_first, (NUM_SEEDS, size, size)))
    expected = np.zeros_like(obs)
    seeds, steps = np.meshgrid(np.arange(NUM_SEEDS), np.arange(size - 1), indexing="ij")
    expected[seeds, steps, traj["next_row"][:, :-1], traj["next_column"][:, :-1]] = 1.0
    # After the last step the agent has left the grid: all zeros.
    np.testing.assert_array_equal(obs, expected)
    np.testing.assert_array_equal(obs[:, -1], 0.0)


def test_deep_sea__action_mapping_is_fixed_per_environment_and_drawn_per_mapping_seed():
    # Before 0.1.6 (jit_env 0.1.5) this test expected a new map per reset key; bsuite fixes
    # the map per environment, and so does DeepSea now: every reset key sees the same map.
    env, (_, action_right, traj) = _deep_sea_rollout(OPTIMAL)
    assert action_right.dtype == np.int32 and env.mapping_seed == deep_sea.DEFAULT_MAPPING_SEED == 42
    np.testing.assert_array_equal(action_right, np.broadcast_to(env.action_mapping, action_right.shape))
    assert set(np.unique(action_right).tolist()) == {0, 1}
    # So the optimal actions are one fixed action sequence, the same in every episode.
    assert len({a.tobytes() for a in traj["action"]}) == 1
    # Each mapping seed draws its own map: a fair coin per cell.
    maps = np.stack([deep_sea.DeepSea(size=10, mapping_seed=seed).action_mapping for seed in range(32)])
    assert len({m.tobytes() for m in maps}) == 32
    assert 0.45 < maps.mean() < 0.55
    assert np.all(maps.min(axis=0) == 0) and np.all(maps.max(axis=0) == 1)
    np.testing.assert_array_equal(deep_sea.DeepSea(size=10, mapping_seed=7).action_mapping, maps[7])
    assert not env.action_mapping.flags.writeable


def test_deep_sea__replaying_the_optimal_actions_finds_the_treasure_in_every_episode():
    env = jit_env.make("DeepSea-v0")
    size = env.size
    state, _ = env.reset(jax.random.key(0))
    # What an agent learns in its first episode: the action that went right in each diagonal cell.
    learned = jnp.asarray(np.asarray(state.action_right)[np.arange(size), np.arange(size)])

    @jax.jit
    def replay(key):
        state, _ = env.reset(key)
        final, timesteps = jax.lax.scan(lambda s, a: env.step(s, a), state, learned)
        return final.column, timesteps

    defaults = deep_sea.Params()
    for episode in range(20):
        column, timesteps = replay(jax.random.key(1000 + episode))
        assert int(column) == size - 1, episode
        _assert_rewards(np.asarray(timesteps.reward), _deep_sea_optimal_rewards(size, defaults.move_cost,
                                                                                defaults.goal_reward))
        assert int(timesteps.step_type[-1]) == jit_env.StepType.LAST


@pytest.mark.parametrize(("size", "mapping_seed"), [(10, 42), (5, 0), (12, 7)])
def test_deep_sea__steps_like_bsuite_deep_sea(size, mapping_seed):
    bsuite_deep_sea = pytest.importorskip("bsuite.environments.deep_sea")
    reference = bsuite_deep_sea.DeepSea(size=size, mapping_seed=mapping_seed)
    env = deep_sea.DeepSea(size=size, mapping_seed=mapping_seed)
    np.testing.assert_array_equal(env.action_mapping, reference._action_mapping)
    step = jax.jit(env.step)
    rng = np.random.default_rng(mapping_seed)
    for episode in range(6):
        state, first = env.reset(jax.random.key(episode))
        expected = reference.reset()
        np.testing.assert_array_equal(np.asarray(first.observation), expected.observation)
        assert int(first.step_type) == int(expected.step_type)
        # Episode 0 follows the treasure path, the others act at random.
        for row in range(size):
            action = (int(env.action_mapping[row, int(state.column)]) if episode == 0
                      else int(rng.integers(0, 2)))
            state, timestep = step(state, jnp.int32(action))
            expected = reference.step(action)
            assert int(timestep.step_type) == int(expected.step_type), (episode, row)
            np.testing.assert_array_equal(np.asarray(timestep.observation), expected.observation)
            np.testing.assert_allclose(float(timestep.reward), expected.reward, rtol=0, atol=1e-6)
            assert float(timestep.discount) == expected.discount
        if episode == 0:
            assert reference._denoised_return == 1.0


def test_deep_sea__without_randomization_action_one_moves_right():
    _, (_, action_right, traj) = _deep_sea_rollout(OPTIMAL, randomize_actions=False)
    np.testing.assert_array_equal(action_right, 1)
    np.testing.assert_array_equal(traj["action"], 1)


@pytest.mark.parametrize("size", [0, -3])
def test_deep_sea__rejects_bad_size(size):
    with pytest.raises(ValueError, match=f"^{re.escape(deep_sea.ERR_SIZE.format(size))}$"):
        deep_sea.DeepSea(size=size)


# ------------------------------------------------------------------------------ both

@pytest.mark.parametrize("env", [catch.Catch(), deep_sea.DeepSea()], ids=repr)
def test_reset_and_step__have_identical_structure(env):
    state, first = jax.eval_shape(env.reset, jax.random.key(0))
    action = jax.ShapeDtypeStruct((), jnp.int32)
    next_state, timestep = jax.eval_shape(env.step, state, action)
    assert jax.tree_util.tree_structure(next_state) == jax.tree_util.tree_structure(state)
    assert jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), (next_state, timestep)) == (
        jax.tree_util.tree_map(lambda x: (x.shape, x.dtype), (state, first)))
