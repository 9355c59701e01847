"""MountainCarContinuous-v0: MountainCar with a continuous force, Gymnasium's dynamics.

Observation: float32 `(2,)`, `[position, velocity]`. Action: float32 `(1,)` in
[-1, 1], the force (clipped to `[min_action, max_action]` before use). Reward:
`-0.1 * action[0]**2` per step (of the unclipped action, as in Gymnasium), plus
100 on reaching the goal. The episode terminates when
`position >= goal_position` and `velocity >= goal_velocity`;
`make("MountainCarContinuous-v0")` truncates it after 999 steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, _struct, specs
from jit_env.envs import _common, mountain_car


@_struct.dataclass
class Params:
    """Episode parameters; the defaults are Gymnasium's constants.

    Attributes:
        min_action, max_action: The force is clipped to this range.
        min_position, max_position: Bounds of the position.
        max_speed: Bound of the absolute velocity.
        goal_position: Position to reach (0.45, unlike MountainCar-v0's 0.5).
        goal_velocity: Velocity to reach it with.
        power: Acceleration per unit of force.
        gravity: Scale of the hill's pull, `-gravity * cos(3 * position)`.
        reset_low, reset_high: The initial position is uniform in this range.
    """

    min_action: Any = -1.0
    max_action: Any = 1.0
    min_position: Any = -1.2
    max_position: Any = 0.6
    max_speed: Any = 0.07
    goal_position: Any = 0.45
    goal_velocity: Any = 0.0
    power: Any = 0.0015
    gravity: Any = 0.0025
    reset_low: Any = -0.6
    reset_high: Any = -0.4


@_struct.dataclass
class State:
    """The car's position and velocity (float32), key and `Params` (None unless `per_episode_params`)."""

    key: jax.Array
    position: jax.Array
    velocity: jax.Array
    options: Params | None


class MountainCarContinuous(_core.Environment[State, jax.Array, jax.Array]):
    """MountainCarContinuous-v0 in pure JAX, step for step equal to Gymnasium's.

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`).

    >>> state, ts = MountainCarContinuous().reset(jax.random.key(0))
    >>> ts.observation.dtype
    dtype('float32')
    """

    def __init__(self, *, params: Params | Mapping[str, Any] | None = None, per_episode_params: bool = False):
        """Args:
        params: The environment's parameters: None (the defaults), a `Params`
            or a dict of `Params` overrides; NumPy float32 constants that XLA folds.
        per_episode_params: Whether `reset` takes per-episode parameters
            through `options` (then `state.options` always holds them, `params`
            when `options` is None); if False, `state.options` is None and
            `reset` refuses options.

        Raises:
            TypeError: If `params` is of another type.
            ValueError: If `params` names unknown fields.
        """
        super().__init__()
        self._params = _common.EpisodeParams("MountainCarContinuous", Params, params, per_episode_params)

    def __repr__(self) -> str:
        return f"MountainCarContinuous({self._params.repr_args()})"

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[jax.Array]]:
        stored = self._params.reset_options(options)
        params = self._params.of(stored)
        key, draw = _common.split_key(key)
        state = State(
            key=key,
            position=mountain_car.initial_position(draw, params.reset_low, params.reset_high),
            velocity=jnp.zeros((), jnp.float32),
            options=stored,
        )
        return state, _core.restart(jnp.stack([state.position, state.velocity]))

    def step(self, state: State, action: jax.Array) -> tuple[State, _core.TimeStep[jax.Array]]:
        p = self._params.of(state.options)
        raw = jnp.asarray(action).astype(jnp.float32)[0]
        force = jnp.clip(raw, p.min_action, p.max_action)
        velocity = state.velocity + force * p.power - p.gravity * jnp.cos(3 * state.position)
        position, velocity = mountain_car.move(
            state.position, velocity, p.min_position, p.max_position, p.max_speed)
        new = State(key=state.key, position=position, velocity=velocity, options=state.options)
        terminated = (position >= p.goal_position) & (velocity >= p.goal_velocity)
        reward = jnp.where(terminated, jnp.float32(100.0), jnp.float32(0.0)) - jnp.square(raw) * 0.1
        obs = jnp.stack([position, velocity])
        timestep = jax.lax.cond(
            terminated,
            lambda: _core.termination(reward, obs),
            lambda: _core.transition(reward, obs),
        )
        return new, timestep

    def observation_spec(self) -> specs.BoundedArray:
        return mountain_car.observation_spec(self._params.constants)

    def action_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((1,), jnp.float32, -1.0, 1.0, name="action")

    def reward_spec(self) -> specs.Array:
        return specs.Array((), jnp.float32, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the hill, car and flag; uint8 array of shape `(400, 600, 3)`."""
        p = self._params.of(state.options)
        return mountain_car.render_scene(state.position, p.min_position, p.max_position, p.goal_position)
