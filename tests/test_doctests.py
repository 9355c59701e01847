"""Every ``>>>`` example in jit_env's docstrings runs and prints what it shows.

One test per module (private modules included: the public names' docstrings live
there), under the suite's strict dtype and rank promotion (tests/conftest.py).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import jit_env
from jit_env.adapters import _catalogue

MODULES = [*sorted(info.name for info in pkgutil.walk_packages(jit_env.__path__, prefix="jit_env.")), "jit_env"]


def test_doctests__every_module_is_collected():
    assert {"jit_env.specs", "jit_env.wrappers._autoreset", "jit_env.compat._dm_env",
            "jit_env.testing", "jit_env._struct"} <= set(MODULES)


REQUIRES = {library.module: library.requires for library in _catalogue.LIBRARIES.values()}
"""Adapter module -> the libraries it imports (installed by the hub's extras, not by `test`)."""


@pytest.mark.parametrize("name", MODULES)
def test_doctests__examples_run(name):
    for requirement in REQUIRES.get(name, ()):
        pytest.importorskip(requirement, reason=f"{name} adapts {requirement}, not installed here")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    output: list[str] = []
    for test in finder.find(module, name, globs=dict(vars(module))):
        runner.run(test, out=output.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(output)
