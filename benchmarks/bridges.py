"""Bridge overheads as ratios: run `python benchmarks/bridges.py [--functional-jax]`.

* dm_env / Gymnasium bridge step vs. the jitted step plus one `jax.device_get`
  of its outputs (median over many steps; target <= 1.25).
* Vector bridge throughput at N in {16, 256, 4096} vs. Gymnasium's NumPy
  CartPoleVectorEnv (ratio > 1: we are faster), both with random actions and
  Gymnasium's NEXT_STEP autoreset; they take turns in rounds of 100 steps and
  the median round ratio is printed.
* With `--functional-jax`, also vs. Gymnasium's FunctionalJaxVectorEnv
  (`CartPoleJaxVectorEnv`), in the same rounds. It is opt-in because that env
  dispatches many small JAX ops per step, from Python: its column alone took
  tens of minutes on a loaded 2-core machine, where the default run takes a
  few minutes.

Per-call costs against gymnax and a hand-written step, and the bridges' memory
over 10^5 steps, are in `benchmarks/per_call.py`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import numpy as np
from gymnasium.envs.phys2d import cartpole as jax_cartpole

import jit_env
from jit_env import compat


def _median_step_time(fn: Callable[[int], Any], steps: int) -> float:
    times = []
    for i in range(steps):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def single_ratios(steps: int = 3000) -> dict[str, float]:
    env = jit_env.make("CartPole-v1")
    step = jax.jit(env.step)
    state, _ = jax.jit(env.reset)(jax.random.key(0))
    actions = [np.int32(i % 2) for i in range(steps)]
    holder = [state]

    def baseline(i: int) -> None:
        holder[0], ts = step(holder[0], actions[i])
        jax.device_get(ts)

    dm = compat.ToDeepmindEnv(env)
    dm.reset()
    gym = compat.ToGymnasium(env)
    gym.reset(seed=0)
    gym_actions = [np.int64(i % 2) for i in range(steps)]

    def dm_step(i: int) -> None:
        dm.step(actions[i])

    def gym_step(i: int) -> None:
        _, _, terminated, truncated, _ = gym.step(gym_actions[i])
        if terminated or truncated:
            gym.reset()

    for fn in (baseline, dm_step, gym_step):  # Warm up (compile).
        _median_step_time(fn, 50)
    base = _median_step_time(baseline, steps)
    return {
        "dm_env bridge / (jit step + device_get)": _median_step_time(dm_step, steps) / base,
        "Gymnasium bridge / (jit step + device_get)": _median_step_time(gym_step, steps) / base,
    }


def _time_steps(env: Any, actions: list[np.ndarray]) -> float:
    start = time.perf_counter()
    for a in actions:
        env.step(a)
    return time.perf_counter() - start


def vector_ratios(
    sizes: tuple[int, ...] = (16, 256, 4096), steps: int = 100, rounds: int = 15, functional_jax: bool = False
) -> dict[int, tuple[float, ...]]:
    """Median over `rounds` of per-round throughput ratios (reference time / ours); the envs take
    turns each round. Per N: the ratio to the NumPy env, and with `functional_jax` to that env too."""
    out = {}
    for num in sizes:
        envs = [
            compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), num),
            gymnasium.make_vec("CartPole-v1", num_envs=num, vectorization_mode="vector_entry_point"),
        ]
        if functional_jax:
            envs.append(jax_cartpole.CartPoleJaxVectorEnv(num_envs=num, max_episode_steps=500))
        rng = np.random.default_rng(0)
        actions = [rng.integers(0, 2, num) for _ in range(steps)]
        for env in envs:
            env.reset(seed=0)
            _time_steps(env, actions[:20])  # Warm up (compile).
        ratios = []
        for _ in range(rounds):
            ours, *refs = (_time_steps(env, actions) for env in envs)
            ratios.append([ref / ours for ref in refs])
        out[num] = tuple(float(np.median(column)) for column in zip(*ratios, strict=True))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functional-jax", action="store_true",
                        help="also compare with Gymnasium's FunctionalJaxVectorEnv (slow: tens of minutes)")
    args = parser.parse_args()
    print("| bridge step | ratio (lower is better, target <= 1.25) |")
    print("| --- | --- |")
    for name, ratio in single_ratios().items():
        print(f"| {name} | {ratio:.3f} |")
    print()
    columns = ["vector bridge / CartPoleVectorEnv (numpy)"]
    if args.functional_jax:
        columns.append("vector bridge / FunctionalJaxVectorEnv")
    print("| N | " + " | ".join(columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for num, ratios in vector_ratios(functional_jax=args.functional_jax).items():
        print(f"| {num} | " + " | ".join(f"{r:.2f}x" for r in ratios) + " |")


if __name__ == "__main__":
    main()
