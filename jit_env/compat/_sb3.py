"""The Stable-Baselines3 bridge: a jit_env environment as an SB3 `VecEnv`, one jitted call a step.

SB3 does not take `gymnasium.vector.VectorEnv` objects; it needs its own
`VecEnv`. `ToSB3VecEnv` steps every sub-environment in one jitted call (it runs
`ToGymnasiumVector` in ``SAME_STEP`` mode, i.e. jit_env's `TileAutoReset`) and
speaks SB3's conventions exactly as `DummyVecEnv` does over `ToGymnasium`
sub-environments:

* `step_wait` returns ``(obs, rewards, dones, infos)``: float32 rewards, bool
  ``dones = terminated | truncated``, and one info dict per sub-environment. A
  sub-environment whose episode ended has already started the next one: its
  observation is the new first observation, ``infos[i]["terminal_observation"]``
  the last one, ``infos[i]["TimeLimit.truncated"]`` is ``truncated and not
  terminated``, and ``reset_infos[i]`` the new episode's reset info.
* `seed(s)` makes the next `reset` start sub-environment i as
  ``ToGymnasium(env).reset(seed=s + i)`` does; `set_options` gives the next
  `reset` its options.
* `get_attr`, `env_method` and `env_is_wrapped` answer for the jit_env
  environment every sub-environment runs; `render` and `get_images` draw the
  batch.

So SB3's `VecMonitor`, `VecNormalize`, `VecFrameStack` and `VecVideoRecorder`
stack on it.

`step_async` dispatches the jitted step and returns at once
(`ToGymnasiumVector.step_async`), so the step runs while SB3 does its own
work until `step_wait` (which `VecEnv.step` calls right after; a caller that
works in between gains the overlap). SB3's contract for the pair holds:
`step_async` must not be called while a step is pending (SB3: "You should not
call this"; here it raises `gymnasium.error.AlreadyPendingCallError`, since
the first step has already been dispatched and cannot be taken back, where
`DummyVecEnv` would silently replace the stored actions), `step_wait`
without `step_async` raises `gymnasium.error.NoAsyncCallError`, `reset`
cancels a pending step (its results are discarded, as SB3's `reset`
documents), and `close` waits for it, as `SubprocVecEnv.close` does. The
bridge survives `copy.deepcopy` and pickling mid-episode (the copy continues
as the original would).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode
from stable_baselines3.common import vec_env

from jit_env import _core
from jit_env.compat import _gymnasium_vector

ERR_SET_ATTR = (
    "ToSB3VecEnv cannot set {name!r}: its sub-environments are one jit_env environment whose "
    "configuration is compiled into the jitted step. Build a new ToSB3VecEnv from an "
    "environment configured as you need."
)
ERR_OPTIONS = (
    "ToSB3VecEnv resets every sub-environment in one call, so their reset options must be "
    "equal; got {options!r}. Pass the same options for all (set_options(options))."
)
ERR_METHOD = (
    "{name!r} is not a method of {env!r} or of any environment it wraps: env_method calls the "
    "jit_env environment's methods.")
ERR_ATTR = (
    "{name!r} is not an attribute of {env!r} or of any environment it wraps: get_attr reads "
    "the jit_env environment's attributes.")


_MISSING = object()


class ToSB3VecEnv(vec_env.VecEnv):
    """`num_envs` copies of a jit_env environment as a Stable-Baselines3 `VecEnv`."""

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        num_envs: int,
        *,
        seed: int | None = None,
        render_mode: str | None = None,
    ):
        """Args:
        env: The (unbatched) jit_env environment; it must not reset by itself.
        num_envs: The number of sub-environments.
        seed: Seeds the first `reset` as `seed(seed)` would (sub-environment i
            with ``seed + i``); None draws fresh entropy.
        render_mode: None or ``"rgb_array"``.

        Raises:
            TypeError: If `env` is not a jit_env environment.
            ValueError: On a bad `num_envs` or render mode, or an environment
                that is batched or auto-resets.
        """
        self._vector = _gymnasium_vector.ToGymnasiumVector(
            env, num_envs, autoreset_mode=AutoresetMode.SAME_STEP, render_mode=render_mode)
        self._env = env
        # SB3's VecEnv.__init__ asks get_attr("render_mode").
        self._render_mode = render_mode
        super().__init__(num_envs, self._vector.single_observation_space,
                         self._vector.single_action_space)
        # As SubprocVecEnv's: a step_async waits for its step_wait.
        self.waiting = False
        if seed is not None:
            self.seed(seed)

    def __repr__(self) -> str:
        return f"ToSB3VecEnv({self._env!r}, num_envs={self.num_envs})"

    @property
    def env(self) -> _core.Environment[Any, Any, Any]:
        """The wrapped (unbatched) jit_env environment."""
        return self._env

    def reset(self) -> Any:
        """Resets every sub-environment (with the seeds and options set for this reset).

        A pending `step_async` is cancelled: its results are discarded.
        """
        options = self._shared_options()
        if self.waiting:
            self._vector.step_wait()
            self.waiting = False
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        observation, info = self._vector.reset(seed=seeds, options=options)
        self.reset_infos = [_row(info, i) for i in range(self.num_envs)]
        self._reset_seeds()
        self._reset_options()
        return observation

    def _shared_options(self) -> dict[str, Any] | None:
        first = self._options[0]
        if any(options != first for options in self._options[1:]):
            raise ValueError(ERR_OPTIONS.format(options=self._options))
        return first or None

    def step_async(self, actions: np.ndarray) -> None:
        """Checks the actions and dispatches the one jitted step of every sub-environment; returns at once.

        Raises:
            ValueError: If the actions are not in the batched action space.
            gymnasium.error.AlreadyPendingCallError: While a step is pending.
        """
        self._vector.step_async(actions)
        self.waiting = True

    def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        """The step `step_async` dispatched, in SB3's conventions; see the module docstring.

        Raises:
            gymnasium.error.NoAsyncCallError: Without a pending `step_async`.
        """
        observation, reward, terminated, truncated, info = self._vector.step_wait()
        self.waiting = False
        dones = terminated | truncated
        infos = [_row(info, i) for i in range(self.num_envs)]
        if dones.any():
            final_info = info["final_info"]
            for ended in np.flatnonzero(dones).tolist():
                self.reset_infos[ended] = infos[ended]
                infos[ended] = _row(final_info, ended)
                infos[ended]["terminal_observation"] = info["final_obs"][ended]
        for i, row in enumerate(infos):
            row["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return observation, reward.astype(np.float32), dones, infos

    def close(self) -> None:
        """Closes the bridge; a pending step is waited for first (as `SubprocVecEnv.close`)."""
        if self.waiting:
            self._vector.step_wait()
            self.waiting = False
        self._vector.close()

    def get_images(self) -> Sequence[np.ndarray | None]:
        """One RGB frame per sub-environment (``render_mode="rgb_array"``)."""
        return list(self._vector.render())

    def _lookup(self, name: str) -> Any:
        """`name` on the outermost layer of the jit_env stack that has it (as SB3's
        DummyVecEnv asks Gymnasium's `get_wrapper_attr`), else `_MISSING`."""
        for layer in _core.layers(self._env):
            value = getattr(layer, name, _MISSING)
            if value is not _MISSING:
                return value
        return _MISSING

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        """An attribute of the jit_env stack (its outermost layer that has it), once per
        index; ``render_mode`` is the bridge's.

        Raises:
            AttributeError: If no layer has it (`ERR_ATTR`).
        """
        value = self._render_mode if attr_name == "render_mode" else self._lookup(attr_name)
        if value is _MISSING:
            raise AttributeError(ERR_ATTR.format(name=attr_name, env=self._env))
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        """Refused: the configuration is compiled into the jitted step (see `ERR_SET_ATTR`)."""
        raise AttributeError(ERR_SET_ATTR.format(name=attr_name))

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        """Calls a method of the jit_env stack (its outermost layer that has it) once per index.

        Raises:
            AttributeError: If no layer has such a method (`ERR_METHOD`).
        """
        method = self._lookup(method_name)
        if not callable(method):
            raise AttributeError(ERR_METHOD.format(name=method_name, env=self._env))
        return [method(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
        """Whether a layer of the jit_env stack is a `wrapper_class`, once per index."""
        wrapped = any(isinstance(layer, wrapper_class) for layer in _core.layers(self._env))
        return [wrapped for _ in self._indices(indices)]

    def _indices(self, indices: Any) -> Iterable[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return list(indices)


def _row(info: dict[str, Any], i: int) -> dict[str, Any]:
    """Sub-environment `i`'s entries of a Gymnasium vector info (those whose `_name` mask holds)."""
    row: dict[str, Any] = {}
    for name, value in info.items():
        if name.startswith("_") or name in ("final_obs", "final_info"):
            continue
        mask = info.get(f"_{name}")
        if mask is not None and not mask[i]:
            continue
        row[name] = _row(value, i) if isinstance(value, dict) else value[i]
    return row

