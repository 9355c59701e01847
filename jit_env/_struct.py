"""A frozen, pytree-registered dataclass decorator that type checkers understand.

Fields are pytree children unless declared with ``field(static=True)``, in which
case they become part of the tree definition (hashable, compared on retrace).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar, overload

import jax
from typing_extensions import dataclass_transform

T = TypeVar("T", bound=type)


def field(*, static: bool = False, **kwargs: Any) -> Any:
    """A `dataclasses.field` that can mark the field as static pytree metadata (`jit_env.field`).

    Args:
        static: If True the field is part of the tree structure, not a leaf.
        **kwargs: Forwarded to `dataclasses.field`.

    Returns:
        A dataclass field descriptor.
    """
    metadata = dict(kwargs.pop("metadata", None) or {})
    metadata["static"] = static
    return dataclasses.field(metadata=metadata, **kwargs)


@overload
def dataclass(cls: T, /) -> T: ...


@overload
def dataclass(*, eq: bool = True) -> Callable[[T], T]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, dataclasses.field))
def dataclass(cls: T | None = None, /, *, eq: bool = True) -> T | Callable[[T], T]:
    """Makes `cls` a frozen dataclass registered as a JAX pytree (public as `jit_env.dataclass`).

    Use it for environment states: every field is a pytree leaf (an array, a
    key, a nested state) unless declared with `jit_env.field(static=True)`.

    >>> import jax.numpy as jnp
    >>> import jit_env
    >>> @jit_env.dataclass
    ... class State:
    ...     key: jax.Array
    ...     position: jax.Array
    ...     size: int = jit_env.field(static=True, default=3)
    >>> s = jax.jit(lambda s: jax.tree_util.tree_map(lambda v: v + 1, s))(
    ...     State(jnp.zeros(2, jnp.uint32), jnp.ones(())))
    >>> float(s.position), s.size
    (2.0, 3)
    """

    def wrap(cls: T) -> T:
        made: Any = dataclasses.dataclass(frozen=True, eq=eq)(cls)
        data: list[str] = []
        meta: list[str] = []
        for f in dataclasses.fields(made):
            (meta if f.metadata.get("static", False) else data).append(f.name)
        return jax.tree_util.register_dataclass(made, data_fields=data, meta_fields=meta)

    return wrap if cls is None else wrap(cls)
