"""Jumanji in: any Jumanji environment as a `jit_env.Environment` (``"jumanji/<id>"``).

Jumanji already speaks dm_env in JAX: `reset(key) -> (state, timestep)`,
`step(state, action) -> (state, timestep)`, the PRNG key inside its state. The
adapter keeps Jumanji's own state as its state and maps the time step one to
one: Jumanji's `step_type` and `discount` (LAST with discount 0 is a termination,
LAST with discount 1 a truncation, as Jumanji's `termination`/`truncation`
build them), its reward (float32, the shape of Jumanji's reward spec, which is
per agent in the multi-agent environments), its observation (action masks
included, as Jumanji puts them there) and its `extras` (dm_env-style metrics).
Jumanji's environments do not auto-reset (only its `AutoResetWrapper` does,
which the adapter refuses). Specs are converted from `jumanji.specs` with their
shapes, dtypes, bounds and nesting.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import jumanji
import numpy as np
from jumanji import specs as jumanji_specs
from jumanji import wrappers as jumanji_wrappers

from jit_env import _core, specs
from jit_env.adapters import _common

NOT_JUMANJI = "a jumanji.Environment"
FIX_AUTO_RESET = "pass the raw environment (e.g. `jumanji.make(id)`)"
OPTIONS_HINT = "e.g. `generator=`, `time_limit=`"
ERR_UNKNOWN_SPEC = (
    "Cannot convert the Jumanji spec {!r} to a jit_env spec: only Array, BoundedArray, "
    "DiscreteArray, MultiDiscreteArray and structured Spec are supported."
)

BENCHMARK_ID = "Snake-v1"
"""The id `benchmarks/hub.py` times."""

_REFUSED_WRAPPERS = (
    jumanji_wrappers.AutoResetWrapper,
    jumanji_wrappers.VmapAutoResetWrapper,
    jumanji_wrappers.VmapWrapper,
)


def _build(spec: Any) -> Any:
    """A Jumanji spec as the object it describes, with jit_env leaf specs as its leaves."""
    dtype = _common.canonical_dtype(getattr(spec, "dtype", np.float32))
    if isinstance(spec, jumanji_specs.MultiDiscreteArray):
        return specs.DiscreteArray(np.asarray(spec.num_values), dtype, name=spec.name)
    if isinstance(spec, jumanji_specs.DiscreteArray):
        return specs.DiscreteArray(int(spec.num_values), dtype, name=spec.name)
    if isinstance(spec, jumanji_specs.BoundedArray):
        return _common.bounded_spec(spec.shape, dtype, spec.minimum, spec.maximum, name=spec.name)
    if isinstance(spec, jumanji_specs.Array):
        return specs.Array(tuple(spec.shape), dtype, name=spec.name)
    if isinstance(spec, jumanji_specs.Spec):
        children = {name: _build(child) for name, child in spec._specs.items()}
        return spec._constructor(**children)
    raise NotImplementedError(ERR_UNKNOWN_SPEC.format(spec))


def spec_to_spec(spec: Any) -> specs.Spec[Any]:
    """Converts a `jumanji.specs` spec into a jit_env spec with the same tree structure.

    Leaf specs keep their shapes, dtypes and bounds (`MultiDiscreteArray` becomes
    a `DiscreteArray` with an array of `num_values`); a structured spec becomes a
    `specs.Tree` whose structure is the observation type Jumanji builds (a
    NamedTuple or dataclass), so values Jumanji returns match it leaf for leaf.

    Raises:
        NotImplementedError: On a spec type Jumanji does not define.
    """
    built = _build(spec)
    if isinstance(built, specs.Spec):
        return built
    leaves, treedef = jax.tree_util.tree_flatten(
        built, is_leaf=lambda x: isinstance(x, specs.Spec))
    return specs.Tree(leaves, treedef, name=spec.name)


class FromJumanji(_core.Environment[Any, Any, Any]):
    """A Jumanji environment as a jit_env `Environment`.

    The state is Jumanji's own state (it carries the key); `reset(key)` calls
    Jumanji's `reset` with a key split off `key` (Tetris stores the key it is
    given, which would replay one episode under auto-reset) and `step` its
    `step`, so the adapter adds only casts:
    reward and discount to float32, the observation and `extras` to the dtypes
    Jumanji's reset gives, and the state's leaves to the dtypes of the state
    passed in (several environments change dtypes under `JAX_ENABLE_X64`).
    `reset` takes no options (Jumanji's parameters are constructor arguments:
    pass them to `make`). `render` calls Jumanji's `render`.

    >>> import jumanji  # doctest: +SKIP
    >>> env = FromJumanji(jumanji.make("Snake-v1"))  # doctest: +SKIP
    """

    def __init__(self, env: Any):
        """Args:
        env: A raw `jumanji.Environment` (not an auto-resetting or vmapped wrapper).

        Raises:
            TypeError: If `env` is not a Jumanji environment, or resets or batches itself.
        """
        super().__init__()
        if isinstance(env, _REFUSED_WRAPPERS):
            raise TypeError(_common.ERR_AUTO_RESET.format(wrapper=type(env).__name__, fix=FIX_AUTO_RESET))
        if not isinstance(env, jumanji.Environment):
            raise TypeError(_common.ERR_NOT_LIBRARY_ENV.format(expected=NOT_JUMANJI, env=env))
        self._env = env
        self._observation_spec = spec_to_spec(env.observation_spec)
        self._action_spec = spec_to_spec(env.action_spec)
        with _common.library_promotion():
            _, timestep = jax.eval_shape(env.reset, jax.random.key(0))
        # The shapes Jumanji returns: SearchAndRescue's reward spec says () but it
        # rewards each agent.
        self._reward_shape = tuple(timestep.reward.shape)
        self._discount_shape = tuple(timestep.discount.shape)
        self._extras_layout = timestep.extras

    def __repr__(self) -> str:
        return f"FromJumanji({type(self._env).__name__})"

    @property
    def jumanji_env(self) -> Any:
        """The wrapped Jumanji environment."""
        return self._env

    def _extras(self, extras: Any) -> dict[str, Any]:
        return _common.like(dict(extras or {}), dict(self._extras_layout or {}))

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        _common.check_no_options(options, library="Jumanji", hint=OPTIONS_HINT)
        with _common.library_promotion():  # Tetris stores the key it gets: give it a split.
            state, timestep = self._env.reset(jax.random.split(key)[1])
        observation = _common.to_spec(timestep.observation, self._observation_spec)
        return _common.strong(state), _core.TimeStep(
            step_type=jnp.asarray(_core.StepType.FIRST, jnp.int8),
            reward=jnp.zeros(self._reward_shape, jnp.float32),
            discount=jnp.ones(self._discount_shape, jnp.float32),
            observation=observation,
            extras=self._extras(timestep.extras),
        )

    def step(self, state: Any, action: Any) -> Any:
        with _common.library_promotion():
            next_state, timestep = self._env.step(state, action)
        return _common.like(next_state, state), _core.TimeStep(
            step_type=jnp.asarray(timestep.step_type, jnp.int8),
            reward=jnp.reshape(jnp.asarray(timestep.reward, jnp.float32), self._reward_shape),
            discount=jnp.reshape(
                jnp.asarray(timestep.discount, jnp.float32), self._discount_shape),
            observation=_common.to_spec(timestep.observation, self._observation_spec),
            extras=self._extras(timestep.extras),
        )

    def render(self, state: Any) -> Any:
        """Draws `state` with the environment's Jumanji viewer (matplotlib), eagerly.

        Returns:
            The viewer's frame: an RGBA uint8 array ``(height, width, 4)`` when the
            viewer was built with ``render_mode="rgb_array"`` (pass ``viewer=`` to
            `make`), None in its default "human" mode. Jumanji's own `render` drops
            the viewer's frame, so the adapter calls the viewer itself where the
            environment has one (`_viewer`, as every Jumanji 1.1.2 environment does).
        """
        viewer = getattr(self._env, "_viewer", None)
        with _common.library_promotion():
            if viewer is None:
                return self._env.render(state)
            return viewer.render(state)

    def observation_spec(self) -> specs.Spec[Any]:
        return self._observation_spec

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def reward_spec(self) -> specs.Spec[Any]:
        return _common.reward_spec(self._reward_shape)

    def discount_spec(self) -> specs.Spec[Any]:
        return _common.discount_spec(self._discount_shape)


def make(name: str, *, max_episode_steps: _common.EpisodeSteps = _common.LIBRARY_DEFAULT,
         **kwargs: Any) -> FromJumanji:
    """Builds ``jumanji.make(name, **kwargs)`` as a jit_env environment.

    Args:
        name: A Jumanji id, e.g. ``"Snake-v1"`` (`jumanji.registered_environments()`).
        max_episode_steps: Jumanji's own episode limit (`jit_env.make` passes
            it whenever it is given, see `_common.own_limit`): an int is the
            environment's ``time_limit``; None lifts it: ``time_limit`` becomes
            `_common.NO_LIMIT` (some Jumanji environments end at their time
            limit with a termination, RubiksCube's for one, so the adapter
            cannot tell it from a natural end and lifts it in the
            environment; a ``step_count`` bound in the observation spec and
            SearchAndRescue's time-scaled reward, where enabled, follow it).
            Only for the ids with a time limit
            (`jit_env.adapters.LIBRARIES["jumanji"].episode_limits`).
        **kwargs: The Jumanji environment's constructor arguments (e.g. ``generator=``,
            ``time_limit=``, ``viewer=``).

    Returns:
        A `FromJumanji` environment.

    Raises:
        ValueError: If `max_episode_steps` is given for an id without a time limit.
    """
    limit, own_time_limit = _common.own_limit(max_episode_steps)
    if max_episode_steps is not _common.LIBRARY_DEFAULT:
        _common.check_own_limit("jumanji", name, max_episode_steps, library="Jumanji")
    if limit is not None or not own_time_limit:
        kwargs["time_limit"] = _common.NO_LIMIT if limit is None else limit
    with _common.library_promotion():  # Some constructors compute with standard promotion.
        env = jumanji.make(name, **kwargs)
    return FromJumanji(env)


def native(env: FromJumanji) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """Jumanji's own reset and step for `env`: ``reset(key)`` and ``step(state, action, key)``.

    Jumanji's step takes no key (the key is in its state), so `key` is ignored.
    """
    jumanji_env = env.jumanji_env

    def reset(key: jax.Array) -> Any:
        return jumanji_env.reset(key)[0]

    def step(state: Any, action: Any, key: jax.Array) -> Any:
        del key
        return jumanji_env.step(state, action)[0]

    return reset, step
