"""gymnax in: any gymnax environment as a `jit_env.Environment`.

Specs come from the gymnax spaces. gymnax's own `step` auto-resets, so the
bridge calls `step_env` and leaves resets to jit_env's wrappers. An episode
that reaches `params.max_steps_in_episode` is a truncation (discount 1), a
natural end a termination (discount 0), also when it comes on the very step
that reaches the limit (docs/semantics.md's rule, as `TimeLimit` does).

gymnax >= 1.0 keeps the time limit out of `step_env`'s `done` and says so
with `is_truncated`. Older gymnax folded the limit into `done` and
`is_terminal`; there the bridge asks `is_terminal` again with the limit lifted
to tell a natural end at the limit from a plain truncation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import spaces as gymnax_spaces

from jit_env import _core, _struct, specs

ERR_UNKNOWN_SPACE = (
    "Cannot convert the gymnax space {!r} to a jit_env spec: only Discrete, Box, Dict "
    "and Tuple spaces are supported."
)
ERR_NOT_GYMNAX = "`env` must be a gymnax Environment, got {!r}."

del gymnax  # Imported so that a missing gymnax fails here, at import time.


@_struct.dataclass
class GymnaxState:
    """The state of `FromGymnax`: gymnax's state and the key chain.

    Attributes:
        key: The PRNG key chain (split off the reset key).
        env_state: The gymnax environment state.
    """

    key: jax.Array
    env_state: Any


def space_to_spec(space: Any) -> specs.Spec[Any]:
    """Converts a gymnax space into a jit_env spec.

    Raises:
        NotImplementedError: On an unknown space type.
    """
    if isinstance(space, gymnax_spaces.Discrete):
        return specs.DiscreteArray(int(space.n), space.dtype)
    if isinstance(space, gymnax_spaces.Box):
        dtype = np.dtype(space.dtype)
        shape = tuple(space.shape)
        low = np.broadcast_to(np.asarray(space.low), shape)
        high = np.broadcast_to(np.asarray(space.high), shape)
        if dtype.kind == "f":
            with np.errstate(over="ignore"):  # Bounds past float32's range become inf.
                low, high = low.astype(dtype), high.astype(dtype)
        return specs.BoundedArray(shape, dtype, low, high)
    if isinstance(space, gymnax_spaces.Dict):
        return specs.Dict({k: space_to_spec(v) for k, v in space.spaces.items()})
    if isinstance(space, gymnax_spaces.Tuple):
        return specs.Tuple(*(space_to_spec(v) for v in space.spaces))
    raise NotImplementedError(ERR_UNKNOWN_SPACE.format(space))


def _cast(value: Any, spec: specs.Spec[Any]) -> Any:
    leaves = specs.unpack_spec(spec)
    return jax.tree_util.tree_map(
        lambda s, v: jnp.asarray(v).astype(s.dtype).reshape(s.shape), leaves, value,
        is_leaf=lambda x: isinstance(x, specs.Spec))


@contextlib.contextmanager
def _gymnax_promotion() -> Iterator[None]:
    """gymnax relies on JAX's standard promotion; allow it inside gymnax's code only."""
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def _strong(tree: Any) -> Any:
    """`tree` without weak types, so reset and step give identical state types."""
    return jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.result_type(x)), tree)


class FromGymnax(_core.Environment[GymnaxState, Any, Any]):
    """A gymnax environment as a jit_env `Environment`.

    `reset(key)` calls gymnax's `reset_env(key)` and stores a key split off
    it; `step` splits the state's key and calls `step_env`, so nothing
    auto-resets here (wrap in `AutoReset` for that). Observations and rewards
    are cast to the specs' dtypes; reward and discount are float32 scalars.

    >>> import gymnax  # doctest: +SKIP
    >>> env, params = gymnax.make("CartPole-v1")  # doctest: +SKIP
    >>> env = FromGymnax(env, params)  # doctest: +SKIP
    """

    def __init__(self, env: Any, params: Any = None):
        """Args:
        env: A `gymnax.environments.environment.Environment`.
        params: Its parameters (default: `env.default_params`).

        Raises:
            TypeError: If `env` is not a gymnax environment.
        """
        super().__init__()
        if not hasattr(env, "step_env") or not hasattr(env, "reset_env"):
            raise TypeError(ERR_NOT_GYMNAX.format(env))
        self._env = env
        self._params = env.default_params if params is None else params
        self._observation_spec = space_to_spec(env.observation_space(self._params))
        self._action_spec = space_to_spec(env.action_space(self._params))

    def __repr__(self) -> str:
        return f"FromGymnax({self._env.name})"

    @property
    def gymnax_env(self) -> Any:
        """The wrapped gymnax environment."""
        return self._env

    @property
    def params(self) -> Any:
        """The gymnax environment parameters."""
        return self._params

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        with _gymnax_promotion():
            observation, env_state = self._env.reset_env(key, self._params)
        state = GymnaxState(key=jax.random.split(key)[0], env_state=_strong(env_state))
        return state, _core.restart(_cast(observation, self._observation_spec))

    def _truncated(self, env_state: Any) -> jax.Array:
        if hasattr(self._env, "is_truncated"):
            return jnp.asarray(self._env.is_truncated(env_state, self._params))
        return jnp.asarray(env_state.time >= self._params.max_steps_in_episode)

    def _natural_end(self, env_state: Any) -> jax.Array:
        """Older gymnax's `is_terminal` with the time limit lifted: the natural end alone."""
        unlimited = self._params.replace(max_steps_in_episode=np.iinfo(np.int32).max)
        return jnp.asarray(self._env.is_terminal(env_state, unlimited))

    def step(self, state: GymnaxState, action: Any) -> Any:
        key, step_key = jax.random.split(state.key)
        with _gymnax_promotion():
            observation, env_state, reward, done, _ = self._env.step_env(
                step_key, state.env_state, action, self._params)
            truncated = self._truncated(env_state)
            if hasattr(self._env, "is_truncated"):
                terminated = jnp.asarray(done)  # gymnax >= 1.0 keeps the time limit out of `done`.
            else:  # Older gymnax: `done` includes the limit; a natural end at the limit still terminates.
                terminated = jnp.logical_and(done, jnp.logical_or(
                    jnp.logical_not(truncated), self._natural_end(env_state)))
        last = jnp.logical_or(terminated, truncated)
        step_type = jnp.where(last, _core.StepType.LAST, _core.StepType.MID).astype(jnp.int8)
        timestep = _core.TimeStep(
            step_type=step_type,
            reward=jnp.reshape(jnp.asarray(reward).astype(jnp.float32), ()),
            discount=jnp.where(terminated, 0.0, 1.0).astype(jnp.float32),
            observation=_cast(observation, self._observation_spec),
        )
        return GymnaxState(key=key, env_state=_strong(env_state)), timestep

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def reward_spec(self) -> specs.Spec[Any]:
        return specs.Array((), jnp.float32, name="reward")

    def discount_spec(self) -> specs.Spec[Any]:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0, name="discount")
