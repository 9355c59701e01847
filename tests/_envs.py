"""Small environments the tests share."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jit_env
from jit_env import specs


@jit_env.dataclass
class PointState:
    key: jax.Array
    position: jax.Array
    time: jax.Array


class PointMass(jit_env.Environment[PointState, jax.Array, jax.Array]):
    """A differentiable 2-D point pushed by a continuous action.

    reward = -|position|^2, terminates when time reaches `horizon`. Reset draws
    a random start, so key handling is visible in the observations.
    """

    def __init__(self, horizon: int = 5):
        super().__init__()
        self.horizon = horizon

    def reset(self, key: jax.Array, *, options: Any = None) -> Any:
        key, start_key = jax.random.split(key)
        position = jax.random.uniform(start_key, (2,), jnp.float32, -1.0, 1.0)
        state = PointState(key=key, position=position, time=jnp.zeros((), jnp.int32))
        return state, jit_env.restart(position, extras={"time": state.time})

    def step(self, state: PointState, action: jax.Array) -> Any:
        position = state.position + action
        time = state.time + 1
        state = PointState(key=state.key, position=position, time=time)
        reward = -jnp.sum(jnp.square(position))
        return state, jax.lax.cond(
            time >= self.horizon,
            lambda: jit_env.termination(reward, position, extras={"time": time}),
            lambda: jit_env.transition(reward, position, extras={"time": time}),
        )

    def observation_spec(self) -> specs.Spec[Any]:
        return specs.Array((2,), jnp.float32, "position")

    def action_spec(self) -> specs.Spec[Any]:
        return specs.BoundedArray((2,), jnp.float32, -1.0, 1.0, "push")

    def reward_spec(self) -> specs.Spec[Any]:
        return specs.Array((), jnp.float32, "reward")

    def discount_spec(self) -> specs.Spec[Any]:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, "discount")


@jit_env.dataclass
class DictState:
    key: jax.Array
    t: jax.Array
    options: Any


class DictEnv(jit_env.Environment[DictState, Any, Any]):
    """Dict observations, tuple actions, stochastic termination, options kept in the state.

    `options` may be a dict with "length" (episode length, int32 scalar); it
    is remembered in the state so that auto-reset reuses it.
    """

    def reset(self, key: jax.Array, *, options: Any = None) -> Any:
        key, noise_key = jax.random.split(key)
        opts = {"length": jnp.asarray(3, jnp.int32)} if options is None else options
        state = DictState(key=key, t=jnp.zeros((), jnp.int32), options=opts)
        return state, jit_env.restart(self._obs(state, jax.random.normal(noise_key, (3,), jnp.float32)))

    def _obs(self, state: DictState, noise: jax.Array) -> Any:
        return {"t": state.t, "noise": noise}

    def step(self, state: DictState, action: Any) -> Any:
        discrete, continuous = action
        key, noise_key = jax.random.split(state.key)
        t = state.t + 1 + discrete
        state = DictState(key=key, t=t, options=state.options)
        obs = self._obs(state, jax.random.normal(noise_key, (3,), jnp.float32) + continuous)
        reward = jnp.float32(1.0)
        return state, jax.lax.cond(
            t >= state.options["length"],
            lambda: jit_env.truncation(reward, obs, discount=jnp.float32(0.5)),
            lambda: jit_env.transition(reward, obs),
        )

    def observation_spec(self) -> specs.Spec[Any]:
        return specs.Dict(t=specs.Array((), jnp.int32), noise=specs.Array((3,), jnp.float32))

    def action_spec(self) -> specs.Spec[Any]:
        return specs.Tuple(specs.DiscreteArray(2), specs.BoundedArray((3,), jnp.float32, -1.0, 1.0))

    def reward_spec(self) -> specs.Spec[Any]:
        return specs.Array((), jnp.float32)

    def discount_spec(self) -> specs.Spec[Any]:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0)
