"""Pendulum-v1: swing a pendulum up and hold it, with Gymnasium's dynamics.

Observation: float32 `(3,)`, `[cos theta, sin theta, theta_dot]`. Action:
float32 `(1,)` in [-2, 2], the torque (clipped to `max_torque`). Reward:
`-(normalised_theta**2 + 0.1 * theta_dot**2 + 0.001 * torque**2)`. The episode
never terminates; `make("Pendulum-v1")` truncates it after 200 steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, _struct, specs
from jit_env.envs import _common

SCREEN_DIM = 500


@_struct.dataclass
class Params:
    """Episode parameters; the defaults are Gymnasium's constants.

    Attributes:
        max_speed: Bound of the angular velocity.
        max_torque: Bound of the torque.
        dt: Seconds per step.
        g: Gravitational acceleration.
        m: Mass.
        l: Length.
        reset_theta, reset_theta_dot: Initial angle and velocity are uniform in
            `[-reset_theta, reset_theta]` and `[-reset_theta_dot, reset_theta_dot]`.
    """

    max_speed: Any = 8.0
    max_torque: Any = 2.0
    dt: Any = 0.05
    g: Any = 10.0
    m: Any = 1.0
    l: Any = 1.0  # noqa: E741 -- Gymnasium's name.
    reset_theta: Any = math.pi
    reset_theta_dot: Any = 1.0


@_struct.dataclass
class State:
    """The pendulum's angle and angular velocity (float32), key and `Params` (None unless `per_episode_params`)."""

    key: jax.Array
    theta: jax.Array
    theta_dot: jax.Array
    options: Params | None


def angle_normalize(x: jax.Array) -> jax.Array:
    """Maps an angle into [-pi, pi)."""
    return jnp.mod(x + math.pi, 2 * math.pi) - math.pi


def _observation(theta: jax.Array, theta_dot: jax.Array) -> jax.Array:
    return jnp.stack([jnp.cos(theta), jnp.sin(theta), theta_dot]).astype(jnp.float32)


class Pendulum(_core.Environment[State, jax.Array, jax.Array]):
    """Pendulum-v1 in pure JAX, step for step equal to Gymnasium's (in float32).

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`).

    >>> state, ts = Pendulum(per_episode_params=True).reset(jax.random.key(0), options={"g": 9.81})
    >>> ts.observation.shape
    (3,)
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
        self._params = _common.EpisodeParams("Pendulum", Params, params, per_episode_params)

    def __repr__(self) -> str:
        return f"Pendulum({self._params.repr_args()})"

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[jax.Array]]:
        stored = self._params.reset_options(options)
        params = self._params.of(stored)
        key, draw = _common.split_key(key)
        high = jnp.stack([params.reset_theta, params.reset_theta_dot])
        theta, theta_dot = jax.random.uniform(draw, (2,), jnp.float32, -high, high)
        state = State(key=key, theta=theta, theta_dot=theta_dot, options=stored)
        return state, _core.restart(_observation(theta, theta_dot))

    def step(self, state: State, action: jax.Array) -> tuple[State, _core.TimeStep[jax.Array]]:
        p = self._params.of(state.options)
        u = jnp.clip(jnp.asarray(action).astype(jnp.float32)[0], -p.max_torque, p.max_torque)
        th, thdot = state.theta, state.theta_dot
        costs = jnp.square(angle_normalize(th)) + 0.1 * jnp.square(thdot) + 0.001 * jnp.square(u)
        new_thdot = thdot + (3 * p.g / (2 * p.l) * jnp.sin(th) + 3.0 / (p.m * p.l**2) * u) * p.dt
        new_thdot = jnp.clip(new_thdot, -p.max_speed, p.max_speed)
        new_th = th + new_thdot * p.dt
        new = State(key=state.key, theta=new_th, theta_dot=new_thdot, options=state.options)
        return new, _core.transition(-costs, _observation(new_th, new_thdot))

    def observation_spec(self) -> specs.BoundedArray:
        high = np.array([1.0, 1.0, self._params.constants.max_speed], np.float32)
        return specs.BoundedArray((3,), jnp.float32, -high, high, name="observation")

    def action_spec(self) -> specs.BoundedArray:
        m = self._params.constants.max_torque
        return specs.BoundedArray((1,), jnp.float32, -m, m, name="action")

    def reward_spec(self) -> specs.BoundedArray:
        p = self._params.constants
        worst = math.pi**2 + 0.1 * p.max_speed**2 + 0.001 * p.max_torque**2
        return specs.BoundedArray((), jnp.float32, -worst, 0.0, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the rod and axle like Gymnasium's `rgb_array` mode (without the torque arrow).

        Returns:
            uint8 array of shape `(500, 500, 3)`.
        """
        p = self._params.of(state.options)
        x, y = _common.pixel_grid(SCREEN_DIM, SCREEN_DIM)
        scale = SCREEN_DIM / 4.4
        offset = SCREEN_DIM / 2
        rod_length, half_width = p.l * scale, 0.1 * scale
        ux, uy = -jnp.sin(state.theta), jnp.cos(state.theta)
        color = (204, 77, 77)
        image = _common.canvas(SCREEN_DIM, SCREEN_DIM)
        rod = _common.box(x, y, offset + rod_length / 2 * ux, offset + rod_length / 2 * uy,
                          rod_length / 2, half_width, ux, uy)
        image = _common.paint(image, rod, color)
        image = _common.paint(image, _common.circle(x, y, offset, offset, half_width), color)
        tip = _common.circle(x, y, offset + rod_length * ux, offset + rod_length * uy, half_width)
        image = _common.paint(image, tip, color)
        return _common.paint(image, _common.circle(x, y, offset, offset, 0.05 * scale), (0, 0, 0))
