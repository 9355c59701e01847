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
from jit_env import adapters

# The hub's adapter modules import their library at the top: those of libraries that are not
# installed here cannot be imported (tox -e hub runs with every library).
_NOT_INSTALLED = {library.module for prefix, library in adapters.LIBRARIES.items()
                  if not adapters.installed(prefix)}
MODULES = [*sorted(info.name for info in pkgutil.walk_packages(jit_env.__path__, prefix="jit_env.")
                   if info.name not in _NOT_INSTALLED), "jit_env"]


def test_doctests__every_module_is_collected():
    assert {"jit_env.specs", "jit_env.wrappers._autoreset", "jit_env.compat._dm_env",
            "jit_env.testing", "jit_env._struct"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_doctests__examples_run(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    output: list[str] = []
    for test in finder.find(module, name, globs=dict(vars(module))):
        runner.run(test, out=output.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(output)
