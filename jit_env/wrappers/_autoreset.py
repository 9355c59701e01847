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
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, _struct, specs
from jit_env.wrappers import _common, _transforms
from jit_env.wrappers._common import FINAL_OBSERVATION

SAME_STEP = "same_step"
NEXT_STEP = "next_step"
MODES = (SAME_STEP, NEXT_STEP)

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

_SALT_POOL = 0x706F6F6C  # Salt for the key the precomputed pool is built from.
# Finished rows are restarted in chunks of N // _CHUNK_DIVISOR. Measured with
# benchmarks/throughput.py on CartPole: at N = 64 and 1024, chunks of N // 16
# beat N // 4, N // 64 and restarting every row and selecting (by 1.2x to 4x).
_CHUNK_DIVISOR = 16


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


def _with_final(timestep: _core.TimeStep[Any], final: Any, keep: bool) -> _core.TimeStep[Any]:
    """`timestep` with ``extras["final_observation"] = final``, or unchanged if not `keep`."""
    return _common.with_extras(timestep, **{FINAL_OBSERVATION: final}) if keep else timestep


def _same_step_timestep(
    done: jax.Array, stepped: _core.TimeStep[Any], restarted: _core.TimeStep[Any], keep_final: bool
) -> _core.TimeStep[Any]:
    """The ending step's reward, discount and extras; the new episode's observation."""
    timestep = _core.TimeStep(
        step_type=jnp.where(done, jnp.asarray(_core.StepType.FIRST, jnp.int8), stepped.step_type),
        reward=stepped.reward,
        discount=stepped.discount,
        observation=_common.select(done, restarted.observation, stepped.observation),
        extras=stepped.extras,
    )
    return _with_final(timestep, stepped.observation, keep_final)


class AutoReset(_core.Wrapper[Any, Any, Any]):
    """Resets a single environment when its episode ends.

    `jax.vmap(AutoReset(env).step)` computes the reset of every sub-environment
    on every step and selects (a `lax.cond` under `vmap` becomes a select); it is
    equivalent to `VmapAutoReset(env, strategy="complete")`, which is the
    clearer way to write it.

    In ``"same_step"`` mode the state is the inner state unchanged; in
    ``"next_step"`` mode it is an `AutoResetState`.

    `Tile(AutoReset(env), n)` is the slow way to batch it: every step computes
    every sub-environment's reset. `TileAutoReset(env, n)` gives the same
    results (with ``strategy="complete"``) and resets only where episodes ended.
    """

    episodes = _core.AUTO_RESET

    def __init__(
        self, env: _core.Environment[Any, Any, Any], *, mode: str = SAME_STEP, final_observation: bool = True
    ):
        """Args:
        env: The environment (unbatched).
        mode: ``"same_step"`` or ``"next_step"``.
        final_observation: Whether the extras carry ``"final_observation"``.

        Raises:
            ValueError: If `mode` is unknown.
            TypeError: If `final_observation` is not a bool.
        """
        super().__init__(env)
        self.mode = _common.check_choice("mode", mode, MODES)
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

    def _restart(self, state: Any) -> Any:
        return self._env.reset(_core.state_key(state), options=_core.state_options(state))

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        if self.mode == SAME_STEP:
            return self._step_same(state, action)
        return self._step_next(state, action)

    def _step_same(self, state: Any, action: Any) -> Any:
        state, timestep = self._env.step(state, action)
        done = timestep.last()
        if jnp.shape(done) != ():
            raise ValueError(ERR_BATCHED_STEP_TYPE.format(jnp.shape(done)))

        def restart(state: Any, timestep: Any) -> Any:
            new_state, first = self._restart(state)
            return new_state, _same_step_timestep(done, timestep, first, self.final_observation)

        def keep(state: Any, timestep: Any) -> Any:
            return state, _with_final(timestep, timestep.observation, self.final_observation)

        return jax.lax.cond(done, restart, keep, state, timestep)

    def _step_next(self, state: AutoResetState, action: Any) -> Any:
        if jnp.shape(state.needs_reset) != ():
            raise ValueError(ERR_BATCHED_STEP_TYPE.format(jnp.shape(state.needs_reset)))

        def restart(inner: Any) -> Any:
            return self._restart(inner)

        def advance(inner: Any) -> Any:
            return self._env.step(inner, action)

        inner, timestep = jax.lax.cond(state.needs_reset, restart, advance, state.inner)
        return (
            AutoResetState(inner=inner, needs_reset=timestep.last()),
            _with_final(timestep, timestep.observation, self.final_observation),
        )


def auto_resets(env: _core.Environment[Any, Any, Any]) -> bool:
    """True if `env`, or any wrapper beneath it, starts new episodes by itself.

    The stateful bridges refuse such environments: dm_env and Gymnasium start
    episodes with `reset`, so an auto-resetting step would hide an episode's end.

    >>> from jit_env import envs
    >>> auto_resets(AutoReset(envs.CartPole())), auto_resets(envs.CartPole())
    (True, False)
    """
    return any(getattr(layer, "episodes", None) == _core.AUTO_RESET for layer in _core.layers(env))


def _gather(tree: Any, index: jax.Array) -> Any:
    return jax.tree_util.tree_map(lambda x: x[index], tree)


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


def step_with_reset_extras(env: _BatchedAutoReset, state: Any, action: Any) -> Any:
    """`env.step(state, action)` and, in same-step mode, the new episodes' own extras.

    The same-step `TimeStep` keeps the ending step's extras (docs/semantics.md);
    Gymnasium's ``SAME_STEP`` info needs those of the new episode's FIRST time
    step as well, so `ToGymnasiumVector` steps through this function.

    Returns:
        `(state, timestep, reset_extras)`: what `env.step` returns, and in
        same-step mode the extras of each row's new FIRST time step (meaningful
        only where an episode ended, i.e. `timestep.first()`), else None.
    """
    return env._step_with_reset_extras(state, action)


def reset_batch(env: _core.Environment[Any, Any, Any], keys: jax.Array, options: Any) -> Any:
    """New episodes for a batch of keys, each with its own options (or all with None).

    Args:
        env: The unbatched environment.
        keys: `(M,)` PRNG keys.
        options: None, or options with a leading axis `M`.
    """
    in_axes = None if options is None else 0
    return jax.vmap(lambda k, o: env.reset(k, options=o), in_axes=(0, in_axes))(keys, options)


class _BatchedAutoReset(_core.Wrapper[Any, Any, Any]):
    """Shared logic of `VmapAutoReset` and `TileAutoReset` (abstract)."""

    episodes = _core.AUTO_RESET

    _batched: _transforms.Vmap | _transforms.Tile

    def _setup(
        self,
        mode: str,
        strategy: str,
        num_resets: int | None,
        pool_size: int | None,
        options_in_axes: Any,
        final_observation: bool,
    ) -> None:
        self.mode = _common.check_choice("mode", mode, MODES)
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
        wraps_state = mode == NEXT_STEP or strategy == PRECOMPUTED
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

    def _fresh(self, keys: jax.Array, options: Any, wrapper: Any) -> Any:
        """New episodes (state, FIRST timestep) for finished sub-environments with these keys."""
        if self.strategy != PRECOMPUTED:
            return reset_batch(self._env, keys, options)
        # Each new episode advances the sub-environment's key chain: one half of
        # the split is the episode's key, the other half's random bits pick a
        # pooled start (one threefry pass; the modulo bias is below size / 2**32).
        # The row keeps its own reset options.
        size = jnp.shape(wrapper.pool_timestep.step_type)[0]
        split = jax.vmap(jax.random.split)(keys)
        bits = jax.random.key_data(split[:, 0]).reshape(split.shape[0], -1)[:, 0]
        index = (bits % jnp.uint32(size)).astype(jnp.int32)
        state = _core.replace_key(_gather(wrapper.pool_state, index), split[:, 1])
        if options is not None:
            state = _core.replace_options(state, options)
        return state, _gather(wrapper.pool_timestep, index)

    def _chunk(self, num: int) -> int:
        """How many finished rows one compiled restart handles (`num`: every row, then select)."""
        default = max(1, num // _CHUNK_DIVISOR)
        return min(self.num_resets or default, num) if self.strategy == OPTIMISTIC else default

    def _restart_rows(
        self, done: jax.Array, source: Any, base_state: Any, base_timestep: Any, wrapper: Any
    ) -> Any:
        """`base_state`/`base_timestep` with the `done` rows replaced by new episodes.

        The new episodes use the keys and options of `source` (the finished states).
        One restart of `chunk` rows is compiled: the finished rows are restarted
        `chunk` at a time, looping until none is left (one pass on most steps),
        which gives exactly what restarting every row and selecting would (a
        batch of one does just that). The optimistic strategy makes one pass and
        starts the rest from copies.
        """
        keys = _core.state_key(source)
        options = _core.state_options(source)
        num = done.shape[0]
        chunk = self._chunk(num)
        base = (base_state, base_timestep)
        if chunk == num:
            return _common.select(done, self._fresh(keys, options, wrapper), base)

        def restart_chunk(remaining: jax.Array, out: Any) -> Any:
            (rows,) = jnp.nonzero(remaining, size=chunk, fill_value=num)  # `num` rows are dropped
            out = reset_rows(lambda k, o: self._fresh(k, o, wrapper), rows, source, out)
            return remaining.at[rows].set(False, mode="drop"), out

        if self.strategy != OPTIMISTIC:
            # A static number of passes (a scan, so `grad` goes through), each
            # skipped once no finished row is left.
            def one_pass(_: Any, carry: Any) -> Any:
                return jax.lax.cond(jnp.any(carry[0]), restart_chunk, lambda r, o: (r, o), *carry)

            _, out = jax.lax.fori_loop(0, -(-num // chunk), one_pass, (done, base))
            return out
        state, timestep = restart_chunk(done, base)[1]

        def copy_overflow(state: Any, timestep: Any) -> Any:
            # Past `chunk`, finished rows start from a copy of one of the `chunk`
            # new episodes but continue their own key chains.
            (rows,) = jnp.nonzero(done, size=chunk, fill_value=0)
            rank = jnp.cumsum(done, dtype=jnp.int32) - 1
            copied = done & (rank >= chunk)
            source_rows = jnp.where(copied, rows[rank % chunk], jnp.arange(num))
            state, timestep = _gather((state, timestep), source_rows)
            # Only the initial environment state is copied: every row keeps its own
            # key chain and its own reset options.
            state = _core.replace_key(state, _common.select(copied, keys, _core.state_key(state)))
            if options is not None:
                state = _core.replace_options(state, options)
            return state, timestep

        count = jnp.sum(done, dtype=jnp.int32)
        return jax.lax.cond(count > chunk, copy_overflow, lambda s, t: (s, t), state, timestep)

    def step(self, state: Any, action: Any) -> Any:
        state, timestep, _ = self._step_with_reset_extras(state, action)
        return state, timestep

    def _step_with_reset_extras(self, state: Any, action: Any) -> Any:
        """`step`, plus (same-step mode) the extras of the new episodes' FIRST time steps."""
        if self.state_type is None:
            return self._step_same(state, action, None)
        if self.mode == SAME_STEP:
            inner, timestep, reset_extras = self._step_same(state.inner, action, state)
            return _replace_inner(state, inner, timestep.last()), timestep, reset_extras
        return (*self._step_next(state, action), None)

    def _step_same(self, inner: Any, action: Any, wrapper: Any) -> Any:
        inner, stepped = self._batched.step(inner, action)
        done = stepped.last()

        def with_resets() -> Any:
            new_inner, first = self._restart_rows(done, inner, inner, stepped, wrapper)
            timestep = _same_step_timestep(done, stepped, first, self.final_observation)
            return new_inner, timestep, first.extras

        def without() -> Any:
            return inner, _with_final(stepped, stepped.observation, self.final_observation), stepped.extras

        # Steps on which no episode ended (common with synchronised time limits)
        # pay for no reset at all.
        return jax.lax.cond(jnp.any(done), with_resets, without)

    def _step_next(self, state: BatchedAutoResetState, action: Any) -> Any:
        needs = state.needs_reset
        inner, stepped = self._batched.step(state.inner, action)
        inner, timestep = jax.lax.cond(
            jnp.any(needs),
            lambda: self._restart_rows(needs, state.inner, inner, stepped, state),
            lambda: (inner, stepped),
        )
        return (
            _replace_inner(state, inner, timestep.last()),
            _with_final(timestep, timestep.observation, self.final_observation),
        )


def _replace_inner(state: BatchedAutoResetState, inner: Any, last: jax.Array) -> BatchedAutoResetState:
    return BatchedAutoResetState(
        inner=inner, needs_reset=last, pool_state=state.pool_state, pool_timestep=state.pool_timestep
    )


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

    `jax.vmap(AutoReset(env).step)` is the same as ``strategy="complete"``.
    """

    unsized_batch = True

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        mode: str = SAME_STEP,
        strategy: str = COMPLETE,
        num_resets: int | None = None,
        pool_size: int | None = None,
        options_in_axes: Any = None,
        final_observation: bool = True,
        **step_vmap_kwargs: Any,
    ):
        """Args:
        env: The (unbatched) environment.
        mode: ``"same_step"`` or ``"next_step"``.
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
    """`Tile` with auto-reset: a fixed batch of `num`; see `VmapAutoReset`."""

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        num: int,
        *,
        mode: str = SAME_STEP,
        strategy: str = COMPLETE,
        num_resets: int | None = None,
        pool_size: int | None = None,
        options_in_axes: Any = None,
        final_observation: bool = True,
        **step_vmap_kwargs: Any,
    ):
        """Args: as `VmapAutoReset`, plus `num`, the batch size."""
        super().__init__(env)
        self._batched = _transforms.Tile(env, num, options_in_axes=options_in_axes, **step_vmap_kwargs)
        self.num = num
        self._setup(mode, strategy, num_resets, pool_size, options_in_axes, final_observation)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("num", self.num), *super()._repr_kwargs()]

    def _pool_key(self, key: jax.Array) -> jax.Array:
        return key
