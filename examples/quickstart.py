"""Quickstart: a vectorised, jitted random-policy rollout of a built-in environment.

    python examples/quickstart.py --env CartPole-v1 --num-envs 1024 --steps 1000 --gif cartpole.gif

This is ``jit-env run CartPole-v1 --num-envs 1024 --steps 1000 --gif cartpole.gif``
(see docs/cli.md): `jit_env.make` applies the registered time limit,
``wrappers.wrap(env, num_envs=N)`` adds episode statistics and batching with
auto-reset, and the rollout runs in compiled `lax.scan` chunks with a progress
bar, then prints the throughput and episode statistics.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import jit_env
from jit_env import __main__ as cli


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1", choices=jit_env.registered_envs())
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--steps", type=int, default=1000, help="steps per environment")
    parser.add_argument("--chunk", type=int, default=100, help="steps per compiled lax.scan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--gif", default=None, help="save one episode of the first env here")
    parser.add_argument("--max-frames", type=int, default=200, help="frame cap of the GIF")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> cli.RunResult:
    args = parse_args(argv)
    return cli.run(args.env, num_envs=args.num_envs, steps=args.steps, chunk=args.chunk, seed=args.seed,
                   gif=args.gif, max_frames=args.max_frames)


if __name__ == "__main__":
    jit_env.utils.enable_compilation_cache()  # Compiled programs kept on disk: see docs/cli.md.
    main(sys.argv[1:])
