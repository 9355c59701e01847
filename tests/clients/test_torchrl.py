"""TorchRL's GymWrapper over `ToGymnasiumVector`: specs, a rollout, a collector.

TorchRL reads `autoreset_mode` and refuses NEXT_STEP (it needs SAME_STEP or,
preferably, DISABLED, where it resets finished sub-envs with a reset mask).
"""

import warnings

import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

with warnings.catch_warnings():
    # TorchRL 0.14 warns about its own deprecated classes while it imports them.
    warnings.filterwarnings("ignore", category=DeprecationWarning, message=r"Creating \w+ which inherits")
    from torchrl.collectors import Collector  # SyncDataCollector before TorchRL 0.14.
    from torchrl.envs import GymWrapper
    from torchrl.envs.utils import check_env_specs

import jit_env
from jit_env import compat
from jit_env.envs import cartpole

NUM = 4
MODES = [AutoresetMode.DISABLED, AutoresetMode.SAME_STEP]
BOUNDS = cartpole.Params()


def _env(mode):
    return GymWrapper(compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), NUM, seed=0, autoreset_mode=mode))


def _assert_cartpole_transitions(td):
    """Rewards, flags and observations of a `[NUM, T]` batch agree with CartPole's rules."""
    nxt = td["next"]
    assert td.batch_size[0] == NUM
    torch.testing.assert_close(nxt["reward"], torch.ones_like(nxt["reward"]))
    obs = nxt["observation"]
    out = (obs[..., 0].abs() > BOUNDS.x_threshold) | (obs[..., 2].abs() > BOUNDS.theta_threshold_radians)
    assert torch.equal(nxt["terminated"][..., 0], out)  # Terminated exactly when the pole fell.
    assert torch.equal(nxt["done"], nxt["terminated"] | nxt["truncated"])
    done = nxt["done"][..., 0]
    # Within a trajectory, each step starts where the last one ended, or from a
    # fresh CartPole start after an end.
    follows = td["observation"][:, 1:]
    torch.testing.assert_close(follows[~done[:, :-1]], obs[:, :-1][~done[:, :-1]], rtol=0, atol=0)
    assert (follows[done[:, :-1]].abs() <= BOUNDS.reset_bound).all()
    return int(done.sum())


def test_torchrl__refuses_next_step_mode():
    with pytest.raises(RuntimeError, match="auto-reset mode must be one of SAME_STEP or DISABLED"):
        _env(AutoresetMode.NEXT_STEP)


@pytest.mark.parametrize("mode", MODES)
def test_torchrl__check_env_specs_and_rollout(mode):
    env = _env(mode)
    assert env.batch_size == torch.Size([NUM])
    check_env_specs(env, seed=0)
    td = env.rollout(300, break_when_any_done=False)
    assert td.batch_size == torch.Size([NUM, 300])
    assert td["observation"].dtype == torch.float32
    assert _assert_cartpole_transitions(td) >= NUM  # Random play ends several episodes.


@pytest.mark.parametrize("mode", MODES)
def test_torchrl__collector_batches(mode):
    env = _env(mode)
    collector = Collector(env, policy=None, frames_per_batch=128, total_frames=512)
    ends, batches = 0, 0
    last = None
    for batch in collector:
        batches += 1
        assert batch.batch_size == torch.Size([NUM, 128 // NUM])
        ends += _assert_cartpole_transitions(batch)
        if last is not None:  # Batches continue each sub-env's trajectory.
            ended = last["next", "done"][:, -1, 0]
            carried = batch["observation"][:, 0]
            torch.testing.assert_close(carried[~ended], last["next", "observation"][:, -1][~ended], rtol=0, atol=0)
        last = batch
    collector.shutdown()
    assert batches == 4 and ends >= NUM
    np.testing.assert_array_equal(np.asarray(last["action"].sum(-1)), 1)  # One-hot actions.
