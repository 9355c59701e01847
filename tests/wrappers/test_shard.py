"""Shard: a batch split across the devices of a mesh axis gives what the devices' batches
give when run one after another on one device.

JAX fixes the number of devices when it starts, so every test runs its body in a fresh
interpreter with four forced host devices (``XLA_FLAGS``), under the suite's strict
promotion settings.
"""

import os
import subprocess
import sys
import textwrap

import jax
import pytest

from jit_env import wrappers

pytestmark = pytest.mark.integration

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PRELUDE = """
import re
import jax
import jax.numpy as jnp
import numpy as np
import pytest
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
import jit_env
from jax.sharding import NamedSharding, PartitionSpec as P
from jit_env import wrappers
from jit_env.wrappers import _shard
assert jax.device_count() == 4, jax.devices()
"""


def _run(body: str) -> str:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": ROOT}
    code = PRELUDE + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


# Each case builds (per-device batch `inner`, Shard `env`) from `base` and `mesh`.
CASES = {
    "wrap_same_step": """
        inner = wrappers.wrap(base, num_envs=3, jit=False)
        env = wrappers.Shard(inner, mesh=mesh, axis_name="envs")
        inner_reset = inner.reset
    """,
    "vmap_precomputed_next_step": """
        inner = wrappers.VmapAutoReset(wrappers.EpisodeStatistics(base), mode="next_step",
                                       strategy="precomputed", pool_size=5)
        env = wrappers.Shard(inner, mesh=mesh, axis_name="envs", num_envs=12)
        inner_reset = lambda key: inner.reset(jax.random.split(key, 3))
    """,
    "tile_optimistic_on_a_2d_mesh": """
        mesh = jax.make_mesh((4, 1), ("envs", "model"))
        inner = wrappers.TileAutoReset(wrappers.EpisodeStatistics(base), 3, strategy="optimistic",
                                       num_resets=1)
        env = wrappers.Shard(inner, mesh=mesh, axis_name="envs")
        inner_reset = inner.reset
    """,
}

EQUIVALENCE = """
base = jit_env.make("CartPole-v1", max_episode_steps=12)
mesh = jax.make_mesh((4,), ("envs",))
{case}
steps = 50
keys = jax.random.split(jax.random.key(1), steps)
actions = jax.vmap(lambda k: jax.random.randint(k, (12,), 0, 2))(keys)

def scan(env, state, actions):
    return jax.lax.scan(lambda s, a: env.step(s, a), state, actions)

state, first = jax.jit(env.reset)(jax.random.key(0))
_, sharded = jax.jit(lambda s, a: scan(env, s, a))(state, actions)
sharded = jax.tree.map(np.asarray, (first, sharded))

# The same per-device batches, one after another on one device.
for d in range(4):
    rows = slice(3 * d, 3 * d + 3)
    ref_state, ref_first = jax.jit(inner_reset)(jax.random.fold_in(jax.random.key(0), d))
    _, ref = jax.jit(lambda s, a: scan(inner, s, a))(ref_state, actions[:, rows])
    for got, want in zip(jax.tree.leaves(sharded[0]), jax.tree.leaves(ref_first), strict=True):
        np.testing.assert_array_equal(got[rows], np.asarray(want))
    got_steps, want_steps = sharded[1], jax.tree.map(np.asarray, ref)
    np.testing.assert_array_equal(got_steps.observation[:, rows], want_steps.observation)
    np.testing.assert_array_equal(got_steps.reward[:, rows], want_steps.reward)
    np.testing.assert_array_equal(got_steps.discount[:, rows], want_steps.discount)
    np.testing.assert_array_equal(got_steps.step_type[:, rows], want_steps.step_type)
    for name in ("return", "length", "done"):
        np.testing.assert_array_equal(got_steps.extras["episode"][name][:, rows],
                                      want_steps.extras["episode"][name])
    np.testing.assert_array_equal(got_steps.extras["final_observation"][:, rows],
                                  want_steps.extras["final_observation"])
# The devices' batches differ (own keys), and episodes did end and restart on every device.
assert not np.array_equal(sharded[0].observation[:3], sharded[0].observation[3:6])
assert all(sharded[1].extras["episode"]["done"][:, 3 * d:3 * d + 3].any() for d in range(4))
print("checked")
"""


@pytest.mark.parametrize("case", sorted(CASES))
def test_shard__equals_the_per_device_batches_run_one_after_another(case):
    assert _run(EQUIVALENCE.format(case=textwrap.dedent(CASES[case]))).strip() == "checked"


def test_shard__time_steps_and_states_are_sharded_over_the_mesh_axis():
    out = _run("""
        for axis_type in (jax.sharding.AxisType.Explicit, jax.sharding.AxisType.Auto):
            mesh = jax.make_mesh((4,), ("envs",), axis_types=(axis_type,))
            base = jit_env.make("CartPole-v1")
            env = wrappers.Shard(wrappers.TileAutoReset(base, 2, strategy="precomputed", pool_size=3),
                                 mesh=mesh, axis_name="envs")
            expected = NamedSharding(mesh, P("envs"))
            assert env.sharding == expected
            state, ts = jax.jit(env.reset)(jax.random.key(0))
            assert state.pool_state.inner.x.shape == (4, 3), state.pool_state.inner.x.shape
            assert ts.observation.shape == (8, 4)
            for _ in range(2):  # Eager, then jitted in a scan.
                for leaf in jax.tree.leaves((state, ts)):
                    assert leaf.sharding.is_equivalent_to(expected, leaf.ndim), leaf.sharding
                    assert leaf.shape[0] in (4, 8)
                actions = jnp.zeros((5, 8), jnp.int32)  # Replicated: Shard lays them out.
                state, ts = jax.jit(lambda s, a: jax.lax.scan(
                    lambda s, a: (lambda s, t: (s, t))(*env.step(s, a)), s, a))(state, actions)
                ts = jax.tree.map(lambda x: x[-1], ts)
                state, ts = env.step(state, np.zeros(8, np.int32))
            assert env.observation_spec().num == 8 and env.reward_spec().shape == (8,)
            assert env.discount_spec().shape == (8,) and env.action_spec().num == 8
        print("checked")
    """)
    assert out.strip() == "checked"


def test_shard__refuses_an_unbatched_env_and_a_batch_the_mesh_does_not_divide():
    out = _run("""
        mesh = jax.make_mesh((4,), ("envs",))
        base = jit_env.make("CartPole-v1")
        with pytest.raises(ValueError, match=re.escape(_shard.ERR_NOT_BATCHED.format(base))):
            wrappers.Shard(base, mesh=mesh, axis_name="envs")
        single = wrappers.AutoReset(base)
        with pytest.raises(ValueError, match=re.escape(_shard.ERR_NOT_BATCHED.format(single))):
            wrappers.Shard(single, mesh=mesh, axis_name="envs")
        with pytest.raises(ValueError, match=re.escape(_shard.ERR_INDIVISIBLE.format(10, 4, "envs", 4))):
            wrappers.Shard(wrappers.VmapAutoReset(base), mesh=mesh, axis_name="envs", num_envs=10)
        vmapped = wrappers.VmapAutoReset(base)
        with pytest.raises(ValueError, match=re.escape(_shard.ERR_NUM_ENVS_REQUIRED.format(vmapped, 4, "envs"))):
            wrappers.Shard(vmapped, mesh=mesh, axis_name="envs")
        with pytest.raises(ValueError, match=re.escape(_shard.ERR_AXIS.format("batch", ("envs",)))):
            wrappers.Shard(wrappers.Tile(base, 2), mesh=mesh, axis_name="batch")
        print("checked")
    """)
    assert out.strip() == "checked"


def test_shard__one_device_mesh_in_process_matches_the_inner_batch():
    # Runs in the suite's own process, whatever its device count: a one-device mesh.
    mesh = jax.make_mesh((1,), ("envs",), devices=jax.devices()[:1])
    import jit_env

    inner = wrappers.wrap(jit_env.make("CartPole-v1", max_episode_steps=5), num_envs=4, jit=False)
    env = wrappers.Shard(inner, mesh=mesh, axis_name="envs")
    assert repr(env).startswith("Shard(")
    key = jax.random.key(3)
    state, ts = jax.jit(env.reset)(key)
    ref_state, ref_ts = jax.jit(inner.reset)(jax.random.fold_in(key, 0))
    action = jax.numpy.ones((4,), jax.numpy.int32)
    for _ in range(7):
        state, ts = jax.jit(env.step)(state, action)
        ref_state, ref_ts = jax.jit(inner.step)(ref_state, action)  # Both compiled: same fusion.
        assert ts == ref_ts


def test_shard__works_and_passes_check_env_on_explicit_and_auto_meshes():
    # Before, on jax.make_mesh's explicit axes: render raised ShardingTypeError, options_in_axes=0
    # failed ("in_specs ... does not match"), check_env reported a false 'retrace' over TileAutoReset
    # and a 'structure' failure over VmapAutoReset, which ExtendObservation could not wrap.
    out = _run("""
        from jit_env import envs, testing
        for axis_type in (jax.sharding.AxisType.Explicit, jax.sharding.AxisType.Auto):
            mesh = jax.make_mesh((4,), ("envs",), axis_types=(axis_type,))
            base = jit_env.make("CartPole-v1", max_episode_steps=4)
            tiled = wrappers.Shard(wrappers.TileAutoReset(base, 2), mesh=mesh, axis_name="envs")
            vmapped = wrappers.Shard(wrappers.VmapAutoReset(base), mesh=mesh, axis_name="envs", num_envs=8)
            for env in (tiled, vmapped):
                testing.check_env(env, num_steps=6)
                assert env.observation_spec().generate_value().shape == (8, 4)
                state, _ = jax.jit(env.reset)(jax.random.key(0))
                frames = env.render(state)
                assert frames.shape[0] == 8 and frames.dtype == np.uint8, frames.shape
            extended = wrappers.ExtendObservation.pomdp_fields(vmapped)
            state, ts = jax.jit(extended.reset)(jax.random.key(0))
            assert ts.observation.step_type.shape == (8,), ts.observation
            cartpole = envs.CartPole(per_episode_params=True)
            per_row = wrappers.Shard(wrappers.Tile(cartpole, 2, options_in_axes=0), mesh=mesh,
                                     axis_name="envs", options_in_axes=0)
            gravity = jnp.arange(8, dtype=jnp.float32)  # A plain, unsharded array.
            state, ts = jax.jit(lambda k, o: per_row.reset(k, options=o))(jax.random.key(0), {"gravity": gravity})
            np.testing.assert_array_equal(np.asarray(state.options.gravity).reshape(-1), np.asarray(gravity))
            state, ts = per_row.reset(jax.random.key(0), options={"gravity": np.arange(8, dtype=np.float32)})
            assert ts.observation.shape == (8, 4)
        print("checked")
    """)
    assert out.strip() == "checked"


def test_shard__refuses_an_action_of_the_wrong_shape_naming_its_spec():
    out = _run("""
        from jit_env.wrappers import _common
        from jit_env import specs
        mesh = jax.make_mesh((4,), ("envs",))
        env = wrappers.Shard(wrappers.TileAutoReset(jit_env.make("CartPole-v1"), 2), mesh=mesh, axis_name="envs")
        state, _ = jax.jit(env.reset)(jax.random.key(0))
        detail = specs.ERR_SHAPE.format(spec="Array spec 'action'", expected=(8,), got=(4,))
        message = _common.ERR_ACTION.format(env=env, spec=env.action_spec(), detail=detail, name="Shard")
        with pytest.raises(ValueError, match=re.escape(message)):
            jax.jit(env.step)(state, jnp.zeros(4, jnp.int32))
        print("checked")
    """)
    assert out.strip() == "checked"
