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
    structure: Any = jax.tree_util.tree_structure(a)
    if structure != jax.tree_util.tree_structure(b):
        raise AssertionError(
            f"{what}: tree structures differ: {jax.tree_util.tree_structure(a)} vs "
            f"{jax.tree_util.tree_structure(b)}")
    if _structure(a) != _structure(b):
        raise AssertionError(f"{what}: shapes or dtypes differ: {_structure(a)} vs {_structure(b)}")


def _assert_in_spec(spec: specs.Spec[Any], value: Any, what: str) -> None:
    try:  # On concrete values `validate` checks bounds in NumPy: no compilation.
        spec.validate(jax.device_get(value))
    except ValueError as e:
        raise AssertionError(f"{what} does not match its spec: {e}") from None


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
      key (auto-reset wrappers reset from `state.key`, so an environment that
      stored the reset key itself would replay the same episode forever), and
      an observation in its spec;
    * `reset` and `step` return identical pytree structures, shapes and dtypes
      (`jax.eval_shape`), so `lax.scan` and `lax.cond` work;
    * a `num_steps` random-action rollout (one jitted `lax.scan`, resetting
      after LAST) stays in the specs, with step types MID or LAST;
    * the same key gives the same rollout, `jit(step)` compiles once and
      agrees with the scan, and `vmap` over keys works.

    Raises:
        AssertionError: Naming the check that failed.
    """
    env_specs = specs.make_environment_spec(env)
    for name, spec in env_specs._asdict().items():
        if not isinstance(spec, specs.Spec):
            raise AssertionError(f"{name} spec of {env} is not a jit_env Spec: {spec!r}")
    key = jax.random.key(seed)

    def reset_fn(k: jax.Array) -> Any:
        return env.reset(k, options=options)

    abstract_reset = jax.eval_shape(reset_fn, key)
    abstract_step = jax.eval_shape(env.step, abstract_reset[0], env_specs.actions.generate_value())
    assert_same_structure(abstract_reset, abstract_step, "reset vs step outputs")

    counter = TraceCounter()
    reset = jax.jit(reset_fn)
    step = jax.jit(counter.wrap(env.step))
    key_words = jax.jit(lambda k: jax.random.key_data(_core.state_key(reset_fn(k)[0])) == jax.random.key_data(k))
    state, timestep = reset(key)
    if bool(np.all(key_words(key))):
        raise AssertionError("reset stored the reset key itself in the state; store a key split off it.")
    if int(timestep.step_type) != _core.StepType.FIRST:
        raise AssertionError(f"reset returned step_type {timestep.step_type}, expected FIRST")
    _assert_in_spec(env_specs.observations, timestep.observation, "reset observation")

    def body(carry: Any, k: jax.Array) -> Any:
        state, last = carry
        state = jax.lax.cond(last, lambda: reset_fn(jax.random.fold_in(k, 1))[0], lambda: state)
        action = env_specs.actions.sample(k)
        state, timestep = env.step(state, action)
        return (state, timestep.last()), (action, timestep)

    @jax.jit
    def rollout(k: jax.Array) -> Any:
        state, _ = reset_fn(k)
        keys = jax.random.split(jax.random.fold_in(k, 2), num_steps)
        return jax.lax.scan(body, (state, jnp.zeros((), bool)), keys)[1]

    actions, steps = jax.device_get(rollout(key))  # NumPy from here: no more compiles.
    for spec, value, what in ((env_specs.actions, actions, "sampled action"),
                              (env_specs.observations, steps.observation, "step observation"),
                              (env_specs.rewards, steps.reward, "reward"),
                              (env_specs.discounts, steps.discount, "discount")):
        _assert_in_spec(specs.Batched(spec, num_steps), value, what)
    step_types = np.asarray(steps.step_type)
    if not np.all((step_types == _core.StepType.MID) | (step_types == _core.StepType.LAST)):
        raise AssertionError(f"step returned step types {np.unique(step_types)}, expected MID or LAST")
    again = jax.device_get(rollout(key)[1])
    for a, b in zip(jax.tree_util.tree_leaves(steps), jax.tree_util.tree_leaves(again), strict=True):
        if not np.array_equal(np.asarray(a), np.asarray(b)):
            raise AssertionError("two rollouts from the same key differ: the environment is not deterministic")

    state, _ = reset(key)
    for i in range(min(5, num_steps)):
        state, ts = step(state, jax.tree_util.tree_map(lambda x, i=i: x[i], actions))
        got = jax.tree_util.tree_map(lambda x, i=i: x[i], steps)
        for a, b in zip(jax.tree_util.tree_leaves((got.observation, got.reward, got.step_type)),
                        jax.tree_util.tree_leaves((ts.observation, ts.reward, ts.step_type)), strict=True):
            if not np.allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5):
                raise AssertionError(f"jit(step) disagrees with lax.scan at step {i}")
        if bool(ts.last()):
            break
    if counter.count != 1:
        raise AssertionError(f"jit(step) was traced {counter.count} times for one input signature")

    batch = jax.jit(lambda k: jax.vmap(rollout)(jax.random.split(k, 2)))(key)
    assert_same_structure(jax.tree_util.tree_map(lambda x: x[0], batch), (actions, steps), "vmap(rollout) slice")
