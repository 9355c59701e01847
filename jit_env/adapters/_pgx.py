"""Pgx in: Pgx's games as `jit_env.Environment`s (``"pgx/<id>"``).

Pgx's API is `init(key) -> State` and `step(state, action, key) -> State`, the
episode's end in `state.terminated` / `state.truncated`, one reward per player
in `state.rewards`, the legal actions in `state.legal_action_mask` and the player
to move in `state.current_player`. The adapter carries the key beside Pgx's
state (Pgx's state holds none) and splits it on every step. Mapping:

* step type and discount: LAST with discount 0 when Pgx says `terminated`, LAST
  with discount 1 when it says only `truncated` (no Pgx game sets it today),
  MID otherwise. Pgx does not auto-reset: its step on an ended state returns it
  unchanged with zero rewards; jit_env's contract is reset after LAST.
* reward: single-player games (2048, the MinAtar games) give ``rewards[0]``, a
  float32 scalar. Multi-player games give the whole float32 vector
  ``rewards`` (shape ``(num_players,)``): one learner plays every seat (self-play),
  `extras["current_player"]` names the seat to act, and each player's reward is
  in its slot, also when it comes on the opponent's move.
* observation: Pgx's `state.observation` (from the view of the player to act).
* action masks: `extras["legal_action_mask"]` (bool, ``(num_actions,)``), beside
  `extras["current_player"]` (int32). An illegal action ends the game with
  Pgx's penalty, as in Pgx.
* render: `render(state)` returns Pgx's SVG string (`State.to_svg`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import pgx

from jit_env import _core, _struct, specs
from jit_env.adapters import _catalogue, _common

NOT_PGX = "a pgx.Env"
OPTIONS_HINT = "e.g. sticky_action_prob= for the MinAtar games"

BENCHMARK_ID = "minatar-breakout"
"""The id `benchmarks/hub.py` times."""

_MAKE_ARGUMENTS = {"go_9x9": {"size": 9, "komi": 7.5}, "go_19x19": {"size": 19, "komi": 7.5}}
"""The constructor arguments `pgx.make` passes; `make`'s keyword arguments update them."""


@_struct.dataclass
class PgxState:
    """The state of `FromPgx`: the key chain and Pgx's state.

    Attributes:
        key: The PRNG key chain (split on every step for Pgx's chance events).
        env_state: Pgx's `State` of the game.
    """

    key: jax.Array
    env_state: Any


class FromPgx(_core.Environment[PgxState, jax.Array, jax.Array]):
    """A Pgx game as a jit_env `Environment` (see the module docstring for the mapping).

    >>> import pgx  # doctest: +SKIP
    >>> env = FromPgx(pgx.make("2048"))  # doctest: +SKIP
    """

    def __init__(self, env: Any):
        """Args:
        env: A `pgx.Env` (e.g. `pgx.make("2048")`).

        Raises:
            TypeError: If `env` is not a Pgx environment.
        """
        super().__init__()
        if not isinstance(env, pgx.Env):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_PGX, env=env))
        self._env = env
        self._num_players = int(env.num_players)
        self._reward_shape: tuple[int, ...] = (
            () if self._num_players == 1 else (self._num_players,))
        with _common.library_promotion():
            layout = jax.eval_shape(env.init, jax.random.key(0))
        self._num_actions = int(layout.legal_action_mask.shape[0])
        observation = layout.observation
        self._observation_spec = specs.Array(
            observation.shape, observation.dtype, name="observation")

    def __repr__(self) -> str:
        return f"FromPgx({self._env.id!r})"

    @property
    def pgx_env(self) -> Any:
        """The wrapped Pgx environment."""
        return self._env

    @property
    def num_players(self) -> int:
        """Pgx's number of players; rewards are a vector when it is more than 1."""
        return self._num_players

    def _reward(self, rewards: jax.Array) -> jax.Array:
        rewards = jnp.asarray(rewards, jnp.float32)
        return rewards[0] if self._num_players == 1 else rewards

    def _extras(self, env_state: Any) -> dict[str, jax.Array]:
        return {
            "current_player": jnp.asarray(env_state.current_player, jnp.int32),
            "legal_action_mask": jnp.asarray(env_state.legal_action_mask, jnp.bool_),
        }

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        _common.check_no_options(options, library="Pgx", hint=OPTIONS_HINT)
        key, init_key = jax.random.split(key)
        with _common.library_promotion():
            env_state = _common.strong(self._env.init(init_key))
        timestep = _core.TimeStep(
            step_type=jnp.asarray(_core.StepType.FIRST, jnp.int8),
            reward=jnp.zeros(self._reward_shape, jnp.float32),
            discount=jnp.ones((), jnp.float32),
            observation=_common.to_spec(env_state.observation, self._observation_spec),
            extras=self._extras(env_state),
        )
        return PgxState(key=key, env_state=env_state), timestep

    def step(self, state: PgxState, action: jax.Array) -> Any:
        key, step_key = jax.random.split(state.key)
        with _common.library_promotion():
            env_state = self._env.step(state.env_state, action, step_key)
        env_state = _common.like(env_state, state.env_state)
        step_type, discount = _common.end_of_step(env_state.terminated, env_state.truncated)
        timestep = _core.TimeStep(
            step_type=step_type,
            reward=self._reward(env_state.rewards),
            discount=discount,
            observation=_common.to_spec(env_state.observation, self._observation_spec),
            extras=self._extras(env_state),
        )
        return PgxState(key=key, env_state=env_state), timestep

    def render(self, state: PgxState) -> str:
        """Pgx's SVG picture of the game (`State.to_svg`)."""
        return str(state.env_state.to_svg())

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return specs.DiscreteArray(self._num_actions, jnp.int32, name="action")

    def reward_spec(self) -> specs.Spec[Any]:
        return _common.reward_spec(self._reward_shape)

    def discount_spec(self) -> specs.Spec[Any]:
        return _common.discount_spec()


def make(name: str, *, max_episode_steps: _common.EpisodeSteps = _common.LIBRARY_DEFAULT,
         **kwargs: Any) -> FromPgx:
    """Builds Pgx's game `name` as a jit_env environment.

    Args:
        name: A Pgx id (`pgx.available_envs()`), e.g. ``"2048"`` or ``"minatar-breakout"``.
        max_episode_steps: Checked against the game's own limit (`jit_env.make`
            passes it whenever it is given): chess, shogi, Gardner chess,
            animal shogi and Go end every game after a number of steps by a
            rule (a draw: a termination), which Pgx fixes. A shorter episode
            is jit_env's `TimeLimit`'s (`jit_env.make` adds it); a longer one
            is refused; None keeps the rule (it is the game's, not a time limit).
        **kwargs: Constructor arguments of the game's class, over those `pgx.make`
            passes (e.g. ``sticky_action_prob=0.0`` for the MinAtar games, ``komi=``
            for Go).

    Returns:
        A `FromPgx` environment.

    Raises:
        ValueError: If `max_episode_steps` is larger than the game's own limit.
    """
    limit, _ = _common.own_limit(max_episode_steps)
    rule = _catalogue.LIBRARIES["pgx"].episode_limits.get(name)
    if limit is not None and rule is not None and limit > rule:
        raise ValueError(_common.ERR_LIMIT_FIXED.format(library="Pgx", name=name, limit=rule, received=limit))
    env = pgx.make(name)
    if kwargs:
        env = type(env)(**{**_MAKE_ARGUMENTS.get(name, {}), **kwargs})
    return FromPgx(env)


def native(env: FromPgx) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Pgx's own ``init(key)`` and ``step(state, action, key)`` for `env`."""
    pgx_env = env.pgx_env
    return pgx_env.init, pgx_env.step

