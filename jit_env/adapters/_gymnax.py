"""gymnax in: any gymnax environment as a `jit_env.Environment` (``"gymnax/<id>"``).

Specs come from the gymnax spaces. gymnax's own `step` auto-resets, so the
bridge calls `step_env` and leaves resets to jit_env's wrappers. An episode
that reaches `params.max_steps_in_episode` is a truncation (discount 1), a
natural end a termination (discount 0), also when it comes on the very step
that reaches the limit (docs/semantics.md's rule, as `TimeLimit` does).
``own_time_limit=False`` (``make(..., max_episode_steps=None)``, what
Gymnasium's registration builds) lifts gymnax's limit: a time limit outside
ends episodes.

gymnax >= 1.0 keeps the time limit out of `step_env`'s `done` and says so
with `is_truncated`. Older gymnax folded the limit into `done` and
`is_terminal`; there the bridge asks `is_terminal` again with the limit lifted
to tell a natural end at the limit from a plain truncation.

gymnax's states mix weakly typed leaves (Python numbers in `reset_env`) with
computed ones, so under ``JAX_ENABLE_X64=1`` reset and step give some leaves
different dtypes (int64 against int32, float64 against float32). `FromGymnax`
fixes the state's dtypes when it is built: each leaf gets the dtype gymnax's
`step_env` gives it (found with `jax.eval_shape`), and both `reset` and `step`
cast to it, so a `lax.scan` carries the state with or without x64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnax
import jax
import jax.numpy as jnp
from gymnax.environments import spaces as gymnax_spaces

from jit_env import _core, _struct, specs
from jit_env.adapters import _common

ERR_UNKNOWN_SPACE = (
    "Cannot convert the gymnax space {!r} to a jit_env spec: only Discrete, Box, Dict "
    "and Tuple spaces are supported."
)
NOT_GYMNAX = "a gymnax Environment"

BENCHMARK_ID = "CartPole-v1"
"""The gymnax id `benchmarks/hub.py` measures."""


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
        return _common.bounded_spec(space.shape, space.dtype, space.low, space.high)
    if isinstance(space, gymnax_spaces.Dict):
        return specs.Dict({k: space_to_spec(v) for k, v in space.spaces.items()})
    if isinstance(space, gymnax_spaces.Tuple):
        return specs.Tuple(*(space_to_spec(v) for v in space.spaces))
    raise NotImplementedError(ERR_UNKNOWN_SPACE.format(space))


def _state_dtypes(env: Any, params: Any, action_spec: specs.Spec[Any]) -> tuple[Any, bool]:
    """The dtype of each leaf of gymnax's state, and whether `step_env` uses its key.

    The dtypes are what `step_env` makes of reset's state. Traced with
    `jax.make_jaxpr` only (nothing runs on the device).
    """
    def reset(key: jax.Array) -> Any:
        return env.reset_env(key, params)[1]

    def step(key: jax.Array, env_state: Any, action: Any) -> Any:
        return env.step_env(key, env_state, action, params)

    # All traced as gymnax runs (32-bit): abstract inputs made under x64 would be 64-bit.
    with _common.library_promotion(x64=False):
        key = jax.eval_shape(jax.random.key, 0)
        action = jax.tree_util.tree_map(
            lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype), specs.unpack_spec(action_spec),
            is_leaf=lambda x: isinstance(x, specs.Spec))
        env_state = jax.eval_shape(reset, key)
        closed, (_, stepped, *_) = jax.make_jaxpr(step, return_shape=True)(key, env_state, action)
    key_var = closed.jaxpr.invars[0]
    uses_key = any(v is key_var for eqn in closed.jaxpr.eqns for v in eqn.invars) or any(
        v is key_var for v in closed.jaxpr.outvars)
    return jax.tree_util.tree_map(lambda leaf: leaf.dtype, stepped), uses_key


def _cast_state(env_state: Any, dtypes: Any) -> Any:
    """`env_state` with each leaf cast to its fixed dtype (strong, so reset and step agree)."""
    # PRNG keys in the state (a gymnax env wrapping jit_env's, say) keep their key type.
    return jax.tree_util.tree_map(
        lambda x, dtype: x if jax.dtypes.issubdtype(dtype, jax.dtypes.extended) else jnp.asarray(x).astype(dtype),
        env_state, dtypes)


class FromGymnax(_core.Environment[GymnaxState, Any, Any]):
    """A gymnax environment as a jit_env `Environment`.

    `reset(key)` calls gymnax's `reset_env(key)` and stores a key split off
    it; `step` calls `step_env` (so nothing auto-resets here: wrap in
    `AutoReset` for that) with a key split off the state's, or, when
    `step_env` ignores its key (found when built, e.g. CartPole), passes the
    state's key on unchanged, so a deterministic step does no random-number
    work (benchmarks/hub.py). Observations and rewards
    are cast to the specs' dtypes; reward and discount are float32 scalars.

    >>> import gymnax  # doctest: +SKIP
    >>> env, params = gymnax.make("CartPole-v1")  # doctest: +SKIP
    >>> env = FromGymnax(env, params)  # doctest: +SKIP
    """

    def __init__(self, env: Any, params: Any = None, *, own_time_limit: bool = True):
        """Args:
        env: A `gymnax.environments.environment.Environment`.
        params: Its parameters (default: `env.default_params`).
        own_time_limit: Whether gymnax's ``params.max_steps_in_episode``
            ends episodes (a truncation). False lifts it: the step there is
            MID, and a time limit outside (jit_env's `TimeLimit`,
            Gymnasium's) decides the episode's length.

        Raises:
            TypeError: If `env` is not a gymnax environment.
        """
        super().__init__()
        if not hasattr(env, "step_env") or not hasattr(env, "reset_env"):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_GYMNAX, env=env))
        self._env = env
        self._params = env.default_params if params is None else params
        with _common.library_promotion(x64=False):  # Some gymnax spaces compute with standard promotion.
            self._observation_spec = space_to_spec(env.observation_space(self._params))
            self._action_spec = space_to_spec(env.action_space(self._params))
        self._state_dtypes, self._step_uses_key = _state_dtypes(env, self._params, self._action_spec)
        self._own_time_limit = bool(own_time_limit)

    def __repr__(self) -> str:
        lifted = "" if self._own_time_limit else ", own_time_limit=False"
        return f"FromGymnax({self._env.name}{lifted})"

    @property
    def gymnax_env(self) -> Any:
        """The wrapped gymnax environment."""
        return self._env

    @property
    def params(self) -> Any:
        """The gymnax environment parameters."""
        return self._params

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        with _common.library_promotion(x64=False):
            observation, env_state = self._env.reset_env(key, self._params)
        state = GymnaxState(key=jax.random.split(key)[0], env_state=_cast_state(env_state, self._state_dtypes))
        return state, _core.restart(_common.to_spec(observation, self._observation_spec))

    def _truncated(self, env_state: Any) -> jax.Array:
        if hasattr(self._env, "is_truncated"):
            return jnp.asarray(self._env.is_truncated(env_state, self._params))
        return jnp.asarray(env_state.time >= self._params.max_steps_in_episode)

    def _natural_end(self, env_state: Any) -> jax.Array:
        """Older gymnax's `is_terminal` with the time limit lifted: the natural end alone."""
        unlimited = self._params.replace(max_steps_in_episode=_common.NO_LIMIT)
        return jnp.asarray(self._env.is_terminal(env_state, unlimited))

    def step(self, state: GymnaxState, action: Any) -> Any:
        if self._step_uses_key:
            key, step_key = jax.random.split(state.key)
        else:  # A deterministic step: the chain is passed on, no random-number work per step.
            key = step_key = state.key
        with _common.library_promotion(x64=False):
            observation, env_state, reward, done, _ = self._env.step_env(
                step_key, state.env_state, action, self._params)
            truncated = self._truncated(env_state)
            if hasattr(self._env, "is_truncated"):
                terminated = jnp.asarray(done)  # gymnax >= 1.0 keeps the time limit out of `done`.
            else:  # Older gymnax: `done` includes the limit; a natural end at the limit still terminates.
                terminated = jnp.logical_and(done, jnp.logical_or(
                    jnp.logical_not(truncated), self._natural_end(env_state)))
        step_type, discount = _common.end_of_step(terminated, truncated if self._own_time_limit else False)
        timestep = _core.TimeStep(
            step_type=step_type,
            reward=jnp.reshape(jnp.asarray(reward).astype(jnp.float32), ()),
            discount=discount,
            observation=_common.to_spec(observation, self._observation_spec),
        )
        return GymnaxState(key=key, env_state=_cast_state(env_state, self._state_dtypes)), timestep

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def reward_spec(self) -> specs.Spec[Any]:
        return _common.reward_spec()

    def discount_spec(self) -> specs.Spec[Any]:
        return _common.discount_spec()


def make(name: str, *, params: Any = None,
         max_episode_steps: _common.EpisodeSteps = _common.LIBRARY_DEFAULT,
         **env_kwargs: Any) -> FromGymnax:
    """``gymnax.make(name, **env_kwargs)`` as a `FromGymnax`.

    Args:
        name: A gymnax id, e.g. ``"CartPole-v1"``.
        params: The environment's params (default: gymnax's default params).
        max_episode_steps: gymnax's own episode limit (`jit_env.make` passes
            it whenever it is given, see `_common.own_limit`): not given,
            the params' ``max_steps_in_episode``; an int sets the default
            params' ``max_steps_in_episode`` (ignored when `params` is given;
            then `params` decides); None lifts the limit (``own_time_limit=False``).
        **env_kwargs: Passed to ``gymnax.make`` (e.g. ``rows=6`` for Catch).

    Returns:
        The adapted environment.
    """
    limit, own_time_limit = _common.own_limit(max_episode_steps)
    with _common.library_promotion(x64=False):  # Some gymnax constructors compute with standard promotion.
        gymnax_env, default_params = gymnax.make(name, **env_kwargs)
    if params is None:
        params = default_params
        if limit is not None and hasattr(params, "max_steps_in_episode"):
            params = params.replace(max_steps_in_episode=limit)
    return FromGymnax(gymnax_env, params, own_time_limit=own_time_limit)


def native(env: _core.Environment[Any, Any, Any]) -> tuple[
        Callable[[jax.Array], Any], Callable[[Any, Any, jax.Array], Any]]:
    """gymnax's own `reset_env` and `step_env` for the `FromGymnax` inside `env`.

    Returns:
        `(reset_fn, step_fn)`: ``reset_fn(key) -> gymnax state`` and
        ``step_fn(gymnax state, action, key) -> gymnax state`` (no auto-reset,
        as in `FromGymnax`).
    """
    adapted = _common.adapted(env, FromGymnax)
    gymnax_env, params = adapted.gymnax_env, adapted.params

    def reset_fn(key: jax.Array) -> Any:
        with _common.library_promotion(x64=False):
            return gymnax_env.reset_env(key, params)[1]

    def step_fn(env_state: Any, action: Any, key: jax.Array) -> Any:
        with _common.library_promotion(x64=False):
            return gymnax_env.step_env(key, env_state, action, params)[1]

    return reset_fn, step_fn
