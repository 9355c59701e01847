"""A minimal environment written against the jit_env API.

The agent adds its action (0 or 1) to a counter; the episode terminates when
the counter reaches `target`. The reward is the action taken. Copy this file as
the starting point of your own environment.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import jit_env
from jit_env import specs


@jit_env.dataclass
class CounterState:
    """The counter and the PRNG key chain."""

    key: jax.Array
    count: jax.Array


class CountingEnv(jit_env.Environment[CounterState, jax.Array, jax.Array]):
    """Count up to `target` one action at a time."""

    def __init__(self, target: int = 10):
        super().__init__()
        self.target = target

    def __repr__(self) -> str:
        return f"CountingEnv(target={self.target})"

    def reset(self, key: jax.Array, *, options: Any = None) -> tuple[CounterState, jit_env.TimeStep[jax.Array]]:
        key, _ = jax.random.split(key)  # Store a key derived from the reset key.
        state = CounterState(key=key, count=jnp.zeros((), jnp.int32))
        return state, jit_env.restart(state.count)

    def step(self, state: CounterState, action: jax.Array) -> tuple[CounterState, jit_env.TimeStep[jax.Array]]:
        count = state.count + action
        state = CounterState(key=state.key, count=count)
        reward = action.astype(jnp.float32)
        timestep = jax.lax.cond(
            count >= self.target,
            lambda: jit_env.termination(reward, count),
            lambda: jit_env.transition(reward, count),
        )
        return state, timestep

    def observation_spec(self) -> specs.Array:
        return specs.Array((), jnp.int32, name="count")

    def action_spec(self) -> specs.DiscreteArray:
        return specs.DiscreteArray(2, name="increment")

    def reward_spec(self) -> specs.Array:
        return specs.Array((), jnp.float32, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")


if __name__ == "__main__":
    jit_env.utils.enable_compilation_cache()  # Compiled programs kept on disk: see docs/cli.md.
    env = jit_env.wrappers.Jit(CountingEnv(target=3))
    state, timestep = env.reset(jax.random.key(0))
    while not timestep.last():
        state, timestep = env.step(state, jnp.int32(1))
        print(int(timestep.step_type), int(timestep.observation), float(timestep.reward))
