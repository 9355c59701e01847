"""Golden trajectories: every built-in environment under every auto-reset mode, strategy and `wrap`.

`tests/data/golden_trajectories.npz` was recorded on main at 76a6729, before the
auto-reset and episode-scope redesign (issue 17), with jax 0.10.2 on CPU. The
redesign must reproduce every trajectory bit for bit; an intended difference is
listed in `INTENDED_DIFFERENCES` with its reason.

Re-record (only for a deliberate change, named in the commit) with
``JIT_ENV_RECORD_GOLDEN=1 pytest tests/wrappers/test_golden.py``.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import jax
import numpy as np
import pytest

import jit_env
from jit_env import wrappers

pytestmark = pytest.mark.integration

GOLDEN = pathlib.Path(__file__).parent.parent / "data" / "golden_trajectories.npz"
RECORD = os.environ.get("JIT_ENV_RECORD_GOLDEN") == "1"
RECORDED_WITH = "jax 0.10.2"

ENV_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0",
           "Pendulum-v1", "Catch-v0", "DeepSea-v0")
NUM_ENVS = 4
NUM_STEPS = 40
MAX_EPISODE_STEPS = 11  # short, so truncations, terminations and resets all happen

# config name -> intended difference from the recording, with its reason.
INTENDED_DIFFERENCES: dict[str, str] = {}


def _configs() -> dict[str, Any]:
    configs: dict[str, Any] = {}
    for mode in ("same_step", "next_step"):
        configs[f"AutoReset-{mode}"] = lambda env, mode=mode: wrappers.AutoReset(env, mode=mode)
        for strategy in ("complete", "optimistic", "precomputed"):
            configs[f"TileAutoReset-{mode}-{strategy}"] = (
                lambda env, mode=mode, strategy=strategy: wrappers.TileAutoReset(
                    env, NUM_ENVS, mode=mode, strategy=strategy))
        configs[f"wrap-{mode}"] = lambda env, mode=mode: wrappers.wrap(
            env, num_envs=NUM_ENVS, mode=mode, jit=False)
    return configs


CONFIGS = _configs()


def _trajectory(env_id: str, config: str) -> dict[str, np.ndarray]:
    env = CONFIGS[config](jit_env.make(env_id, max_episode_steps=MAX_EPISODE_STEPS))
    spec = env.action_spec()

    def run(key: jax.Array) -> Any:
        reset_key, action_key = jax.random.split(key)
        state, first = env.reset(reset_key)

        def body(state: Any, key: jax.Array) -> Any:
            state, timestep = env.step(state, spec.sample(key))
            return state, timestep

        state, steps = jax.lax.scan(body, state, jax.random.split(action_key, NUM_STEPS))
        return first, steps

    first, steps = jax.jit(run)(jax.random.key(7))
    out: dict[str, np.ndarray] = {}
    for prefix, tree in (("first", first), ("steps", steps)):
        for path, leaf in jax.tree_util.tree_leaves_with_path(tree):
            out[f"{env_id}|{config}|{prefix}{jax.tree_util.keystr(path)}"] = np.asarray(leaf)
    return out


CASES = [(env_id, config) for env_id in ENV_IDS for config in CONFIGS]


def _record() -> None:
    arrays: dict[str, np.ndarray] = {}
    for env_id, config in CASES:
        arrays.update(_trajectory(env_id, config))
    np.savez_compressed(GOLDEN, **arrays)


@pytest.fixture(scope="module")
def golden() -> Any:
    if RECORD:
        _record()
    with np.load(GOLDEN) as data:
        return dict(data)


@pytest.mark.parametrize(("env_id", "config"), CASES)
def test_golden__trajectory_equals_recording(golden: Any, env_id: str, config: str) -> None:
    if config in INTENDED_DIFFERENCES:
        pytest.xfail(INTENDED_DIFFERENCES[config])
    got = _trajectory(env_id, config)
    prefix = f"{env_id}|{config}|"
    expected = {k: v for k, v in golden.items() if k.startswith(prefix)}
    assert sorted(got) == sorted(expected), "the recorded trajectory has other leaves"
    for name, value in got.items():
        want = expected[name]
        assert value.dtype == want.dtype and value.shape == want.shape, name
        if jax.__version__ == RECORDED_WITH.split()[1]:
            np.testing.assert_array_equal(value, want, err_msg=name)
        else:  # another XLA may round differently; the integers must still agree exactly
            np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6, err_msg=name)
