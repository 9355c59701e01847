"""Stable-Baselines3 PPO wall-clock: `ToSB3VecEnv` beside SB3's own vector envs, as ratios.

    python benchmarks/sb3.py                     # N = 8 and 64, 5 rounds (4 minutes or more on 2 cores)
    python benchmarks/sb3.py --sizes 8 --rounds 1 --steps 4096

Each contestant trains the same PPO (MlpPolicy 64x64, 4 epochs, one rollout of
2,048 env steps per update, CPU torch on one thread) for `--steps` env steps on
CartPole-v1:

* jit_env: ``ToSB3VecEnv(jit_env.make("CartPole-v1"), N)``, one jitted call a step;
* dummy: ``DummyVecEnv`` over N of Gymnasium's own CartPole (a Python loop);
* subproc: ``SubprocVecEnv`` over N of Gymnasium's own CartPole (worker processes),
  started by ``fork``: SB3's default (forkserver) starts each worker by importing this
  script again, torch and JAX included, about 200 MB per worker (12.7 GB of PSS for the
  64 workers at N = 64 on a 23 GB machine); forked workers share the parent's pages.
  The workers never call JAX, so JAX's warning about forking its threads is silenced.

Only `model.learn` is timed; building the env and compiling the jitted step come
first, once, and are reported apart ("setup s"), and so does one untimed warm-up
`learn` of a single rollout per contestant (first-call costs of torch, of SB3's
seeded reset and of the worker processes stay out of the rounds). The contestants take turns in rounds, so
machine noise hits all alike; a ratio is the median over rounds of
``time(contestant) / time(jit_env)`` (above 1: jit_env is faster). Absolute times
depend on the machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium
import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common import vec_env

import jit_env
from jit_env import compat

ROLLOUT = 2048  # env steps per PPO update, whatever N


def contestants(num_envs: int) -> dict[str, Callable[[], Any]]:
    return {
        "jit_env": lambda: compat.ToSB3VecEnv(jit_env.make("CartPole-v1"), num_envs, seed=0),
        "dummy": lambda: vec_env.DummyVecEnv([lambda: gymnasium.make("CartPole-v1")] * num_envs),
        "subproc": lambda: subproc(num_envs),
    }


def subproc(num_envs: int) -> vec_env.SubprocVecEnv:
    with warnings.catch_warnings():  # The forked workers only step Gymnasium's CartPole, never JAX.
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        return vec_env.SubprocVecEnv([lambda: gymnasium.make("CartPole-v1")] * num_envs, start_method="fork")


def learn_seconds(env: Any, num_envs: int, steps: int) -> float:
    model = PPO("MlpPolicy", env, n_steps=max(1, ROLLOUT // num_envs), batch_size=256, n_epochs=4,
                policy_kwargs={"net_arch": [64, 64]}, seed=0, device="cpu", verbose=0)
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 64])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=16_384)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"jit_env {jit_env.__version__}, torch {torch.__version__}, "
          f"stable-baselines3 {stable_baselines3.__version__}, gymnasium {gymnasium.__version__}, "
          f"{os.cpu_count()} CPUs, load average {load()}")
    print(f"PPO on CartPole-v1, {args.steps} env steps per run, {args.rounds} rounds; "
          "ratio = time(other) / time(jit_env), above 1 means jit_env is faster")
    print("|    N | contestant | setup s | learn s (median) | env steps/s | ratio | learn s, each round |")
    print("|------|------------|---------|------------------|-------------|-------|---------------------|")
    for num_envs in args.sizes:
        envs: dict[str, Any] = {}
        setup: dict[str, float] = {}
        for name, build in contestants(num_envs).items():
            start = time.perf_counter()
            env = envs[name] = build()
            env.reset()
            env.step([env.action_space.sample() for _ in range(num_envs)])  # compiles jit_env's step
            setup[name] = time.perf_counter() - start
            learn_seconds(env, num_envs, ROLLOUT)  # warm-up, untimed
        times: dict[str, list[float]] = {name: [] for name in envs}
        for round_ in range(args.rounds):
            names = list(envs)
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                times[name].append(learn_seconds(envs[name], num_envs, args.steps))
        for name, seconds in times.items():
            ratios = [other / ours for other, ours in zip(seconds, times["jit_env"], strict=True)]
            median = statistics.median(seconds)
            print(f"| {num_envs:>4} | {name:>10} | {setup[name]:>7.1f} | {median:>16.2f} | "
                  f"{args.steps / median:>11,.0f} | {statistics.median(ratios):>5.2f} | "
                  f"{' / '.join(f'{x:.1f}' for x in seconds)} |", flush=True)
        for env in envs.values():
            env.close()
    print(f"load average at the end {load()}")


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
