"""Multi-process Shard with checkpoints, for real: two processes on localhost, one mesh of four devices.

`tests/multiprocess_worker.py` runs `Shard(TileAutoReset(CartPole))` on a mesh of four
CPU devices: once in one process with four devices, and twice in two processes of two
devices each joined by `jax.distributed.initialize` (each process feeding its own rows'
actions): a run that checkpoints after `K` steps and continues, then two fresh
processes that restore that checkpoint and continue. All three give the same last `M`
time steps, row for row.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.integration

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "multiprocess_worker.py"
FIELDS = ("observation", "reward", "discount", "step_type")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(num_processes: int, phase: str, root: pathlib.Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, str(WORKER), str(i), str(num_processes), port, phase, str(root)],
                              env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(num_processes)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out[-4000:]


def _rows(root: pathlib.Path, phase: str, num_processes: int) -> dict[str, np.ndarray]:
    parts = [np.load(root / f"{phase}-{num_processes}-{i}.npz") for i in range(num_processes)]
    np.testing.assert_array_equal(np.concatenate([p["rows"] for p in parts]), np.arange(8))
    return {name: np.concatenate([p[name] for p in parts], axis=1) for name in FIELDS}


def test_multiprocess__two_processes_checkpoint_resume_and_equal_one_process(tmp_path: pathlib.Path) -> None:
    single, double = tmp_path / "single", tmp_path / "double"
    single.mkdir()
    double.mkdir()
    _launch(1, "run", single)
    _launch(2, "run", double)
    _launch(2, "resume", double)  # two fresh processes, from the two-process checkpoint
    want = _rows(single, "run", 1)
    assert (want["step_type"] == 0).any(), "the run should cross episode boundaries"
    for phase in ("run", "resume"):
        got = _rows(double, phase, 2)
        for name in FIELDS:
            np.testing.assert_array_equal(got[name], want[name], err_msg=f"{phase}: {name}")
