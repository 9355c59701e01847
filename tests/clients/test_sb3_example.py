"""examples/sb3_gymnasium.py trains Stable-Baselines3 PPO through ToSB3VecEnv (clients tox env)."""

from __future__ import annotations

import math
import os
import pathlib
import re
import subprocess
import sys

import pytest

pytest.importorskip("stable_baselines3", reason="the clients tox env installs stable-baselines3")

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_sb3_example__short_run_trains_and_evaluates():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JAX_PLATFORMS"] = "cpu"
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "sb3_gymnasium.py"), "--short", "--seed", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    # SB3's env checker passed (it raises on a broken env) and printed no warning about it.
    assert "UserWarning" not in result.stderr, result.stderr
    match = re.search(
        r"via ToSB3VecEnv \(8 envs\): 16384 steps; mean return over 10 episodes ([\d.]+) before, "
        r"([\d.]+) \+/- ([\d.]+) after",
        result.stdout)
    assert match, result.stdout
    before, after, _ = map(float, match.groups())
    # CartPole returns: one per step, between 1 and the 500-step limit.
    assert all(math.isfinite(x) and 1.0 <= x <= 500.0 for x in (before, after))
    # The short run learns: a random policy scores about 22.
    assert after > 2 * 22 and after > before, result.stdout
