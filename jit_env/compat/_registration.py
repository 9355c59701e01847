"""jit_env environments in Gymnasium's registry, under the ``jit_env/`` namespace.

`gymnasium.make("jit_env/<id>")` builds `ToGymnasium(jit_env.make(id))` and
`gymnasium.make_vec("jit_env/<id>", num_envs=N, vectorization_mode="vector_entry_point")`
builds `ToGymnasiumVector(jit_env.make(id), N)`. Both call `jit_env.make` at
make time, so registering an id is cheap and never builds an environment.

Time limits follow Gymnasium: each id is registered with its default episode
length as ``max_episode_steps`` (``env.spec.max_episode_steps``: 500 for
CartPole-v1, as Gymnasium's own), and `gymnasium.make` adds Gymnasium's
`TimeLimit` with it or with the ``max_episode_steps=`` it is given; the
environment inside is made without jit_env's `TimeLimit`, so nothing else
truncates first. `gymnasium.make_vec` passes ``max_episode_steps`` to
`jit_env.make` (jit_env's `TimeLimit`, inside the jitted step). Hub ids
``"<prefix>/<id>"`` are registered as ``jit_env/<prefix>.<id>`` (Gymnasium ids
take one ``/``). A library that ends episodes by itself (gymnax's
``max_steps_in_episode``, Jumanji's ``time_limit``, navix's and xminigrid's
``max_steps``, Craftax's ``max_timesteps``: `jit_env.adapters.Library.limit_in_env`)
has that limit lifted in the single environment (``max_episode_steps=None``
reaches the adapter), so Gymnasium's `TimeLimit` alone decides, as for
Gymnasium's own environments: ``gymnasium.make("jit_env/gymnax.CartPole-v1",
max_episode_steps=1000)`` runs to 1000 steps. Pgx's chess, shogi and Go end
their games after a number of moves by a rule of the game (a termination),
which stays. In `make_vec` ``max_episode_steps`` sets the library's own limit
and jit_env's `TimeLimit`.
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
    """Gymnasium entry point: `ToGymnasium(jit_env.make(env_id, **kwargs))` without a time limit.

    `gymnasium.make` wraps the result in Gymnasium's `TimeLimit` (the
    registered ``max_episode_steps`` or the one it is given); jit_env's
    `TimeLimit` is left out and a library's own limit lifted
    (``max_episode_steps=None``).
    """
    return _gymnasium.ToGymnasium(
        _jit_env_make(env_id, **{**kwargs, "max_episode_steps": None}), seed=seed,
        render_mode=render_mode, options=options)


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
    """Gymnasium vector entry point: `ToGymnasiumVector(jit_env.make(env_id, **kwargs), num_envs)`.

    `gymnasium.make_vec` passes the registered ``max_episode_steps`` (or the
    one it is given) in `kwargs`: jit_env's `TimeLimit` applies it.
    """
    return _gymnasium_vector.ToGymnasiumVector(
        _jit_env_make(env_id, **kwargs), num_envs, seed=seed, autoreset_mode=autoreset_mode,
        render_mode=render_mode, options=options)


def gymnasium_id(env_id: str) -> str:
    """The Gymnasium id of a jit_env id: ``"jit_env/" + env_id``, a hub id's ``/`` as ``.``.

    >>> gymnasium_id("CartPole-v1"), gymnasium_id("brax/ant")
    ('jit_env/CartPole-v1', 'jit_env/brax.ant')
    """
    return f"{NAMESPACE}/{env_id.replace('/', '.')}"


def register_gymnasium_env(env_id: str) -> str:
    """Registers one jit_env id with Gymnasium (again is a no-op); returns the Gymnasium id.

    Its default episode length (`jit_env.make`'s time limit, or the library's
    own) becomes the registration's ``max_episode_steps``.
    """
    registry = importlib.import_module("jit_env._registry")
    gym_id = gymnasium_id(env_id)
    if gym_id not in gymnasium.registry:
        gymnasium.register(
            gym_id,
            entry_point=functools.partial(make_single, env_id),
            vector_entry_point=functools.partial(make_vector, env_id),
            max_episode_steps=registry.spec(env_id).max_episode_steps,
            disable_env_checker=True,
            order_enforce=False,
        )
    return gym_id


def register_gymnasium_envs() -> list[str]:
    """Registers every id in `jit_env.registered_envs()` as ``jit_env/<id>``.

    Hub ids of installed libraries are included, as ``jit_env/<prefix>.<id>``
    (nothing is imported or built until `gymnasium.make`).

    Call it again after `jit_env.register` to make later environments
    reachable; ids already registered are left alone.

    Returns:
        The Gymnasium ids, sorted.
    """
    registry = importlib.import_module("jit_env._registry")
    return sorted(register_gymnasium_env(env_id) for env_id in registry.registered_envs())
