"""The environment interface: TimeStep, StepType, Environment, Wrapper and helpers.

Everything here is pure: environments hold static configuration only and all
data, the PRNG key included, lives in the state pytree returned by `reset` and
threaded through `step`.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
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

ERR_NO_RENDERER = (
    "{} has no renderer: pass `renderer=` to Environment.__init__ or override `render`."
)


ERR_POSITIVE_INT = "`{}` must be a positive int, got {!r}."
ERR_SCOPE = (
    "{owner}.episodes must be a jit_env.Scope, got {value!r}; declare e.g. "
    "`episodes = jit_env.Scope.PER_EPISODE`."
)
ERR_ENV_ACROSS = (
    "{owner} declares Scope.ACROSS_EPISODES, but an environment's `reset` starts from its key "
    "alone and keeps nothing; only a wrapper can keep data across episodes (through `carry`). "
    "Declare Scope.PER_EPISODE, or keep the data in a wrapper."
)
ERR_BATCH = (
    "{owner}.batch must be a jit_env.Batch or None, got {value!r}; declare e.g. "
    "`batch = jit_env.Batch(16)` (or `jit_env.Batch(None)` for a batch sized by `reset`'s keys)."
)
ERR_NO_CARRY = (
    "{wrapper} declares Scope.ACROSS_EPISODES but does not implement `carry`: write "
    "`carry(state, inner_state, inner_timestep)`, which continues its data with the inner "
    "environment's time step (what its `step` does after the inner step)."
)
ERR_KEEP_HIDDEN = (
    "{outer} sits above {across}, which keeps data across episodes (Scope.ACROSS_EPISODES), "
    "but {outer} does not: a new episode cannot start beneath {outer} and keep {across}'s "
    "data. Put {across} outside {outer}, e.g. {across}({outer}(env))."
)


def check_positive_int(name: str, value: Any) -> int:
    """Returns `value` if it is a positive int (not a bool), else raises ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(ERR_POSITIVE_INT.format(name, value))
    return value


class Scope(enum.StrEnum):
    """How an environment or wrapper relates to episodes: its declaration.

    Every environment and wrapper declares one in its `episodes` attribute
    (`Environment.episodes`), and everything that composes them asks it: the
    stack checks when a wrapper is built (`check_stack`), what a boundary keeps
    (`new_episode`), what a transform does to a reset step (`boundary`), the
    bridges, `Shard` and `jit_env.testing.check_env`. Nobody guesses from the
    class. The values are strings, so ``Scope.PER_EPISODE == "per_episode"``.

    * `STATELESS` (the default of `Wrapper`): keeps nothing a boundary must
      re-initialise: no data of its own (`Jit`, `Vmap`, `Tile`, the transforms),
      or data it restarts by itself on every FIRST time step it sees
      (`FrameStack`). Sits anywhere.
    * `PER_EPISODE` (the default of `Environment`): data that belongs to one
      episode and is re-initialised by `reset` (an environment's own state,
      `TimeLimit`, `EpisodeStatistics`). A wrapper declaring it must sit inside
      every auto-reset wrapper: it cannot see the boundaries an auto-reset
      beneath it makes.
    * `ACROSS_EPISODES`: data kept across episodes (`NormalizeObservation`'s
      statistics). Must sit outside every auto-reset wrapper; a new episode
      started by `new_episode` (the bridges' `reset`) keeps it, through the
      wrapper's `carry`.
    * `AUTO_RESET`: starts new episodes by itself, in same-step mode: the step
      that ends an episode returns FIRST with the ending transition's reward
      and discount (`AutoReset`, `VmapAutoReset`, `TileAutoReset` by default,
      or an environment that resets internally).
    * `AUTO_RESET_NEXT_STEP`: starts new episodes by itself, in next-step
      mode: the step after LAST ignores its action and returns a fresh FIRST
      whose reward (0) and discount (1) are placeholders.

    >>> Scope.PER_EPISODE == "per_episode", Scope.AUTO_RESET_NEXT_STEP.auto_resets
    (True, True)
    """

    STATELESS = "stateless"
    PER_EPISODE = "per_episode"
    ACROSS_EPISODES = "across_episodes"
    AUTO_RESET = "auto_reset"
    AUTO_RESET_NEXT_STEP = "auto_reset_next_step"

    @property
    def auto_resets(self) -> bool:
        """True for the two auto-reset scopes."""
        return self in (Scope.AUTO_RESET, Scope.AUTO_RESET_NEXT_STEP)


# jit_env's earlier (private) names of the scopes.
PER_EPISODE = Scope.PER_EPISODE
ACROSS_EPISODES = Scope.ACROSS_EPISODES
STATELESS = Scope.STATELESS
AUTO_RESET = Scope.AUTO_RESET


@dataclasses.dataclass(frozen=True)
class Batch:
    """The declaration that an environment is a batch of sub-environments (`Environment.batch`).

    An unbatched environment declares `batch = None` (the default); a wrapper
    declares nothing and inherits its environment's unless it batches
    (`Tile`, `Vmap`, the batched auto-resets, `Shard`). `Shard`, `Jit`, the
    transforms, the bridges and `jit_env.testing.check_env` read it.

    Attributes:
        size: With an int `n`, every time step leaf has a leading axis of `n`
            and the specs describe the whole batch (`Tile`, `Shard`). With
            None (an unsized batch: `Vmap`, `VmapAutoReset`), the specs describe
            one sub-environment and the batch size is the number of keys given
            to `reset`.

    >>> Batch(8), Batch(None).size
    (Batch(size=8), None)
    """

    size: int | None

    def __post_init__(self) -> None:
        if self.size is not None:
            check_positive_int("size", self.size)



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

    episodes: Scope = Scope.PER_EPISODE
    """How the environment relates to episodes (see `Scope`). An environment's own
    state belongs to one episode, started by `reset` (`PER_EPISODE`, the default);
    one that starts new episodes inside its own `step` declares `Scope.AUTO_RESET`
    (same-step) or `Scope.AUTO_RESET_NEXT_STEP`, so that the bridges refuse it and
    per-episode wrappers are refused around it."""

    batch: Batch | None = None
    """None for one environment (the default); a `Batch` for an environment whose
    time steps hold a batch of sub-environments (see `Batch`)."""

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
    episodes: Scope = Scope.STATELESS
    """How the wrapper's own data relates to episodes (see `Scope`; `STATELESS` by
    default). Every wrapper checks the stack beneath it against this when it is
    built (see `check_stack`), so an order that would give wrong data is an
    error, never wrong data. A wrapper declaring `ACROSS_EPISODES` implements
    `carry`."""

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
        check_stack(type(self).__name__, declared_scope(self), env)
        super().__init__(renderer=renderer)
        self._env = env

    @property
    def batch(self) -> Batch | None:  # type: ignore[override]
        """The batch of the wrapped environment: a wrapper that batches overrides this."""
        return self._env.batch

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

    def carry(
        self, state: Any, inner_state: Any, inner_timestep: TimeStep[Any]
    ) -> tuple[State, TimeStep[Observation]]:
        """Continues this wrapper's data with a time step of the inner environment.

        Only a wrapper that declares `Scope.ACROSS_EPISODES` implements it: it is
        what `step` does after the inner step, and `new_episode` calls it with the
        inner environment's new FIRST time step, so the data survives the boundary.

        Args:
            state: This wrapper's state before the inner time step.
            inner_state: The inner environment's new state.
            inner_timestep: The inner environment's time step.

        Returns:
            This wrapper's new state and time step.

        Raises:
            NotImplementedError: If the wrapper does not implement it.
        """
        raise NotImplementedError(ERR_NO_CARRY.format(wrapper=type(self).__name__))

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


def declared_scope(env: Environment[Any, Any, Any]) -> Scope:
    """`env.episodes`, checked to be a `Scope`.

    Raises:
        TypeError: If the declaration is not a `Scope`, or an environment that
            is not a wrapper declares `Scope.ACROSS_EPISODES`.
    """
    scope = getattr(env, "episodes", None)
    if not isinstance(scope, Scope):
        raise TypeError(ERR_SCOPE.format(owner=type(env).__name__, value=scope))
    if scope == Scope.ACROSS_EPISODES and not isinstance(env, Wrapper):
        raise TypeError(ERR_ENV_ACROSS.format(owner=type(env).__name__))
    return scope


def declared_batch(env: Environment[Any, Any, Any]) -> Batch | None:
    """`env.batch`, checked to be a `Batch` or None.

    Raises:
        TypeError: If the declaration is neither.
    """
    batch = getattr(env, "batch", None)
    if batch is not None and not isinstance(batch, Batch):
        raise TypeError(ERR_BATCH.format(owner=type(env).__name__, value=batch))
    return batch


@dataclasses.dataclass(frozen=True)
class Boundary:
    """What happens at the episode boundaries of a stack, decided by `boundary`.

    Attributes:
        auto_reset: The scope of the outermost layer that auto-resets
            (`Scope.AUTO_RESET` or `Scope.AUTO_RESET_NEXT_STEP`), or None if
            none does (then `step` never returns FIRST).
        keeps: The names of the layers that keep data across episodes
            (`Scope.ACROSS_EPISODES`), outermost first. `new_episode` keeps
            their data; every other layer is re-initialised as by `reset`.
        hidden_by: If a layer that does not keep data sits above one that does,
            their names `(outer, across)`: `new_episode` then cannot keep the
            data, and the bridges refuse the stack. Else None.
        batch: The stack's batch declaration (`Environment.batch`).
    """

    auto_reset: Scope | None
    keeps: tuple[str, ...]
    hidden_by: tuple[str, str] | None
    batch: Batch | None

    def placeholder(self, timestep: TimeStep[Any]) -> jax.Array:
        """A bool array, True where a time step returned by `step` is a placeholder start.

        That is a FIRST time step from a next-step auto-reset beneath: its
        reward (0) and discount (1) belong to no transition, and its
        ``extras["final_observation"]`` is the new episode's first observation.
        A same-step FIRST carries the ending transition's reward, discount and
        terminal observation, so it is False there. Every FIRST returned by
        `reset` is a placeholder, without asking.

        Transforms ask this: `TransformReward` never transforms a placeholder
        reward, and `FrameStack` starts a placeholder's final observation
        from a fresh stack.
        """
        first = timestep.first()
        if self.auto_reset == Scope.AUTO_RESET_NEXT_STEP:
            return first
        return jnp.zeros_like(first)


def boundary(env: Environment[Any, Any, Any]) -> Boundary:
    """What happens at `env`'s episode boundaries, from the declarations of its layers.

    This is the one place that reads `Environment.episodes` and
    `Environment.batch` for a whole stack; the stack checks, `new_episode`, the
    transforms, the bridges, `Shard` and the checker all ask it.

    Args:
        env: An environment or wrapper stack.

    Returns:
        Its `Boundary`.

    Raises:
        TypeError: If a layer declares something that is not a `Scope` or `Batch`.

    >>> from jit_env import envs, wrappers
    >>> b = boundary(wrappers.NormalizeObservation(wrappers.TileAutoReset(envs.CartPole(), 2)))
    >>> b.auto_reset, b.keeps, b.batch
    (<Scope.AUTO_RESET: 'auto_reset'>, ('NormalizeObservation',), Batch(size=2))
    """
    auto_reset: Scope | None = None
    keeps: list[str] = []
    hidden_by: tuple[str, str] | None = None
    outer_other: str | None = None
    for layer in layers(env):
        scope = declared_scope(layer)
        name = type(layer).__name__
        if scope.auto_resets and auto_reset is None:
            auto_reset = scope
        if scope == Scope.ACROSS_EPISODES:
            keeps.append(name)
            if outer_other is not None and hidden_by is None:
                hidden_by = (outer_other, name)
        elif outer_other is None:
            outer_other = name
    return Boundary(auto_reset=auto_reset, keeps=tuple(keeps), hidden_by=hidden_by, batch=declared_batch(env))


def new_episode(
    env: Environment[Any, Any, Any], state: Any, key: jax.Array, *, options: EnvOptions = None
) -> tuple[Any, TimeStep[Any]]:
    """Starts `env`'s next episode after `state`, keeping what the stack keeps across episodes.

    Where no layer keeps data across episodes this is `env.reset(key,
    options=options)`. Otherwise every layer that declares
    `Scope.ACROSS_EPISODES` continues its data (its `carry`) with the new
    episode's FIRST time step, and everything beneath them is reset with
    `key` and `options`: `ToGymnasium` and `ToDeepmindEnv` start each episode
    after the first this way, so `NormalizeObservation`'s statistics survive
    their `reset`.

    Args:
        env: The environment.
        state: Its state at the end of the previous episode.
        key: The new episode's PRNG key (as for `reset`).
        options: The new episode's reset options.

    Returns:
        The new state and the FIRST time step.

    Raises:
        ValueError: If a layer that keeps no data sits above one that does
            (`Boundary.hidden_by`); the bridges refuse such a stack when built.
    """
    found = boundary(env)
    if not found.keeps:
        return env.reset(key, options=options)
    if found.hidden_by is not None:
        outer, across = found.hidden_by
        raise ValueError(ERR_KEEP_HIDDEN.format(outer=outer, across=across))
    assert isinstance(env, Wrapper)  # Only a wrapper can declare ACROSS_EPISODES and reach here.
    inner = state.inner if env.state_type is not None else state
    inner_state, inner_timestep = new_episode(env.env, inner, key, options=options)
    return env.carry(state, inner_state, inner_timestep)


def check_stack(wrapper: str, episodes: Scope, env: Environment[Any, Any, Any]) -> None:
    """Checks that a wrapper declaring `episodes` may wrap `env`, from the declarations.

    A per-episode wrapper must not sit outside anything that auto-resets
    (its state would run on into the next episode), and an auto-reset wrapper
    must not wrap one that keeps data across episodes (every reset would
    discard it).

    Args:
        wrapper: The wrapper's name, for the message.
        episodes: Its declaration (`Wrapper.episodes`).
        env: The environment it wraps.

    Raises:
        ValueError: Naming both wrappers and the order to use.
    """
    beneath = boundary(env)
    if episodes == Scope.PER_EPISODE and beneath.auto_reset is not None:
        auto_reset = next(layer for layer in layers(env) if declared_scope(layer).auto_resets)
        raise ValueError(ERR_PER_EPISODE_OUTSIDE_AUTO_RESET.format(
            wrapper=wrapper, auto_reset=type(auto_reset).__name__))
    if episodes.auto_resets and beneath.keeps:
        raise ValueError(ERR_ACROSS_EPISODES_INSIDE_AUTO_RESET.format(
            wrapper=beneath.keeps[0], auto_reset=wrapper))


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
