"""What the adapters share: no third-party imports, one implementation of each semantic.

* Running a library's code: `library_promotion` (JAX's standard promotion,
  optionally 32-bit types, inside the library's code only).
* Dtypes: a `lax.scan` carries an environment's state only if `step` returns the
  pytree structure, shapes and dtypes `reset` returned. Several libraries break
  this under `JAX_ENABLE_X64` (a Python int becomes int64 in one branch and int32
  in another) or return weakly typed leaves. The adapters make `reset`'s state
  strongly typed (`strong`) and cast what `step` returns to the dtypes of the
  state it was given (`like`); observations are cast to their spec (`to_spec`).
* Specs: `bounded_spec` (a library's box with bounds), `reward_spec`,
  `discount_spec`.
* Time steps: `end_of_step` (step type and discount from termination/truncation).
* Keys: `raw_key` for libraries that take raw ``uint32[2]`` keys.
* Errors: the templates below, and the checks that raise them (`check_id`,
  `check_no_options`, `adapted`).
* Episode limits: `own_limit` (what an adapter's ``make`` does with
  ``max_episode_steps``, see `jit_env.adapters.Library.limit_in_env`).
"""

from __future__ import annotations

import contextlib
import difflib
import enum
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, specs
from jit_env.adapters import _catalogue

ERR_NOT_LIBRARY_ENV = "`env` must be {expected}, got {env!r}."
ERR_NOT_ADAPTED = "`env` must be (a wrapper of) a {adapter}, got {env!r}."
ERR_UNKNOWN_ID = "Unknown {library} id {name!r}.{hint} {library}'s ids: {ids}."
HINT_CLOSE = " Did you mean {}?"
ERR_OPTIONS = (
    "{library} environments take no per-episode parameters: `reset` got options={options!r}. "
    "Pass constructor arguments to `make` instead ({hint})."
)
ERR_AUTO_RESET = (
    "{wrapper} resets inside `step`, which would hide episode ends from jit_env: {fix}, and "
    "wrap the adapted environment in jit_env's auto-reset instead (e.g. `jit_env.wrappers.wrap`)."
)
ERR_NO_OWN_LIMIT = (
    "{library}'s {name!r} has no episode limit of its own to set (got max_episode_steps="
    "{received!r}): wrap it in `jit_env.wrappers.TimeLimit` instead (`jit_env.make` does)."
)
ERR_LIMIT_FIXED = (
    "{library}'s {name!r} ends every episode after {limit} steps by a rule of its own, which "
    "cannot be lifted: `max_episode_steps` must be at most {limit}, got {received}."
)

NO_LIMIT = int(np.iinfo(np.int32).max)
"""A time limit no episode reaches (int32's maximum, so a library's int32 step counter holds
it): a library's limit set to it asks for a natural end alone, or lifts the limit."""

AdapterT = TypeVar("AdapterT", bound=_core.Environment[Any, Any, Any])


@contextlib.contextmanager
def library_promotion(*, x64: bool = True) -> Iterator[None]:
    """JAX's standard dtype promotion and rank promotion, for tracing a library's own code.

    jit_env's tests turn on strict promotion; the libraries rely on the default.

    Args:
        x64: False runs the library's code with 64-bit types off, for libraries
            written for 32-bit JAX that fail on their own under
            ``JAX_ENABLE_X64=1`` (gymnax, navix: their `lax.cond`/`lax.select`
            branches disagree, int32 against int64).
    """
    with contextlib.ExitStack() as stack:
        stack.enter_context(jax.numpy_dtype_promotion("standard"))
        stack.enter_context(jax.numpy_rank_promotion("allow"))
        if not x64:
            stack.enter_context(jax.enable_x64(False))
        yield


def is_key(x: Any) -> bool:
    """Whether `x` is a typed PRNG key (array or abstract value)."""
    return bool(jax.dtypes.issubdtype(jnp.result_type(x), jax.dtypes.prng_key))


def strong(tree: Any) -> Any:
    """`tree` with every array leaf strongly typed (Python scalars become arrays); keys kept."""
    return jax.tree_util.tree_map(
        lambda x: x if is_key(x) else jax.lax.convert_element_type(
            jnp.asarray(x), jnp.result_type(x)), tree)


def like(new: Any, old: Any) -> Any:
    """`new` with each leaf cast to the dtype of the matching leaf of `old` (same structure).

    Key leaves are left alone. A cast only happens where a library changed a
    dtype (e.g. int32 -> int64 under x64), so values are kept; without x64
    every cast is a no-op.
    """
    def cast(n: Any, o: Any) -> Any:
        if is_key(n) or is_key(o):
            return n
        return jax.lax.convert_element_type(jnp.asarray(n), jnp.result_type(o))

    return jax.tree_util.tree_map(cast, new, old)


def to_spec(value: Any, spec: specs.Spec[Any]) -> Any:
    """`value` (a tree shaped like `spec`) with every leaf cast to its spec's dtype and shape."""
    leaves = specs.unpack_spec(spec)
    return jax.tree_util.tree_map(
        lambda s, v: jnp.reshape(jax.lax.convert_element_type(jnp.asarray(v), s.dtype), s.shape),
        leaves, value, is_leaf=lambda x: isinstance(x, specs.Spec))


def fresh_containers(tree: Any) -> Any:
    """`tree` rebuilt with new containers (dicts, dataclasses) around the same leaves.

    For libraries whose `step` writes into its input's dicts in place (brax's
    ``state.metrics.update(...)``, Playground's reward functions setting
    ``metrics[...]``): called eagerly, they would change the state the caller
    still holds. Under `jax.jit` it costs nothing (tracing only).
    """
    return jax.tree_util.tree_map(lambda x: x, tree)


def raw_key(key: jax.Array) -> jax.Array:
    """`key` as a raw ``uint32[2]`` key (typed keys are unwrapped), for libraries that take those."""
    if is_key(key):
        return jax.random.key_data(key)
    return key


def canonical_dtype(dtype: Any) -> np.dtype[Any]:
    """`dtype` as JAX stores it (64-bit types become 32-bit without ``JAX_ENABLE_X64``)."""
    return np.dtype(jax.dtypes.canonicalize_dtype(dtype))


def bounded_spec(shape: Sequence[int], dtype: Any, low: Any, high: Any, *,
                 name: str = "") -> specs.BoundedArray:
    """A box of a library (bounds broadcast to `shape`) as a `specs.BoundedArray`.

    Float bounds past the range of `dtype` (e.g. float64 1e308 for a float32 box)
    become infinite, as the library's values can never reach them.
    """
    dtype, shape = np.dtype(dtype), tuple(int(n) for n in shape)
    low = np.broadcast_to(np.asarray(low), shape)
    high = np.broadcast_to(np.asarray(high), shape)
    if dtype.kind == "f":
        with np.errstate(over="ignore"):
            low, high = low.astype(dtype), high.astype(dtype)
    return specs.BoundedArray(shape, dtype, low, high, name=name)


def reward_spec(shape: tuple[int, ...] = ()) -> specs.Array:
    """The adapters' reward spec: float32 of `shape` (one reward per player where there are several)."""
    return specs.Array(shape, jnp.float32, name="reward")


def discount_spec(shape: tuple[int, ...] = ()) -> specs.BoundedArray:
    """The adapters' discount spec: float32 of `shape` in [0, 1]."""
    return specs.BoundedArray(shape, jnp.float32, 0.0, 1.0, name="discount")


def end_of_step(terminated: Any, truncated: Any) -> tuple[jax.Array, jax.Array]:
    """The step type and discount of a step that ends by `terminated` or `truncated`.

    Returns:
        ``(step_type, discount)``: int8 LAST when either holds (MID otherwise),
        float32 0 on a termination (also when both hold) and 1 otherwise.
    """
    terminated = jnp.asarray(terminated, jnp.bool_)
    last = jnp.logical_or(terminated, jnp.asarray(truncated, jnp.bool_))
    step_type = jnp.where(last, _core.StepType.LAST, _core.StepType.MID).astype(jnp.int8)
    return step_type, jnp.where(terminated, 0.0, 1.0).astype(jnp.float32)


def check_id(prefix: str, name: str, *, library: str) -> None:
    """Raises ValueError naming close matches if `name` is not one of library `prefix`'s ids."""
    ids = _catalogue.LIBRARIES[prefix].ids
    if name not in ids:
        close = difflib.get_close_matches(name, ids, n=1)
        hint = HINT_CLOSE.format(repr(close[0])) if close else ""
        raise ValueError(ERR_UNKNOWN_ID.format(library=library, name=name, hint=hint, ids=", ".join(ids)))


def check_no_options(options: Any, *, library: str, hint: str) -> None:
    """Raises ValueError if `options` is not None, for libraries without per-episode parameters."""
    if options is not None:
        raise ValueError(ERR_OPTIONS.format(library=library, options=options, hint=hint))


def adapted(env: _core.Environment[Any, Any, Any], adapter: type[AdapterT]) -> AdapterT:
    """The `adapter` inside `env` (``env.unwrapped``), for the modules' ``native``.

    Raises:
        TypeError: If `env` does not wrap an `adapter`.
    """
    inner = env.unwrapped
    if not isinstance(inner, adapter):
        raise TypeError(ERR_NOT_ADAPTED.format(adapter=adapter.__name__, env=env))
    return inner


class Default(enum.Enum):
    """The type of `LIBRARY_DEFAULT`."""

    LIBRARY = "the library's default"


LIBRARY_DEFAULT = Default.LIBRARY
"""An adapter ``make``'s ``max_episode_steps`` when not given: the library's own default limit."""

EpisodeSteps = int | None | Literal[Default.LIBRARY]
"""What an adapter's ``make`` takes as ``max_episode_steps``."""


def own_limit(max_episode_steps: EpisodeSteps) -> tuple[int | None, bool]:
    """What an adapter's ``make`` does with the library's own episode limit.

    `jit_env.make` passes ``max_episode_steps`` to the ``make`` of a library that
    truncates by itself (`Library.limit_in_env`) whenever it is given:

    * not given (`LIBRARY_DEFAULT`): the library's default limit truncates;
    * an int ``M``: the library is built with limit ``M`` (lifting or lowering
      its default; `jit_env.make` adds `TimeLimit` with ``M`` too);
    * None: the library's limit is lifted, so a time limit outside (jit_env's
      `TimeLimit`, Gymnasium's, as Gymnasium's registration builds the single
      environment) decides alone. Where the adapter can tell the library's
      time-limit truncation from a natural end it stops ending episodes there
      (its step type says MID; ``own_time_limit=False``) and the library keeps
      its default limit otherwise (e.g. in xminigrid's reward, ``1 - 0.9 *
      steps / max_steps``); where it cannot (Jumanji, whose time limit is a
      termination in most environments) the library is built with `NO_LIMIT`.

    Args:
        max_episode_steps: `LIBRARY_DEFAULT`, a positive int or None.

    Returns:
        ``(limit, truncates)``: the limit to build the library with (None: its
        default) and whether the library's own limit ends episodes.

    Raises:
        ValueError: If `max_episode_steps` is neither of those.
    """
    if max_episode_steps is LIBRARY_DEFAULT:
        return None, True
    if max_episode_steps is None:
        return None, False
    return _core.check_positive_int("max_episode_steps", max_episode_steps), True


def check_own_limit(prefix: str, name: str, max_episode_steps: int | None, *, library: str) -> None:
    """Raises ValueError if `name` has no episode limit of its own (its catalogue entry has none).

    For an adapter's ``make`` given ``max_episode_steps`` (`jit_env.make` gives
    it only for ids with a limit).
    """
    if name not in _catalogue.LIBRARIES[prefix].episode_limits:
        raise ValueError(ERR_NO_OWN_LIMIT.format(library=library, name=name, received=max_episode_steps))
