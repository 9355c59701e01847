"""How much of a vector step `ToGymnasiumVector.step_async` hides behind the caller's own work.

    python benchmarks/async_overlap.py                    # N = 1024, 4096, 16384 (a few minutes)
    python benchmarks/async_overlap.py --sizes 4096 --rounds 51
    python benchmarks/async_overlap.py --env Acrobot-v1      # more compute per step

For each N, `compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), N)` (or `--env`; NEXT_STEP
auto-reset inside the step, random actions) runs two loops of `--iters`
iterations (a block), each iteration one step and one piece of caller work:

* sync: ``env.step(actions)`` then ``work()``;
* async: ``env.step_async(actions)``, ``work()``, then ``env.step_wait()``.

The work is NumPy arithmetic on the caller's thread (in-place ``sin`` over a
float64 buffer: single-threaded, unlike a BLAS matmul), sized to last about one
step: the benchmark first times `env.step` and the work at a base size (medians),
then scales the buffer so the work's median matches the step's. The two loops
take turns in `--rounds` rounds of one block each (short blocks, the order
alternating, so a loaded machine's slow stretches hit both alike); the
speedup is the median sync block over the median async block ("paired
rounds": the median of each round's own ratio). The ideal is 2x (step and
work fully overlapped, each as long as the other); 1x means no overlap.

Also printed per N: the step (`env.step`, fetch included), `step_async` alone
(the dispatch: what the Python thread pays before it can work), how long
`step_wait` blocks right after `step_async` (the step's compute and the fetch)
and after the work (the fetch alone, where the step ran during the work), and
the work. A `step_async` far shorter than the step, and a `step_wait` that
blocks less after the work, show that XLA:CPU runs the step on its own
threads while Python works (JAX's asynchronous dispatch, on by default
on the CPU: `jax_cpu_enable_async_dispatch`; `--sync-dispatch` turns it off as
a control, and then nothing overlaps). XLA:CPU and NumPy then compete
for the cores: on a machine with fewer free cores than the two need, the
overlap shrinks.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

import jit_env
from jit_env import compat

ENV_ID = "CartPole-v1"
TARGET = 1.3  # async loop speedup over the sync loop
BASE_WORK = 1 << 14  # float64 elements in the calibration buffer


def _work_fn(size: int) -> Callable[[], None]:
    buf = np.linspace(0.0, 1.0, size)

    def work() -> None:
        np.sin(buf, out=buf)

    return work


def _median_seconds(fn: Callable[[], Any], calls: int) -> float:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _calibrated_work(step_seconds: float, calls: int) -> tuple[Callable[[], None], int]:
    """NumPy work lasting about `step_seconds` (its buffer size scaled from a base size)."""
    base = _median_seconds(_work_fn(BASE_WORK), calls)
    size = max(1, round(BASE_WORK * step_seconds / base))
    return _work_fn(size), size


def _sync_loop(env: Any, actions: list[np.ndarray], work: Callable[[], None]) -> float:
    start = time.perf_counter()
    for a in actions:
        env.step(a)
        work()
    return time.perf_counter() - start


def _async_loop(env: Any, actions: list[np.ndarray], work: Callable[[], None]) -> float:
    start = time.perf_counter()
    for a in actions:
        env.step_async(a)
        work()
        env.step_wait()
    return time.perf_counter() - start


def measure(env_id: str, num: int, rounds: int, iters: int, calls: int) -> dict[str, float]:
    """One N: the step, dispatch and work times (µs) and the async loop's speedup."""
    env = compat.ToGymnasiumVector(jit_env.make(env_id), num, seed=0)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 2, num).astype(np.int64) for _ in range(iters)]
    cycle = iter(actions * (calls * 4 // iters + 2))
    for _ in range(20):  # Compile and warm up.
        env.step(next(cycle))
    step = _median_seconds(lambda: env.step(next(cycle)), calls)

    def dispatch_only() -> None:
        env.step_async(next(cycle))

    dispatch = []
    for _ in range(calls):
        dispatch.append(_median_seconds(dispatch_only, 1))
        env.step_wait()
    work, size = _calibrated_work(step, calls)
    work_time = _median_seconds(work, calls)
    # How long step_wait blocks, right after step_async and after the work:
    # the step's compute shows in the first and, where it overlapped, not in the second.
    wait_now, wait_after = [], []
    for _ in range(calls):
        env.step_async(next(cycle))
        wait_now.append(_median_seconds(env.step_wait, 1))
        env.step_async(next(cycle))
        work()
        wait_after.append(_median_seconds(env.step_wait, 1))
    _sync_loop(env, actions, work)
    _async_loop(env, actions, work)
    ratios, sync_t, async_t = [], [], []
    for r in range(rounds):
        if r % 2:
            a = _async_loop(env, actions, work)
            s = _sync_loop(env, actions, work)
        else:
            s = _sync_loop(env, actions, work)
            a = _async_loop(env, actions, work)
        sync_t.append(s)
        async_t.append(a)
        ratios.append(s / a)
    env.close()
    return {
        "step_us": step * 1e6,
        "dispatch_us": statistics.median(dispatch) * 1e6,
        "work_us": work_time * 1e6,
        "wait_now_us": statistics.median(wait_now) * 1e6,
        "wait_after_us": statistics.median(wait_after) * 1e6,
        "work_elements": float(size),
        "sync_us": statistics.median(sync_t) / iters * 1e6,
        "async_us": statistics.median(async_t) / iters * 1e6,
        "speedup": statistics.median(sync_t) / statistics.median(async_t),
        "paired": statistics.median(ratios),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096, 16384], help="vector env sizes N")
    parser.add_argument("--rounds", type=int, default=101, help="interleaved rounds (one block per loop) per N")
    parser.add_argument("--iters", type=int, default=10, help="iterations (step + work) per block")
    parser.add_argument("--calls", type=int, default=200, help="calls timed for each median of the calibration")
    parser.add_argument("--env", default=ENV_ID, help="a jit_env.make id (Acrobot-v1: more compute per step)")
    parser.add_argument("--sync-dispatch", action="store_true",
                        help="control: jax_cpu_enable_async_dispatch=False (each call runs the step before returning)")
    args = parser.parse_args()
    if args.sync_dispatch:
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    load = os.getloadavg()[0]
    print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} CPUs, load average {load:.1f}"
          f"{' (loaded)' if load > (os.cpu_count() or 1) else ''}; async dispatch "
          f"{'off (control)' if args.sync_dispatch else 'on'}")
    print(f"{args.env}, ToGymnasiumVector NEXT_STEP; {args.rounds} interleaved rounds x {args.iters} iterations, "
          "medians; work: NumPy sized to one step")
    print("| N | step (µs) | step_async alone (µs) | step_wait at once (µs) | step_wait after work (µs) "
          "| work (µs) | sync loop (µs/iter) | async loop (µs/iter) | speedup | paired rounds | target |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for num in args.sizes:
        m = measure(args.env, num, args.rounds, args.iters, args.calls)
        verdict = "pass" if m["speedup"] >= TARGET else "MISS"
        print(f"| {num} | {m['step_us']:.0f} | {m['dispatch_us']:.0f} | {m['wait_now_us']:.0f} "
              f"| {m['wait_after_us']:.0f} | {m['work_us']:.0f} | {m['sync_us']:.0f} "
              f"| {m['async_us']:.0f} | {m['speedup']:.2f}x | {m['paired']:.2f}x | >= {TARGET}x {verdict} |",
              flush=True)


if __name__ == "__main__":
    main()
