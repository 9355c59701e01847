"""Action transforms: TransformAction and ClipAction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jit_env import _core, specs
from jit_env.wrappers import _common

ERR_CLIP_SPEC = (
    "ClipAction needs floating-point BoundedArray action specs, got {!r}; clipping "
    "other specs would change their meaning."
)


class TransformAction(_core.Wrapper[Any, Any, Any]):
    """Maps the agent's action through `fn` before the inner `step`.

    Args of the constructor:
        env: The environment.
        fn: Maps an action of `action_spec` to an action of the inner spec.
        action_spec: The spec of the actions the wrapper accepts.

    >>> # Let an agent pick from two actions of an env that takes 0..3:
    >>> # TransformAction(env, fn=lambda a: 3 * a, action_spec=specs.DiscreteArray(2))
    """

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        fn: Callable[[Any], Any],
        action_spec: specs.Spec[Any],
    ):
        super().__init__(env)
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {fn!r}.")
        if not isinstance(action_spec, specs.Spec):
            raise TypeError(specs.ERR_NOT_A_SPEC.format(action_spec))
        self._fn = fn
        self._action_spec = action_spec

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        return [("fn", self._fn), ("action_spec", self._action_spec)]

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        return self._env.step(state, self._fn(action))


def _unbounded(spec: specs.Spec[Any]) -> specs.Spec[Any]:
    if not (isinstance(spec, specs.BoundedArray) and jnp.issubdtype(spec.dtype, jnp.floating)):
        raise ValueError(ERR_CLIP_SPEC.format(spec))
    return specs.Array(spec.shape, spec.dtype, spec.name)


class ClipAction(_core.Wrapper[Any, Any, Any]):
    """Accepts any float action and clips it into the inner action spec's bounds.

    The action spec becomes an unbounded `Array` of the same shape and dtype
    (clipping is this wrapper's documented purpose, so nothing is lost silently).
    """

    def __init__(self, env: _core.Environment[Any, Any, Any]):
        """Raises:
        ValueError: If an action spec leaf is not a floating-point BoundedArray.
        """
        super().__init__(env)
        inner, batch = _common.slice_spec(env.action_spec())
        leaves = specs.unpack_spec(inner)
        outer = jax.tree_util.tree_map(_unbounded, leaves, is_leaf=specs.is_spec)
        flat, treedef = jax.tree_util.tree_flatten(outer, is_leaf=specs.is_spec)
        spec = flat[0] if len(flat) == 1 and isinstance(outer, specs.Spec) else specs.Tree(flat, treedef)
        self._action_spec = _common.rebatch(spec, batch)
        self._bounds = leaves

    def action_spec(self) -> specs.Spec[Any]:
        return self._action_spec

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)
        clipped = jax.tree_util.tree_map(
            lambda s, a: jnp.clip(a, s.minimum, s.maximum), self._bounds, action,
            is_leaf=specs.is_spec,
        )
        return self._env.step(state, clipped)
