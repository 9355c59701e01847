"""The hub's adapters beside their libraries: what does adapting cost?

For one id per library in the catalogue (each adapter module's `BENCHMARK_ID`),
two jitted programs run the same work: N environments reset, then a `lax.scan`
of `--steps` vmapped steps with random actions drawn from the same keys. One
steps the adapted jit_env environment (`jax.vmap(env.step)`), the other the
library's own functions (the module's `native(env)`: `reset_fn(key)`,
`step_fn(state, action, key)`). Neither auto-resets. Both are compiled twice
(ABBA order; the faster compile of each is reported), then run in interleaved rounds; the table gives
the median steps per second of each and their ratios (adapter / library):
throughput near 1.0 and compile time near 1.0 mean the adapter adds nothing.
Libraries that are not installed are skipped, saying so.

    python benchmarks/hub.py [--libraries gymnax brax] [--sizes 64 1024] [--steps 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

import jit_env
from jit_env import adapters, specs


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


def _programs(env: jit_env.Environment[Any, Any, Any], native: tuple[Callable[..., Any], Callable[..., Any]],
              num: int, steps: int) -> tuple[Callable[[jax.Array], Any], Callable[[jax.Array], Any]]:
    reset_fn, step_fn = native
    spec = env.action_spec()

    def adapted(key: jax.Array) -> Any:
        state, _ = jax.vmap(env.reset)(jax.random.split(key, num))

        def body(state: Any, step_key: jax.Array) -> tuple[Any, None]:
            state, _ = jax.vmap(env.step)(state, _sample(spec, step_key, num))
            return state, None

        return jax.lax.scan(body, state, jax.random.split(jax.random.fold_in(key, 1), steps))[0]

    def library(key: jax.Array) -> Any:
        state = jax.vmap(reset_fn)(jax.random.split(key, num))

        def body(state: Any, step_key: jax.Array) -> tuple[Any, None]:
            keys = jax.random.split(jax.random.fold_in(step_key, 2), num)
            return jax.vmap(step_fn)(state, _sample(spec, step_key, num), keys), None

        return jax.lax.scan(body, state, jax.random.split(jax.random.fold_in(key, 1), steps))[0]

    return adapted, library


def _compile(fn: Callable[[jax.Array], Any], key: jax.Array) -> tuple[Any, float]:
    start = time.perf_counter()
    compiled = jax.jit(fn).lower(key).compile()
    return compiled, time.perf_counter() - start


def _time(compiled: Any, key: jax.Array) -> float:
    start = time.perf_counter()
    jax.block_until_ready(compiled(key))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--libraries", nargs="+", default=list(adapters.LIBRARIES),
                        help="catalogue prefixes (default: every library)")
    parser.add_argument("--sizes", nargs="+", type=int, default=[64, 1024])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {args.steps} steps, "
          f"{args.rounds} interleaved rounds, median")
    print(f"{'id':32} {'N':>5} {'adapter sps':>12} {'library sps':>12} {'ratio':>6} "
          f"{'compile s (adapter/library)':>28} {'ratio':>6}")
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
            # Each compiled twice from fresh functions (no cache of a compiled program is
            # reused), in the order ABBA: the libraries' inner jitted functions are traced once
            # per process, so the first compile pays for that; the faster compile of each counts.
            adapted_compiled, first = _compile(_programs(env, module.native(env), num, args.steps)[0], key)
            own_compiled, own_first = _compile(_programs(env, module.native(env), num, args.steps)[1], key)
            own_compiled, own_second = _compile(_programs(env, module.native(env), num, args.steps)[1], key)
            adapted_compiled, second = _compile(_programs(env, module.native(env), num, args.steps)[0], key)
            adapted_compile, own_compile = min(first, second), min(own_first, own_second)
            _time(adapted_compiled, key), _time(own_compiled, key)  # Warm-up.
            adapted_times, own_times = [], []
            for round_index in range(args.rounds):
                round_key = jax.random.fold_in(key, round_index)
                adapted_times.append(_time(adapted_compiled, round_key))
                own_times.append(_time(own_compiled, round_key))
            adapted_sps = num * args.steps / statistics.median(adapted_times)
            own_sps = num * args.steps / statistics.median(own_times)
            print(f"{env_id:32} {num:>5} {adapted_sps:>12,.0f} {own_sps:>12,.0f} "
                  f"{adapted_sps / own_sps:>6.2f} {adapted_compile:>13.1f} / {own_compile:<12.1f} "
                  f"{adapted_compile / own_compile:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
