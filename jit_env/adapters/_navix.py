"""Navix in: any navix environment as a `jit_env.Environment`.

navix's API is ``env.reset(key) -> Timestep`` and ``env.step(timestep, action)
-> Timestep``; its ``Timestep`` carries the MDP state (with navix's own PRNG key),
the observation, the reward and a ``step_type`` (0 transition, 1 truncation, 2
termination). navix's public `step` auto-resets: when the time step it is given
ended an episode it returns ``env.reset(timestep.state.key)`` instead of a
transition. The adapter calls navix's raw transition ``env._step`` (what `step`
runs when it does not reset), so nothing resets inside the adapted environment:

* navix's TERMINATION is LAST with discount 0, its TRUNCATION (``t >=
  max_steps``) LAST with discount 1; a terminal state reached on the last allowed
  step is a termination, as navix decides it;
* the observation is the one the environment's ``observation_fn`` gives, with
  its shape and dtype; the bounds are navix's ``observation_space`` where it
  holds and corrected where it does not (see `observation_bounds`);
* reward and discount are float32 scalars, the step type int8.

navix has no per-episode parameters (its environments are configured by static
fields when built), so `reset` takes no ``options``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import navix
import numpy as np
from navix import entities as navix_entities
from navix import observations as navix_observations
from navix.environments import environment as navix_environment
from navix.rendering import registry as navix_rendering

from jit_env import _core, _struct, specs
from jit_env.adapters import _common

BENCHMARK_ID = "Navix-Empty-8x8-v0"
"""The id `benchmarks/hub.py` times against navix's own transition."""

NOT_NAVIX = "a navix Environment"
OPTIONS_HINT = "e.g. max_steps=..., observation_fn=...: navix fixes them when it builds the environment"

_TRUNCATION = 1
_TERMINATION = 2


@_struct.dataclass
class NavixState:
    """The state of `FromNavix`.

    Attributes:
        key: The key chain that seeds the next `reset` (jit_env's auto-reset
            wrappers read it); the episode's own randomness (moving obstacles)
            draws from ``timestep.state.key``, as navix keeps it.
        timestep: navix's `Timestep` (``t``, observation, action, reward,
            ``step_type``, its MDP ``state`` and ``info["return"]``), as navix's
            transition takes it.
    """

    key: jax.Array
    timestep: Any


def observation_bounds(observation_fn: Callable[..., Any], shape: tuple[int, ...]) -> tuple[Any, Any] | None:
    """The true bounds of a navix observation function's values, where known.

    navix 0.7.4's ``observation_space`` says ``[0, 8]`` for `symbolic` and
    `categorical`, but their values reach the player's tag (10), `categorical`
    marks walls -1, and `symbolic`'s state channel reaches 254 (KeyCorridor's
    doors). The image observations keep navix's ``[0, 255]``.

    Args:
        observation_fn: The environment's ``observation_fn``.
        shape: The observation's shape.

    Returns:
        ``(minimum, maximum)`` broadcast to `shape`, or None where the bounds
        are unknown (`categorical_first_person`, custom functions): the spec
        is then unbounded.
    """
    if observation_fn is navix_observations.symbolic:
        # (entity tag, colour, state). The state is a door's 0..2 or the player's direction 0..3,
        # but KeyCorridor's doors give 254 (a -2 wrapped to uint8): the state channel keeps uint8's range.
        high = np.array([int(navix_entities.EntityIds.PLAYER), len(navix_rendering.PALETTE.as_array()) - 1, 255])
        return np.zeros(shape, np.int64), np.broadcast_to(high, shape)
    if observation_fn is navix_observations.categorical:
        return np.full(shape, -1), np.full(shape, int(navix_entities.EntityIds.PLAYER))
    if observation_fn in (navix_observations.rgb, navix_observations.rgb_first_person,
                          navix_observations.symbolic_first_person):
        return np.zeros(shape, np.int64), np.full(shape, 255)
    return None


def _observation_spec(env: Any) -> specs.Spec[Any]:
    with _common.library_promotion(x64=False):
        observation = jax.eval_shape(env.reset, jax.random.key(0)).observation
    shape, dtype = tuple(observation.shape), np.dtype(observation.dtype)
    bounds = observation_bounds(env.observation_fn, shape)
    if bounds is None:
        return specs.Array(shape, dtype, name="observation")
    low, high = bounds
    return specs.BoundedArray(shape, dtype, np.asarray(low, dtype), np.asarray(high, dtype), name="observation")


class FromNavix(_core.Environment[NavixState, jax.Array, Any]):
    """A navix environment as a jit_env `Environment` (no auto-reset).

    `reset(key)` splits `key`, calls navix's ``reset(key)`` with one half and
    keeps the other for the next reset; `step` calls navix's raw transition
    ``_step(timestep, action)``, never its auto-resetting `step`. A LAST time
    step with discount 0 is navix's TERMINATION, with discount 1 its
    TRUNCATION (``max_steps``).

    >>> import navix  # doctest: +SKIP
    >>> env = FromNavix(navix.make("Navix-Empty-5x5-v0"))  # doctest: +SKIP
    """

    def __init__(self, env: Any, *, own_time_limit: bool = True):
        """Adapts `env`.

        Args:
            env: A navix environment (``navix.make(id)``).
            own_time_limit: Whether the library's own episode limit (``max_steps``)
                ends episodes (a truncation). False lifts it: the step there is
                MID, and a time limit outside (jit_env's `TimeLimit`,
                Gymnasium's) decides the episode's length.

        Raises:
            TypeError: If `env` is not a navix environment.
        """
        super().__init__()
        if not isinstance(env, navix_environment.Environment):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_NAVIX, env=env))
        self._env = env
        self._observation_spec = _observation_spec(env)
        self._action_spec = specs.DiscreteArray(len(env.action_set), jnp.int32, name="action")
        space = env.reward_space
        self._reward_spec = specs.BoundedArray((), jnp.float32, float(space.minimum), float(space.maximum),
                                               name="reward")
        self._own_time_limit = bool(own_time_limit)

    def __repr__(self) -> str:
        env = self._env
        lifted = "" if self._own_time_limit else ", own_time_limit=False"
        return (f"FromNavix({type(env).__name__}, height={env.height}, width={env.width}, "
                f"max_steps={env.max_steps}{lifted})")

    @property
    def navix_env(self) -> Any:
        """The adapted navix environment."""
        return self._env

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[NavixState, _core.TimeStep[Any]]:
        """Starts an episode with navix's ``reset(key)``.

        Args:
            key: A PRNG key (typed or raw uint32[2]).
            options: Must be None (navix has no per-episode parameters).

        Returns:
            The state and a FIRST time step (reward 0, discount 1, float32).

        Raises:
            ValueError: If `options` is not None.
        """
        _common.check_no_options(options, library="navix", hint=OPTIONS_HINT)
        key, reset_key = jax.random.split(key)
        with _common.library_promotion(x64=False):
            timestep = _common.strong(self._env.reset(reset_key))
        return NavixState(key=key, timestep=timestep), _core.restart(self._observation(timestep))

    def step(self, state: NavixState, action: jax.Array) -> tuple[NavixState, _core.TimeStep[Any]]:
        """Advances with navix's raw transition ``_step(timestep, action)``.

        Args:
            state: The state from `reset` or `step`.
            action: int scalar in ``[0, len(action_set))``.

        Returns:
            The next state and a MID or LAST time step (LAST with discount 0 on
            navix's TERMINATION, discount 1 on its TRUNCATION).
        """
        action = jnp.asarray(action, self._action_spec.dtype)  # navix stores it in its time step.
        with _common.library_promotion(x64=False):
            timestep = _common.like(self._env._step(state.timestep, action), state.timestep)
        step_type, discount = _common.end_of_step(
            timestep.step_type == _TERMINATION,
            jnp.logical_and(timestep.step_type == _TRUNCATION, self._own_time_limit))
        out = _core.TimeStep(
            step_type=step_type,
            reward=jnp.asarray(timestep.reward, jnp.float32),
            discount=discount,
            observation=self._observation(timestep),
        )
        return dataclasses.replace(state, timestep=timestep), out

    def _observation(self, timestep: Any) -> jax.Array:
        observation: jax.Array = _common.to_spec(timestep.observation, self._observation_spec)
        return observation

    def render(self, state: NavixState) -> jax.Array:
        """navix's full-grid RGB picture of the state (`navix.observations.rgb`).

        Returns:
            uint8 ``(height * 8, width * 8, 3)`` (jittable, vmappable).
        """
        with _common.library_promotion(x64=False):
            return navix_observations.rgb(state.timestep.state)

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def reward_spec(self) -> specs.Spec[Any]:
        return self._reward_spec

    def discount_spec(self) -> specs.Spec[Any]:
        return _common.discount_spec()


def make(name: str, *, max_episode_steps: _common.EpisodeSteps = _common.LIBRARY_DEFAULT,
         **kwargs: Any) -> FromNavix:
    """Builds ``navix.make(name, **kwargs)`` as a `FromNavix`.

    Args:
        name: A navix id (``"Navix-Empty-5x5-v0"``, ...).
        max_episode_steps: navix's own episode limit (`jit_env.make` passes it
            whenever it is given, see `_common.own_limit`): an int is navix's
            ``max_steps``, None lifts it (``own_time_limit=False``).
        **kwargs: navix's own `make` arguments: ``max_steps`` (navix's default
            is 100; `max_episode_steps` replaces it) and the environment's
            fields, e.g. ``observation_fn`` (`navix.observations.symbolic` by
            default; `rgb`, `categorical`, the first-person variants),
            ``reward_fn``, ``termination_fn``.

    Returns:
        The adapted environment.

    Raises:
        ValueError: On an unknown id.
    """
    _common.check_id("navix", name, library="navix")
    limit, own_time_limit = _common.own_limit(max_episode_steps)
    if limit is not None:
        kwargs["max_steps"] = limit
    return FromNavix(navix.make(name, **kwargs), own_time_limit=own_time_limit)


def native(env: FromNavix) -> tuple[Callable[[jax.Array], Any], Callable[[Any, jax.Array, jax.Array], Any]]:
    """navix's own ``reset(key)`` and raw transition ``_step(timestep, action)`` for `env`.

    The transition is the one navix's public `step` runs when it does not
    auto-reset, and the one `FromNavix.step` calls, so a benchmark measures
    the adapter alone.

    Args:
        env: An environment built by `make` (or `FromNavix`).

    Returns:
        ``reset_fn(key) -> timestep`` and ``step_fn(timestep, action, key) ->
        timestep`` (the key is unused: navix draws from the timestep's state),
        pure and vmappable.
    """
    library = env.navix_env

    def reset_fn(key: jax.Array) -> Any:
        with _common.library_promotion(x64=False):
            return library.reset(key)

    def step_fn(timestep: Any, action: jax.Array, key: jax.Array) -> Any:
        del key
        with _common.library_promotion(x64=False):
            return library._step(timestep, action)

    return reset_fn, step_fn
