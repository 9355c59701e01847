"""Checks the hub adapter tests share: the bridges, x64 and lockstep."""

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
from jit_env import compat, testing, wrappers
from jit_env.adapters import _common

REPO = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir)


def library_call(fn: Any) -> Any:
    """`fn` run under JAX's standard promotion, as the library's own users run it
    (the suite's conftest turns on strict promotion)."""
    def call(*args: Any) -> Any:
        with _common.library_promotion():
            return fn(*args)

    return call


def _without_warnings_of_ours(run: Any, advice: tuple[str, ...] = ()) -> None:
    """Runs `run()` and fails on any warning Gymnasium's checker or jit_env raised.

    The libraries' own warnings while they build and trace (brax's deprecation
    notices, MJX's renamed fields) are theirs, not the bridge's, and pass; so
    does checker advice containing a text of `advice` (each use says why).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    ours = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
            if ("WARN:" in str(w.message) or any(
                part in w.filename for part in ("/gymnasium/", "/jit_env/", "/tests/")))
            and not any(text in str(w.message) for text in advice)]
    assert not ours, ours


def check_gymnasium(make_env: Any, *, renders: bool, advice: tuple[str, ...] = ()) -> None:
    """Gymnasium's env checker through `ToGymnasium`, none of its warnings raised.

    With `renders`, the environment is made through `gymnasium.make` (a spec), so
    the checker also renders in every declared mode; without, the render check is
    left out because the library's picture is not a jittable RGB array (Pgx's
    SVG, Jumanji's matplotlib figure), which the bridge's "rgb_array" mode needs.
    """
    if not renders:
        bridge = compat.ToGymnasium(make_env(), seed=0)
        _without_warnings_of_ours(lambda: env_checker.check_env(bridge, skip_render_check=True), advice)
        return
    gymnasium.register(
        id="jit_env_hub/Adapted-v0",
        entry_point=lambda **kwargs: compat.ToGymnasium(make_env(), **kwargs))
    try:
        _without_warnings_of_ours(
            lambda: env_checker.check_env(gymnasium.make("jit_env_hub/Adapted-v0").unwrapped), advice)
    finally:
        del gymnasium.registry["jit_env_hub/Adapted-v0"]


def run_vector(env: jit_env.Environment, *, num_envs: int = 3, steps: int = 8) -> None:
    """Runs `ToGymnasiumVector` for `steps` random steps and checks the batch shapes."""
    vector = compat.ToGymnasiumVector(env, num_envs, seed=0)
    observation, _ = vector.reset(seed=0)
    vector.action_space.seed(0)
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = vector.step(vector.action_space.sample())
        assert np.shape(reward) == (num_envs,)
        assert np.shape(terminated) == np.shape(truncated) == (num_envs,)
    assert vector.observation_space.contains(observation), _outside(vector.observation_space, observation)
    vector.close()


def _outside(space: Any, value: Any, path: str = "observation") -> list[str]:
    """The leaves of `value` that `space` does not contain, with their ranges, for a failure message."""
    if isinstance(space, gymnasium.spaces.Dict):
        return [p for k in space.spaces for p in _outside(space[k], value[k], f"{path}[{k!r}]")]
    if isinstance(space, gymnasium.spaces.Tuple):
        return [p for i, s in enumerate(space.spaces) for p in _outside(s, value[i], f"{path}[{i}]")]
    if space.contains(value):
        return []
    value = np.asarray(value)
    return [f"{path}: {space} does not contain {value.dtype}{list(value.shape)} in "
            f"[{value.min()}, {value.max()}]"]


def dm_env_conformance(make_env: Any, actions: Any) -> type:
    """A dm_env `EnvironmentTestMixin` test case for `ToDeepmindEnv(make_env())`.

    `actions()` yields the long test's action sequence; None keeps the mixin's
    (its spec's `generate_value`, 20 times)."""
    from absl.testing import absltest

    class Conformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
        def make_object_under_test(self) -> Any:
            return compat.ToDeepmindEnv(make_env(), seed=0)

        def make_action_sequence(self) -> Any:
            yield from (super().make_action_sequence() if actions is None else actions())

    return Conformance


def run_conformance(case: type) -> None:
    """Runs every test of a unittest case and fails with the first failure's text."""
    import unittest

    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    problems = result.errors + result.failures
    assert result.testsRun > 0
    assert not problems, problems[0][1]


def check_every_id(make_env: Any, *, num_steps: int = 20, batch_size: int = 2,
                   episode_steps: int = 3, view: Any = None, advice: tuple[str, ...] = (),
                   **tolerance: float) -> None:
    """What every hub id passes: jit_env's checker, then the three bridges.

    `make_env()` builds the environment as `jit_env.make` gives it; the bridges
    take `view(make_env())` where a `view` is given (a multi-player game's
    single-agent view: Gymnasium wants a scalar reward); `advice` lists checker
    advice the id may draw (see `check_gymnasium`); `tolerance` (``rtol``,
    ``atol``) goes to the checker's ``jit`` check. The bridges:
    Gymnasium's env checker through `ToGymnasium` (every warning an error, the
    render check left out: each library's tests render), `ToGymnasiumVector` for
    a few random steps, and dm_env's conformance mixin through `ToDeepmindEnv`
    on episodes cut at `episode_steps` steps, so the mixin also sees LAST
    followed by FIRST.
    """
    testing.check_env(make_env(), num_steps=num_steps, batch_size=batch_size, **tolerance)
    bridged = make_env if view is None else lambda: view(make_env())
    check_gymnasium(bridged, renders=False, advice=advice)
    run_vector(bridged(), num_envs=2, steps=2 * episode_steps)
    run_conformance(dm_env_conformance(
        lambda: wrappers.TimeLimit(bridged(), max_episode_steps=episode_steps), actions=None))


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
