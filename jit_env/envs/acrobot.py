"""Acrobot-v1: swing a two-link pendulum up, with Gymnasium's dynamics and constants.

Observation: float32 `(6,)`, `[cos t1, sin t1, cos t2, sin t2, dt1, dt2]`.
Action: int32 in {0, 1, 2}, a torque of -1, 0 or +1 on the joint between the
links. Reward: -1.0 per step, 0.0 on the terminating step. The episode
terminates when `-cos(t1) - cos(t1 + t2) > 1` (the tip is above the bar);
`make("Acrobot-v1")` truncates it after 500 steps. The dynamics are Gymnasium's
"book" variant, integrated with one fourth-order Runge-Kutta step of `dt`,
without torque noise.
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
        link_length_1, link_length_2: Link lengths (m).
        link_mass_1, link_mass_2: Link masses (kg).
        link_com_pos_1, link_com_pos_2: Positions of the links' centres of mass (m).
        link_moi: Moment of inertia of both links.
        max_vel_1, max_vel_2: Joint velocity bounds (rad/s).
        gravity: Gravitational acceleration (m/s^2).
        dt: Seconds per step.
        reset_bound: Initial state drawn uniformly from `[-reset_bound, reset_bound]^4`.
    """

    link_length_1: Any = 1.0
    link_length_2: Any = 1.0
    link_mass_1: Any = 1.0
    link_mass_2: Any = 1.0
    link_com_pos_1: Any = 0.5
    link_com_pos_2: Any = 0.5
    link_moi: Any = 1.0
    max_vel_1: Any = 4 * math.pi
    max_vel_2: Any = 9 * math.pi
    gravity: Any = 9.8
    dt: Any = 0.2
    reset_bound: Any = 0.1


@_struct.dataclass
class State:
    """Acrobot's state: joint angles and velocities (float32), key and `Params` (None unless `per_episode_params`)."""

    key: jax.Array
    theta1: jax.Array
    theta2: jax.Array
    dtheta1: jax.Array
    dtheta2: jax.Array
    options: Params | None


def _derivatives(p: Params, s: jax.Array, torque: jax.Array) -> jax.Array:
    """Time derivative of `s = [t1, t2, dt1, dt2]` (float32 `(4,)`) under `torque`."""
    theta1, theta2, dtheta1, dtheta2 = s[0], s[1], s[2], s[3]
    m1, m2, l1 = p.link_mass_1, p.link_mass_2, p.link_length_1
    lc1, lc2, inertia, g = p.link_com_pos_1, p.link_com_pos_2, p.link_moi, p.gravity
    d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * jnp.cos(theta2)) + 2 * inertia
    d2 = m2 * (lc2**2 + l1 * lc2 * jnp.cos(theta2)) + inertia
    phi2 = m2 * lc2 * g * jnp.cos(theta1 + theta2 - math.pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * dtheta2**2 * jnp.sin(theta2)
        - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * jnp.sin(theta2)
        + (m1 * lc1 + m2 * l1) * g * jnp.cos(theta1 - math.pi / 2)
        + phi2
    )
    ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * jnp.sin(theta2) - phi2) / (
        m2 * lc2**2 + inertia - d2**2 / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return jnp.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])


def _wrap(x: jax.Array) -> jax.Array:
    """Wraps an angle into [-pi, pi] by whole turns, as Gymnasium's `wrap` does."""
    turn = 2 * math.pi
    above = x - turn * jnp.ceil((x - math.pi) / turn)
    below = x + turn * jnp.ceil((-math.pi - x) / turn)
    return jnp.where(x > math.pi, above, jnp.where(x < -math.pi, below, x))


def _observation(state: State) -> jax.Array:
    return jnp.stack([
        jnp.cos(state.theta1), jnp.sin(state.theta1), jnp.cos(state.theta2), jnp.sin(state.theta2),
        state.dtheta1, state.dtheta2,
    ]).astype(jnp.float32)


class Acrobot(_core.Environment[State, jax.Array, jax.Array]):
    """Acrobot-v1 in pure JAX, step for step equal to Gymnasium's (in float32).

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`). The observation spec's velocity bounds are the defaults.

    >>> state, ts = Acrobot().reset(jax.random.key(0))
    >>> ts.observation.shape
    (6,)
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
        self._params = _common.EpisodeParams("Acrobot", Params, params, per_episode_params)

    def __repr__(self) -> str:
        return f"Acrobot({self._params.repr_args()})"

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[jax.Array]]:
        stored = self._params.reset_options(options)
        params = self._params.of(stored)
        key, draw = _common.split_key(key)
        t1, t2, d1, d2 = jax.random.uniform(
            draw, (4,), jnp.float32, -params.reset_bound, params.reset_bound)
        state = State(key=key, theta1=t1, theta2=t2, dtheta1=d1, dtheta2=d2, options=stored)
        return state, _core.restart(_observation(state))

    def step(self, state: State, action: jax.Array) -> tuple[State, _core.TimeStep[jax.Array]]:
        p = self._params.of(state.options)
        torque = jnp.asarray(action).astype(jnp.float32) - 1.0
        s = jnp.stack([state.theta1, state.theta2, state.dtheta1, state.dtheta2])
        dt = p.dt
        k1 = _derivatives(p, s, torque)
        k2 = _derivatives(p, s + dt / 2 * k1, torque)
        k3 = _derivatives(p, s + dt / 2 * k2, torque)
        k4 = _derivatives(p, s + dt * k3, torque)
        ns = s + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        new = State(
            key=state.key,
            theta1=_wrap(ns[0]),
            theta2=_wrap(ns[1]),
            dtheta1=jnp.clip(ns[2], -p.max_vel_1, p.max_vel_1),
            dtheta2=jnp.clip(ns[3], -p.max_vel_2, p.max_vel_2),
            options=state.options,
        )
        terminated = -jnp.cos(new.theta1) - jnp.cos(new.theta2 + new.theta1) > 1.0
        obs = _observation(new)
        timestep = jax.lax.cond(
            terminated,
            lambda: _core.termination(jnp.zeros((), jnp.float32), obs),
            lambda: _core.transition(-jnp.ones((), jnp.float32), obs),
        )
        return new, timestep

    def observation_spec(self) -> specs.BoundedArray:
        p = self._params.constants
        high = np.array([1.0, 1.0, 1.0, 1.0, p.max_vel_1, p.max_vel_2], np.float32)
        return specs.BoundedArray((6,), jnp.float32, -high, high, name="observation")

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(3, jnp.int32, name="action")

    def reward_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, -1.0, 0.0, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the two links, joints and goal bar like Gymnasium's `rgb_array` mode.

        Returns:
            uint8 array of shape `(500, 500, 3)`.
        """
        p = self._params.of(state.options)
        x, y = _common.pixel_grid(SCREEN_DIM, SCREEN_DIM)
        scale = SCREEN_DIM / (2 * (p.link_length_1 + p.link_length_2 + 0.2))
        offset = SCREEN_DIM / 2
        image = _common.canvas(SCREEN_DIM, SCREEN_DIM)
        bar = (jnp.abs(y - (scale + offset)) <= 1.0) & (jnp.abs(x - offset) <= 2.2 * scale)
        image = _common.paint(image, bar, (0, 0, 0))
        x1 = offset + p.link_length_1 * jnp.sin(state.theta1) * scale
        y1 = offset - p.link_length_1 * jnp.cos(state.theta1) * scale
        joints = ((offset, offset, state.theta1, p.link_length_1),
                  (x1, y1, state.theta1 + state.theta2, p.link_length_2))
        for jx, jy, angle, length in joints:
            ux, uy = jnp.sin(angle), -jnp.cos(angle)
            half = length * scale / 2
            link = _common.box(x, y, jx + half * ux, jy + half * uy, half, 0.1 * scale, ux, uy)
            image = _common.paint(image, link, (0, 204, 204))
            image = _common.paint(image, _common.circle(x, y, jx, jy, 0.1 * scale), (204, 204, 0))
        return image
