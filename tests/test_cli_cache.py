"""JAX's persistent compilation cache: `jit-env compile` fills it, a later `jit-env run` only reads it.

Each command runs in a fresh interpreter (the cache is per process until it is on disk);
JAX's own monitoring events count the cache hits and misses of every compile there.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from jit_env import _cache, _cli, utils

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Runs `jit-env` in-process after registering a listener on JAX's cache events, and
# prints the counts as the last line of stdout.
COUNTING = """
import collections, json, sys
import jax
from jit_env import _cli

counts = collections.Counter()
jax.monitoring.register_event_listener(lambda event, **kwargs: counts.update([event]))
status = _cli.main(sys.argv[1:])
print(json.dumps({"status": status, "hits": counts["/jax/compilation_cache/cache_hits"],
                  "misses": counts["/jax/compilation_cache/cache_misses"],
                  "requests": counts["/jax/compilation_cache/compile_requests_use_cache"]}))
"""


def _counted(tmp_path: pathlib.Path, *args: str) -> tuple[dict[str, int], str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["JAX_PLATFORMS"] = "cpu"
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    done = subprocess.run([sys.executable, "-c", COUNTING, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    *lines, last = done.stdout.splitlines()
    counts = json.loads(last)
    assert counts.pop("status") == 0, done.stdout + done.stderr
    return counts, "\n".join(lines)


def _entries(directory: pathlib.Path) -> set[str]:
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


@pytest.mark.integration
def test_compile__fills_the_cache_so_that_run_compiles_nothing(tmp_path):
    cache = tmp_path / "cache"
    shape = ["--num-envs", "8", "--steps", "25", "--chunk", "10"]  # Chunks of 10, 10 and 5: two programs.
    counts, out = _counted(tmp_path, "compile", "Catch-v0", *shape, "--cache-dir", str(cache))
    assert counts["misses"] > 0 and counts["hits"] == 0
    entries = _entries(cache)
    assert len(entries) >= 3  # The reset and both chunk programs, at least.
    assert out == _cli.MSG_COMPILED.format(
        programs=3, command="jit-env run Catch-v0 --num-envs 8 --steps 25 --chunk 10", cache=cache,
        entries=len(entries))
    counts, out = _counted(tmp_path, "run", "Catch-v0", *shape, "--cache-dir", str(cache))
    # Every program the run compiles comes from the cache: not one miss, nothing new on disk.
    assert counts["misses"] == 0 and counts["hits"] == counts["requests"] >= 3, counts
    assert _entries(cache) == entries
    assert "episodes finished: 16;" in out
    # Another shape is another program: a miss, and a new entry.
    counts, _ = _counted(tmp_path, "run", "Catch-v0", "--num-envs", "3", "--steps", "10", "--chunk", "10",
                         "--cache-dir", str(cache))
    assert counts["misses"] > 0 and len(_entries(cache)) > len(entries)


@pytest.mark.integration
def test_run__caches_in_the_user_cache_directory_by_default_and_not_with_no_cache(tmp_path):
    default = tmp_path / "xdg-cache" / "jit_env" / "xla"
    counts, _ = _counted(tmp_path, "run", "Catch-v0", "--num-envs", "2", "--steps", "5", "--no-cache")
    assert counts == {"hits": 0, "misses": 0, "requests": 0} and not default.exists()
    counts, _ = _counted(tmp_path, "run", "Catch-v0", "--num-envs", "2", "--steps", "5")
    assert counts["misses"] > 0 and _entries(default)
    counts, _ = _counted(tmp_path, "run", "Catch-v0", "--num-envs", "2", "--steps", "5")
    assert counts["misses"] == 0 and counts["hits"] > 0


def test_default_cache_dir__honours_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert utils.default_cache_dir() == os.path.join(str(tmp_path), "jit_env", "xla")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert utils.default_cache_dir() == os.path.join(os.path.expanduser("~"), ".cache", "jit_env", "xla")
    assert utils.enable_compilation_cache is _cache.enable_compilation_cache



def test_main__run_cache_dir_and_no_cache_exclude_each_other(capsys, tmp_path):
    assert _cli.main(["run", "Catch-v0", "--no-cache", "--cache-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.endswith(
        "error: argument --cache-dir: not allowed with argument --no-cache\n")
