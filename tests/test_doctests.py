"""Every ``>>>`` example in jit_env's docstrings runs and prints what it shows.

One test per module (private modules included: the public names' docstrings live
there), under the suite's strict dtype and rank promotion (tests/conftest.py).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import jit_env
from jit_env import adapters, compat

pytestmark = pytest.mark.integration

# Modules that import an optional library at the top (the hub's adapters, the bridges to
# SB3 and gymnax, checkpoints on orbax) cannot be imported where it is missing: each tox
# environment that installs the library runs their examples.
_NOT_INSTALLED = {library.module for prefix, library in adapters.LIBRARIES.items()
                  if not adapters.installed(prefix)}
_NOT_INSTALLED |= {f"jit_env.compat.{module}" for module, (library, _) in compat._DEPENDENCIES.items()
                   if importlib.util.find_spec(library) is None}
if importlib.util.find_spec("orbax") is None:
    _NOT_INSTALLED.add("jit_env.checkpoint")
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
