"""`jit_env.checkpoint`: a state saved mid-run and restored in a FRESH process continues bit for bit.

Each case runs in subprocesses, as a preempted run would: the first runs `K` steps,
saves, and continues `M` steps (the uninterrupted run); the second builds the same
stack, restores the state from disk with `like=jax.eval_shape(...)`, and continues the
same `M` steps. Their outputs (every time step leaf, and the final state) must be
identical. Stacks are drawn by hypothesis from the wrappers that carry state of their
own (time limits, frame stacks, statistics, every auto-reset mode and strategy with
its pool, NormalizeObservation's statistics, Shard over four devices, raw keys).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

import hypothesis
import jax
import numpy as np
import pytest
from hypothesis import strategies as st

import jit_env
from jit_env import checkpoint, wrappers

pytestmark = pytest.mark.integration

ROOT = pathlib.Path(__file__).resolve().parents[1]
K, M = 7, 9

# The stack a recipe describes, built the same way in every process.
BUILD = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
import jit_env
from jit_env import checkpoint, wrappers

def build(recipe):
    env = jit_env.make(recipe["env"], max_episode_steps=recipe["limit"])
    if recipe["frame_stack"]:
        env = wrappers.FrameStack(env, num_stack=2)
    if recipe["stats"]:
        env = wrappers.EpisodeStatistics(env)
    num = recipe["num_envs"]
    if num is None:
        env = wrappers.AutoReset(env, mode=recipe["mode"])
    else:
        env = wrappers.TileAutoReset(env, num, mode=recipe["mode"], strategy=recipe["strategy"])
    if recipe["normalize"]:
        env = wrappers.NormalizeObservation(env)
    if recipe["shard"]:
        mesh = jax.make_mesh((4,), ("envs",))
        env = wrappers.Shard(env, mesh=mesh, axis_name="envs")
    return env

def reset_key(recipe):
    return jax.random.PRNGKey(recipe["seed"]) if recipe["raw_key"] else jax.random.key(recipe["seed"])

def run(env, state, start, steps):
    spec = env.action_spec()
    def body(state, t):
        state, ts = env.step(state, spec.sample(jax.random.fold_in(jax.random.key(99), t)))
        return state, ts
    return jax.jit(lambda s: jax.lax.scan(body, s, jnp.arange(start, start + steps)))(state)

def leaves(tree):
    return {jax.tree_util.keystr(p): np.asarray(jax.random.key_data(x) if jax.dtypes.issubdtype(
        x.dtype, jax.dtypes.prng_key) else x) for p, x in jax.tree_util.tree_leaves_with_path(tree)}
"""

FIRST = BUILD + f"""
recipes, root = json.loads(sys.argv[1]), sys.argv[2]
for i, recipe in enumerate(recipes):
    env = build(recipe)
    state, _ = jax.jit(env.reset)(reset_key(recipe))
    state, _ = run(env, state, 0, {K})
    checkpoint.save(f"{{root}}/ckpt{{i}}", state)
    state, steps = run(env, state, {K}, {M})
    np.savez(f"{{root}}/uninterrupted{{i}}.npz", **leaves((state, steps)))
"""

SECOND = BUILD + f"""
recipes, root = json.loads(sys.argv[1]), sys.argv[2]
for i, recipe in enumerate(recipes):
    env = build(recipe)
    like = jax.eval_shape(env.reset, reset_key(recipe))[0]
    if recipe["shard"]:  # a sharded state is restored onto the mesh's shardings
        like = jax.tree.map(lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s.sharding),
                            like, jax.jit(env.reset)(reset_key(recipe))[0])
    state = checkpoint.restore(f"{{root}}/ckpt{{i}}", like=like)
    state, steps = run(env, state, {K}, {M})
    np.savez(f"{{root}}/resumed{{i}}.npz", **leaves((state, steps)))
"""


def _run(code: str, recipes: list[dict[str, Any]], root: pathlib.Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    result = subprocess.run([sys.executable, "-c", code, json.dumps(recipes), str(root)],
                            capture_output=True, text=True, env=env, cwd=ROOT, timeout=900, check=False)
    assert result.returncode == 0, result.stderr[-4000:]


ENV_IDS = ["CartPole-v1", "Pendulum-v1", "Catch-v0", "DeepSea-v0", "MountainCarContinuous-v0"]
FLOAT_OBSERVATIONS = ("CartPole-v1", "Pendulum-v1", "MountainCarContinuous-v0")  # NormalizeObservation's


@st.composite
def recipes(draw: st.DrawFn) -> dict[str, Any]:
    shard = draw(st.booleans())
    num_envs = 8 if shard else draw(st.sampled_from([None, 3]))
    env_id = draw(st.sampled_from(ENV_IDS))
    return {
        "env": env_id,
        "limit": draw(st.sampled_from([4, 6])),
        "frame_stack": draw(st.booleans()),
        "stats": draw(st.booleans()),
        "num_envs": num_envs,
        "mode": draw(st.sampled_from(["same_step", "next_step"])),
        "strategy": draw(st.sampled_from(["complete", "optimistic", "precomputed"])),
        "normalize": env_id in FLOAT_OBSERVATIONS and draw(st.booleans()),
        "shard": shard,
        "raw_key": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


@hypothesis.settings(max_examples=2, deadline=None, derandomize=True, phases=[hypothesis.Phase.generate],
                     suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(st.lists(recipes(), min_size=6, max_size=6))
def test_checkpoint__restored_in_a_fresh_process_continues_bit_for_bit(
        tmp_path_factory: pytest.TempPathFactory, batch: list[dict[str, Any]]) -> None:
    root = tmp_path_factory.mktemp("ckpt")
    _run(FIRST, batch, root)
    _run(SECOND, batch, root)
    for i, recipe in enumerate(batch):
        with np.load(root / f"uninterrupted{i}.npz") as want, np.load(root / f"resumed{i}.npz") as got:
            assert sorted(want.files) == sorted(got.files), recipe
            for name in want.files:
                np.testing.assert_array_equal(got[name], want[name], err_msg=f"{recipe}: {name}")


def test_checkpoint__typed_and_raw_keys_round_trip_in_process(tmp_path: pathlib.Path) -> None:
    env = wrappers.TileAutoReset(jit_env.make("CartPole-v1"), 4, strategy="precomputed")
    for key in (jax.random.key(1), jax.random.PRNGKey(1), jax.random.key(1, impl="rbg")):
        state, _ = env.reset(key)
        path = tmp_path / str(abs(hash(str(jax.eval_shape(lambda: key)))))
        checkpoint.save(path, state)
        restored = checkpoint.restore(path, like=state)
        assert jax.tree.structure(restored) == jax.tree.structure(state)
        for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state), strict=True):
            assert a.dtype == b.dtype
            if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
                assert jax.random.key_impl(a) == jax.random.key_impl(b)
                a, b = jax.random.key_data(a), jax.random.key_data(b)
            np.testing.assert_array_equal(a, b)


def test_checkpoint__refuses_to_overwrite_and_names_the_fix(tmp_path: pathlib.Path) -> None:
    state, _ = jit_env.make("CartPole-v1").reset(jax.random.key(0))
    checkpoint.save(tmp_path / "c", state)
    with pytest.raises(FileExistsError, match=re.escape(checkpoint.ERR_EXISTS.format(path=tmp_path / "c"))):
        checkpoint.save(tmp_path / "c", state)
    checkpoint.save(tmp_path / "c", state, overwrite=True)


def test_checkpoint__restore_with_another_stack_names_the_mismatch(tmp_path: pathlib.Path) -> None:
    state, _ = jit_env.make("CartPole-v1").reset(jax.random.key(0))
    checkpoint.save(tmp_path / "c", state)
    other, _ = wrappers.EpisodeStatistics(jit_env.make("CartPole-v1")).reset(jax.random.key(0))
    with pytest.raises(ValueError, match=re.escape("holds a state of another structure than `like`")):
        checkpoint.restore(tmp_path / "c", like=other)


def test_checkpoint__restore_without_a_checkpoint_names_save(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match=re.escape(checkpoint.ERR_NOT_FOUND.format(
            path=tmp_path, file="jit_env_state.json"))):
        checkpoint.restore(tmp_path, like=None)
