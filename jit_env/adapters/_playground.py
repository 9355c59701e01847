"""MuJoCo Playground in: any Playground environment as a `jit_env.Environment` (``"playground/<name>"``).

Playground's `MjxEnv` has brax's API (``reset(rng) -> State``,
``step(state, action) -> State``), so `jit_env.adapters.FromBrax` adapts it;
everything said there holds here. Playground specifics:

- `mujoco_playground.registry.load` builds the raw environment: no
  `wrap_for_brax_training` (its auto-reset restarts from a cached first state,
  and it keeps no final observation); jit_env's `TimeLimit` truncates at the
  config's ``episode_length`` (`jit_env.make` adds it).
- Playground keeps its own PRNG key in ``info["rng"]`` for randomness during
  steps; `reset` seeds it from the adapter's key chain.
- Dict observations (``{"state": ..., "privileged_state": ...}``) become a
  `specs.Dict`.
- The locomotion and manipulation suites load robot models from MuJoCo
  Menagerie, which Playground clones from GitHub on first use: offline they
  cannot be built (the dm_control suite ships its models).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import jax
import mujoco_playground
from mujoco_playground._src import mjx_env

from jit_env import _core
from jit_env.adapters import _brax, _common

BENCHMARK_ID = "CartpoleBalance"
"""The Playground id `benchmarks/hub.py` measures."""

ERR_MENAGERIE = (
    "playground/{name} loads its robot from MuJoCo Menagerie, which Playground clones from "
    "GitHub into {path} the first time such an id is built, and the clone failed ({error}). "
    "Build it once where github.com is reachable, or clone "
    "https://github.com/google-deepmind/mujoco_menagerie into that folder and check out "
    "commit {commit}.")


def make(name: str, *, config: Any = None, config_overrides: dict[str, Any] | None = None) -> _brax.FromBrax:
    """``mujoco_playground.registry.load(name, config, config_overrides)`` as a `FromBrax`.

    Args:
        name: A Playground id, e.g. ``"CartpoleBalance"`` (`mujoco_playground.registry.ALL_ENVS`).
        config: The environment's `ml_collections.ConfigDict` (default:
            `mujoco_playground.registry.get_default_config(name)`).
        config_overrides: Entries of the config to replace, e.g. ``{"ctrl_dt": 0.02}``.

    Raises:
        RuntimeError: If a locomotion or manipulation id needs MuJoCo Menagerie and
            Playground could not clone it (`ERR_MENAGERIE`: offline, say).
    """
    try:
        with _common.library_promotion():  # Playground's constructors broadcast with rank promotion.
            env = mujoco_playground.registry.load(name, config=config, config_overrides=config_overrides)
    except subprocess.CalledProcessError as error:  # Only Playground's clone of the Menagerie runs one.
        raise RuntimeError(ERR_MENAGERIE.format(
            name=name, path=mjx_env.MENAGERIE_PATH, error=error,
            commit=mjx_env.MENAGERIE_COMMIT_SHA)) from error
    return _brax.FromBrax(env, name=name)


def native(env: _core.Environment[Any, Any, Any]) -> tuple[
        Callable[[jax.Array], Any], Callable[[Any, Any, jax.Array], Any]]:
    """Playground's own `reset` and `step` of the `FromBrax` inside `env` (see `_brax.native`)."""
    return _brax.native(env)
