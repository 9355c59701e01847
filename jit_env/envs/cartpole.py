"""CartPole-v1: balance a pole on a cart, with Gymnasium's dynamics and constants.

Observation: float32 `(4,)`, `[x, x_dot, theta, theta_dot]`. Action: int32 in
{0, 1} (push left, push right). Reward: 1.0 on every step, the terminating one
included. The episode terminates when `|x| > x_threshold` or
`|theta| > theta_threshold_radians`; `make("CartPole-v1")` truncates it after
500 steps. Stepping past a termination keeps integrating and rewarding 1.0
(Gymnasium calls it undefined behaviour); use an auto-reset wrapper.
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

SCREEN_WIDTH = 600
SCREEN_HEIGHT = 400


@_struct.dataclass
class Params:
    """Episode parameters; the defaults are Gymnasium's constants.

    Attributes:
        gravity: Gravitational acceleration (m/s^2).
        masscart: Mass of the cart (kg).
        masspole: Mass of the pole (kg).
        length: Half the pole's length (m).
        force_mag: Magnitude of the push (N).
        tau: Seconds per step (explicit Euler).
        theta_threshold_radians: Pole angle beyond which the episode terminates.
        x_threshold: Cart position beyond which the episode terminates.
        reset_bound: Initial state drawn uniformly from `[-reset_bound, reset_bound]^4`.
    """

    gravity: Any = 9.8
    masscart: Any = 1.0
    masspole: Any = 0.1
    length: Any = 0.5
    force_mag: Any = 10.0
    tau: Any = 0.02
    theta_threshold_radians: Any = 12 * 2 * math.pi / 360
    x_threshold: Any = 2.4
    reset_bound: Any = 0.05


@_struct.dataclass
class State:
    """CartPole's state: float32 scalars, the PRNG key and the episode's `Params` (None unless `per_episode_params`)."""

    key: jax.Array
    x: jax.Array
    x_dot: jax.Array
    theta: jax.Array
    theta_dot: jax.Array
    options: Params | None


def _observation(state: State) -> jax.Array:
    return jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot]).astype(jnp.float32)


class CartPole(_core.Environment[State, jax.Array, jax.Array]):
    """CartPole-v1 in pure JAX, step for step equal to Gymnasium's (in float32).

    Parameters: `params` fixes them when the environment is built (NumPy
    float32 constants; `state.options` is None and `reset` takes no options).
    Built with `per_episode_params=True`, `reset(options=...)` takes a `Params`
    or a dict of overrides, and `state.options` always holds the episode's
    float32 `Params` (see `jit_env.envs`). The observation spec's
    bounds are Gymnasium's for the thresholds in `params`.

    >>> env = CartPole(per_episode_params=True)
    >>> state, ts = env.reset(jax.random.key(0), options={"gravity": 3.7})
    >>> float(state.options.gravity) == float(np.float32(3.7))
    True
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
        self._params = _common.EpisodeParams("CartPole", Params, params, per_episode_params)

    def __repr__(self) -> str:
        return f"CartPole({self._params.repr_args()})"

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[State, _core.TimeStep[jax.Array]]:
        stored = self._params.reset_options(options)
        params = self._params.of(stored)
        key, draw = _common.split_key(key)
        x, x_dot, theta, theta_dot = jax.random.uniform(
            draw, (4,), jnp.float32, -params.reset_bound, params.reset_bound)
        state = State(key=key, x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot, options=stored)
        return state, _core.restart(_observation(state))

    def step(self, state: State, action: jax.Array) -> tuple[State, _core.TimeStep[jax.Array]]:
        p = self._params.of(state.options)
        force = jnp.where(jnp.asarray(action) == 1, p.force_mag, -p.force_mag)
        total_mass = p.masspole + p.masscart
        polemass_length = p.masspole * p.length
        cos, sin = jnp.cos(state.theta), jnp.sin(state.theta)
        temp = (force + polemass_length * jnp.square(state.theta_dot) * sin) / total_mass
        thetaacc = (p.gravity * sin - cos * temp) / (
            p.length * (4.0 / 3.0 - p.masspole * jnp.square(cos) / total_mass))
        xacc = temp - polemass_length * thetaacc * cos / total_mass
        new = State(
            key=state.key,
            x=state.x + p.tau * state.x_dot,
            x_dot=state.x_dot + p.tau * xacc,
            theta=state.theta + p.tau * state.theta_dot,
            theta_dot=state.theta_dot + p.tau * thetaacc,
            options=state.options,
        )
        terminated = (jnp.abs(new.x) > p.x_threshold) | (
            jnp.abs(new.theta) > p.theta_threshold_radians)
        reward = jnp.ones((), jnp.float32)
        obs = _observation(new)
        timestep = jax.lax.cond(
            terminated,
            lambda: _core.termination(reward, obs),
            lambda: _core.transition(reward, obs),
        )
        return new, timestep

    def observation_spec(self) -> specs.BoundedArray:
        p = self._params.constants
        high = np.array([p.x_threshold * 2, np.inf, p.theta_threshold_radians * 2, np.inf], np.float32)
        return specs.BoundedArray((4,), jnp.float32, -high, high, name="observation")

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(2, jnp.int32, name="action")

    def reward_spec(self) -> specs.Array:
        return specs.Array((), jnp.float32, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")

    def render(self, state: State) -> jax.Array:
        """Draws the cart, pole and track like Gymnasium's `rgb_array` mode.

        Returns:
            uint8 array of shape `(400, 600, 3)`.
        """
        p = self._params.of(state.options)
        x, y = _common.pixel_grid(SCREEN_HEIGHT, SCREEN_WIDTH)
        scale = SCREEN_WIDTH / (p.x_threshold * 2)
        pole_width, cart_width, cart_height = 10.0, 50.0, 30.0
        pole_len = scale * (2 * p.length)
        cart_x = state.x * scale + SCREEN_WIDTH / 2.0
        cart_y = 100.0
        axle_y = cart_y + cart_height / 4.0
        ux, uy = jnp.sin(state.theta), jnp.cos(state.theta)
        centre = (pole_len - pole_width) / 2  # The pole spans [-w/2, len - w/2] along its axis.
        image = _common.canvas(SCREEN_HEIGHT, SCREEN_WIDTH)
        image = _common.paint(image, _common.box(x, y, cart_x, cart_y, cart_width / 2, cart_height / 2),
                              (0, 0, 0))
        pole = _common.box(x, y, cart_x + centre * ux, axle_y + centre * uy, pole_len / 2,
                           pole_width / 2, ux, uy)
        image = _common.paint(image, pole, (202, 152, 101))
        image = _common.paint(image, _common.circle(x, y, cart_x, axle_y, pole_width / 2), (129, 132, 203))
        track = jnp.abs(y - (cart_y + 0.5)) <= 0.5
        return _common.paint(image, track, (0, 0, 0))
