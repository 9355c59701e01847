"""A registry of environments by versioned id: `make`, `register`, `registered_envs`.

The built-in environments are registered when this module is imported (nothing
is built or run on the device until `make` is called). Every gymnax environment
is available as ``"gymnax/<gymnax id>"`` (through `compat.FromGymnax`) when gymnax
is installed; its ids are kept here as a static list, so that listing them
never imports gymnax.

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
import importlib.util
import re
import sys
from collections.abc import Callable
from typing import Any

from jit_env import _core
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
GYMNAX_IDS = (
    "CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0",
    "Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
    "SpaceInvaders-MinAtar", "Catch-bsuite", "DeepSea-bsuite", "MemoryChain-bsuite",
    "UmbrellaChain-bsuite", "DiscountingChain-bsuite", "MNISTBandit-bsuite",
    "SimpleBandit-bsuite", "FourRooms-misc", "MetaMaze-misc", "PointRobot-misc",
    "BernoulliBandit-misc", "GaussianBandit-misc", "Reacher-misc", "Swimmer-misc", "Pong-misc",
    "FrozenLake-misc",
)
"""The ids of `gymnax.registered_envs` in gymnax 1.0.1, in its order (checked by a test)."""

_ID_PATTERN = re.compile(r"^[A-Za-z][\w.\-]*-v\d+$")


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """A registration: the id, how to build the environment and its default arguments.

    Attributes:
        id: The versioned id, e.g. ``"CartPole-v1"``.
        entry_point: A callable returning the environment, or a ``"module:attr"`` string.
        kwargs: Default keyword arguments; ``max_episode_steps`` among them
            wraps the environment in `TimeLimit`.
    """

    id: str
    entry_point: Callable[..., Any] | str
    kwargs: dict[str, Any]


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


def _gymnax_installed() -> bool:
    """Whether gymnax can be imported, without importing it."""
    if "gymnax" in sys.modules:  # None there means "blocked", as if not installed.
        return sys.modules["gymnax"] is not None
    return importlib.util.find_spec("gymnax") is not None


def _make_gymnax(name: str, *, params: Any = None, **env_kwargs: Any) -> _core.Environment[Any, Any, Any]:
    """``gymnax.make(name, **env_kwargs)`` as a `compat.FromGymnax` (with `params` if given)."""
    from jit_env import compat

    module = compat._load("_gymnax", f"jit_env.make({GYMNAX_PREFIX + name!r})")
    import gymnax

    with module._gymnax_promotion():  # Some gymnax constructors compute with standard promotion.
        gymnax_env, default_params = gymnax.make(name, **env_kwargs)
        env: _core.Environment[Any, Any, Any] = module.FromGymnax(
            gymnax_env, default_params if params is None else params)
    return env


def _gymnax_spec(id: str) -> EnvSpec | None:
    name = id[len(GYMNAX_PREFIX):] if id.startswith(GYMNAX_PREFIX) else None
    if name not in GYMNAX_IDS:
        return None
    return EnvSpec(id=id, entry_point=functools.partial(_make_gymnax, name), kwargs={})


def registered_envs(*, include_gymnax: bool = True) -> list[str]:
    """The registered ids, sorted; the ``"gymnax/..."`` ids only when gymnax is installed.

    Args:
        include_gymnax: Whether to list gymnax's environments (``"gymnax/<id>"``,
            made through `jit_env.compat.FromGymnax`) beside the built-in and
            user-registered ones.

    >>> "CartPole-v1" in registered_envs()
    True
    >>> any(i.startswith("gymnax/") for i in registered_envs(include_gymnax=False))
    False
    """
    gymnax_ids = ([GYMNAX_PREFIX + name for name in GYMNAX_IDS]
                  if include_gymnax and _gymnax_installed() else [])
    return sorted([*_REGISTRY, *gymnax_ids])


def spec(id: str) -> EnvSpec:
    """The registration of `id`.

    Raises:
        ValueError: If `id` is not registered, naming close matches.
    """
    gymnax_spec = _gymnax_spec(id) if isinstance(id, str) and id not in _REGISTRY else None
    if gymnax_spec is not None:
        return gymnax_spec
    if id not in _REGISTRY:
        close = difflib.get_close_matches(str(id), registered_envs(), n=3)
        hint = HINT_CLOSE.format(", ".join(map(repr, close))) if close else ""
        raise ValueError(ERR_UNKNOWN_ID.format(id=id, hint=hint, ids=", ".join(registered_envs())))
    return _REGISTRY[id]


def make(id: str, **kwargs: Any) -> _core.Environment[Any, Any, Any]:
    """Builds the environment registered as `id`.

    Args:
        id: A registered id, e.g. ``"CartPole-v1"``, or ``"gymnax/<gymnax id>"``
            (e.g. ``"gymnax/Breakout-MinAtar"``) for a gymnax environment.
        **kwargs: Override the registered defaults; ``max_episode_steps=None``
            drops the time limit. For gymnax ids, ``params=`` replaces the
            environment's default params and the other keyword arguments go to
            ``gymnax.make``; gymnax's own ``max_steps_in_episode`` truncates.

    Returns:
        The environment, inside `TimeLimit` when it has a `max_episode_steps`.

    Raises:
        ValueError: If `id` is unknown (the message lists close matches) or the
            entry point does not return a `jit_env.Environment`.
        ImportError: For a gymnax id when gymnax is not installed (the message
            says ``pip install "jit_env[gymnax]"``).

    >>> make("CartPole-v1", max_episode_steps=50).max_episode_steps
    50
    """
    registration = spec(id)
    arguments = {**registration.kwargs, **kwargs}
    max_episode_steps = arguments.pop("max_episode_steps", None)
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
