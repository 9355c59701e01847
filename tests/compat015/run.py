"""Runs jit_env 0.1.5's own tests, from its wheel, against the installed jit_env.

    python tests/compat015/run.py [--wheel PATH] [pytest args...]

Steps: download the 0.1.5 wheel (`pip download jit_env==0.1.5 --no-deps`) unless
`--wheel` names one; extract only its test modules (`jit_env/_*_test.py`) into a
temporary directory, never into this repository; port them to current JAX (the
only edits, listed in `JAX_PORTS`: JAX removed `jax.tree_map`); run them with
pytest and `plugin.py` (the `dummy_env` fixture the wheel does not ship) against
the jit_env that Python imports, which must not be 0.1.5; then compare the
failures with `expected_failures.txt` both ways. The run fails on an
unexpected failure, on an expected failure that passes, on an expected failure
whose test no longer exists, and when no test ran.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile
import zipfile
from typing import Any

import pytest

HERE = pathlib.Path(__file__).resolve().parent
EXPECTED_FAILURES = HERE / "expected_failures.txt"
VERSION = "0.1.5"
TEST_MODULE = re.compile(r"^jit_env/(_[a-z_]+_test\.py)$")
# Textual ports of the 0.1.5 tests to current JAX: (old, new). Nothing else is edited.
JAX_PORTS = (("jax.tree_map(", "jax.tree_util.tree_map("),)
# The tests' own pytest configuration: warnings are errors, as in our suite.
PYTEST_INI = """\
[pytest]
addopts = -p no:cacheprovider -p no:xdist
filterwarnings =
    error
    ignore::DeprecationWarning:gymnax.*
    ignore::DeprecationWarning:flax.*
    ignore::DeprecationWarning:pygame.*
"""


def read_expected_failures(path: pathlib.Path = EXPECTED_FAILURES) -> dict[str, str]:
    """Reads `test id  # reason` lines; blank lines and lines starting with # are skipped."""
    expected: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, sep, reason = line.partition(" # ")
        if not sep or not reason.strip():
            raise SystemExit(f"{path}:{number}: expected `<test id> # <reason>`, got {line!r}")
        expected[test_id.strip()] = reason.strip()
    return expected


def download_wheel(directory: pathlib.Path) -> pathlib.Path:
    """Downloads the 0.1.5 wheel into `directory` and returns its path."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"jit_env=={VERSION}", "--no-deps",
         "--only-binary=:all:", "--quiet", "-d", str(directory)],
        check=True,
    )
    (wheel,) = directory.glob(f"jit_env-{VERSION}-*.whl")
    return wheel


def extract_tests(wheel: pathlib.Path, directory: pathlib.Path) -> list[pathlib.Path]:
    """Writes the wheel's test modules, ported to current JAX, into `directory`."""
    written = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            match = TEST_MODULE.match(name)
            if match is None:
                continue
            source = archive.read(name).decode()
            if not source.strip():
                continue  # 0.1.5 also ships empty `_test_*.py` files.
            for old, new in JAX_PORTS:
                source = source.replace(old, new)
            target = directory / match.group(1)
            target.write_text(source)
            written.append(target)
    if not written:
        raise SystemExit(f"{wheel} holds no test modules matching {TEST_MODULE.pattern}")
    return sorted(written)


class Outcomes:
    """pytest plugin that records each test's outcome by node id."""

    def __init__(self) -> None:
        self.outcome: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        # A test fails if any phase fails (an error in setup counts as a failure).
        if report.failed:
            self.outcome[report.nodeid] = "failed"
        elif report.when == "call" or report.skipped:
            self.outcome.setdefault(report.nodeid, report.outcome)


def compare(outcome: dict[str, str], expected: dict[str, str]) -> list[str]:
    """The problems: unexpected failures, unexpected passes, stale entries."""
    problems = []
    failed = {test for test, result in outcome.items() if result == "failed"}
    for test in sorted(failed - expected.keys()):
        problems.append(f"unexpected failure: {test}")
    for test in sorted(expected.keys() - failed):
        if test in outcome:
            problems.append(f"expected to fail but {outcome[test]}: {test}  ({expected[test]})")
        else:
            problems.append(f"expected failure did not run: {test}  ({expected[test]})")
    skipped = sorted(test for test, result in outcome.items() if result == "skipped")
    problems.extend(f"skipped (every 0.1.5 test must run): {test}" for test in skipped)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=pathlib.Path, help="a jit_env 0.1.5 wheel (else downloaded)")
    args, pytest_args = parser.parse_known_args(argv)

    import jit_env

    if jit_env.__version__ == VERSION:
        raise SystemExit(f"the jit_env imported from {jit_env.__file__} is {VERSION} itself")
    print(f"jit_env {jit_env.__version__} from {pathlib.Path(jit_env.__file__).parent}")

    sys.path.insert(0, str(HERE))
    import plugin

    with tempfile.TemporaryDirectory(prefix="jit_env_compat015_") as tmp:
        tmp_path = pathlib.Path(tmp)
        wheel = args.wheel or download_wheel(tmp_path)
        tests = tmp_path / "tests"
        tests.mkdir()
        files = extract_tests(wheel, tests)
        (tests / "pytest.ini").write_text(PYTEST_INI)
        print(f"running {', '.join(f.name for f in files)} from {wheel.name}")
        outcomes = Outcomes()
        code = pytest.main(
            ["-q", "-rfE", "-c", str(tests / "pytest.ini"), "--rootdir", str(tests),
             *pytest_args, str(tests)],
            plugins=[plugin, outcomes],
        )
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        print(f"pytest stopped with exit code {code!r}")
        return int(code) or 1
    if not outcomes.outcome:
        print("no test ran")
        return 1
    expected = read_expected_failures()
    problems = compare(outcomes.outcome, expected)
    failed = sum(result == "failed" for result in outcomes.outcome.values())
    print(f"0.1.5 tests: {len(outcomes.outcome)} ran, {len(outcomes.outcome) - failed} passed, "
          f"{failed} failed ({len(expected)} expected to fail, see {EXPECTED_FAILURES.name})")
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
