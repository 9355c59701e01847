"""Bridges out to other libraries: dm_env and Gymnasium (and gymnax in, kept here from 0.x).

`FromGymnax`, `GymnaxState` and `gymnax_space_to_spec` now live with the other
adapters in `jit_env.adapters`; they stay importable from here. Each bridge
lives in its own module that imports its library at the top; this
facade loads them on first use, so `import jit_env` (and `import
jit_env.compat`) imports none of dm_env, gymnasium or gymnax. A missing
library raises `ImportError` with the command that installs it.

>>> from jit_env import compat
>>> "ToDeepmindEnv" in compat.__all__
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from jit_env.adapters import FromGymnax as FromGymnax
    from jit_env.adapters import GymnaxState as GymnaxState
    from jit_env.adapters import gymnax_space_to_spec as gymnax_space_to_spec
    from jit_env.compat._dm_env import ToDeepmindEnv as ToDeepmindEnv
    from jit_env.compat._dm_env import dm_spec_to_spec as dm_spec_to_spec
    from jit_env.compat._dm_env import spec_to_dm_spec as spec_to_dm_spec
    from jit_env.compat._gymnasium import ToGymnasium as ToGymnasium
    from jit_env.compat._gymnasium import space_to_spec as space_to_spec
    from jit_env.compat._gymnasium import spec_to_space as spec_to_space
    from jit_env.compat._gymnasium_vector import ToGymnasiumVector as ToGymnasiumVector
    from jit_env.compat._registration import register_gymnasium_envs as register_gymnasium_envs
    from jit_env.compat._sb3 import ToSB3VecEnv as ToSB3VecEnv
    from jit_env.compat._to_gymnax import ToGymnax as ToGymnax
    from jit_env.compat._to_gymnax import ToGymnaxParams as ToGymnaxParams
    from jit_env.compat._to_gymnax import ToGymnaxState as ToGymnaxState
    from jit_env.compat._to_gymnax import spec_to_space as spec_to_gymnax_space

ERR_MISSING = (
    "{feature} needs the `{module}` package, which is not installed: pip install \"jit_env[{extra}]\""
)

# name -> (module, attribute in it)
_NAMES = {
    "ToDeepmindEnv": ("_dm_env", "ToDeepmindEnv"),
    "spec_to_dm_spec": ("_dm_env", "spec_to_dm_spec"),
    "dm_spec_to_spec": ("_dm_env", "dm_spec_to_spec"),
    "ToGymnasium": ("_gymnasium", "ToGymnasium"),
    "spec_to_space": ("_gymnasium", "spec_to_space"),
    "space_to_spec": ("_gymnasium", "space_to_spec"),
    "ToGymnasiumVector": ("_gymnasium_vector", "ToGymnasiumVector"),
    "register_gymnasium_envs": ("_registration", "register_gymnasium_envs"),
    "ToGymnax": ("_to_gymnax", "ToGymnax"),
    "ToSB3VecEnv": ("_sb3", "ToSB3VecEnv"),
    "ToGymnaxParams": ("_to_gymnax", "ToGymnaxParams"),
    "ToGymnaxState": ("_to_gymnax", "ToGymnaxState"),
    "spec_to_gymnax_space": ("_to_gymnax", "spec_to_space"),
}
# Names kept here that live in `jit_env.adapters` (the gymnax adapter's).
_ADAPTER_NAMES = ("FromGymnax", "GymnaxState", "gymnax_space_to_spec")
# module -> (the library it needs, its setup.cfg extra)
_DEPENDENCIES = {
    "_dm_env": ("dm_env", "dm-env"),
    "_gymnasium": ("gymnasium", "gymnasium"),
    "_gymnasium_vector": ("gymnasium", "gymnasium"),
    "_registration": ("gymnasium", "gymnasium"),
    "_to_gymnax": ("gymnax", "gymnax"),
    "_sb3": ("stable_baselines3", "sb3"),
}


def _load(module: str, feature: str) -> Any:
    """Imports a bridge module, turning a missing library into an install hint."""
    library, extra = _DEPENDENCIES[module]
    try:
        return importlib.import_module(f"jit_env.compat.{module}")
    except ModuleNotFoundError as e:
        if e.name is not None and e.name.split(".")[0] == library:
            raise ImportError(ERR_MISSING.format(feature=feature, module=library, extra=extra)) from e
        raise


def __getattr__(name: str) -> Any:
    if name in _NAMES:
        module, attribute = _NAMES[name]
        return getattr(_load(module, f"jit_env.compat.{name}"), attribute)
    if name in _ADAPTER_NAMES:
        adapters = importlib.import_module("jit_env.adapters")
        if not adapters.installed("gymnax"):
            raise ImportError(ERR_MISSING.format(feature=f"jit_env.compat.{name}", module="gymnax",
                                                 extra=adapters.LIBRARIES["gymnax"].extra))
        return getattr(adapters, name)
    raise AttributeError(f"module 'jit_env.compat' has no attribute {name!r}")


def make_deepmind_wrapper() -> tuple[type, Callable[[Any], Any]] | None:
    """The dm_env bridge class and spec converter, or None without dm_env (as in 0.1.5).

    Returns:
        `(ToDeepmindEnv, spec_to_dm_spec)`, or None if dm_env is not installed.
    """
    try:
        module = _load("_dm_env", "make_deepmind_wrapper")
    except ImportError:
        return None
    return module.ToDeepmindEnv, module.spec_to_dm_spec


def make_gymnasium_wrapper() -> tuple[type, Callable[[Any], Any]] | None:
    """The Gymnasium bridge class and spec converter, or None without gymnasium (as in 0.1.5).

    Returns:
        `(ToGymnasium, spec_to_space)`, or None if gymnasium is not installed.
    """
    try:
        module = _load("_gymnasium", "make_gymnasium_wrapper")
    except ImportError:
        return None
    return module.ToGymnasium, module.spec_to_space


# `make_deepmind_wrapper` and `make_gymnasium_wrapper` are jit_env 0.1.5's: kept importable
# for 0.1.5 code, deliberately not listed (new code imports the bridge and converter itself).
__all__ = [
    "FromGymnax",
    "GymnaxState",
    "ToDeepmindEnv",
    "ToGymnasium",
    "ToGymnasiumVector",
    "ToGymnax",
    "ToGymnaxParams",
    "ToGymnaxState",
    "ToSB3VecEnv",
    "dm_spec_to_spec",
    "gymnax_space_to_spec",
    "register_gymnasium_envs",
    "space_to_spec",
    "spec_to_dm_spec",
    "spec_to_gymnax_space",
    "spec_to_space",
]
