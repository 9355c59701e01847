"""Adapters in: other JAX environment libraries as jit_env environments (the hub).

Each library has its own module that imports the library at its top; this
facade loads them on first use, so `import jit_env.adapters` imports none of
the libraries. A missing library raises `ImportError` with the command that
installs it. Build an adapted environment by name with
``jit_env.make("<prefix>/<id>")`` (e.g. ``"gymnax/CartPole-v1"``,
``"brax/ant"``); `LIBRARIES` lists every library and id, statically.

>>> from jit_env import adapters
>>> "gymnax/CartPole-v1" in adapters.catalogue_ids()
True
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import TYPE_CHECKING, Any

from jit_env.adapters import _catalogue
from jit_env.adapters._catalogue import Library as Library

if TYPE_CHECKING:  # pragma: no cover
    from jit_env.adapters._brax import FromBrax as FromBrax
    from jit_env.adapters._gymnax import FromGymnax as FromGymnax
    from jit_env.adapters._gymnax import GymnaxState as GymnaxState
    from jit_env.adapters._gymnax import space_to_spec as gymnax_space_to_spec

LIBRARIES = _catalogue.LIBRARIES

ERR_MISSING = (
    "{feature} needs the `{module}` package, which is not installed: pip install \"jit_env[{extra}]\""
)

# name -> (library prefix, attribute in its adapter module)
_NAMES = {
    "FromGymnax": ("gymnax", "FromGymnax"),
    "GymnaxState": ("gymnax", "GymnaxState"),
    "gymnax_space_to_spec": ("gymnax", "space_to_spec"),
    "FromBrax": ("brax", "FromBrax"),
}


def installed(prefix: str) -> bool:
    """Whether every package the library `prefix` needs can be imported, without importing it.

    Args:
        prefix: A key of `LIBRARIES`, e.g. ``"gymnax"``.
    """
    for name in LIBRARIES[prefix].requires:
        if name in sys.modules:  # None there means "blocked", as if not installed.
            if sys.modules[name] is None:
                return False
        elif importlib.util.find_spec(name) is None:
            return False
    return True


def catalogue_ids(*, installed_only: bool = False) -> list[str]:
    """Every ``"<prefix>/<id>"`` in the catalogue, in catalogue order, without importing a library.

    Args:
        installed_only: List only the libraries that are installed.
    """
    return [f"{prefix}/{name}" for prefix, library in LIBRARIES.items()
            if not installed_only or installed(prefix) for name in library.ids]


def _load(prefix: str, feature: str) -> Any:
    """Imports the adapter module of library `prefix`, turning a missing library into an install hint."""
    library = LIBRARIES[prefix]
    try:
        return importlib.import_module(library.module)
    except ModuleNotFoundError as e:
        missing = e.name.split(".")[0] if e.name is not None else None
        if missing in library.requires:
            raise ImportError(ERR_MISSING.format(feature=feature, module=missing, extra=library.extra)) from e
        raise


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        prefix, attribute = _NAMES[name]
        return getattr(_load(prefix, f"jit_env.adapters.{name}"), attribute)
    raise AttributeError(f"module 'jit_env.adapters' has no attribute {name!r}")


__all__ = [
    "ERR_MISSING",
    "LIBRARIES",
    "FromBrax",
    "FromGymnax",
    "GymnaxState",
    "Library",
    "catalogue_ids",
    "gymnax_space_to_spec",
    "installed",
]
