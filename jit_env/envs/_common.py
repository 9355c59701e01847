"""Shared helpers of the built-in environments: episode parameters and rasterising.

Episode parameters
------------------
Every built-in environment has a `Params` dataclass whose defaults are the
upstream constants. `reset(key, options=...)` takes `None` (the defaults), a
`Params`, or a dict that overrides some fields of the defaults.

With `options=None` the state stores `options=None` and `reset`, `step` and
`render` use the defaults as NumPy float32 constants (`params_of`): the state
carries no parameter leaves, so under `vmap` there are no `(N,)` parameter
buffers for auto-reset selects, loop carries and jit-call dispatch to move, and
XLA folds the constants (jitted results may differ from eager ones in the last
bit). With a `Params` or a dict, the resolved `Params` (every field a float32
array) is stored in `state.options`, so an auto-reset wrapper, which calls
`env.reset(state.key, options=state.options)`, starts the next episode with the
same parameters, and `Vmap(env, options_in_axes=0)` gives each sub-environment
its own parameters without recompiling. The two kinds of state differ in tree
structure (`state.options` is None or a `Params`); the bridges build one set of
jitted functions per options structure.

Rasterising
-----------
Pictures are drawn in pure JAX: a shape is a boolean mask computed from the
pixel-centre coordinates, and painting selects its colour where the mask holds.
Coordinates are in pixels with the origin at the bottom-left and y pointing up
(as in Gymnasium's pygame drawings before their vertical flip).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

P = TypeVar("P")

ERR_OPTIONS_TYPE = (
    "`options` of {env} must be None, a {params} or a dict of {params} fields, got {got}."
)
ERR_OPTIONS_FIELDS = "`options` of {env} has unknown field(s) {unknown}; {params} has fields {fields}."


_DEFAULTS: dict[type, Any] = {}


def default_params(params_type: type[P]) -> P:
    """The default parameters of `params_type`, every field a NumPy float32 constant.

    Built once per type (a frozen dataclass of immutable scalars, so sharing it
    is safe): `step` asks for it on every call, eager ones included.
    """
    defaults: P | None = _DEFAULTS.get(params_type)
    if defaults is None:
        defaults = _DEFAULTS[params_type] = jax.tree_util.tree_map(np.float32, params_type())
    return defaults


def params_of(state_options: P | None, params_type: type[P]) -> P:
    """The parameters an episode runs with: `state.options`, or the defaults if it is None.

    Args:
        state_options: The state's `options`: None (the episode was reset with
            `options=None`) or the resolved `params_type` that `reset` stored.
        params_type: The environment's `Params` dataclass.

    Returns:
        `state_options` itself, or `default_params(params_type)` (NumPy float32
        constants, which XLA folds) if it is None.
    """
    if state_options is None:
        return default_params(params_type)
    return state_options


def stored_options(options: Any, params: P) -> P | None:
    """What `reset` stores in `state.options`: None for `options=None`, else the resolved `params`."""
    return None if options is None else params


def resolve_params(env_name: str, params_type: type[P], options: Any) -> P:
    """Returns the episode parameters that `options` asks for, every field float32.

    Args:
        env_name: The environment's name, for error messages.
        params_type: The environment's `Params` dataclass.
        options: None, a `params_type` instance, or a mapping of field overrides.

    Returns:
        For `options=None`, `default_params(params_type)` (NumPy float32
        constants); otherwise a `params_type` whose fields are float32 arrays
        (scalars unless given otherwise, e.g. batched under `vmap`).

    Raises:
        TypeError: If `options` is of another type.
        ValueError: If a mapping names fields that `params_type` lacks.
    """
    if options is None:
        return default_params(params_type)
    if isinstance(options, params_type):
        params = options
    elif isinstance(options, Mapping):
        fields = [f.name for f in dataclasses.fields(params_type)]  # type: ignore[arg-type]
        unknown = sorted(set(options) - set(fields))
        if unknown:
            raise ValueError(ERR_OPTIONS_FIELDS.format(
                env=env_name, unknown=unknown, params=params_type.__name__, fields=fields))
        params = params_type(**options)
    else:
        raise TypeError(ERR_OPTIONS_TYPE.format(
            env=env_name, params=params_type.__name__, got=type(options).__name__))
    resolved: P = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)
    return resolved


def split_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Splits a reset key into (key to store in the state, key to draw the episode from)."""
    stored, draw = jax.random.split(key)
    return stored, draw


Color = tuple[int, int, int]


def pixel_grid(height: int, width: int) -> tuple[jax.Array, jax.Array]:
    """Pixel-centre coordinates, origin bottom-left, y up.

    Returns:
        `(x, y)`, two float32 arrays of shape `(height, width)`; row 0 is the top.
    """
    rows = jnp.arange(height, dtype=jnp.float32)[:, None]
    cols = jnp.arange(width, dtype=jnp.float32)[None, :]
    x = jnp.broadcast_to(cols + 0.5, (height, width))
    y = jnp.broadcast_to((height - 0.5) - rows, (height, width))
    return x, y


def canvas(height: int, width: int, color: Color = (255, 255, 255)) -> jax.Array:
    """A uint8 image of shape `(height, width, 3)` filled with `color`."""
    return jnp.broadcast_to(jnp.asarray(color, jnp.uint8), (height, width, 3))


def paint(image: jax.Array, mask: jax.Array, color: Color) -> jax.Array:
    """`image` (uint8 `(H, W, 3)`) with `color` where `mask` (bool `(H, W)`) holds."""
    return jnp.where(mask[..., None], jnp.asarray(color, jnp.uint8), image)


def circle(x: jax.Array, y: jax.Array, cx: Any, cy: Any, radius: Any) -> jax.Array:
    """Mask of the disc of `radius` pixels centred on `(cx, cy)`."""
    return jnp.square(x - cx) + jnp.square(y - cy) <= jnp.square(radius)


def box(
    x: jax.Array,
    y: jax.Array,
    cx: Any,
    cy: Any,
    half_along: Any,
    half_across: Any,
    ux: Any = 1.0,
    uy: Any = 0.0,
) -> jax.Array:
    """Mask of a rectangle centred on `(cx, cy)` whose long axis is the unit vector `(ux, uy)`.

    Args:
        x, y: The pixel grid (`pixel_grid`).
        cx, cy: The centre, in pixels.
        half_along: Half the extent along `(ux, uy)`.
        half_across: Half the extent across it.
        ux, uy: Unit direction of the first axis (default: horizontal).
    """
    dx, dy = x - cx, y - cy
    along = dx * ux + dy * uy
    across = dy * ux - dx * uy
    return (jnp.abs(along) <= half_along) & (jnp.abs(across) <= half_across)


def segment(
    x: jax.Array, y: jax.Array, x0: Any, y0: Any, x1: Any, y1: Any, half_width: Any
) -> jax.Array:
    """Mask of the points within `half_width` pixels of the segment `(x0, y0)-(x1, y1)`."""
    sx, sy = x1 - x0, y1 - y0
    length2 = jnp.maximum(sx * sx + sy * sy, 1e-12)
    t = jnp.clip(((x - x0) * sx + (y - y0) * sy) / length2, 0.0, 1.0)
    return jnp.square(x - (x0 + t * sx)) + jnp.square(y - (y0 + t * sy)) <= jnp.square(half_width)


def upscale(cells: jax.Array, factor: int) -> jax.Array:
    """Repeats every cell of an `(R, C, ...)` array into a `factor x factor` block."""
    return jnp.repeat(jnp.repeat(cells, factor, axis=0), factor, axis=1)


def uint8_colors(palette: Sequence[Color]) -> jax.Array:
    """A palette as a uint8 array of shape `(len(palette), 3)`."""
    return jnp.asarray(palette, jnp.uint8)
