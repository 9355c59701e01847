"""Per-call cost of one CartPole-v1 step from Python, as ratios measured side by side.

    python benchmarks/per_call.py              # the ratio tables (about a minute)
    python benchmarks/per_call.py --profile    # where a jitted step's time goes
    python benchmarks/per_call.py --profile-vector   # where the vector bridge's step goes
    python benchmarks/per_call.py --sync-dispatch    # any of the above, XLA:CPU calls run inline
    python benchmarks/per_call.py --unrolled-threefry  # any of the above, threefry unrolled on CPU
    python benchmarks/per_call.py --rss        # resident-memory growth of the bridges

What is timed is ONE call as a Python user makes it, results on the host
included: a jitted step followed by `jax.device_get` of its outputs (the time
step, or gymnax's `(obs, reward, terminated, truncated)`: 4 leaves each; the
state stays on the device, and so does gymnax's `info`, which holds copies of
the rest), a bridge's `step`, which returns NumPy already, or Gymnasium's
own `step`. Each call is timed alone with `time.perf_counter`; the contestants
of a table take turns in rounds of `--calls` calls (the order rotates every
round, so machine noise hits all alike). A contestant's µs/call is the median
over all its calls; a ratio is the median over rounds of the two contestants'
per-round medians.

Single env (CartPole-v1, random actions, the same sequence for all):

* jit_env jitted: `jax.jit(jit_env.make("CartPole-v1").step)(state, action)`.
* gymnax jitted: `jax.jit(env.step)(key, state, action, params)` of
  `gymnax.make("CartPole-v1")`, params passed as an argument as gymnax users
  do, with raw `PRNGKey` keys split in advance (the per-step split a gymnax
  loop does is not timed).
* hand-written: a minimal jitted CartPole step on a tuple of 4 float32 scalars,
  returning `(obs (4,), reward, terminated)`: what a call costs at least.
* ToGymnasium / ToDeepmindEnv: the bridges' `step(action)` over
  `jit_env.make("CartPole-v1")`; target <= 1.5x gymnax's jitted step.
* Gymnasium's own `gymnasium.make("CartPole-v1")` (NumPy) and gymnax's
  `GymnaxToGymWrapper` (its outputs are JAX arrays: fetched as above), for
  reference.

Episode ends: every contestant starts a new episode when one ends, and that
reset is NOT timed (the reset call, or the state put back, runs between two
timed calls; its count is printed). gymnax's step auto-resets inside the call,
as it always does, so its timed calls include that work; so does the vector
table's, where both contestants auto-reset inside `step` (Gymnasium's
NEXT_STEP mode) and nothing else is called.

Vector env: `compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), N)` vs
`gymnasium.make_vec("CartPole-v1", num_envs=N, vectorization_mode="vector_entry_point")`
(NumPy) at N in `--sizes`; targets (issue #19) <= 2x at N=16, <= 1.2x at N=4096.
`device_array_contestant` adds `ToGymnasiumVector(..., array_backend="jax")`:
its step returns JAX arrays on the device (no host copy); the timed call waits
for them (`jax.block_until_ready`), so the step's compute is counted.

`--profile` splits the jitted single-env step's call into its parts (flattening
the arguments, dispatching an empty jitted function of the same arguments,
dispatch alone, waiting for the result, `jax.device_get` of the outputs and,
for comparison, the per-leaf `copy_to_host_async` that `device_get` starts
with and a plain `np.asarray` per leaf, which is what the bridges do), for
jit_env's step with the state's typed PRNG key and with the key's raw uint32
data, gymnax's and the hand-written one, so a miss can be explained.

`--profile-vector` splits the vector bridge's step at each N in `--sizes`
into what it is made of, with public pieces only, side by side in interleaved
rounds: Gymnasium's NumPy vector step (the reference); the bridge's whole
`step`; the compiled work it calls, as `jax.jit(TileAutoReset(env, N,
mode="next_step").step, donate_argnums=0)` and, without any reset,
`jax.jit(Tile(env, N).step, donate_argnums=0)`, each called with a NumPy
action and waited for; an empty jitted function of the same arguments (what a
call costs at least); and the same two steps inside a `lax.scan` of 100 steps
per call (µs per step: the compute, with no per-call cost). Each row gives the
median µs per call and the quartiles of the per-round medians.

`--sync-dispatch` sets `jax_cpu_enable_async_dispatch` to False before JAX
starts its CPU backend: every XLA:CPU call then runs on the calling thread
(see docs/performance.md, "Per-call cost from Python").
`--unrolled-threefry` lowers JAX's threefry hash on CPU as it does on GPU and
TPU, unrolled, instead of as a `while` loop of 5 rounds (the same bits; a
diagnostic through JAX's private `threefry2x32` module: every reset in the
auto-reset step hashes keys twice, and each hash is such a loop on CPU).

`--rss` steps ToGymnasium, ToDeepmindEnv and ToGymnasiumVector(N=16)
`--rss-warmup` times (10^4), reads VmRSS from /proc/self/status, steps
`--rss-steps` times more (10^5; resets at episode ends, auto-reset for the
vector env), reads it again and prints the growth; under 2 MiB is "no growth".
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

import jit_env
from jit_env import compat, wrappers

ENV_ID = "CartPole-v1"
SINGLE_TARGET = 1.5  # bridge step / gymnax's jitted step
VECTOR_TARGETS = {16: 2.0, 4096: 1.2}  # ToGymnasiumVector / Gymnasium's NumPy vector env (issue #19)
NO_GROWTH_MIB = 2.0
LAST = int(jit_env.StepType.LAST)


@dataclasses.dataclass
class Contestant:
    """One way of stepping: `step()` makes one timed call and says whether the episode ended;
    `reset()` (untimed) starts the next one."""

    step: Callable[[], bool]
    reset: Callable[[], None] = lambda: None
    resets: int = 0


def _actions(num: int, size: int | None = None, dtype: Any = np.int32) -> list[Any]:
    rng = np.random.default_rng(0)
    if size is None:
        return [dtype(a) for a in rng.integers(0, 2, num)]
    return [rng.integers(0, 2, size).astype(dtype) for _ in range(num)]


class _Cycle:
    """The next item of a fixed list, round and round."""

    def __init__(self, items: list[Any]):
        self.items, self.i = items, -1

    def __call__(self) -> Any:
        self.i = (self.i + 1) % len(self.items)
        return self.items[self.i]


# --- single-env contestants ---------------------------------------------------------------


def ours_jitted() -> Contestant:
    env = jit_env.make(ENV_ID)
    step, reset = jax.jit(env.step), jax.jit(env.reset)
    action = _Cycle(_actions(1000))
    seeds = iter(range(1, 10**9))
    state = [reset(jax.random.key(0))[0]]

    def call() -> bool:
        state[0], ts = step(state[0], action())
        ts = jax.device_get(ts)
        return int(ts.step_type) == LAST

    def new_episode() -> None:
        state[0] = reset(jax.random.key(next(seeds)))[0]

    return Contestant(call, new_episode)


def gymnax_jitted() -> Contestant:
    import gymnax

    env, params = gymnax.make(ENV_ID)
    step = jax.jit(env.step)
    key = _Cycle(list(jax.random.split(jax.random.PRNGKey(0), 512)))
    action = _Cycle(_actions(1000))
    state = [jax.jit(env.reset)(key(), params)[1]]

    def call() -> bool:
        obs, state[0], reward, terminated, truncated, _ = step(key(), state[0], action(), params)
        obs, reward, terminated, truncated = jax.device_get((obs, reward, terminated, truncated))
        return bool(terminated or truncated)

    # gymnax's step has already started the next episode inside the call.
    return Contestant(call)


def hand_step(state: tuple[jax.Array, ...], action: jax.Array) -> Any:
    """Gymnasium's CartPole-v1 dynamics, written out on 4 float32 scalars."""
    x, x_dot, theta, theta_dot = state
    force = jnp.where(action == 1, jnp.float32(10.0), jnp.float32(-10.0))
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    temp = (force + 0.05 * theta_dot**2 * sin) / 1.1
    theta_acc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos**2 / 1.1))
    x_acc = temp - 0.05 * theta_acc * cos / 1.1
    state = (x + 0.02 * x_dot, x_dot + 0.02 * x_acc, theta + 0.02 * theta_dot, theta_dot + 0.02 * theta_acc)
    terminated = (jnp.abs(state[0]) > 2.4) | (jnp.abs(state[2]) > 12 * 2 * np.pi / 360)
    return state, (jnp.stack(state), jnp.float32(1.0), terminated)


def hand_written() -> Contestant:
    step = jax.jit(hand_step)
    action = _Cycle(_actions(1000))
    rng = np.random.default_rng(0)
    state: list[Any] = [None]
    steps = [0]

    def call() -> bool:
        state[0], out = step(state[0], action())
        _, _, terminated = jax.device_get(out)
        steps[0] += 1
        return bool(terminated) or steps[0] >= 500

    def new_episode() -> None:
        state[0] = tuple(jnp.float32(v) for v in rng.uniform(-0.05, 0.05, 4))
        steps[0] = 0

    new_episode()
    return Contestant(call, new_episode)


def gymnasium_api(env: Any) -> Contestant:
    """A `gymnasium.Env`: reset after terminated or truncated."""
    action = _Cycle(_actions(1000, dtype=np.int64))
    env.reset(seed=0)

    def call() -> bool:
        _, _, terminated, truncated, _ = env.step(action())
        return bool(terminated or truncated)

    return Contestant(call, lambda: env.reset())


def gymnax_gym_wrapper() -> Contestant:
    """gymnax's Gymnasium wrapper: its outputs are JAX arrays, fetched to the host."""
    import gymnax
    from gymnax.wrappers import GymnaxToGymWrapper

    env = GymnaxToGymWrapper(*gymnax.make(ENV_ID), seed=0)
    action = _Cycle(_actions(1000, dtype=np.int64))
    env.reset(seed=0)

    def call() -> bool:
        _, _, terminated, truncated = jax.device_get(env.step(action())[:4])
        return bool(terminated or truncated)

    return Contestant(call, lambda: env.reset())


def dm_env_api(env: Any) -> Contestant:
    """A `dm_env.Environment`: reset (untimed) after LAST, instead of the auto-reset step."""
    action = _Cycle(_actions(1000))
    env.reset()
    return Contestant(lambda: env.step(action()).last(), lambda: env.reset())


def single_contestants() -> tuple[dict[str, Contestant], list[str]]:
    notes = []
    contestants = {
        "jit_env jitted step": ours_jitted(),
        "gymnax jitted step": gymnax_jitted(),
        "hand-written jitted step": hand_written(),
        "ToGymnasium.step": gymnasium_api(compat.ToGymnasium(jit_env.make(ENV_ID))),
        "ToDeepmindEnv.step": dm_env_api(compat.ToDeepmindEnv(jit_env.make(ENV_ID))),
        "gymnasium.make step": gymnasium_api(gymnasium.make(ENV_ID)),
    }
    try:
        contestants["GymnaxToGymWrapper.step"] = gymnax_gym_wrapper()
    except ImportError as e:
        notes.append(f"GymnaxToGymWrapper skipped: not in the installed gymnax ({e}).")
    return contestants, notes


def _vector_contestant(env: Any, action: _Cycle) -> Contestant:
    def call() -> bool:
        env.step(action())
        return False  # Both vector envs auto-reset inside `step`.

    return Contestant(call)


def vector_contestants(num: int) -> dict[str, Contestant]:
    actions = _actions(256, size=num, dtype=np.int64)
    out = {}
    for name, env in (
        ("ToGymnasiumVector", compat.ToGymnasiumVector(jit_env.make(ENV_ID), num)),
        ("gymnasium make_vec", gymnasium.make_vec(ENV_ID, num_envs=num, vectorization_mode="vector_entry_point")),
    ):
        env.reset(seed=0)
        out[name] = _vector_contestant(env, _Cycle(actions))
    out[DEVICE_ARRAYS] = device_array_contestant(num, actions)
    return out


DEVICE_ARRAYS = 'ToGymnasiumVector array_backend="jax"'


def device_array_contestant(num: int, actions: list[np.ndarray]) -> Contestant:
    """`ToGymnasiumVector(..., array_backend="jax")`: JAX arrays out, waited for, never copied to the host."""
    env = compat.ToGymnasiumVector(jit_env.make(ENV_ID), num, array_backend="jax")
    env.reset(seed=0)
    action = _Cycle(actions)

    def call() -> bool:
        jax.block_until_ready(env.step(action())[:4])
        return False  # Auto-resets inside `step`.

    return Contestant(call)


# --- timing ---------------------------------------------------------------------------------


def run_rounds(contestants: dict[str, Contestant], rounds: int, calls: int) -> dict[str, list[list[float]]]:
    """Per contestant, per round, each call's seconds; `resets` counts the timed rounds' resets."""
    for c in contestants.values():  # Warm up: compile, fill caches.
        _time_calls(c, 50)
        c.resets = 0
    names = list(contestants)
    times: dict[str, list[list[float]]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_time_calls(contestants[name], calls))
    return times


def _time_calls(c: Contestant, calls: int) -> list[float]:
    out = []
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        ended = c.step()
        out.append(clock() - start)
        if ended:
            c.reset()
            c.resets += 1
    return out


def micros(rounds: list[list[float]]) -> float:
    return statistics.median(t for r in rounds for t in r) * 1e6


def ratio(a: list[list[float]], b: list[list[float]]) -> float:
    return statistics.median(statistics.median(x) / statistics.median(y) for x, y in zip(a, b, strict=True))


HEADER = ("| contestant | µs/call | ratio | target | pass/miss | episode ends |\n"
          "| --- | ---: | --- | --- | --- | ---: |")


def _row(name: str, us: float, r: float | None = None, vs: str = "", target: float | None = None,
         ends: Any = "") -> str:
    ratio_text = "" if r is None else f"{r:.2f}x {vs}"
    target_text = "" if target is None else f"<= {target}x"
    verdict = "" if target is None or r is None else ("pass" if r <= target else "MISS")
    return f"| {name} | {us:.1f} | {ratio_text} | {target_text} | {verdict} | {ends} |"


def single_table(rounds: int, calls: int) -> None:
    contestants, notes = single_contestants()
    times = run_rounds(contestants, rounds, calls)
    ours, gymnax_t, hand = (times[k] for k in ("jit_env jitted step", "gymnax jitted step",
                                                  "hand-written jitted step"))

    def ends(name: str) -> str:
        return f"{contestants[name].resets} resets"

    print(f"Single env, {ENV_ID}: {rounds} rounds x {calls} calls per contestant, median; "
          "resets untimed (gymnax: inside its step)")
    print(HEADER)
    name = "jit_env jitted step"
    print(_row(name, micros(ours), ratio(ours, gymnax_t), "of gymnax jitted", ends=ends(name)))
    print(_row(name, micros(ours), ratio(ours, hand), "of hand-written"))
    print(_row("gymnax jitted step", micros(gymnax_t), ends="in step"))
    print(_row("hand-written jitted step", micros(hand), ends=ends("hand-written jitted step")))
    for name in ("ToGymnasium.step", "ToDeepmindEnv.step"):
        print(_row(name, micros(times[name]), ratio(times[name], gymnax_t), "of gymnax jitted", SINGLE_TARGET,
                   ends=ends(name)))
        print(_row(name, micros(times[name]), ratio(times[name], ours), "of jit_env jitted"))
    for name in ("gymnasium.make step", "GymnaxToGymWrapper.step"):
        if name in times:
            print(_row(name, micros(times[name]), ratio(times[name], gymnax_t), "of gymnax jitted",
                       ends=ends(name)))
    for note in notes:
        print(f"\nNote: {note}")


def vector_table(sizes: list[int], rounds: int, calls: int) -> None:
    print(f"\nVector env, {ENV_ID}, NEXT_STEP auto-reset inside step: {rounds} rounds x {calls} calls "
          "per contestant, median")
    print(HEADER)
    for num in sizes:
        contestants = vector_contestants(num)
        times = run_rounds(contestants, rounds, calls)
        ours, ref = times["ToGymnasiumVector"], times["gymnasium make_vec"]
        print(_row(f"ToGymnasiumVector N={num}", micros(ours), ratio(ours, ref), "of make_vec",
                   VECTOR_TARGETS.get(num), ends="in step"))
        print(_row(f"gymnasium make_vec N={num}", micros(ref), ends="in step"))
        print(_row(f"{DEVICE_ARRAYS} N={num}", micros(times[DEVICE_ARRAYS]), ratio(times[DEVICE_ARRAYS], ref),
                   "of make_vec", ends="in step"))


# --- --profile ------------------------------------------------------------------------------


def _is_key(x: Any) -> bool:
    return jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)


def profile_cases() -> dict[str, tuple[Callable[..., Any], tuple[Any, ...], Callable[[Any], Any]]]:
    """name -> (jitted step, its arguments, the outputs a user fetches from its result)."""
    import gymnax

    env = jit_env.make(ENV_ID)
    state, _ = jax.jit(env.reset)(jax.random.key(0))
    action = np.int32(1)
    is_key = jax.tree_util.tree_map(_is_key, state)

    def encode(s: Any) -> Any:
        return jax.tree_util.tree_map(lambda x, k: jax.random.key_data(x) if k else x, s, is_key)

    def decode(s: Any) -> Any:
        return jax.tree_util.tree_map(lambda x, k: jax.random.wrap_key_data(x) if k else x, s, is_key)

    def raw_step(s: Any, a: Any) -> Any:
        s, ts = env.step(decode(s), a)
        return encode(s), ts

    genv, params = gymnax.make(ENV_ID)
    key = jax.random.PRNGKey(0)
    gstate = jax.jit(genv.reset)(key, params)[1]
    hand_state = tuple(jnp.float32(v) for v in (0.01, 0.02, -0.01, 0.03))
    return {
        "jit_env, typed key in state": (jax.jit(env.step), (state, action), lambda out: out[1]),
        "jit_env, raw key data in state": (jax.jit(raw_step), (jax.jit(encode)(state), action), lambda out: out[1]),
        "gymnax (raw key arg)": (jax.jit(genv.step), (key, gstate, action, params),
                                 lambda out: (out[0], *out[2:5])),
        "hand-written": (jax.jit(hand_step), (hand_state, action), lambda out: out[1]),
    }


def profile(rounds: int, calls: int) -> None:
    """Times each part of one jitted call; the same arguments every call (the cost does not depend on values)."""
    cases = profile_cases()
    clock = time.perf_counter
    parts = ("flatten args", "empty jit, same args", "dispatch only", "call + block", "device_get only",
             "copy_to_host_async per leaf only", "np.asarray per leaf only", "call + device_get")
    times: dict[str, dict[str, list[float]]] = {name: {p: [] for p in parts} for name in cases}
    empties = {name: jax.jit(lambda *args: args[-1]) for name in cases}
    for name, (fn, args, _) in cases.items():  # Compile.
        jax.block_until_ready((fn(*args), empties[name](*args)))
    for _ in range(rounds):
        for name, (fn, args, outputs) in cases.items():
            t = times[name]
            empty = empties[name]
            for _ in range(calls):
                start = clock()
                jax.tree_util.tree_flatten(args)
                t["flatten args"].append(clock() - start)
                start = clock()
                out = empty(*args)
                t["empty jit, same args"].append(clock() - start)
                jax.block_until_ready(out)
                start = clock()
                out = fn(*args)
                t["dispatch only"].append(clock() - start)
                jax.block_until_ready(out)
                start = clock()
                jax.block_until_ready(fn(*args))
                t["call + block"].append(clock() - start)
                start = clock()
                jax.device_get(outputs(out))
                t["device_get only"].append(clock() - start)
                leaves = jax.tree_util.tree_leaves(outputs(fn(*args)))
                jax.block_until_ready(leaves)
                start = clock()
                for leaf in leaves:
                    leaf.copy_to_host_async()
                t["copy_to_host_async per leaf only"].append(clock() - start)
                leaves = jax.tree_util.tree_leaves(outputs(fn(*args)))
                jax.block_until_ready(leaves)
                start = clock()
                for leaf in leaves:
                    np.asarray(leaf)
                t["np.asarray per leaf only"].append(clock() - start)
                start = clock()
                jax.device_get(outputs(fn(*args)))
                t["call + device_get"].append(clock() - start)
    print(f"Where one jitted {ENV_ID} step's time goes: µs, median of {rounds} x {calls} calls "
          "(dispatch only: the call returns; call + block: and the result is computed)")
    print("| step | leaves in | leaves fetched | " + " | ".join(parts) + " |")
    print("| --- | ---: | ---: | " + " | ".join("---:" for _ in parts) + " |")
    for name, (fn, args, outputs) in cases.items():
        leaves_in = len(jax.tree_util.tree_leaves(args))
        leaves_out = len(jax.tree_util.tree_leaves(outputs(fn(*args))))
        cells = " | ".join(f"{statistics.median(times[name][p]) * 1e6:.1f}" for p in parts)
        print(f"| {name} | {leaves_in} | {leaves_out} | {cells} |")


# --- --profile-vector -----------------------------------------------------------------------

SCAN_STEPS = 100  # steps per call of the in-scan rows


def _donating_call(step: Callable[..., Any], state: Any, actions: _Cycle) -> Callable[[], bool]:
    """A timed call of a jitted `(state, action) -> (state, outputs)` that donates its state, waited for."""
    carry = [state]

    def call() -> bool:
        carry[0], out = step(carry[0], actions())
        jax.block_until_ready(out)
        return False

    return call


def _scan_call(step: Callable[..., Any], state: Any, actions: list[np.ndarray]) -> Callable[[], bool]:
    """A timed call of `SCAN_STEPS` steps inside one `lax.scan`, state carried on the device."""
    stacked = jnp.asarray(np.stack([actions[i % len(actions)] for i in range(SCAN_STEPS)]))
    scan = jax.jit(lambda s, a: jax.lax.scan(lambda s, x: (step(s, x)[0], None), s, a)[0], donate_argnums=0)
    carry = [state]

    def call() -> bool:
        carry[0] = jax.block_until_ready(scan(carry[0], stacked))
        return False

    return call


def vector_profile_contestants(num: int) -> dict[str, tuple[Contestant, int]]:
    """name -> (contestant, steps per call): the vector bridge's step and what it is made of."""
    env = jit_env.make(ENV_ID)
    actions64 = _actions(256, size=num, dtype=np.int64)
    actions32 = [a.astype(np.int32) for a in actions64]
    auto = wrappers.TileAutoReset(env, num, mode="next_step")
    tile = wrappers.Tile(env, num)

    def fresh(batched: Any) -> Any:
        return jax.jit(batched.reset)(jax.random.key(0))[0]

    out = {}
    for name, vec in (
        ("gymnasium make_vec step", gymnasium.make_vec(ENV_ID, num_envs=num, vectorization_mode="vector_entry_point")),
        ("ToGymnasiumVector.step", compat.ToGymnasiumVector(env, num)),
    ):
        vec.reset(seed=0)
        out[name] = (_vector_contestant(vec, _Cycle(actions64)), 1)
    out["jitted TileAutoReset step"] = (Contestant(_donating_call(
        jax.jit(auto.step, donate_argnums=0), fresh(auto), _Cycle(actions32))), 1)
    out["jitted Tile step (no reset)"] = (Contestant(_donating_call(
        jax.jit(tile.step, donate_argnums=0), fresh(tile), _Cycle(actions32))), 1)
    out["empty jit, same arguments"] = (Contestant(_donating_call(
        jax.jit(lambda s, a: (s, a), donate_argnums=0), fresh(auto), _Cycle(actions32))), 1)
    out["TileAutoReset step in lax.scan"] = (Contestant(_scan_call(auto.step, fresh(auto), actions32)), SCAN_STEPS)
    out["Tile step in lax.scan"] = (Contestant(_scan_call(tile.step, fresh(tile), actions32)), SCAN_STEPS)
    return out


def profile_vector(sizes: list[int], rounds: int, calls: int) -> None:
    """Times the vector bridge's step and its parts, interleaved; scans get `calls // SCAN_STEPS + 1` calls."""
    print(f"Where the vector bridge's {ENV_ID} step goes (NEXT_STEP): µs per step, median of {rounds} "
          f"rounds; quartiles of the per-round medians; in-scan rows: {SCAN_STEPS} steps a call")
    print("| N | contestant | µs/step | quartiles | ratio to make_vec |")
    print("| ---: | --- | ---: | --- | ---: |")
    for num in sizes:
        contestants = vector_profile_contestants(num)
        steps = {name: k for name, (_, k) in contestants.items()}
        names = list(contestants)
        for c, _ in contestants.values():  # Warm up: compile, fill caches.
            _time_calls(c, 3)
        times: dict[str, list[list[float]]] = {name: [] for name in names}
        for r in range(rounds):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                n_calls = calls if steps[name] == 1 else calls // steps[name] + 1
                times[name].append([t / steps[name] for t in _time_calls(contestants[name][0], n_calls)])
        ref = times["gymnasium make_vec step"]
        for name in names:
            per_round = [statistics.median(r) * 1e6 for r in times[name]]
            q1, _, q3 = statistics.quantiles(per_round, n=4) if len(per_round) > 1 else per_round * 3
            print(f"| {num} | {name} | {micros(times[name]):.1f} | {q1:.1f}-{q3:.1f} | "
                  f"{ratio(times[name], ref):.2f}x |")


# --- --rss ----------------------------------------------------------------------------------


def vm_rss_mib() -> float:
    """This process's resident memory now (VmRSS), in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("No VmRSS in /proc/self/status (Linux only).")


def _run(c: Contestant, steps: int) -> None:
    for _ in range(steps):
        if c.step():
            c.reset()


def rss(warmup: int, steps: int) -> None:
    bridges = {
        "ToGymnasium": lambda: gymnasium_api(compat.ToGymnasium(jit_env.make(ENV_ID))),
        "ToDeepmindEnv": lambda: dm_env_api(compat.ToDeepmindEnv(jit_env.make(ENV_ID))),
        "ToGymnasiumVector N=16": lambda: vector_contestants(16)["ToGymnasiumVector"],
    }
    print(f"Resident memory (VmRSS) of {ENV_ID} bridges: {warmup} warm-up steps, then {steps} more "
          f"(resets at episode ends); growth < {NO_GROWTH_MIB} MiB is no growth")
    print("| bridge | after warm-up (MiB) | after more steps (MiB) | growth (MiB) | verdict |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, make in bridges.items():
        c = make()
        _run(c, warmup)
        gc.collect()
        before = vm_rss_mib()
        _run(c, steps)
        gc.collect()
        after = vm_rss_mib()
        growth = after - before
        verdict = "no growth" if growth < NO_GROWTH_MIB else "GROWS"
        print(f"| {name} | {before:.1f} | {after:.1f} | {growth:+.2f} | {verdict} |")


def unroll_threefry_on_cpu() -> None:
    """Lowers `threefry2x32` on CPU with JAX's own unrolled rule (its GPU/TPU lowering), process-wide.

    Same bits, different loop structure: a diagnostic that reaches into JAX's private module.
    """
    from jax._src.random import threefry2x32 as threefry
    from jax.interpreters import mlir

    mlir.register_lowering(threefry.threefry2x32_p, threefry._threefry2x32_lowering_rule, platform="cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--calls", type=int, default=200, help="calls per contestant per round")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 4096], help="vector env sizes N")
    parser.add_argument("--profile", action="store_true", help="where a jitted step's time goes")
    parser.add_argument("--profile-vector", action="store_true", help="where the vector bridge's step goes")
    parser.add_argument("--sync-dispatch", action="store_true",
                        help="jax_cpu_enable_async_dispatch=False: XLA:CPU calls run on the calling thread")
    parser.add_argument("--unrolled-threefry", action="store_true",
                        help="lower threefry on CPU unrolled (as on GPU), not as a while loop (a diagnostic)")
    parser.add_argument("--rss", action="store_true", help="resident-memory growth of the bridges")
    parser.add_argument("--rss-warmup", type=int, default=10**4)
    parser.add_argument("--rss-steps", type=int, default=10**5)
    args = parser.parse_args()
    if args.sync_dispatch:  # Read when the CPU backend starts: before any JAX computation.
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    if args.unrolled_threefry:
        unroll_threefry_on_cpu()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"jax {jax.__version__} on {jax.default_backend()}, gymnasium {gymnasium.__version__}, "
          f"python {sys.version.split()[0]}; load average {load}; async dispatch "
          f"{jax.config.values['jax_cpu_enable_async_dispatch']}; threefry on CPU "
          f"{'unrolled' if args.unrolled_threefry else 'rolled (JAX default)'}; NPROC={os.environ.get('NPROC')}\n")
    if args.rss:
        rss(args.rss_warmup, args.rss_steps)
    elif args.profile:
        profile(args.rounds, args.calls)
    elif args.profile_vector:
        profile_vector(args.sizes, args.rounds, args.calls)
    else:
        single_table(args.rounds, args.calls)
        vector_table(args.sizes, args.rounds, args.calls)


if __name__ == "__main__":
    main()
