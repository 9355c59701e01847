"""Auto-reset: start a new episode when one ends, without losing the terminal observation.

Two modes (see docs/semantics.md):

* ``"same_step"`` (default, jit_env 0.1.5's behaviour): the step that ends an
  episode returns a FIRST `TimeStep` whose observation is the new episode's
  first observation, and whose reward and discount are those of the ending
  transition (discount 0 for a termination, > 0 for a truncation).
* ``"next_step"``: the step that ends an episode returns the LAST `TimeStep`
  unchanged; the following `step` ignores its action, resets and returns FIRST
  (the Gymnasium ``NEXT_STEP`` convention).

In both modes ``extras["final_observation"]`` holds, on every step, the
observation the inner `step` (or `reset`) returned before any reset, so the
terminal observation is never lost and the extras keep one structure.
``final_observation=False`` leaves it out: a stored trajectory then holds no
second copy of the observations (in next-step mode it always equals
`observation`; in same-step mode the terminal observation is then dropped).

A reset uses the finished state's own key (`state.key`) as its reset key, so
every sub-environment's key chain is independent and deterministic given the
key passed to `reset`. Environments must therefore store a key derived from
(split off) the reset key, never the reset key itself (`jit_env.testing`
checks this).

How it is built: each mode is written once, as a plain function over a batch
shape (`same_step`, `next_step`; the batch shape is that of the step type, `()`
for `AutoReset`, `(N,)` for the batched wrappers). What a reset is, the
strategy, is a plain restart function passed to them (`restart_complete`,
`restart_optimistic`, `restart_precomputed`; `restart_function` is the one
place a strategy name picks one). `AutoReset`, `VmapAutoReset` and
`TileAutoReset` only hold the configuration, and `jit_env.wrappers.ResetMixin`
calls the same functions. `step_with_reset_extras` also returns the extras of
the new episodes' FIRST time steps, which the same-step `TimeStep` replaces by
the ending step's (Gymnasium's ``SAME_STEP`` info needs both).
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, _struct, specs
from jit_env.wrappers import _common, _transforms
from jit_env.wrappers._common import FINAL_OBSERVATION

SAME_STEP = "same_step"
NEXT_STEP = "next_step"
MODES = (SAME_STEP, NEXT_STEP)
# Gymnasium's `AutoresetMode` values, compared by value (the wrappers do not import gymnasium).
_MODE_VALUES = {SAME_STEP: SAME_STEP, NEXT_STEP: NEXT_STEP, "SameStep": SAME_STEP, "NextStep": NEXT_STEP}
_DISABLED_VALUES = ("disabled", "Disabled")

COMPLETE = "complete"
OPTIMISTIC = "optimistic"
PRECOMPUTED = "precomputed"
STRATEGIES = (COMPLETE, OPTIMISTIC, PRECOMPUTED)

ERR_BATCHED_STEP_TYPE = (
    "AutoReset got a step_type of shape {}; it handles one environment. Use "
    "VmapAutoReset or TileAutoReset for batched environments."
)
ERR_NUM_RESETS = "`num_resets` must be a positive int, got {!r}."
ERR_POOL_OPTIONS = (
    "The 'precomputed' strategy builds its pool with one set of reset options, so "
    "`options_in_axes` must be None (shared options) or 0 (the pool uses the first "
    "sub-environment's; every sub-environment keeps its own), got {!r}."
)
ERR_STRATEGY_ARG = "`{}` is only used by the {!r} strategy; got {}={!r} with strategy={!r}."
ERR_MODE_DISABLED = (
    "`mode` {!r} means no auto-reset, which an auto-reset wrapper cannot do; use "
    "jit_env.wrappers.Tile or Vmap instead, or mode 'same_step' or 'next_step'."
)
ERR_NOT_AUTO_RESET = (
    "step_with_reset_extras needs an AutoReset, VmapAutoReset or TileAutoReset as the "
    "outermost layer, got {!r}; call it on that wrapper."
)

_SALT_POOL = 0x706F6F6C  # Salt for the key the precomputed pool is built from.
# Finished rows are restarted in chunks of N // _CHUNK_DIVISOR. Measured with
# benchmarks/throughput.py on CartPole: at N = 64 and 1024, chunks of N // 16
# beat N // 4, N // 64 and restarting every row and selecting (by 1.2x to 4x).
_CHUNK_DIVISOR = 16

Restart = Callable[[jax.Array, Any, Any], Any]
"""`(done, source, base) -> (state, timestep)`: `base` with the `done` rows restarted.

`done` is bool, of the batch shape; `source` the finished states whose keys and
options the new episodes use; `base` the `(state, timestep)` the other rows keep.
"""


@_struct.dataclass
class AutoResetState(_core.WrapperState[Any]):
    """State of `AutoReset` in ``"next_step"`` mode.

    Attributes:
        inner: The inner environment's state.
        needs_reset: bool array, True where the last step returned LAST.
    """

    needs_reset: jax.Array


@_struct.dataclass
class BatchedAutoResetState(_core.WrapperState[Any]):
    """State of `VmapAutoReset`/`TileAutoReset` in next-step mode or with a pool.

    Attributes:
        inner: The batched inner state.
        needs_reset: bool array `(N,)`, True where the last step returned LAST.
        pool_state: The pool of initial states (leading axis `pool_size`) of
            the ``"precomputed"`` strategy, else None.
        pool_timestep: The pool's FIRST time steps, else None.
    """

    needs_reset: jax.Array
    pool_state: Any = None
    pool_timestep: Any = None


def auto_reset_mode(mode: Any) -> str:
    """The auto-reset mode `mode` names: `SAME_STEP` or `NEXT_STEP`.

    The auto-reset wrappers and `jit_env.compat.ToGymnasiumVector` accept the
    same values: ``"same_step"``/``"next_step"`` and Gymnasium's
    `AutoresetMode.SAME_STEP`/`NEXT_STEP` or their values (compared by value,
    so gymnasium need not be installed).

    >>> auto_reset_mode("next_step"), auto_reset_mode("SameStep")
    ('next_step', 'same_step')

    Raises:
        ValueError: On an unknown mode, or Gymnasium's ``DISABLED`` (no auto-reset).
    """
    value = getattr(mode, "value", mode)
    if isinstance(value, str) and value in _DISABLED_VALUES:
        raise ValueError(ERR_MODE_DISABLED.format(mode))
    if not isinstance(value, str) or value not in _MODE_VALUES:
        _common.check_choice("mode", mode, MODES)  # raises, naming the choices
    return _MODE_VALUES[value]


def _scope(mode: str) -> _core.Scope:
    """The declaration of an auto-reset wrapper in `mode` (what its FIRST steps carry)."""
    return _core.Scope.AUTO_RESET_NEXT_STEP if mode == NEXT_STEP else _core.Scope.AUTO_RESET


def _with_final(timestep: _core.TimeStep[Any], final: Any, keep: bool) -> _core.TimeStep[Any]:
    """`timestep` with ``extras["final_observation"] = final``, or unchanged if not `keep`."""
    return _common.with_extras(timestep, **{FINAL_OBSERVATION: final}) if keep else timestep


def same_step_timestep(
    done: jax.Array, stepped: _core.TimeStep[Any], restarted: _core.TimeStep[Any], keep_final: bool
) -> _core.TimeStep[Any]:
    """The ending step's reward, discount and extras; where `done`, the new episode's observation."""
    timestep = _core.TimeStep(
        step_type=jnp.where(done, jnp.asarray(_core.StepType.FIRST, jnp.int8), stepped.step_type),
        reward=stepped.reward,
        discount=stepped.discount,
        observation=_common.select(done, restarted.observation, stepped.observation),
        extras=stepped.extras,
    )
    return _with_final(timestep, stepped.observation, keep_final)


# --- The two modes, each written once, over any batch shape. ---------------------------------


def same_step(
    step: Callable[[Any, Any], Any], restart: Restart, state: Any, action: Any, *, final_observation: bool
) -> tuple[Any, _core.TimeStep[Any], Any]:
    """One same-step auto-reset step: where an episode ends, the new one starts at once.

    Args:
        step: The (batched) inner step, `(state, action) -> (state, timestep)`;
            its step type's shape is the batch shape (`()` for one environment).
        restart: How the finished rows start new episodes (a `Restart`).
        state: The inner state.
        action: The action.
        final_observation: Whether the extras carry ``"final_observation"``.

    Returns:
        `(state, timestep, reset_extras)`: where an episode ended, the new
        episode's state and a FIRST time step with the ending transition's
        reward, discount and extras; `reset_extras` are the extras of the new
        episodes' own FIRST time steps (meaningful where `timestep.first()`).
    """
    state, stepped = step(state, action)
    done = stepped.last()

    def with_resets() -> Any:
        new_state, first = restart(done, state, (state, stepped))
        return new_state, same_step_timestep(done, stepped, first, final_observation), first.extras

    def without() -> Any:
        return state, _with_final(stepped, stepped.observation, final_observation), stepped.extras

    # Steps on which no episode ended (common with synchronised time limits)
    # pay for no reset at all.
    return jax.lax.cond(jnp.any(done), with_resets, without)


def next_step(
    step: Callable[[Any, Any], Any],
    restart: Restart,
    state: Any,
    needs_reset: jax.Array,
    action: Any,
    *,
    final_observation: bool,
) -> tuple[Any, _core.TimeStep[Any], Any]:
    """One next-step auto-reset step: rows that returned LAST last time restart now.

    Args:
        step, restart, state, action, final_observation: As `same_step`.
        needs_reset: bool, of the batch shape: True where the last step returned LAST.

    Returns:
        `(state, timestep, reset_extras)`: the stepped rows, and where
        `needs_reset` a new episode and its FIRST time step (the action is
        ignored there); the caller keeps `timestep.last()` as the next
        `needs_reset`. `reset_extras` are the extras before ``"final_observation"``.
    """
    stepped_state, stepped = step(state, action)  # Every row steps: a batch cannot skip some.
    state, timestep = jax.lax.cond(
        jnp.any(needs_reset),
        lambda: restart(needs_reset, state, (stepped_state, stepped)),
        lambda: (stepped_state, stepped),
    )
    return state, _with_final(timestep, timestep.observation, final_observation), timestep.extras


# --- The three strategies: plain restart functions. ------------------------------------------


def reset_batch(
    env: _core.Environment[Any, Any, Any], keys: jax.Array, options: Any, *, ndim: int = 1
) -> Any:
    """New episodes for keys with `ndim` batch axes, each with its own options (or all None).

    Args:
        env: The unbatched environment.
        keys: PRNG keys, batch shape `(M,)` (`ndim=1`) or `()` (`ndim=0`).
        options: None, or options with the same leading batch axes.
    """
    fresh = lambda k, o: env.reset(k, options=o)  # noqa: E731
    for _ in range(ndim):
        fresh = jax.vmap(fresh, in_axes=(0, None if options is None else 0))
    return fresh(keys, options)


def _gather(tree: Any, index: jax.Array) -> Any:
    return jax.tree_util.tree_map(lambda x: x[index], tree)


def chunk_rows(num: int, num_resets: int | None = None) -> int:
    """How many finished rows one compiled restart handles (`num`: all at once, then select)."""
    return min(num_resets or max(1, num // _CHUNK_DIVISOR), num)


def reset_rows(fresh: Any, rows: jax.Array, source: Any, base: Any) -> Any:
    """`base`, a batched `(state, timestep)`, with the sub-environments `rows` restarted.

    Args:
        fresh: `(keys, options) -> (state, timestep)`, new episodes for a batch of keys.
        rows: int32 indices of the sub-environments to restart; an index equal
            to the batch size is padding and is dropped.
        source: The batched states whose keys and options the new episodes use.
        base: What the other rows keep.
    """
    keys = _core.state_key(source)
    options = _core.state_options(source)
    safe = jnp.minimum(rows, keys.shape[0] - 1)
    new = fresh(keys[safe], None if options is None else _gather(options, safe))
    return jax.tree_util.tree_map(lambda old, row: old.at[rows].set(row, mode="drop"), base, new)


def _restart_all(fresh: Any, done: jax.Array, source: Any, base: Any) -> Any:
    """`base` with the `done` rows replaced: every row restarted, then selected."""
    new = fresh(_core.state_key(source), _core.state_options(source), ndim=done.ndim)
    return _common.select(done, new, base)


def _restart_chunk(fresh: Any, chunk: int, source: Any, remaining: jax.Array, out: Any) -> Any:
    """Restarts the first `chunk` rows still `remaining`; returns those left and `out`."""
    num = remaining.shape[0]
    (rows,) = jnp.nonzero(remaining, size=chunk, fill_value=num)  # `num` rows are dropped
    out = reset_rows(fresh, rows, source, out)
    return remaining.at[rows].set(False, mode="drop"), out


def _restart_chunked(fresh: Any, done: jax.Array, source: Any, base: Any) -> Any:
    """`base` with every `done` row replaced by `fresh` of its key and options.

    Exactly what restarting every row and selecting gives (what a batch of
    one, or the shape `()` of one environment, does), but only the finished
    rows are restarted, N // 16 at a time: one compiled restart, in a loop of
    a static number of passes (so `grad` goes through), each skipped once no
    finished row is left (one pass on most steps).
    """
    num, chunk = math.prod(done.shape), chunk_rows(math.prod(done.shape))
    if chunk == num:
        return _restart_all(fresh, done, source, base)

    def one_pass(_: Any, carry: Any) -> Any:
        restart = functools.partial(_restart_chunk, fresh, chunk, source)
        return jax.lax.cond(jnp.any(carry[0]), restart, lambda r, o: (r, o), *carry)

    return jax.lax.fori_loop(0, -(-num // chunk), one_pass, (done, base))[1]


def restart_complete(env: _core.Environment[Any, Any, Any], done: jax.Array, source: Any, base: Any) -> Any:
    """The ``"complete"`` strategy: a fresh `env.reset` of every finished row from its own key."""
    return _restart_chunked(functools.partial(reset_batch, env), done, source, base)


def _draw_from_pool(pool: BatchedAutoResetState, keys: jax.Array, options: Any, *, ndim: int = 1) -> Any:
    """New episodes drawn from the pool: one split of each key picks, the other continues."""
    # The random bits of one half of the split pick a pooled start (one threefry
    # pass; the modulo bias is below size / 2**32). The row keeps its own options.
    size = jnp.shape(pool.pool_timestep.step_type)[0]
    split = jax.vmap(jax.random.split)(keys)
    bits = jax.random.key_data(split[:, 0]).reshape(split.shape[0], -1)[:, 0]
    index = (bits % jnp.uint32(size)).astype(jnp.int32)
    state = _core.replace_key(_gather(pool.pool_state, index), split[:, 1])
    if options is not None:
        state = _core.replace_options(state, options)
    return state, _gather(pool.pool_timestep, index)


def restart_precomputed(pool: BatchedAutoResetState, done: jax.Array, source: Any, base: Any) -> Any:
    """The ``"precomputed"`` strategy: every finished row starts from a pooled state (batch `(N,)`)."""
    return _restart_chunked(functools.partial(_draw_from_pool, pool), done, source, base)


def restart_optimistic(
    env: _core.Environment[Any, Any, Any], done: jax.Array, source: Any, base: Any, *, num_resets: int | None
) -> Any:
    """The ``"optimistic"`` strategy: `num_resets` fresh resets, the other finished rows copy one.

    Batch `(N,)`. Past `num_resets` (M), finished rows start from a copy of one
    of the M new initial environment states but keep their own key chain and
    reset options.
    """
    num = done.shape[0]
    chunk = chunk_rows(num, num_resets)
    fresh = functools.partial(reset_batch, env)
    if chunk == num:
        return _restart_all(fresh, done, source, base)
    keys, options = _core.state_key(source), _core.state_options(source)
    state, timestep = _restart_chunk(fresh, chunk, source, done, base)[1]

    def copy_overflow(state: Any, timestep: Any) -> Any:
        (rows,) = jnp.nonzero(done, size=chunk, fill_value=0)
        rank = jnp.cumsum(done, dtype=jnp.int32) - 1
        copied = done & (rank >= chunk)
        state, timestep = _gather((state, timestep), jnp.where(copied, rows[rank % chunk], jnp.arange(num)))
        state = _core.replace_key(state, _common.select(copied, keys, _core.state_key(state)))
        if options is not None:
            state = _core.replace_options(state, options)
        return state, timestep

    count = jnp.sum(done, dtype=jnp.int32)
    return jax.lax.cond(count > chunk, copy_overflow, lambda s, t: (s, t), state, timestep)


def restart_function(
    strategy: str, env: _core.Environment[Any, Any, Any], *, num_resets: int | None = None, pool: Any = None
) -> Restart:
    """The restart function of `strategy`: the one place a strategy name picks one.

    Args:
        strategy: ``"complete"``, ``"optimistic"`` or ``"precomputed"``.
        env: The unbatched environment whose `reset` starts the new episodes.
        num_resets: The optimistic strategy's M (None: N // 16).
        pool: The precomputed strategy's `BatchedAutoResetState` holding the pool.
    """
    if strategy == OPTIMISTIC:
        return functools.partial(restart_optimistic, env, num_resets=num_resets)
    if strategy == PRECOMPUTED:
        return functools.partial(restart_precomputed, pool)
    return functools.partial(restart_complete, env)


# --- The wrappers: configuration, and calls of the functions above. --------------------------


def auto_resets(env: _core.Environment[Any, Any, Any]) -> bool:
    """True if `env`, or any wrapper beneath it, starts new episodes by itself.

    The stateful bridges refuse such environments: dm_env and Gymnasium start
    episodes with `reset`, so an auto-resetting step would hide an episode's end.

    >>> from jit_env import envs
    >>> auto_resets(AutoReset(envs.CartPole())), auto_resets(envs.CartPole())
    (True, False)
    """
    return _core.boundary(env).auto_reset is not None


def step_with_reset_extras(env: _core.Environment[Any, Any, Any], state: Any, action: Any) -> Any:
    """`env.step(state, action)` and the extras of the new episodes' FIRST time steps.

    The same-step `TimeStep` keeps the ending step's extras (docs/semantics.md);
    Gymnasium's ``SAME_STEP`` info needs those of the new episode's FIRST time
    step as well, so `jit_env.compat.ToGymnasiumVector` steps through this.

    Args:
        env: `AutoReset`, `VmapAutoReset` or `TileAutoReset` (the outermost layer).
        state: Its state.
        action: The action.

    Returns:
        `(state, timestep, reset_extras)`: what `env.step` returns, and the
        extras of each row's new FIRST time step, meaningful where an episode
        started on this step (`timestep.first()`): in same-step mode those of
        the reset, in next-step mode `timestep.extras` without ``"final_observation"``.

    Raises:
        ValueError: If `env` is not one of the three auto-reset wrappers.

    >>> from jit_env import envs
    >>> env = TileAutoReset(envs.CartPole(), 2)
    >>> state, _ = env.reset(jax.random.key(0))
    >>> state, timestep, reset_extras = step_with_reset_extras(env, state, jnp.zeros(2, jnp.int32))
    >>> timestep.step_type.shape
    (2,)
    """
    if not isinstance(env, _AutoResetWrapper):
        raise ValueError(ERR_NOT_AUTO_RESET.format(env))
    return env._step_with_reset_extras(state, action)


class _AutoResetWrapper(_core.Wrapper[Any, Any, Any]):
    """What the three auto-reset wrappers share (abstract): configuration and the mode call."""

    episodes = _core.AUTO_RESET

    mode: str
    final_observation: bool
    strategy: str = COMPLETE
    num_resets: int | None = None

    def _step_inner(self, state: Any, action: Any) -> Any:
        """The inner step over the batch shape."""
        raise NotImplementedError

    def _restart(self, state: Any) -> Restart:
        return restart_function(self.strategy, self._env, num_resets=self.num_resets, pool=state)

    def _wrap_state(self, state: Any, inner: Any, needs_reset: jax.Array) -> Any:
        """The wrapper's state around `inner` (`state`: the previous one)."""
        raise NotImplementedError

    def step(self, state: Any, action: Any) -> Any:
        state, timestep, _ = self._step_with_reset_extras(state, action)
        return state, timestep

    def _step_with_reset_extras(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        wrapped = self.state_type is not None
        inner = state.inner if wrapped else state
        if self.mode == SAME_STEP:
            inner, timestep, reset_extras = same_step(
                self._step_inner, self._restart(state), inner, action, final_observation=self.final_observation)
        else:
            inner, timestep, reset_extras = next_step(
                self._step_inner, self._restart(state), inner, state.needs_reset, action,
                final_observation=self.final_observation)
        return (self._wrap_state(state, inner, timestep.last()) if wrapped else inner), timestep, reset_extras


class AutoReset(_AutoResetWrapper):
    """Resets a single environment when its episode ends.

    `jax.vmap(AutoReset(env).step)` computes the reset of every sub-environment
    on every step and selects (a `lax.cond` under `vmap` becomes a select); it is
    equivalent to `VmapAutoReset(env, strategy="complete")`, which is the
    clearer way to write it. Both run the same functions (`same_step` or
    `next_step` with `restart_complete`), here over the batch shape `()`.

    In ``"same_step"`` mode the state is the inner state unchanged; in
    ``"next_step"`` mode it is an `AutoResetState`.

    `Tile(AutoReset(env), n)` is the slow way to batch it: every step computes
    every sub-environment's reset. `TileAutoReset(env, n)` gives the same
    results (with ``strategy="complete"``) and resets only where episodes ended.
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        mode: str | enum.Enum = SAME_STEP,
        final_observation: bool = True,
    ):
        """Args:
        env: The environment (unbatched).
        mode: ``"same_step"`` or ``"next_step"`` (or Gymnasium's `AutoresetMode`
            member or value, see `auto_reset_mode`).
        final_observation: Whether the extras carry ``"final_observation"``.

        Raises:
            ValueError: If `mode` is unknown.
            TypeError: If `final_observation` is not a bool.
        """
        super().__init__(env)
        self.mode = auto_reset_mode(mode)
        self.episodes = _scope(self.mode)
        self.final_observation = _common.check_bool("final_observation", final_observation)
        self.state_type = AutoResetState if self.mode == NEXT_STEP else None

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        kwargs: list[tuple[str, Any]] = [("mode", self.mode)] if self.mode != SAME_STEP else []
        if not self.final_observation:
            kwargs.append(("final_observation", False))
        return kwargs

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        timestep = _with_final(timestep, timestep.observation, self.final_observation)
        if self.mode == NEXT_STEP:
            state = AutoResetState(inner=state, needs_reset=jnp.zeros((), bool))
        return state, timestep

    def _step_inner(self, state: Any, action: Any) -> Any:
        state, timestep = self._env.step(state, action)
        if jnp.shape(timestep.step_type) != ():
            raise ValueError(ERR_BATCHED_STEP_TYPE.format(jnp.shape(timestep.step_type)))
        return state, timestep

    def _wrap_state(self, state: Any, inner: Any, needs_reset: jax.Array) -> Any:
        return AutoResetState(inner=inner, needs_reset=needs_reset)


class _BatchedAutoReset(_AutoResetWrapper):
    """Shared configuration of `VmapAutoReset` and `TileAutoReset` (abstract)."""

    _batched: _transforms.Vmap | _transforms.Tile

    def _setup(
        self,
        mode: str | enum.Enum,
        strategy: str,
        num_resets: int | None,
        pool_size: int | None,
        options_in_axes: Any,
        final_observation: bool,
    ) -> None:
        self.mode = auto_reset_mode(mode)
        self.episodes = _scope(self.mode)
        self.final_observation = _common.check_bool("final_observation", final_observation)
        self.strategy = _common.check_choice("strategy", strategy, STRATEGIES)
        for name, value, owner in (("num_resets", num_resets, OPTIMISTIC),
                                   ("pool_size", pool_size, PRECOMPUTED)):
            if value is not None:
                if strategy != owner:
                    raise ValueError(ERR_STRATEGY_ARG.format(name, owner, name, value, strategy))
                _common.check_positive_int(name, value)
        if strategy == PRECOMPUTED and options_in_axes not in (None, 0):
            raise ValueError(ERR_POOL_OPTIONS.format(options_in_axes))
        self.num_resets = num_resets
        self.pool_size = pool_size
        self._options_in_axes = options_in_axes
        wraps_state = self.mode == NEXT_STEP or strategy == PRECOMPUTED
        self.state_type = BatchedAutoResetState if wraps_state else None

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        kwargs: list[tuple[str, Any]] = []
        if self.mode != SAME_STEP:
            kwargs.append(("mode", self.mode))
        if self.strategy != COMPLETE:
            kwargs.append(("strategy", self.strategy))
        for name in ("num_resets", "pool_size", "_options_in_axes"):
            if getattr(self, name) is not None:
                kwargs.append((name.lstrip("_"), getattr(self, name)))
        if not self.final_observation:
            kwargs.append(("final_observation", False))
        return kwargs

    @property
    def batch(self) -> _core.Batch | None:  # type: ignore[override]
        """The batch of `Vmap` (unsized) or `Tile` (sized) that this wrapper steps."""
        return self._batched.batch

    def observation_spec(self) -> specs.Spec[Any]:
        return self._batched.observation_spec()

    def action_spec(self) -> specs.Spec[Any]:
        return self._batched.action_spec()

    def reward_spec(self) -> specs.Spec[Any]:
        return self._batched.reward_spec()

    def discount_spec(self) -> specs.Spec[Any]:
        return self._batched.discount_spec()

    def render(self, state: Any) -> Any:
        if self._renderer is not None:
            return self._renderer(state)
        return self._batched.render(state.inner if self.state_type else state)

    def _pool_key(self, key: jax.Array) -> jax.Array:
        """The key the pool of initial states is built from."""
        raise NotImplementedError

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        state, timestep = self._batched.reset(key, options=options)
        return self._start(state, timestep, self._pool_key(key), options)

    def reset_each(self, keys: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        """`reset`, but sub-environment i starts as `env.reset(keys[i])` would.

        Args:
            keys: `(N,)` PRNG keys, one per sub-environment.
            options: Reset options, split over sub-environments as `options_in_axes` says.

        Returns:
            The batched state and FIRST time step, as `reset` returns them. A
            precomputed pool is drawn from `keys[0]`.
        """
        state, timestep = jax.vmap(
            lambda k, o: self._env.reset(k, options=o), in_axes=(0, self._options_in_axes))(keys, options)
        return self._start(state, timestep, keys[0], options)

    def _start(self, state: Any, timestep: Any, pool_key: jax.Array, options: Any) -> Any:
        """The wrapper's state and time step around freshly reset sub-environments."""
        timestep = _with_final(timestep, timestep.observation, self.final_observation)
        if self.state_type is None:
            return state, timestep
        num = jnp.shape(timestep.step_type)[0]
        pool_state = pool_timestep = None
        if self.strategy == PRECOMPUTED:
            size = self.pool_size or num
            pool_keys = jax.random.split(jax.random.fold_in(pool_key, _SALT_POOL), size)
            pool_options = options
            if self._options_in_axes is not None and options is not None:
                pool_options = jax.tree_util.tree_map(lambda x: x[0], options)
            pool_state, pool_timestep = jax.vmap(
                lambda k: self._env.reset(k, options=pool_options))(pool_keys)
        return BatchedAutoResetState(
            inner=state,
            needs_reset=jnp.zeros((num,), bool),
            pool_state=pool_state,
            pool_timestep=pool_timestep,
        ), timestep

    def _chunk(self, num: int) -> int:
        """How many finished rows one compiled restart handles in a batch of `num`."""
        return chunk_rows(num, self.num_resets)

    def _step_inner(self, state: Any, action: Any) -> Any:
        return self._batched.step(state, action)

    def _wrap_state(self, state: BatchedAutoResetState, inner: Any, needs_reset: jax.Array) -> Any:
        return BatchedAutoResetState(
            inner=inner, needs_reset=needs_reset, pool_state=state.pool_state, pool_timestep=state.pool_timestep)


class VmapAutoReset(_BatchedAutoReset):
    """`Vmap` with auto-reset: resets only where an episode ended, with no serial loop.

    The reset strategy says how the new episodes are made on each step:

    * ``"complete"``: every finished sub-environment is reset from its own
      key: the result equals resetting every row and selecting the finished
      ones, but only the finished rows are reset, N // 16 at a time.
    * ``"optimistic"``: only `num_resets` (M, default N // 16) resets are
      computed, for the first M finished sub-environments, from their own keys,
      so the result equals ``"complete"`` whenever at most M finish at once.
      Past M, the extra finished sub-environments start from a copy of one of
      those M initial environment states, keeping their own key chain (so
      they diverge) and their own reset options.
    * ``"precomputed"``: a pool of `pool_size` initial states (default N) is
      built by `reset` and stored in the state; each new episode splits its
      sub-environment's key, picks a pool entry with the random bits of one
      half and continues with the other, and keeps the row's own reset options. No
      reset runs during `step`, but episodes only ever start from the
      `pool_size` pooled states (drawn once, at `reset`, with the shared
      options or, with ``options_in_axes=0``, the first sub-environment's).

    `jax.vmap(AutoReset(env).step)` is the same as ``strategy="complete"``:
    both run `same_step`/`next_step` with `restart_complete`, here over `(N,)`.
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        mode: str | enum.Enum = SAME_STEP,
        strategy: str = COMPLETE,
        num_resets: int | None = None,
        pool_size: int | None = None,
        options_in_axes: Any = None,
        final_observation: bool = True,
        **step_vmap_kwargs: Any,
    ):
        """Args:
        env: The (unbatched) environment.
        mode: ``"same_step"`` or ``"next_step"`` (or Gymnasium's `AutoresetMode`
            member or value, see `auto_reset_mode`).
        strategy: ``"complete"``, ``"optimistic"`` or ``"precomputed"``.
        num_resets: Resets per step of the optimistic strategy.
        pool_size: Pool size of the precomputed strategy.
        options_in_axes: `in_axes` of reset options (None: shared by all).
        final_observation: Whether the extras carry ``"final_observation"``
            (see the module docstring).
        **step_vmap_kwargs: Passed to `jax.vmap` for `step`.

        Raises:
            ValueError: On an unknown mode or strategy, a non-positive size, or
                a size given for a strategy that does not use it.
            TypeError: If `final_observation` is not a bool.
        """
        super().__init__(env)
        self._setup(mode, strategy, num_resets, pool_size, options_in_axes, final_observation)
        self._batched = _transforms.Vmap(env, options_in_axes=options_in_axes, **step_vmap_kwargs)

    def _pool_key(self, key: jax.Array) -> jax.Array:
        return key[0]


class TileAutoReset(_BatchedAutoReset):
    """`Tile` with auto-reset: a fixed batch of `num_envs`; see `VmapAutoReset`."""

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        num_envs: int | None = None,
        *,
        mode: str | enum.Enum = SAME_STEP,
        strategy: str = COMPLETE,
        num_resets: int | None = None,
        pool_size: int | None = None,
        options_in_axes: Any = None,
        final_observation: bool = True,
        num: int | None = None,
        **step_vmap_kwargs: Any,
    ):
        """Args: as `VmapAutoReset`, plus `num_envs`, the batch size.

        `num=` is the deprecated name of `num_envs` (a `DeprecationWarning`);
        the attribute `num` stays readable.

        Raises:
            ValueError: As `VmapAutoReset`, and if `num_envs` is not a positive
                int, or given twice or not at all.
        """
        super().__init__(env)
        num_envs = _transforms.batch_size("TileAutoReset", num_envs, num)
        self._batched = _transforms.Tile(env, num_envs, options_in_axes=options_in_axes, **step_vmap_kwargs)
        self.num_envs = num_envs
        self._setup(mode, strategy, num_resets, pool_size, options_in_axes, final_observation)

    @property
    def num(self) -> int:
        """The batch size (`num_envs`'s old name, kept readable for jit_env 0.1.5 code)."""
        return self.num_envs

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("num_envs", self.num_envs), *super()._repr_kwargs()]

    def _pool_key(self, key: jax.Array) -> jax.Array:
        return key
