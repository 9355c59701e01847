"""The gymnax bridge: a jit_env environment as a gymnax `Environment`, for pure-JAX trainers.

Pure-JAX trainers (PureJaxRL-style scripts, rejax, most JAX baselines) take
gymnax's API: ``reset(key, params) -> (obs, state)`` and ``step(key, state,
action, params)``, with gymnax's own auto-reset inside `step` and gymnax spaces.
`ToGymnax` serves that API over any jit_env environment or wrapper stack that
does not reset by itself (gymnax's `step` does the auto-reset).

Two step signatures are in use and both are served:

* gymnax 1.0 (the default): ``obs, state, reward, terminated, truncated, info``;
* the older five values (``five_values=True``), which rejax 0.1.3 and
  PureJaxRL-style code unpack: ``obs, state, reward, done, info`` with
  ``done = terminated | truncated`` and both flags kept in ``info``.

A LAST time step with discount 0 is a termination, with discount > 0 a
truncation (docs/semantics.md). On the step that ends an episode the returned
observation and state are those of the new episode (gymnax's same-step
auto-reset) and ``info["final_observation"]`` holds the terminal observation.
``info["discount"]`` is the time step's discount, and the time step's extras
are in ``info["extras"]``.

>>> import jax, jit_env
>>> from jit_env import compat
>>> env = compat.ToGymnax(jit_env.make("CartPole-v1"))
>>> obs, state = env.reset(jax.random.key(0), env.default_params)
>>> obs.shape, env.num_actions, env.default_params.max_steps_in_episode
((4,), 2, 500)
"""

from __future__ import annotations

from typing import Any

import gymnax
import jax
import jax.numpy as jnp
import numpy as np
from gymnax.environments import environment as gymnax_environment
from gymnax.environments import spaces as gymnax_spaces

from jit_env import _core, _struct, specs
from jit_env.compat import _checks

ERR_UNKNOWN_SPEC = (
    "Cannot convert {!r} to a gymnax space: only DiscreteArray, BoundedArray and Array leaves "
    "of integer, float or bool dtype, in dicts and tuples, are supported."
)
ERR_NOT_INT = "`{}` must be a positive int, got {!r}."
BRIDGE_HOW = "ToGymnax's step resets by itself (gymnax's auto-reset), so pass the plain environment"

del gymnax  # Imported so that a missing gymnax fails here, at import time.


@_struct.dataclass
class ToGymnaxParams:
    """gymnax's params of `ToGymnax`: the episode's step limit, for trainers that read it.

    The jit_env environment keeps its own configuration; this only reports the
    time limit (`TimeLimit`'s `max_episode_steps` in the stack), which gymnax
    trainers such as rejax read from ``params.max_steps_in_episode``.

    Attributes:
        max_steps_in_episode: int, the step limit of an episode.
    """

    max_steps_in_episode: int


@_struct.dataclass
class ToGymnaxState:
    """The gymnax state of `ToGymnax`.

    Attributes:
        inner: The jit_env environment's state.
        time: int32 `()`, steps taken in this episode (gymnax's `EnvState.time`).
        truncated: bool `()`, True when the last step was a truncation.
    """

    inner: Any
    time: jax.Array
    truncated: jax.Array


def spec_to_space(spec: specs.Spec[Any]) -> gymnax_spaces.Space:
    """Converts a jit_env spec into a gymnax space.

    Args:
        spec: A `DiscreteArray` (scalar), `BoundedArray` or `Array` leaf, or a
            `Tree`/`Dict`/`Tuple` spec of them in dicts and tuples.

    Returns:
        `Discrete`, `Box`, `Dict` or `Tuple` (gymnax's spaces). An unbounded
        `Array` becomes a `Box` with infinite float bounds, the dtype's range
        for integers, or [False, True]; a `DiscreteArray` with a shape a `Box`
        over [0, num_values - 1] (gymnax has no MultiDiscrete).

    Raises:
        NotImplementedError: On a spec gymnax has no space for.

    >>> spec_to_space(specs.DiscreteArray(3)).n
    3
    """
    return _tree_space(specs.unpack_spec(spec))


def _tree_space(tree: Any) -> gymnax_spaces.Space:
    if isinstance(tree, specs.Spec):
        return _leaf_space(tree)
    if isinstance(tree, dict):
        return gymnax_spaces.Dict({k: _tree_space(v) for k, v in tree.items()})
    if isinstance(tree, (tuple, list)):
        return gymnax_spaces.Tuple([_tree_space(v) for v in tree])
    raise NotImplementedError(ERR_UNKNOWN_SPEC.format(tree))


def _leaf_space(spec: specs.Spec[Any]) -> gymnax_spaces.Space:
    if isinstance(spec, specs.DiscreteArray):
        if spec.shape == ():
            return gymnax_spaces.Discrete(int(spec.num_values), dtype=spec.dtype)
        # gymnax has no MultiDiscrete: a Box over [0, num_values - 1] says the same.
        high = np.broadcast_to(np.asarray(spec.num_values) - 1, spec.shape).astype(spec.dtype)
        return gymnax_spaces.Box(np.zeros(spec.shape, spec.dtype), high, spec.shape, spec.dtype)
    if isinstance(spec, specs.BoundedArray):
        return gymnax_spaces.Box(spec.minimum, spec.maximum, spec.shape, spec.dtype)
    if isinstance(spec, specs.Array):
        kind = spec.dtype.kind
        if kind == "f":
            return gymnax_spaces.Box(-np.inf, np.inf, spec.shape, spec.dtype)
        if kind in "iu":
            info = np.iinfo(spec.dtype)
            return gymnax_spaces.Box(info.min, info.max, spec.shape, spec.dtype)
        if kind == "b":
            return gymnax_spaces.Box(False, True, spec.shape, spec.dtype)
    raise NotImplementedError(ERR_UNKNOWN_SPEC.format(spec))


def _max_episode_steps(env: _core.Environment[Any, Any, Any]) -> int | None:
    """The tightest `max_episode_steps` a layer of the stack declares, or None."""
    limits = [getattr(layer, "max_episode_steps", None) for layer in _core.layers(env)]
    ints = [limit for limit in limits if isinstance(limit, int) and not isinstance(limit, bool)]
    return min(ints) if ints else None


class ToGymnax(gymnax_environment.Environment):
    """A jit_env environment as a gymnax `Environment` (for pure-JAX trainers).

    `reset_env`/`step_env` are the jit_env environment's own `reset`/`step`;
    gymnax's `reset`/`step` (auto-resetting, jitted) are inherited, so every
    trainer written for gymnax runs unchanged. The jit_env state carries its own
    key chain, so `step_env` ignores gymnax's per-step key; a new episode is
    seeded from gymnax's reset key. The environment holds static configuration
    only and can be copied, hashed and used as a static argument of `jit`.
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        five_values: bool = False,
        max_steps_in_episode: int | None = None,
        name: str | None = None,
    ):
        """Wraps `env`.

        Args:
            env: An unbatched jit_env environment that does not reset by itself.
            five_values: Serve the older five-value `step` (``obs, state,
                reward, done, info``; rejax 0.1.3 and PureJaxRL-style code),
                with ``info["terminated"]`` and ``info["truncated"]``.
            max_steps_in_episode: What `default_params.max_steps_in_episode`
                reports; by default the stack's `TimeLimit`, else 2**31 - 1.
                It is information for the trainer: the jit_env stack decides
                when episodes end.
            name: `name`; by default the environment's `str`.

        Raises:
            TypeError: If `env` is not a jit_env environment.
            ValueError: If `env` auto-resets or is batched, or
                `max_steps_in_episode` is not a positive int.
        """
        if not isinstance(env, _core.Environment):
            raise TypeError(_core.ERR_NOT_AN_ENV.format(env))
        _checks.check_bridgeable(env, "ToGymnax", BRIDGE_HOW)
        if max_steps_in_episode is not None and (
                isinstance(max_steps_in_episode, bool) or not isinstance(max_steps_in_episode, int)
                or max_steps_in_episode <= 0):
            raise ValueError(ERR_NOT_INT.format("max_steps_in_episode", max_steps_in_episode))
        self.env = env
        self.five_values = bool(five_values)
        limit = max_steps_in_episode or _max_episode_steps(env)
        self._max_steps = 2**31 - 1 if limit is None else limit
        self._name = str(env) if name is None else name
        self._observation_space = spec_to_space(env.observation_spec())
        self._action_space = spec_to_space(env.action_spec())

    def __repr__(self) -> str:
        kwargs = ", five_values=True" if self.five_values else ""
        return f"ToGymnax({self.env!r}{kwargs})"

    @property
    def default_params(self) -> ToGymnaxParams:
        return ToGymnaxParams(max_steps_in_episode=self._max_steps)

    def reset_env(self, key: jax.Array, params: ToGymnaxParams) -> tuple[Any, ToGymnaxState]:
        """A new episode of the jit_env environment, seeded by `key`."""
        inner, timestep = self.env.reset(key)
        state = ToGymnaxState(inner=inner, time=jnp.zeros((), jnp.int32), truncated=jnp.zeros((), bool))
        return timestep.observation, state

    def step_env(
        self, key: jax.Array, state: ToGymnaxState, action: Any, params: ToGymnaxParams
    ) -> tuple[Any, ToGymnaxState, jax.Array, jax.Array, dict[str, Any]]:
        """One step of the jit_env environment (no reset); `key` is not used."""
        del key, params  # The state carries its key chain; the stack carries its configuration.
        inner, timestep = self.env.step(state.inner, action)
        last = timestep.last()
        ended_by_discount = jnp.asarray(timestep.discount) == 0
        terminated = last & ended_by_discount
        state = ToGymnaxState(inner=inner, time=state.time + 1, truncated=last & ~ended_by_discount)
        info = {"discount": timestep.discount, "extras": timestep.extras or {}}
        return timestep.observation, state, timestep.reward, terminated, info

    def is_truncated(self, state: ToGymnaxState, params: ToGymnaxParams) -> jax.Array:
        """Whether the step into `state` was a truncation (as the jit_env stack said)."""
        return state.truncated

    def step(
        self, key: jax.Array, state: ToGymnaxState, action: Any, params: ToGymnaxParams | None = None
    ) -> tuple[Any, ...]:
        """gymnax's auto-resetting step: six values, or five with ``five_values=True``."""
        obs, state, reward, terminated, truncated, info = super().step(key, state, action, params)
        if not self.five_values:
            return obs, state, reward, terminated, truncated, info
        return obs, state, reward, terminated | truncated, info

    @property
    def name(self) -> str:
        return self._name

    @property
    def num_actions(self) -> int:
        """The number of discrete actions, or the size of a continuous action."""
        space = self._action_space
        if isinstance(space, gymnax_spaces.Discrete):
            return int(space.n)
        if isinstance(space, gymnax_spaces.Box):
            return int(np.prod(space.shape))
        raise NotImplementedError(ERR_NUM_ACTIONS.format(self.env.action_spec()))

    def action_space(self, params: ToGymnaxParams | None = None) -> gymnax_spaces.Space:
        return self._action_space

    def observation_space(self, params: ToGymnaxParams | None = None) -> gymnax_spaces.Space:
        return self._observation_space


ERR_NUM_ACTIONS = "num_actions is defined for a DiscreteArray or a Box action spec, not {!r}."
