"""The environment interface: TimeStep, StepType, Environment, Wrapper and helpers.

Everything here is pure: environments hold static configuration only and all
data, the PRNG key included, lives in the state pytree returned by `reset` and
threaded through `step`.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Self, TypeAlias

import jax
import jax.numpy as jnp
import numpy as np
from typing_extensions import TypeVar

from jit_env import _struct

if TYPE_CHECKING:  # pragma: no cover
    from jit_env import specs

State = TypeVar("State")
Action = TypeVar("Action")
Observation = TypeVar("Observation")
# Reward and discount types default to Any, so that both `Environment[S, A, O]` and
# jit_env 0.1.5's five-parameter `Environment[S, A, O, R, D]` are valid annotations.
Reward = TypeVar("Reward", default=Any)
Discount = TypeVar("Discount", default=Any)
StepT = TypeVar("StepT", default=Any)
# Kept for jit_env 0.1.5, which exported these names from `_core`.
RewardT = TypeVar("RewardT", default=Any)
DiscountT = TypeVar("DiscountT", default=Any)

EnvOptions: TypeAlias = Any
"""Options passed to `reset`: any pytree (commonly a dict or a dataclass) or None."""

ERR_NOT_AN_ENV = "`env` must be a jit_env.Environment, got {!r}."
ERR_PER_EPISODE_OUTSIDE_AUTO_RESET = (
    "{wrapper} must wrap the environment inside {auto_reset}, not outside it: {wrapper} keeps "
    "per-episode state, which an auto-reset step would carry into the next episode (wrong "
    "data, silently). Write {wrapper}(env) first, then auto-reset (`jit_env.wrappers.wrap` "
    "builds the usual order)."
)
ERR_ACROSS_EPISODES_INSIDE_AUTO_RESET = (
    "{auto_reset} must not wrap {wrapper}: {wrapper} keeps state across episodes, which "
    "every auto-reset would throw away (it starts again from reset). Put {wrapper} outside "
    "the auto-reset wrapper: {wrapper}({auto_reset}(env)) (`jit_env.wrappers.wrap` builds "
    "the usual order)."
)

PER_EPISODE = "per_episode"
"""`Wrapper.episodes`: state that belongs to one episode (TimeLimit, FrameStack,
EpisodeStatistics); such a wrapper must sit inside any auto-reset wrapper."""
ACROSS_EPISODES = "across_episodes"
"""`Wrapper.episodes`: state kept across episodes (NormalizeObservation's
statistics); such a wrapper must sit outside any auto-reset wrapper."""
STATELESS = "stateless"
"""`Wrapper.episodes`: no state of its own (transforms, Jit, Vmap, Tile); the default."""
AUTO_RESET = "auto_reset"
"""`Wrapper.episodes`: the wrapper starts new episodes itself (the auto-reset wrappers)."""
ERR_NO_RENDERER = (
    "{} has no renderer: pass `renderer=` to Environment.__init__ or override `render`."
)


class StepType:
    """Where a `TimeStep` lies in an episode; values are NumPy int8 scalars.

    The constants are NumPy scalars rather than JAX arrays so that importing
    jit_env does no device work; they compare equal to int8 JAX arrays.

    >>> int(StepType.FIRST), int(StepType.MID), int(StepType.LAST)
    (0, 1, 2)
    """

    FIRST = np.int8(0)
    MID = np.int8(1)
    LAST = np.int8(2)


@_struct.dataclass(eq=False)
class TimeStep(Generic[Observation, Reward, Discount, StepT]):
    """What an environment returns from `reset` and `step`.

    A frozen pytree dataclass, so it passes through `jit`, `vmap` and `scan`
    and can be edited with `dataclasses.replace`. Generic in the observation
    type and, as in jit_env 0.1.5, optionally the reward, discount and step
    type types (`TimeStep[O]` and `TimeStep[O, R, D, S]` are both valid).

    Attributes:
        step_type: int8 array, `StepType.FIRST`, `MID` or `LAST`; shape `()`
            per environment (a leading batch axis when batched).
        reward: The reward (tree) of the transition into this step.
        discount: The discount (tree) of the transition, in [0, 1]. A LAST step
            with discount 0 is a termination, with discount > 0 a truncation.
        observation: The observation (tree).
        extras: Data for the user, not the agent (a dict or None). It is a
            pytree child like the other fields but is ignored by `==`.

    >>> ts = restart(jnp.zeros(2))
    >>> bool(ts.first()), bool(ts.last())
    (True, False)
    """

    step_type: jax.Array
    reward: Any
    discount: Any
    observation: Observation
    extras: dict[str, Any] | None = None

    def first(self) -> jax.Array:
        """Returns a bool array, True where this step starts an episode."""
        return jnp.asarray(self.step_type) == StepType.FIRST

    def mid(self) -> jax.Array:
        """Returns a bool array, True where this step is inside an episode."""
        return jnp.asarray(self.step_type) == StepType.MID

    def last(self) -> jax.Array:
        """Returns a bool array, True where this step ends an episode."""
        return jnp.asarray(self.step_type) == StepType.LAST

    def __eq__(self, other: object) -> bool:
        """Eager, exact comparison of all fields except `extras`."""
        if not isinstance(other, TimeStep):
            return NotImplemented
        mine = (self.step_type, self.reward, self.discount, self.observation)
        theirs = (other.step_type, other.reward, other.discount, other.observation)
        structure: Any = jax.tree_util.tree_structure(mine)
        if structure != jax.tree_util.tree_structure(theirs):
            return False
        return all(
            np.array_equal(np.asarray(a), np.asarray(b))
            for a, b in zip(jax.tree_util.tree_leaves(mine), jax.tree_util.tree_leaves(theirs), strict=True)
        )

    __hash__ = None  # type: ignore[assignment]


def _step(
    step_type: np.int8,
    reward: Any,
    discount: Any,
    observation: Any,
    extras: dict[str, Any] | None,
) -> TimeStep[Any]:
    return TimeStep(
        step_type=jnp.asarray(step_type, jnp.int8),
        reward=reward,
        discount=discount,
        observation=observation,
        extras=extras,
    )


def restart(
    observation: Observation,
    extras: dict[str, Any] | None = None,
    shape: int | Sequence[int] = (),
    dtype: Any = jnp.float32,
) -> TimeStep[Observation]:
    """A FIRST `TimeStep`, reward zeros and discount ones of `shape` and `dtype`.

    Unlike dm_env, reward and discount are arrays, not None, so that `reset`
    and `step` return the same pytree structure (needed by `lax.scan`/`cond`).

    Args:
        observation: The first observation.
        extras: Optional dict of extra data.
        shape: Shape of reward and discount.
        dtype: Dtype of reward and discount (float32 unless told otherwise,
            also under `JAX_ENABLE_X64`).

    >>> restart(jnp.zeros(3), shape=(2,)).reward.shape
    (2,)
    """
    return _step(
        StepType.FIRST,
        jnp.zeros(shape, dtype),
        jnp.ones(shape, dtype),
        observation,
        extras,
    )


def transition(
    reward: Any,
    observation: Observation,
    discount: Any = None,
    extras: dict[str, Any] | None = None,
    shape: int | Sequence[int] = (),
    dtype: Any = jnp.float32,
) -> TimeStep[Observation]:
    """A MID `TimeStep`; `discount` defaults to ones of `shape` and `dtype`.

    >>> int(transition(jnp.float32(1.0), jnp.zeros(2)).step_type)
    1
    """
    if discount is None:
        discount = jnp.ones(shape, dtype)
    return _step(StepType.MID, reward, discount, observation, extras)


def termination(
    reward: Any,
    observation: Observation,
    extras: dict[str, Any] | None = None,
    shape: int | Sequence[int] = (),
    dtype: Any = jnp.float32,
) -> TimeStep[Observation]:
    """A LAST `TimeStep` with discount zeros: the episode reached a terminal state.

    >>> float(termination(jnp.float32(1.0), jnp.zeros(2)).discount)
    0.0
    """
    return _step(StepType.LAST, reward, jnp.zeros(shape, dtype), observation, extras)


def truncation(
    reward: Any,
    observation: Observation,
    discount: Any = None,
    extras: dict[str, Any] | None = None,
    shape: int | Sequence[int] = (),
    dtype: Any = jnp.float32,
) -> TimeStep[Observation]:
    """A LAST `TimeStep` that keeps the discount (ones by default): the episode was cut.

    >>> float(truncation(jnp.float32(1.0), jnp.zeros(2)).discount)
    1.0
    """
    if discount is None:
        discount = jnp.ones(shape, dtype)
    return _step(StepType.LAST, reward, discount, observation, extras)


class Environment(Generic[State, Action, Observation, Reward, Discount], metaclass=abc.ABCMeta):
    """A pure environment: `reset(key) -> (state, timestep)`, `step(state, action)`.

    Subclasses implement `reset`, `step` and the four spec methods. The state is
    a pytree that carries its own PRNG key in a `key` attribute; the same
    `(state, action)` always gives the same result. `reset` and `step` must
    return the same pytree structure, shapes and dtypes.

    Generic in the state, action and observation types and, as in jit_env
    0.1.5, optionally the reward and discount types: `Environment[S, A, O]`
    and `Environment[S, A, O, R, D]` are both valid annotations.
    """

    _renderer: Callable[[Any], Any] | None = None

    def __init__(self, *, renderer: Callable[[State], Any] | None = None):
        """Creates the environment.

        Args:
            renderer: Optional function from a state to a picture (for the user,
                never the agent). Subclasses may override `render` instead.
        """
        self._renderer = renderer

    def __str__(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    @property
    def unwrapped(self) -> Environment[Any, Any, Any]:
        """The innermost environment beneath any wrappers."""
        return self

    @abc.abstractmethod
    def reset(
        self, key: jax.Array, *, options: EnvOptions = None
    ) -> tuple[State, TimeStep[Observation]]:
        """Starts an episode.

        Args:
            key: A PRNG key (typed or raw uint32[2]) that seeds the episode.
            options: Optional pytree that parametrises the episode. Only change
                values, not shapes, or jitted code retraces.

        Returns:
            The state, carrying the key chain, and a FIRST `TimeStep`.
        """

    @abc.abstractmethod
    def step(self, state: State, action: Action) -> tuple[State, TimeStep[Observation]]:
        """Advances the environment by one action.

        Args:
            state: The state from `reset` or a previous `step`.
            action: An action matching `action_spec()`.

        Returns:
            The next state and a MID or LAST `TimeStep`. Stepping past LAST is
            the environment's own business unless an auto-reset wrapper is used.
        """

    @abc.abstractmethod
    def reward_spec(self) -> specs.Spec:
        """The spec of `TimeStep.reward`."""

    @abc.abstractmethod
    def discount_spec(self) -> specs.Spec:
        """The spec of `TimeStep.discount`."""

    @abc.abstractmethod
    def observation_spec(self) -> specs.Spec:
        """The spec of `TimeStep.observation`."""

    @abc.abstractmethod
    def action_spec(self) -> specs.Spec:
        """The spec of the action `step` takes."""

    def render(self, state: State) -> Any:
        """Renders `state` with the injected renderer.

        Raises:
            NotImplementedError: If no renderer was given and `render` is not
                overridden.
        """
        if self._renderer is None:
            raise NotImplementedError(ERR_NO_RENDERER.format(type(self).__name__))
        return self._renderer(state)

    def close(self) -> None:
        """Frees resources held by the environment (nothing by default)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@_struct.dataclass
class WrapperState(Generic[State]):
    """Base of the states of wrappers that keep data of their own.

    The inner environment's state sits in `inner`; `key` and `options` read
    through to it so that every state in a wrapper stack exposes the key.
    """

    inner: State

    @property
    def key(self) -> jax.Array:
        """The PRNG key of the innermost state (an attribute or a dict entry, as `state_key`)."""
        return state_key(self.inner)

    @property
    def options(self) -> EnvOptions:
        """The reset options remembered by the innermost state, if any (as `state_options`)."""
        return state_options(self.inner)


class Wrapper(Environment[State, Action, Observation, Reward, Discount]):
    """An environment built on another; it delegates everything it does not change.

    Wrappers hold only static configuration. A wrapper that needs data of its
    own returns a `WrapperState` subclass (declared as `state_type`), and
    `render` then hands the inner state down.
    """

    state_type: type[WrapperState[Any]] | None = None
    episodes: str = STATELESS
    """How the wrapper's own data relates to episodes: `PER_EPISODE`,
    `ACROSS_EPISODES`, `STATELESS` (the default) or `AUTO_RESET`. Every wrapper
    checks the stack beneath it against this when it is built (see `check_stack`),
    so an order that would give wrong data is an error, never wrong data."""

    def __init__(
        self, env: Environment[Any, Any, Any], *, renderer: Callable[[State], Any] | None = None
    ):
        """Wraps `env`.

        Args:
            env: The environment to wrap.
            renderer: Optional function from this wrapper's state to a picture; by
                default `render` hands the state down to `env` (as in jit_env 0.1.5).

        Raises:
            TypeError: If `env` is not a `jit_env.Environment`.
            ValueError: If the stack would break episodes (see `check_stack`).
        """
        if not isinstance(env, Environment):
            raise TypeError(ERR_NOT_AN_ENV.format(env))
        check_stack(type(self).__name__, self.episodes, env)
        super().__init__(renderer=renderer)
        self._env = env

    @property
    def env(self) -> Environment[Any, Any, Any]:
        """The wrapped environment (one level down)."""
        return self._env

    @property
    def unwrapped(self) -> Environment[Any, Any, Any]:
        return self._env.unwrapped

    def __str__(self) -> str:
        return f"{type(self).__name__}({self._env})"

    def __repr__(self) -> str:
        args = ", ".join([repr(self._env), *(f"{k}={v!r}" for k, v in self._repr_kwargs())])
        return f"{type(self).__name__}({args})"

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        """The constructor's keyword arguments, for `repr`."""
        return []

    def reset(
        self, key: jax.Array, *, options: EnvOptions = None
    ) -> tuple[State, TimeStep[Observation]]:
        return self._env.reset(key, options=options)

    def step(self, state: State, action: Action) -> tuple[State, TimeStep[Observation]]:
        return self._env.step(state, action)

    def reward_spec(self) -> specs.Spec:
        return self._env.reward_spec()

    def discount_spec(self) -> specs.Spec:
        return self._env.discount_spec()

    def observation_spec(self) -> specs.Spec:
        return self._env.observation_spec()

    def action_spec(self) -> specs.Spec:
        return self._env.action_spec()

    def render(self, state: State) -> Any:
        if self._renderer is not None:
            return self._renderer(state)
        if self.state_type is not None and isinstance(state, self.state_type):
            return self._env.render(state.inner)
        return self._env.render(state)

    def close(self) -> None:
        self._env.close()


def layers(env: Environment[Any, Any, Any]) -> list[Environment[Any, Any, Any]]:
    """`env` and every environment beneath it, outermost first."""
    out = [env]
    while isinstance(out[-1], Wrapper):
        out.append(out[-1].env)
    return out


def check_stack(wrapper: str, episodes: str, env: Environment[Any, Any, Any]) -> None:
    """Checks that a wrapper declaring `episodes` may wrap `env`.

    A per-episode wrapper must not sit outside an auto-reset wrapper (its state
    would run on into the next episode), and an auto-reset wrapper must not
    wrap one that keeps state across episodes (every reset would discard it).

    Args:
        wrapper: The wrapper's name, for the message.
        episodes: Its declaration (`Wrapper.episodes`).
        env: The environment it wraps.

    Raises:
        ValueError: Naming both wrappers and the order to use.
    """
    beneath = layers(env)[:-1]
    if episodes == PER_EPISODE:
        for layer in beneath:
            if layer.episodes == AUTO_RESET:  # type: ignore[attr-defined]
                raise ValueError(ERR_PER_EPISODE_OUTSIDE_AUTO_RESET.format(
                    wrapper=wrapper, auto_reset=type(layer).__name__))
    if episodes == AUTO_RESET:
        for layer in beneath:
            if layer.episodes == ACROSS_EPISODES:  # type: ignore[attr-defined]
                raise ValueError(ERR_ACROSS_EPISODES_INSIDE_AUTO_RESET.format(
                    wrapper=type(layer).__name__, auto_reset=wrapper))


def replace_key(state: Any, key: jax.Array) -> Any:
    """Returns `state` with its PRNG key replaced by `key`.

    Works for `WrapperState` stacks, dataclasses, NamedTuples and dicts that
    hold the key in a `key` field.

    Raises:
        TypeError: If the state has no replaceable `key` field.
    """
    if isinstance(state, WrapperState):
        return dataclasses.replace(state, inner=replace_key(state.inner, key))
    if dataclasses.is_dataclass(state) and any(f.name == "key" for f in dataclasses.fields(state)):
        return dataclasses.replace(state, key=key)  # type: ignore[type-var]
    if isinstance(state, tuple) and hasattr(state, "_replace") and "key" in state._fields:  # type: ignore[attr-defined]
        return state._replace(key=key)
    if isinstance(state, dict) and "key" in state:
        return {**state, "key": key}
    raise TypeError(ERR_NO_KEY_FIELD.format(type(state).__name__))


ERR_NO_KEY_FIELD = (
    "State of type {} has no `key` field to replace: make the state a dataclass, "
    "NamedTuple or dict with a `key` field."
)


def state_key(state: Any) -> jax.Array:
    """Returns the PRNG key a state carries.

    Raises:
        TypeError: If the state has no `key`.
    """
    key = state.get("key") if isinstance(state, dict) else getattr(state, "key", None)
    if key is None:
        raise TypeError(ERR_NO_KEY.format(type(state).__name__))
    return key


ERR_NO_KEY = (
    "State of type {} carries no PRNG `key`; jit_env states must carry their key "
    "(a `key` attribute or dict entry) so that wrappers can reset them."
)


def replace_options(state: Any, options: EnvOptions) -> Any:
    """Returns `state` with the reset options it remembers replaced (as `replace_key`).

    A state without an `options` field is returned unchanged.
    """
    if isinstance(state, WrapperState):
        return dataclasses.replace(state, inner=replace_options(state.inner, options))
    if dataclasses.is_dataclass(state) and any(f.name == "options" for f in dataclasses.fields(state)):
        return dataclasses.replace(state, options=options)  # type: ignore[type-var]
    if isinstance(state, tuple) and hasattr(state, "_replace") and "options" in state._fields:  # type: ignore[attr-defined]
        return state._replace(options=options)
    if isinstance(state, dict) and "options" in state:
        return {**state, "options": options}
    return state


def state_options(state: Any) -> EnvOptions:
    """Returns the reset options a state remembers (an `options` field), or None."""
    if isinstance(state, dict):
        return state.get("options")
    return getattr(state, "options", None)
