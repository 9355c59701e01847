"""Dtype helpers the game adapters share (Jumanji, Craftax, Pgx): no third-party imports.

A `lax.scan` carries an environment's state only if `step` returns the pytree
structure, shapes and dtypes `reset` returned. Several libraries break this
under `JAX_ENABLE_X64` (a Python int becomes int64 in one branch and int32 in
another) or return weakly typed leaves. The adapters make `reset`'s state
strongly typed (`strong`) and cast what `step` returns to the dtypes of the state
it was given (`like`), so every step keeps the layout reset chose.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import specs


@contextlib.contextmanager
def library_promotion() -> Iterator[None]:
    """JAX's standard promotion and rank promotion, for tracing a library's own code.

    jit_env's tests turn on strict promotion; the libraries rely on the default.
    """
    with jax.numpy_dtype_promotion("standard"), jax.numpy_rank_promotion("allow"):
        yield


def _is_key(x: Any) -> bool:
    return jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def strong(tree: Any) -> Any:
    """`tree` with every array leaf strongly typed (Python scalars become arrays)."""
    return jax.tree_util.tree_map(
        lambda x: x if _is_key(jnp.asarray(x)) else jax.lax.convert_element_type(
            jnp.asarray(x), jnp.result_type(x)), tree)


def like(new: Any, old: Any) -> Any:
    """`new` with each leaf cast to the dtype of the matching leaf of `old` (same structure).

    Key leaves are left alone. A cast only happens where a library changed a
    dtype (e.g. int32 -> int64 under x64), so values are kept.
    """
    def cast(n: Any, o: Any) -> Any:
        n = jnp.asarray(n)
        if _is_key(n):
            return n
        dtype = o.dtype if hasattr(o, "dtype") else jnp.result_type(o)
        return jax.lax.convert_element_type(n, dtype)

    return jax.tree_util.tree_map(cast, new, old)


def to_spec(value: Any, spec: specs.Spec[Any]) -> Any:
    """`value` (a tree shaped like `spec`) with every leaf cast to its spec's dtype, strongly."""
    leaves = specs.unpack_spec(spec)
    return jax.tree_util.tree_map(
        lambda s, v: jax.lax.convert_element_type(jnp.asarray(v), s.dtype), leaves, value,
        is_leaf=lambda x: isinstance(x, specs.Spec))
