"""Quickstart: a vectorised, jitted random-policy rollout of a built-in environment.

    python examples/quickstart.py --env CartPole-v1 --num-envs 1024 --steps 1000 --gif cartpole.gif

`jit_env.make` already applies the registered time limit; `wrappers.wrap` adds
episode statistics, batching with auto-reset and `jit`. The rollout is a
`lax.scan` over chunks of steps, with a text progress bar between chunks.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

import jit_env
from jit_env import utils, wrappers


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


def rollout(args: argparse.Namespace) -> dict[str, float]:
    env = wrappers.wrap(jit_env.make(args.env), num_envs=args.num_envs, jit=False)
    action_spec = env.action_spec()

    @jax.jit
    def run_chunk(state, key):
        def body(state, key):
            state, timestep = env.step(state, action_spec.sample(key))
            stats = timestep.extras[wrappers.EPISODE]
            return state, (stats["done"], stats["return"], stats["length"])

        return jax.lax.scan(body, state, jax.random.split(key, args.chunk))

    key = jax.random.key(args.seed)
    state, _ = jax.jit(env.reset)(key)
    num_chunks = -(-args.steps // args.chunk)
    returns, lengths = [], []
    start = time.perf_counter()
    for i in range(num_chunks):
        state, (done, ret, length) = run_chunk(state, jax.random.fold_in(key, i))
        done = np.asarray(done)
        returns.append(np.asarray(ret)[done])
        lengths.append(np.asarray(length)[done])
        if i == 0:
            start = time.perf_counter()  # Do not count the compile.
        filled = int(30 * (i + 1) / num_chunks)
        print(f"\r[{'#' * filled}{'.' * (30 - filled)}] chunk {i + 1}/{num_chunks}", end="", flush=True)
    elapsed = time.perf_counter() - start
    print()
    timed_steps = (num_chunks - 1) * args.chunk * args.num_envs
    all_returns, all_lengths = np.concatenate(returns), np.concatenate(lengths)
    result = {"steps_per_second": timed_steps / elapsed if timed_steps else float("nan"),
              "episodes": float(all_returns.size)}
    print(f"{args.env}: {args.num_envs} envs x {num_chunks * args.chunk} steps, "
          f"{result['steps_per_second']:,.0f} steps/s (after compiling)")
    if all_returns.size:
        result.update(mean_return=float(all_returns.mean()), mean_length=float(all_lengths.mean()))
        print(f"{all_returns.size} episodes finished: return mean {all_returns.mean():.2f} "
              f"min {all_returns.min():.2f} max {all_returns.max():.2f}; length mean "
              f"{all_lengths.mean():.1f} min {all_lengths.min()} max {all_lengths.max()}")
    else:
        print("No episode finished; run more steps.")
    return result


def save_episode_gif(args: argparse.Namespace) -> int:
    """Plays one episode of the first environment (random actions) and saves it as a GIF."""
    env = jit_env.make(args.env)
    key = jax.random.split(jax.random.key(args.seed), args.num_envs)[0]  # The first env's key.
    state, _ = env.reset(key)

    @jax.jit
    def play(state, keys):
        def body(carry, key):
            state, done = carry
            new_state, timestep = env.step(state, env.action_spec().sample(key))
            new_state = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), state, new_state)
            return (new_state, done | timestep.last()), (env.render(state), done)

        return jax.lax.scan(body, (state, jnp.zeros((), bool)), keys)[1]

    frames, finished = play(state, jax.random.split(jax.random.fold_in(key, 1), args.max_frames))
    count = int(np.argmax(np.asarray(finished))) + 1 if bool(np.any(finished)) else args.max_frames
    utils.save_video(np.asarray(frames[:count]), args.gif, fps=30)
    print(f"Saved {count} frames to {args.gif}")
    return count


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    result = rollout(args)
    if args.gif:
        save_episode_gif(args)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
