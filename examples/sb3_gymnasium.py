"""Stable-Baselines3 PPO on a jit_env environment through `jit_env.compat.ToGymnasium`.

    python examples/sb3_gymnasium.py --short        # 2,048 steps (CI), the default
    python examples/sb3_gymnasium.py --total-steps 100000

Needs ``pip install "jit_env[gymnasium]" stable-baselines3`` (and PyTorch).

The bridge is a plain `gymnasium.Env`: Stable-Baselines3 checks it with its own
env checker, wraps it in its `DummyVecEnv` and `Monitor`, and trains on NumPy
arrays; jit_env runs `reset` and `step` as jitted JAX calls underneath.
`terminated` and `truncated` come from the time step (LAST with discount 0 is a
termination; CartPole's 500-step time limit is a truncation), so SB3
bootstraps truncated episodes as it does for Gymnasium's own CartPole.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from stable_baselines3 import PPO
from stable_baselines3.common import env_checker, evaluation, monitor

import jit_env
from jit_env import compat


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1", choices=jit_env.registered_envs())
    parser.add_argument("--total-steps", type=int, default=None,
                        help="training steps (given: a full run; not given: --short)")
    parser.add_argument("--short", action="store_true",
                        help="2,048 training steps and 5 evaluation episodes (the default)")
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    short = args.short or args.total_steps is None
    total_steps = 2048 if short else args.total_steps
    eval_episodes = 5 if short else args.eval_episodes

    env = compat.ToGymnasium(jit_env.make(args.env), seed=args.seed)
    env_checker.check_env(env, warn=True)
    model = PPO("MlpPolicy", monitor.Monitor(env), n_steps=512 if short else 2048,
                batch_size=64, seed=args.seed, device="cpu", verbose=0)
    before, _ = evaluation.evaluate_policy(model, monitor.Monitor(env), n_eval_episodes=eval_episodes)
    model.learn(total_timesteps=total_steps)
    after, after_std = evaluation.evaluate_policy(model, monitor.Monitor(env), n_eval_episodes=eval_episodes)
    result = {"steps": float(total_steps), "return_before": float(before),
              "return_after": float(after), "return_after_std": float(after_std)}
    print(f"SB3 PPO on jit_env {args.env} via ToGymnasium: {total_steps} steps; mean return over "
          f"{eval_episodes} episodes {before:.1f} before, {after:.1f} +/- {after_std:.1f} after")
    env.close()
    return result


if __name__ == "__main__":
    main()
