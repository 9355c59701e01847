"""Collects each hub library's tests only where the library is installed.

`tox -e test` has none of the hub's libraries (gymnax aside), so their test
modules (``test_<prefix>.py``) are not collected there and never import them.
`tox -e hub` installs them all and sets ``JIT_ENV_REQUIRE_HUB=1``: there a
missing library is an error, never a silently smaller run.
"""

import os

from jit_env import adapters

collect_ignore = []
for _prefix in adapters.LIBRARIES:
    if not adapters.installed(_prefix):
        if os.environ.get("JIT_ENV_REQUIRE_HUB") == "1":
            raise RuntimeError(
                f"JIT_ENV_REQUIRE_HUB=1 but {_prefix} is not installed: "
                f'pip install "jit_env[{adapters.LIBRARIES[_prefix].extra}]"')
        collect_ignore.append(f"test_{_prefix}.py")
