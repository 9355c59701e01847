"""examples/ppo_torch.py: torch PPO over ToGymnasiumVector and Gymnasium's array wrappers (clients tox env).

The short run (2 updates of 16 envs x 32 steps, 1 epoch) is far too short to learn;
what it checks is that the loop runs end to end on torch tensors through the bridge,
that the NEXT_STEP reset steps are counted and left out of the batches, and that the
curve, the summary and the greedy evaluation come out well formed. That the full run
reaches 475 is measured in docs/index.md, not here.
"""

from __future__ import annotations

import csv
import math
import os
import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="the clients tox env installs torch")

ROOT = pathlib.Path(__file__).resolve().parents[2]
NUM_ENVS, STEPS_PER_UPDATE = 16, 32  # --short


def run_short(tmp_path: pathlib.Path, backend: str, seed: int) -> tuple[str, list[dict[str, str]]]:
    curve = tmp_path / f"curve_{backend}.csv"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, "-W", "error", str(ROOT / "examples" / "ppo_torch.py"), "--short", "--seed", str(seed),
         "--array-backend", backend, "--curve", str(curve)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    with open(curve, newline="") as f:
        return result.stdout, list(csv.DictReader(f))


def test_ppo_torch__short_run_steps_learns_and_evaluates_through_the_bridge(tmp_path):
    stdout, rows = run_short(tmp_path, "numpy", seed=1)
    assert [int(r["update"]) for r in rows] == [1, 2]
    assert [int(r["env_steps"]) for r in rows] == [NUM_ENVS * STEPS_PER_UPDATE * i for i in (1, 2)]
    # A near-random policy's CartPole episodes last about 22 steps: many end in every update,
    # and each logged mean is a real CartPole return (one per step, at most 500).
    assert all(int(r["episodes"]) > 0 for r in rows)
    assert all(math.isfinite(float(r["mean_return"])) and 8.0 <= float(r["mean_return"]) <= 500.0 for r in rows)
    # Every episode end but those on the very last step is followed by one reset step, which
    # the batches leave out: so there are a few fewer reset steps than episodes, never more.
    match = re.search(r"(\d+) episodes ended; (\d+) reset steps left out of the batches", stdout)
    assert match, stdout
    episodes, reset_steps = map(int, match.groups())
    assert episodes == sum(int(r["episodes"]) for r in rows)
    assert episodes > NUM_ENVS and episodes - NUM_ENVS <= reset_steps <= episodes
    greedy = re.search(r"greedy policy after training: mean return ([\d.]+) over 16 episodes", stdout)
    assert greedy and 8.0 <= float(greedy.group(1)) <= 500.0, stdout
    assert re.search(r"seed 1 \(numpy arrays\): 1024 env steps in [\d.]+ s; mean return over the last 1 updates "
                     r"[\d.]+; no update reached a mean return of 475\n", stdout), stdout


def test_ppo_torch__jax_arrays_and_numpy_arrays_give_the_same_run(tmp_path):
    # JaxToTorch and NumpyToTorch hand torch the same float32 values, and a seed fixes
    # everything else: the two backends give the same curve and evaluation, bit for bit.
    jax_stdout, jax_rows = run_short(tmp_path, "jax", seed=2)
    numpy_stdout, numpy_rows = run_short(tmp_path, "numpy", seed=2)
    assert jax_rows == numpy_rows

    def result_lines(stdout: str) -> list[str]:
        return [re.sub(r" in [\d.]+ s;", "", line).replace("jax arrays", "numpy arrays")
                for line in stdout.splitlines() if not line.startswith("learning curve")]

    assert result_lines(jax_stdout) == result_lines(numpy_stdout)
