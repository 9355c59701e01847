"""`compat.ToSB3VecEnv` against SB3's own `DummyVecEnv` over `ToGymnasium` sub-environments."""

from __future__ import annotations

import copy
import pickle
import re
import warnings
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from gymnasium import error
from stable_baselines3 import PPO
from stable_baselines3.common import vec_env

import jit_env
from jit_env import compat, specs, wrappers
from jit_env.compat import _gymnasium_vector, _sb3


@jit_env.dataclass
class WalkState:
    key: jax.Array
    position: jax.Array


class Walk(jit_env.Environment[WalkState, jax.Array, jax.Array]):
    """A walk from 0 that terminates at +3 (reward 1) and whose reset draws nothing.

    Its episodes do not depend on the reset key, so a `DummyVecEnv` (which starts
    new episodes from each sub-environment's `np_random`) and `ToSB3VecEnv`
    (which continues each sub-environment's key chain) see the same episodes
    across boundaries, step for step.
    """

    def reset(self, key: jax.Array, *, options: Any = None) -> Any:
        state = WalkState(key=jax.random.split(key)[0], position=jnp.zeros((), jnp.int32))
        return state, jit_env.restart(self._obs(state.position), extras={"position": state.position})

    def step(self, state: WalkState, action: jax.Array) -> Any:
        position = state.position + jnp.where(action == 1, 1, -1).astype(jnp.int32)
        state = WalkState(key=state.key, position=position)
        done = position >= 3
        extras = {"position": position}
        return state, jax.lax.cond(
            done,
            lambda: jit_env.termination(jnp.float32(1.0), self._obs(position), extras=extras),
            lambda: jit_env.transition(jnp.float32(0.0), self._obs(position), extras=extras))

    def _obs(self, position: jax.Array) -> jax.Array:
        return jnp.stack([position.astype(jnp.float32), jnp.float32(1.0)])

    def observation_spec(self) -> specs.Spec:
        return specs.BoundedArray((2,), jnp.float32, -100.0, 100.0)

    def action_spec(self) -> specs.Spec:
        return specs.DiscreteArray(2)

    def reward_spec(self) -> specs.Spec:
        return specs.Array((), jnp.float32)

    def discount_spec(self) -> specs.Spec:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0)


NUM_ENVS = 4


def _pair(env: jit_env.Environment, seed: int) -> tuple[vec_env.VecEnv, vec_env.VecEnv]:
    ours = compat.ToSB3VecEnv(env, NUM_ENVS)
    theirs = vec_env.DummyVecEnv([lambda: compat.ToGymnasium(env) for _ in range(NUM_ENVS)])
    ours.seed(seed)
    theirs.seed(seed)
    return ours, theirs


def _assert_infos_equal(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], where: str) -> None:
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert sorted(a) == sorted(b), f"{where}, env {i}: {sorted(a)} != {sorted(b)}"
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{where}, env {i}, {key}")


def test_sb3_vec_env__equals_dummy_vec_env_step_for_step_across_episodes() -> None:
    env = wrappers.TimeLimit(Walk(), max_episode_steps=5)
    ours, theirs = _pair(env, seed=3)
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    _assert_infos_equal(ours.reset_infos, theirs.reset_infos, "reset")
    rng = np.random.default_rng(0)
    ends = truncations = 0
    for t in range(60):
        actions = rng.integers(0, 2, NUM_ENVS)
        obs, rewards, dones, infos = ours.step(actions)
        obs_t, rewards_t, dones_t, infos_t = theirs.step(actions)
        np.testing.assert_array_equal(obs, obs_t, err_msg=f"step {t}")
        assert rewards.dtype == rewards_t.dtype == np.float32
        np.testing.assert_array_equal(rewards, rewards_t, err_msg=f"step {t}")
        np.testing.assert_array_equal(dones, dones_t, err_msg=f"step {t}")
        _assert_infos_equal(infos, infos_t, f"step {t}")
        _assert_infos_equal(ours.reset_infos, theirs.reset_infos, f"step {t} reset_infos")
        ends += int(dones.sum())
        truncations += sum(info["TimeLimit.truncated"] for info in infos)
    assert ends > 10 and 0 < truncations < ends  # both kinds of episode end were compared


def test_sb3_vec_env__first_episodes_equal_dummy_vec_env_on_cartpole() -> None:
    env = jit_env.make("CartPole-v1")
    ours, theirs = _pair(env, seed=11)
    np.testing.assert_array_equal(ours.reset(), theirs.reset())
    running = np.ones(NUM_ENVS, bool)
    rng = np.random.default_rng(1)
    while running.any():
        actions = rng.integers(0, 2, NUM_ENVS)
        obs, rewards, dones, infos = ours.step(actions)
        obs_t, rewards_t, dones_t, infos_t = theirs.step(actions)
        # Until a sub-environment's first episode ends, both run the same episode; at its end
        # both report the same terminal observation (their next episodes draw other keys).
        np.testing.assert_allclose(rewards[running], rewards_t[running])
        np.testing.assert_array_equal(dones[running], dones_t[running])
        for i in np.flatnonzero(running):
            if dones[i]:
                np.testing.assert_array_equal(infos[i]["terminal_observation"],
                                              infos_t[i]["terminal_observation"])
                assert infos[i]["TimeLimit.truncated"] == infos_t[i]["TimeLimit.truncated"]
            else:
                np.testing.assert_array_equal(obs[i], obs_t[i])
        running &= ~dones


def test_sb3_vec_env__sb3_vec_wrappers_stack_on_it(tmp_path: Any) -> None:
    env = compat.ToSB3VecEnv(jit_env.make("CartPole-v1"), 8, seed=0, render_mode="rgb_array")
    stacked = vec_env.VecFrameStack(vec_env.VecNormalize(vec_env.VecMonitor(env)), n_stack=2)
    obs = stacked.reset()
    assert obs.shape == (8, 8)
    episodes = 0
    for _ in range(40):
        obs, _, _, infos = stacked.step(np.ones(8, np.int64))
        episodes += sum("episode" in info for info in infos)
    assert episodes >= 8  # VecMonitor saw every sub-environment's episode end
    recorder = vec_env.VecVideoRecorder(vec_env.VecMonitor(env), str(tmp_path), lambda step: step == 0,
                                        video_length=3)
    recorder.reset()
    frame = recorder.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3  # the batch's frames tiled into one
    for _ in range(4):
        recorder.step(np.zeros(8, np.int64))
    recorder.close()
    assert [p.suffix for p in tmp_path.iterdir()] == [".mp4"]


def test_sb3_vec_env__attributes_methods_and_wrappers() -> None:
    inner = jit_env.make("CartPole-v1")
    env = compat.ToSB3VecEnv(inner, 3)
    assert env.get_attr("max_episode_steps") == [500, 500, 500]
    assert env.get_attr("render_mode", indices=[1]) == [None]
    assert env.env_is_wrapped(wrappers.TimeLimit) == [True] * 3
    assert env.env_is_wrapped(gymnasium.wrappers.TimeLimit, indices=0) == [False]
    assert env.env_method("action_spec", indices=[0, 2]) == [inner.action_spec()] * 2
    with pytest.raises(AttributeError, match=re.escape(_sb3.ERR_SET_ATTR.format(name="gravity"))):
        env.set_attr("gravity", 1.0)
    with pytest.raises(AttributeError, match=re.escape(_sb3.ERR_METHOD.format(name="nope", env=inner))):
        env.env_method("nope")
    env.set_options([{"a": 1}, {}, {}])
    with pytest.raises(ValueError, match=re.escape("their reset options must be equal")):
        env.reset()


def test_sb3_vec_env__attributes_and_methods_found_through_the_wrapper_stack() -> None:
    # As SB3's DummyVecEnv reads through Gymnasium wrappers (get_wrapper_attr): the outermost
    # layer of the jit_env stack that has the name answers. Before, only the outermost was asked.
    inner = jit_env.make("CartPole-v1")
    env = compat.ToSB3VecEnv(wrappers.FlattenObservation(inner), 2)
    assert env.get_attr("max_episode_steps") == [500, 500]
    assert env.env_method("reward_spec", indices=[1]) == [inner.reward_spec()]
    with pytest.raises(AttributeError, match=re.escape(
            _sb3.ERR_ATTR.format(name="nope", env=wrappers.FlattenObservation(inner)))):
        env.get_attr("nope")
    env.close()


def test_sb3_vec_env__refuses_what_the_vector_bridge_refuses() -> None:
    with pytest.raises(ValueError, match=re.escape("it resets by itself")):
        compat.ToSB3VecEnv(wrappers.AutoReset(jit_env.make("CartPole-v1")), 2)
    env = compat.ToSB3VecEnv(jit_env.make("CartPole-v1"), 2)
    env.reset()
    with pytest.raises(ValueError, match=re.escape("must have shape (2,)")):
        env.step(np.zeros(3, np.int64))


def test_sb3_vec_env__ppo_learns_on_it() -> None:
    torch.manual_seed(0)
    torch.set_num_threads(1)
    env = compat.ToSB3VecEnv(jit_env.make("CartPole-v1"), 8, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = PPO("MlpPolicy", vec_env.VecMonitor(env), n_steps=128, batch_size=256, n_epochs=4,
                    seed=0, learning_rate=2.5e-3, policy_kwargs={"net_arch": [32, 32]}, device="cpu")
        model.learn(total_timesteps=16_384)
    returns = [e["r"] for e in model.ep_info_buffer]
    assert np.mean(returns[-20:]) > 2 * 22  # well above a random policy's ~22


def _round_trips() -> dict[str, Any]:
    return {"deepcopy": copy.deepcopy, "pickle": lambda bridge: pickle.loads(pickle.dumps(bridge))}


def _assert_step_same(got: Any, want: Any, where: str) -> None:
    """Bit for bit: observations, rewards, dones, and every info entry (terminal observations too)."""
    for a, b in zip(got[:3], want[:3], strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), where
    _assert_infos_equal(got[3], want[3], where)


@pytest.mark.parametrize("round_trip", list(_round_trips()))
def test_sb3_vec_env__copy_mid_episode_continues_identically(round_trip: str) -> None:
    """A deep copy or an unpickled copy taken mid-episode continues exactly as the original.

    The copy is driven through step_async/step_wait with other calls in between,
    the original through step: the async path gives the sync path's results, bit for bit.
    """
    env = wrappers.EpisodeStatistics(wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=9))
    original = compat.ToSB3VecEnv(env, NUM_ENVS, seed=4)
    original.reset()
    rng = np.random.default_rng(0)
    for _ in range(5):
        original.step(rng.integers(0, 2, NUM_ENVS))
    copied = _round_trips()[round_trip](original)
    assert copied is not original and repr(copied) == repr(original)
    _assert_infos_equal(copied.reset_infos, original.reset_infos, "reset_infos")
    ends = 0
    for t in range(40):
        actions = rng.integers(0, 2, NUM_ENVS)
        copied.step_async(actions)
        assert copied.env_is_wrapped(wrappers.TimeLimit) == [True] * NUM_ENVS  # Other calls while the step runs.
        want = original.step(actions)
        _assert_step_same(copied.step_wait(), want, f"step {t}")
        _assert_infos_equal(copied.reset_infos, original.reset_infos, f"step {t} reset_infos")
        ends += int(want[2].sum())
    assert ends >= 10
    # Unseeded resets draw from the copied RNG: the same new episodes.
    np.testing.assert_array_equal(copied.reset(), original.reset())


def test_sb3_vec_env__async_contract() -> None:
    """SB3's step_async/step_wait contract, with Gymnasium's errors where SB3 says "should not"."""
    env = compat.ToSB3VecEnv(wrappers.TimeLimit(Walk(), max_episode_steps=5), NUM_ENVS, seed=1)
    first = env.reset()
    actions = np.ones(NUM_ENVS, np.int64)
    with pytest.raises(error.NoAsyncCallError, match=re.escape(
            _gymnasium_vector.ERR_NO_ASYNC_CALL.format(call="step"))):
        env.step_wait()
    env.step_async(actions)
    assert env.waiting
    with pytest.raises(error.AlreadyPendingCallError, match=re.escape(
            _gymnasium_vector.ERR_ALREADY_PENDING.format(call="step_async", pending="step"))):
        env.step_async(actions)
    # reset cancels the pending step (SB3's VecEnv.reset says so); step_wait then has nothing to wait for.
    np.testing.assert_array_equal(env.reset(), first)
    assert not env.waiting
    with pytest.raises(error.NoAsyncCallError):
        env.step_wait()
    obs, _, _, _ = env.step(actions)
    np.testing.assert_array_equal(obs[:, 0], np.ones(NUM_ENVS))
    # close waits for a pending step, silently, as SubprocVecEnv's close does.
    env.step_async(actions)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.close()
    assert not env.waiting
