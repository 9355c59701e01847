"""Checks any jit_env environment can be put through, and a fake environment for your own tests.

`check_env` runs an environment or wrapper stack, batched or not, through the
contract of docs/semantics.md and raises an `EnvCheckError` naming the check
that failed, what it saw and the likely cause. `run_checks` runs every check
and reports each one (the ``jit-env check`` command prints that report).

>>> import jit_env
>>> from jit_env import testing, wrappers
>>> testing.check_env(wrappers.Tile(jit_env.make("Catch-v0"), 2), num_steps=12)
>>> [r.status for r in testing.run_checks(testing.FakeEnv(), num_steps=12)][:3]
['PASS', 'PASS', 'PASS']
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jit_env import _core, _struct, specs

# The checks, in the order they run. Later checks need "specs" and "structure".
CHECKS = ("specs", "structure", "reset", "purity", "keys", "rollout", "step_types", "jit", "retrace",
          "vmap")
"""The names of the checks `check_env` runs, in order."""
PREREQUISITES = ("specs", "structure")
"""Checks whose failure makes the others meaningless: `run_checks` skips the rest."""

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"

ERR_NOT_A_SPEC = (
    "Check 'specs' failed: {method}() of {env} returned {spec!r}, not a jit_env.specs.Spec. "
    "Likely cause: the spec method returns a dm_env spec, a Gymnasium space or a tuple of "
    "specs; build it from jit_env.specs (specs.Tuple / specs.Dict for several)."
)
ERR_RAISED = (
    "Check '{check}' failed: {call} raised {error}. Likely cause: {call} cannot be traced by "
    "JAX as the checker calls it (Python control flow on a traced value, NumPy on a traced "
    "array, an action or key of the wrong shape for a batched environment)."
)
ERR_NOT_A_PAIR = (
    "Check 'structure' failed: {call} returned {got}, not a (state, TimeStep) pair. Likely cause: "
    "{call} must return `state, timestep` with a jit_env.TimeStep (use jit_env.restart, "
    "transition, termination or truncation)."
)
ERR_NONE_FIELD = (
    "Check 'structure' failed: {call} returned a TimeStep whose {field} is None. Likely cause: "
    "dm_env's habit of a None reward and discount at FIRST; jit_env time steps always carry "
    "arrays (jit_env.restart gives zeros and ones) so that reset and step match."
)
ERR_STRUCTURE = (
    "Check 'structure' failed: reset and step outputs differ at {path}: {reset} from reset, "
    "{step} from step. Likely cause: {cause}"
)
CAUSE_ABSENT = (
    "the two build different pytrees (an extras entry, a state field or None in place of an "
    "array in only one of them); lax.scan and lax.cond need identical outputs."
)
CAUSE_SHAPE = (
    "a shape or dtype that depends on the call (a Python scalar where the other returns an "
    "array, an integer that becomes float, a missing batch axis); cast explicitly."
)
ERR_STRUCTURE_STATIC = (
    "Check 'structure' failed: reset and step outputs have the same leaves but different "
    "pytree metadata: {reset} from reset, {step} from step. Likely cause: a value stored as "
    "static metadata changes between calls (e.g. a counter in a `jit_env.field(static=True)`); "
    "keep changing data in array leaves, or every call retraces."
)
ERR_STEP_TYPE_SHAPE = (
    "Check 'structure' failed: step_type has shape {got}, expected {expected}. Likely cause: "
    "step_type holds one int8 per environment (shape () unbatched, (N,) batched); build time "
    "steps with jit_env.restart/transition/termination/truncation."
)
ERR_OUTSIDE_SPEC = (
    "Check '{check}' failed: the {field} returned by {where} is outside its spec: {error} "
    "Likely cause: the spec does not describe what the environment returns (shape, dtype or "
    "bounds); fix the spec, or cast or clip the value."
)
ERR_RESET_STEP_TYPE = (
    "Check 'reset' failed: reset returned step_type {got}, expected FIRST (0) everywhere. "
    "Likely cause: reset must return jit_env.restart(observation)."
)
ERR_RESET_VALUES = (
    "Check 'reset' failed: reset returned {field} {got}, expected {expected} everywhere. Likely "
    "cause: a FIRST time step carries reward 0 and discount 1 (jit_env.restart builds them)."
)
ERR_IMPURE = (
    "Check 'purity' failed: {call} gave different results for the same inputs, at {path}. "
    "Likely cause: {call} reads randomness or data from outside its arguments (numpy.random, "
    "random, time, a counter on the environment object); draw randomness from the key and "
    "keep all data in the state."
)
ERR_NO_KEY = (
    "Check 'keys' failed: the state from reset carries no PRNG key ({error}). Likely cause: "
    "jit_env states carry their key in a `key` field (auto-reset wrappers reset from it)."
)
ERR_KEY_STORED = (
    "Check 'keys' failed: reset stored the reset key itself in the state{rows}. Likely cause: "
    "reset must store a key split off the one it was given (`key, draw = "
    "jax.random.split(key)`); auto-reset wrappers reset from `state.key`, so storing it would "
    "replay the same episode forever."
)
ERR_KEY_IGNORED = (
    "Check 'keys' failed: reset gave the same state and time step for two different keys. "
    "Likely cause: reset ignores its key (it draws from, or stores, a fixed key); auto-reset "
    "wrappers reset from state.key, so every episode would replay the first. Split the key "
    "reset is given: `key, draw = jax.random.split(key)`."
)
ERR_KEY_SHARED = (
    "Check 'keys' failed: {count} of the {num} sub-environments got the same key from reset. "
    "Likely cause: a batched reset must give each sub-environment its own key "
    "(jax.random.split(key, num)), or they all play the same episode."
)
ERR_KEY_REUSED = (
    "Check 'keys' failed: step drew randomness from state.key but returned the same key in "
    "its new state{rows}. Likely cause: step must split the key (`key, draw = "
    "jax.random.split(state.key)`), store one half and draw from the other; otherwise every "
    "step repeats the same random numbers."
)
ERR_DISCOUNT_RANGE = (
    "Check 'step_types' failed: step {t} returned discount {got}{rows}, outside [0, 1]. Likely "
    "cause: the discount is a probability of continuing; a LAST step has discount 0 "
    "(termination) or > 0 (truncation), never negative or above 1."
)
ERR_NOT_FINITE = (
    "Check 'step_types' failed: step {t} returned a {field} that is not finite ({got}){rows}. "
    "Likely cause: the dynamics overflowed or divided by zero; agents cannot learn from NaN."
)
ERR_FIRST_FROM_STEP = (
    "Check 'step_types' failed: step {t} returned FIRST{rows}, but {env} does not auto-reset. "
    "Likely cause: FIRST belongs to reset (and to auto-reset wrappers); step returns MID "
    "(transition) or LAST (termination, truncation)."
)
ERR_MID_DISCOUNT_ZERO = (
    "Check 'step_types' failed: step {t} returned MID with discount 0{rows}. Likely cause: a "
    "terminal state (discount 0) must end the episode: return jit_env.termination(...), "
    "which is LAST with discount 0."
)
ERR_NO_RESET_AFTER_LAST = (
    "Check 'step_types' failed: step {t} returned step_type {got}{rows} after a LAST, but "
    "{env} auto-resets. Likely cause: in next-step mode the step after LAST starts the new "
    "episode and returns FIRST."
)
ERR_FIRST_AFTER_LAST = (
    "Check 'step_types' failed: the FIRST at step {t}{rows} that starts a new episode after a "
    "LAST has {field} {got}, expected {expected}. Likely cause: the new episode's first time "
    "step is a restart (reward 0, discount 1), as reset returns."
)
ERR_JIT_DISAGREES = (
    "Check 'jit' failed: {call} under jax.jit disagrees with {other} at {path} (step {t}). "
    "Likely cause: the result depends on Python-side state read while tracing, or on "
    "numerics that jit changes: float values are compared with rtol={rtol}, atol={atol} "
    "(chaotic physics such as contact-rich MJX bodies may need check_env(..., rtol=..., "
    "atol=...) looser)."
)
ERR_TOLERANCE = "`{name}` must be a finite float >= 0, got {got!r}."
JIT_RTOL = JIT_ATOL = 1e-5
"""The default tolerances of the `jit` check's float comparisons."""
ERR_RETRACE = (
    "Check 'retrace' failed: jax.jit({call}) was traced {count} times for one input "
    "signature. Likely cause: {cause}"
)
CAUSE_RETRACE_LEAF = (
    "{path} is {reset} after reset but {step} after step, so the second call compiles again; "
    "make both the same (a Python scalar is weakly typed: wrap it, e.g. jnp.int32(0))."
)
CAUSE_RETRACE_UNKNOWN = (
    "the function is re-traced on every call (a new jax.jit object each call, or a static "
    "argument that changes); build jitted functions once."
)
ERR_VMAP = (
    "Check 'vmap' failed: jax.vmap of the rollout over {num} keys gives {got} at {path}, "
    "expected {expected}. Likely cause: a step that ignores the batch axis (reshapes, "
    "indexing with a traced value into a Python list)."
)
SKIPPED = "Skipped: check {failed!r} failed first."


class EnvCheckError(AssertionError):
    """An environment broke the jit_env contract; the message names the check and the cause.

    Attributes:
        check: The name of the failed check, one of `CHECKS`.
    """

    def __init__(self, check: str, message: str):
        super().__init__(message)
        self.check = check


class CheckResult(NamedTuple):
    """One line of `run_checks`' report.

    Attributes:
        name: The check, one of `CHECKS`.
        status: ``"PASS"``, ``"FAIL"`` or ``"SKIP"``.
        message: The failure's message, or why it was skipped ("" on a pass).
    """

    name: str
    status: str
    message: str


class TraceCounter:
    """Counts how often a function is traced (each trace is a compile under `jit`).

    >>> counter = TraceCounter()
    >>> f = jax.jit(counter.wrap(lambda x: x + 1))
    >>> _ = f(1.0); _ = f(2.0)
    >>> counter.count
    1
    """

    def __init__(self) -> None:
        self.count = 0

    def wrap(self, fn: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return fn(*args, **kwargs)

        return counted


def _structure(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: (jnp.shape(x), jnp.result_type(x)), tree)


def assert_same_structure(a: Any, b: Any, what: str) -> None:
    """Raises AssertionError unless `a` and `b` have equal trees, shapes and dtypes.

    >>> assert_same_structure(jnp.zeros(2), jnp.ones(2), "example")
    """
    structure: Any = jax.tree_util.tree_structure(a)
    if structure != jax.tree_util.tree_structure(b):
        raise AssertionError(
            f"{what}: tree structures differ: {jax.tree_util.tree_structure(a)} vs "
            f"{jax.tree_util.tree_structure(b)}")
    if _structure(a) != _structure(b):
        raise AssertionError(f"{what}: shapes or dtypes differ: {_structure(a)} vs {_structure(b)}")


# ----------------------------------------------------------------------------- helpers


def _path_name(path: tuple[Any, ...], names: tuple[str, ...] = ("state", "timestep")) -> str:
    """`(state, timestep)` paths as readable names: ``timestep.observation['board']``."""
    if path and isinstance(path[0], jax.tree_util.SequenceKey) and path[0].idx < len(names):
        return names[path[0].idx] + jax.tree_util.keystr(path[1:])
    return "output" + jax.tree_util.keystr(path)


def describe(leaf: Any) -> str:
    """A leaf's dtype and shape as ``float32[2]`` (``(weak)`` appended for weak types).

    >>> describe(jax.ShapeDtypeStruct((2,), jnp.float32))
    'float32[2]'
    """
    shape = ",".join(str(d) for d in jnp.shape(leaf))
    dtype = jnp.result_type(leaf) if not hasattr(leaf, "dtype") else leaf.dtype
    weak = " (weak)" if getattr(leaf, "weak_type", False) else ""
    return f"{dtype}[{shape}]{weak}"


def _leaves(tree: Any, names: tuple[str, ...] = ("state", "timestep")) -> dict[str, Any]:
    return {_path_name(p, names): x for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _key_words(key: Any) -> np.ndarray:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return np.asarray(key)


def _host(tree: Any) -> Any:
    return jax.tree_util.tree_map(lambda x: _key_words(x) if _is_key(x) else np.asarray(x), tree)


def _is_key(x: Any) -> bool:
    return hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def _first_difference(a: Any, b: Any, *, exact: bool, names: tuple[str, ...] = ("state", "timestep"),
                      rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """The name of the first leaf where `a` and `b` differ (NaN equals NaN), else None.

    Float leaves are compared with `rtol` and `atol` unless `exact`."""
    for (name, x), y in zip(_leaves(_host(a), names).items(), jax.tree_util.tree_leaves(_host(b)),
                            strict=True):
        x, y = np.asarray(x), np.asarray(y)
        if exact or not (np.issubdtype(x.dtype, np.inexact)):
            same = np.array_equal(x, y, equal_nan=np.issubdtype(x.dtype, np.inexact))
        else:
            same = np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True)
        if not same:
            return name
    return None


def _rows(mask: np.ndarray) -> str:
    """`` in sub-environments [0, 3]`` for a batch mask, "" when unbatched."""
    if mask.ndim == 0:
        return ""
    return f" in sub-environments {np.flatnonzero(mask).tolist()}"


def _select(mask: jax.Array, new: Any, old: Any) -> Any:
    """`new` where `mask` (shape () or (N,)), else `old`; leaves without the batch axis as a whole."""

    def pick(x: Any, y: Any) -> Any:
        if jnp.ndim(x) >= mask.ndim and jnp.shape(x)[:mask.ndim] == mask.shape:
            return jnp.where(mask.reshape(mask.shape + (1,) * (jnp.ndim(x) - mask.ndim)), x, y)
        return jnp.where(jnp.any(mask), x, y)

    return jax.tree_util.tree_map(pick, new, old)


def _select_rows(mask: np.ndarray, new: Any, old: Any) -> Any:
    """NumPy `_select`: `new` in the rows where `mask`, else `old`."""

    def pick(x: Any, y: Any) -> Any:
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim >= mask.ndim and x.shape[:mask.ndim] == mask.shape:
            return np.where(mask.reshape(mask.shape + (1,) * (x.ndim - mask.ndim)), x, y)
        return x if np.any(mask) else y

    return jax.tree_util.tree_map(pick, new, old)


def _reduce_trailing(x: np.ndarray, ndim: int, how: Callable[..., Any]) -> np.ndarray:
    """Reduces the axes of `x` past the first `ndim` (e.g. a vector discount per step)."""
    return np.asarray(how(x.reshape((*x.shape[:ndim], -1)), axis=-1)) if x.ndim > ndim else x


# ----------------------------------------------------------------------------- the checks


class _Checker:
    """The shared setup of the checks: the batch layout, the jitted functions and the rollout."""

    def __init__(self, env: _core.Environment[Any, Any, Any], key: jax.Array, *, num_steps: int,
                 options: Any, batch_size: int, rtol: float, atol: float):
        self.env = env
        self.key = key
        self.num_steps = num_steps
        self.rtol, self.atol = rtol, atol
        self.options = options
        # The declarations say how to drive the env: an unsized batch (Vmap-like) takes
        # a batch of keys and describes one slice in its specs.
        declared = _core.boundary(env)
        self.unsized = declared.batch is not None and declared.batch.size is None
        self.batch_size = batch_size
        self.auto_resets = declared.auto_reset is not None
        self.step_counter = TraceCounter()
        self.reset_counter = TraceCounter()

    # -- setup shared by the checks (lazy: each is computed once, when a check needs it)

    def reset_fn(self, key: jax.Array) -> Any:
        if self.unsized:
            key = jax.random.split(key, self.batch_size)
        return self.env.reset(key, options=self.options)

    def reset_keys(self, key: jax.Array) -> jax.Array:
        return jax.random.split(key, self.batch_size) if self.unsized else key

    def spec(self, spec: specs.Spec[Any]) -> specs.Spec[Any]:
        """The spec of the whole batch (the specs of `Vmap`-like wrappers describe one slice)."""
        return specs.Batched(spec, self.batch_size) if self.unsized else spec

    @functools.cached_property
    def env_specs(self) -> specs.EnvironmentSpec:
        return specs.make_environment_spec(self.env)

    @functools.cached_property
    def action_spec(self) -> specs.Spec[Any]:
        return self.spec(self.env_specs.actions)

    @functools.cached_property
    def abstract(self) -> tuple[Any, Any]:
        abstract_reset = self.call("structure", "reset", lambda: jax.eval_shape(self.reset_fn, self.key))
        _check_pair("reset", abstract_reset)
        action = jax.eval_shape(self.action_spec.generate_value)
        abstract_step = self.call("structure", "step",
                                  lambda: jax.eval_shape(self.env.step, abstract_reset[0], action))
        _check_pair("step", abstract_step)
        return abstract_reset, abstract_step

    @functools.cached_property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.abstract[0][1].step_type.shape)

    @functools.cached_property
    def reset_jit(self) -> Any:
        return jax.jit(self.reset_counter.wrap(self.reset_fn))

    @functools.cached_property
    def step_jit(self) -> Any:
        return jax.jit(self.step_counter.wrap(self.env.step))

    @functools.cached_property
    def first(self) -> tuple[Any, Any]:
        return self.call("reset", "jax.jit(reset)", lambda: self.reset_jit(self.key))

    def call(self, check: str, call: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except EnvCheckError:
            raise
        except Exception as e:  # Anything the environment raises names the check it broke.
            error = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            raise EnvCheckError(check, ERR_RAISED.format(check=check, call=call, error=error)) from e

    def rollout_fn(self, key: jax.Array) -> Any:
        """`num_steps` random actions in one `lax.scan`, resetting after LAST unless auto-reset."""
        env, action_spec = self.env, self.action_spec
        state, timestep = self.reset_fn(key)

        def body(carry: Any, k: jax.Array) -> Any:
            state, last = carry
            if not self.auto_resets:
                state = _select(last, self.reset_fn(jax.random.fold_in(k, 1))[0], state)
            action = action_spec.sample(k)
            state, timestep = env.step(state, action)
            return (state, timestep.last()), (action, timestep)

        keys = jax.random.split(jax.random.fold_in(key, 2), self.num_steps)
        return jax.lax.scan(body, (state, jnp.zeros(timestep.step_type.shape, bool)), keys)[1]

    @functools.cached_property
    def rollout_jit(self) -> Any:
        # One compile serves the scan, jit and vmap checks: rollouts of VMAP_KEYS keys.
        return jax.jit(jax.vmap(self.rollout_fn))

    @functools.cached_property
    def rollout_keys(self) -> jax.Array:
        return jnp.stack([self.key, jax.random.fold_in(self.key, 7)])

    @functools.cached_property
    def rollouts(self) -> tuple[Any, Any]:
        """`(actions, timesteps)` in NumPy, leading axes (keys, time)."""
        return self.call("rollout", "jax.jit(jax.vmap(a lax.scan rollout of step))",
                         lambda: jax.device_get(self.rollout_jit(self.rollout_keys)))

    @functools.cached_property
    def rollout(self) -> tuple[Any, Any]:
        """The rollout from `key`: `(actions, timesteps)` in NumPy with a leading time axis."""
        return jax.tree_util.tree_map(lambda x: x[0], self.rollouts)

    # -- the checks

    def check_specs(self) -> None:
        for method in ("observation_spec", "action_spec", "reward_spec", "discount_spec"):
            spec = self.call("specs", f"{method}()", getattr(self.env, method))
            if not isinstance(spec, specs.Spec):
                raise EnvCheckError("specs", ERR_NOT_A_SPEC.format(method=method, env=self.env, spec=spec))

    def check_structure(self) -> None:
        abstract_reset, abstract_step = self.abstract
        expected = (self.batch_size,) if self.unsized else self.batch_shape
        if self.batch_shape not in ((), expected) or (self.unsized and self.batch_shape != expected):
            raise EnvCheckError("structure", ERR_STEP_TYPE_SHAPE.format(got=self.batch_shape,
                                                                        expected=expected))
        reset_leaves, step_leaves = _leaves(abstract_reset), _leaves(abstract_step)
        for path in [*reset_leaves, *(p for p in step_leaves if p not in reset_leaves)]:
            a, b = reset_leaves.get(path), step_leaves.get(path)
            if a is None or b is None:
                raise EnvCheckError("structure", ERR_STRUCTURE.format(
                    path=path, reset=describe(a) if a is not None else "absent",
                    step=describe(b) if b is not None else "absent", cause=CAUSE_ABSENT))
            if (a.shape, a.dtype) != (b.shape, b.dtype):
                raise EnvCheckError("structure", ERR_STRUCTURE.format(
                    path=path, reset=describe(a), step=describe(b), cause=CAUSE_SHAPE))
        reset_def: Any = jax.tree_util.tree_structure(abstract_reset)
        step_def = jax.tree_util.tree_structure(abstract_step)
        if reset_def != step_def:
            raise EnvCheckError("structure", ERR_STRUCTURE_STATIC.format(reset=reset_def, step=step_def))

    def check_reset(self) -> None:
        _, timestep = jax.device_get(self.first)
        step_type = np.asarray(timestep.step_type)
        if not np.all(step_type == _core.StepType.FIRST):
            raise EnvCheckError("reset", ERR_RESET_STEP_TYPE.format(got=step_type))
        for field, expected in (("reward", 0), ("discount", 1)):
            for leaf in jax.tree_util.tree_leaves(getattr(timestep, field)):
                if not np.all(np.asarray(leaf) == expected):
                    raise EnvCheckError("reset", ERR_RESET_VALUES.format(
                        field=field, got=np.asarray(leaf), expected=expected))
        # A FIRST time step's reward and discount are placeholders (0 and 1), which the reward
        # and discount specs need not contain (MountainCar's rewards are all -1).
        _check_in_spec("reset", self.spec(self.env_specs.observations), timestep.observation,
                       "observation", "reset")

    def check_purity(self) -> None:
        first = self.call("purity", "reset", lambda: self.reset_fn(self.key))
        again = self.call("purity", "reset", lambda: self.reset_fn(self.key))
        if (path := _first_difference(first, again, exact=True)) is not None:
            raise EnvCheckError("purity", ERR_IMPURE.format(call="reset", path=path))
        action = self.action_spec.sample(jax.random.fold_in(self.key, 3))
        first = self.call("purity", "step", lambda: self.env.step(self.first[0], action))
        again = self.call("purity", "step", lambda: self.env.step(self.first[0], action))
        if (path := _first_difference(first, again, exact=True)) is not None:
            raise EnvCheckError("purity", ERR_IMPURE.format(call="step", path=path))
        rollout = self.rollouts
        again = jax.device_get(self.rollout_jit(self.rollout_keys))
        if (path := _first_difference(rollout, again, exact=True, names=("actions", "timesteps"))):
            raise EnvCheckError("purity", ERR_IMPURE.format(call="the rollout", path=path))

    def check_keys(self) -> None:
        state, _ = self.first
        try:
            stored = _core.state_key(state)
        except TypeError as e:
            raise EnvCheckError("keys", ERR_NO_KEY.format(error=e)) from None
        words, given = _key_words(stored), _key_words(self.reset_keys(self.key))
        same = np.all(words == given, axis=-1)
        if np.any(same):
            raise EnvCheckError("keys", ERR_KEY_STORED.format(rows=_rows(same)))
        other_reset = self.call("keys", "jax.jit(reset)",
                                lambda: self.reset_jit(jax.random.fold_in(self.key, 3)))
        if _first_difference(self.first, other_reset, exact=True) is None:
            raise EnvCheckError("keys", ERR_KEY_IGNORED)
        if words.ndim == 2 and words.shape[0] > 1:
            distinct = len({tuple(w) for w in words.tolist()})
            if distinct < words.shape[0]:
                raise EnvCheckError("keys", ERR_KEY_SHARED.format(
                    count=words.shape[0] - distinct + 1, num=words.shape[0]))
        # A step that draws from state.key must store a new key: compare against a state
        # that differs only in its key (states whose key cannot be replaced are not checked).
        try:
            # A raw key (uint32[..., 2], which reset accepts) has its key data as the last axis.
            batch = jnp.shape(stored) if _is_key(stored) else jnp.shape(stored)[:-1]
            other_key = jax.random.split(jax.random.fold_in(self.key, 5), batch)
            if _is_key(other_key) and not _is_key(stored):
                other_key = jax.random.key_data(other_key)
            # Laid out as the stored key (a sharding is part of the type on explicit meshes).
            if isinstance(stored, jax.Array) and not isinstance(stored, jax.core.Tracer):
                other_key = jax.device_put(other_key, stored.sharding)
            other = _core.replace_key(state, other_key)
        except (TypeError, ValueError):
            return
        action = self.action_spec.sample(jax.random.fold_in(self.key, 4))
        new_state, timestep = self.call("keys", "jax.jit(step)", lambda: self.step_jit(state, action))
        other_state, other_timestep = self.step_jit(other, action)
        depends = _first_difference((_core.replace_key(new_state, stored), timestep),
                                    (_core.replace_key(other_state, stored), other_timestep),
                                    exact=True) is not None
        unchanged = np.all(_key_words(_core.state_key(new_state)) == words, axis=-1)
        if depends and np.any(unchanged):
            raise EnvCheckError("keys", ERR_KEY_REUSED.format(rows=_rows(unchanged)))

    def check_rollout(self) -> None:
        actions, timesteps = self.rollout
        specs_ = self.env_specs
        step_types = np.asarray(timesteps.step_type)
        # The restart after a LAST (next-step auto-reset) carries placeholders (reward 0,
        # discount 1), as reset does: those rows are not held to the reward and discount specs.
        after_last = np.concatenate([np.zeros_like(step_types[:1], bool),
                                     step_types[:-1] == _core.StepType.LAST])
        restarts = after_last & (step_types == _core.StepType.FIRST)
        for field, spec, values in (("sampled action", specs_.actions, actions),
                                    ("observation", specs_.observations, timesteps.observation),
                                    ("reward", specs_.rewards, timesteps.reward),
                                    ("discount", specs_.discounts, timesteps.discount)):
            spec = self.spec(spec)
            for t in range(self.num_steps):
                value = jax.tree_util.tree_map(lambda x, t=t: x[t], values)
                if field in ("reward", "discount") and np.any(restarts[t]):
                    value = _select_rows(restarts[t], jax.device_get(spec.generate_value()), value)
                where = "the action spec's sample" if field == "sampled action" else f"step {t}"
                _check_in_spec("rollout", spec, value, field.split()[-1], where)

    def check_step_types(self) -> None:
        _, timesteps = self.rollout
        step_types = np.asarray(timesteps.step_type)
        ndim = step_types.ndim
        first, mid, last = (step_types == s for s in (_core.StepType.FIRST, _core.StepType.MID,
                                                       _core.StepType.LAST))
        discounts = [np.asarray(d) for d in jax.tree_util.tree_leaves(timesteps.discount)]
        rewards = [np.asarray(r) for r in jax.tree_util.tree_leaves(timesteps.reward)]
        previous_last = np.zeros_like(last[0])
        for t in range(self.num_steps):
            for field, leaves in (("reward", rewards), ("discount", discounts)):
                for leaf in leaves:
                    bad = _reduce_trailing(~np.isfinite(leaf[t]), ndim - 1, np.any)
                    if np.any(bad):
                        raise EnvCheckError("step_types", ERR_NOT_FINITE.format(
                            t=t, field=field, got=leaf[t], rows=_rows(bad)))
            for leaf in discounts:
                bad = _reduce_trailing((leaf[t] < 0) | (leaf[t] > 1), ndim - 1, np.any)
                if np.any(bad):
                    raise EnvCheckError("step_types", ERR_DISCOUNT_RANGE.format(
                        t=t, got=leaf[t], rows=_rows(bad)))
            if not self.auto_resets and np.any(first[t]):
                raise EnvCheckError("step_types", ERR_FIRST_FROM_STEP.format(
                    t=t, rows=_rows(first[t]), env=self.env))
            for leaf in discounts:
                bad = mid[t] & _reduce_trailing(leaf[t] == 0, ndim - 1, np.all)
                if np.any(bad):
                    raise EnvCheckError("step_types", ERR_MID_DISCOUNT_ZERO.format(t=t, rows=_rows(bad)))
            if self.auto_resets:
                bad = previous_last & ~first[t]
                if np.any(bad):
                    raise EnvCheckError("step_types", ERR_NO_RESET_AFTER_LAST.format(
                        t=t, got=step_types[t], rows=_rows(bad), env=self.env))
                restarted = previous_last & first[t]
                for field, leaves, expected in (("reward", rewards, 0), ("discount", discounts, 1)):
                    for leaf in leaves:
                        bad = restarted & _reduce_trailing(leaf[t] != expected, ndim - 1, np.any)
                        if np.any(bad):
                            raise EnvCheckError("step_types", ERR_FIRST_AFTER_LAST.format(
                                t=t, rows=_rows(bad), field=field, got=leaf[t], expected=expected))
            previous_last = last[t]

    def check_jit(self) -> None:
        eager = self.call("jit", "reset", lambda: self.reset_fn(self.key))
        # Behaviour is compared, not representation: the time steps of the two resets, then
        # jax.jit(step) run on from the eager reset's state against the scan, which ran on from
        # the jitted one's. A state difference that matters shows in those time steps; one
        # that does not (MJX's positions of contacts between distant bodies, a tie that fused
        # and unfused float math break differently) is not a failure.
        tolerance = {"rtol": self.rtol, "atol": self.atol}
        path = _first_difference((self.first[1],), (eager[1],), exact=False, names=("timestep",), **tolerance)
        if path is not None:
            raise EnvCheckError("jit", ERR_JIT_DISAGREES.format(
                call="reset", other="reset called eagerly", path=path, t=0, **tolerance))
        actions, timesteps = self.rollout
        state, _ = eager
        for t in range(min(5, self.num_steps)):
            action = jax.tree_util.tree_map(lambda x, t=t: x[t], actions)
            state, timestep = self.call("jit", "jax.jit(step)",
                                        functools.partial(self.step_jit, state, action))
            recorded = jax.tree_util.tree_map(lambda x, t=t: x[t], timesteps)
            path = _first_difference((recorded,), (timestep,), exact=False, names=("timestep",), **tolerance)
            if path is not None:
                raise EnvCheckError("jit", ERR_JIT_DISAGREES.format(
                    call="step (run on from the eager reset's state)",
                    other="the same step inside lax.scan (from jax.jit(reset)'s state)",
                    path=path, t=t, **tolerance))
            if not self.auto_resets and np.any(np.asarray(timestep.last())):
                break

    def check_retrace(self) -> None:
        self.reset_jit(jax.random.fold_in(self.key, 6))
        if self.reset_counter.count > 1:
            raise EnvCheckError("retrace", ERR_RETRACE.format(
                call="reset", count=self.reset_counter.count, cause=CAUSE_RETRACE_UNKNOWN))
        state, _ = self.first
        for t in range(3):
            action = self.action_spec.sample(jax.random.fold_in(self.key, 10 + t))
            state, _ = self.call("retrace", "jax.jit(step)", functools.partial(self.step_jit, state, action))
        if self.step_counter.count > 1:
            cause = CAUSE_RETRACE_UNKNOWN
            abstract_reset, abstract_step = self.abstract
            step_leaves = _leaves(abstract_step)
            for path, a in _leaves(abstract_reset).items():
                b = step_leaves.get(path)
                if b is not None and describe(a) != describe(b):
                    cause = CAUSE_RETRACE_LEAF.format(path=path, reset=describe(a), step=describe(b))
                    break
            raise EnvCheckError("retrace", ERR_RETRACE.format(
                call="step", count=self.step_counter.count, cause=cause))

    def check_vmap(self) -> None:
        keys = self.rollout_keys
        single = self.call("vmap", "a lax.scan rollout of step", lambda: jax.eval_shape(self.rollout_fn, self.key))
        names = ("actions", "timesteps")
        single_leaves = _leaves(single, names)
        for path, leaf in _leaves(self.rollouts, names).items():
            expected = single_leaves.get(path)
            if expected is None:
                raise EnvCheckError("vmap", ERR_VMAP.format(
                    num=len(keys), path=path, got=describe(leaf), expected="absent"))
            want = (len(keys), *expected.shape)
            if (np.shape(leaf), _dtype(leaf)) != (want, expected.dtype):
                raise EnvCheckError("vmap", ERR_VMAP.format(
                    num=len(keys), path=path, got=describe(leaf),
                    expected=describe(jax.ShapeDtypeStruct(want, expected.dtype))))


def _dtype(x: Any) -> Any:
    return x.dtype if hasattr(x, "dtype") else jnp.result_type(x)


def _check_pair(call: str, out: Any) -> None:
    if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], _core.TimeStep)):
        raise EnvCheckError("structure", ERR_NOT_A_PAIR.format(call=call, got=type(out).__name__))
    for field in ("reward", "discount"):
        if getattr(out[1], field) is None:
            raise EnvCheckError("structure", ERR_NONE_FIELD.format(call=call, field=field))


def _check_in_spec(check: str, spec: specs.Spec[Any], value: Any, field: str, where: str) -> None:
    try:  # On concrete values `validate` checks bounds in NumPy: no compilation.
        spec.validate(jax.device_get(value))
    except ValueError as e:
        raise EnvCheckError(check, ERR_OUTSIDE_SPEC.format(
            check=check, field=field, where=where, error=e)) from None


def _checker(env: _core.Environment[Any, Any, Any], key: jax.Array | None, num_steps: int, seed: int,
             options: Any, batch_size: int, rtol: float, atol: float) -> _Checker:
    if not isinstance(env, _core.Environment):
        raise TypeError(_core.ERR_NOT_AN_ENV.format(env))
    for name, value in (("num_steps", num_steps), ("batch_size", batch_size)):
        _core.check_positive_int(name, value)
    for name, tol in (("rtol", rtol), ("atol", atol)):
        if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < float("inf"):
            raise ValueError(ERR_TOLERANCE.format(name=name, got=tol))
    return _Checker(env, jax.random.key(seed) if key is None else key, num_steps=num_steps,
                    options=options, batch_size=batch_size, rtol=float(rtol), atol=float(atol))



ERR_POSITIVE = _core.ERR_POSITIVE_INT


def run_checks(
    env: _core.Environment[Any, Any, Any],
    key: jax.Array | None = None,
    *,
    num_steps: int = 100,
    seed: int = 0,
    options: Any = None,
    batch_size: int = 3,
    rtol: float = JIT_RTOL,
    atol: float = JIT_ATOL,
) -> list[CheckResult]:
    """Runs every check of `check_env` and reports each, instead of raising the first failure.

    Args and Raises: as `check_env`, except that failed checks are reported, not raised.

    Returns:
        One `CheckResult` per name in `CHECKS`, in order. When ``"specs"`` or
        ``"structure"`` fails, the checks after it are ``"SKIP"``.

    >>> import jit_env
    >>> report = run_checks(jit_env.make("Catch-v0"), num_steps=10)
    >>> {r.status for r in report}
    {'PASS'}
    """
    checker = _checker(env, key, num_steps, seed, options, batch_size, rtol, atol)
    results: list[CheckResult] = []
    blocked: str | None = None
    for name in CHECKS:
        if blocked is not None:
            results.append(CheckResult(name, SKIP, SKIPPED.format(failed=blocked)))
            continue
        try:
            checker.call(name, "the environment", getattr(checker, f"check_{name}"))
        except EnvCheckError as e:
            results.append(CheckResult(name, FAIL, str(e)))
            if name in PREREQUISITES:
                blocked = name
        else:
            results.append(CheckResult(name, PASS, ""))
    return results


def check_env(
    env: _core.Environment[Any, Any, Any],
    key: jax.Array | None = None,
    *,
    num_steps: int = 100,
    seed: int = 0,
    options: Any = None,
    batch_size: int = 3,
    rtol: float = JIT_RTOL,
    atol: float = JIT_ATOL,
) -> None:
    """Runs an environment, or any wrapper stack, batched or not, through the jit_env contract.

    The checks, in order (`CHECKS`), each of which raises `EnvCheckError` naming
    the check, what it saw and the likely cause:

    * ``specs``: the four spec methods return jit_env `Spec`s.
    * ``structure``: `reset` and `step` return `(state, TimeStep)` with identical
      pytree structure, shapes and dtypes (`jax.eval_shape`), reward and
      discount arrays (not None) and a step_type of shape ``()`` or ``(N,)``.
    * ``reset``: all FIRST, reward 0, discount 1, observation inside its spec
      (the reward and discount of a FIRST time step are placeholders, which
      the reward and discount specs need not contain).
    * ``purity``: the same key gives the same reset, the same `(state, action)`
      the same step (called eagerly, twice), and the same rollout.
    * ``keys``: the state carries a key that is not the reset key (nor shared
      by sub-environments); two reset keys give two different states (a reset
      that ignores its key would replay one episode forever under auto-reset);
      a step whose result depends on `state.key` stores a new key. Raw keys
      (``jax.random.PRNGKey``) work as typed ones do.
    * ``rollout``: a `num_steps` random-action rollout in one jitted `lax.scan`
      (the checker resets after LAST unless the environment auto-resets) stays
      inside the specs (except the placeholders of a FIRST after a LAST).
    * ``step_types``: rewards and discounts are finite, discounts in [0, 1];
      FIRST only from reset or an auto-reset; MID never has discount 0 (a
      terminal state is LAST with discount 0, a truncation LAST with discount
      > 0); after a LAST an auto-resetting environment returns FIRST with
      reward 0 and discount 1 (next-step mode; a same-step auto-reset returns
      FIRST carrying the ending transition's reward and discount).
    * ``jit``: `jax.jit(reset)`'s time step matches eager `reset`'s, and
      `jax.jit(step)`, run on from the eager reset's state, matches the steps
      inside the scan (which ran on from the jitted reset's). Time steps are
      compared, floats within `rtol` and `atol`: a state may hold values that
      jit changes without changing what the environment does.
    * ``retrace``: `jax.jit(step)` compiles once when fed its own outputs
      (a weakly typed Python scalar in the reset state is the usual cause).
    * ``vmap``: the rollout works under `jax.vmap` over keys.

    Batched environments work: `Tile`, `TileAutoReset` and `wrap(env,
    num_envs=N)` (their specs describe the batch), and `Vmap`, `VmapAutoReset`
    (their specs describe one slice; the checker resets `batch_size` of them).

    Args:
        env: The environment or wrapper stack.
        key: The PRNG key of the checks (default ``jax.random.key(seed)``).
        num_steps: Length of the random rollout.
        seed: The seed when `key` is None.
        options: Reset options passed to every `reset`.
        batch_size: Batch size for environments that take a batch of keys
            (`Vmap`, `VmapAutoReset`).
        rtol: Relative tolerance of the ``jit`` check, which compares float
            results under `jax.jit` with eager and `lax.scan` ones (XLA fuses
            each program its own way, so float32 results may differ in their last
            bits; chaotic, contact-rich physics amplifies that within a step).
            Every other comparison is exact.
        atol: Absolute tolerance of the ``jit`` check.

    Raises:
        EnvCheckError: An `AssertionError` naming the failed check.
        TypeError: If `env` is not an `Environment`.
        ValueError: If `num_steps` or `batch_size` is not a positive int, or
            `rtol` or `atol` is not a finite float >= 0.

    >>> import jit_env
    >>> from jit_env import wrappers
    >>> check_env(wrappers.wrap(jit_env.make("Catch-v0"), num_envs=4), num_steps=20)
    """
    checker = _checker(env, key, num_steps, seed, options, batch_size, rtol, atol)
    for name in CHECKS:
        checker.call(name, "the environment", getattr(checker, f"check_{name}"))


check_environment = check_env
"""The name of `check_env` in jit_env 0.1.x and the README; the same function."""


# ----------------------------------------------------------------------------- FakeEnv


@_struct.dataclass
class FakeState:
    """The state of `FakeEnv`'s default behaviour: the key and an int32 step counter."""

    key: jax.Array
    time: jax.Array


def _fake_observation(time: jax.Array, draw: jax.Array) -> jax.Array:
    noise = jax.random.uniform(draw, (), jnp.float32)
    return jnp.stack([time.astype(jnp.float32) / FakeEnv.EPISODE_LENGTH, noise])


class FakeEnv(_core.Environment[Any, Any, Any]):
    """An environment made of the callables you give it, for testing code that takes environments.

    By default it is a small, correct environment: episodes of
    `EPISODE_LENGTH` (5) steps ending in a termination, a float32 observation
    ``[time / 5, uniform noise]`` in [0, 1], two actions, reward equal to the
    action. Replace `reset` or `step` (and the specs) to build an environment
    that misbehaves in exactly one way; `default_reset` and `default_step` are
    the default behaviour, to be reused by the replacements.

    >>> import dataclasses
    >>> env = FakeEnv()
    >>> check_env(env, num_steps=12)
    >>> def stuck_key(state, action):  # Draws from state.key and keeps it.
    ...     new_state, timestep = FakeEnv.default_step(state, action)
    ...     return dataclasses.replace(new_state, key=state.key), timestep
    >>> check_env(FakeEnv(step=stuck_key))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    jit_env.testing.EnvCheckError: Check 'keys' failed: step drew randomness from state.key ...
    """

    EPISODE_LENGTH = 5

    def __init__(
        self,
        *,
        reset: Callable[[jax.Array], tuple[Any, _core.TimeStep[Any]]] | None = None,
        step: Callable[[Any, Any], tuple[Any, _core.TimeStep[Any]]] | None = None,
        observation_spec: specs.Spec[Any] | None = None,
        action_spec: specs.Spec[Any] | None = None,
        reward_spec: specs.Spec[Any] | None = None,
        discount_spec: specs.Spec[Any] | None = None,
    ):
        """Args:
        reset: ``reset(key) -> (state, timestep)``; reset options are ignored.
        step: ``step(state, action) -> (state, timestep)``.
        observation_spec: Default ``BoundedArray((2,), float32, 0, 1)``.
        action_spec: Default ``DiscreteArray(2)``.
        reward_spec: Default ``Array((), float32)``.
        discount_spec: Default ``BoundedArray((), float32, 0, 1)``.
        """
        super().__init__()
        self._reset = reset or self.default_reset
        self._step = step or self.default_step
        self._specs = {
            "observation": observation_spec or specs.BoundedArray((2,), jnp.float32, 0.0, 1.0, "observation"),
            "action": action_spec or specs.DiscreteArray(2, name="action"),
            "reward": reward_spec or specs.Array((), jnp.float32, "reward"),
            "discount": discount_spec or specs.BoundedArray((), jnp.float32, 0.0, 1.0, "discount"),
        }

    @staticmethod
    def default_reset(key: jax.Array) -> tuple[FakeState, _core.TimeStep[jax.Array]]:
        """The default `reset`: stores a split-off key, time 0, a FIRST time step."""
        key, draw = jax.random.split(key)
        time = jnp.zeros((), jnp.int32)
        return FakeState(key=key, time=time), _core.restart(_fake_observation(time, draw))

    @staticmethod
    def default_step(state: FakeState, action: jax.Array) -> tuple[FakeState, _core.TimeStep[jax.Array]]:
        """The default `step`: splits the key, counts time, terminates at `EPISODE_LENGTH`."""
        key, draw = jax.random.split(state.key)
        time = state.time + jnp.int32(1)
        observation = _fake_observation(time, draw)
        reward = jnp.asarray(action).astype(jnp.float32)
        timestep = jax.lax.cond(time >= FakeEnv.EPISODE_LENGTH,
                                lambda: _core.termination(reward, observation),
                                lambda: _core.transition(reward, observation))
        return FakeState(key=key, time=time), timestep

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        return self._reset(key)

    def step(self, state: Any, action: Any) -> Any:
        return self._step(state, action)

    def observation_spec(self) -> specs.Spec[Any]:
        return self._specs["observation"]

    def action_spec(self) -> specs.Spec[Any]:
        return self._specs["action"]

    def reward_spec(self) -> specs.Spec[Any]:
        return self._specs["reward"]

    def discount_spec(self) -> specs.Spec[Any]:
        return self._specs["discount"]


__all__ = [
    "CHECKS",
    "CheckResult",
    "EnvCheckError",
    "FakeEnv",
    "FakeState",
    "TraceCounter",
    "assert_same_structure",
    "check_env",
    "check_environment",
    "describe",
    "run_checks",
]
