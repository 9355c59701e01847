"""Stable-Baselines3 over `ToGymnasium`: its env checker, and a short PPO run."""

import warnings

import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common import env_checker

import jit_env
from jit_env import compat


def test_stable_baselines3__check_env_without_warnings():
    env = compat.ToGymnasium(jit_env.make("CartPole-v1"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env_checker.check_env(env, warn=True)


def test_stable_baselines3__ppo_learns_and_records_episode_returns():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # Small nets: threads only contend on a 2-core CI machine.
    env = compat.ToGymnasium(jit_env.make("CartPole-v1", max_episode_steps=200))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PPO("MlpPolicy", env, n_steps=256, batch_size=128, n_epochs=2, seed=0,
                    policy_kwargs={"net_arch": [32, 32]}, device="cpu")
        model.learn(total_timesteps=2048)
    assert model.num_timesteps == 2048
    episodes = list(model.ep_info_buffer)  # Filled by SB3's Monitor from the bridge's episodes.
    assert len(episodes) >= 20
    returns = np.array([e["r"] for e in episodes])
    lengths = np.array([e["l"] for e in episodes])
    # CartPole pays 1.0 a step, episodes end by termination or at the 200-step limit.
    np.testing.assert_array_equal(returns, lengths)
    assert lengths.min() >= 8 and lengths.max() <= 200
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(action)
    env.step(action)
