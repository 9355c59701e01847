"""Shared helpers of the built-in environments: episode parameters and rasterising.

Episode parameters
------------------
Every built-in environment has a `Params` dataclass whose defaults are the
upstream constants, and takes two keyword arguments when it is built:

* ``params``: None (the defaults), a `Params`, or a dict overriding some of
  its fields. They are stored as NumPy float32 constants, which XLA folds.
* ``per_episode_params``: whether `reset` takes per-episode parameters
  through ``options`` (default False).

The state's tree structure is fixed then, never by `reset`'s arguments
(`EpisodeParams`). Built with ``per_episode_params=False`` (the fast path),
the state's ``options`` field is always None and `reset` refuses any options
other than None: there are no parameter leaves, so under `vmap` no ``(N,)``
parameter buffers for auto-reset selects, loop carries and jit-call dispatch
to move (jitted results may differ from eager ones in the last bit, as XLA
folds the constants). Built with ``per_episode_params=True``, the state's
``options`` always holds a `Params` of float32 arrays: the construction
parameters when `reset` gets ``options=None``, else what the options ask for
(a `Params`, or a dict overriding fields of the construction parameters). An
auto-reset wrapper, which calls ``env.reset(state.key, options=state.options)``,
then starts the next episode with the same parameters, and
``Vmap(env, options_in_axes=0)`` gives each sub-environment its own
parameters without recompiling. Either way one state structure serves every
`reset`, so `jit`, `lax.scan` and the bridges trace and compile once.

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
from typing import Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

P = TypeVar("P")

ERR_OPTIONS_TYPE = (
    "`options` of {env} must be None, a {params} or a dict of {params} fields, got {got}."
)
ERR_OPTIONS_FIELDS = "`options` of {env} has unknown field(s) {unknown}; {params} has fields {fields}."
ERR_PARAMS_TYPE = "`params` of {env} must be None, a {params} or a dict of {params} fields, got {got}."
ERR_PARAMS_FIELDS = "`params` of {env} has unknown field(s) {unknown}; {params} has fields {fields}."
ERR_PER_EPISODE_FLAG = "`per_episode_params` of {env} must be a bool, got {got!r}."
ERR_OPTIONS_NOT_TAKEN = (
    "{env} was built with fixed parameters, so its reset takes no `options` (got {got}): its "
    "state has no parameter leaves to fill. Build it with `{cls}(per_episode_params=True)` "
    "(or `jit_env.make(id, per_episode_params=True)`) to pass per-episode parameters through "
    "`options`, or fix them when building it: `{cls}(params={{...}})`."
)


def _fields(params_type: type[Any]) -> list[str]:
    return [f.name for f in dataclasses.fields(params_type)]


def _overrides(
    env_name: str, params_type: type[P], base: P, given: Any, err_type: str, err_fields: str
) -> P:
    """`given` (a `params_type` or a mapping of field overrides on `base`) as a `params_type`."""
    if isinstance(given, params_type):
        return given
    if isinstance(given, Mapping):
        fields = _fields(params_type)
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise ValueError(err_fields.format(
                env=env_name, unknown=unknown, params=params_type.__name__, fields=fields))
        return dataclasses.replace(base, **given)  # type: ignore[type-var]
    raise TypeError(err_type.format(env=env_name, params=params_type.__name__, got=type(given).__name__))


class EpisodeParams(Generic[P]):
    """How a built-in environment's parameters reach its episodes; fixed when the env is built.

    Args of the constructor:
        env_name: The environment's class name, for messages and `repr`.
        params_type: The environment's `Params` dataclass (float fields).
        params: None (the defaults), a `params_type`, or a mapping of field
            overrides: the environment's parameters.
        per_episode: Whether `reset` takes per-episode parameters through
            `options` (then every state carries a `params_type` of float32
            leaves in its `options` field; else that field is always None).

    Raises:
        TypeError: If `params` is of another type.
        ValueError: If a mapping names unknown fields, or `per_episode` is not a bool.

    >>> import jit_env
    >>> fixed = EpisodeParams("CartPole", jit_env.envs.CartPoleParams, {"gravity": 3.7}, False)
    >>> fixed.reset_options(None) is None, fixed.of(None).gravity
    (True, np.float32(3.7))
    """

    __slots__ = ("constants", "env_name", "params_type", "per_episode")

    def __init__(self, env_name: str, params_type: type[P], params: Any, per_episode: bool):
        if not isinstance(per_episode, (bool, np.bool_)):
            raise ValueError(ERR_PER_EPISODE_FLAG.format(env=env_name, got=per_episode))
        self.env_name = env_name
        self.params_type = params_type
        self.per_episode = bool(per_episode)
        resolved = params_type() if params is None else _overrides(
            env_name, params_type, params_type(), params, ERR_PARAMS_TYPE, ERR_PARAMS_FIELDS)
        self.constants: P = jax.tree_util.tree_map(np.float32, resolved)
        """The construction parameters, every field a NumPy float32 constant."""

    def reset_options(self, options: Any) -> P | None:
        """What `reset(options=options)` stores in `state.options`.

        Returns:
            None for an environment with fixed parameters; otherwise a
            `params_type` of float32 arrays: the construction parameters for
            `options=None`, a given `params_type`, or the construction
            parameters with a mapping's fields replaced (scalars unless given
            otherwise, e.g. batched under `vmap`).

        Raises:
            ValueError: If the environment was built with fixed parameters and
                `options` is not None (the message names the constructor flag),
                or a mapping names unknown fields.
            TypeError: If `options` is of another type.
        """
        if not self.per_episode:
            if options is not None:
                raise ValueError(ERR_OPTIONS_NOT_TAKEN.format(
                    env=self.env_name, got=type(options).__name__, cls=self.env_name))
            return None
        params = self.constants if options is None else _overrides(
            self.env_name, self.params_type, self.constants, options, ERR_OPTIONS_TYPE, ERR_OPTIONS_FIELDS)
        stored: P = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), params)
        return stored

    def of(self, state_options: P | None) -> P:
        """The parameters an episode runs with: the constants, or `state.options` if per episode."""
        if self.per_episode:
            assert state_options is not None
            return state_options
        return self.constants

    def repr_args(self) -> str:
        """The constructor arguments that differ from the defaults, as `repr` shows them."""
        defaults = self.params_type()
        changed = {name: value for name, value in dataclasses.asdict(self.constants).items()  # type: ignore[call-overload]
                   if value != np.float32(getattr(defaults, name))}
        parts = []
        if changed:
            parts.append("params={" + ", ".join(f"{k!r}: {np.float32(v)!s}" for k, v in changed.items()) + "}")
        if self.per_episode:
            parts.append("per_episode_params=True")
        return ", ".join(parts)


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
