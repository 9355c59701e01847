"""The Pgx adapter: every game through the checker, lockstep with Pgx, the bridges, x64."""

from __future__ import annotations

import re

import pytest

pgx = pytest.importorskip("pgx", reason="needs the pgx extra (tox -e hub)")

import _hub_checks  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jit_env  # noqa: E402
from jit_env import wrappers  # noqa: E402
from jit_env.adapters import _catalogue, _common, _pgx  # noqa: E402

pytestmark = pytest.mark.hub

IDS = _catalogue.LIBRARIES["pgx"].ids
FAST = ("2048", "minatar-breakout", "tic_tac_toe")
X64_BROKEN_UPSTREAM = ("chess", "connect_four", "gardner_chess", "go_9x9", "go_19x19",
                       "minatar-freeway", "shogi", "tic_tac_toe")
"""Games whose own Pgx `init` or `step` fails to trace under JAX_ENABLE_X64 (int32 and
int64 mixed in a `lax.select`/`lax.cond` inside Pgx); no adapter can run them under x64."""
SINGLE_PLAYER = ("2048", "minatar-asterix", "minatar-breakout", "minatar-freeway",
                 "minatar-seaquest", "minatar-space_invaders")


def test_catalogue__lists_every_available_id_in_order():
    assert IDS == tuple(pgx.available_envs())


@pytest.mark.parametrize(
    "name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in IDS])
def test_make__every_id_passes_check_env_and_the_bridges(name):
    # A multi-player game crosses the bridges in the single-agent view docs/hub.md gives:
    # one seat's entry of the reward vector (Gymnasium's checker wants a scalar reward).
    seat = None if name in SINGLE_PLAYER else (lambda env: wrappers.TransformReward(env, fn=lambda r: r[0]))
    _hub_checks.check_every_id(lambda: _pgx.make(name), num_steps=30, batch_size=3, view=seat)
    env = _pgx.make(name)
    players = env.pgx_env.num_players
    assert env.reward_spec().shape == (() if name in SINGLE_PLAYER else (players,))


def _lockstep(name: str, steps: int) -> None:
    env = _pgx.make(name)
    pgx_env = env.pgx_env
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    own_init = _hub_checks.library_call(jax.jit(pgx_env.init))
    own_step = _hub_checks.library_call(jax.jit(pgx_env.step))
    state, timestep = reset(jax.random.key(5))
    theirs = own_init(jax.random.split(jax.random.key(5))[1])
    _hub_checks.assert_trees_equal(state.env_state, theirs)
    ends = 0
    for i in range(steps):
        # A legal action for both (the adapter's mask is Pgx's), chosen from the key.
        mask = np.asarray(timestep.extras["legal_action_mask"])
        np.testing.assert_array_equal(mask, np.asarray(theirs.legal_action_mask))
        legal = np.flatnonzero(mask)
        action = jnp.int32(legal[(i * 7919) % len(legal)])
        step_key = jax.random.split(state.key)[1]
        state, timestep = step(state, action)
        theirs = own_step(theirs, action, step_key)
        _hub_checks.assert_trees_equal(state.env_state, theirs)
        np.testing.assert_array_equal(np.asarray(timestep.observation), np.asarray(theirs.observation))
        expected = theirs.rewards[0] if pgx_env.num_players == 1 else theirs.rewards
        np.testing.assert_array_equal(np.asarray(timestep.reward), np.asarray(expected))
        assert bool(timestep.last()) == bool(theirs.terminated | theirs.truncated)
        assert float(timestep.discount) == (0.0 if bool(theirs.terminated) else 1.0)
        assert int(timestep.extras["current_player"]) == int(theirs.current_player)
        if timestep.last():
            ends += 1
            state, timestep = reset(jax.random.key(100 + i))
            theirs = own_init(jax.random.split(jax.random.key(100 + i))[1])
    assert ends >= 1


def test_step__in_lockstep_with_pgx_tic_tac_toe():
    _lockstep("tic_tac_toe", 40)  # Multi-player: rewards per player, turns alternate.


def test_step__in_lockstep_with_pgx_minatar_breakout():
    _lockstep("minatar-breakout", 150)  # Single-player, chance events from the key.


def test_step__multi_player_reward_goes_to_each_seat():
    env = _pgx.make("tic_tac_toe")
    state, timestep = env.reset(jax.random.key(0))
    first = int(timestep.extras["current_player"])
    # X takes the top row while O plays the middle row: X wins on its third move.
    for action in (0, 3, 1, 4, 2):
        state, timestep = env.step(state, jnp.int32(action))
    assert timestep.last() and float(timestep.discount) == 0.0
    rewards = np.asarray(timestep.reward)
    assert rewards[first] == 1.0 and rewards[1 - first] == -1.0


def test_step__illegal_action_terminates_with_pgx_penalty():
    env = _pgx.make("tic_tac_toe")
    state, timestep = env.reset(jax.random.key(0))
    mover = int(timestep.extras["current_player"])
    state, _ = env.step(state, jnp.int32(4))
    state, timestep = env.step(state, jnp.int32(4))  # Taken square: illegal for the other.
    assert timestep.last() and float(timestep.discount) == 0.0
    assert np.asarray(timestep.reward)[1 - mover] == -1.0


def test_gymnasium_check_env__passes_without_warnings():
    _hub_checks.check_gymnasium(lambda: _pgx.make("minatar-breakout"), renders=False)


def test_gymnasium_vector__runs():
    _hub_checks.run_vector(_pgx.make("2048"))


def test_dm_env_conformance():
    def actions():
        for i in range(80):
            yield np.int32(i % 3)

    _hub_checks.run_conformance(
        _hub_checks.dm_env_conformance(lambda: _pgx.make("minatar-breakout"), actions))


def test_from_pgx__refuses_other_objects():
    with pytest.raises(TypeError, match=re.escape(_common.ERR_NOT_LIBRARY_ENV.format(
            expected=_pgx.NOT_PGX, env="2048"))):
        _pgx.FromPgx("2048")


def test_reset__refuses_options():
    env = _pgx.make("2048")
    with pytest.raises(ValueError, match=re.escape(_common.ERR_OPTIONS.format(
            library="Pgx", options={"a": 1}, hint=_pgx.OPTIONS_HINT))):
        env.reset(jax.random.key(0), options={"a": 1})


def test_make__passes_constructor_arguments():
    env = _pgx.make("minatar-breakout", sticky_action_prob=0.0)
    assert env.pgx_env.sticky_action_prob == 0.0
    go = _pgx.make("go_9x9", komi=0.5)
    assert go.observation_spec().shape[:2] == (9, 9)


def test_render__returns_pgx_svg():
    env = _pgx.make("tic_tac_toe")
    picture = env.render(env.reset(jax.random.key(0))[0])
    assert picture.startswith("<svg") and picture.rstrip().endswith("</svg>")


def test_native__is_pgx_init_and_step():
    env = _pgx.make("2048")
    init, step = _pgx.native(env)
    assert init == env.pgx_env.init and step == env.pgx_env.step


def test_x64__reset_and_step_layouts_match():
    result = _hub_checks.x64_layouts("_pgx", ["2048", "minatar-breakout", "tic_tac_toe"])
    assert result["2048"] == result["minatar-breakout"] == "ok"
    # Pgx's own tic_tac_toe step mixes int32 and int64 in a `lax.select` under x64.
    assert "lax.select requires arguments to have the same dtypes" in result["tic_tac_toe"]


@pytest.mark.slow
def test_x64__every_id_layouts_match():
    result = _hub_checks.x64_layouts("_pgx", list(IDS))
    for name, outcome in result.items():
        if name in X64_BROKEN_UPSTREAM:
            assert outcome != "ok", f"{name} now traces under x64: drop it from the list"
        else:
            assert outcome == "ok", (name, outcome)


def test_catalogue__episode_limits_are_the_games_own_rules():
    from pgx import animal_shogi, gardner_chess
    from pgx._src.games import chess, shogi

    library = _catalogue.LIBRARIES["pgx"]
    rules = {"chess": chess.MAX_TERMINATION_STEPS, "shogi": shogi.MAX_TERMINATION_STEPS,
             "gardner_chess": gardner_chess.MAX_TERMINATION_STEPS,
             "animal_shogi": animal_shogi.MAX_TERMINATION_STEPS,
             "go_9x9": pgx.make("go_9x9")._game.max_termination_steps,
             "go_19x19": pgx.make("go_19x19")._game.max_termination_steps}
    assert library.limit_in_env
    assert dict(library.episode_limits) == rules


def test_make__max_episode_steps_past_a_game_rule_is_refused():
    with pytest.raises(ValueError, match=re.escape(_common.ERR_LIMIT_FIXED.format(
            library="Pgx", name="chess", limit=512, received=600))):
        jit_env.make("pgx/chess", max_episode_steps=600)
    assert repr(jit_env.make("pgx/chess", max_episode_steps=100)) == (
        "TimeLimit(FromPgx('chess'), max_episode_steps=100)")
    assert repr(jit_env.make("pgx/chess")) == "FromPgx('chess')"  # The rule ends its games.
    noop = np.int32(0)  # MinAtar's games have no limit: jit_env's TimeLimit alone.
    assert _hub_checks.episode(jit_env.make("pgx/minatar-breakout", max_episode_steps=5), noop, 8) == (5, 1.0)
