"""The hub's adapters beside their libraries: what does adapting cost?

For one id per library in the catalogue (each adapter module's `BENCHMARK_ID`),
two jitted programs do the same work: N environments reset, then a `lax.scan`
of `--steps` vmapped steps with random actions drawn from the same keys.

* adapter: the adapted jit_env environment, ``jax.vmap(env.reset)`` then
  ``jax.vmap(env.step)``. Built by ``jit_env.make(id, max_episode_steps=None)``:
  no time limit, no auto-reset; its state carries one key chain per
  environment (``reset`` splits it once, ``step`` splits it where the
  library's step draws from a key).
* library: the module's `native(env)` (the library's own raw ``reset`` and
  ``step``, no auto-reset either), with the same key work: one key chain per
  environment, split once before the library's reset and, where the library's
  step takes a key (Craftax, Pgx, gymnax's random environments), once per
  step, as the adapter does. Where the step reads no key, neither side splits.

Only the final states leave the programs, so on both sides XLA removes what
feeds nothing carried (an observation a library computes apart from its state,
the adapter's time step): the benchmark times stepping the state.

Compile time: each program is lowered and compiled `--compile-rounds` times
from fresh functions (never a cached executable), in alternating order, after
one uncounted warm-up lowering of each (the libraries' inner `jax.jit`
functions trace once per process); tracing+lowering and XLA compilation are
timed apart. Throughput: each measurement runs the compiled program enough
times to last `--min-time` seconds; the two programs alternate in `--rounds`
rounds (AB, then BA, ...), so machine noise hits both alike; each round gives
a ratio, and the table reports the median ratio and its spread (min-max) over
rounds. Every time is taken twice: wall-clock and the process's CPU time
(`time.process_time`, all its threads); on a shared, loaded machine the CPU
time is the steadier of the two, since waiting for a core does not count.
Ratios are adapter / library throughput and adapter / library compile
seconds: 1.0 means the adapter adds nothing. Libraries that are not
installed are skipped, saying so.

    python benchmarks/hub.py [--libraries gymnax brax] [--sizes 64 1024] [--steps 100]
                             [--rounds 15] [--compile-rounds 3] [--json out.jsonl]
    python benchmarks/hub.py --profile --libraries brax --sizes 64   # compiled programs compared
"""

from __future__ import annotations

import argparse
import collections
import importlib
import json
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

import jit_env
from jit_env import adapters, specs

Program = Callable[[jax.Array], Any]


def _sample(spec: specs.Spec[Any], key: jax.Array, num: int) -> Any:
    """`num` random actions inside `spec` (uniform over its bounds or values)."""
    leaves = specs.unpack_spec(spec)
    flat, treedef = jax.tree_util.tree_flatten(leaves, is_leaf=lambda x: isinstance(x, specs.Spec))
    keys = jax.random.split(key, len(flat))
    out = []
    for leaf, leaf_key in zip(flat, keys, strict=True):
        shape = (num, *leaf.shape)
        if isinstance(leaf, specs.DiscreteArray):
            out.append(jax.random.randint(leaf_key, shape, 0, leaf.num_values).astype(leaf.dtype))
        elif np.issubdtype(leaf.dtype, np.integer) and isinstance(leaf, specs.BoundedArray):
            out.append(jax.random.randint(leaf_key, shape, np.min(leaf.minimum),
                                          np.max(leaf.maximum) + 1).astype(leaf.dtype))
        elif isinstance(leaf, specs.BoundedArray):
            low = np.maximum(np.broadcast_to(leaf.minimum, leaf.shape), -1e3).astype(leaf.dtype)
            high = np.minimum(np.broadcast_to(leaf.maximum, leaf.shape), 1e3).astype(leaf.dtype)
            out.append(jax.random.uniform(leaf_key, shape, leaf.dtype, low, high))
        else:
            out.append(jax.random.normal(leaf_key, shape, leaf.dtype))
    return jax.tree_util.tree_unflatten(treedef, out)


def _step_reads_key(step_fn: Callable[..., Any], reset_fn: Callable[[jax.Array], Any],
                    spec: specs.Spec[Any]) -> bool:
    """Whether the library's `step_fn(state, action, key)` uses its key (from its jaxpr)."""
    key = jax.random.key(0)
    state = jax.eval_shape(reset_fn, key)
    action = jax.eval_shape(lambda k: jax.tree_util.tree_map(lambda a: a[0], _sample(spec, k, 1)), key)
    closed = jax.make_jaxpr(step_fn)(state, action, key)
    key_var = closed.jaxpr.invars[-1]
    return any(v is key_var for eqn in closed.jaxpr.eqns for v in eqn.invars) or any(
        v is key_var for v in closed.jaxpr.outvars)


def _programs(env: jit_env.Environment[Any, Any, Any], native: tuple[Callable[..., Any], Callable[..., Any]],
              num: int, steps: int) -> tuple[Program, Program]:
    """The adapter's program and the library's, doing the same work (see the module docstring)."""
    reset_fn, step_fn = native
    spec = env.action_spec()
    step_key = _step_reads_key(step_fn, reset_fn, spec)

    def adapted(key: jax.Array) -> Any:
        state, _ = jax.vmap(env.reset)(jax.random.split(key, num))

        def body(state: Any, actions_key: jax.Array) -> tuple[Any, None]:
            state, _ = jax.vmap(env.step)(state, _sample(spec, actions_key, num))
            return state, None

        return jax.lax.scan(body, state, jax.random.split(jax.random.fold_in(key, 1), steps))[0]

    def split(chain: jax.Array) -> tuple[jax.Array, jax.Array]:  # `key, sub = split(key)`, vmapped.
        pairs = jax.vmap(jax.random.split)(chain)
        return pairs[:, 0], pairs[:, 1]

    def library(key: jax.Array) -> Any:
        chain, reset_keys = split(jax.random.split(key, num))
        state = jax.vmap(reset_fn)(reset_keys)

        def body(carry: tuple[Any, jax.Array], actions_key: jax.Array) -> tuple[Any, None]:
            state, chain = carry
            if step_key:  # As the adapter's step splits its chain.
                chain, keys = split(chain)
            else:  # Unused by the library's step (XLA drops them); the chain is carried as is.
                keys = chain
            return (jax.vmap(step_fn)(state, _sample(spec, actions_key, num), keys), chain), None

        return jax.lax.scan(body, (state, chain), jax.random.split(jax.random.fold_in(key, 1), steps))[0]

    return adapted, library


def _compile(fn: Program, key: jax.Array) -> tuple[Any, dict[str, float]]:
    """`fn` jitted, lowered and compiled afresh, and the wall and process CPU seconds of each stage."""
    wall, cpu = time.perf_counter(), time.process_time()
    lowered = jax.jit(fn).lower(key)
    wall_lowered, cpu_lowered = time.perf_counter(), time.process_time()
    compiled = lowered.compile()
    return compiled, {"lower": wall_lowered - wall, "compile": time.perf_counter() - wall_lowered,
                      "lower_cpu": cpu_lowered - cpu, "compile_cpu": time.process_time() - cpu_lowered}


def _time(compiled: Any, key: jax.Array, repeats: int) -> tuple[float, float]:
    """Wall and process CPU seconds per call of `compiled`, over `repeats` calls."""
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        jax.block_until_ready(compiled(key))
    return (time.perf_counter() - start) / repeats, (time.process_time() - cpu) / repeats


_OPCODE = re.compile(r"^\s*(?:ROOT )?%\S+ = .*?\s([a-z][a-z0-9\-]*)\(", re.M)


def _statistics(compiled: Any) -> dict[str, int]:
    """Instruction counts of a compiled (optimised HLO) program, the ones that tell work apart."""
    text = compiled.as_text()
    ops = collections.Counter(_OPCODE.findall(text))
    keep = ("fusion", "copy", "convert", "while", "conditional", "select", "dynamic-update-slice",
            "custom-call", "sort", "scatter", "gather")
    return {"instructions": sum(ops.values()), **{op: ops[op] for op in keep}}


_NOISE = (re.compile(r", metadata=\{[^}]*\}"), re.compile(r"(%[\w\-]+?)(?:\.\d+)+\b"), re.compile(r"/\*index=\d+\*/"),
          re.compile(r"\.clone(?:\.\d+)?"), re.compile(r", (?:frontend_attributes|backend_config)=\{[^}]*\}"))


def _lines(compiled: Any) -> collections.Counter[str]:
    """A compiled program's instructions with names, metadata and numbering removed."""
    lines = collections.Counter()
    for line in compiled.as_text().splitlines():
        if " = " not in line:
            continue
        for pattern in _NOISE:
            line = pattern.sub(lambda m: m.group(1) if m.re.groups else "", line)
        lines[line.strip()] += 1
    return lines


def _profile(env_id: str, num: int, adapted: Any, own: Any) -> None:
    for name, compiled in (("adapter", adapted), ("library", own)):
        stats = " ".join(f"{k}={v}" for k, v in _statistics(compiled).items())
        cost = compiled.cost_analysis()
        cost = cost[0] if isinstance(cost, list) else cost
        flops = cost.get("flops", float("nan")) if cost else float("nan")
        moved = cost.get("bytes accessed", float("nan")) if cost else float("nan")
        print(f"  {env_id} N={num} {name}: {stats} flops={flops:,.0f} bytes={moved:,.0f}", flush=True)
    adapter_lines, library_lines = _lines(adapted), _lines(own)
    only_adapter, only_library = adapter_lines - library_lines, library_lines - adapter_lines
    print(f"  {env_id} N={num}: {sum(only_adapter.values())} instructions only in the adapter's program, "
          f"{sum(only_library.values())} only in the library's (names and metadata ignored)", flush=True)
    for label, extra in (("adapter", only_adapter), ("library", only_library)):
        for line, count in extra.most_common(8):
            print(f"    only {label} x{count}: {line[:200]}")


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def _measure(env_id: str, env: Any, module: Any, num: int, args: argparse.Namespace,
             key: jax.Array) -> dict[str, Any]:
    def build(which: int) -> Program:
        return _programs(env, module.native(env), num, args.steps)[which]

    for which in (0, 1):  # Warm-up, not counted: the libraries' inner `jax.jit` traces are cached.
        jax.jit(build(which)).lower(key)
    compiled: list[Any] = [None, None]
    stages: list[list[dict[str, float]]] = [[], []]
    for round_index in range(args.compile_rounds):
        for which in ((0, 1) if round_index % 2 == 0 else (1, 0)):
            compiled[which], seconds = _compile(build(which), key)
            stages[which].append(seconds)

    def total(which: int, index: int, suffix: str) -> float:
        return stages[which][index]["lower" + suffix] + stages[which][index]["compile" + suffix]

    compile_ratios = [total(0, i, "") / total(1, i, "") for i in range(args.compile_rounds)]
    compile_cpu_ratios = [total(0, i, "_cpu") / total(1, i, "_cpu") for i in range(args.compile_rounds)]

    def median(which: int, stage: str) -> float:
        return statistics.median(s[stage] for s in stages[which])

    if args.profile:
        _profile(env_id, num, *compiled)
    once = [_time(c, key, 1)[0] for c in compiled]  # Warm-up, and the calls per measurement.
    repeats = [max(1, int(np.ceil(args.min_time / max(t, 1e-6)))) for t in once]
    seconds: list[list[float]] = [[], []]
    cpu_seconds: list[list[float]] = [[], []]
    for round_index in range(args.rounds):
        round_key = jax.random.fold_in(key, round_index)
        for which in ((0, 1) if round_index % 2 == 0 else (1, 0)):
            wall, cpu = _time(compiled[which], round_key, repeats[which])
            seconds[which].append(wall)
            cpu_seconds[which].append(cpu)
    ratios = [own / adapted for adapted, own in zip(*seconds, strict=True)]
    cpu_ratios = [own / adapted for adapted, own in zip(*cpu_seconds, strict=True)]
    record = {
        "id": env_id, "N": num, "steps": args.steps,
        "adapter_sps": num * args.steps / statistics.median(seconds[0]),
        "library_sps": num * args.steps / statistics.median(seconds[1]),
        "ratios": ratios, "cpu_ratios": cpu_ratios,
        "adapter_compile": stages[0], "library_compile": stages[1],
        "compile_ratios": compile_ratios, "compile_cpu_ratios": compile_cpu_ratios,
    }
    print(f"{env_id:34} {num:>5} {record['adapter_sps']:>12,.0f} {record['library_sps']:>12,.0f} "
          f"{_spread(ratios):>17} {_spread(cpu_ratios):>17}   "
          f"{median(0, 'lower_cpu'):5.2f}+{median(0, 'compile_cpu'):<6.2f}/ "
          f"{median(1, 'lower_cpu'):5.2f}+{median(1, 'compile_cpu'):<6.2f} "
          f"{_spread(compile_ratios):>17} {_spread(compile_cpu_ratios):>17}", flush=True)
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libraries", nargs="+", default=list(adapters.LIBRARIES),
                        help="catalogue prefixes (default: every library)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 1024])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved throughput rounds")
    parser.add_argument("--min-time", type=float, default=0.3,
                        help="seconds each throughput measurement lasts at least")
    parser.add_argument("--compile-rounds", type=int, default=3)
    parser.add_argument("--json", help="append one JSON line per (id, N) to this file")
    parser.add_argument("--profile", action="store_true",
                        help="print instruction counts and XLA's cost analysis of both programs")
    args = parser.parse_args()

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {args.steps} steps; "
          f"{args.rounds} interleaved rounds of >= {args.min_time} s; {args.compile_rounds} compiles")
    print(f"{'id':34} {'N':>5} {'adapter sps':>12} {'library sps':>12} {'ratio (min-max)':>17} "
          f"{'cpu-time ratio':>17}   {'lower+compile cpu s adapter / library':>37} "
          f"{'compile ratio':>17} {'cpu-time ratio':>17}")
    key = jax.random.key(0)
    for prefix in args.libraries:
        library = adapters.LIBRARIES[prefix]
        if not adapters.installed(prefix):
            print(f'{prefix}: skipped, not installed (pip install "jit_env[{library.extra}]")')
            continue
        module = importlib.import_module(library.module)
        env_id = f"{prefix}/{module.BENCHMARK_ID}"
        env = jit_env.make(env_id, max_episode_steps=None)
        for num in args.sizes:
            record = _measure(env_id, env, module, num, args, key)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
