"""Rollouts: run a policy in an environment for a fixed number of steps with `lax.scan`.

`rollout` is a pure function: it does not compile anything itself. Wrap it in
`jax.jit` with `env`, `policy`, `num_steps` and `keep` static (environments hash
by identity, so one environment object compiles once per shape of its inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jax

from jit_env import _core, _struct
from jit_env.wrappers import _common

Policy = Callable[[Any, Any, jax.Array], Any]
"""`policy(params, observation, key) -> action`."""

FIELDS = ("observations", "actions", "rewards", "discounts", "step_types",
          "final_observation", "extras")
"""The fields of `Trajectory`, all of which `keep` may name."""

ERR_KEEP = "`keep` names fields of Trajectory ({fields}), got unknown {unknown}."
ERR_KEEP_STRING = "`keep` must be a collection of field names, not a string: got {!r}; use ({!r},)."
ERR_NUM_STEPS = "`num_steps` must be a positive int, got {!r}."


@_struct.dataclass
class Trajectory:
    """What `rollout` records, stacked along a leading time axis of length T.

    Step ``t`` pairs the observation the policy saw with the action it chose and
    what the environment returned for that action. Fields left out by
    `rollout`'s ``keep`` are None (so they take no memory).

    Attributes:
        observations: The observation passed to the policy at step ``t``
            (the first is the one `reset` returned): ``(T, *obs_shape)``.
        actions: The action the policy returned: ``(T, *action_shape)``.
        rewards: The reward of the step: ``(T, *reward_shape)``, float32 for
            the built-in environments.
        discounts: The discount of the step: ``(T, *discount_shape)``.
        step_types: The step type of the time step the action led to: int8
            ``(T, *batch_shape)``. With same-step auto-reset an episode's end
            shows as FIRST (see docs/semantics.md).
        final_observation: The observation the action led to before any reset,
            taken from ``extras["final_observation"]`` when an auto-reset
            wrapper puts it there, else None: ``(T, *obs_shape)``. Bootstrap
            from it: it is the true next observation of step ``t``.
        extras: The time steps' extras (without ``"final_observation"``, which
            is not stored twice), stacked; None if the environment has none.

    >>> import jax, jax.numpy as jnp, jit_env
    >>> traj = Trajectory(observations=jnp.zeros((3, 2)), actions=jnp.zeros(3, jnp.int32),
    ...                   rewards=jnp.ones(3), discounts=jnp.ones(3),
    ...                   step_types=jnp.ones(3, jnp.int8))
    >>> len(jax.tree_util.tree_leaves(traj))
    5
    """

    observations: Any = None
    actions: Any = None
    rewards: Any = None
    discounts: Any = None
    step_types: Any = None
    final_observation: Any = None
    extras: Any = None


def _keep_set(keep: Iterable[str] | None) -> frozenset[str]:
    if keep is None:
        return frozenset(FIELDS)
    if isinstance(keep, str):
        raise TypeError(ERR_KEEP_STRING.format(keep, keep))
    chosen = frozenset(keep)
    unknown = sorted(chosen - set(FIELDS))
    if unknown:
        raise ValueError(ERR_KEEP.format(fields=", ".join(FIELDS), unknown=unknown))
    return chosen


def _record(action: Any, observation: Any, timestep: _core.TimeStep[Any], keep: frozenset[str]) -> Trajectory:
    extras = timestep.extras
    final_observation = None
    if isinstance(extras, dict) and _common.FINAL_OBSERVATION in extras:
        final_observation = extras[_common.FINAL_OBSERVATION]
        extras = {k: v for k, v in extras.items() if k != _common.FINAL_OBSERVATION}
    values = {
        "observations": observation,
        "actions": action,
        "rewards": timestep.reward,
        "discounts": timestep.discount,
        "step_types": timestep.step_type,
        "final_observation": final_observation,
        "extras": extras,
    }
    return Trajectory(**{name: values[name] if name in keep else None for name in FIELDS})


def rollout(
    env: _core.Environment[Any, Any, Any],
    policy: Policy,
    key: jax.Array,
    num_steps: int,
    *,
    params: Any = None,
    start: tuple[Any, _core.TimeStep[Any]] | None = None,
    keep: Iterable[str] | None = None,
) -> tuple[tuple[Any, _core.TimeStep[Any]], Trajectory]:
    """Runs `policy` in `env` for `num_steps` steps in one `lax.scan`.

    Equivalent to this Python loop, but traced once::

        reset_key, key = jax.random.split(key)        # only when `start` is None
        state, timestep = env.reset(reset_key)        # or `start`
        for t, policy_key in enumerate(jax.random.split(key, num_steps)):
            action = policy(params, timestep.observation, policy_key)
            record(timestep.observation, action)      # Trajectory[t]
            state, timestep = env.step(state, action)
            record(timestep.reward, .discount, .step_type, .extras)

    The environment is stepped as it is: an environment without an auto-reset
    wrapper is stepped past its episode's end, which is its own business
    (wrap it, e.g. ``wrappers.wrap(env)``, to start new episodes). Batched
    environments (``wrap(env, num_envs=N)``, `Vmap`, `Tile`) work unchanged:
    the policy receives and returns the batch.

    Pure and jit-compatible; it compiles nothing itself. Jit it with the
    non-array arguments static::

        fast = jax.jit(rollout, static_argnames=("env", "policy", "num_steps", "keep"))

    so that a second call with a new key (or params, or start) of the same
    shapes reuses the compiled rollout. Pass `keep` as a tuple under `jit`.

    Args:
        env: Any environment or wrapper stack.
        policy: ``policy(params, observation, key) -> action``, traceable.
        key: A PRNG key: split into the reset key (unless `start` is given) and
            one policy key per step.
        num_steps: The number of steps T (a Python int).
        params: The policy's parameters, passed through to `policy`.
        start: ``(state, timestep)`` to continue from (e.g. the first output of
            a previous call) instead of resetting.
        keep: The `Trajectory` fields to record (default: all); the others are
            None and cost no memory, e.g. ``keep=("rewards", "step_types")``.

    Returns:
        ``((state, timestep), trajectory)``, like `lax.scan`: the final state
        and time step (pass them back as `start` to continue), and the
        `Trajectory` with a leading time axis of length `num_steps`.

    Raises:
        ValueError: If `num_steps` is not a positive int, `keep` names an
            unknown field, or the policy's action does not match the action
            spec in structure, shape or dtype (`wrappers` `ERR_ACTION`, raised
            while tracing, before anything runs).
        TypeError: If `keep` is a string.

    >>> import jax, jit_env
    >>> from jit_env import wrappers
    >>> env = wrappers.wrap(jit_env.make("CartPole-v1"), jit=False)
    >>> policy = lambda params, observation, key: jax.random.bernoulli(key).astype("int32")
    >>> (state, timestep), traj = rollout(env, policy, jax.random.key(0), 100)
    >>> traj.observations.shape, traj.rewards.shape, traj.final_observation.shape
    ((100, 4), (100,), (100, 4))
    >>> sorted(traj.extras)
    ['episode']
    >>> _, small = rollout(env, policy, jax.random.key(0), 100, keep=("rewards",))
    >>> small.observations is None, bool((small.rewards == traj.rewards).all())
    (True, True)
    """
    if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
        raise ValueError(ERR_NUM_STEPS.format(num_steps))
    chosen = _keep_set(keep)
    if start is None:
        reset_key, key = jax.random.split(key)
        start = env.reset(reset_key)

    def body(carry: tuple[Any, _core.TimeStep[Any]], step_key: jax.Array) -> Any:
        state, timestep = carry
        action = policy(params, timestep.observation, step_key)
        _common.check_action(env, action)
        state, next_timestep = env.step(state, action)
        return (state, next_timestep), _record(action, timestep.observation, next_timestep, chosen)

    final, trajectory = jax.lax.scan(body, start, jax.random.split(key, num_steps))
    return final, trajectory


def rollout_batch(
    env: _core.Environment[Any, Any, Any],
    policy: Policy,
    keys: jax.Array,
    num_steps: int,
    *,
    params: Any = None,
    start: tuple[Any, _core.TimeStep[Any]] | None = None,
    keep: Iterable[str] | None = None,
) -> tuple[tuple[Any, _core.TimeStep[Any]], Trajectory]:
    """`rollout` for a batch of keys, vmapped: B independent copies of `env`, one policy.

    Element ``i`` of every output equals ``rollout(env, policy, keys[i],
    num_steps, params=params, start=start_i, keep=keep)``, where ``start_i`` is
    row ``i`` of `start`. `params` is shared by the whole batch.

    Args:
        env: Any environment or wrapper stack (one copy; vmapped here).
        policy: ``policy(params, observation, key) -> action`` for one copy.
        keys: A batch of B PRNG keys (leading axis B).
        num_steps: The number of steps T.
        params: The policy's parameters, shared.
        start: A batch of ``(state, timestep)`` (leading axis B) to continue from.
        keep: As in `rollout`.

    Returns:
        As `rollout`, with a leading batch axis: trajectory fields are
        ``(B, T, ...)``.

    >>> import jax, jit_env
    >>> from jit_env import wrappers
    >>> env = wrappers.AutoReset(jit_env.make("CartPole-v1"))
    >>> policy = lambda params, observation, key: jax.random.bernoulli(key).astype("int32")
    >>> _, traj = rollout_batch(env, policy, jax.random.split(jax.random.key(0), 8), 10)
    >>> traj.observations.shape
    (8, 10, 4)
    """

    def one(key: jax.Array, start: Any) -> Any:
        return rollout(env, policy, key, num_steps, params=params, start=start, keep=keep)

    result: tuple[tuple[Any, _core.TimeStep[Any]], Trajectory] = jax.vmap(one)(keys, start)
    return result


def rollout_population(
    env: _core.Environment[Any, Any, Any],
    policy: Policy,
    keys: jax.Array,
    num_steps: int,
    *,
    params: Any,
    start: tuple[Any, _core.TimeStep[Any]] | None = None,
    keep: Iterable[str] | None = None,
) -> tuple[tuple[Any, _core.TimeStep[Any]], Trajectory]:
    """`rollout` for a population of P policy parameters, vmapped over params and keys.

    Element ``i`` of every output equals ``rollout(env, policy, keys[i],
    num_steps, params=params_i, start=start_i, keep=keep)``, where ``params_i``
    is row ``i`` of every leaf of `params`. For common random numbers (every
    member sees the same episodes) pass the same key P times, e.g.
    ``jnp.stack([key] * P)``.

    Args:
        env: Any environment or wrapper stack (one copy per member).
        policy: ``policy(params, observation, key) -> action`` for one member.
        keys: A batch of P PRNG keys (leading axis P).
        num_steps: The number of steps T.
        params: The population's parameters: every leaf has a leading axis P.
        start: A batch of ``(state, timestep)`` (leading axis P) to continue from.
        keep: As in `rollout`.

    Returns:
        As `rollout`, with a leading population axis: trajectory fields are
        ``(P, T, ...)``.

    >>> import jax, jax.numpy as jnp, jit_env
    >>> from jit_env import wrappers
    >>> env = wrappers.AutoReset(jit_env.make("CartPole-v1"))
    >>> policy = lambda w, observation, key: (observation @ w > 0).astype("int32")
    >>> weights = jax.random.normal(jax.random.key(1), (5, 4))
    >>> _, traj = rollout_population(env, policy, jax.random.split(jax.random.key(0), 5), 50,
    ...                              params=weights, keep=("rewards",))
    >>> traj.rewards.sum(axis=1).shape
    (5,)
    """

    def one(key: jax.Array, member: Any, start: Any) -> Any:
        return rollout(env, policy, key, num_steps, params=member, start=start, keep=keep)

    result: tuple[tuple[Any, _core.TimeStep[Any]], Trajectory] = jax.vmap(one)(keys, params, start)
    return result
