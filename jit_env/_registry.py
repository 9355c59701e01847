"""A registry of environments by versioned id: `make`, `register`, `registered_envs`.

The built-in environments are registered when this module is imported (nothing
is built or run on the device until `make` is called). Every environment of the
hub's libraries (`jit_env.adapters.LIBRARIES`: gymnax, brax, ...) is available
as ``"<prefix>/<id>"`` (e.g. ``"gymnax/Breakout-MinAtar"``, ``"brax/ant"``); the
catalogue keeps their ids as static lists, so listing them never imports a
library. `registered_envs` lists the ids of the libraries that are installed.

>>> import jit_env
>>> env = jit_env.make("CartPole-v1")
>>> env
TimeLimit(CartPole(), max_episode_steps=500)
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import re
from collections.abc import Callable
from typing import Any

from jit_env import _core, adapters
from jit_env.adapters import _catalogue
from jit_env.wrappers import _time_limit

ERR_UNKNOWN_ID = "No environment registered with id {id!r}.{hint} Registered ids: {ids}."
HINT_CLOSE = " Did you mean {}?"
ERR_ALREADY_REGISTERED = (
    "Environment id {!r} is already registered; pass `override=True` to replace it."
)
ERR_BAD_ID = "Environment ids look like 'Name-v<version>' (e.g. 'CartPole-v1'), got {!r}."
ERR_ENTRY_POINT = "`entry_point` must be a callable or a 'module:attr' string, got {!r}."
ERR_NOT_AN_ENV = "The entry point of {!r} returned {!r}, not a jit_env.Environment."

GYMNAX_PREFIX = "gymnax/"
GYMNAX_IDS = _catalogue.LIBRARIES["gymnax"].ids
"""The ids of `gymnax.registered_envs` in gymnax 1.0.1, in its order (kept from 0.x; see
`jit_env.adapters.LIBRARIES` for every library's)."""

_ID_PATTERN = re.compile(r"^[A-Za-z][\w.\-]*-v\d+$")


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """A registration: the id, how to build the environment and its default arguments.

    Attributes:
        id: The versioned id, e.g. ``"CartPole-v1"``.
        entry_point: A callable returning the environment, or a ``"module:attr"`` string.
        kwargs: Default keyword arguments; ``max_episode_steps`` among them
            wraps the environment in `TimeLimit`.
        library_limit: The episode length at which the environment truncates by
            itself (a hub library's own limit, e.g. gymnax's
            ``max_steps_in_episode``), or None. When set, `make` also passes
            ``max_episode_steps`` to the entry point.
    """

    id: str
    entry_point: Callable[..., Any] | str
    kwargs: dict[str, Any]
    library_limit: int | None = None

    @property
    def max_episode_steps(self) -> int | None:
        """The default episode length: the registered time limit or the library's own."""
        limit = self.kwargs.get("max_episode_steps")
        return self.library_limit if limit is None else int(limit)


_REGISTRY: dict[str, EnvSpec] = {}


def _load(entry_point: Callable[..., Any] | str) -> Callable[..., Any]:
    if callable(entry_point):
        return entry_point
    module, _, attr = entry_point.partition(":")
    loaded: Callable[..., Any] = getattr(importlib.import_module(module), attr)
    return loaded


def register(
    id: str,
    entry_point: Callable[..., Any] | str,
    *,
    override: bool = False,
    **defaults: Any,
) -> None:
    """Registers an environment under a versioned id.

    Args:
        id: The id, ``"Name-v<version>"``.
        entry_point: A class or callable returning a `jit_env.Environment`, or a
            ``"module:attr"`` string naming one (imported on first `make`).
        override: Replace an existing registration instead of raising.
        **defaults: Default keyword arguments for the entry point;
            ``max_episode_steps=N`` wraps the environment in `TimeLimit`.

    Raises:
        ValueError: If the id is malformed, already registered (and not
            `override`), or `entry_point` is neither callable nor ``"module:attr"``.
    """
    if not isinstance(id, str) or not _ID_PATTERN.match(id):
        raise ValueError(ERR_BAD_ID.format(id))
    valid_string = isinstance(entry_point, str) and re.match(r"^[\w.]+:\w+$", entry_point)
    if not (callable(entry_point) or valid_string):
        raise ValueError(ERR_ENTRY_POINT.format(entry_point))
    if id in _REGISTRY and not override:
        raise ValueError(ERR_ALREADY_REGISTERED.format(id))
    _REGISTRY[id] = EnvSpec(id=id, entry_point=entry_point, kwargs=dict(defaults))


def _make_hub(prefix: str, name: str, **kwargs: Any) -> _core.Environment[Any, Any, Any]:
    """The adapter module of library `prefix`'s ``make(name, **kwargs)``."""
    module = adapters._load(prefix, f"jit_env.make({prefix + '/' + name!r})")
    env: _core.Environment[Any, Any, Any] = module.make(name, **kwargs)
    return env


def _hub_spec(id: str) -> EnvSpec | None:
    """The registration of a catalogue id ``"<prefix>/<name>"``, or None if `id` is not one."""
    prefix, _, name = id.partition("/")
    library = _catalogue.LIBRARIES.get(prefix)
    if library is None or name not in library.ids:
        return None
    limit = library.episode_limits.get(name)
    if library.limit_in_env:
        return EnvSpec(id=id, entry_point=functools.partial(_make_hub, prefix, name), kwargs={},
                       library_limit=limit)
    return EnvSpec(id=id, entry_point=functools.partial(_make_hub, prefix, name),
                   kwargs={} if limit is None else {"max_episode_steps": limit})


def registered_envs(*, include_gymnax: bool = True, include_hub: bool = True) -> list[str]:
    """The registered ids, sorted, with the hub's ids of every installed library.

    The hub's ids (``"<prefix>/<id>"``, `jit_env.adapters.LIBRARIES`) come from
    static lists: nothing is imported. A library that is not installed has its
    ids left out (`jit_env.make` would refuse them); ``jit-env list`` shows them
    with the command that installs it.

    Args:
        include_gymnax: Whether to list gymnax's environments (``"gymnax/<id>"``).
        include_hub: Whether to list the hub's environments (every installed
            library's, gymnax's included) beside the built-in and
            user-registered ones.

    >>> "CartPole-v1" in registered_envs()
    True
    >>> any(i.startswith("gymnax/") for i in registered_envs(include_gymnax=False))
    False
    """
    hub_ids = [env_id for env_id in adapters.catalogue_ids(installed_only=True)
               if include_hub and (include_gymnax or not env_id.startswith(GYMNAX_PREFIX))]
    return sorted([*_REGISTRY, *hub_ids])


def spec(id: str) -> EnvSpec:
    """The registration of `id`.

    Raises:
        ValueError: If `id` is not registered, naming close matches.
    """
    hub_spec = _hub_spec(id) if isinstance(id, str) and id not in _REGISTRY else None
    if hub_spec is not None:
        return hub_spec
    if id not in _REGISTRY:
        close = difflib.get_close_matches(str(id), registered_envs(), n=3)
        hint = HINT_CLOSE.format(", ".join(map(repr, close))) if close else ""
        raise ValueError(ERR_UNKNOWN_ID.format(id=id, hint=hint, ids=", ".join(registered_envs())))
    return _REGISTRY[id]


def make(id: str, **kwargs: Any) -> _core.Environment[Any, Any, Any]:
    """Builds the environment registered as `id`.

    Args:
        id: A registered id, e.g. ``"CartPole-v1"``, or a hub id
            ``"<prefix>/<id>"`` (e.g. ``"gymnax/Breakout-MinAtar"``,
            ``"brax/ant"``; see `jit_env.adapters.LIBRARIES`).
        **kwargs: Override the registered defaults; ``max_episode_steps=None``
            drops the time limit. For hub ids the other keyword arguments go to
            the adapter module's ``make`` (docs/hub.md lists them per library).
            For gymnax ids, ``params=`` replaces the environment's default
            params, the others go to ``gymnax.make``. Where the library ends
            episodes by itself (gymnax's ``max_steps_in_episode``, Jumanji's
            ``time_limit``, ...: `jit_env.adapters.Library.limit_in_env`),
            ``max_episode_steps=N`` sets the library's own limit to N besides
            adding `TimeLimit`, and ``max_episode_steps=None`` lifts it.

    Returns:
        The environment, inside `TimeLimit` when it has a `max_episode_steps`.

    Raises:
        ValueError: If `id` is unknown (the message lists close matches) or the
            entry point does not return a `jit_env.Environment`.
        ImportError: For a hub id whose library is not installed (the message
            names the extra, e.g. ``pip install "jit_env[gymnax]"``).

    >>> make("CartPole-v1", max_episode_steps=50).max_episode_steps
    50
    """
    registration = spec(id)
    arguments = {**registration.kwargs, **kwargs}
    given = "max_episode_steps" in arguments
    max_episode_steps = arguments.pop("max_episode_steps", None)
    if given and registration.library_limit is not None:  # The library's own limit follows it; None lifts it.
        arguments["max_episode_steps"] = max_episode_steps
    env = _load(registration.entry_point)(**arguments)
    if not isinstance(env, _core.Environment):
        raise ValueError(ERR_NOT_AN_ENV.format(id, env))
    if max_episode_steps is not None:
        env = _time_limit.TimeLimit(env, max_episode_steps=max_episode_steps)
    return env


# Gymnasium's registered time limits.
register("CartPole-v1", "jit_env.envs.cartpole:CartPole", max_episode_steps=500)
register("Acrobot-v1", "jit_env.envs.acrobot:Acrobot", max_episode_steps=500)
register("MountainCar-v0", "jit_env.envs.mountain_car:MountainCar", max_episode_steps=200)
register("MountainCarContinuous-v0", "jit_env.envs.mountain_car_continuous:MountainCarContinuous",
         max_episode_steps=999)
register("Pendulum-v1", "jit_env.envs.pendulum:Pendulum", max_episode_steps=200)
# Episodes of these end on their own (after rows - 1 and size steps).
register("Catch-v0", "jit_env.envs.catch:Catch")
register("DeepSea-v0", "jit_env.envs.deep_sea:DeepSea")
