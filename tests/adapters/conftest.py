"""Collects each hub library's tests only where the library is installed.

`tox -e test` has none of the hub's libraries (gymnax aside), so their test
modules (``test_<prefix>.py``) are not collected there and never import them.
`tox -e hub` installs them all and sets ``JIT_ENV_REQUIRE_HUB=1``: there a
missing library is an error, never a silently smaller run.

Under ``JIT_ENV_REQUIRE_HUB=1`` each test process also keeps a compilation
cache of its own (a temporary folder, removed at exit): the bridge checks build
a fresh bridge per dm_env conformance test, each of which jits the same
programs again, and the hub's programs compile for seconds to minutes. A cache
hit is the same compiled program, so nothing checked changes. It is turned on
here, before the test modules are imported, because JAX decides at a process's
first compile whether it uses a cache at all (Pgx compiles when its modules are
imported); `tox -e test` leaves it off, so the CLI's own cache tests there see
JAX as a user's process does.
"""

import atexit
import os
import shutil
import tempfile

from jit_env import adapters, utils

if os.environ.get("JIT_ENV_REQUIRE_HUB") == "1":
    _CACHE = tempfile.mkdtemp(prefix="jit_env_hub_xla_")
    atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
    utils.enable_compilation_cache(_CACHE)

collect_ignore = []
for _prefix in adapters.LIBRARIES:
    if not adapters.installed(_prefix):
        if os.environ.get("JIT_ENV_REQUIRE_HUB") == "1":
            raise RuntimeError(
                f"JIT_ENV_REQUIRE_HUB=1 but {_prefix} is not installed: "
                f'pip install "jit_env[{adapters.LIBRARIES[_prefix].extra}]"')
        collect_ignore.append(f"test_{_prefix}.py")
