"""rejax's PPO on a jit_env environment through `jit_env.compat.ToGymnax`, beside gymnax's own.

Pure-JAX trainers take gymnax's API. `ToGymnax` gives it to any jit_env
environment; this script trains rejax's PPO (rejax 0.1.3, which unpacks the
older five-value `step`) on ``ToGymnax(jit_env.make("CartPole-v1"),
five_values=True)`` and, with the same configuration and seeds, on gymnax's own
CartPole-v1 seen through the same five-value view, and prints both evaluation
returns side by side.

    pip install rejax==0.1.3 "jit_env[gymnax]"
    python examples/rejax_ppo.py            # 500k steps, seeds 0-2 (minutes on a CPU)
    python examples/rejax_ppo.py --short    # a quick check that both learn
"""

from __future__ import annotations

import argparse
import functools
import time
from typing import Any

import gymnax
import jax
import numpy as np
import rejax

import jit_env
from jit_env import compat


class FiveValues(gymnax.environments.environment.Environment):  # type: ignore[misc]
    """gymnax's own environment with the older five-value `step` rejax 0.1.3 unpacks."""

    def __init__(self, env: Any):
        self.env = env

    @property
    def name(self) -> str:
        return str(self.env.name)

    @property
    def num_actions(self) -> int:
        return int(self.env.num_actions)

    @property
    def default_params(self) -> Any:
        return self.env.default_params

    def reset(self, key: jax.Array, params: Any = None) -> Any:
        return self.env.reset(key, params)

    def step(self, key: jax.Array, state: Any, action: Any, params: Any = None) -> Any:
        obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, params)
        return obs, state, reward, terminated | truncated, {**info, "truncated": truncated}

    def action_space(self, params: Any = None) -> Any:
        return self.env.action_space(params)

    def observation_space(self, params: Any = None) -> Any:
        return self.env.observation_space(params)


CONFIG = {
    "agent_kwargs": {"activation": "tanh"},
    "num_envs": 16,
    "num_steps": 128,
    "num_epochs": 4,
    "num_minibatches": 4,
    "learning_rate": 2.5e-3,
    "max_grad_norm": 0.5,
    "gamma": 0.99,
    "gae_lambda": 0.95,
    "clip_eps": 0.2,
    "ent_coef": 0.01,
    "vf_coef": 0.5,
}


def environments() -> dict[str, tuple[Any, Any]]:
    """The two environments, each with its params, under the same five-value view."""
    ours = compat.ToGymnax(jit_env.make("CartPole-v1"), five_values=True)
    theirs, params = gymnax.make("CartPole-v1")
    return {"jit_env": (ours, ours.default_params), "gymnax": (FiveValues(theirs), params)}


def train(env: Any, params: Any, seed: int, total_timesteps: int, eval_freq: int) -> np.ndarray:
    """Trains PPO; returns the mean evaluation return at each evaluation."""
    algo = rejax.PPO.create(env=env, env_params=params, total_timesteps=total_timesteps,
                            eval_freq=eval_freq, **CONFIG)
    train_fn = jax.jit(functools.partial(type(algo).train, algo))
    _, (_, returns) = train_fn(jax.random.key(seed))
    return np.asarray(returns).mean(axis=-1)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="a quick run: 32768 steps, seed 0")
    parser.add_argument("--timesteps", type=int, default=500_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    timesteps, seeds = (32_768, [0]) if args.short else (args.timesteps, args.seeds)
    eval_freq = timesteps // 8
    finals: dict[str, list[float]] = {}
    for name, (env, params) in environments().items():
        for seed in seeds:
            start = time.perf_counter()
            returns = train(env, params, seed, timesteps, eval_freq)
            finals.setdefault(name, []).append(float(returns[-1]))
            print(f"{name:8s} seed {seed}: eval return {returns[0]:6.1f} -> {returns[-1]:6.1f} "
                  f"after {timesteps} steps ({time.perf_counter() - start:.0f} s with compile)")
    for name, values in finals.items():
        print(f"{name:8s} final eval return, mean over seeds {seeds}: {np.mean(values):.1f}")
    return finals


if __name__ == "__main__":
    jit_env.utils.enable_compilation_cache()  # Compiled programs kept on disk: see docs/cli.md.
    main()
