"""One process of tests/test_multiprocess.py: Shard over a mesh spanning every process's devices.

    python tests/multiprocess_worker.py PROCESS_ID NUM_PROCESSES PORT PHASE ROOT

Each process has ``4 // NUM_PROCESSES`` forced CPU devices; with more than one
process they join through `jax.distributed.initialize` on localhost. Phase
``run`` resets, steps `K` times, saves a checkpoint and steps `M` more; phase
``resume`` restores that checkpoint and steps the same `M`. Each process feeds
the actions of its own rows and writes the rows it holds of the last `M` time
steps to ``ROOT/PHASE-NUM_PROCESSES-PROCESS_ID.npz``.
"""

from __future__ import annotations

import os
import sys

process_id, num_processes, port, phase, root = (
    int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={4 // num_processes}"

import jax  # noqa: E402

if num_processes > 1:
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=num_processes,
                               process_id=process_id)

import numpy as np  # noqa: E402
from jax.sharding import NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import jit_env  # noqa: E402
from jit_env import checkpoint, wrappers  # noqa: E402

K, M, ROWS = 6, 10, 8
assert jax.device_count() == 4 and jax.process_count() == num_processes

mesh = jax.make_mesh((4,), ("envs",))
rows = NamedSharding(mesh, P("envs"))
env = wrappers.Shard(wrappers.TileAutoReset(jit_env.make("CartPole-v1", max_episode_steps=5), ROWS // 4),
                     mesh=mesh, axis_name="envs")
reset, step = jax.jit(env.reset), jax.jit(env.step)
# This process's rows of the global batch (the mesh orders devices by process).
mine = np.sort(np.concatenate([np.arange(ROWS)[index] for index in rows.addressable_devices_indices_map(
    (ROWS,)).values()]))


def actions(t: int) -> jax.Array:
    """The actions of step `t`; every process supplies only its own rows."""
    local = ((t * 7 + mine * 3) // 2 % 2).astype(np.int32)
    return jax.make_array_from_process_local_data(rows, local, (ROWS,))


def local_rows(x: jax.Array) -> np.ndarray:
    shards = sorted(x.addressable_shards, key=lambda s: s.index[0].start or 0)
    return np.concatenate([np.asarray(s.data) for s in shards])


ckpt = os.path.join(root, "ckpt")
state, _ = reset(jax.random.key(0))
if phase == "run":
    for t in range(K):
        state, _ = step(state, actions(t))
    checkpoint.save(ckpt, state, overwrite=True)
else:
    state = checkpoint.restore(ckpt, like=state)
out: dict[str, list[np.ndarray]] = {"observation": [], "reward": [], "discount": [], "step_type": []}
for t in range(K, K + M):
    state, timestep = step(state, actions(t))
    for name in out:
        out[name].append(local_rows(getattr(timestep, name)))
np.savez(os.path.join(root, f"{phase}-{num_processes}-{process_id}.npz"), rows=mine,
         **{name: np.stack(values) for name, values in out.items()})
