"""The `jit-env` command line: main([...]) in-process, and `python -m jit_env` once.

In-process runs pass --no-cache: the compilation cache is JAX configuration of the whole
process, and the suite's processes must not write to the user's cache (tests/test_cli_cache.py
tests the cache in subprocesses).
"""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
import textwrap

import pytest

import jit_env
from jit_env import _cli, _registry, testing

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

GOOD = """
from jit_env import testing

env = testing.FakeEnv()

def make():
    return testing.FakeEnv()

not_an_env = 3
"""

BROKEN = """
import dataclasses
from jit_env import testing

def stuck_key(state, action):
    new_state, timestep = testing.FakeEnv.default_step(state, action)
    return dataclasses.replace(new_state, key=state.key), timestep

def make():
    return testing.FakeEnv(step=stuck_key)
"""


@pytest.fixture
def modules(tmp_path, monkeypatch):
    """Two importable modules, `good_envs` and `broken_envs`, in the current directory."""
    (tmp_path / "good_envs.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "broken_envs.py").write_text(textwrap.dedent(BROKEN))
    monkeypatch.setattr(sys, "path", list(sys.path))  # load_env adds the current directory.
    monkeypatch.chdir(tmp_path)
    yield
    for name in ("good_envs", "broken_envs"):
        sys.modules.pop(name, None)


def _usage_error(message: str) -> str:
    return _cli.ERR_USAGE.format(message) + "\n"


def test_main__list_prints_every_env_with_specs_and_time_limit(capsys):
    assert _cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id in jit_env.registered_envs(include_gymnax=False):
        assert f"{env_id}  (time limit: " in out
    for env_id in jit_env.registered_envs():
        assert f"{env_id}\n" in out or f"{env_id}  (time limit: " in out
    assert "CartPole-v1  (time limit: 500)\n" in out
    assert "Catch-v0  (time limit: none, episodes end on their own)\n" in out
    assert f"  action:      {jit_env.make('Pendulum-v1').action_spec()!r}\n" in out


def test_python_m_jit_env__lists_in_a_subprocess():
    env = {**os.environ, "PYTHONPATH": ROOT}
    done = subprocess.run([sys.executable, "-m", "jit_env", "list"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "CartPole-v1  (time limit: 500)" in done.stdout


def test_main__run_reports_throughput_and_episodes(capsys):
    assert _cli.main(["run", "Catch-v0", "--num-envs", "2", "--steps", "25", "--chunk", "10", "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("Catch-v0: 2 envs x 25 steps = 50 env steps in ")
    assert " env steps/s (compiled before timing)\n" in captured.out
    # Catch episodes last 9 steps: each of the 2 environments finishes 2 in 25 steps.
    assert "episodes finished: 4; return mean " in captured.out
    assert "; length mean 9.0\n" in captured.out
    # The tqdm bar counts environment steps too (2 per batch step), chunk by chunk to the end.
    assert "50/50" in captured.err and " env steps/s]" in captured.err


def test_run__returns_the_statistics():
    with open(os.devnull, "w") as devnull:
        result = _cli.run("Catch-v0", num_envs=3, steps=18, chunk=18, progress=False, out=devnull)
    assert (result.episodes, result.mean_length, result.num_envs * result.steps) == (6, 9.0, 54)
    assert result.max_return <= 1.0 and result.steps_per_second > 0


def test_main__run_unknown_id_exits_2_naming_close_matches(capsys):
    assert _cli.main(["run", "CartPol-v1"]) == 2
    with pytest.raises(ValueError) as registry_error:
        _registry.spec("CartPol-v1")
    assert "Did you mean 'CartPole-v1', 'gymnax/CartPole-v1'?" in str(registry_error.value)
    assert capsys.readouterr().err == _usage_error(str(registry_error.value))


@pytest.mark.parametrize("argv, argument", [
    (["run", "CartPole-v1", "--num-envs", "0"], "--num-envs: must be a positive int, got '0'"),
    (["run", "CartPole-v1", "--steps", "-3"], "--steps: must be a positive int, got '-3'"),
    (["bench", "CartPole-v1", "--num-envs", "64,0"],
     "--num-envs: must be positive ints separated by commas (e.g. 64,1024), got '64,0'"),
])
def test_main__non_positive_counts_exit_2(capsys, argv, argument):
    assert _cli.main(argv) == 2
    assert capsys.readouterr().err.endswith(f"error: argument {argument}\n")


def test_main__run_gif_without_pillow_exits_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)  # How Python spells "not installed".
    with pytest.raises(ImportError) as missing:
        import PIL  # noqa: F401
    assert _cli.main(["run", "Catch-v0", "--num-envs", "2", "--steps", "5", "--no-cache", "--gif",
                      str(tmp_path / "a.gif")]) == 2
    assert capsys.readouterr().err == _usage_error(_cli.ERR_NO_VIDEO.format(error=missing.value))
    assert not (tmp_path / "a.gif").exists()


@pytest.mark.usefixtures("modules")
@pytest.mark.parametrize("target", ["good_envs:env", "good_envs:make"])
def test_main__check_passes_a_good_env(capsys, target):
    assert _cli.main(["check", target, "--num-steps", "6"]) == 0
    out = capsys.readouterr().out
    for name in testing.CHECKS:
        assert f"PASS  {name}" in out
    assert out.endswith(f"All {len(testing.CHECKS)} checks passed.\n")


@pytest.mark.usefixtures("modules")
def test_main__check_reports_a_broken_env_and_exits_1(capsys):
    assert _cli.main(["check", "broken_envs:make", "--num-steps", "6"]) == 1
    out = capsys.readouterr().out
    width = max(map(len, testing.CHECKS))
    assert f"FAIL  {'keys':<{width}}  {testing.ERR_KEY_REUSED.format(rows='')}\n" in out
    assert f"PASS  {'purity':<{width}}\n" in out
    assert out.endswith(f"1 of {len(testing.CHECKS)} checks failed: keys.\n")


def test_main__check_passes_its_tolerances_to_the_jit_check(capsys, tmp_path, monkeypatch):
    # An environment whose jitted reset moves its observation by 1e-3 (tests/test_testing.py).
    (tmp_path / "moved_env.py").write_text(textwrap.dedent("""
        import dataclasses
        import jax
        import numpy as np
        from jit_env import testing

        def reset(key):
            state, timestep = testing.FakeEnv.default_reset(key)
            if isinstance(timestep.observation, jax.core.Tracer):
                timestep = dataclasses.replace(timestep, observation=timestep.observation + np.float32(1e-3))
            return state, timestep

        env = testing.FakeEnv(reset=reset)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "moved_env", raising=False)
    assert _cli.main(["check", "moved_env:env", "--num-steps", "6"]) == 1
    assert capsys.readouterr().out.endswith(f"1 of {len(testing.CHECKS)} checks failed: jit.\n")
    assert _cli.main(["check", "moved_env:env", "--num-steps", "6", "--atol", "1e-2"]) == 0
    assert capsys.readouterr().out.endswith(f"All {len(testing.CHECKS)} checks passed.\n")
    sys.modules.pop("moved_env", None)
    assert _cli.main(["check", "Catch-v0", "--rtol", "-1"]) == 2
    assert capsys.readouterr().err.endswith(f"error: argument --rtol: {_cli.ERR_TOLERANCE.format('-1')}\n")


@pytest.mark.usefixtures("modules")
@pytest.mark.parametrize("target, message", [
    ("no_such_module_here:env", _cli.ERR_IMPORT.format(
        module="no_such_module_here", error="ModuleNotFoundError: No module named 'no_such_module_here'")),
    ("good_envs:missing", _cli.ERR_NO_ATTR.format(module="good_envs", attr="missing")),
    ("good_envs:not_an_env", _cli.ERR_NOT_AN_ENV.format(target="good_envs:not_an_env", got=3)),
    ("good_envs", _cli.ERR_TARGET.format("good_envs")),
])
def test_main__check_bad_target_exits_2(capsys, target, message):
    assert _cli.main(["check", target]) == 2
    assert capsys.readouterr().err == _usage_error(message)


@pytest.mark.usefixtures("modules")
@pytest.mark.parametrize("target", [os.path.join(ROOT, "examples", "counting_env.py"),
                                    os.path.join(ROOT, "examples", "counting_env.py") + ":CountingEnv",
                                    "good_envs.py", "good_envs.py:make"])
def test_main__check_takes_a_path_to_a_python_file(capsys, target):
    # The README's example: `jit-env check examples/counting_env.py` (its one Environment class).
    assert _cli.main(["check", target, "--num-steps", "6"]) == 0
    assert capsys.readouterr().out.endswith(f"All {len(testing.CHECKS)} checks passed.\n")


@pytest.mark.usefixtures("modules")
def test_main__check_a_path_with_no_or_several_envs_or_no_file_exits_2(capsys, tmp_path):
    (tmp_path / "two_envs.py").write_text("from jit_env import testing\na = testing.FakeEnv()\nb = testing.FakeEnv()\n")
    cases = {
        "broken_envs.py": _cli.ERR_ENVS_IN_FILE.format(path="broken_envs.py", found="no"),
        "two_envs.py": _cli.ERR_ENVS_IN_FILE.format(path="two_envs.py", found="more than one"),
        "good_envs.py:missing": _cli.ERR_NO_ATTR.format(module="good_envs.py", attr="missing"),
        "no_such_file.py": _cli.ERR_NO_FILE.format(path="no_such_file.py"),
    }
    for target, message in cases.items():
        assert _cli.main(["check", target]) == 2, target
        assert capsys.readouterr().err == _usage_error(message)
    sys.modules.pop("two_envs", None)


def test_main__bench_without_gymnasium_says_so_and_times_jit_env(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "gymnasium", None)  # `import gymnasium` fails as if not installed.
    assert _cli.main(["bench", "CartPole-v1", "--num-envs", "2", "--steps", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.err == _cli.ERR_NO_GYMNASIUM + "\n"
    row = captured.out.splitlines()[2].split()
    assert row[0] == "2" and float(row[1].replace(",", "")) > 0 and row[2:] == ["gymnasium", "not", "installed", "-"]


def test_main__bench_prints_ratios_beside_gymnasium(capsys):
    assert _cli.main(["bench", "CartPole-v1", "--num-envs", "2,3", "--steps", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "gymnasium (vector_entry_point)" in lines[1]
    assert [line.split()[0] for line in lines[2:]] == ["2", "3"]
    for line in lines[2:]:
        ours, theirs, ratio = (float(x.rstrip("x").replace(",", "")) for x in line.split()[1:])
        assert ours > 0 and theirs > 0 and ratio == pytest.approx(ours / theirs, rel=0.06, abs=0.06)


def test_main__bench_without_a_gymnasium_twin(capsys):
    assert _cli.main(["bench", "Catch-v0", "--num-envs", "2", "--steps", "3"]) == 0
    assert "no such Gymnasium env" in capsys.readouterr().out.splitlines()[2]


def test_cli__doctests_pass():
    result = doctest.testmod(_cli)
    assert result.attempted > 0 and result.failed == 0


def _bad_gif_cases(tmp_path):
    gymnax_error = NotImplementedError(
        "FromGymnax has no renderer: pass `renderer=` to Environment.__init__ or override `render`.")
    missing = tmp_path / "no" / "such" / "dir" / "x.gif"
    return [
        ("Catch-v0", str(tmp_path / "out.txt"), _cli.ERR_GIF_SUFFIX.format(path=str(tmp_path / "out.txt"))),
        ("Catch-v0", str(missing), _cli.ERR_GIF_DIR.format(path=str(missing), directory=str(missing.parent))),
        ("gymnax/CartPole-v1", str(tmp_path / "x.gif"),
         _cli.ERR_GIF_NO_RENDER.format(env_id="gymnax/CartPole-v1", error=gymnax_error)),
    ]


@pytest.mark.parametrize("case", [0, 1, 2], ids=["not-gif", "no-such-dir", "gymnax-no-renderer"])
def test_main__run_bad_gif_exits_2_before_any_work(capsys, monkeypatch, tmp_path, case):
    # Before: a traceback and exit 1, after the whole rollout.
    env_id, gif, message = _bad_gif_cases(tmp_path)[case]
    started = []
    monkeypatch.setattr(_cli, "_random_chunk", lambda *a, **k: started.append(a))
    assert _cli.main(["run", env_id, "--num-envs", "2", "--steps", "5", "--no-cache", "--gif", gif]) == 2
    assert capsys.readouterr().err == _usage_error(message)
    assert started == []  # No rollout was built.
    assert not os.path.exists(gif)


def test_run__bad_gif_is_a_value_error():
    with pytest.raises(ValueError) as info:
        _cli.run("Catch-v0", num_envs=2, steps=5, gif="episode.png", progress=False)
    assert str(info.value) == _cli.ERR_GIF_SUFFIX.format(path="episode.png")


def test_main__run_saves_a_gif_with_an_upper_case_suffix(capsys, tmp_path):
    gif = tmp_path / "episode.GIF"
    assert _cli.main(["run", "Catch-v0", "--num-envs", "2", "--steps", "5", "--chunk", "5", "--no-cache",
                      "--gif", str(gif), "--max-frames", "4"]) == 0
    assert gif.exists() and "saved 4 frames" in capsys.readouterr().out
