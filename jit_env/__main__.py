"""``python -m jit_env``: the ``jit-env`` command (list, run, compile, check, bench; see docs/cli.md).

`run` and `RunResult` are importable from here for scripts such as
examples/quickstart.py.
"""

import sys

from jit_env._cli import RunResult as RunResult
from jit_env._cli import main as main
from jit_env._cli import run as run

__all__ = ["RunResult", "main", "run"]

if __name__ == "__main__":
    sys.exit(main())
