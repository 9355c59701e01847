"""pytest plugin for jit_env 0.1.5's shipped tests: the fixtures they expect.

0.1.5's wheel ships its test modules but not the conftest that defined their
`dummy_env` fixture. This plugin provides one, written against the 0.1.5 API
(a user's environment of that time): `reset` returns observation 0; `step` with
an action returns MID with observation, reward and discount 1; `step` with
`None` terminates with reward 1 and discount 0; `render` returns 1.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import pytest

import jit_env
from jit_env import specs


class CountlessState(NamedTuple):
    """The dummy environment's state: only its key."""

    key: jax.Array


class ScalarDummyEnv(jit_env.Environment):
    """A scalar environment that ends when the action is None."""

    def __init__(self) -> None:
        super().__init__(renderer=lambda state: jnp.ones(()))

    def reset(self, key: jax.Array, *, options: Any = None) -> tuple[CountlessState, jit_env.TimeStep]:
        del options
        return CountlessState(key=jax.random.split(key)[0]), jit_env.restart(jnp.zeros(()))

    def step(self, state: CountlessState, action: Any) -> tuple[CountlessState, jit_env.TimeStep]:
        one = jnp.ones(())
        if action is None:
            return state, jit_env.termination(one, one)
        return state, jit_env.transition(one, one, one)

    def observation_spec(self) -> specs.Spec:
        return specs.Array((), float, "observation")

    def action_spec(self) -> specs.Spec:
        return specs.Array((), float, "action")

    def reward_spec(self) -> specs.Spec:
        return specs.BoundedArray((), float, 0.0, 1.0, "reward")

    def discount_spec(self) -> specs.Spec:
        return specs.BoundedArray((), float, 0.0, 1.0, "discount")


@pytest.fixture
def dummy_env() -> ScalarDummyEnv:
    """A fresh `ScalarDummyEnv` for each test."""
    return ScalarDummyEnv()
