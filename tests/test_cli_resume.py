"""`jit-env run --checkpoint-dir D` / `--resume D`: a run killed with SIGKILL resumes to the same statistics.

The argument checks run before any work (no compile, no orbax needed), so they are
plain unit tests; the runs themselves are marked `integration` (the `test-integration`
tox environment has the checkpoint extra).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from jit_env import _cli

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Short runs: 4 CartPole envs, chunks of 5 steps.
SMALL = ["--num-envs", "4", "--steps", "20", "--chunk", "5", "--no-cache"]


def _usage_error(message: str) -> str:
    return _cli.ERR_USAGE.format(message) + "\n"


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = _cli.main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _no_rollout(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records any rollout `run` builds: the argument checks must come first."""
    started: list[object] = []
    monkeypatch.setattr(_cli, "_random_chunk", lambda *a, **k: started.append(a))
    return started


# ----------------------------------------------------------------------------- argument checks


def test_main__checkpoint_every_without_a_directory_exits_2(capsys, monkeypatch):
    started = _no_rollout(monkeypatch)
    status, _, err = _main(["run", "CartPole-v1", *SMALL, "--checkpoint-every", "2"], capsys)
    assert status == 2 and err == _usage_error(_cli.ERR_EVERY_NEEDS_DIR.format(every=2))
    assert started == []


def test_main__run_without_id_or_resume_exits_2(capsys, monkeypatch):
    started = _no_rollout(monkeypatch)
    status, _, err = _main(["run", *SMALL], capsys)
    assert status == 2 and err == _usage_error(_cli.ERR_NEEDS_ID)
    assert started == []


def test_main__resume_an_empty_directory_exits_2(capsys, monkeypatch, tmp_path):
    started = _no_rollout(monkeypatch)
    status, _, err = _main(["run", "--resume", str(tmp_path), "--no-cache"], capsys)
    assert status == 2 and err == _usage_error(_cli.ERR_NOTHING_TO_RESUME.format(directory=str(tmp_path)))
    assert started == []


def test_main__resume_with_another_checkpoint_dir_exits_2(capsys, monkeypatch, tmp_path):
    started = _no_rollout(monkeypatch)
    other = tmp_path / "other"
    status, _, err = _main(["run", "--resume", str(tmp_path), "--checkpoint-dir", str(other), "--no-cache"], capsys)
    assert status == 2
    assert err == _usage_error(_cli.ERR_RESUME_DIR.format(resume=str(tmp_path), directory=str(other)))
    assert started == []


def test_main__checkpoint_dir_without_orbax_names_the_extra(capsys, monkeypatch, tmp_path):
    # How Python spells "not installed"; jit_env.checkpoint is imported again, and fails.
    monkeypatch.setitem(sys.modules, "orbax", None)
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)
    monkeypatch.delitem(sys.modules, "jit_env.checkpoint", raising=False)
    with pytest.raises(ImportError) as missing:
        import jit_env.checkpoint  # noqa: F401
    assert 'pip install "jit_env[checkpoint]"' in str(missing.value)
    started = _no_rollout(monkeypatch)
    status, _, err = _main(["run", "CartPole-v1", *SMALL, "--checkpoint-dir", str(tmp_path / "ckpt")], capsys)
    assert status == 2 and err == _usage_error(_cli.ERR_NO_CHECKPOINT_EXTRA.format(error=missing.value))
    assert 'pip install "jit_env[checkpoint]"' in err
    assert started == []
    with pytest.raises(ImportError, match=re.escape(_cli.ERR_NO_CHECKPOINT_EXTRA.format(error=missing.value))):
        _cli.run("CartPole-v1", num_envs=2, steps=5, checkpoint_dir=tmp_path / "ckpt", progress=False)


@pytest.mark.integration  # A real (short) rollout: compiles.
def test_main__run_without_checkpoints_needs_no_orbax(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "orbax", None)
    monkeypatch.setitem(sys.modules, "orbax.checkpoint", None)
    monkeypatch.delitem(sys.modules, "jit_env.checkpoint", raising=False)
    status, out, _ = _main(["run", "Catch-v0", "--num-envs", "2", "--steps", "10", "--chunk", "5", "--no-cache"],
                           capsys)
    assert status == 0 and "episodes finished: 2;" in out


# ----------------------------------------------------------------------------- runs (orbax)


def _subprocess_env(tmp_path: pathlib.Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JAX_PLATFORMS"] = "cpu"
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")  # Never the user's cache.
    return env


def _jit_env(tmp_path: pathlib.Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "jit_env", *args], cwd=ROOT, env=_subprocess_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


STATISTICS = ("env_id", "num_envs", "steps", "episodes", "mean_return", "max_return", "mean_length")


@pytest.mark.integration
def test_run__resumed_after_sigkill_gives_the_uninterrupted_statistics(tmp_path):
    # 200 chunks of 10 steps, a checkpoint every 10 chunks: the run is far from done when
    # its first checkpoint appears, and is killed there (perhaps in the middle of a write).
    args = ["run", "CartPole-v1", "--num-envs", "8", "--steps", "2000", "--chunk", "10", "--seed", "3",
            "--no-cache"]
    directory = tmp_path / "ckpt"
    killed = subprocess.Popen([sys.executable, "-m", "jit_env", *args, "--checkpoint-dir", str(directory),
                               "--checkpoint-every", "10"], cwd=ROOT, env=_subprocess_env(tmp_path),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not list(directory.glob(_cli.CHECKPOINT_PREFIX + "*")):
            assert killed.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint after 600 s"
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
    finally:
        killed.kill()
        killed.wait()
    assert killed.returncode == -signal.SIGKILL

    _jit_env(tmp_path, *args, "--json", str(tmp_path / "uninterrupted.json"))
    # Only the directory: the ID, counts, seed and checkpoint interval come from the checkpoint.
    resumed_run = _jit_env(tmp_path, "run", "--resume", str(directory), "--no-cache",
                           "--json", str(tmp_path / "resumed.json"))
    uninterrupted = json.loads((tmp_path / "uninterrupted.json").read_text())
    resumed = json.loads((tmp_path / "resumed.json").read_text())
    assert 0 < resumed["start_step"] < 2000, resumed  # It did resume, mid-run.
    assert uninterrupted["start_step"] == 0 and uninterrupted["episodes"] > 100
    assert {k: resumed[k] for k in STATISTICS} == {k: uninterrupted[k] for k in STATISTICS}
    assert f"resumed at step {resumed['start_step']} of 2000" in resumed_run.stdout
    # The resumed run finished: its last checkpoint is the end, and older ones were pruned.
    names = sorted(p.name for p in directory.iterdir() if p.name.startswith(_cli.CHECKPOINT_PREFIX))
    assert names[-1] == f"{_cli.CHECKPOINT_PREFIX}2000" and len(names) <= _cli.CHECKPOINTS_KEPT


@pytest.mark.integration
def test_main__resume_refuses_contradicting_arguments(capsys, tmp_path):
    directory = tmp_path / "ckpt"
    status, _, err = _main(["run", "Catch-v0", *SMALL, "--checkpoint-dir", str(directory),
                            "--checkpoint-every", "2"], capsys)
    assert status == 0, err
    # A fresh run into a directory that holds a run's checkpoints is refused.
    status, _, err = _main(["run", "Catch-v0", *SMALL, "--checkpoint-dir", str(directory)], capsys)
    assert status == 2 and err == _usage_error(_cli.ERR_HAS_CHECKPOINTS.format(
        directory=str(directory), latest=str(directory / f"{_cli.CHECKPOINT_PREFIX}20")))
    cases = [
        (["CartPole-v1"], "ID", "'CartPole-v1'", "'Catch-v0'"),
        (["--num-envs", "5"], "--num-envs", "5", "4"),
        (["--steps", "30"], "--steps", "30", "20"),
        (["--chunk", "10"], "--chunk", "10", "5"),
        (["--seed", "1"], "--seed", "1", "0"),
        (["--checkpoint-every", "3"], "--checkpoint-every", "3", "2"),
    ]
    for extra, flag, given, saved in cases:
        status, _, err = _main(["run", "--resume", str(directory), "--no-cache", *extra], capsys)
        assert status == 2, extra
        assert err == _usage_error(_cli.ERR_CONTRADICTS.format(
            directory=str(directory), flag=flag, given=given, saved=saved)), extra
    # The same values, given again, are no contradiction: the finished run reprints its statistics.
    status, out, err = _main(["run", "Catch-v0", "--resume", str(directory), *SMALL, "--checkpoint-every", "2"],
                             capsys)
    assert status == 0, err
    assert "resumed at step 20 of 20" in out and "episodes finished: 8;" in out


@pytest.mark.integration
def test_run__checkpoints_are_renamed_into_place_and_a_partial_one_is_ignored(tmp_path):
    directory = tmp_path / "ckpt"
    with open(os.devnull, "w") as devnull:
        first = _cli.run("Catch-v0", num_envs=2, steps=30, chunk=5, checkpoint_dir=directory,
                         checkpoint_every=2, progress=False, out=devnull)
    names = sorted(p.name for p in directory.iterdir())
    # After chunks 2, 4, 6 (steps 10, 20, 30): the last CHECKPOINTS_KEPT remain, no partial one.
    kept = [f"{_cli.CHECKPOINT_PREFIX}{s}" for s in (10, 20, 30)][-_cli.CHECKPOINTS_KEPT:]
    assert names == sorted(kept)
    # A write killed half-way leaves a partial directory under another name: resume ignores it.
    (directory / f"{_cli.PARTIAL_PREFIX}40-x").mkdir()
    with open(os.devnull, "w") as devnull:
        again = _cli.run("Catch-v0", num_envs=2, steps=30, chunk=5, checkpoint_dir=directory,
                         checkpoint_every=2, resume=True, progress=False, out=devnull)
    assert (again.start_step, again.episodes, again.mean_return) == (30, first.episodes, first.mean_return)
