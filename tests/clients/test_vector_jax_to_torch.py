"""Gymnasium's own `JaxToTorch` vector wrapper over `ToGymnasiumVector(..., array_backend="jax")`."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium.wrappers import vector as vector_wrappers

import jit_env
from jit_env import compat, wrappers

NUM = 4


def test_to_gymnasium_vector__jax_backend_under_jax_to_torch() -> None:
    """Torch tensors in and out, the values the NumPy bridge gives (rewards in the spec's float32)."""
    env = wrappers.EpisodeStatistics(wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=12))
    ours = vector_wrappers.JaxToTorch(compat.ToGymnasiumVector(env, NUM, array_backend="jax"), device="cpu")
    ref = compat.ToGymnasiumVector(env, NUM)
    obs, info = ours.reset(seed=3)
    want_obs, want_info = ref.reset(seed=3)
    assert isinstance(obs, torch.Tensor)
    np.testing.assert_array_equal(obs.numpy(), want_obs)
    np.testing.assert_array_equal(info["episode"]["length"].numpy(), want_info["episode"]["length"])
    rng = np.random.default_rng(0)
    ends = 0
    for t in range(40):
        actions = rng.integers(0, 2, NUM)
        got = ours.step(torch.as_tensor(actions))
        want = ref.step(actions)
        assert all(isinstance(x, torch.Tensor) for x in got[:4])
        assert got[1].dtype == torch.float32
        for a, b in zip(got[:4], want[:4], strict=True):
            np.testing.assert_array_equal(a.numpy(), b.astype(a.numpy().dtype), err_msg=f"step {t}")
        np.testing.assert_array_equal(got[4]["episode"]["return"].numpy(), want[4]["episode"]["return"])
        ends += int(want[2].sum() + want[3].sum())
    assert ends >= 8
