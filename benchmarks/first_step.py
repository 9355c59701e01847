"""Time to first step, cold (empty compilation cache) and warm (cache filled), in fresh processes.

    python benchmarks/first_step.py                       # CartPole-v1 and gymnax/Breakout-MinAtar, 3 rounds each
    python benchmarks/first_step.py --envs CartPole-v1 --repeats 5 --num-envs 1024

Each measurement is a new Python process that imports jit_env, turns on the persistent
compilation cache (`jit_env.utils.enable_compilation_cache`) in a given directory, and runs
the first step of `jit-env run ID --num-envs N` (`run(..., steps=1, chunk=1)`: make, wrap,
reset, compile, one batched step, its statistics read back). The time runs from just before
the process is started to the moment its first step's result is on the host (the child
prints `time.time()` then), so it includes interpreter start-up and imports, as a user
waits for them. "Cold" uses a new, empty cache directory; "warm" runs again on the
directory the cold run just filled. A third process only imports and makes the environment
(`jit_env.make(ID)`, which imports its library): the floor no cache can lower. Cold, warm
and floor alternate, round by round, so a change in the machine's load hits all three; the
table shows the medians, the median of the per-round ratios cold / warm, and what the first
step costs beyond the imports, cold and warm.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

CHILD = """
import io, sys, time
import jit_env
from jit_env import __main__ as cli

jit_env.utils.enable_compilation_cache(sys.argv[1])
if sys.argv[4] == "step":
    cli.run(sys.argv[2], num_envs=int(sys.argv[3]), steps=1, chunk=1, progress=False, out=io.StringIO())
else:  # The floor: imports and `make` (which imports the environment's library), nothing compiled.
    jit_env.make(sys.argv[2])
print(time.time())
"""


def first_step(env_id: str, num_envs: int, cache_dir: str, what: str = "step") -> float:
    """Seconds from starting a fresh process to its first step's result (`what="step"`).

    With `what="imports"`: to the end of ``jit_env.make(env_id)``, what no cache can save.
    """
    env = {**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")}
    start = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, cache_dir, env_id, str(num_envs), what], env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the child process failed:\n{done.stdout}\n{done.stderr}")
    return float(done.stdout.split()[-1]) - start


def measure(env_id: str, num_envs: int, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """`repeats` (cold, warm, imports) triples, each on a new cache directory."""
    cold, warm, floor = [], [], []
    for i in range(repeats):
        with tempfile.TemporaryDirectory(prefix="jit_env-first-step-") as cache_dir:
            cold.append(first_step(env_id, num_envs, cache_dir))
            warm.append(first_step(env_id, num_envs, cache_dir))
            floor.append(first_step(env_id, num_envs, cache_dir, what="imports"))
        print(f"  {env_id} round {i + 1}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s, imports and make "
              f"{floor[-1]:.2f} s", file=sys.stderr)
    return cold, warm, floor


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="CartPole-v1,gymnax/Breakout-MinAtar",
                        help="comma-separated registered ids (default CartPole-v1,gymnax/Breakout-MinAtar)")
    parser.add_argument("--num-envs", type=int, default=1024, help="batch size N (1024)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (cold, warm, imports) per environment (3)")
    args = parser.parse_args(argv)
    rows = []
    for env_id in args.envs.split(","):
        cold, warm, floor = measure(env_id, args.num_envs, args.repeats)
        ratios = [c / w for c, w in zip(cold, warm, strict=True)]
        # What compiling costs on top of the imports, cold and warm (per round, then the median).
        compile_cold = statistics.median(c - f for c, f in zip(cold, floor, strict=True))
        compile_warm = statistics.median(w - f for w, f in zip(warm, floor, strict=True))
        rows.append((env_id, statistics.median(cold), statistics.median(warm), statistics.median(ratios),
                     min(ratios), max(ratios), statistics.median(floor), compile_cold, compile_warm))
    print(f"time to first step, N = {args.num_envs}, {args.repeats} rounds of cold, warm, imports per "
          f"environment (medians; ratio = cold / warm per round)")
    print("| environment | cold (s) | warm (s) | cold / warm (median, min-max) | imports + make (s) "
          "| beyond imports, cold (s) | beyond imports, warm (s) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for env_id, cold_s, warm_s, ratio, low, high, floor_s, beyond_cold, beyond_warm in rows:
        print(f"| {env_id} | {cold_s:.1f} | {warm_s:.1f} | {ratio:.1f}x ({low:.1f}-{high:.1f}) | {floor_s:.1f} "
              f"| {beyond_cold:.1f} | {beyond_warm:.1f} |")


if __name__ == "__main__":
    main()
