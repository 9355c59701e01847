"""brax in: any brax environment as a `jit_env.Environment` (``"brax/<name>"``).

`FromBrax` adapts the API family that brax and MuJoCo Playground share:
``reset(rng) -> State`` and ``step(state, action) -> State`` with ``State.obs``,
``reward``, ``done`` (a float, 1.0 at the end), ``metrics`` and ``info``.

- The raw environment is used (`brax.envs.get_environment`), never brax's
  training wrappers: no `EpisodeWrapper` (jit_env's `TimeLimit` truncates; by
  name, `jit_env.make` adds it with brax's default ``episode_length=1000``) and
  no `AutoResetWrapper` (which restarts from a cached first state).
- The key lives in the adapter's state (brax's `State` has none; Playground
  keeps its own in ``info["rng"]``): `reset(key)` splits it and hands brax a
  fresh one, so every reset is a new, independent start.
- ``done`` is a termination (discount 0). If the environment sets
  ``info["truncation"]`` (brax's `EpisodeWrapper` does; a raw environment that
  sets it is honoured), a step with it set is a truncation (discount 1).
- Specs: the observation's shapes and dtypes are brax's (from `jax.eval_shape`
  of `reset`; a dict for Playground's dict observations), unbounded; actions
  are float32 ``(action_size,)`` in [-1, 1], as brax documents.
- ``timestep.extras`` is ``{"metrics": state.metrics, "info": state.info}``.
- The state's leaves get the dtypes brax's `step` gives them, also under
  ``JAX_ENABLE_X64=1``, so reset and step agree and a `lax.scan` carries them.
- `step` hands the library a copy of the state's containers: brax's
  ``state.metrics.update(...)`` and Playground's reward functions write into
  the input state's ``metrics`` dict in place, so an eager `step` changed the
  state the caller still held (check_env's 'jit' check caught it on
  Playground's CartpoleBalance).
- `render` is not supported: brax renders with MuJoCo's OpenGL renderer, which
  needs a display or an EGL/OSMesa context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import brax.envs
import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, _struct, specs
from jit_env.adapters import _common

BENCHMARK_ID = "fast"
"""The brax id `benchmarks/hub.py` measures (brax's own benchmark environment)."""

NOT_BRAX = "a brax-style environment with `reset(rng)`, `step(state, action)` and `action_size`"
ERR_STRUCTURE = (
    "{name}'s `step` returns a state of another structure than its `reset`, so no "
    "`lax.scan` can carry it:\nreset: {reset}\nstep:  {step}"
)


@_struct.dataclass
class BraxState:
    """The state of `FromBrax`: the library's state and the key chain.

    Attributes:
        key: The PRNG key chain (split off the reset key; used by the next reset).
        env_state: The library's `State` (brax's or MuJoCo Playground's).
    """

    key: jax.Array
    env_state: Any


def _leaf_spec(leaf: jax.ShapeDtypeStruct) -> specs.Array:
    return specs.Array(tuple(leaf.shape), np.dtype(leaf.dtype))


def _observation_spec(observation: Any) -> specs.Spec[Any]:
    if isinstance(observation, dict):
        return specs.Dict({k: _observation_spec(v) for k, v in observation.items()})
    return _leaf_spec(observation)


class FromBrax(_core.Environment[BraxState, jax.Array, Any]):
    """A brax (or MuJoCo Playground) environment as a jit_env `Environment`.

    >>> import jit_env  # doctest: +SKIP
    >>> env = jit_env.make("brax/inverted_pendulum")  # doctest: +SKIP
    >>> env  # doctest: +SKIP
    TimeLimit(FromBrax(inverted_pendulum), max_episode_steps=1000)
    """

    def __init__(self, env: Any, *, name: str | None = None):
        """Args:
        env: A raw brax-style environment (`brax.envs.Env`,
            `mujoco_playground.MjxEnv`), without training wrappers.
        name: Its id, for `repr` and messages (default: its class name).

        Raises:
            TypeError: If `env` lacks `reset`, `step` or `action_size`.
            ValueError: If its `step` changes the state's structure.
        """
        super().__init__()
        if not all(hasattr(env, a) for a in ("reset", "step", "action_size")):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_BRAX, env=env))
        self._env = env
        self._name = type(env).__name__ if name is None else name
        self._action_spec = specs.BoundedArray(
            (int(env.action_size),), np.float32, -1.0, 1.0, name="action")
        key = jax.eval_shape(lambda: jax.random.key_data(jax.random.key(0)))
        action = jax.ShapeDtypeStruct((int(env.action_size),), np.float32)
        with _common.library_promotion():
            reset = jax.eval_shape(env.reset, key)
            stepped = jax.eval_shape(env.step, reset, action)
        reset_structure = jax.tree_util.tree_structure(reset)
        step_structure = jax.tree_util.tree_structure(stepped)
        if reset_structure != step_structure:  # type: ignore[operator]
            raise ValueError(ERR_STRUCTURE.format(name=self._name, reset=reset_structure, step=step_structure))
        # Each leaf's dtype: what brax's step makes of it (reset's may be weakly typed).
        self._state_dtypes = jax.tree_util.tree_map(lambda leaf: np.dtype(leaf.dtype), stepped)
        self._observation_spec = _observation_spec(stepped.obs)
        self._has_truncation = isinstance(stepped.info, dict) and "truncation" in stepped.info

    def __repr__(self) -> str:
        return f"FromBrax({self._name})"

    @property
    def brax_env(self) -> Any:
        """The adapted (raw) environment."""
        return self._env

    def _cast(self, env_state: Any) -> Any:
        return jax.tree_util.tree_map(
            lambda x, dtype: jnp.asarray(x).astype(dtype), env_state, self._state_dtypes)

    @staticmethod
    def _extras(env_state: Any) -> dict[str, Any]:
        return {"metrics": env_state.metrics, "info": env_state.info}

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        key, reset_key = jax.random.split(key)
        with _common.library_promotion():
            env_state = self._env.reset(_common.raw_key(reset_key))
        env_state = self._cast(env_state)
        timestep = _core.restart(env_state.obs, extras=self._extras(env_state))
        return BraxState(key=key, env_state=env_state), timestep

    def step(self, state: BraxState, action: jax.Array) -> Any:
        with _common.library_promotion():  # Fresh dicts: the library writes metrics into its input's.
            env_state = self._env.step(_common.fresh_containers(state.env_state), jnp.asarray(action, jnp.float32))
        env_state = self._cast(env_state)
        done = env_state.done > 0
        if self._has_truncation:
            truncated = env_state.info["truncation"] > 0
            terminated = jnp.logical_and(done, jnp.logical_not(truncated))
        else:
            terminated, truncated = done, False
        step_type, discount = _common.end_of_step(terminated, truncated)
        timestep = _core.TimeStep(
            step_type=step_type,
            reward=jnp.reshape(env_state.reward, ()).astype(jnp.float32),
            discount=discount,
            observation=env_state.obs,
            extras=self._extras(env_state),
        )
        return BraxState(key=state.key, env_state=env_state), timestep

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def reward_spec(self) -> specs.Spec[Any]:
        return _common.reward_spec()

    def discount_spec(self) -> specs.Spec[Any]:
        return _common.discount_spec()


def make(name: str, **kwargs: Any) -> FromBrax:
    """``brax.envs.get_environment(name, **kwargs)`` (the raw environment) as a `FromBrax`.

    Args:
        name: A brax id, e.g. ``"ant"`` (`brax.envs._envs`).
        **kwargs: Passed to the environment's constructor (e.g. ``backend="mjx"``).
    """
    return FromBrax(brax.envs.get_environment(name, **kwargs), name=name)


def native(env: _core.Environment[Any, Any, Any]) -> tuple[
        Callable[[jax.Array], Any], Callable[[Any, Any, jax.Array], Any]]:
    """The library's own `reset` and `step` of the `FromBrax` inside `env`.

    Returns:
        `(reset_fn, step_fn)`: ``reset_fn(key) -> State`` and
        ``step_fn(State, action, key) -> State`` (the key is unused: brax's
        step is deterministic).
    """
    inner = _common.adapted(env, FromBrax).brax_env

    def reset_fn(key: jax.Array) -> Any:
        with _common.library_promotion():
            return inner.reset(_common.raw_key(key))

    def step_fn(env_state: Any, action: Any, key: jax.Array) -> Any:
        del key
        with _common.library_promotion():
            return inner.step(env_state, action)

    return reset_fn, step_fn
