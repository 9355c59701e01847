"""Checks any jit_env environment can be put through, for your own tests.

>>> from jit_env import testing  # doctest: +SKIP
>>> testing.check_environment(MyEnv())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, specs


class TraceCounter:
    """Counts how often a function is traced (each trace is a compile under `jit`).

    >>> counter = TraceCounter()
    >>> f = jax.jit(counter.wrap(lambda x: x + 1))
    >>> _ = f(1.0); _ = f(2.0)
    >>> counter.count
    1
    """

    def __init__(self) -> None:
        self.count = 0

    def wrap(self, fn: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return fn(*args, **kwargs)

        return counted


def _structure(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: (jnp.shape(x), jnp.result_type(x)), tree)


def assert_same_structure(a: Any, b: Any, what: str) -> None:
    """Raises AssertionError unless `a` and `b` have equal trees, shapes and dtypes."""
    if jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b):
        raise AssertionError(
            f"{what}: tree structures differ: {jax.tree_util.tree_structure(a)} vs "
            f"{jax.tree_util.tree_structure(b)}")
    if _structure(a) != _structure(b):
        raise AssertionError(f"{what}: shapes or dtypes differ: {_structure(a)} vs {_structure(b)}")


def _assert_in_spec(spec: specs.Spec[Any], value: Any, what: str) -> None:
    try:
        spec.validate(value)
    except ValueError as e:
        raise AssertionError(f"{what} does not match its spec: {e}") from None
    if not bool(spec.contains(value)):
        raise AssertionError(f"{what} is not contained in its spec {spec!r}: {value}")


def check_environment(
    env: _core.Environment[Any, Any, Any],
    *,
    num_steps: int = 100,
    seed: int = 0,
    options: Any = None,
) -> None:
    """Runs an environment through the checks every jit_env environment must pass.

    * the four specs are `Spec`s;
    * `reset` returns FIRST, a state carrying a key that differs from the reset
      key (so auto-reset wrappers, which reset from `state.key`, start new
      episodes), and values that match the specs;
    * `reset` and `step` return identical pytree structures, shapes and dtypes
      (`jax.eval_shape`), so `lax.scan` and `lax.cond` work;
    * `num_steps` steps with random actions under `jit` stay in spec, with step
      types MID or LAST (reset after LAST), and compile once;
    * the same key gives the same trajectory; `vmap` over keys and `lax.scan`
      over steps work and agree with the stepwise run.

    Raises:
        AssertionError: Naming the check that failed.
    """
    env_specs = specs.make_environment_spec(env)
    for name, spec in env_specs._asdict().items():
        if not isinstance(spec, specs.Spec):
            raise AssertionError(f"{name} spec of {env} is not a jit_env Spec: {spec!r}")
    key = jax.random.key(seed)
    counter_reset, counter_step = TraceCounter(), TraceCounter()
    reset = jax.jit(counter_reset.wrap(lambda k: env.reset(k, options=options)))
    step = jax.jit(counter_step.wrap(env.step))

    state, timestep = reset(key)
    state_key = _core.state_key(state)
    if np.array_equal(jax.random.key_data(state_key), jax.random.key_data(key)):
        raise AssertionError(
            "reset stored the reset key itself in the state; store a key split off it.")
    if not bool(timestep.first()):
        raise AssertionError(f"reset returned step_type {timestep.step_type}, expected FIRST")
    _assert_in_spec(env_specs.observations, timestep.observation, "reset observation")

    abstract_reset = jax.eval_shape(lambda k: env.reset(k, options=options), key)
    action = env_specs.actions.generate_value()
    abstract_step = jax.eval_shape(env.step, abstract_reset[0], action)
    assert_same_structure(abstract_reset, abstract_step, "reset vs step outputs")

    def rollout(state: Any, key: jax.Array) -> Any:
        action = env_specs.actions.sample(key)
        return env.step(state, action)

    trajectory = []
    keys = jax.random.split(jax.random.fold_in(key, 1), num_steps)
    for k in keys:
        if bool(timestep.last()):
            state, timestep = reset(jax.random.fold_in(k, 2))
        action = env_specs.actions.sample(k)
        _assert_in_spec(env_specs.actions, action, "sampled action")
        state, timestep = step(state, action)
        if not bool(timestep.mid() | timestep.last()):
            raise AssertionError(f"step returned step_type {timestep.step_type}, expected MID or LAST")
        _assert_in_spec(env_specs.observations, timestep.observation, "step observation")
        _assert_in_spec(env_specs.rewards, timestep.reward, "reward")
        _assert_in_spec(env_specs.discounts, timestep.discount, "discount")
        trajectory.append(timestep)
    if counter_reset.count != 1 or counter_step.count != 1:
        raise AssertionError(
            f"retraced: reset traced {counter_reset.count} times, step {counter_step.count} times")

    # Determinism and agreement of lax.scan with the stepwise run (first episode).
    state0, _ = reset(key)
    _, scanned = jax.jit(lambda s: jax.lax.scan(rollout, s, keys[:5]))(state0)
    state0, _ = reset(key)
    for i, k in enumerate(keys[:5]):
        state0, ts = step(state0, env_specs.actions.sample(k))
        got = jax.tree_util.tree_map(lambda x, i=i: x[i], scanned)
        for a, b in zip(jax.tree_util.tree_leaves((got.observation, got.reward, got.step_type)),
                        jax.tree_util.tree_leaves((ts.observation, ts.reward, ts.step_type))):
            if not np.allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5):
                raise AssertionError(f"lax.scan disagrees with stepping at step {i}")
        if bool(ts.last()):
            break

    batch_state, batch_ts = jax.jit(jax.vmap(lambda k: env.reset(k, options=options)))(jax.random.split(key, 3))
    assert_same_structure(
        jax.tree_util.tree_map(lambda x: x[0], batch_ts), abstract_reset[1], "vmap(reset) slice vs reset")
    batch_actions = jax.vmap(env_specs.actions.sample)(jax.random.split(key, 3))
    jax.jit(jax.vmap(env.step))(batch_state, batch_actions)
