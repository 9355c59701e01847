"""FromGymnax steps in lockstep with gymnax itself, goes out through the bridges and carries under x64."""

import dataclasses
import os
import subprocess
import sys
import textwrap

import _hub_checks
import gymnasium
import gymnax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import adapters, compat
from jit_env.adapters import _catalogue


@pytest.mark.parametrize(
    ("name", "action"), [("CartPole-v1", 1), ("Pendulum-v1", np.array([0.5], np.float32))])
def test_from_gymnax__lockstep_with_gymnax(name, action):
    genv, params = gymnax.make(name)
    env = compat.FromGymnax(genv, params)
    key = jax.random.key(0)
    state, ts = env.reset(key)
    with jax.numpy_dtype_promotion("standard"):  # gymnax itself is not strict-promotion clean.
        obs, gstate = genv.reset(key, params)
    np.testing.assert_allclose(ts.observation, obs)
    step = jax.jit(env.step)
    for i in range(params.max_steps_in_episode):
        state, ts = step(state, action)
        with jax.numpy_dtype_promotion("standard"):
            obs, gstate, reward, terminated, truncated, _ = genv.step(
                jax.random.key(i), gstate, action, params)
        np.testing.assert_allclose(ts.reward, reward, rtol=1e-6)
        assert bool(ts.last()) == bool(terminated | truncated)
        if bool(ts.last()):
            assert float(ts.discount) == (0.0 if bool(terminated) else 1.0)
            break
        np.testing.assert_allclose(ts.observation, obs, rtol=1e-6)
    assert bool(ts.last())


def test_from_gymnax__passes_check_environment_and_bridges():
    genv, params = gymnax.make("CartPole-v1")
    env = compat.FromGymnax(genv, params)
    jit_env.testing.check_environment(env)
    dm = compat.ToDeepmindEnv(env)
    assert dm.reset().first()
    vec = compat.ToGymnasiumVector(env, 4, seed=0)
    vec.reset()
    assert vec.step(np.ones(4, np.int64))[0].shape == (4, 4)


LIMIT = 5


def _step_from(env, time, failing):
    """One step of `env` (CartPole) from `time`, about to fall over or upright; (state before, time step)."""
    state, _ = env.reset(jax.random.key(0))
    env_state = state.env_state
    theta, theta_dot = (0.2094, 2.0) if failing else (0.0, 0.0)  # 0.2094 + 0.02 * 2 > 12 degrees
    env_state = env_state.replace(
        theta=jnp.asarray(theta, env_state.theta.dtype), theta_dot=jnp.asarray(theta_dot, env_state.theta_dot.dtype),
        time=jnp.asarray(time, env_state.time.dtype))
    state = dataclasses.replace(state, env_state=env_state)
    return state, jax.jit(env.step)(state, jnp.int32(1))[1]


@pytest.mark.parametrize(("time", "failing", "discount"), [
    (LIMIT - 1, True, 0.0),   # natural end exactly at the limit: a termination
    (LIMIT - 1, False, 1.0),  # the limit alone: a truncation
    (0, True, 0.0),           # natural end before the limit
])
def test_from_gymnax__natural_end_at_the_limit_stays_a_termination(time, failing, discount):
    genv, params = gymnax.make("CartPole-v1")
    params = params.replace(max_steps_in_episode=LIMIT)
    env = compat.FromGymnax(genv, params)
    state, ts = _step_from(env, time, failing)
    assert int(ts.step_type) == jit_env.StepType.LAST and float(ts.discount) == discount
    with jax.numpy_dtype_promotion("standard"):  # gymnax's own verdict on the same step
        _, _, _, terminated, truncated, _ = genv.step(jax.random.key(1), state.env_state, 1, params)
    assert bool(terminated) == (discount == 0.0)
    assert bool(truncated) == (time == LIMIT - 1)


class _LegacyGymnaxCartPole:
    """gymnax's real CartPole, seen through the API of gymnax < 1.0.

    Before 1.0, gymnax had no `is_truncated`: `step_env`'s `done` and
    `is_terminal` included the time limit. This class drops `is_truncated` and
    folds the limit back in; the dynamics are gymnax's own.
    """

    def __init__(self):
        self._env, self.default_params = gymnax.make("CartPole-v1")
        self.name = "LegacyCartPole"

    def observation_space(self, params):
        return self._env.observation_space(params)

    def action_space(self, params):
        return self._env.action_space(params)

    def reset_env(self, key, params):
        return self._env.reset_env(key, params)

    def is_terminal(self, state, params):
        return self._env.is_terminated(state, params) | (state.time >= params.max_steps_in_episode)

    def step_env(self, key, state, action, params):
        obs, state, reward, _, info = self._env.step_env(key, state, action, params)
        return obs, state, reward, self.is_terminal(state, params), info


@pytest.mark.parametrize(("time", "failing", "discount"), [
    (LIMIT - 1, True, 0.0), (LIMIT - 1, False, 1.0), (0, True, 0.0), (1, False, None)])
def test_from_gymnax__legacy_gymnax_natural_end_at_the_limit_stays_a_termination(time, failing, discount):
    legacy = _LegacyGymnaxCartPole()
    assert not hasattr(legacy, "is_truncated")
    env = compat.FromGymnax(legacy, legacy.default_params.replace(max_steps_in_episode=LIMIT))
    _, ts = _step_from(env, time, failing)
    if discount is None:  # neither: the episode goes on
        assert int(ts.step_type) == jit_env.StepType.MID and float(ts.discount) == 1.0
    else:
        assert int(ts.step_type) == jit_env.StepType.LAST and float(ts.discount) == discount


def test_compat_names__are_the_adapters():
    assert compat.FromGymnax is adapters.FromGymnax
    assert compat.GymnaxState is adapters.GymnaxState
    assert compat.gymnax_space_to_spec is adapters.gymnax_space_to_spec


def _default_params(name):
    if name == "MNISTBandit-bsuite":  # Building it downloads MNIST; its params need no download.
        from gymnax.environments.bsuite import mnist

        return mnist.EnvParams()
    with jax.numpy_dtype_promotion("standard"):  # Some gymnax constructors need it.
        return gymnax.make(name)[1]


def test_catalogue__gymnax_ids_and_episode_limits_match_gymnax():
    library = _catalogue.LIBRARIES["gymnax"]
    assert library.ids == tuple(gymnax.registered_envs)
    limits = {name: int(_default_params(name).max_steps_in_episode) for name in library.ids}
    assert dict(library.episode_limits) == limits


def test_make__max_episode_steps_sets_gymnax_own_limit():
    env = jit_env.make("gymnax/Pendulum-v1", max_episode_steps=300)
    assert env.max_episode_steps == 300
    assert env.unwrapped.params.max_steps_in_episode == 300  # gymnax's 200 no longer cuts first.
    assert jit_env._registry.spec("gymnax/Pendulum-v1").max_episode_steps == 200
    state, timestep = env.reset(jax.random.key(0))
    step = jax.jit(env.step)
    action = np.zeros((1,), np.float32)
    for _ in range(299):
        state, timestep = step(state, action)
        assert not bool(timestep.last())
    state, timestep = step(state, action)
    assert bool(timestep.last()) and float(timestep.discount) == 1.0


# Every gymnax id but the MinAtar games (slow compiles, below) and MNISTBandit (it downloads
# MNIST when built). On jit_env 0.x / main, Pendulum, BernoulliBandit and UmbrellaChain failed
# the scan (reset's weak leaves became int64/float64, step's stayed 32-bit); MetaMaze and
# GaussianBandit fail under x64 in gymnax itself (a `lax.select` of int32 and int64).
MINATAR = [name for name in gymnax.registered_envs if name.endswith("-MinAtar")]
FAST_X64 = [name for name in gymnax.registered_envs
            if name not in MINATAR and name != "MNISTBandit-bsuite"]

_X64_SCRIPT = textwrap.dedent("""
    import sys
    import jax
    import jit_env
    from jit_env import specs

    assert jax.config.jax_enable_x64
    for name in sys.argv[1:]:
        env = jit_env.make("gymnax/" + name)
        state, timestep = env.reset(jax.random.key(0))
        action = jax.tree_util.tree_map(
            lambda s: s.generate_value(), specs.unpack_spec(env.action_spec()),
            is_leaf=lambda x: isinstance(x, specs.Spec))
        stepped = jax.eval_shape(env.step, state, action)
        same = jax.tree_util.tree_structure(stepped) == jax.tree_util.tree_structure((state, timestep))
        same = same and all(
            (a.shape, a.dtype) == (b.shape, b.dtype) for a, b in zip(
                jax.tree_util.tree_leaves(stepped), jax.tree_util.tree_leaves((state, timestep))))

        def body(carry, _):
            carry, timestep = env.step(carry, action)
            return carry, timestep.reward

        _, rewards = jax.jit(lambda s: jax.lax.scan(body, s, None, length=3))(state)
        print(name, "same" if same else "differs", rewards.shape, flush=True)
""")


def _scan_under_x64(names):
    env = {**os.environ, "JAX_ENABLE_X64": "1", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", _X64_SCRIPT, *names], capture_output=True,
                          text=True, env=env, timeout=1800, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == [f"{name} same (3,)" for name in names]


def test_from_gymnax__every_fast_id_scans_under_x64():
    _scan_under_x64(FAST_X64)


@pytest.mark.slow
def test_from_gymnax__minatar_scans_under_x64():
    _scan_under_x64(MINATAR)


def test_from_gymnax__key_split_only_when_gymnax_step_uses_it():
    # CartPole's step_env ignores its key: the chain passes on (no per-step random-number work,
    # benchmarks/hub.py); Catch's draws from it: the chain advances.
    for name, uses_key in (("CartPole-v1", False), ("Catch-bsuite", True)):
        env = jit_env.make(f"gymnax/{name}")
        state, _ = env.reset(jax.random.key(0))
        stepped, _ = env.step(state, np.int32(1))
        same = bool(np.array_equal(jax.random.key_data(state.key), jax.random.key_data(stepped.key)))
        assert same != uses_key, name
    jit_env.testing.check_env(jit_env.make("gymnax/CartPole-v1"), num_steps=10)



def test_gymnasium_make__max_episode_steps_lifts_gymnax_own_limit():
    # issue 18, Deliver 6: as Gymnasium's own Pendulum (200 steps by default, never terminates).
    compat.register_gymnasium_envs()
    action = np.zeros((1,), np.float32)
    for steps in (None, 120, 300):
        extra = {} if steps is None else {"max_episode_steps": steps}
        theirs = _hub_checks.gymnasium_episode(gymnasium.make("Pendulum-v1", **extra), action, 400)
        ours = gymnasium.make("jit_env/gymnax.Pendulum-v1", **extra)
        assert ours.spec.max_episode_steps == (steps or 200)
        assert _hub_checks.gymnasium_episode(ours, action, 400) == theirs == (steps or 200, False, True)


def test_make__max_episode_steps_sets_gymnax_own_limit_and_none_lifts_it():
    action = np.zeros((1,), np.float32)
    assert _hub_checks.episode(jit_env.make("gymnax/Pendulum-v1"), action, 260) == (200, 1.0)
    for steps in (20, 250):  # Lowering and lifting gymnax's 200.
        env = jit_env.make("gymnax/Pendulum-v1", max_episode_steps=steps)
        assert env.unwrapped.params.max_steps_in_episode == steps
        assert _hub_checks.episode(env, action, 260) == (steps, 1.0)
    # None: no limit at all (gymnax's own lifted, no TimeLimit), as for the built-in environments.
    assert _hub_checks.episode(jit_env.make("gymnax/Pendulum-v1", max_episode_steps=None), action, 260) == (260, None)
