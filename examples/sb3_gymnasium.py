"""Stable-Baselines3 PPO on a jit_env environment through `jit_env.compat.ToSB3VecEnv`.

    python examples/sb3_gymnasium.py --short        # 16,384 steps (CI), the default
    python examples/sb3_gymnasium.py --total-steps 200000

Needs ``pip install "jit_env[sb3]"`` (and PyTorch; the CPU build is enough).

`ToSB3VecEnv(env, num_envs)` is an SB3 `VecEnv`: all sub-environments step in
one jitted JAX call, with `DummyVecEnv`'s conventions (`terminal_observation`,
`TimeLimit.truncated`), so SB3's `VecMonitor` counts the episodes and PPO
bootstraps truncated episodes as it does for Gymnasium's own CartPole. The
single-env bridge `ToGymnasium` passes SB3's env checker first.

The returns printed are those of the policy as it acts while training (sampled
actions). The short run is enough to learn: the untrained policy scores about
a random policy's 22, and the "after" return is well above it (its exact value
depends on the machine's floating point, not on the seed alone).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
from stable_baselines3 import PPO
from stable_baselines3.common import env_checker, evaluation, vec_env

import jit_env
from jit_env import compat


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1", choices=jit_env.registered_envs())
    parser.add_argument("--total-steps", type=int, default=None,
                        help="training steps (given: a full run; not given: --short)")
    parser.add_argument("--short", action="store_true",
                        help="16,384 training steps and 10 evaluation episodes (the default)")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    short = args.short or args.total_steps is None
    total_steps = 16_384 if short else args.total_steps
    eval_episodes = 10 if short else args.eval_episodes
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # Small networks: more threads only contend.

    env_checker.check_env(compat.ToGymnasium(jit_env.make(args.env)), warn=True)
    env = vec_env.VecMonitor(compat.ToSB3VecEnv(jit_env.make(args.env), args.num_envs, seed=args.seed))
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=256, n_epochs=4, learning_rate=2.5e-3,
                policy_kwargs={"net_arch": [64, 64]}, seed=args.seed, device="cpu", verbose=0)
    # The policy as it acts while training (sampled actions): an untrained one is near random.
    before, _ = evaluation.evaluate_policy(model, env, n_eval_episodes=eval_episodes, deterministic=False)
    model.learn(total_timesteps=total_steps)
    after, after_std = evaluation.evaluate_policy(model, env, n_eval_episodes=eval_episodes,
                                                  deterministic=False)
    result = {"steps": float(total_steps), "return_before": float(before),
              "return_after": float(after), "return_after_std": float(after_std)}
    print(f"SB3 PPO on jit_env {args.env} via ToSB3VecEnv ({args.num_envs} envs): {total_steps} steps; "
          f"mean return over {eval_episodes} episodes {before:.1f} before, {after:.1f} +/- "
          f"{after_std:.1f} after")
    env.close()
    return result


if __name__ == "__main__":
    jit_env.utils.enable_compilation_cache()  # Compiled programs kept on disk: see docs/cli.md.
    main()
