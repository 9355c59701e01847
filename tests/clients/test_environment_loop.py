"""An Acme-style EnvironmentLoop over `ToDeepmindEnv`, against a jitted rollout.

dm-acme 0.4.0 (the last release) needs dm-launchpad 0.5.0, which has no wheel
for Python 3.11, so the loop is written here as Acme's `EnvironmentLoop.run_episode`
runs it: `observe_first`, then `select_action`/`step`/`observe`/`update` until
LAST, checking actions and rewards against the specs.
"""

import dm_env
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import compat

MAX_STEPS = 45  # Between the lengths _policy reaches: both ends occur.


def _policy(observation):
    """Pushes towards the pole's lean (balances a while, then drifts out)."""
    return (observation[2] > 0).astype(np.int32)


class Actor:
    """Acme's `core.Actor` interface, recording what it observes."""

    def __init__(self):
        self.firsts, self.transitions, self.updates = [], [], 0

    def select_action(self, observation):
        return np.asarray(_policy(observation))

    def observe_first(self, timestep):
        self.firsts.append(timestep)

    def observe(self, action, next_timestep):
        self.transitions.append((action, next_timestep))

    def update(self, wait=False):
        self.updates += 1


def run_episode(environment, actor):
    """One episode as Acme's EnvironmentLoop runs it; returns (return, length, last discount)."""
    timestep = environment.reset()
    assert timestep.first()
    actor.observe_first(timestep)
    episode_return = np.zeros((), environment.reward_spec().dtype)
    length = 0
    while not timestep.last():
        action = actor.select_action(timestep.observation)
        environment.action_spec().validate(action)
        timestep = environment.step(action)
        environment.reward_spec().validate(timestep.reward)
        environment.observation_spec().validate(timestep.observation)
        actor.observe(action, next_timestep=timestep)
        actor.update()
        episode_return = episode_return + timestep.reward
        length += 1
    return episode_return, length, timestep.discount


def _jitted_episodes(env, seed, num):
    """The same episodes, each one `lax.while_loop`, with the bridge's key chain."""

    @jax.jit
    def episode(key):
        state, ts = env.reset(key)

        def cond(carry):
            return ~carry[1].last()

        def body(carry):
            state, ts, ret, length = carry
            state, ts = env.step(state, _policy(ts.observation))
            return state, ts, ret + ts.reward, length + 1

        _, ts, ret, length = jax.lax.while_loop(cond, body, (state, ts, jnp.zeros((), jnp.float32), 0))
        return ret, length, ts.discount

    key = jax.random.key(seed)
    results = []
    for _ in range(num):
        key, reset_key = jax.random.split(key)  # As ToDeepmindEnv.reset splits its key.
        results.append(jax.device_get(episode(reset_key)))
    return results


@pytest.mark.parametrize("seed", [0, 1])
def test_environment_loop__episodes_match_a_jitted_rollout(seed):
    env = jit_env.make("CartPole-v1", max_episode_steps=MAX_STEPS)
    environment = compat.ToDeepmindEnv(env, seed)
    actor = Actor()
    got = [run_episode(environment, actor) for _ in range(6)]
    want = _jitted_episodes(env, seed, 6)
    for (ret, length, discount), (want_ret, want_length, want_discount) in zip(got, want, strict=True):
        assert isinstance(ret, np.float32)
        assert (ret, length, discount) == (want_ret, want_length, want_discount)
        assert ret == length  # CartPole pays 1.0 a step.
    assert {float(d) for _, _, d in got} == {0.0, 1.0}  # Terminations and truncations both met.
    assert len(actor.firsts) == 6 and all(ts.step_type == dm_env.StepType.FIRST for ts in actor.firsts)
    assert len(actor.transitions) == actor.updates == sum(length for _, length, _ in got)
    assert sum(ts.last() for _, ts in actor.transitions) == 6
