"""The example scripts run end to end in a fresh interpreter and produce what they claim.

Each runs as a subprocess from the repository root, as a user would run it, with
warnings as errors. JAX's standard promotion rules apply (tests/conftest.py's
strict ones are for jit_env itself: optax's Adam is not strict-promotion clean).
"""

from __future__ import annotations

import csv
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import pytest

pytestmark = pytest.mark.integration

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_example(script: str, *args: str, env_vars: dict[str, str] | None = None) -> str:
    env = {**os.environ, **(env_vars or {})}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JAX_PLATFORMS"] = "cpu"
    with tempfile.TemporaryDirectory() as cache_home:
        # The examples turn on the compilation cache in the user's cache directory: a run of
        # its own keeps the tests from the user's cache and from each other's writes (two
        # processes writing one entry can leave it damaged, a warning under -W error).
        env["XDG_CACHE_HOME"] = cache_home
        result = subprocess.run(
            [sys.executable, "-W", "error", str(ROOT / "examples" / script), *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_ppo__short_run_writes_a_learning_curve(tmp_path):
    out = tmp_path / "curve.csv"
    stdout = run_example("ppo.py", "--short", "--seed", "3", "--out", str(out))
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["update"]) for r in rows] == list(range(1, 5))  # --short: 4 updates
    steps = [int(r["env_steps"]) for r in rows]
    assert steps == [512 * i for i in range(1, 5)]  # 16 envs x 32 steps per update
    # CartPole episodes of a near-random policy are short: many end in every update,
    # and every logged mean is a real CartPole return (one per step, at most 500).
    assert all(int(r["episodes"]) > 0 for r in rows)
    returns = [float(r["mean_return"]) for r in rows]
    assert all(math.isfinite(x) and 8.0 <= x <= 500.0 for x in returns)
    assert f"learning curve: {out} (4 rows)" in stdout
    # Four short updates do not reach 475: the summary says so, never "at nan env steps".
    assert "nan" not in stdout
    assert re.search(r"seed 3: 2048 env steps in [\d.]+ s \(compile included\); mean return over the last 1 "
                     r"updates [\d.]+; no update reached a mean return of 475\n", stdout), stdout
    printed = re.findall(r"update +(\d+) +env steps +(\d+) +episodes +(\d+) +mean return +([\d.]+)", stdout)
    assert printed[-1] == ("4", "2048", rows[-1]["episodes"], f"{returns[-1]:.1f}")


def test_ppo__json_output_matches_the_csv_columns(tmp_path):
    out = tmp_path / "curve.json"
    run_example("ppo.py", "--short", "--num-envs", "4", "--out", str(out))
    rows = json.loads(out.read_text())
    assert len(rows) == 4 and set(rows[0]) == {"update", "env_steps", "episodes", "mean_return"}
    assert rows[-1]["env_steps"] == 4 * 4 * 32


def test_sharded__help_describes_the_example_and_its_devices():
    stdout = run_example("sharded.py", "--help")
    assert "One batch of CartPole sub-environments split across devices" in stdout
    assert "XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/sharded.py" in stdout
    assert "--per-device PER_DEVICE" in stdout and "sub-environments per device (256)" in stdout


TOTALS = re.compile(r"^totals: (\d+) episodes, returns ([\d.]+), observations \((\d+), 4\) sha256 (\w+)$", re.M)


def sharded_totals(*args: str, devices: int | None = None) -> tuple[int, float, int, str]:
    """`examples/sharded.py`'s totals (episodes, returns, rows, digest of the last observations).

    Run with 4 sub-environments per device for 20 steps unless `args` say otherwise, in one
    process of `devices` forced CPU devices, or as `--launch-local` in `args` says.
    """
    env_vars = {} if devices is None else {"XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    stdout = run_example("sharded.py", "--per-device", "4", "--steps", "20", *args, env_vars=env_vars)
    if "--launch-local" in args:
        assert "launch-local: the 2 processes printed the same totals" in stdout, stdout
    (episodes, returns, rows, digest), = TOTALS.findall(stdout)
    return int(episodes), float(returns), int(rows), digest


def test_sharded__two_local_processes_equal_one_process_and_resume_its_checkpoint(tmp_path):
    ckpt = str(tmp_path / "ckpt")
    # One process of 4 devices, 20 steps, saved; then the same 20 steps in 2 processes of 2 devices.
    one = sharded_totals("--checkpoint-dir", ckpt, devices=4)
    assert one[0] > 0 and one[2] == 16, one  # CartPole's random episodes end within 20 steps
    assert sharded_totals("--launch-local", "2", "--devices-per-process", "2") == one
    # Two processes resume the one-process checkpoint for 20 more steps: with the first 20 they
    # make the 40 of an uninterrupted run, bit for bit (the digest of the last observations).
    two = sharded_totals("--launch-local", "2", "--checkpoint-dir", ckpt)
    whole = sharded_totals("--steps", "40", devices=4)
    assert (one[0] + two[0], one[1] + two[1], two[2], two[3]) == whole
    assert sorted(os.listdir(ckpt)) == ["step-20", "step-40"]


def test_dm_env_agent__short_run_learns_catch():
    stdout = run_example("dm_env_agent.py", "--short")
    random_return = float(re.search(r"random policy mean return ([+-][\d.]+)", stdout).group(1))
    greedy_return = float(re.search(r"greedy policy mean return ([+-][\d.]+)", stdout).group(1))
    assert "Q-learning, 100 episodes" in stdout
    # Catch's returns are +1 (caught) or -1 (missed) per episode.
    assert -1.0 <= random_return <= 1.0 and -1.0 <= greedy_return <= 1.0
    # 100 episodes of Q-learning beat a uniformly random paddle.
    assert greedy_return > random_return
