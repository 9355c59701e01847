"""Save and restore the state of any environment or wrapper stack, bit for bit.

A jit_env state is a pytree of arrays that carries its own PRNG keys, so a
saved state resumes exactly where it stopped: the same actions give the same
trajectory as an uninterrupted run, in this process or a fresh one. This
module writes states with orbax-checkpoint (the checkpointing library JAX
users already use):

* typed PRNG keys are saved as their key data and restored with their
  implementation (threefry, rbg, ...), so key chains continue bit for bit;
* sharded states (`Shard`) are saved shard by shard (each process writes its
  own) and restored onto the shardings of `like`;
* everything else in a state (precomputed pools, `NormalizeObservation`'s
  statistics, per-episode parameters, time limits) is an array like any other.

What is not saved: the environment itself (its static configuration) and any
jitted function. Restore needs `like`, a state of the same stack (any state:
from `reset`, or `jax.eval_shape(env.reset, key)`), whose tree structure,
shapes, dtypes and shardings the restored state takes.

>>> import jax, jit_env, tempfile, os
>>> from jit_env import checkpoint
>>> env = jit_env.make("CartPole-v1")
>>> state, _ = env.reset(jax.random.key(0))
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt")
>>> checkpoint.save(path, state)
>>> restored = checkpoint.restore(path, like=state)
>>> jax.tree.structure(restored) == jax.tree.structure(state)
True
>>> _, a = env.step(state, 1)
>>> _, b = env.step(restored, 1)
>>> bool((a.observation == b.observation).all())
True
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import numpy as np

try:
    import orbax.checkpoint as ocp
except ModuleNotFoundError as e:  # pragma: no cover - exercised without orbax installed
    if e.name is not None and e.name.split(".")[0] == "orbax":
        raise ImportError(
            "jit_env.checkpoint needs the `orbax-checkpoint` package, which is not installed: "
            'pip install "jit_env[checkpoint]"') from e
    raise

__all__ = ["restore", "save"]

ERR_EXISTS = "{path} already exists; pass `overwrite=True` to replace it, or choose a new path."
ERR_NOT_FOUND = "No jit_env checkpoint at {path} (no {file}); save one with jit_env.checkpoint.save."
ERR_STRUCTURE = (
    "The checkpoint at {path} holds a state of another structure than `like`: {what}. Restore "
    "with `like` a state of the same environment and wrapper stack as the saved one."
)
ERR_NOT_ARRAY = (
    "State leaf {where} is a {kind}, not an array: a state to save holds only arrays "
    "(jit_env states do); got {value!r}."
)

_METADATA = "jit_env_state.json"
_ARRAYS = "arrays"
_FORMAT = 1


def _is_key(x: Any) -> bool:
    return isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def _describe(state: Any) -> dict[str, Any]:
    """The state's structure, leaf by leaf: path, shape, dtype, and the key implementation."""
    leaves = []
    for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        where = jax.tree_util.keystr(path)
        if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
            raise TypeError(ERR_NOT_ARRAY.format(where=where, kind=type(leaf).__name__, value=leaf))
        key = jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
        leaves.append({"path": where, "shape": list(leaf.shape),
                       "dtype": str(leaf.dtype) if key else np.dtype(leaf.dtype).str})
    return {"format": _FORMAT, "treedef": str(jax.tree_util.tree_structure(state)), "leaves": leaves}


def _arrays(state: Any) -> dict[str, Any]:
    """The leaves to write, keyed by position; typed keys as their key data."""
    leaves = jax.tree_util.tree_leaves(state)
    return {f"{i:05d}": jax.random.key_data(x) if _is_key(x) else x for i, x in enumerate(leaves)}


def save(path: str | os.PathLike[str], state: Any, *, overwrite: bool = False) -> None:
    """Writes `state` (of any environment or wrapper stack) to the directory `path`.

    Blocks until the checkpoint is complete on disk. In a multi-process run every
    process calls it with the same path and its own shards of the state.

    Args:
        path: A directory that does not exist yet (or `overwrite=True`).
        state: The state, as `reset` or `step` returned it: a pytree of arrays
            (typed PRNG keys included), possibly sharded across devices.
        overwrite: Replace an existing checkpoint at `path`.

    Raises:
        FileExistsError: If `path` exists and `overwrite` is False.
        TypeError: If a leaf of `state` is not an array.
    """
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(ERR_EXISTS.format(path=path))
    description = _describe(state)
    # A typed key's implementation, to wrap its saved data again.
    description["impls"] = {str(i): str(jax.random.key_impl(x)) for i, x in
                            enumerate(jax.tree_util.tree_leaves(state)) if _is_key(x)}
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(os.path.join(path, _ARRAYS), _arrays(state), force=overwrite)
        checkpointer.wait_until_finished()
    if jax.process_index() == 0:
        with open(os.path.join(path, _METADATA), "w") as f:
            json.dump(description, f, indent=1)


def restore(path: str | os.PathLike[str], *, like: Any) -> Any:
    """Reads the state saved at `path`, with the structure, dtypes and shardings of `like`.

    Args:
        path: A directory written by `save`.
        like: A state of the same environment and wrapper stack (concrete, or
            abstract from `jax.eval_shape`); its leaves' shardings, where they
            have one, say where the restored arrays go.

    Returns:
        The saved state, bit for bit (PRNG keys as typed keys of their saved
        implementation).

    Raises:
        FileNotFoundError: If `path` holds no jit_env checkpoint.
        ValueError: If `like` has another structure, shape or dtype than the saved state.
    """
    path = os.path.abspath(os.fspath(path))
    metadata = os.path.join(path, _METADATA)
    if not os.path.exists(metadata):
        raise FileNotFoundError(ERR_NOT_FOUND.format(path=path, file=_METADATA))
    with open(metadata) as f:
        saved = json.load(f)
    wanted = _describe(like)
    _check_same(path, saved, wanted)
    leaves, treedef = jax.tree_util.tree_flatten(like)
    target = {name: _abstract(leaf) for name, leaf in zip(_arrays_names(len(leaves)), leaves, strict=True)}
    with ocp.StandardCheckpointer() as checkpointer:
        arrays = checkpointer.restore(os.path.join(path, _ARRAYS), target)
    out = []
    for i, (name, leaf) in enumerate(zip(_arrays_names(len(leaves)), leaves, strict=True)):
        value = arrays[name]
        out.append(jax.random.wrap_key_data(value, impl=saved["impls"][str(i)]) if _is_key_like(leaf) else value)
    return jax.tree_util.tree_unflatten(treedef, out)


def _arrays_names(num: int) -> list[str]:
    return [f"{i:05d}" for i in range(num)]


def _is_key_like(leaf: Any) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def _abstract(leaf: Any) -> jax.ShapeDtypeStruct:
    """What orbax restores a leaf as: key data for a key, on the leaf's sharding if it has one.

    A key's data has one trailing axis more than the key; a `NamedSharding`
    shards the leading axes the same way and leaves the trailing one whole.
    """
    sharding = getattr(leaf, "sharding", None)
    if sharding is None:
        sharding = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    if _is_key_like(leaf):
        data = jax.eval_shape(jax.random.key_data, jax.ShapeDtypeStruct(leaf.shape, leaf.dtype))
        return jax.ShapeDtypeStruct(data.shape, data.dtype, sharding=sharding)
    return jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=sharding)


def _check_same(path: str, saved: dict[str, Any], wanted: dict[str, Any]) -> None:
    if len(saved["leaves"]) != len(wanted["leaves"]):
        what = f"{len(saved['leaves'])} leaves saved, {len(wanted['leaves'])} in `like`"
        raise ValueError(ERR_STRUCTURE.format(path=path, what=what))
    for got, want in zip(saved["leaves"], wanted["leaves"], strict=True):
        if got != want:
            what = f"leaf {want['path']} is {got} in the checkpoint, {want} in `like`"
            raise ValueError(ERR_STRUCTURE.format(path=path, what=what))
    if saved["treedef"] != wanted["treedef"]:
        what = f"tree {saved['treedef']} saved, {wanted['treedef']} in `like`"
        raise ValueError(ERR_STRUCTURE.format(path=path, what=what))
