"""The Craftax adapter: every id through the checker, lockstep with Craftax, the bridges, x64.

Craftax compiles for long on CPU (tens of seconds to minutes per id): everything
but the catalogue and the errors is marked slow.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

craftax = pytest.importorskip("craftax", reason="needs the craftax extra (tox -e hub)")

import _hub_checks  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from craftax import craftax_env  # noqa: E402

import jit_env  # noqa: E402
from jit_env.adapters import _catalogue, _common, _craftax  # noqa: E402

pytestmark = pytest.mark.hub

IDS = _catalogue.LIBRARIES["craftax"].ids
CLASSIC = "Craftax-Classic-Symbolic-v1"


def test_catalogue__lists_every_id_craftax_builds_without_auto_reset():
    build = _hub_checks.library_call(craftax_env.make_craftax_env_from_name)
    for name in IDS:
        assert build(name, False) is not None
    for name in IDS:  # The "-AutoReset-v1" aliases only exist with auto-reset.
        alias = name.replace("-v1", "-AutoReset-v1")
        assert build(alias, True) is not None
        with pytest.raises(ValueError, match=re.escape(f"Unknown craftax environment: {alias}")):
            craftax_env.make_craftax_env_from_name(alias, auto_reset=False)


def test_from_craftax__refuses_auto_reset_environments():
    env = craftax_env.make_craftax_env_from_name(CLASSIC, auto_reset=True)  # Classic: no jnp.
    with pytest.raises(TypeError, match=re.escape(
            _common.ERR_AUTO_RESET.format(wrapper=type(env).__name__, fix=_craftax.FIX_AUTO_RESET))):
        _craftax.FromCraftax(env)
    with pytest.raises(TypeError, match=re.escape(_common.ERR_NOT_LIBRARY_ENV.format(
            expected=_craftax.NOT_CRAFTAX, env=None))):
        _craftax.FromCraftax(None)


def test_reset__refuses_options_of_another_structure():
    env = _craftax.make(CLASSIC)
    options = {"max_timesteps": 5}
    with pytest.raises(ValueError, match=re.escape(_craftax.ERR_OPTIONS.format(
            expected=jax.tree_util.tree_structure(env.params), received=options))):
        jax.eval_shape(lambda k: env.reset(k, options=options), jax.random.key(0))


def test_reset__same_state_structure_with_and_without_options():
    env = _craftax.make(CLASSIC)
    plain = jax.eval_shape(env.reset, jax.random.key(0))
    other = jax.eval_shape(lambda k: env.reset(
        k, options=env.params.replace(max_timesteps=7)), jax.random.key(0))
    assert jax.tree_util.tree_structure(plain) == jax.tree_util.tree_structure(other)
    assert [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(plain)] == [
        (x.shape, x.dtype) for x in jax.tree_util.tree_leaves(other)]


def test_make__pixels_ids_build_under_strict_promotion():
    for name in ("Craftax-Pixels-v1", "Craftax-Classic-Pixels-v1"):
        assert _craftax.make(name).observation_spec().shape[-1] == 3


@pytest.mark.slow
@pytest.mark.parametrize("name", IDS)
def test_make__every_id_passes_check_env_and_the_bridges(name):
    _hub_checks.check_every_id(lambda: _craftax.make(name), num_steps=20, batch_size=2)


@pytest.mark.slow
def test_step__time_limit_truncates_and_options_set_it():
    env = _craftax.make(CLASSIC)
    state, _ = env.reset(jax.random.key(0), options=env.params.replace(max_timesteps=3))
    step = jax.jit(env.step)
    noop = jnp.int32(0)
    for _ in range(2):
        state, timestep = step(state, noop)
        assert timestep.mid()
    state, timestep = step(state, noop)
    assert timestep.last() and float(timestep.discount) == 1.0  # Truncated, not terminated.
    # Death is a termination: the same state with no health left.
    health = state.env_state.player_health
    dying = dataclasses.replace(
        state,
        env_state=state.env_state.replace(player_health=jnp.full_like(health, -10)),
        params=state.params.replace(max_timesteps=jnp.full_like(state.params.max_timesteps,
                                                                10**6)))  # Past any healing.
    _, timestep = step(dying, noop)
    assert timestep.last() and float(timestep.discount) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("name", [CLASSIC, "Craftax-Symbolic-v1"])
def test_step__in_lockstep_with_craftax(name):
    env = _craftax.make(name)
    craft = env.craftax_env
    params = env.params
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    own_step = _hub_checks.library_call(jax.jit(craft.step_env))
    state, _ = reset(jax.random.key(3))
    own_reset = _hub_checks.library_call(jax.jit(craft.reset_env))
    _, theirs = own_reset(jax.random.split(jax.random.key(3))[1], params)
    _hub_checks.assert_trees_equal(state.env_state, theirs)
    actions = jax.random.randint(jax.random.key(1), (25,), 0, int(env.action_spec().num_values))
    for action in actions:
        step_key = jax.random.split(state.key)[1]
        state, timestep = step(state, action)
        observation, theirs, reward, done, info = own_step(step_key, theirs, action, params)
        _hub_checks.assert_trees_equal(state.env_state, theirs)
        np.testing.assert_array_equal(np.asarray(timestep.observation), np.asarray(observation))
        assert float(timestep.reward) == float(reward)
        assert bool(timestep.last()) == bool(done)
        assert set(timestep.extras) == set(info) - {"discount"}


@pytest.mark.slow
def test_bridges__gymnasium_dm_env_and_vector():
    _hub_checks.check_gymnasium(lambda: _craftax.make(CLASSIC), renders=True)
    _hub_checks.run_vector(_craftax.make(CLASSIC), num_envs=2, steps=4)

    def actions():
        for i in range(30):
            yield np.int32(i % 17)

    _hub_checks.run_conformance(
        _hub_checks.dm_env_conformance(lambda: _craftax.make(CLASSIC), actions))


_CRAFTAX_X64 = textwrap.dedent("""
    import json, sys
    import jax
    from craftax import craftax_env
    out = {}
    for name in sys.argv[1:]:
        env = craftax_env.make_craftax_env_from_name(name, False)
        key = jax.random.PRNGKey(0)
        try:
            _, state = jax.eval_shape(env.reset_env, key, env.default_params)
            jax.eval_shape(env.step_env, key, state, 0, env.default_params)
            out[name] = "ok"
        except Exception as e:  # Reported per id to the test.
            out[name] = type(e).__name__ + ": " + str(e)[:300]
    print("RESULT" + json.dumps(out))
""")


@pytest.mark.slow
def test_x64__craftax_itself_fails_to_trace_and_the_adapter_fails_alike():
    # Craftax 1.6.1's own reset_env/step_env mix 32- and 64-bit operands under JAX_ENABLE_X64
    # (a float32/float64 scatter in world_gen.py, int32/int64 and float32/float64 selects in
    # craftax_classic's game_logic.py and renderer.py): no adapter can run Craftax under x64.
    env = {**os.environ, "JAX_ENABLE_X64": "1"}
    done = subprocess.run([sys.executable, "-c", _CRAFTAX_X64, *IDS], capture_output=True,
                          text=True, env=env, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, done.stderr[-3000:]
    theirs = json.loads(lines[-1][len("RESULT"):])
    ours = _hub_checks.x64_layouts("_craftax", list(IDS))
    for name in IDS:
        assert theirs[name].startswith("TypeError: lax."), f"{name} now traces under x64 in Craftax: {theirs[name]}"
        assert ours[name] == theirs[name]


def test_native__is_craftax_reset_env_and_step_env():
    env = _craftax.make(CLASSIC)
    reset, _ = _craftax.native(env)
    ours = _hub_checks.library_call(jax.eval_shape)(reset, jax.random.key(0))
    theirs = _hub_checks.library_call(jax.eval_shape)(
        lambda k: env.craftax_env.reset_env(k, env.params)[1], jax.random.key(0))
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)


def test_catalogue__episode_limits_are_craftax_own():
    library = _catalogue.LIBRARIES["craftax"]
    assert library.limit_in_env
    for name in library.ids:
        assert library.episode_limits[name] == _craftax.make(name).params.max_timesteps, name


def test_make__max_episode_steps_sets_craftax_own_limit_and_none_lifts_it():
    noop = np.int32(0)
    for steps in (6, 20000):  # Lowering and lifting Craftax-Classic's 10000.
        env = jit_env.make(f"craftax/{CLASSIC}", max_episode_steps=steps)
        assert int(env.unwrapped.params.max_timesteps) == steps
    assert _hub_checks.episode(jit_env.make(f"craftax/{CLASSIC}", max_episode_steps=6), noop, 12) == (6, 1.0)
    # Lifted: a limit of 6 in the params no longer ends the episode (10000 steps are too long to run here).
    classic = craftax_env.make_craftax_env_from_name(CLASSIC, auto_reset=False)
    short = classic.default_params.replace(max_timesteps=6)
    assert _hub_checks.episode(_craftax.FromCraftax(classic, params=short), noop, 12) == (6, 1.0)
    lifted = _craftax.FromCraftax(classic, params=short, own_time_limit=False)
    assert _hub_checks.episode(lifted, noop, 12) == (12, None)
    assert repr(jit_env.make(f"craftax/{CLASSIC}", max_episode_steps=None)) == (
        "FromCraftax(CraftaxClassicSymbolicEnvNoAutoReset, own_time_limit=False)")
