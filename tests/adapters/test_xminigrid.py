"""XLand-MiniGrid through its adapter: every id checked, lockstep with xminigrid's own step, the bridges."""

import os
import re
import subprocess
import sys
import warnings

import _hub_checks
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

xminigrid = pytest.importorskip("xminigrid", reason="needs the `xminigrid` extra (tox -e hub)")

from absl.testing import absltest  # noqa: E402
from dm_env import test_utils  # noqa: E402
from gymnasium.utils import env_checker  # noqa: E402
from xminigrid import types as xmg_types  # noqa: E402
from xminigrid import wrappers as xmg_wrappers  # noqa: E402
from xminigrid.core import constants as xmg_constants  # noqa: E402
from xminigrid.core import goals as xmg_goals  # noqa: E402

import jit_env  # noqa: E402
from jit_env import compat  # noqa: E402
from jit_env.adapters import _catalogue, _common, _xminigrid  # noqa: E402

pytestmark = pytest.mark.hub

FAST_IDS = ("MiniGrid-Empty-5x5", "XLand-MiniGrid-R1-9x9")
"""Checked in every hub run; the others take 90-230 s each in check_env on a loaded 2-core machine."""
FORWARD, RIGHT = 0, 1
TO_THE_GOAL_5X5 = (FORWARD, FORWARD, RIGHT, FORWARD, FORWARD)  # From MiniGrid-Empty-5x5's fixed start.


def _library(name, **kwargs):
    """xminigrid's own env and params for `name`, as the adapter's `make` gets them."""
    env, params = xminigrid.make(name)
    return env, params.replace(**kwargs)


def _standard(fn):
    """`fn` under JAX's standard promotion (xminigrid is not strict-promotion clean)."""
    def wrapped(*args):
        with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
            return fn(*args)
    return wrapped


def test_catalogue__lists_every_xminigrid_id_in_order():
    assert _catalogue.LIBRARIES["xminigrid"].ids == xminigrid.registered_environments()


@pytest.mark.parametrize("name", [
    name if name in FAST_IDS else pytest.param(name, marks=pytest.mark.slow)
    for name in _catalogue.LIBRARIES["xminigrid"].ids])
def test_make__every_id_passes_check_env_and_the_bridges(name):
    _hub_checks.check_every_id(lambda: _xminigrid.make(name), num_steps=100, batch_size=3)


@pytest.mark.parametrize(("name", "kwargs"), [
    ("MiniGrid-Empty-5x5", {"max_steps": 20}), ("MiniGrid-MemoryS8", {"max_steps": 30})])
def test_step__lockstep_with_xminigrid(name, kwargs):
    env = _xminigrid.make(name, **kwargs)
    library, params = _library(name, **kwargs)
    library_reset = jax.jit(_standard(lambda key: library.reset(params, key)))
    library_step = jax.jit(_standard(lambda timestep, action: library.step(params, timestep, action)))
    step = jax.jit(env.step)
    key = jax.random.key(3)
    state, first = env.reset(key)
    expected = library_reset(jax.random.split(key)[1])  # The adapter keeps the other half.
    np.testing.assert_array_equal(first.observation, expected.observation)
    np.testing.assert_array_equal(state.timestep.state.grid, expected.state.grid)
    # Mostly forward, so that random walks reach the goals as well as the time limit.
    actions = np.random.default_rng(0).choice(6, 300, p=[0.5, 0.15, 0.15, 0.1, 0.05, 0.05])
    ends = {0.0: 0, 1.0: 0}
    for t, action in enumerate(actions):
        expected = library_step(state.timestep, action)
        state, ts = step(state, action)
        np.testing.assert_array_equal(ts.observation, expected.observation)
        assert float(ts.reward) == float(expected.reward)
        assert int(ts.step_type) == int(expected.step_type)
        assert float(ts.discount) == float(expected.discount)
        if bool(ts.last()):
            ends[float(ts.discount)] += 1
            # Both start over from the same library state: xminigrid's own reset.
            state = _xminigrid.XMiniGridState(key=state.key, timestep=library_reset(jax.random.key(t)))
    assert ends[0.0] > 0 and ends[1.0] > 0, ends  # Terminations and truncations both crossed.


def test_step__goal_is_termination_time_limit_is_truncation():
    env = _xminigrid.make("MiniGrid-Empty-5x5", max_steps=5)
    step = jax.jit(env.step)
    state, _ = env.reset(jax.random.key(0))
    for action in TO_THE_GOAL_5X5:
        state, ts = step(state, action)
    assert bool(ts.last()) and float(ts.discount) == 0.0
    assert float(ts.reward) == pytest.approx(1.0 - 0.9 * 5 / 5)
    state, _ = env.reset(jax.random.key(0))
    step_types = []
    for _ in range(5):
        state, ts = step(state, RIGHT)
        step_types.append(int(ts.step_type))
    assert step_types == [1, 1, 1, 1, 2]
    assert bool(ts.last()) and float(ts.discount) == 1.0 and float(ts.reward) == 0.0


def _red_ball_ruleset(params):
    ball = xmg_constants.TILES_REGISTRY[xmg_constants.Tiles.BALL, xmg_constants.Colors.RED]
    return xmg_types.RuleSet(goal=xmg_goals.AgentHoldGoal(tile=ball).encode(), rules=params.ruleset.rules,
                             init_tiles=jnp.asarray(ball)[None])


def test_reset__options_give_an_episode_its_ruleset_and_keep_the_state_structure():
    env = _xminigrid.make("XLand-MiniGrid-R1-9x9")
    options = env.params.replace(ruleset=_red_ball_ruleset(env.params))
    key = jax.random.key(0)
    assert jax.eval_shape(lambda k: env.reset(k, options=options), key) == jax.eval_shape(env.reset, key)
    ball = (xmg_constants.Tiles.BALL, xmg_constants.Colors.RED)
    state, _ = env.reset(key, options=options)
    grid = np.asarray(state.timestep.state.grid)
    assert ((grid[..., 0] == ball[0]) & (grid[..., 1] == ball[1])).sum() == 1
    np.testing.assert_array_equal(state.timestep.state.goal_encoding, options.ruleset.goal)
    state, _ = env.reset(key)
    assert not (np.asarray(state.timestep.state.grid)[..., 0] == ball[0]).any()


def test_reset__options_of_other_shapes_or_structure_refused():
    env = _xminigrid.make("XLand-MiniGrid-R1-9x9")
    ruleset = _red_ball_ruleset(env.params)
    two_tiles = ruleset.replace(init_tiles=jnp.concatenate([ruleset.init_tiles] * 2))
    with pytest.raises(ValueError, match=re.escape(_xminigrid.ERR_OPTIONS_LEAF.format(
            path=".ruleset.init_tiles", got=jax.ShapeDtypeStruct((2, 2), jnp.uint8),
            expected=jax.ShapeDtypeStruct((1, 2), jnp.uint8)))):
        env.reset(jax.random.key(0), options=env.params.replace(ruleset=two_tiles))
    with pytest.raises(ValueError, match=re.escape(_xminigrid.ERR_OPTIONS_STRUCTURE.split("{got}")[0])):
        env.reset(jax.random.key(0), options=env.params.replace(view_size=3))


def test_from_xminigrid__refuses_auto_resetting_wrappers():
    library, params = _library("MiniGrid-Empty-5x5")
    for wrapper in (xmg_wrappers.GymAutoResetWrapper, xmg_wrappers.DmEnvAutoResetWrapper):
        with pytest.raises(ValueError, match=re.escape(_common.ERR_AUTO_RESET.format(
                wrapper=wrapper.__name__, fix=_xminigrid.FIX_AUTO_RESET))):
            _xminigrid.FromXMiniGrid(wrapper(library), params)
    with pytest.raises(TypeError, match=re.escape(_common.ERR_NOT_LIBRARY_ENV.format(
            expected=_xminigrid.NOT_XMINIGRID, env="Empty"))):
        _xminigrid.FromXMiniGrid("Empty")


def test_make__unknown_id_or_field_refused():
    with pytest.raises(ValueError, match=re.escape("Unknown xminigrid id 'MiniGrid-Emtpy-5x5'. Did you mean "
                                                   "'MiniGrid-Empty-5x5'?")):
        _xminigrid.make("MiniGrid-Emtpy-5x5")
    with pytest.raises(ValueError, match=re.escape("xminigrid's EnvParams has no field 'max_step' (passed to "
                                                   "make('MiniGrid-Empty-5x5', ...))")):
        _xminigrid.make("MiniGrid-Empty-5x5", max_step=3)


def test_specs__xminigrid_grid_bounds_and_actions():
    env = _xminigrid.make("MiniGrid-Empty-5x5", view_size=3)
    spec = env.observation_spec()
    assert (spec.shape, spec.dtype) == ((3, 3, 2), np.uint8)
    np.testing.assert_array_equal(spec.maximum[0, 0], [xmg_constants.NUM_TILES - 1, xmg_constants.NUM_COLORS - 1])
    assert int(env.action_spec().num_values) == 6
    _, ts = env.reset(jax.random.key(0))
    assert ts.observation.shape == (3, 3, 2)


def test_render__xminigrids_drawing_eager_jitted_and_through_gymnasium():
    env = _xminigrid.make("MiniGrid-MemoryS8")  # A 7 x 8 grid.
    library, params = _library("MiniGrid-MemoryS8")
    state, _ = env.reset(jax.random.key(0))
    expected = library.render(params, state.timestep)
    assert expected.shape == (7 * 32, 8 * 32, 3)
    np.testing.assert_array_equal(env.render(state), expected)
    np.testing.assert_array_equal(jax.jit(env.render)(state), expected)
    bridge = compat.ToGymnasium(env, render_mode="rgb_array")
    bridge.reset(seed=0)
    assert bridge.render().shape == (7 * 32, 8 * 32, 3)


def test_native__is_xminigrids_own_reset_and_step():
    env = _xminigrid.make("MiniGrid-Empty-5x5")
    reset_fn, step_fn = _xminigrid.native(env)
    step_fn = jax.jit(step_fn)
    timestep = reset_fn(jax.random.key(0))
    for action in TO_THE_GOAL_5X5:
        timestep = step_fn(timestep, action, jax.random.key(1))
    assert int(timestep.step_type) == 2 and float(timestep.discount) == 0.0


def test_to_gymnasium__passes_gymnasiums_env_checker():
    # Registered, so that gymnasium.make gives it the spec the checker asks for.
    gymnasium.register("jit_env_hub_test/xminigrid-v0", entry_point=lambda **kwargs: compat.ToGymnasium(
        _xminigrid.make("MiniGrid-Empty-5x5", max_steps=10), **kwargs))
    try:
        env = gymnasium.make("jit_env_hub_test/xminigrid-v0")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            env_checker.check_env(env.unwrapped)
    finally:
        gymnasium.registry.pop("jit_env_hub_test/xminigrid-v0")


def test_to_gymnasium_vector__runs_and_auto_resets():
    env = compat.ToGymnasiumVector(_xminigrid.make("MiniGrid-Empty-5x5", max_steps=4), 3, seed=0)
    observation, _ = env.reset()
    assert observation.shape == (3, 7, 7, 2) and observation.dtype == np.uint8
    for _ in range(4):
        observation, reward, terminated, truncated, _ = env.step(np.full(3, RIGHT))
    assert truncated.all() and not terminated.any() and reward.shape == (3,)
    observation, *_ = env.step(np.full(3, RIGHT))  # Next-step auto-reset: a fresh episode.
    assert observation.shape == (3, 7, 7, 2)
    env.close()


class XMiniGridConformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
    def make_object_under_test(self):
        return compat.ToDeepmindEnv(_xminigrid.make("MiniGrid-Empty-5x5", max_steps=8), seed=1)

    def make_action_sequence(self):
        for action in np.random.default_rng(0).integers(0, 6, 60):
            yield np.int32(action)


def test_reset_and_step__same_types_under_x64():
    code = """
import jax, jax.numpy as jnp
from jit_env.adapters import _xminigrid
env = _xminigrid.make("MiniGrid-Empty-5x5", max_steps=6)
key = jax.random.key(0)
reset = jax.eval_shape(env.reset, key)
step = jax.eval_shape(env.step, reset[0], jnp.int32(0))
assert jax.tree_util.tree_structure(reset) == jax.tree_util.tree_structure(step)
for a, b in zip(jax.tree_util.tree_leaves(reset), jax.tree_util.tree_leaves(step)):
    assert (a.shape, a.dtype, a.weak_type) == (b.shape, b.dtype, b.weak_type), (a, b)
state, _ = env.reset(key)
def body(state, action):
    state, ts = env.step(state, action)
    return state, ts.reward
_, rewards = jax.jit(lambda s: jax.lax.scan(body, s, jnp.zeros(8, jnp.int32)))(state)
assert rewards.dtype == jnp.float32
print("ok")
"""
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_reset__fresh_start_per_key_raw_or_typed():
    env = _xminigrid.make("MiniGrid-EmptyRandom-5x5")
    states, _ = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 8))
    positions = {tuple(p) for p in np.asarray(states.timestep.state.agent.position)}
    assert len(positions) > 1  # No cached first state: each key its own start.
    typed, _ = env.reset(jax.random.key(5))
    raw, _ = env.reset(jax.random.PRNGKey(5))
    np.testing.assert_array_equal(typed.timestep.state.agent.position, raw.timestep.state.agent.position)


def test_catalogue__episode_limits_are_xminigrid_own():
    library = _catalogue.LIBRARIES["xminigrid"]
    assert library.limit_in_env
    for name in library.ids:
        assert library.episode_limits[name] == xminigrid.make(name)[1].max_steps, name


def test_make__max_episode_steps_sets_xminigrid_own_limit_and_none_lifts_it():
    env_id, turn = "xminigrid/MiniGrid-Empty-5x5", np.int32(1)  # Turning on the spot never reaches the goal.
    assert _hub_checks.episode(jit_env.make(env_id), turn, 130) == (100, 1.0)
    for steps in (7, 120):  # Lowering and lifting xminigrid's 100.
        env = jit_env.make(env_id, max_episode_steps=steps)
        assert env.unwrapped.params.max_steps == steps
        assert _hub_checks.episode(env, turn, 130) == (steps, 1.0)
    lifted = jit_env.make(env_id, max_episode_steps=None)
    assert lifted.unwrapped.params.max_steps == 100  # Kept for xminigrid's reward.
    assert _hub_checks.episode(lifted, turn, 130) == (130, None)
