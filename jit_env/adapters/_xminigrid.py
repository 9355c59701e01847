"""XLand-MiniGrid in: any xminigrid environment as a `jit_env.Environment`.

xminigrid's API is ``env.reset(params, key) -> TimeStep`` and
``env.step(params, timestep, action) -> TimeStep``, with a dm-style
``step_type`` (uint8 FIRST/MID/LAST) and ``discount``. Its raw environments do
not auto-reset (only its `GymAutoResetWrapper` and `DmEnvAutoResetWrapper`
do, and `FromXMiniGrid` refuses them), so the adapter calls the library's own
`reset` and `step` and maps their time steps one to one:

* a goal reached is LAST with discount 0 (a termination), the step that reaches
  ``params.max_steps`` without the goal is LAST with discount 1 (a truncation);
  a goal reached on that very step is a termination, as in xminigrid;
* the observation is xminigrid's egocentric grid, uint8
  ``(view_size, view_size, 2)``: tile ids in ``[0, NUM_TILES)`` on channel 0,
  colour ids in ``[0, NUM_COLORS)`` on channel 1;
* reward and discount are float32 scalars, the step type int8.

The environment parameters are fixed when the adapter is built. `reset`'s
``options`` may give other parameters for one episode: an xminigrid params
object with the same tree structure, shapes and dtypes as `params` (only its
array leaves can differ: the XLand ``ruleset``). The parameters are not part of
the state: xminigrid's `reset` copies the ruleset's goal and rules into its
state and `step` reads only the static fields (``view_size``, ``max_steps``),
so the state's structure never depends on ``options``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xminigrid
from xminigrid import environment as xmg_environment
from xminigrid import types as xmg_types
from xminigrid import wrappers as xmg_wrappers
from xminigrid.core import constants as xmg_constants
from xminigrid.rendering import rgb_render as xmg_rgb_render

from jit_env import _core, _struct, specs
from jit_env.adapters import _common

BENCHMARK_ID = "MiniGrid-Empty-8x8"
"""The id `benchmarks/hub.py` times against xminigrid's own step."""

_TILE = 32
"""Pixels per grid cell in xminigrid's drawing (its `render`'s default ``tile_size``)."""

NOT_XMINIGRID = "an xminigrid Environment"
FIX_AUTO_RESET = "pass the raw environment (`xminigrid.make(id)` returns it)"
ERR_UNKNOWN_KWARG = (
    "xminigrid's {params} has no field {name!r} (passed to make({id!r}, ...)); its fields are: "
    "{fields}."
)
ERR_OPTIONS_STRUCTURE = (
    "reset's `options` must be xminigrid params with the structure of the environment's "
    "(the same type and static fields, so that the state keeps its structure), got {got} for "
    "{expected}. Build them from `env.params`, e.g. `env.params.replace(ruleset=...)`."
)
ERR_OPTIONS_LEAF = (
    "reset's `options` leaf {path} is {got}, but the environment's parameters have {expected}; "
    "the state's shapes come from them (pad rulesets to the same shapes, as xminigrid's "
    "benchmarks do)."
)


@_struct.dataclass
class XMiniGridState:
    """The state of `FromXMiniGrid`.

    Attributes:
        key: The key chain that seeds the next `reset` (jit_env's auto-reset
            wrappers read it); xminigrid's own key stays in
            ``timestep.state.key`` (its step draws no randomness).
        timestep: xminigrid's `TimeStep` (its ``state``, step type, reward,
            discount and observation), as the library's `step` takes it.
    """

    key: jax.Array
    timestep: Any


def _grid_spec(shape: tuple[int, ...]) -> specs.BoundedArray:
    """xminigrid's grid observation: tile ids on channel 0, colour ids on channel 1."""
    high = np.array([xmg_constants.NUM_TILES - 1, xmg_constants.NUM_COLORS - 1], np.uint8)
    return specs.BoundedArray(shape, np.uint8, np.zeros(shape, np.uint8), np.broadcast_to(high, shape),
                              name="observation")


def _observation_spec(observation: Any, params: Any) -> specs.Spec[Any]:
    """The grid spec for xminigrid's own observation, shapes and dtypes of others (wrappers)."""
    grid = (params.view_size, params.view_size, xmg_constants.NUM_LAYERS)
    if isinstance(observation, dict):
        return specs.Dict({k: specs.Array(v.shape, v.dtype, name=k) for k, v in observation.items()})
    if observation.shape == grid and observation.dtype == np.uint8:
        return _grid_spec(grid)
    return specs.Array(observation.shape, observation.dtype, name="observation")


def _same_structure(a: Any, b: Any) -> bool:
    """Whether two pytree structures are equal (static fields included)."""
    return bool(a == b)


def _auto_resetting(env: Any) -> str | None:
    """The name of the first auto-reset wrapper around `env`, if any."""
    while isinstance(env, xmg_wrappers.Wrapper):
        if isinstance(env, (xmg_wrappers.GymAutoResetWrapper, xmg_wrappers.DmEnvAutoResetWrapper)):
            return type(env).__name__
        env = env._env
    return None


class FromXMiniGrid(_core.Environment[XMiniGridState, jax.Array, Any]):
    """An xminigrid environment as a jit_env `Environment` (no auto-reset).

    `reset(key)` splits `key`, calls xminigrid's ``reset(params, key)`` with one
    half and keeps the other for the next reset; `step` calls xminigrid's
    ``step(params, timestep, action)``. A LAST time step with discount 0 is a
    termination (goal reached), with discount 1 a truncation (``max_steps``).

    >>> import xminigrid  # doctest: +SKIP
    >>> env = FromXMiniGrid(*xminigrid.make("MiniGrid-Empty-5x5"))  # doctest: +SKIP
    """

    def __init__(self, env: Any, params: Any = None, *, own_time_limit: bool = True):
        """Adapts `env`.

        Args:
            env: An xminigrid environment (``xminigrid.make(id)[0]``), raw or
                wrapped in wrappers that do not auto-reset.
            params: Its parameters (default: ``env.default_params()``).
            own_time_limit: Whether the library's own episode limit (``params.max_steps``)
                ends episodes (a truncation). False lifts it: the step there is
                MID, and a time limit outside (jit_env's `TimeLimit`,
                Gymnasium's) decides the episode's length.

        Raises:
            TypeError: If `env` is not an xminigrid environment.
            ValueError: If `env` auto-resets (`GymAutoResetWrapper`,
                `DmEnvAutoResetWrapper`).
        """
        super().__init__()
        if not isinstance(env, xmg_environment.Environment):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_XMINIGRID, env=env))
        wrapper = _auto_resetting(env)
        if wrapper is not None:
            raise ValueError(_common.ERR_AUTO_RESET.format(wrapper=wrapper, fix=FIX_AUTO_RESET))
        self._env = env
        self._params = env.default_params() if params is None else params
        with _common.library_promotion():  # The layout of xminigrid's time steps, without running it.
            layout = jax.eval_shape(lambda key: env.reset(self._params, key), jax.random.key(0))
        self._observation_spec = _observation_spec(layout.observation, self._params)
        self._action_spec = specs.DiscreteArray(int(env.num_actions(self._params)), jnp.int32, name="action")
        self._leaves = jax.tree_util.tree_flatten_with_path(self._params)
        grid = layout.state.grid
        self._render_shape = jax.ShapeDtypeStruct((grid.shape[0] * _TILE, grid.shape[1] * _TILE, 3), np.uint8)
        self._own_time_limit = bool(own_time_limit)

    def __repr__(self) -> str:
        name, params = type(self._env).__name__, self._params
        lifted = "" if self._own_time_limit else ", own_time_limit=False"
        return f"FromXMiniGrid({name}, view_size={params.view_size}, max_steps={params.max_steps}{lifted})"

    @property
    def xminigrid_env(self) -> Any:
        """The adapted xminigrid environment."""
        return self._env

    @property
    def params(self) -> Any:
        """The xminigrid parameters every episode uses unless `reset` gets `options`."""
        return self._params

    def _episode_params(self, options: Any) -> Any:
        """The parameters of one episode: `options` checked against `params`' structure."""
        if options is None:
            return self._params
        leaves, structure = jax.tree_util.tree_flatten_with_path(options)
        own_leaves, own_structure = self._leaves
        if not _same_structure(structure, own_structure):
            raise ValueError(ERR_OPTIONS_STRUCTURE.format(got=structure, expected=own_structure))
        for (path, leaf), (_, own) in zip(leaves, own_leaves, strict=True):
            got = jax.ShapeDtypeStruct(jnp.shape(leaf), jnp.result_type(leaf))
            expected = jax.ShapeDtypeStruct(jnp.shape(own), jnp.result_type(own))
            if (got.shape, got.dtype) != (expected.shape, expected.dtype):
                raise ValueError(ERR_OPTIONS_LEAF.format(
                    path=jax.tree_util.keystr(path), got=got, expected=expected))
        return options

    def reset(
        self, key: jax.Array, *, options: _core.EnvOptions = None
    ) -> tuple[XMiniGridState, _core.TimeStep[Any]]:
        """Starts an episode with xminigrid's ``reset(params, key)``.

        Args:
            key: A PRNG key (typed or raw uint32[2]).
            options: None, or xminigrid params for this episode with the
                structure, shapes and dtypes of `params` (e.g. another XLand
                ruleset: ``env.params.replace(ruleset=ruleset)``).

        Returns:
            The state and a FIRST time step: observation uint8
            ``(view_size, view_size, 2)``, reward 0 and discount 1 (float32).

        Raises:
            ValueError: If `options` does not have `params`' structure.
        """
        params = self._episode_params(options)
        key, reset_key = jax.random.split(key)
        with _common.library_promotion():
            timestep = _common.strong(self._env.reset(params, reset_key))
        return XMiniGridState(key=key, timestep=timestep), _core.restart(self._observation(timestep))

    def step(
        self, state: XMiniGridState, action: jax.Array
    ) -> tuple[XMiniGridState, _core.TimeStep[Any]]:
        """Advances with xminigrid's ``step(params, timestep, action)``.

        Args:
            state: The state from `reset` or `step`.
            action: int scalar in ``[0, num_actions)``.

        Returns:
            The next state and a MID or LAST time step (LAST with discount 0
            on reaching the goal, with discount 1 at ``max_steps``).
        """
        with _common.library_promotion():
            timestep = _common.like(self._env.step(self._params, state.timestep, action), state.timestep)
        # xminigrid: LAST with discount 0 on the goal, with discount 1 at max_steps.
        last = timestep.step_type == xmg_types.StepType.LAST
        terminated = jnp.logical_and(last, timestep.discount == 0)
        truncated = jnp.logical_and(last, timestep.discount > 0)
        step_type, discount = _common.end_of_step(terminated, jnp.logical_and(truncated, self._own_time_limit))
        out = _core.TimeStep(
            step_type=step_type,
            reward=jnp.asarray(timestep.reward, jnp.float32),
            discount=discount,
            observation=self._observation(timestep),
        )
        return dataclasses.replace(state, timestep=timestep), out

    def _observation(self, timestep: Any) -> Any:
        return _common.to_spec(timestep.observation, self._observation_spec)

    def render(self, state: XMiniGridState) -> Any:
        """xminigrid's picture of one (unbatched) state.

        With ``params.render_mode == "rgb_array"`` (the default) this is the
        drawing xminigrid's ``render(params, timestep)`` makes, uint8
        ``(32 * grid height, 32 * grid width, 3)`` with the agent's view
        highlighted; xminigrid draws with NumPy, so under `jax.jit` (as the
        Gymnasium bridge renders) it runs as a `jax.pure_callback`. With
        ``"rich_text"`` it is xminigrid's text, eagerly only.
        """
        if self._params.render_mode != "rgb_array":
            return self._env.render(self._params, state.timestep)
        view_size = self._params.view_size

        def draw(grid: np.ndarray, agent: Any) -> np.ndarray:
            return np.asarray(xmg_rgb_render.render(np.asarray(grid), agent, view_size), np.uint8)

        inner = state.timestep.state
        return jax.pure_callback(draw, self._render_shape, inner.grid, inner.agent)

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def reward_spec(self) -> specs.Spec[Any]:
        return _common.reward_spec()

    def discount_spec(self) -> specs.Spec[Any]:
        return _common.discount_spec()


def make(name: str, *, max_episode_steps: _common.EpisodeSteps = _common.LIBRARY_DEFAULT,
         **kwargs: Any) -> FromXMiniGrid:
    """Builds ``xminigrid.make(name, **kwargs)`` as a `FromXMiniGrid`.

    Args:
        name: An xminigrid id (``"MiniGrid-Empty-5x5"``, ``"XLand-MiniGrid-R1-9x9"``, ...).
        max_episode_steps: xminigrid's own episode limit (`jit_env.make` passes
            it whenever it is given, see `_common.own_limit`): an int is the
            params' ``max_steps``, None lifts it (``own_time_limit=False``;
            the reward, ``1 - 0.9 * steps / max_steps``, keeps the id's
            ``max_steps``).
        **kwargs: Fields of the id's xminigrid params to override, as
            `xminigrid.make` takes them: ``max_steps``, ``view_size``,
            ``height``/``width`` (where the layout allows), ``render_mode``,
            and for XLand ids ``ruleset`` (a `xminigrid.types.RuleSet`; the
            default is xminigrid's empty ruleset, whose goal is never met, so
            episodes end by truncation; benchmark rulesets need
            `xminigrid.load_benchmark`, which downloads them).

    Returns:
        The adapted environment.

    Raises:
        ValueError: On an unknown id or a keyword that is no params field.
    """
    _common.check_id("xminigrid", name, library="xminigrid")
    env, params = xminigrid.make(name)
    fields = [f.name for f in dataclasses.fields(params)]
    for field in kwargs:
        if field not in fields:
            raise ValueError(ERR_UNKNOWN_KWARG.format(
                params=type(params).__name__, name=field, id=name, fields=", ".join(fields)))
    limit, own_time_limit = _common.own_limit(max_episode_steps)
    if limit is not None:
        kwargs["max_steps"] = limit
    return FromXMiniGrid(env, params.replace(**kwargs) if kwargs else params, own_time_limit=own_time_limit)


def native(env: FromXMiniGrid) -> tuple[Callable[[jax.Array], Any], Callable[[Any, jax.Array, jax.Array], Any]]:
    """xminigrid's own ``reset(params, key)`` and ``step(params, timestep, action)`` for `env`.

    Args:
        env: An environment built by `make` (or `FromXMiniGrid`).

    Returns:
        ``reset_fn(key) -> timestep`` and ``step_fn(timestep, action, key) ->
        timestep`` (the key is unused: xminigrid's step is deterministic), pure
        and vmappable, for benchmarks and lockstep tests.
    """
    library, params = env.xminigrid_env, env.params

    def reset_fn(key: jax.Array) -> Any:
        with _common.library_promotion():
            return library.reset(params, key)

    def step_fn(timestep: Any, action: jax.Array, key: jax.Array) -> Any:
        del key
        with _common.library_promotion():
            return library.step(params, timestep, action)

    return reset_fn, step_fn
