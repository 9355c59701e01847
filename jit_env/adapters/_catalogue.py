"""The hub's static catalogue: which libraries can be adapted, and every id each registers.

Nothing here imports a third-party library, so `jit_env.registered_envs()` and
`jit-env list` can list every id without importing them. Each library's adapter
lives in its own module (named by `Library.module`), which imports the library at
its top and defines ``make(name: str, **kwargs) -> jit_env.Environment``.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Library:
    """One adapted library.

    Attributes:
        prefix: The id prefix before ``/`` (``jit_env.make("<prefix>/<id>")``).
        module: The adapter module, e.g. ``"jit_env.adapters._jumanji"``.
        requires: The import names that must be installed, e.g. ``("jumanji",)``.
        extra: The setup.cfg extra that installs them (``pip install "jit_env[<extra>]"``).
        ids: Every id the library registers, in its own order (a test checks this
            list against the installed library).
    """

    prefix: str
    module: str
    requires: tuple[str, ...]
    extra: str
    ids: tuple[str, ...]


LIBRARIES: dict[str, Library] = {}
"""prefix -> `Library`. Each adapter module's entry is added below, one block per library."""
