"""rollout, rollout_batch, rollout_population: equal to a Python loop of env.step.

Integer, boolean and key leaves must be equal everywhere. Float leaves are equal bit for
bit for Catch (whose arithmetic is exact); for the float physics of CartPole and PointMass
XLA compiles the scan body with other fusions than a standalone `jit(env.step)`, which moves
results by an ulp or so, so those compare to rtol 1e-5, as the wrapper tests do.
"""

import doctest

import _envs
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jit_env
from jit_env import _rollout, wrappers

pytestmark = pytest.mark.integration

T = 12


def _cartpole_policy(params, observation, key):
    """Random, but depends on the observation and params (so mistakes in either show)."""
    coin = jax.random.bernoulli(key, 0.5, observation.shape[:-1])
    lean = observation[..., 2] * params > 0
    return jnp.logical_xor(coin, lean).astype(jnp.int32)


def _point_policy(params, observation, key):
    noise = jax.random.uniform(key, observation.shape, jnp.float32, -1.0, 1.0)
    return jnp.clip(noise - params * observation, -1.0, 1.0)


def _catch_policy(params, observation, key):
    mask = observation["action_mask"]
    preference = jnp.broadcast_to(params * jnp.arange(3, dtype=jnp.float32), mask.shape)
    return jax.random.categorical(key, jnp.where(mask, preference, -jnp.inf)).astype(jnp.int32)


def _cartpole(max_steps=5):
    # A short time limit, so that episodes end (and auto-resets happen) within T steps.
    return jit_env.make("CartPole-v1", max_episode_steps=max_steps)


ENVS = {
    "bare": lambda: (_cartpole(), _cartpole_policy),
    "auto_reset_same_step": lambda: (wrappers.AutoReset(_cartpole()), _cartpole_policy),
    "auto_reset_next_step": lambda: (
        wrappers.AutoReset(_cartpole(), mode=wrappers.NEXT_STEP), _cartpole_policy),
    "wrap_num_envs": lambda: (wrappers.wrap(_cartpole(), num_envs=4), _cartpole_policy),
    "wrap_num_envs_next_step": lambda: (
        wrappers.wrap(_cartpole(), num_envs=3, mode=wrappers.NEXT_STEP), _cartpole_policy),
    "vmap": lambda: (wrappers.Vmap(_cartpole()), _cartpole_policy),
    "vmap_auto_reset": lambda: (wrappers.VmapAutoReset(_cartpole()), _cartpole_policy),
    "catch_auto_reset": lambda: (wrappers.AutoReset(jit_env.make("Catch-v0")), _catch_policy),
    "catch_wrap_num_envs": lambda: (
        wrappers.wrap(jit_env.make("Catch-v0"), num_envs=3), _catch_policy),
    "point_mass_extras": lambda: (
        wrappers.AutoReset(wrappers.EpisodeStatistics(_envs.PointMass(horizon=4))), _point_policy),
}
PARAMS = jnp.float32(1.0)


def _reset(env, key, batch):
    if batch is None:
        return env.reset(key)
    return env.reset(jax.random.split(key, batch))  # Vmap and VmapAutoReset take a batch of keys.


def _batch(name):
    return 3 if name in ("vmap", "vmap_auto_reset") else None


def _loop(env, policy, key, num_steps, params, start=None, batch=None):
    """The hand-written reference: a Python loop of (jitted) env.step."""
    step = jax.jit(env.step)
    if start is None:
        reset_key, key = jax.random.split(key)
        start = _reset(env, reset_key, batch)
    state, timestep = start
    records = []
    for policy_key in jax.random.split(key, num_steps):
        action = policy(params, timestep.observation, policy_key)
        observation = timestep.observation
        state, timestep = step(state, action)
        extras = dict(timestep.extras) if timestep.extras is not None else None
        final = extras.pop(wrappers.FINAL_OBSERVATION, None) if extras is not None else None
        records.append(dict(observations=observation, actions=action, rewards=timestep.reward,
                            discounts=timestep.discount, step_types=timestep.step_type,
                            final_observation=final, extras=extras))
    stacked = jax.tree_util.tree_map(lambda *xs: np.stack(xs), *records)
    return (state, timestep), stacked


def _assert_trees_equal(actual, expected, exact=True):
    assert jax.tree_util.tree_structure(actual) == jax.tree_util.tree_structure(expected)
    for a, b in zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(expected),
                    strict=True):
        if jnp.issubdtype(jnp.result_type(a), jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape and a.dtype == b.dtype
        if exact or a.dtype.kind != "f":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _exact(name):
    return name.startswith("catch")


def _as_dict(trajectory):
    return {name: getattr(trajectory, name) for name in _rollout.FIELDS}


@pytest.mark.parametrize("name", list(ENVS))
def test_rollout__equals_python_loop_of_step(name):
    env, policy = ENVS[name]()
    batch = _batch(name)
    key = jax.random.key(3)
    if batch is not None:  # Vmap needs a batch of reset keys: start from a given reset.
        reset_key, key = jax.random.split(key)
        start = _reset(env, reset_key, batch)
    else:
        start = None
    (state, timestep), trajectory = jax.jit(
        _rollout.rollout, static_argnames=("env", "policy", "num_steps", "keep"))(
            env, policy, key, T, params=PARAMS, start=start)
    (want_state, want_timestep), want = _loop(env, policy, key, T, PARAMS, start=start)
    _assert_trees_equal(_as_dict(trajectory), want, _exact(name))
    _assert_trees_equal((state, timestep), (want_state, want_timestep), _exact(name))
    if name != "bare":  # The short time limit made episodes end inside the rollout.
        assert bool((trajectory.step_types != jit_env.StepType.MID).any())


def test_rollout__eager_equals_jit():
    env, policy = ENVS["wrap_num_envs"]()
    eager = jit_env.rollout(env, policy, jax.random.key(0), T, params=PARAMS)
    jitted = jax.jit(jit_env.rollout, static_argnums=(0, 1, 3))(
        env, policy, jax.random.key(0), T, params=PARAMS)
    _assert_trees_equal(eager, jitted)


def test_rollout__continues_from_start():
    env, policy = ENVS["auto_reset_same_step"]()
    first, _ = jit_env.rollout(env, policy, jax.random.key(0), 5, params=PARAMS)
    final, trajectory = jit_env.rollout(env, policy, jax.random.key(1), 7, params=PARAMS,
                                        start=first)
    want_final, want = _loop(env, policy, jax.random.key(1), 7, PARAMS, start=first)
    _assert_trees_equal(_as_dict(trajectory), want, exact=False)
    _assert_trees_equal(final, want_final, exact=False)
    np.testing.assert_array_equal(trajectory.observations[0], first[1].observation)


def test_rollout__shapes_and_dtypes_batched_stack():
    env, policy = ENVS["wrap_num_envs"]()
    _, trajectory = jax.eval_shape(
        lambda key: jit_env.rollout(env, policy, key, T, params=PARAMS), jax.random.key(0))
    shapes = jax.tree_util.tree_map(lambda x: (x.shape, str(x.dtype)), _as_dict(trajectory))
    assert shapes["observations"] == ((T, 4, 4), "float32")
    assert shapes["actions"] == ((T, 4), "int32")
    assert shapes["rewards"] == ((T, 4), "float32")
    assert shapes["discounts"] == ((T, 4), "float32")
    assert shapes["step_types"] == ((T, 4), "int8")
    assert shapes["final_observation"] == ((T, 4, 4), "float32")
    assert set(shapes["extras"]) == {wrappers.EPISODE}
    assert shapes["extras"][wrappers.EPISODE]["return"] == ((T, 4), "float32")


def test_rollout__without_auto_reset_has_no_final_observation_nor_extras():
    env, policy = ENVS["bare"]()
    _, trajectory = jit_env.rollout(env, policy, jax.random.key(0), T, params=PARAMS)
    assert trajectory.final_observation is None
    assert trajectory.extras is None


def test_rollout__final_observation_is_next_observation_unless_reset():
    env, policy = ENVS["auto_reset_same_step"]()
    (_, timestep), trajectory = jit_env.rollout(env, policy, jax.random.key(0), T, params=PARAMS)
    next_observations = np.concatenate([trajectory.observations[1:], timestep.observation[None]])
    reset = np.asarray(trajectory.step_types == jit_env.StepType.FIRST)
    assert reset.any() and not reset.all()
    np.testing.assert_array_equal(trajectory.final_observation[~reset], next_observations[~reset])
    assert not np.array_equal(trajectory.final_observation[reset], next_observations[reset])


def test_rollout__no_retrace_under_jit():
    env, policy = ENVS["wrap_num_envs"]()
    traces = []

    def counted(params, observation, key):
        traces.append(None)
        return policy(params, observation, key)

    fast = jax.jit(jit_env.rollout, static_argnames=("env", "policy", "num_steps", "keep"))
    first = fast(env, counted, jax.random.key(0), T, params=PARAMS)
    second = fast(env, counted, jax.random.key(1), T, params=jnp.float32(-1.0))
    _ = fast(env, counted, jax.random.key(2), T, params=PARAMS, start=second[0])
    assert len(traces) == 2  # The first call, and the call with `start` (a new input tree).
    _ = fast(env, counted, jax.random.key(3), T, params=PARAMS, start=first[0])
    assert len(traces) == 2
    keep = ("rewards",)
    fast(env, counted, jax.random.key(0), T, params=PARAMS, keep=keep)
    fast(env, counted, jax.random.key(1), T, params=PARAMS, keep=keep)
    assert len(traces) == 3


@pytest.mark.parametrize("keep", [("rewards",), ("observations", "step_types"), ()])
def test_rollout__keep_drops_the_other_arrays(keep):
    env, policy = ENVS["wrap_num_envs"]()
    full = jit_env.rollout(env, policy, jax.random.key(0), T, params=PARAMS)[1]
    final, kept = jax.jit(jit_env.rollout, static_argnums=(0, 1, 3), static_argnames="keep")(
        env, policy, jax.random.key(0), T, params=PARAMS, keep=keep)
    for name in _rollout.FIELDS:
        if name in keep:
            _assert_trees_equal(getattr(kept, name), getattr(full, name))
        else:
            assert getattr(kept, name) is None
    stored = sum(x.size for x in jax.tree_util.tree_leaves(kept))
    assert stored == sum(getattr(full, name).size for name in keep)
    assert isinstance(final[1], jit_env.TimeStep)


def test_rollout__bad_keep_raises():
    env, policy = ENVS["bare"]()
    with pytest.raises(ValueError) as info:
        jit_env.rollout(env, policy, jax.random.key(0), T, keep=("rewards", "obs"))
    assert str(info.value) == _rollout.ERR_KEEP.format(
        fields=", ".join(_rollout.FIELDS), unknown=["obs"])
    with pytest.raises(TypeError) as info:
        jit_env.rollout(env, policy, jax.random.key(0), T, keep="rewards")
    assert str(info.value) == _rollout.ERR_KEEP_STRING.format("rewards", "rewards")


@pytest.mark.parametrize("num_steps", [0, -1, 2.0, True])
def test_rollout__bad_num_steps_raises(num_steps):
    env, policy = ENVS["bare"]()
    with pytest.raises(ValueError) as info:
        jit_env.rollout(env, policy, jax.random.key(0), num_steps)
    assert str(info.value) == _rollout.ERR_NUM_STEPS.format(num_steps)


@pytest.mark.parametrize("name", ["auto_reset_next_step", "catch_auto_reset",
                                  "point_mass_extras"])
def test_rollout_batch__equals_loop_per_key(name):
    env, policy = ENVS[name]()
    keys = jax.random.split(jax.random.key(5), 3)
    final, trajectory = jax.jit(jit_env.rollout_batch, static_argnums=(0, 1, 3))(
        env, policy, keys, T, params=PARAMS)
    for i in range(3):
        want_final, want = _loop(env, policy, keys[i], T, PARAMS)
        row = jax.tree_util.tree_map(lambda x, i=i: x[i], (final, _as_dict(trajectory)))
        _assert_trees_equal(row, (want_final, want), _exact(name))


@pytest.mark.parametrize("name", ["catch_auto_reset", "point_mass_extras"])
def test_rollout_population__equals_loop_per_member(name):
    env, policy = ENVS[name]()
    members = jnp.asarray([1.0, -1.0, 0.5, 0.0], jnp.float32)
    keys = jax.random.split(jax.random.key(7), 4)
    final, trajectory = jax.jit(jit_env.rollout_population, static_argnums=(0, 1, 3))(
        env, policy, keys, T, params=members)
    for i in range(4):
        want_final, want = _loop(env, policy, keys[i], T, members[i])
        row = jax.tree_util.tree_map(lambda x, i=i: x[i], (final, _as_dict(trajectory)))
        _assert_trees_equal(row, (want_final, want), _exact(name))
    assert trajectory.actions.shape[:2] == (4, T)


def test_rollout_population__same_key_gives_common_random_numbers():
    env, policy = ENVS["auto_reset_same_step"]()
    keys = jnp.stack([jax.random.key(7)] * 2)
    _, trajectory = jit_env.rollout_population(
        env, policy, keys, T, params=jnp.asarray([1.0, 1.0], jnp.float32))
    np.testing.assert_array_equal(trajectory.observations[0], trajectory.observations[1])


def test_rollout__doctests_pass():
    result = doctest.testmod(_rollout)
    assert result.attempted > 0 and result.failed == 0
