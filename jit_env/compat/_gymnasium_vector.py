"""The Gymnasium vector bridge: a `gymnasium.vector.VectorEnv` over `num_envs` copies.

Each `step` is one jitted, vmapped call. It returns only what the user gets
(observations, rewards, terminations, truncations, extras), packed into a few
buffers (`_transport.OutputPacker`) that are viewed as the outputs on the host;
the state never leaves the device and its buffers are donated to the next step.
Auto-reset is `jit_env.wrappers.TileAutoReset`'s, inside that one compiled step.

`step_async`/`reset_async` dispatch that call and return at once (JAX
dispatch is asynchronous); `step_wait`/`reset_wait` fetch what it returned.
With ``array_backend="jax"`` the outputs stay JAX arrays on the device.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import error
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from gymnasium.vector import utils as vector_utils

from jit_env import _core, wrappers
from jit_env.compat import _checks, _gymnasium, _transport
from jit_env.wrappers import _common

ERR_SEED = (
    "`seed` must be None, an int (one key is split over all sub-environments) or a list of "
    "ints or None, one per sub-environment, got {!r}."
)
ERR_SEED_LENGTH = "`seed` as a list needs one entry per sub-environment ({}), got {} entries."
ERR_RESET_MASK = "`options['reset_mask']` must be a bool NumPy array of shape ({},) with a True, got {!r}."
ERR_RENDER_BEFORE_RESET = "ToGymnasiumVector.render() was called before reset(); call reset() first."
ERR_AUTORESET_MODE = (
    "`autoreset_mode` must be a gymnasium.vector.AutoresetMode, its value ('NextStep', "
    "'SameStep', 'Disabled') or jit_env's mode name ('next_step', 'same_step', 'disabled'), got {!r}."
)
ARRAY_BACKENDS = ("numpy", "jax")
ERR_ARRAY_BACKEND = (
    "`array_backend` must be 'numpy' (NumPy arrays out, the default) or 'jax' (JAX arrays "
    "out, on the device, no host copy), got {!r}."
)
# As Gymnasium's AsyncVectorEnv words them (gymnasium.error.AlreadyPendingCallError,
# NoAsyncCallError, and its warning on close).
ERR_ALREADY_PENDING = "Calling `{call}` while waiting for a pending call to `{pending}` to complete."
ERR_NO_ASYNC_CALL = "Calling `{call}_wait` without any prior call to `{call}_async`."
WARN_CLOSE_PENDING = (
    "Calling `close` while waiting for a pending call to `{pending}` to complete: its results "
    "are discarded (call {pending}_wait() first to keep them)."
)
ERR_NEEDS_RESET = (
    "ToGymnasiumVector.step() in DISABLED autoreset mode was called with sub-environments "
    "{} finished; call reset(options={{'reset_mask': mask}}) for them first."
)


class _Unpacks(Protocol):
    """What turns a jitted function's returned outputs into the outputs (`OutputPacker`, `_OnDevice`)."""

    def unpack(self, packed: Any) -> Any: ...


class _OnDevice:
    """``array_backend="jax"``: the jitted functions return their outputs unpacked, as JAX arrays."""

    def unpack(self, packed: Any) -> Any:
        return packed


def _jit_unpacked(fn: Any, *example_args: Any, donate_argnums: tuple[int, ...] = ()) -> tuple[Any, _Unpacks]:
    """`jax.jit` of `fn` as `_transport.jit_packed` returns it, outputs left as JAX arrays."""
    del example_args  # Traced on the first call.
    return jax.jit(fn, donate_argnums=donate_argnums), _OnDevice()


@dataclasses.dataclass(frozen=True)
class _Jitted:
    """`ToGymnasiumVector`'s jitted functions, built once with the bridge.

    Attributes:
        decode: The state codec's `RawKeys.decode`.
        reset, reset_masked, step: The jitted functions, outputs packed
            (`ResetOutput`, `ResetOutput`, `VectorStepOutput`).
        reset_out, masked_out, step_out: Their output packers.
        render: The jitted render of a raw-key state (traced on the first frame).
    """

    decode: Callable[[Any], Any]
    reset: Callable[..., Any]
    reset_out: _Unpacks
    reset_masked: Callable[..., Any]
    masked_out: _Unpacks
    step: Callable[..., Any]
    step_out: _Unpacks
    render: Callable[[Any], Any]


def _jit_functions(
    env: _core.Environment[Any, Any, Any],
    batched: _core.Environment[Any, Any, Any],
    num_envs: int,
    mode: AutoresetMode,
    options: Any,
    *,
    packed: bool = True,
) -> _Jitted:
    """The jitted functions; the state's structure is the one `options` give (any options give it).

    `packed`: outputs packed for the host (`_transport.jit_packed`), else
    returned as JAX arrays (``array_backend="jax"``).
    """
    final_key = wrappers.FINAL_OBSERVATION
    same_step = mode == AutoresetMode.SAME_STEP
    auto_reset = mode != AutoresetMode.DISABLED  # `batched` is then a TileAutoReset, else a Tile

    def without_final(extras: Any) -> Any:
        return {k: v for k, v in (extras or {}).items() if k != final_key}

    # The state's layout and each function's output layout are fixed here, from shapes.
    shape = jax.ShapeDtypeStruct
    seed_shape = shape((), np.uint32)
    state_shapes = jax.eval_shape(lambda: batched.reset(jax.random.key(0), options=options)[0])
    raw_keys = _transport.RawKeys(state_shapes)
    encode, decode = raw_keys.encode, raw_keys.decode

    def reset_any(seed: jax.Array, options: Any) -> Any:
        """A scalar seed: one key split over all; a `(num_envs,)` vector: a key each."""
        if seed.ndim == 0:
            return batched.reset(jax.random.key(seed), options=options)
        keys = jax.vmap(jax.random.key)(seed)
        if auto_reset:
            return batched.reset_each(keys, options=options)  # type: ignore[attr-defined]
        return jax.vmap(lambda k: env.reset(k, options=options))(keys)

    def reset(seed: jax.Array, options: Any) -> Any:
        state, ts = reset_any(seed, options)
        return encode(state), _transport.ResetOutput(ts.observation, without_final(ts.extras))

    def reset_masked(state: Any, seed: jax.Array, mask: jax.Array, options: Any) -> Any:
        # The new episodes' options may differ from the current ones: the
        # environment fixed the state's structure, so they only fill values.
        fresh, ts = reset_any(seed, options)
        out = _transport.ResetOutput(ts.observation, without_final(ts.extras))
        return encode(_common.select(mask, fresh, decode(state))), out

    def step(state: Any, action: Any) -> Any:
        state = decode(state)
        reset_extras = None
        if same_step:  # Gymnasium's info also needs the new episodes' reset extras.
            new_state, ts, reset_extras = wrappers.step_with_reset_extras(batched, state, action)
        else:
            new_state, ts = batched.step(state, action)
        extras = without_final(ts.extras)
        ended = ts.first() if same_step else ts.last()
        positive = ts.discount > 0
        terminated = ended & ~positive
        truncated = ended & positive
        if not same_step:
            return encode(new_state), _transport.VectorStepOutput(
                ts.observation, ts.reward, terminated, truncated, extras)
        # As SyncVectorEnv: where an episode ended, the info is the new episode's
        # reset info, and the ending step's goes under "final_info".
        info = _common.select(ended, without_final(reset_extras), extras)
        return encode(new_state), _transport.VectorStepOutput(
            ts.observation, ts.reward, terminated, truncated, info,
            final_observation=ts.extras[final_key], final_info=extras)

    # The state's buffers are donated: each call reuses the last state's memory.
    raw_state = jax.eval_shape(encode, state_shapes)
    action_shape = jax.eval_shape(batched.action_spec().generate_value)
    jit = _transport.jit_packed if packed else _jit_unpacked
    reset_fn, reset_out = jit(reset, seed_shape, options)
    reset_masked_fn, masked_out = jit(
        reset_masked, raw_state, seed_shape, shape((num_envs,), np.bool_), options, donate_argnums=(0,))
    step_fn, step_out = jit(step, raw_state, action_shape, donate_argnums=(0,))
    return _Jitted(
        decode=decode,
        reset=reset_fn,
        reset_out=reset_out,
        reset_masked=reset_masked_fn,
        masked_out=masked_out,
        step=step_fn,
        step_out=step_out,
        render=_transport.jit_render(batched, raw_keys),
    )


ERR_KEEPS_ADVICE = (
    "Pass the environment without it and wrap the vector environment with Gymnasium's own, "
    "e.g. gymnasium.wrappers.vector.NormalizeObservation(ToGymnasiumVector(env, num_envs)), "
    "which keeps its statistics across episodes and sub-environments."
)


class ToGymnasiumVector(gymnasium.vector.VectorEnv[Any, Any, Any]):
    """A `gymnasium.vector.VectorEnv` running `num_envs` copies of a jit_env environment.

    Autoreset modes (`metadata["autoreset_mode"]`), as Gymnasium defines them:

    * ``NEXT_STEP`` (default): the step after an episode ended resets that
      sub-environment (its action is ignored) and returns its first
      observation with reward 0 and terminated = truncated = False.
    * ``SAME_STEP``: the step that ends an episode returns the new episode's
      first observation; the terminal observation is in `info["final_obs"]`
      (an object array, None where no episode ended, `info["_final_obs"]` the
      mask) and the ending step's extras in `info["final_info"]`, while the
      top-level info of those sub-environments is the new episode's reset info.
    * ``DISABLED``: nothing resets by itself; call
      `reset(options={"reset_mask": mask})` for the finished sub-environments
      (the info then has entries, and True `_` masks, only for those).

    ``NEXT_STEP`` and ``SAME_STEP`` run jit_env's own
    `TileAutoReset(mode="next_step")` / `TileAutoReset(mode="same_step")`
    inside the one jitted step (same keys, same results, bit for bit);
    ``DISABLED`` runs `Tile`. The info is laid out as `SyncVectorEnv` lays it
    out for the same sub-environments (`ToGymnasium`).

    `reset(options=...)` other than None or `{}` (after taking out
    ``"reset_mask"``) replaces the construction options for that reset; a
    masked reset gives them to the masked sub-environments only, as
    `SyncVectorEnv` does. The environment fixes its state's structure when it
    is built (reset options fill values), so the jitted functions are built
    once, with the bridge. The bridge survives `copy.deepcopy` (the copy
    shares the jitted functions) and pickling (they are rebuilt) mid-episode,
    and the copy continues exactly as the original.

    Async stepping, as Gymnasium's `AsyncVectorEnv` offers it but without
    worker processes: `step_async(actions)` checks the actions and dispatches
    the jitted step, and returns at once (JAX dispatch is asynchronous, so
    XLA runs the step on its own threads while the caller works);
    `step_wait()` fetches the outputs and returns exactly what `step` would
    have (`step` is `step_async` then `step_wait`). The same holds for
    `reset_async`/`reset_wait`. One call may be pending at a time: another
    `_async` call (or `step`/`reset`) before its `_wait` raises
    `gymnasium.error.AlreadyPendingCallError`, a `_wait` without its
    `_async` raises `gymnasium.error.NoAsyncCallError`, and `close()` with a
    call pending discards it with a warning.

    ``array_backend="jax"``: the outputs (observations, rewards,
    terminations, truncations, the info's arrays) are JAX arrays left on the
    device, so `step_wait` does not wait for the step either, and
    Gymnasium's `JaxToNumpy`/`JaxToTorch` vector wrappers convert them. Rewards
    keep the reward spec's dtype (NumPy's bridge gives float64); the info's
    `_name` masks are NumPy where the host knows them (a step's, a reset
    mask) and JAX where the step decides them (``SAME_STEP``'s final
    entries). Actions may be JAX or NumPy arrays, and
    are checked as `action_space.contains` checks NumPy ones (a JAX action as
    its NumPy values): that check needs the values on the host before the
    step, so a JAX action is read there (a view on the CPU; on an
    accelerator a `(num_envs,)` copy that waits for the action's own
    computation, never for the environment's), and a JAX action the check
    keeps goes to the step as it is. In ``SAME_STEP`` mode the info always
    has `final_obs` (a batched JAX array of the terminal observations, in the
    rows where `_final_obs`, a JAX bool array, holds), `final_info` and
    `_final_info`, where `SyncVectorEnv` puts host object arrays only on
    steps where an episode ended: that would need a sync, and Gymnasium's
    converters refuse object arrays. ``DISABLED`` refuses to step finished
    sub-environments, so `step_async` reads the last step's ends (a sync).

    >>> import jit_env
    >>> envs = ToGymnasiumVector(jit_env.make("CartPole-v1"), 4, seed=0)
    >>> observations, infos = envs.reset()
    >>> envs.step_async(envs.action_space.sample())
    >>> observations, rewards, terminations, truncations, infos = envs.step_wait()
    >>> observations.shape, rewards.dtype
    ((4, 4), dtype('float64'))
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        num_envs: int,
        *,
        seed: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        options: _core.EnvOptions = None,
        render_mode: str | None = None,
        array_backend: str = "numpy",
    ):
        """Args:
        env: The (unbatched) jit_env environment.
        num_envs: The number of sub-environments.
        seed: Seeds the first `reset` that has no seed of its own, and the spaces.
        autoreset_mode: A `gymnasium.vector.AutoresetMode`, its value, or the
            auto-reset wrappers' mode names ``"next_step"``, ``"same_step"``
            (and ``"disabled"``): the wrappers and this bridge accept the same values.
        options: Default reset options, shared by all sub-environments.
        render_mode: None or ``"rgb_array"`` (a batch of frames).
        array_backend: ``"numpy"`` (NumPy arrays out) or ``"jax"`` (JAX
            arrays out, left on the device); see `ARRAY_BACKENDS`.

        Raises:
            TypeError: If `env` is not a jit_env Environment.
            ValueError: On a bad `num_envs`, autoreset mode, render mode or array
                backend, or more than one discount per step (`_checks.ERR_DISCOUNT_SHAPE`).
        """
        if not isinstance(env, _core.Environment):
            raise TypeError(_core.ERR_NOT_AN_ENV.format(env))
        _core.check_positive_int("num_envs", num_envs)
        if render_mode not in (None, "rgb_array"):
            raise ValueError(_gymnasium.ERR_RENDER_MODE.format(render_mode))
        if not isinstance(array_backend, str) or array_backend not in ARRAY_BACKENDS:
            raise ValueError(ERR_ARRAY_BACKEND.format(array_backend))
        mode = _autoreset_mode(autoreset_mode)
        _checks.check_bridgeable(
            env, "ToGymnasiumVector", "batches it and resets its sub-environments itself (autoreset_mode)",
            keeps=ERR_KEEPS_ADVICE)
        _checks.check_one_discount(env, "ToGymnasiumVector")
        self._env = env
        self.num_envs = num_envs
        self.render_mode = render_mode
        self.metadata = {"autoreset_mode": mode, "render_modes": _gymnasium.RENDER_MODES}
        # Gymnasium's own vector envs, and clients such as TorchRL, read the attribute.
        self.autoreset_mode = mode
        self._mode = mode
        self._seed = seed
        self._options = options
        self._array_backend = array_backend
        self._closed = False
        self._state: Any = None
        self._observation: Any = None
        self._finished: Any = np.zeros(num_envs, bool)
        self._pending: _Pending | None = None
        self._sub_rngs: list[np.random.Generator] | None = None  # After a list of seeds.

        self.single_observation_space = _gymnasium.spec_to_space(env.observation_spec())
        self.single_action_space = _gymnasium.spec_to_space(env.action_spec())
        self.observation_space = vector_utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = vector_utils.batch_space(self.single_action_space, num_envs)
        if seed is not None:
            for space in (self.single_observation_space, self.single_action_space,
                          self.observation_space, self.action_space):
                space.seed(seed)
        self._build()

    # Built from the environment, mode and spaces alone (immutable): shared by
    # copies, rebuilt after unpickling.
    _DERIVED = ("_obs_layout", "_check_action", "_batched", "_jitted")

    def _build(self) -> None:
        env, num_envs, mode = self._env, self.num_envs, self._mode
        self._obs_layout = _gymnasium.SpaceLayout(env.observation_spec(), self.single_observation_space)
        self._check_action = _gymnasium.SpaceCheck(env.action_spec(), self.action_space)

        # Auto-reset is jit_env's own (`TileAutoReset`), inside the one jitted step.
        batched: _core.Environment[Any, Any, Any]
        if mode == AutoresetMode.DISABLED:
            batched = wrappers.Tile(env, num_envs)
        else:
            batched = wrappers.TileAutoReset(env, num_envs, mode=mode)  # the wrappers take AutoresetMode
        self._batched = batched
        # One set of jitted functions: the environment fixes its state's structure.
        self._jitted = _jit_functions(
            env, batched, num_envs, mode, self._options, packed=self._array_backend == "numpy")

    def __deepcopy__(self, memo: dict[int, Any]) -> ToGymnasiumVector:
        """A copy that continues exactly as this bridge would (state, RNGs), sharing its jitted functions."""
        copied: ToGymnasiumVector = _transport.copy_sharing(self, self._DERIVED, memo)
        return copied

    def __getstate__(self) -> dict[str, Any]:
        return _transport.state_without(self, self._DERIVED)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build()

    def __repr__(self) -> str:
        backend = "" if self._array_backend == "numpy" else f", array_backend={self._array_backend!r}"
        return f"ToGymnasiumVector({self._env!r}, num_envs={self.num_envs}, autoreset_mode={self._mode}{backend})"

    @property
    def env(self) -> _core.Environment[Any, Any, Any]:
        """The wrapped (unbatched) jit_env environment."""
        return self._env

    @property
    def state(self) -> Any:
        """The batched environment state (on the device), None before `reset`.

        Its buffers are donated to the next `step` or masked `reset`; copy
        what you need to keep.
        """
        return None if self._state is None else self._jitted.decode(self._state)

    def _check_open(self, call: str) -> None:
        if self._closed:
            raise RuntimeError(_checks.ERR_CLOSED.format(bridge="ToGymnasiumVector", call=call))

    def _episode_seed(self, seed: Any, mask: np.ndarray | None) -> np.uint32 | np.ndarray:
        """The episode's seed: a uint32 scalar, or `(num_envs,)` one per sub-environment.

        A list of seeds starts sub-environment i as `ToGymnasium(env).reset(seed=seed[i])`
        does, and keeps its generator: later resets without a seed draw each
        sub-environment's next seed from it (those in `mask` only, for a masked
        reset), as `SyncVectorEnv` over `ToGymnasium` sub-environments does. An
        int seed goes back to one generator, `np_random`, for all.
        """
        if isinstance(seed, (list, tuple)):
            if not all(s is None or (_is_int(s)) for s in seed):
                raise TypeError(ERR_SEED.format(seed))
            if len(seed) != self.num_envs:
                raise ValueError(ERR_SEED_LENGTH.format(self.num_envs, len(seed)))
            self._seed = None
            # Each as `ToGymnasium.reset(seed=s)` draws its episode's key from `np_random`.
            self._sub_rngs = [seeding.np_random(None if s is None else int(s))[0] for s in seed]
            return np.array([_draw_seed(rng) for rng in self._sub_rngs], np.uint32)
        if seed is not None and not _is_int(seed):
            raise TypeError(ERR_SEED.format(seed))
        if seed is None and self._seed is None and self._sub_rngs is not None:
            return np.array([_draw_seed(rng) if mask is None or mask[i] else 0
                             for i, rng in enumerate(self._sub_rngs)], np.uint32)
        if seed is None and self._seed is not None:
            seed = self._seed
        self._seed = None
        self._sub_rngs = None
        super().reset(seed=None if seed is None else int(seed))
        return _draw_seed(self.np_random)

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Resets all sub-environments, or those in `options["reset_mask"]`: `reset_async` then `reset_wait`.

        Args:
            seed: None; an int, which seeds `np_random` and one key split over all
                sub-environments; or a list of `num_envs` ints (or None), where
                sub-environment i starts as `ToGymnasium(env).reset(seed=seed[i])` does.
            options: Reset options for the environment, and ``"reset_mask"``, a
                bool array `(num_envs,)` of the sub-environments to reset.

        Returns:
            The batched observations and the info dict.

        Raises:
            TypeError: If `seed` is not None, an int or a list of ints and None.
            ValueError: On a malformed reset mask or a seed list of the wrong length.
            RuntimeError: After `close()`.
            gymnasium.error.AlreadyPendingCallError: While a `step_async` or
                `reset_async` call waits for its `_wait`.
        """
        self._check_open("reset")
        self.reset_async(seed=seed, options=options)
        return self.reset_wait()

    def reset_async(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> None:
        """Checks the arguments and dispatches the jitted reset; returns at once.

        Takes `reset`'s arguments; `reset_wait` returns what `reset` would have.

        Raises:
            gymnasium.error.AlreadyPendingCallError: While another call waits for its `_wait`.
            TypeError, ValueError, RuntimeError: As `reset`.
        """
        self._check_open("reset_async")
        self._check_not_pending("reset_async")
        mask = None
        if isinstance(options, dict):
            options = dict(options)
            mask = options.pop("reset_mask", None)
        env_options = self._options if _gymnasium.is_default_options(options) else options
        masked = mask is not None and self._state is not None
        if masked and not (isinstance(mask, np.ndarray) and mask.dtype == np.bool_
                           and mask.shape == (self.num_envs,) and mask.any()):
            raise ValueError(ERR_RESET_MASK.format(self.num_envs, mask))
        episode_seed = self._episode_seed(seed, mask if masked else None)
        jitted = self._jitted
        if masked:
            self._state, out = jitted.reset_masked(self._state, episode_seed, mask, env_options)
            self._pending = _Pending("reset", out, mask)
        else:
            self._state, out = jitted.reset(episode_seed, env_options)
            self._pending = _Pending("reset", out, None)

    def reset_wait(self) -> tuple[Any, dict[str, Any]]:
        """The observations and info of the reset that `reset_async` dispatched (as `reset` returns them).

        Raises:
            gymnasium.error.NoAsyncCallError: Without a pending `reset_async`.
            RuntimeError: After `close()`.
        """
        self._check_open("reset_wait")
        pending = self._take_pending("reset")
        mask = pending.mask
        if mask is not None:
            out = self._jitted.masked_out.unpack(pending.outputs)
            self._finished = np.asarray(self._finished) & ~mask
            # Sub-environments outside the mask keep their current observation,
            # and only those in it have info entries (as SyncVectorEnv).
            xp = self._xp
            observation = jax.tree_util.tree_map(
                lambda new, old: xp.where(mask.reshape(mask.shape + (1,) * (new.ndim - 1)), new, old),
                out.observation, self._observation)
            info = _vector_info(out.extras, self.num_envs, mask, xp)
        else:
            out = self._jitted.reset_out.unpack(pending.outputs)
            self._finished = np.zeros(self.num_envs, bool)
            observation = out.observation
            info = _vector_info(out.extras, self.num_envs)
        self._observation = observation
        return self._to_space(observation), info

    def step(self, actions: Any) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """Steps all sub-environments with one jitted, vmapped call: `step_async` then `step_wait`.

        Args:
            actions: A batch of actions in `action_space` (NumPy, or JAX arrays).

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``: NumPy
            arrays (rewards float64, as Gymnasium's vector envs give them), or
            with ``array_backend="jax"`` JAX arrays (rewards in the reward
            spec's dtype) and infos of JAX arrays.

        Raises:
            ValueError: If the actions do not match the batched action space.
            RuntimeError: Before `reset()`, after `close()`, or (DISABLED mode)
                with finished sub-environments not reset.
            gymnasium.error.AlreadyPendingCallError: While a `step_async` or
                `reset_async` call waits for its `_wait`.
        """
        self._check_open("step")
        self.step_async(actions)
        return self.step_wait()

    def step_async(self, actions: Any) -> None:
        """Checks the actions and dispatches the jitted step; returns without waiting for it.

        JAX dispatches asynchronously, so the step runs while the caller works;
        `step_wait` then returns exactly what `step` would have. Nothing is
        fetched to the host here, except JAX actions' values for the check
        (see the class docstring).

        Raises:
            gymnasium.error.AlreadyPendingCallError: While another call waits for its `_wait`.
            ValueError, RuntimeError: As `step`.
        """
        self._check_open("step_async")
        self._check_not_pending("step_async")
        if self._state is None:
            raise RuntimeError(_checks.ERR_NOT_RESET.format(bridge="ToGymnasiumVector"))
        if self._mode == AutoresetMode.DISABLED:
            finished = np.asarray(self._finished)  # With JAX arrays out: waits for the last step.
            if finished.any():
                raise RuntimeError(ERR_NEEDS_RESET.format(np.flatnonzero(finished).tolist()))
        self._state, out = self._jitted.step(self._state, self._device_action(actions))
        self._pending = _Pending("step", out, None)

    def step_wait(self) -> tuple[Any, Any, Any, Any, dict[str, Any]]:
        """What `step` returns, for the step that `step_async` dispatched.

        Raises:
            gymnasium.error.NoAsyncCallError: Without a pending `step_async`.
            RuntimeError: After `close()`.
        """
        self._check_open("step_wait")
        out = self._jitted.step_out.unpack(self._take_pending("step").outputs)
        observation, reward, terminated, truncated = out.observation, out.reward, out.terminated, out.truncated
        self._observation = observation
        info = _vector_info(out.info, self.num_envs)
        if self._mode == AutoresetMode.SAME_STEP and self._array_backend == "jax":
            # Batched JAX arrays where SyncVectorEnv has host object arrays: no
            # sync, and Gymnasium's JaxToNumpy/JaxToTorch convert them.
            ended = terminated | truncated
            info.update({"final_obs": self._to_space(out.final_observation), "_final_obs": ended,
                         "final_info": _vector_info(out.final_info, self.num_envs, ended, jnp),
                         "_final_info": ended})
        elif self._mode == AutoresetMode.SAME_STEP:
            ended = terminated | truncated
            if ended.any():
                info.update(self._final_info(ended, out.final_observation, out.final_info))
        else:
            self._finished = terminated | truncated
        if self._array_backend == "numpy":
            # Rewards as Gymnasium's own vector envs give them: float64 (lossless from float32).
            reward = reward.astype(np.float64)
        return self._to_space(observation), reward, terminated, truncated, info

    def _check_not_pending(self, call: str) -> None:
        if self._pending is not None:
            raise error.AlreadyPendingCallError(
                ERR_ALREADY_PENDING.format(call=call, pending=self._pending.call), self._pending.call)

    def _take_pending(self, call: str) -> _Pending:
        pending = self._pending
        if pending is None or pending.call != call:
            raise error.NoAsyncCallError(ERR_NO_ASYNC_CALL.format(call=call), call)
        self._pending = None
        return pending

    def _device_action(self, actions: Any) -> Any:
        """The checked actions for the jitted step: a JAX array passes as it is when the check keeps it."""
        if not _has_jax_leaf(actions):
            return self._check_action(actions)
        # `contains` needs the values: a JAX action's are read on the host (a
        # view on the CPU; waits for the action's own computation, not the step's).
        checked = self._check_action(jax.tree_util.tree_map(np.asarray, actions))
        if isinstance(actions, jax.Array) and isinstance(checked, np.ndarray) and actions.dtype == checked.dtype:
            return actions
        return checked

    def _to_space(self, observation: Any) -> Any:
        if self._array_backend == "numpy":
            return self._obs_layout.to_space(observation, batched=True)
        layout = self._obs_layout
        if layout.identity:
            return observation
        leaves = layout.spec_treedef.flatten_up_to(observation)
        # Cast as NumPy would, to the dtypes JAX has (int64 is int32 without x64).
        cast = [x if c is None else x.astype(jax.dtypes.canonicalize_dtype(c))
                for x, c in zip(leaves, layout.casts, strict=True)]
        return layout.space_treedef.unflatten(cast)

    @property
    def _xp(self) -> Any:
        return np if self._array_backend == "numpy" else jnp

    def _final_info(self, ended: np.ndarray, final: Any, extras: Any) -> dict[str, Any]:
        """Gymnasium's SAME_STEP entries: per-env terminal observations and infos."""
        final_obs = np.full(self.num_envs, None, dtype=object)
        final_space = self._obs_layout.to_space(final, batched=True)
        for i in np.flatnonzero(ended):
            final_obs[i] = _index(final_space, int(i))
        final_info = _vector_info(extras, self.num_envs, ended)
        return {"final_obs": final_obs, "_final_obs": ended.copy(),
                "final_info": final_info, "_final_info": ended.copy()}

    def render(self) -> Any:
        """A batch of RGB frames (uint8) in ``"rgb_array"`` mode.

        Raises:
            RuntimeError: Without render_mode='rgb_array', or before `reset()`.
        """
        if self.render_mode != "rgb_array":
            raise RuntimeError(_gymnasium.ERR_NO_RENDER_MODE.format("ToGymnasiumVector"))
        if self._state is None:
            raise RuntimeError(ERR_RENDER_BEFORE_RESET)
        frames = self._jitted.render(self._state)
        return np.asarray(jax.device_get(frames)).astype(np.uint8, copy=False)

    def close_extras(self, **kwargs: Any) -> None:
        """Closes the wrapped environment; later calls raise.

        A pending `step_async`/`reset_async` is discarded with a warning, as
        Gymnasium's `AsyncVectorEnv` warns: its results are never fetched
        (the device finishes the dispatched call and frees its buffers).
        """
        if self._pending is not None:
            warnings.warn(WARN_CLOSE_PENDING.format(pending=self._pending.call), UserWarning, stacklevel=3)
            self._pending = None
        self._closed = True
        self._state = None
        self._env.close()


@dataclasses.dataclass(frozen=True)
class _Pending:
    """A dispatched call waiting for its `_wait`.

    Attributes:
        call: ``"step"`` or ``"reset"``.
        outputs: What the jitted function returned (besides the state), not yet fetched.
        mask: A masked reset's `(num_envs,)` bool mask, else None.
    """

    call: str
    outputs: Any
    mask: np.ndarray | None


def _has_jax_leaf(tree: Any) -> bool:
    return any(isinstance(x, jax.Array) for x in jax.tree_util.tree_leaves(tree))


def _autoreset_mode(value: Any) -> AutoresetMode:
    """Gymnasium's `AutoresetMode` for a member, its value, or a jit_env mode name."""
    if getattr(value, "value", value) in ("disabled", AutoresetMode.DISABLED.value):
        return AutoresetMode.DISABLED
    try:
        core_mode = wrappers.auto_reset_mode(value)
    except ValueError:
        raise ValueError(ERR_AUTORESET_MODE.format(value)) from None
    return AutoresetMode.SAME_STEP if core_mode == wrappers.SAME_STEP else AutoresetMode.NEXT_STEP


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _draw_seed(rng: np.random.Generator) -> np.uint32:
    return np.uint32(rng.integers(_gymnasium._SEED_BOUND, dtype=np.uint64))


def _index(tree: Any, i: int) -> Any:
    return jax.tree_util.tree_map(lambda x: x[i], tree)


def _vector_info(extras: Any, num_envs: int, mask: np.ndarray | None = None, xp: Any = np) -> dict[str, Any]:
    """Extras as `SyncVectorEnv` builds a vector info: each entry with its `_name` mask.

    With `mask`, only those sub-environments have the entries: the others'
    values are zeros and their `_name` masks False, as `SyncVectorEnv._add_info`
    leaves them. `xp`: NumPy, or `jax.numpy` for JAX values. The `_name`
    masks are NumPy in both (the host knows them).
    """
    info: dict[str, Any] = {}
    for name, value in (extras or {}).items():
        if isinstance(value, dict):
            info[name] = _vector_info(value, num_envs, mask, xp)
        elif mask is None:
            info[name] = value
        else:
            where = mask.reshape(mask.shape + (1,) * (value.ndim - 1))
            info[name] = xp.where(where, value, xp.zeros_like(value))
        info[f"_{name}"] = np.ones(num_envs, bool) if mask is None else mask.copy()
    return info
