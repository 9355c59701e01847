"""jit_env environments in Gymnasium's registry, under the ``jit_env/`` namespace.

`gymnasium.make("jit_env/<id>")` builds `ToGymnasium(jit_env.make(id))` and
`gymnasium.make_vec("jit_env/<id>", num_envs=N, vectorization_mode="vector_entry_point")`
builds `ToGymnasiumVector(jit_env.make(id), N)`. Both call `jit_env.make` at
make time, so registering an id is cheap and never builds an environment.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import gymnasium

from jit_env.compat import _gymnasium, _gymnasium_vector

NAMESPACE = "jit_env"


def _jit_env_make(env_id: str, **kwargs: Any) -> Any:
    registry = importlib.import_module("jit_env._registry")
    return registry.make(env_id, **kwargs)


def make_single(
    env_id: str,
    *,
    seed: int | None = None,
    render_mode: str | None = None,
    options: Any = None,
    **kwargs: Any,
) -> _gymnasium.ToGymnasium:
    """Gymnasium entry point: `ToGymnasium(jit_env.make(env_id, **kwargs))`."""
    return _gymnasium.ToGymnasium(
        _jit_env_make(env_id, **kwargs), seed=seed, render_mode=render_mode, options=options)


def make_vector(
    env_id: str,
    num_envs: int = 1,
    *,
    seed: int | None = None,
    autoreset_mode: Any = gymnasium.vector.AutoresetMode.NEXT_STEP,
    render_mode: str | None = None,
    options: Any = None,
    **kwargs: Any,
) -> _gymnasium_vector.ToGymnasiumVector:
    """Gymnasium vector entry point: `ToGymnasiumVector(jit_env.make(env_id, **kwargs), num_envs)`."""
    return _gymnasium_vector.ToGymnasiumVector(
        _jit_env_make(env_id, **kwargs), num_envs, seed=seed, autoreset_mode=autoreset_mode,
        render_mode=render_mode, options=options)


def gymnasium_id(env_id: str) -> str:
    """The Gymnasium id of a jit_env id: ``"jit_env/" + env_id``."""
    return f"{NAMESPACE}/{env_id}"


def register_gymnasium_env(env_id: str) -> str:
    """Registers one jit_env id with Gymnasium (again is a no-op); returns the Gymnasium id."""
    gym_id = gymnasium_id(env_id)
    if gym_id not in gymnasium.registry:
        gymnasium.register(
            gym_id,
            entry_point=functools.partial(make_single, env_id),
            vector_entry_point=functools.partial(make_vector, env_id),
            disable_env_checker=True,
            order_enforce=False,
        )
    return gym_id


def register_gymnasium_envs() -> list[str]:
    """Registers every id in `jit_env.registered_envs()` as ``jit_env/<id>``.

    Call it again after `jit_env.register` to make later environments
    reachable; ids already registered are left alone.

    Returns:
        The Gymnasium ids, sorted.
    """
    registry = importlib.import_module("jit_env._registry")
    return sorted(register_gymnasium_env(env_id) for env_id in registry.registered_envs(include_gymnax=False))
