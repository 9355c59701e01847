"""The dm_env bridge: a stateful `dm_env.Environment` over a pure jit_env environment.

>>> import jax.numpy as jnp
>>> from jit_env import specs
>>> from jit_env.compat import _dm_env
>>> _dm_env.spec_to_dm_spec(specs.DiscreteArray(3)).num_values
3
"""

from __future__ import annotations

from typing import Any

import dm_env
import jax
import numpy as np
from dm_env import specs as dm_specs

from jit_env import _core, specs
from jit_env.compat import _checks, _transport

_SEED_BOUND = 2**32

ERR_UNKNOWN_SPEC = (
    "Cannot convert {!r} to a dm_env spec: only jit_env Array, BoundedArray, DiscreteArray "
    "and composites are supported."
)
ERR_UNKNOWN_DM_SPEC = (
    "Cannot convert {!r} to a jit_env spec: expected dm_env Array, BoundedArray or DiscreteArray leaves."
)
ERR_STEP_FIRST = (
    "{env} returned a FIRST time step from `step`; the dm_env bridge needs an environment "
    "without same-step auto-reset (dm_env starts episodes with `reset`)."
)


def _is_dm_spec(x: Any) -> bool:
    return isinstance(x, dm_specs.Array)


def _leaf_to_dm(spec: specs.Spec[Any]) -> dm_specs.Array:
    name = spec.name or None
    if isinstance(spec, specs.DiscreteArray):
        if spec.shape == ():
            return dm_specs.DiscreteArray(int(spec.num_values), dtype=spec.dtype, name=name)
        return dm_specs.BoundedArray(spec.shape, spec.dtype, 0, spec.num_values - 1, name=name)
    if isinstance(spec, specs.BoundedArray):
        return dm_specs.BoundedArray(spec.shape, spec.dtype, spec.minimum, spec.maximum, name=name)
    if isinstance(spec, specs.Array):
        return dm_specs.Array(spec.shape, spec.dtype, name=name)
    raise NotImplementedError(ERR_UNKNOWN_SPEC.format(spec))


def spec_to_dm_spec(spec: specs.Spec[Any]) -> Any:
    """Converts a jit_env spec into a dm_env spec, or a nest of them for composites.

    Composite specs (`Tree`, `Tuple`, `Dict`, `Batched`) become the same pytree
    of dm_env leaf specs; a multi-dimensional `DiscreteArray` becomes a dm_env
    `BoundedArray` from 0 to `num_values - 1`.

    Raises:
        NotImplementedError: On a leaf spec of an unknown type.
    """
    return jax.tree_util.tree_map(_leaf_to_dm, specs.unpack_spec(spec), is_leaf=specs.is_spec)


def _leaf_from_dm(spec: dm_specs.Array) -> specs.Spec[Any]:
    name = spec.name or ""
    if isinstance(spec, dm_specs.DiscreteArray):
        return specs.DiscreteArray(spec.num_values, spec.dtype, name)
    if isinstance(spec, dm_specs.BoundedArray):
        return specs.BoundedArray(spec.shape, spec.dtype, spec.minimum, spec.maximum, name)
    if isinstance(spec, dm_specs.Array):
        return specs.Array(spec.shape, spec.dtype, name)
    raise NotImplementedError(ERR_UNKNOWN_DM_SPEC.format(spec))


def dm_spec_to_spec(dm_spec: Any) -> specs.Spec[Any]:
    """Converts a dm_env spec (or a nest of them) into one jit_env spec.

    Dicts become `specs.Dict`, tuples `specs.Tuple`, other nests a `specs.Tree`.
    Dtypes are canonicalised as JAX does (float64 is float32 without x64).

    Raises:
        NotImplementedError: On a leaf that is not a dm_env spec.
    """
    if _is_dm_spec(dm_spec):
        return _leaf_from_dm(dm_spec)
    if isinstance(dm_spec, dict) and dm_spec:
        return specs.Dict({k: dm_spec_to_spec(v) for k, v in dm_spec.items()})
    if type(dm_spec) is tuple and dm_spec:
        return specs.Tuple(*(dm_spec_to_spec(v) for v in dm_spec))
    leaves, treedef = jax.tree_util.tree_flatten(dm_spec, is_leaf=_is_dm_spec)
    if not all(_is_dm_spec(leaf) for leaf in leaves) or not leaves:
        raise NotImplementedError(ERR_UNKNOWN_DM_SPEC.format(dm_spec))
    return specs.Tree([_leaf_from_dm(leaf) for leaf in leaves], treedef)


def _scalars(tree: Any) -> Any:
    """0-d arrays in `tree` as NumPy scalars of the same dtype (others unchanged)."""
    return jax.tree_util.tree_map(lambda x: x[()] if isinstance(x, np.ndarray) and x.ndim == 0 else x, tree)


ERR_SEED_AND_RNG = "Give `seed` or jit_env 0.1.5's `rng`, not both."


def _seed_key(seed: int | jax.Array) -> jax.Array:
    if isinstance(seed, jax.Array):
        return seed  # jit_env 0.1.5 took a PRNG key here.
    return jax.random.key(seed)


def _jit_functions(env: _core.Environment[Any, Any, Any], options: Any) -> _transport.SingleJitted:
    """`ToDeepmindEnv`'s jitted functions, built once (the environment fixes its state's structure)."""
    # The state crosses the jit boundary with raw key data (see `_transport.RawKeys`).
    state_shapes = _transport.reset_state_shapes(env, options)
    keys = _transport.RawKeys(state_shapes)

    def reset(key: jax.Array, options: Any, previous: Any) -> Any:
        # `previous`: None, or the last episode's state, whose across-episode data
        # (e.g. NormalizeObservation's statistics) the new episode keeps.
        key, reset_key = jax.random.split(key)
        if previous is None:
            state, timestep = env.reset(reset_key, options=options)
        else:
            state, timestep = _core.new_episode(env, keys.decode(previous), reset_key, options=options)
        return key, keys.encode(state), _transport.ResetOutput(timestep.observation, timestep.extras)

    step, step_out = _transport.jit_single_step(env, keys, state_shapes)
    return _transport.SingleJitted(
        decode=keys.decode,
        reset=jax.jit(reset),
        step=step,
        step_out=step_out,
        render=_transport.jit_render(env, keys),
    )


class ToDeepmindEnv(dm_env.Environment):
    """A `dm_env.Environment` that runs a jit_env environment.

    `reset` and `step` are jitted once; the environment state stays on the
    device and only the time step is fetched, as writable
    NumPy arrays matching the converted specs. dm_env semantics: `reset`
    returns FIRST with reward and discount None; `step` on a fresh bridge or
    after LAST starts a new episode (ignoring the action); LAST with discount 0
    is a termination, with discount > 0 a truncation. Scalar rewards and
    discounts come out as NumPy scalars of the spec's dtype (clients such as
    Shimmy and Gymnasium's checker want a number, not a 0-d array). The extras
    of the last time step are in `extras`. Actions are checked in NumPy before
    the device call and never cast or clipped.

    Seeding: `seed` starts the key chain. dm_env has no seeding call; bsuite's
    convention, which Shimmy's `BSuiteCompatibilityV0` uses to seed any dm_env
    environment, is assigning a `numpy.random.RandomState` to `_rng`: the
    bridge then draws the next episodes' key chain from it, so Shimmy's
    `reset(seed=s)` gives the same episode for the same `s`.

    The wrapped environment must be unbatched and must not auto-reset: both are
    refused with a `ValueError` when the bridge is built.

    >>> import counting_env  # doctest: +SKIP
    >>> env = ToDeepmindEnv(counting_env.CountingEnv(target=2))  # doctest: +SKIP
    >>> env.reset().first()  # doctest: +SKIP
    True
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        seed: int | jax.Array = 0,
        *,
        options: _core.EnvOptions = None,
        rng: jax.Array | None = None,
    ):
        """Args:
        env: The jit_env environment: one environment, not batched and not
            auto-resetting (dm_env has no batch axis and starts episodes with `reset`).
        seed: Seeds the key chain of the episodes (jit_env 0.1.5's PRNG key
            is accepted too).
        options: Reset options passed to every `reset`.
        rng: jit_env 0.1.5's name for a PRNG key given instead of `seed`.

        Raises:
            TypeError: If `env` is not a jit_env Environment.
            ValueError: If `env` is batched or auto-resets.
        """
        if not isinstance(env, _core.Environment):
            raise TypeError(_core.ERR_NOT_AN_ENV.format(env))
        _checks.check_bridgeable(env, "ToDeepmindEnv", "starts each episode with reset(), as dm_env does")
        self._env = env
        self._options = options
        if rng is not None and not (isinstance(seed, int) and seed == 0):
            raise ValueError(ERR_SEED_AND_RNG)
        self._key = _seed_key(seed if rng is None else rng)
        self._rng_state: np.random.RandomState | None = None
        self._state: Any = None
        self._needs_reset = True
        self._closed = False
        self._extras: Any = None
        self._build()

    # Built from the environment alone (immutable): shared by copies, rebuilt after unpickling.
    _DERIVED = ("_dm_specs", "_check_action", "_jitted", "_keeps")

    def _build(self) -> None:
        env_spec = specs.make_environment_spec(self._env)
        self._dm_specs = specs.EnvironmentSpec(*(spec_to_dm_spec(s) for s in env_spec))
        self._check_action = _checks.ActionCheck(env_spec.actions)
        # The environment fixes its state's structure, and dm_env's reset takes no
        # options: one set of jitted functions serves the bridge's whole life.
        self._jitted = _jit_functions(self._env, self._options)
        # Episodes after the first keep what the stack keeps across them.
        self._keeps = bool(_core.boundary(self._env).keeps)

    def __deepcopy__(self, memo: dict[int, Any]) -> ToDeepmindEnv:
        """A copy that continues exactly as this bridge would (state, key chain), sharing its jitted functions."""
        copied: ToDeepmindEnv = _transport.copy_sharing(self, self._DERIVED, memo)
        return copied

    def __getstate__(self) -> dict[str, Any]:
        return _transport.state_without(self, self._DERIVED)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._build()

    def __repr__(self) -> str:
        return f"ToDeepmindEnv({self._env!r})"

    @property
    def env(self) -> _core.Environment[Any, Any, Any]:
        """The wrapped jit_env environment."""
        return self._env

    @property
    def state(self) -> Any:
        """The current environment state (on the device), None before `reset`."""
        return None if self._state is None else self._jitted.decode(self._state)

    @property
    def _rng(self) -> np.random.RandomState | None:
        """bsuite's (and so Shimmy's) seeding attribute: the last RandomState assigned, or None."""
        return self._rng_state

    @_rng.setter
    def _rng(self, rng: np.random.RandomState) -> None:
        # Shimmy's `reset(seed=s)` assigns `RandomState(s)` here, then calls `reset()`.
        self._rng_state = rng
        self._key = jax.random.key(int(rng.randint(_SEED_BOUND, dtype=np.uint64)))

    @property
    def extras(self) -> Any:
        """The extras of the last time step (a dict of NumPy arrays; None before `reset`)."""
        return self._extras

    def _check_open(self, call: str) -> None:
        if self._closed:
            raise RuntimeError(_checks.ERR_CLOSED.format(bridge="ToDeepmindEnv", call=call))

    def reset(self) -> dm_env.TimeStep:
        """Starts a new episode: a FIRST time step with reward and discount None.

        Raises:
            RuntimeError: After `close()`.
        """
        self._check_open("reset")
        previous = self._state if self._keeps else None
        self._key, self._state, out = self._jitted.reset(self._key, self._options, previous)
        out = _transport.fetch(out)
        self._extras = dict(out.extras or {})
        self._needs_reset = False
        return dm_env.TimeStep(dm_env.StepType.FIRST, None, None, out.observation)

    def step(self, action: Any) -> dm_env.TimeStep:
        """Advances one step; starts a new episode instead if none is running.

        Args:
            action: NumPy (or JAX) arrays matching `action_spec()` exactly.

        Raises:
            ValueError: If the action's structure, shape, dtype or range does not
                match the action spec (checked before the device call).
            RuntimeError: After `close()`, or if the environment's `step`
                returned FIRST.
        """
        self._check_open("step")
        if self._needs_reset:
            return self.reset()
        action = self._check_action(action)
        self._state, out = self._jitted.step(self._state, action)
        out = self._jitted.step_out.unpack(out)
        self._extras = dict(out.extras or {})
        reward, discount, observation = _scalars(out.reward), _scalars(out.discount), out.observation
        if out.step_type == _core.StepType.LAST:
            self._needs_reset = True
            return dm_env.TimeStep(dm_env.StepType.LAST, reward, discount, observation)
        if out.step_type == _core.StepType.FIRST:
            raise RuntimeError(ERR_STEP_FIRST.format(env=self._env))
        return dm_env.TimeStep(dm_env.StepType.MID, reward, discount, observation)

    def observation_spec(self) -> Any:
        return self._dm_specs.observations

    def action_spec(self) -> Any:
        return self._dm_specs.actions

    def reward_spec(self) -> Any:
        return self._dm_specs.rewards

    def discount_spec(self) -> Any:
        return self._dm_specs.discounts

    def close(self) -> None:
        """Closes the wrapped environment; later `reset`/`step` calls raise."""
        if not self._closed:
            self._closed = True
            self._state = None
            self._env.close()

