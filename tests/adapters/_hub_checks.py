"""Checks the Jumanji, Craftax and Pgx adapter tests share: the bridges, x64 and lockstep."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from dm_env import test_utils
from gymnasium.utils import env_checker

import jit_env
from jit_env import compat
from jit_env.adapters import _common

REPO = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)


def library_call(fn: Any) -> Any:
    """`fn` run under JAX's standard promotion, as the library's own users run it
    (the suite's conftest turns on strict promotion)."""
    def call(*args: Any) -> Any:
        with _common.library_promotion():
            return fn(*args)

    return call


def check_gymnasium(make_env: Any, *, renders: bool) -> None:
    """Gymnasium's env checker through `ToGymnasium`, every warning an error.

    With `renders`, the environment is made through `gymnasium.make` (a spec), so
    the checker also renders in every declared mode; without, the render check is
    left out because the library's picture is not a jittable RGB array (Pgx's
    SVG, Jumanji's matplotlib figure), which the bridge's "rgb_array" mode needs.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if not renders:
            env_checker.check_env(compat.ToGymnasium(make_env(), seed=0),
                                  skip_render_check=True)
            return
        gymnasium.register(
            id="jit_env_games/Adapted-v0",
            entry_point=lambda **kwargs: compat.ToGymnasium(make_env(), **kwargs))
        try:
            env_checker.check_env(gymnasium.make("jit_env_games/Adapted-v0").unwrapped)
        finally:
            del gymnasium.registry["jit_env_games/Adapted-v0"]


def run_vector(env: jit_env.Environment, *, num_envs: int = 3, steps: int = 8) -> None:
    """Runs `ToGymnasiumVector` for `steps` random steps and checks the batch shapes."""
    vector = compat.ToGymnasiumVector(env, num_envs, seed=0)
    observation, _ = vector.reset(seed=0)
    vector.action_space.seed(0)
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = vector.step(vector.action_space.sample())
        assert np.shape(reward) == (num_envs,)
        assert np.shape(terminated) == np.shape(truncated) == (num_envs,)
    assert vector.observation_space.contains(observation)
    vector.close()


def dm_env_conformance(make_env: Any, actions: Any) -> type:
    """A dm_env `EnvironmentTestMixin` test case for `ToDeepmindEnv(make_env())`."""
    from absl.testing import absltest

    class Conformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
        def make_object_under_test(self) -> Any:
            return compat.ToDeepmindEnv(make_env(), seed=0)

        def make_action_sequence(self) -> Any:
            yield from actions()

    return Conformance


def run_conformance(case: type) -> None:
    """Runs every test of a unittest case and fails with the first failure's text."""
    import unittest

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    problems = result.errors + result.failures
    assert result.testsRun > 0
    assert not problems, problems[0][1]


def x64_layouts(module: str, ids: list[str], kwargs: str = "{}") -> dict[str, Any]:
    """In a JAX_ENABLE_X64=1 subprocess: for each id, whether reset's and step's
    (state, timestep) have the same structure, shapes and dtypes, and a two-step
    `lax.scan` runs. Returns id -> "ok" or the first difference / error."""
    code = textwrap.dedent(f"""
        import json, jax, jax.numpy as jnp
        from jit_env.adapters import {module} as lib
        out = {{}}
        for name in {ids!r}:
            try:
                env = lib.make(name, **{kwargs})
                key = jax.random.key(0)
                state, ts = jax.eval_shape(env.reset, key)
                action = env.action_spec().generate_value()
                after = jax.eval_shape(env.step, state, action)
                a = jax.tree_util.tree_flatten_with_path((state, ts))
                b = jax.tree_util.tree_flatten_with_path(after)
                if a[1] != b[1]:
                    out[name] = "structure differs"
                    continue
                diff = [(jax.tree_util.keystr(p), str(x.dtype), str(y.dtype), x.shape, y.shape)
                        for (p, x), (_, y) in zip(a[0], b[0])
                        if x.dtype != y.dtype or x.shape != y.shape]
                if diff:
                    out[name] = str(diff[:3])
                    continue
                def body(carry, _):
                    return env.step(carry, action)[0], None
                jax.eval_shape(lambda k: jax.lax.scan(body, env.reset(k)[0], length=2), key)
                out[name] = "ok"
            except Exception as e:  # Reported per id to the test.
                out[name] = type(e).__name__ + ": " + str(e)[:300]
        print("RESULT" + json.dumps(out))
    """)
    env = {**os.environ, "JAX_ENABLE_X64": "1", "PYTHONPATH": os.path.abspath(REPO)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT"):])
    return result


def assert_trees_equal(ours: Any, theirs: Any) -> None:
    """Leaf by leaf exact equality of two pytrees with the same structure."""
    assert jax.tree_util.tree_structure(ours) == jax.tree_util.tree_structure(theirs)
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs),
                    strict=True):
        a, b = jnp.asarray(a), jnp.asarray(b)
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def gymnasium_episode(env: Any, action: Any, limit: int) -> tuple[int, bool, bool]:
    """(steps, terminated, truncated) of one Gymnasium episode with a constant action, at most `limit` steps."""
    env.reset(seed=0)
    for t in range(1, limit + 1):
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return t, bool(terminated), bool(truncated)
    return limit, False, False


def episode(env: Any, action: Any, limit: int) -> tuple[int, float | None]:
    """(steps, discount of the LAST step) of one jit_env episode with a constant action, in one scan."""
    def body(state: Any, _: Any) -> Any:
        state, timestep = env.step(state, action)
        return state, (timestep.last(), timestep.discount)

    state, _ = env.reset(jax.random.key(0))
    _, (last, discount) = jax.jit(lambda s: jax.lax.scan(body, s, None, length=limit))(state)
    last = np.asarray(last)
    if not last.any():
        return limit, None
    end = int(np.argmax(last))
    return end + 1, float(discount[end])
