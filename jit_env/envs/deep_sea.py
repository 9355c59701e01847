"""DeepSea-v0: a deep-exploration chain (after bsuite's Deep Sea).

The agent starts at the top-left of a `size x size` grid and descends one row
per step; each step it moves left or right. Which action means "right" is drawn
at random per cell once per environment, from `mapping_seed`, as bsuite does
(when `randomize_actions`): the agent must explore to find the treasure, and
the same actions find it again in every later episode. Moving right costs
`move_cost / size`; moving right from the rightmost column (reachable only by
always moving right) earns `goal_reward`. The episode terminates after `size`
steps, when the agent leaves the bottom row.

This version is deterministic (bsuite's default). Observation: float32
`(size, size)`, one-hot of the agent's cell (all zeros after the last step).
The mapping for a `mapping_seed` is bsuite's for the same `mapping_seed`
(`numpy.random.RandomState(mapping_seed).binomial(1, 0.5, (size, size))`), so
`DeepSea(size=n, mapping_seed=s)` steps exactly as bsuite's
`DeepSea(size=n, mapping_seed=s)`.

Earlier development versions redrew the mapping at every reset, so no fixed
action sequence found the treasure twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, _struct, specs
from jit_env.envs import _common

CELL_PIXELS = 20
ERR_SIZE = "DeepSea needs a positive `size`, got {!r}."
ERR_MAPPING_SEED = "DeepSea needs a `mapping_seed` in [0, 2**32), got {!r}."
DEFAULT_MAPPING_SEED = 42
"""The `mapping_seed` of `DeepSea()` and `make("DeepSea-v0")`: the one every bsuite deep_sea setting uses."""


@_struct.dataclass
class Params:
    """Episode parameters; the defaults are bsuite's.

    Attributes:
        move_cost: Total cost of moving right on every step (each costs `move_cost / size`).
        goal_reward: Reward for reaching the treasure.
    """

    move_cost: Any = 0.01
    goal_reward: Any = 1.0


@_struct.dataclass
class State:
    """DeepSea's state: int32 position, the per-cell action mapping, key and `Params` (or None).

    Attributes:
        action_right: int32 `(size, size)`, the action that moves right in each
            cell: the environment's fixed mapping, the same in every episode.
    """

    key: jax.Array
    row: jax.Array
    column: jax.Array
    action_right: jax.Array
    options: Params | None


class DeepSea(_core.Environment[State, jax.Array, jax.Array]):
    """Deep Sea: reward only for the one trajectory that always goes right.

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`).

    Attributes:
        action_mapping: int32 `(size, size)` read-only NumPy array, the action
            that moves right in each cell, drawn once from `mapping_seed`.

    >>> state, ts = DeepSea(size=4).reset(jax.random.key(0))
    >>> ts.observation.shape
    (4, 4)
    """

    def __init__(
        self,
        size: int = 10,
        randomize_actions: bool = True,
        *,
        mapping_seed: int = DEFAULT_MAPPING_SEED,
        params: Params | Mapping[str, Any] | None = None,
        per_episode_params: bool = False,
    ):
        """Args:
        size: Grid size and episode length.
        randomize_actions: Draw the meaning of the actions per cell (once, from
            `mapping_seed`); if False, action 1 always moves right.
        mapping_seed: Seed of the action mapping, fixed for the environment's
            lifetime; the same seed gives bsuite's mapping.
        params: The environment's parameters: None (the defaults), a `Params`
            or a dict of `Params` overrides; NumPy float32 constants that XLA folds.
        per_episode_params: Whether `reset` takes per-episode parameters
            through `options` (then `state.options` always holds them, `params`
            when `options` is None); if False, `state.options` is None and
            `reset` refuses options.

        Raises:
            TypeError: If `params` is of another type.
            ValueError: If `size` is not positive, `mapping_seed` is not in
                [0, 2**32), or `params` names unknown fields.
        """
        super().__init__()
        if size < 1:
            raise ValueError(ERR_SIZE.format(size))
        if isinstance(mapping_seed, bool) or not isinstance(mapping_seed, (int, np.integer)) or not (
                0 <= mapping_seed < 2**32):
            raise ValueError(ERR_MAPPING_SEED.format(mapping_seed))
        self.size = size
        self.randomize_actions = randomize_actions
        self.mapping_seed = int(mapping_seed)
        drawn: np.ndarray = (np.random.RandomState(self.mapping_seed).binomial(1, 0.5, (size, size))
                             if randomize_actions else np.ones((size, size)))
        self.action_mapping = drawn.astype(np.int32)
        self.action_mapping.flags.writeable = False
        self._params = _common.EpisodeParams("DeepSea", Params, params, per_episode_params)

    def __repr__(self) -> str:
        extra = self._params.repr_args()
        return (f"DeepSea(size={self.size}, randomize_actions={self.randomize_actions}, "
                f"mapping_seed={self.mapping_seed}{', ' + extra if extra else ''})")

    def _observation(self, row: jax.Array, column: jax.Array) -> jax.Array:
        rows = jax.nn.one_hot(row, self.size, dtype=jnp.float32)
        columns = jax.nn.one_hot(column, self.size, dtype=jnp.float32)
        return rows[:, None] * columns[None, :]

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[jax.Array]]:
        stored = self._params.reset_options(options)
        key, _ = _common.split_key(key)
        action_right = jnp.asarray(self.action_mapping)
        zero = jnp.zeros((), jnp.int32)
        state = State(key=key, row=zero, column=zero, action_right=action_right, options=stored)
        return state, _core.restart(self._observation(zero, zero))

    def step(self, state: State, action: jax.Array) -> tuple[State, _core.TimeStep[jax.Array]]:
        p = self._params.of(state.options)
        row = jnp.minimum(state.row, self.size - 1)
        right = jnp.asarray(action).astype(jnp.int32) == state.action_right[row, state.column]
        at_goal = right & (state.column == self.size - 1)
        reward = (jnp.where(at_goal, p.goal_reward, jnp.float32(0.0))
                  - jnp.where(right, p.move_cost / self.size, jnp.float32(0.0)))
        column = jnp.clip(state.column + jnp.where(right, 1, -1), 0, self.size - 1).astype(jnp.int32)
        new = State(key=state.key, row=state.row + 1, column=column,
                    action_right=state.action_right, options=state.options)
        obs = self._observation(new.row, new.column)
        timestep = jax.lax.cond(
            new.row >= self.size,
            lambda: _core.termination(reward, obs),
            lambda: _core.transition(reward, obs),
        )
        return new, timestep

    def observation_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((self.size, self.size), jnp.float32, 0.0, 1.0, name="observation")

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(2, jnp.int32, name="action")

    def reward_spec(self) -> specs.Array:
        return specs.Array((), jnp.float32, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the reachable cells, the treasure and the agent, 20 pixels a cell.

        Returns:
            uint8 array of shape `(20 * size, 20 * size, 3)`.
        """
        rows = jnp.arange(self.size, dtype=jnp.int32)[:, None]
        columns = jnp.arange(self.size, dtype=jnp.int32)[None, :]
        cells = jnp.where(columns <= rows, 1, 0)
        cells = cells.at[self.size - 1, self.size - 1].set(2)
        agent = (rows == state.row) & (columns == state.column)
        cells = jnp.where(agent, 3, cells)
        palette = _common.uint8_colors([(0, 30, 80), (0, 90, 160), (255, 200, 0), (230, 40, 40)])
        return _common.upscale(palette[cells], CELL_PIXELS)
