"""MountainCar-v0: drive an underpowered car up a hill, with Gymnasium's dynamics.

Observation: float32 `(2,)`, `[position, velocity]`. Action: int32 in
{0, 1, 2} (accelerate left, don't, accelerate right). Reward: -1.0 per step.
The episode terminates when `position >= goal_position` and
`velocity >= goal_velocity`; `make("MountainCar-v0")` truncates it after 200
steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, _struct, specs
from jit_env.envs import _common

SCREEN_WIDTH = 600
SCREEN_HEIGHT = 400


@_struct.dataclass
class Params:
    """Episode parameters; the defaults are Gymnasium's constants.

    Attributes:
        min_position, max_position: Bounds of the position.
        max_speed: Bound of the absolute velocity.
        goal_position: Position to reach.
        goal_velocity: Velocity to reach it with.
        force: Acceleration per unit of action.
        gravity: Scale of the hill's pull, `-gravity * cos(3 * position)`.
        reset_low, reset_high: The initial position is uniform in this range.
    """

    min_position: Any = -1.2
    max_position: Any = 0.6
    max_speed: Any = 0.07
    goal_position: Any = 0.5
    goal_velocity: Any = 0.0
    force: Any = 0.001
    gravity: Any = 0.0025
    reset_low: Any = -0.6
    reset_high: Any = -0.4


@_struct.dataclass
class State:
    """MountainCar's state: position and velocity (float32), key and `Params` (None unless `per_episode_params`)."""

    key: jax.Array
    position: jax.Array
    velocity: jax.Array
    options: Params | None


def initial_position(key: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    """A float32 position uniform in `[low, high)`."""
    return jax.random.uniform(key, (), jnp.float32, low, high)


def move(position: jax.Array, velocity: jax.Array, min_position: jax.Array,
         max_position: jax.Array, max_speed: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Clips the velocity, moves, clips the position and stops the car at the left wall."""
    velocity = jnp.clip(velocity, -max_speed, max_speed)
    position = jnp.clip(position + velocity, min_position, max_position)
    velocity = jnp.where((position == min_position) & (velocity < 0), jnp.zeros_like(velocity), velocity)
    return position, velocity


def observation_spec(p: Any) -> specs.BoundedArray:
    """The observation spec for the default bounds of `p` (a Params instance)."""
    low = np.array([p.min_position, -p.max_speed], np.float32)
    high = np.array([p.max_position, p.max_speed], np.float32)
    return specs.BoundedArray((2,), jnp.float32, low, high, name="observation")


def render_scene(position: jax.Array, min_position: jax.Array, max_position: jax.Array,
                 goal_position: jax.Array) -> jax.Array:
    """Draws the hill, the car and the goal flag like Gymnasium's `rgb_array` mode.

    Returns:
        uint8 array of shape `(400, 600, 3)`.
    """
    x, y = _common.pixel_grid(SCREEN_HEIGHT, SCREEN_WIDTH)
    scale = SCREEN_WIDTH / (max_position - min_position)

    def height(xs: jax.Array) -> jax.Array:
        return jnp.sin(3 * xs) * 0.45 + 0.55

    image = _common.canvas(SCREEN_HEIGHT, SCREEN_WIDTH)
    track = jnp.abs(y - height(x / scale + min_position) * scale) <= 1.5
    image = _common.paint(image, track, (0, 0, 0))
    car_x = (position - min_position) * scale
    car_y = 10.0 + height(position) * scale
    tilt = jnp.cos(3 * position)  # Gymnasium tilts the car by this many radians.
    ux, uy = jnp.cos(tilt), jnp.sin(tilt)
    body = _common.box(x, y, car_x - 10.0 * uy, car_y + 10.0 * ux, 20.0, 10.0, ux, uy)
    image = _common.paint(image, body, (0, 0, 0))
    for along in (10.0, -10.0):
        wheel = _common.circle(x, y, car_x + along * ux, car_y + along * uy, 8.0)
        image = _common.paint(image, wheel, (128, 128, 128))
    flag_x = (goal_position - min_position) * scale
    flag_y1 = height(goal_position) * scale
    flag_y2 = flag_y1 + 50.0
    pole = (jnp.abs(x - flag_x) <= 1.0) & (y >= flag_y1) & (y <= flag_y2)
    image = _common.paint(image, pole, (0, 0, 0))
    frac = (x - flag_x) / 25.0
    flag = (frac >= 0.0) & (frac <= 1.0) & (jnp.abs(y - (flag_y2 - 5.0)) <= 5.0 * (1.0 - frac))
    return _common.paint(image, flag, (204, 204, 0))


class MountainCar(_core.Environment[State, jax.Array, jax.Array]):
    """MountainCar-v0 in pure JAX, step for step equal to Gymnasium's (in float32).

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`). The observation spec's bounds are the defaults.

    >>> state, ts = MountainCar().reset(jax.random.key(0))
    >>> float(ts.observation[1])
    0.0
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
        self._params = _common.EpisodeParams("MountainCar", Params, params, per_episode_params)

    def __repr__(self) -> str:
        return f"MountainCar({self._params.repr_args()})"

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[jax.Array]]:
        stored = self._params.reset_options(options)
        params = self._params.of(stored)
        key, draw = _common.split_key(key)
        state = State(
            key=key,
            position=initial_position(draw, params.reset_low, params.reset_high),
            velocity=jnp.zeros((), jnp.float32),
            options=stored,
        )
        return state, _core.restart(jnp.stack([state.position, state.velocity]))

    def step(self, state: State, action: jax.Array) -> tuple[State, _core.TimeStep[jax.Array]]:
        p = self._params.of(state.options)
        push = jnp.asarray(action).astype(jnp.float32) - 1.0
        velocity = state.velocity + push * p.force + jnp.cos(3 * state.position) * (-p.gravity)
        position, velocity = move(state.position, velocity, p.min_position, p.max_position, p.max_speed)
        new = State(key=state.key, position=position, velocity=velocity, options=state.options)
        terminated = (position >= p.goal_position) & (velocity >= p.goal_velocity)
        reward = -jnp.ones((), jnp.float32)
        obs = jnp.stack([position, velocity])
        timestep = jax.lax.cond(
            terminated,
            lambda: _core.termination(reward, obs),
            lambda: _core.transition(reward, obs),
        )
        return new, timestep

    def observation_spec(self) -> specs.BoundedArray:
        return observation_spec(self._params.constants)

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(3, jnp.int32, name="action")

    def reward_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, -1.0, -1.0, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the hill, car and flag; uint8 array of shape `(400, 600, 3)`."""
        p = self._params.of(state.options)
        return render_scene(state.position, p.min_position, p.max_position, p.goal_position)
