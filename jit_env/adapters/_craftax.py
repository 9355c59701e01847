"""Craftax in: Craftax and Craftax-Classic as `jit_env.Environment`s (``"craftax/<id>"``).

Craftax follows gymnax 0.x: `reset_env(key, params) -> (obs, state)` and
`step_env(key, state, action, params) -> (obs, state, reward, done, info)`; its
public `step` of the "AutoReset" classes resets inside when `done`. The adapter
builds the NoAutoReset classes (`make_craftax_env_from_name(id, auto_reset=False)`)
and calls `reset_env`/`step_env`, so nothing resets behind jit_env's back; the
key lives in the adapter's state and is split on every call.

* Episode ends: Craftax's `done` merges three causes (`is_game_over`): the player
  died, the boss was beaten (Craftax only), or `state.timestep >=
  params.max_timesteps`. The adapter asks Craftax's own `is_terminal` again with
  the time limit lifted: a death or a win is a termination (discount 0, also on
  the step that reaches the limit), the limit alone a truncation (discount 1).
  Craftax's `info["discount"]` (0 at the time limit too) is dropped for that
  reason; the rest of `info` (achievements, and Classic's score) is `extras`, at
  reset computed by the same Craftax function with `done=False` (zeros).
* Parameters: Craftax's `EnvParams` (`max_timesteps`, `day_length`, ...) travel
  in the state, always, so the state's tree structure never depends on `reset`'s
  arguments: `reset(key, options=params)` starts an episode with other values,
  `options=None` with the environment's parameters. `options` must be an
  `EnvParams` with the same tree structure (`fractal_noise_angles` set or not as
  the environment's are; set it through `make(..., params=...)`).
* Static parameters (map size, number of mobs) change shapes: pass
  ``static_env_params=`` to `make`.
* render: `render(state)` is Craftax's own pixel renderer (16-pixel blocks) as a
  uint8 RGB array for every id, Symbolic ones included; it is jittable, so
  `ToGymnasium(..., render_mode="rgb_array")` renders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from craftax import craftax_env
from craftax.craftax import constants as craftax_constants
from craftax.craftax import renderer as craftax_renderer
from craftax.craftax.envs import common as craftax_common
from craftax.craftax_classic import renderer as classic_renderer
from craftax.craftax_classic.envs import common as classic_common
from craftax.environment_base import environment_bases
from craftax.environment_base import spaces as craftax_spaces

from jit_env import _core, _struct, specs
from jit_env.adapters import _common

NOT_CRAFTAX = "a Craftax NoAutoReset environment"
FIX_AUTO_RESET = (
    "build it with `craftax.craftax_env.make_craftax_env_from_name(id, auto_reset=False)` "
    "(what `jit_env.make('craftax/<id>')` does)"
)
ERR_OPTIONS = (
    "`options` must be Craftax EnvParams with the tree structure of the environment's "
    "parameters ({expected}), got {received!r}. Start from `env.params.replace(...)`."
)
ERR_UNKNOWN_SPACE = (
    "Cannot convert the Craftax space {!r} to a jit_env spec: only Discrete and Box are "
    "supported."
)

BENCHMARK_ID = "Craftax-Classic-Symbolic-v1"
"""The id `benchmarks/hub.py` times."""

_INFO_DROPPED = "discount"


@_struct.dataclass
class CraftaxState:
    """The state of `FromCraftax`.

    Attributes:
        key: The PRNG key chain (split on every step).
        env_state: Craftax's `EnvState`.
        params: Craftax's `EnvParams` of this episode (arrays), from `reset`'s
            `options` or the environment's parameters.
    """

    key: jax.Array
    env_state: Any
    params: Any


def space_to_spec(space: Any) -> specs.Spec[Any]:
    """Converts a Craftax space (`Discrete`, `Box`) into a jit_env spec.

    Raises:
        NotImplementedError: On another space type.
    """
    if isinstance(space, craftax_spaces.Discrete):
        return specs.DiscreteArray(int(space.n), space.dtype, name="action")
    if isinstance(space, craftax_spaces.Box):
        return _common.bounded_spec(space.shape, _common.canonical_dtype(space.dtype), space.low,
                                    space.high, name="observation")
    raise NotImplementedError(ERR_UNKNOWN_SPACE.format(space))


class FromCraftax(_core.Environment[CraftaxState, jax.Array, jax.Array]):
    """A Craftax environment as a jit_env `Environment` (see the module docstring).

    >>> from craftax import craftax_env  # doctest: +SKIP
    >>> env = FromCraftax(craftax_env.make_craftax_env_from_name(
    ...     "Craftax-Classic-Symbolic-v1", auto_reset=False))  # doctest: +SKIP
    """

    def __init__(self, env: Any, *, params: Any = None, own_time_limit: bool = True):
        """Args:
        env: A Craftax NoAutoReset environment.
        params: Its `EnvParams` for episodes reset without options (default:
            `env.default_params`).
        own_time_limit: Whether the library's own episode limit (``params.max_timesteps``)
            ends episodes (a truncation). False lifts it: the step there is
            MID, and a time limit outside (jit_env's `TimeLimit`,
            Gymnasium's) decides the episode's length.

        Raises:
            TypeError: If `env` is not a Craftax environment or resets itself.
        """
        super().__init__()
        if isinstance(env, environment_bases.EnvironmentAutoReset):
            raise TypeError(_common.ERR_AUTO_RESET.format(wrapper=type(env).__name__, fix=FIX_AUTO_RESET))
        if not isinstance(env, environment_bases.EnvironmentNoAutoReset):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_CRAFTAX, env=env))
        self._env = env
        self._params = env.default_params if params is None else params
        self._params_structure: Any = jax.tree_util.tree_structure(self._params)
        classic = type(env).__module__.startswith("craftax.craftax_classic")
        self._info = (classic_common.compute_score if classic
                      else craftax_common.log_achievements_to_info)
        with _common.library_promotion():
            self._pixels = (classic_renderer if classic else craftax_renderer
                            ).make_craftax_pixel_renderer(craftax_constants.BLOCK_PIXEL_SIZE_IMG)
        self._observation_spec = space_to_spec(env.observation_space(self._params))
        self._action_spec = space_to_spec(env.action_space(self._params))
        self._own_time_limit = bool(own_time_limit)

    def __repr__(self) -> str:
        lifted = "" if self._own_time_limit else ", own_time_limit=False"
        return f"FromCraftax({type(self._env).__name__}{lifted})"

    @property
    def craftax_env(self) -> Any:
        """The wrapped Craftax environment."""
        return self._env

    @property
    def params(self) -> Any:
        """The `EnvParams` used when `reset` gets no options."""
        return self._params

    def _extras(self, env_state: Any, done: Any) -> dict[str, jax.Array]:
        info = dict(self._info(env_state, done))
        info.pop(_INFO_DROPPED, None)
        return _common.strong(info)

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        params = self._params if options is None else options
        if jax.tree_util.tree_structure(params) != self._params_structure:
            raise ValueError(ERR_OPTIONS.format(expected=self._params_structure, received=options))
        params = _common.strong(params)
        key, reset_key = jax.random.split(key)
        with _common.library_promotion():
            observation, env_state = self._env.reset_env(reset_key, params)
            extras = self._extras(env_state, False)
        state = CraftaxState(key=key, env_state=_common.strong(env_state), params=params)
        return state, _core.restart(
            _common.to_spec(observation, self._observation_spec), extras=extras)

    def step(self, state: CraftaxState, action: jax.Array) -> Any:
        key, step_key = jax.random.split(state.key)
        with _common.library_promotion():
            observation, env_state, reward, done, info = self._env.step_env(
                step_key, state.env_state, action, state.params)
            unlimited = state.params.replace(max_timesteps=_common.NO_LIMIT)
            terminated = jnp.asarray(self._env.is_terminal(env_state, unlimited), jnp.bool_)
        info = dict(info)
        info.pop(_INFO_DROPPED, None)
        step_type, discount = _common.end_of_step(terminated, done if self._own_time_limit else False)
        timestep = _core.TimeStep(
            step_type=step_type,
            reward=jnp.reshape(jnp.asarray(reward, jnp.float32), ()),
            discount=discount,
            observation=_common.to_spec(observation, self._observation_spec),
            extras=_common.strong(info),
        )
        env_state = _common.like(env_state, state.env_state)
        return CraftaxState(key=key, env_state=env_state, params=state.params), timestep

    def render(self, state: CraftaxState) -> jax.Array:
        """Craftax's pixel renderer (16-pixel blocks) for every id: a uint8 RGB
        picture, shape ``(height, width, 3)``; jittable."""
        with _common.library_promotion():
            picture = jnp.asarray(self._pixels(state.env_state))
        return jnp.clip(jnp.round(picture), 0, 255).astype(jnp.uint8)

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
         **kwargs: Any) -> FromCraftax:
    """Builds Craftax's `name` (without auto-reset) as a jit_env environment.

    Args:
        name: ``"Craftax-Symbolic-v1"``, ``"Craftax-Pixels-v1"``,
            ``"Craftax-Classic-Symbolic-v1"`` or ``"Craftax-Classic-Pixels-v1"``.
        params: The `EnvParams` of episodes reset without options (default: Craftax's).
        max_episode_steps: Craftax's own episode limit (`jit_env.make` passes
            it whenever it is given, see `_common.own_limit`): an int is the
            default params' ``max_timesteps`` (ignored when `params` is given),
            None lifts it (``own_time_limit=False``).
        **kwargs: The environment class's constructor arguments
            (``static_env_params=``).

    Returns:
        A `FromCraftax` environment.
    """
    limit, own_time_limit = _common.own_limit(max_episode_steps)
    with _common.library_promotion():  # The Pixels classes build renderers with jnp.
        env = craftax_env.make_craftax_env_from_name(name, auto_reset=False)
        if kwargs:
            env = type(env)(**kwargs)
    if params is None and limit is not None:
        params = env.default_params.replace(max_timesteps=limit)
    return FromCraftax(env, params=params, own_time_limit=own_time_limit)


def native(env: FromCraftax) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Craftax's own ``reset_env(key, params)[1]`` and ``step_env(key, state, action,
    params)[1]`` for `env`'s parameters, as ``reset(key)`` and ``step(state, action, key)``."""
    craftax = env.craftax_env
    params = env.params

    def reset(key: jax.Array) -> Any:
        return craftax.reset_env(key, params)[1]

    def step(state: Any, action: Any, key: jax.Array) -> Any:
        return craftax.step_env(key, state, action, params)[1]

    return reset, step
