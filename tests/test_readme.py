"""Every Python snippet of the README runs as written, with and without `JAX_ENABLE_X64`.

Each run is a fresh interpreter (x64 is fixed when JAX starts) with the suite's strict
promotion settings. Before: under x64 the rollout snippet's policy drew int64 actions
(`jax.random.randint`'s default dtype) for CartPole's int32 action spec and failed
("expected dtype int32, got int64"); actions are never cast lossily in silence, so the
snippet names its dtype.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRELUDE = """
import jax
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
"""


def _snippets() -> list[str]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.DOTALL)


def test_readme__has_python_snippets():
    assert len(_snippets()) >= 1


@pytest.mark.parametrize("x64", ["0", "1"], ids=["x32", "x64"])
@pytest.mark.parametrize("index", range(len(_snippets())))
def test_readme__snippet_runs(index, x64):
    env = {**os.environ, "JAX_ENABLE_X64": x64, "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
    code = PRELUDE + _snippets()[index] + "\nprint('ran')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ran")
