"""Navix through its adapter: every id checked, lockstep with navix's own step, the bridges."""

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

navix = pytest.importorskip("navix", reason="needs the `navix` extra (tox -e hub)")

from absl.testing import absltest  # noqa: E402
from dm_env import test_utils  # noqa: E402
from gymnasium.utils import env_checker  # noqa: E402
from navix import observations as navix_observations  # noqa: E402

import jit_env  # noqa: E402
from jit_env import compat  # noqa: E402
from jit_env.adapters import _catalogue, _common, _navix  # noqa: E402

pytestmark = pytest.mark.hub

FAST_IDS = ("Navix-Empty-5x5-v0", "Navix-Dynamic-Obstacles-5x5-v0")
"""Checked in every hub run; the others take 40-80 s each in check_env on a loaded 2-core machine."""
LEFT, RIGHT, FORWARD = 0, 1, 2
TO_THE_GOAL_5X5 = (FORWARD, FORWARD, RIGHT, FORWARD, FORWARD)  # From Navix-Empty-5x5-v0's fixed start.
TRUNCATION, TERMINATION = 1, 2  # navix's step types.


def _standard(fn):
    """`fn` under JAX's standard promotion (navix is not strict-promotion clean)."""
    def wrapped(*args):
        with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
            return fn(*args)
    return wrapped


def test_catalogue__lists_every_navix_id_in_order():
    assert _catalogue.LIBRARIES["navix"].ids == tuple(navix.registry())


@pytest.mark.parametrize("name", [
    name if name in FAST_IDS else pytest.param(name, marks=pytest.mark.slow)
    for name in _catalogue.LIBRARIES["navix"].ids])
def test_make__every_id_passes_check_env_and_the_bridges(name):
    _hub_checks.check_every_id(lambda: _navix.make(name), num_steps=100, batch_size=3)


@pytest.mark.parametrize("name", ["Navix-Empty-5x5-v0", "Navix-Dynamic-Obstacles-5x5-v0"])
def test_step__lockstep_with_navix(name):
    env = _navix.make(name, max_steps=20)
    library = navix.make(name, max_steps=20)
    library_reset, library_step = jax.jit(_standard(library.reset)), jax.jit(_standard(library.step))
    step = jax.jit(env.step)
    key = jax.random.key(3)
    state, first = env.reset(key)
    expected = library_reset(jax.random.split(key)[1])  # The adapter keeps the other half.
    np.testing.assert_array_equal(first.observation, expected.observation)
    # Mostly forward, so that random walks reach the goals as well as the time limit.
    actions = np.random.default_rng(0).choice(7, 300, p=[0.15, 0.15, 0.5, 0.05, 0.05, 0.05, 0.05])
    ends = {TRUNCATION: 0, TERMINATION: 0}
    for action in actions:
        expected = library_step(state.timestep, action)  # navix's public, auto-resetting step.
        state, ts = step(state, action)
        np.testing.assert_array_equal(ts.observation, expected.observation)
        assert float(ts.reward) == float(expected.reward)
        assert bool(ts.last()) == (int(expected.step_type) > 0)
        assert float(ts.discount) == (0.0 if int(expected.step_type) == TERMINATION else 1.0)
        if bool(ts.last()):
            ends[int(expected.step_type)] += 1
            # navix's step now resets from the same library state; the adapter starts there too.
            restarted = library_step(expected, action)
            assert int(restarted.t) == 0
            state = _navix.NavixState(key=state.key, timestep=restarted)
    assert ends[TRUNCATION] > 0 and ends[TERMINATION] > 0, ends


def test_step__never_auto_resets():
    env = _navix.make("Navix-Empty-5x5-v0")
    state, _ = env.reset(jax.random.key(0))
    for action in TO_THE_GOAL_5X5:
        state, ts = env.step(state, action)
    assert bool(ts.last()) and float(ts.discount) == 0.0 and float(ts.reward) == 1.0
    assert int(_standard(env.navix_env.step)(state.timestep, LEFT).t) == 0  # navix's own step would reset here.
    state, ts = env.step(state, LEFT)
    assert int(state.timestep.t) == 6 and not bool(ts.first())


def test_step__time_limit_is_truncation():
    env = _navix.make("Navix-Empty-5x5-v0", max_steps=4)
    state, _ = env.reset(jax.random.key(0))
    step_types, discounts = [], []
    for _ in range(4):
        state, ts = env.step(state, LEFT)
        step_types.append(int(ts.step_type))
        discounts.append(float(ts.discount))
    assert step_types == [1, 1, 1, 2] and discounts == [1.0] * 4


def test_specs__symbolic_bounds_corrected():
    env = _navix.make("Navix-Empty-5x5-v0")
    spec = env.observation_spec()
    assert (spec.shape, spec.dtype) == ((5, 5, 3), np.uint8)
    assert int(env.navix_env.observation_space.maximum) == 8  # navix's own bound, which the player breaks:
    _, ts = env.reset(jax.random.key(0))
    assert int(ts.observation[..., 0].max()) == 10
    np.testing.assert_array_equal(spec.maximum[0, 0], [10, 5, 255])
    assert bool(spec.contains(ts.observation))
    assert int(env.action_spec().num_values) == 7
    assert (float(env.reward_spec().minimum), float(env.reward_spec().maximum)) == (-1.0, 1.0)


def test_make__other_observation_functions():
    rgb = _navix.make("Navix-Empty-5x5-v0", observation_fn=navix_observations.rgb)
    spec = rgb.observation_spec()
    assert (spec.shape, spec.dtype, int(spec.maximum.max())) == ((40, 40, 3), np.uint8, 255)
    categorical = _navix.make("Navix-DoorKey-5x5-v0", observation_fn=navix_observations.categorical)
    spec = categorical.observation_spec()
    _, ts = categorical.reset(jax.random.key(1))
    assert (spec.shape, spec.dtype) == ((5, 5), np.int32) and bool(spec.contains(ts.observation))
    assert int(ts.observation.min()) == -1  # Walls are -1, below navix's own lower bound 0.
    first_person = _navix.make("Navix-Empty-5x5-v0", observation_fn=navix_observations.categorical_first_person)
    assert type(first_person.observation_spec()).__name__ == "Array"  # Bounds unknown: unbounded.


def test_reset__options_refused():
    env = _navix.make("Navix-Empty-5x5-v0")
    with pytest.raises(ValueError, match=re.escape(_common.ERR_OPTIONS.format(
            library="navix", options={"max_steps": 3}, hint=_navix.OPTIONS_HINT))):
        env.reset(jax.random.key(0), options={"max_steps": 3})


def test_make__unknown_id_refused():
    with pytest.raises(ValueError, match=re.escape("Unknown navix id 'Navix-Empty-5x5-v1'. Did you mean "
                                                   "'Navix-Empty-5x5-v0'?")):
        _navix.make("Navix-Empty-5x5-v1")
    with pytest.raises(TypeError, match=re.escape(_common.ERR_NOT_LIBRARY_ENV.format(
            expected=_navix.NOT_NAVIX, env="Room"))):
        _navix.FromNavix("Room")


def test_render__rgb_image_jittable():
    env = _navix.make("Navix-Empty-5x5-v0")
    state, _ = env.reset(jax.random.key(0))
    image = jax.jit(env.render)(state)
    assert image.shape == (40, 40, 3) and image.dtype == jnp.uint8
    np.testing.assert_array_equal(image, _standard(navix_observations.rgb)(state.timestep.state))
    bridge = compat.ToGymnasium(env, render_mode="rgb_array")
    bridge.reset(seed=0)
    assert bridge.render().shape == (40, 40, 3)


def test_native__is_navixs_own_reset_and_transition():
    env = _navix.make("Navix-Empty-5x5-v0")
    reset_fn, step_fn = _navix.native(env)
    step_fn = jax.jit(step_fn)
    timestep = reset_fn(jax.random.key(0))
    for action in TO_THE_GOAL_5X5:
        timestep = step_fn(timestep, action, jax.random.key(1))
    assert int(timestep.step_type) == TERMINATION


def test_to_gymnasium__passes_gymnasiums_env_checker():
    # Registered, so that gymnasium.make gives it the spec the checker asks for.
    gymnasium.register("jit_env_hub_test/navix-v0", entry_point=lambda **kwargs: compat.ToGymnasium(
        _navix.make("Navix-Empty-5x5-v0", max_steps=10), **kwargs))
    try:
        env = gymnasium.make("jit_env_hub_test/navix-v0")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            env_checker.check_env(env.unwrapped)
    finally:
        gymnasium.registry.pop("jit_env_hub_test/navix-v0")


def test_to_gymnasium_vector__runs_and_auto_resets():
    env = compat.ToGymnasiumVector(_navix.make("Navix-Empty-5x5-v0", max_steps=4), 3, seed=0)
    observation, _ = env.reset()
    assert observation.shape == (3, 5, 5, 3) and observation.dtype == np.uint8
    for _ in range(4):
        observation, reward, terminated, truncated, _ = env.step(np.full(3, LEFT))
    assert truncated.all() and not terminated.any() and reward.shape == (3,)
    observation, *_ = env.step(np.full(3, LEFT))  # Next-step auto-reset: a fresh episode.
    assert observation.shape == (3, 5, 5, 3)
    env.close()


class NavixConformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
    def make_object_under_test(self):
        return compat.ToDeepmindEnv(_navix.make("Navix-Empty-5x5-v0", max_steps=8), seed=1)

    def make_action_sequence(self):
        for action in np.random.default_rng(0).integers(0, 7, 60):
            yield np.int32(action)


def test_reset_and_step__same_types_under_x64():
    code = """
import jax, jax.numpy as jnp
from jit_env.adapters import _navix
env = _navix.make("Navix-Dynamic-Obstacles-5x5-v0", max_steps=6)
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
    env = _navix.make("Navix-Empty-Random-5x5-v0")
    _, first = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 8))
    assert len({np.asarray(o).tobytes() for o in first.observation}) > 1  # No cached first state.
    _, typed = env.reset(jax.random.key(5))
    _, raw = env.reset(jax.random.PRNGKey(5))
    np.testing.assert_array_equal(typed.observation, raw.observation)


def test_catalogue__episode_limits_are_navix_own():
    library = _catalogue.LIBRARIES["navix"]
    assert library.limit_in_env
    for name in library.ids:
        assert library.episode_limits[name] == navix.make(name).max_steps, name


def test_make__max_episode_steps_sets_navix_own_limit_and_none_lifts_it():
    env_id, turn = "navix/Navix-Empty-5x5-v0", np.int32(0)  # Turning on the spot never reaches the goal.
    assert _hub_checks.episode(jit_env.make(env_id), turn, 130) == (100, 1.0)
    for steps in (7, 120):  # Lowering and lifting navix's 100.
        env = jit_env.make(env_id, max_episode_steps=steps)
        assert env.unwrapped.navix_env.max_steps == steps
        assert _hub_checks.episode(env, turn, 130) == (steps, 1.0)
    assert _hub_checks.episode(jit_env.make(env_id, max_episode_steps=None), turn, 130) == (130, None)


def test_gymnasium_make__max_episode_steps_lifts_navix_own_limit():
    compat.register_gymnasium_envs()
    for steps in (None, 40, 150):
        extra = {} if steps is None else {"max_episode_steps": steps}
        env = gymnasium.make("jit_env/navix.Navix-Empty-5x5-v0", **extra)
        assert env.spec.max_episode_steps == (steps or 100)
        assert _hub_checks.gymnasium_episode(env, 0, 200) == (steps or 100, False, True)
