"""CartPole-v1 throughput, side by side: jit_env's batching strategies and their peers.

Every JAX configuration runs the same jitted `lax.scan` of `--steps` random-action
steps over a batch of N; Gymnasium's numpy vector env is stepped in a Python loop.
Measurements are interleaved in rounds (every configuration once per round, so
machine noise hits all alike) and the median is reported. Columns: env steps per
second, ratios to the fixed-table floor, to the hand-written faithful reset (rng
floor) and to gymnax, compile time, and the process's peak RSS after the
configuration was set up (`resource.getrusage`; a process-wide peak, so only
increases show; the sharded runs are subprocesses with their own).

Configurations:

* floor: hand-written CartPole arrays whose ended episodes restart from a fixed
  table of initial states (no reset work at all): what a batch costs at best.
* rng floor: the same arrays, but every ended episode restarts from a fresh
  draw of its own key chain, as `reset` would (only finished rows draw, N/16
  at a time): hand-written faithful auto-reset, the bar for our strategies.
* gymnax: gymnax 1.0 CartPole, vmapped, with its built-in auto-reset step.
* gymnasium: ``gymnasium.make_vec("CartPole-v1", num_envs=N,
  vectorization_mode="vector_entry_point")`` (numpy), stepped in Python.
* complete / optimistic / precomputed: `VmapAutoReset(TimeLimit(CartPole))`.
* wrap: `wrappers.wrap(env, num_envs=N)` (adds `EpisodeStatistics` and `Jit`).
* tile(autoreset): `Tile(AutoReset(env), N)`, every row's reset on every step.
* shard xD: `Shard(TileAutoReset(env, N // D))` over D forced host devices, each
  in its own subprocess (``XLA_FLAGS=--xla_force_host_platform_device_count=D``),
  driven in the same rounds.

The peers are optional: ``pip install gymnax gymnasium`` (or ``pip install
jit_env[gymnax,gymnasium]``); a missing one is skipped with a note.

    python benchmarks/throughput.py            # N = 64, 1024, 4096, 16384
    python benchmarks/throughput.py --quick    # N = 64, 1024; fewer steps and rounds
    python benchmarks/throughput.py --hlo 1024 # HLO statistics of one compiled step
    python benchmarks/throughput.py --profile 1024 --only floor complete  # time per thunk
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jit_env
from jit_env import wrappers

DEVICE_COUNTS = (1, 2, 4)
Runner = Callable[[], float]  # Runs once; returns wall seconds.


def peak_rss_mib() -> float:
    """This process's peak RSS; VmHWM where Linux has it (ru_maxrss survives exec in a child)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def scan_runner(step: Callable[[Any, jax.Array], Any], state: Any, steps: int) -> tuple[Runner, float]:
    """Compiles a scan of `step(state, key) -> state` and returns (runner, compile seconds)."""

    def run(state: Any, key: jax.Array) -> Any:
        return jax.lax.scan(lambda s, k: (step(s, k), None), state, jax.random.split(key, steps))[0]

    start = time.perf_counter()
    compiled = jax.jit(run).lower(state, jax.random.key(0)).compile()
    jax.block_until_ready(compiled(state, jax.random.key(0)))
    compile_s = time.perf_counter() - start
    counter = [0]

    def runner() -> float:
        counter[0] += 1
        start = time.perf_counter()
        jax.block_until_ready(compiled(state, jax.random.key(counter[0])))
        return time.perf_counter() - start

    return runner, compile_s


def random_actions(key: jax.Array, num: int) -> jax.Array:
    # One draw of 32 bits per row, the top bit the action: every configuration
    # compiles the same code for it. (`randint(key, (num,), 0, 2)` draws twice and
    # XLA folds one draw away in some programs and not others: unequal work.)
    return (jax.random.bits(key, (num,)) >> 31).astype(jnp.int32)


# The floor: CartPole physics on arrays, restarts copied from a fixed table.
TABLE = 1024


def cartpole_arrays(obs: jax.Array, t: jax.Array, action: jax.Array) -> Any:
    """One step of N CartPoles as an `(N, 4)` array and step counts: (obs, t, done)."""
    x, x_dot, theta, theta_dot = obs[:, 0], obs[:, 1], obs[:, 2], obs[:, 3]
    force = jnp.where(action == 1, 10.0, -10.0)
    cos, sin = jnp.cos(theta), jnp.sin(theta)
    temp = (force + 0.05 * theta_dot**2 * sin) / 1.1
    theta_acc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos**2 / 1.1))
    x_acc = temp - 0.05 * theta_acc * cos / 1.1
    obs = jnp.stack([x + 0.02 * x_dot, x_dot + 0.02 * x_acc,
                     theta + 0.02 * theta_dot, theta_dot + 0.02 * theta_acc], axis=1)
    t = t + 1
    return obs, t, (jnp.abs(obs[:, 0]) > 2.4) | (jnp.abs(obs[:, 2]) > 0.2094395) | (t >= 500)


def floor(num: int, steps: int) -> tuple[Runner, float]:
    table = jax.random.uniform(jax.random.key(42), (TABLE, 4), jnp.float32, -0.05, 0.05)
    rows = jnp.arange(num, dtype=jnp.int32)

    def step(carry: Any, key: jax.Array) -> Any:
        obs, t, count = carry
        obs, t, done = cartpole_arrays(obs, t, random_actions(key, num))
        start = table[(rows + count) % TABLE]
        return (jnp.where(done[:, None], start, obs), jnp.where(done, 0, t), count + 1)

    state = (table[rows % TABLE], jnp.zeros(num, jnp.int32), jnp.zeros((), jnp.int32))
    return scan_runner(step, state, steps)


def fresh_starts(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """CartPole's reset for a batch of keys: (next keys, initial observations)."""
    split = jax.vmap(jax.random.split)(keys)
    starts = jax.vmap(lambda k: jax.random.uniform(k, (4,), jnp.float32, -0.05, 0.05))(split[:, 1])
    return split[:, 0], starts


def rng_floor(num: int, steps: int) -> tuple[Runner, float]:
    """Hand-written CartPole arrays with faithful resets, in the fastest faithful form we know.

    Every ended episode restarts from a fresh draw of its own key chain (what
    `reset` does), and only finished rows draw: they are restarted N/16 at a
    time, in at most 16 passes, each skipped once none is left. No wrapper, no
    time-step structure, 3 buffers: what a faithful auto-reset costs at least.
    """
    chunk = max(1, num // 16)

    def restart(remaining: jax.Array, obs: jax.Array, keys: jax.Array) -> Any:
        (rows,) = jnp.nonzero(remaining, size=chunk, fill_value=num)
        new_keys, starts = fresh_starts(keys[jnp.minimum(rows, num - 1)])
        return (remaining.at[rows].set(False, mode="drop"), obs.at[rows].set(starts, mode="drop"),
                keys.at[rows].set(new_keys, mode="drop"))

    def restarts(done: jax.Array, obs: jax.Array, keys: jax.Array) -> Any:
        def one_pass(_: Any, carry: Any) -> Any:
            return jax.lax.cond(jnp.any(carry[0]), restart, lambda *c: c, *carry)

        return jax.lax.fori_loop(0, -(-num // chunk), one_pass, (done, obs, keys))[1:]

    def step(carry: Any, key: jax.Array) -> Any:
        obs, t, keys = carry
        obs, t, done = cartpole_arrays(obs, t, random_actions(key, num))
        obs, keys = jax.lax.cond(jnp.any(done), restarts, lambda d, o, k: (o, k), done, obs, keys)
        return obs, jnp.where(done, 0, t), keys

    keys, obs = fresh_starts(jax.random.split(jax.random.key(7), num))
    return scan_runner(step, (obs, jnp.zeros(num, jnp.int32), keys), steps)


def gymnax_cartpole(num: int, steps: int) -> tuple[Runner, float]:
    import gymnax

    env, params = gymnax.make("CartPole-v1")
    _, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(jax.random.key(0), num), params)

    def step(state: Any, key: jax.Array) -> Any:
        action_key, step_key = jax.random.split(key)
        out = jax.vmap(env.step, in_axes=(0, 0, 0, None))(
            jax.random.split(step_key, num), state, random_actions(action_key, num), params)
        return out[1]

    return scan_runner(step, state, steps)


def jit_env_runner(env: jit_env.Environment[Any, Any, Any], num: int, steps: int, batched_keys: bool) -> Any:
    key = jax.random.split(jax.random.key(0), num) if batched_keys else jax.random.key(0)
    state, _ = jax.jit(env.reset)(key)
    return scan_runner(lambda s, k: env.step(s, random_actions(k, num))[0], state, steps)


def jit_env_configs(num: int) -> dict[str, Callable[[int], tuple[Runner, float]]]:
    base = jit_env.make("CartPole-v1")
    configs: dict[str, Callable[[int], tuple[Runner, float]]] = {}
    for strategy in ("complete", "optimistic", "precomputed"):
        env = wrappers.VmapAutoReset(base, strategy=strategy)
        configs[strategy] = lambda steps, env=env: jit_env_runner(env, num, steps, batched_keys=True)
    configs["wrap"] = lambda steps: jit_env_runner(wrappers.wrap(base, num_envs=num), num, steps, False)
    configs["tile(autoreset)"] = lambda steps: jit_env_runner(
        wrappers.Tile(wrappers.AutoReset(base), num), num, steps, False)
    return configs


def sharded(num: int, steps: int) -> tuple[Runner, float]:
    devices = jax.device_count()
    mesh = jax.make_mesh((devices,), ("envs",))
    env = wrappers.Shard(wrappers.TileAutoReset(jit_env.make("CartPole-v1"), num // devices),
                         mesh=mesh, axis_name="envs")
    return jit_env_runner(env, num, steps, batched_keys=False)


def gymnasium_vector(num: int, steps: int) -> tuple[Runner, float]:
    import gymnasium

    env = gymnasium.make_vec("CartPole-v1", num_envs=num, vectorization_mode="vector_entry_point")
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def runner() -> float:
        actions = rng.integers(0, 2, size=(steps, num))
        start = time.perf_counter()
        for t in range(steps):
            env.step(actions[t])
        return time.perf_counter() - start

    return runner, 0.0


class Child:
    """A `shard` configuration in a subprocess with its own device count, driven by stdin."""

    def __init__(self, devices: int, num: int, steps: int):
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--child", str(num), "--steps", str(steps)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.ready = self._read()

    def _read(self) -> dict[str, float]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"child failed (exit {self.proc.wait()})")
        result: dict[str, float] = json.loads(line)
        return result

    def __call__(self) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.write("run\n")
        self.proc.stdin.flush()
        return self._read()["seconds"]

    def close(self) -> float:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        rss = self._read()["peak_rss_mib"]
        self.proc.wait()
        return rss


def child_main(num: int, steps: int) -> None:
    runner, compile_s = sharded(num, steps)
    print(json.dumps({"compile_s": compile_s}), flush=True)
    for _ in sys.stdin:
        print(json.dumps({"seconds": runner()}), flush=True)
    print(json.dumps({"peak_rss_mib": peak_rss_mib()}), flush=True)


def measure(num: int, steps: int, rounds: int, skip: set[str]) -> list[tuple[str, float, float, float]]:
    makers: dict[str, Callable[[int], tuple[Runner, float]]] = {
        "floor": lambda s: floor(num, s),
        "rng floor": lambda s: rng_floor(num, s),
        "gymnax": lambda s: gymnax_cartpole(num, s),
        "gymnasium": lambda s: gymnasium_vector(num, max(1, s // 4)),
        **jit_env_configs(num),
    }
    runners: dict[str, Runner] = {}
    info: dict[str, tuple[float, float]] = {}
    children: dict[str, Child] = {}
    for name, make in makers.items():
        if name in skip:
            continue
        try:
            runners[name], compile_s = make(steps)
        except ImportError as e:
            print(f"  skipped {name}: {e} (pip install gymnax gymnasium)", file=sys.stderr)
            continue
        info[name] = (compile_s, peak_rss_mib())
    for devices in DEVICE_COUNTS:
        name = f"shard {devices}D"
        if name in skip or num % devices:
            continue
        children[name] = runners[name] = Child(devices, num, steps)
        info[name] = (children[name].ready["compile_s"], 0.0)
    steps_of = {name: max(1, steps // 4) if name == "gymnasium" else steps for name in runners}
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(rounds):
        for name, runner in runners.items():
            times[name].append(runner())
    for name, child in children.items():
        info[name] = (info[name][0], child.close())
    return [(name, num * steps_of[name] / statistics.median(times[name]), *info[name]) for name in runners]


def hlo_report(num: int) -> None:
    """Where the time goes: the compiled single step of each jit_env configuration."""
    base = jit_env.make("CartPole-v1")
    envs: dict[str, tuple[Any, bool]] = {
        "tile (no reset)": (wrappers.Tile(base, num), False),
        "complete": (wrappers.VmapAutoReset(base), True),
        "optimistic": (wrappers.VmapAutoReset(base, strategy="optimistic"), True),
        "precomputed": (wrappers.VmapAutoReset(base, strategy="precomputed"), True),
        "tile complete": (wrappers.TileAutoReset(base, num), False),
        "wrap": (wrappers.wrap(base, num_envs=num), False),
        "wrap no stats": (wrappers.wrap(base, num_envs=num, episode_statistics=False), False),
        "tile(autoreset)": (wrappers.Tile(wrappers.AutoReset(base), num), False),
    }
    ops = ("fusion", "conditional", "gather", "scatter", "sort", "while", "rng-bit-generator")
    print(f"Compiled step, N={num}: HLO instruction counts, cost analysis (per step), state size")
    print(f"| configuration | instrs | {' | '.join(ops)} | flops | bytes accessed | state bytes |")
    print("|" + "---|" * (len(ops) + 5))
    for name, (env, batched) in envs.items():
        key = jax.random.split(jax.random.key(0), num) if batched else jax.random.key(0)
        state, _ = jax.jit(env.reset)(key)
        action = jnp.zeros((num,), jnp.int32)
        compiled = jax.jit(env.step).lower(state, action).compile()
        text = compiled.as_text()
        lines = [ln for ln in text.splitlines() if " = " in ln]
        counts = [sum(f" {op}(" in ln for ln in lines) for op in ops]
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        state_bytes = sum(x.nbytes for x in jax.tree_util.tree_leaves(state, is_leaf=None) if
                          not jnp.issubdtype(x.dtype, jax.dtypes.prng_key)) + sum(
            jax.random.key_data(x).nbytes for x in jax.tree_util.tree_leaves(state)
            if jnp.issubdtype(x.dtype, jax.dtypes.prng_key))
        print(f"| {name} | {len(lines)} | {' | '.join(map(str, counts))} | {cost.get('flops', 0):,.0f} | "
              f"{cost.get('bytes accessed', 0):,.0f} | {state_bytes:,} |", flush=True)


def profile_report(num: int, steps: int, names: list[str], top: int) -> None:
    """Where the time goes: XLA:CPU thunks by total time, from a `jax.profiler` trace.

    Each configuration runs 3 times under the profiler (which adds a fixed cost per
    thunk, so small ops look larger than they are); events are summed by name.
    """
    import collections
    import glob
    import gzip
    import tempfile

    makers = {"floor": lambda s: floor(num, s), "rng floor": lambda s: rng_floor(num, s), **jit_env_configs(num)}
    for name in names or ["floor", "complete", "precomputed"]:
        runner, _ = makers[name](steps)
        runner()
        with tempfile.TemporaryDirectory() as tmp:
            with jax.profiler.trace(tmp, create_perfetto_trace=True):
                for _ in range(3):
                    runner()
            (path,) = glob.glob(f"{tmp}/**/*.trace.json.gz", recursive=True)
            with gzip.open(path) as f:
                events = json.load(f)["traceEvents"]
        # Self time: an op's duration less that of the ops nested in it (a `while`
        # or `cond` thunk contains its body's thunks), per thread.
        total: collections.Counter[str] = collections.Counter()
        calls: collections.Counter[str] = collections.Counter()
        spans = sorted(
            (e for e in events if e.get("ph") == "X" and not e["name"].startswith(("$", "end: "))),
            key=lambda e: (e.get("pid"), e.get("tid"), e["ts"], -e.get("dur", 0)))
        stack: list[tuple[Any, float, str]] = []  # (thread, end time, name)
        for event in spans:
            thread, start, dur = (event.get("pid"), event.get("tid")), event["ts"], event.get("dur", 0)
            while stack and (stack[-1][0] != thread or stack[-1][1] <= start):
                stack.pop()
            if stack:
                total[stack[-1][2]] -= dur
            total[event["name"]] += dur
            calls[event["name"]] += 1
            stack.append((thread, start + dur, event["name"]))
        for op in [op for op in total if op.startswith(("ThunkExecutor", "PjRt", "PjitFunction"))]:
            del total[op]
        whole = sum(total.values())
        print(f"\n{name}, N={num}, {steps} steps: thunk time per step, top {top} of {len(total)} "
              f"(under the profiler)")
        for op, micros in total.most_common(top):
            print(f"  {micros / 3 / steps:8.2f} us  {100 * micros / whole:5.1f}%  "
                  f"{calls[op] / 3 / steps:5.1f} calls  {op}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--quick", action="store_true", help="N = 64, 1024; 100 steps; 3 rounds")
    parser.add_argument("--skip", nargs="*", default=[], help="configuration names to leave out")
    parser.add_argument("--hlo", type=int, metavar="N", help="print HLO statistics of one step at N instead")
    parser.add_argument("--profile", type=int, metavar="N",
                        help="print where each configuration's time goes at N instead (with --only)")
    parser.add_argument("--only", nargs="*", default=[], help="configurations for --profile")
    parser.add_argument("--top", type=int, default=10, help="thunks listed per configuration by --profile")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hlo:
        hlo_report(args.hlo)
        return
    if args.profile:
        profile_report(args.profile, args.steps or 100, args.only, args.top)
        return
    steps = args.steps or (100 if args.quick else 500)
    if args.child is not None:
        child_main(args.child, steps)
        return
    sizes = args.sizes or ([64, 1024] if args.quick else [64, 1024, 4096, 16384])
    rounds = args.rounds or (3 if args.quick else 7)
    print(f"CartPole-v1, random actions, {steps} steps per run (gymnasium: {max(1, steps // 4)}), "
          f"median of {rounds} interleaved rounds; jax {jax.__version__}, backend "
          f"{jax.default_backend()}, {os.cpu_count()} CPUs")
    header = (f"| {'N':>5} | {'configuration':<16} | {'steps/s':>12} | {'/floor':>6} | {'/rng floor':>10} | "
              f"{'/gymnax':>7} | {'compile s':>9} | {'peak RSS MiB':>12} |")
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for num in sizes:
        rows = measure(num, steps, rounds, set(args.skip))
        rate = {name: r for name, r, _, _ in rows}
        for name, r, compile_s, rss in rows:
            vs_floor = f"{r / rate['floor']:.2f}" if "floor" in rate else "-"
            vs_rng = f"{r / rate['rng floor']:.2f}" if "rng floor" in rate else "-"
            vs_gymnax = f"{r / rate['gymnax']:.2f}" if "gymnax" in rate else "-"
            print(f"| {num:>5} | {name:<16} | {r:>12,.0f} | {vs_floor:>6} | {vs_rng:>10} | {vs_gymnax:>7} | "
                  f"{compile_s:>9.1f} | {rss:>12.0f} |", flush=True)


if __name__ == "__main__":
    main()
