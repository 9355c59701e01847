"""Catch-v0: move a paddle to catch a falling ball (after bsuite's Catch).

A ball starts in a random column of the top row and falls one row per step; the
paddle sits in the bottom row and moves left, stays or moves right. When the
ball reaches the bottom row the episode terminates with `reward_catch` if the
paddle is under it and `reward_miss` otherwise; every other step rewards 0.

The observation is a dict:

* ``"board"``: float32 `(rows, columns)`, 1.0 where the ball and the paddle are;
* ``"action_mask"``: bool `(3,)`, which actions move the paddle (left is masked
  at the left wall, right at the right wall). A masked action leaves the paddle
  where it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, _struct, specs
from jit_env.envs import _common

CELL_PIXELS = 40
ERR_SIZE = "Catch needs `rows` >= 2 and `columns` >= 1, got rows={} and columns={}."


@_struct.dataclass
class Params:
    """Episode parameters.

    Attributes:
        reward_catch: Reward when the paddle catches the ball.
        reward_miss: Reward when it misses.
    """

    reward_catch: Any = 1.0
    reward_miss: Any = -1.0


@_struct.dataclass
class State:
    """Catch's state: int32 positions, the PRNG key and `Params` (None unless `per_episode_params`)."""

    key: jax.Array
    ball_row: jax.Array
    ball_column: jax.Array
    paddle_column: jax.Array
    options: Params | None


class Catch(_core.Environment[State, jax.Array, dict[str, jax.Array]]):
    """Catch with a dict observation and an action mask.

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`).

    >>> env = Catch(rows=10, columns=5)
    >>> state, ts = env.reset(jax.random.key(0))
    >>> ts.observation["board"].shape, ts.observation["action_mask"].tolist()
    ((10, 5), [True, True, True])
    """

    def __init__(
        self,
        rows: int = 10,
        columns: int = 5,
        *,
        params: Params | Mapping[str, Any] | None = None,
        per_episode_params: bool = False,
    ):
        """Args:
        rows: Board height (the episode lasts `rows - 1` steps).
        columns: Board width.
        params: The environment's parameters: None (the defaults), a `Params`
            or a dict of `Params` overrides; NumPy float32 constants that XLA folds.
        per_episode_params: Whether `reset` takes per-episode parameters
            through `options` (then `state.options` always holds them, `params`
            when `options` is None); if False, `state.options` is None and
            `reset` refuses options.

        Raises:
            TypeError: If `params` is of another type.
            ValueError: If `rows < 2` or `columns < 1`, or `params` names unknown fields.
        """
        super().__init__()
        if rows < 2 or columns < 1:
            raise ValueError(ERR_SIZE.format(rows, columns))
        self.rows = rows
        self.columns = columns
        self._params = _common.EpisodeParams("Catch", Params, params, per_episode_params)

    def __repr__(self) -> str:
        extra = self._params.repr_args()
        return f"Catch(rows={self.rows}, columns={self.columns}{', ' + extra if extra else ''})"

    def _observation(self, state: State) -> dict[str, jax.Array]:
        board = jnp.zeros((self.rows, self.columns), jnp.float32)
        board = board.at[state.ball_row, state.ball_column].set(1.0)
        board = board.at[self.rows - 1, state.paddle_column].set(1.0)
        mask = jnp.stack([state.paddle_column > 0, jnp.ones((), bool),
                          state.paddle_column < self.columns - 1])
        return {"board": board, "action_mask": mask}

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[dict[str, jax.Array]]]:
        stored = self._params.reset_options(options)
        key, draw = _common.split_key(key)
        state = State(
            key=key,
            ball_row=jnp.zeros((), jnp.int32),
            ball_column=jax.random.randint(draw, (), 0, self.columns, jnp.int32),
            paddle_column=jnp.asarray(self.columns // 2, jnp.int32),
            options=stored,
        )
        return state, _core.restart(self._observation(state))

    def step(
        self, state: State, action: jax.Array
    ) -> tuple[State, _core.TimeStep[dict[str, jax.Array]]]:
        move = jnp.asarray(action).astype(jnp.int32) - 1
        new = State(
            key=state.key,
            ball_row=jnp.minimum(state.ball_row + 1, self.rows - 1),
            ball_column=state.ball_column,
            paddle_column=jnp.clip(state.paddle_column + move, 0, self.columns - 1),
            options=state.options,
        )
        done = new.ball_row == self.rows - 1
        caught = new.paddle_column == new.ball_column
        p = self._params.of(state.options)
        reward = jnp.where(done, jnp.where(caught, p.reward_catch, p.reward_miss), jnp.float32(0.0))
        obs = self._observation(new)
        timestep = jax.lax.cond(
            done,
            lambda: _core.termination(reward, obs),
            lambda: _core.transition(reward, obs),
        )
        return new, timestep

    def observation_spec(self) -> specs.Dict:
        return specs.Dict(
            board=specs.BoundedArray((self.rows, self.columns), jnp.float32, 0.0, 1.0, name="board"),
            action_mask=specs.Array((3,), bool, name="action_mask"),
        )

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(3, jnp.int32, name="action")

    def reward_spec(self) -> specs.Array:
        return specs.Array((), jnp.float32, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the board, 40 pixels a cell.

        Returns:
            uint8 array of shape `(40 * rows, 40 * columns, 3)`.
        """
        cells = jnp.zeros((self.rows, self.columns), jnp.int32)
        cells = cells.at[state.ball_row, state.ball_column].set(1)
        cells = cells.at[self.rows - 1, state.paddle_column].set(2)
        palette = _common.uint8_colors([(30, 30, 30), (255, 200, 0), (0, 160, 255)])
        return _common.upscale(palette[cells], CELL_PIXELS)
