"""One batch of CartPole sub-environments split across devices with `wrappers.Shard`, in one process or many.

Each device steps (and auto-resets) its own rows; nothing crosses devices
inside `step`. On one CPU host, make several devices with

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/sharded.py

Several processes share one mesh once each has called
`jax.distributed.initialize`; each then feeds the actions of the rows its own
devices hold. Try it on one machine: P processes of 2 CPU devices each, joined
on localhost, print the same totals as the one process with 2 * P devices above:

    python examples/sharded.py --launch-local 2

On a cluster every process runs the same command: `--distributed` under SLURM
(one task per GPU) or on a TPU pod slice, where JAX reads the coordinator, the
number of processes and each one's index from the environment; elsewhere give
them as `--coordinator HOST:PORT --num-processes P --process-id I`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import re
import socket
import subprocess
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import jit_env
from jit_env import wrappers

TOTALS = "totals:"  # The line every process prints alike; --launch-local checks that they agree.


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    # The whole docstring: it says how to get several devices, or processes, on one host.
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-device", type=int, default=256, help="sub-environments per device (256)")
    parser.add_argument("--steps", type=int, default=200, help="steps of the random rollout (200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resets and of every row's actions (0)")
    parser.add_argument("--checkpoint-dir", help="save the last state here as step-T (needs orbax-checkpoint); "
                        "if it holds one, continue from the latest: the run goes on as if never stopped")
    dist = parser.add_argument_group("several processes (jax.distributed.initialize)")
    dist.add_argument("--distributed", action="store_true",
                      help="initialize with whatever the three flags below leave unset read from the cluster "
                      "(SLURM, Cloud TPU, Open MPI, Kubernetes); implied by any of them")
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0's coordinator service")
    dist.add_argument("--num-processes", type=int, help="how many processes share the mesh")
    dist.add_argument("--process-id", type=int, help="this process's index, 0 .. num-processes - 1")
    dist.add_argument("--launch-local", type=int, metavar="P",
                      help="start P processes of this script on localhost (forced CPU devices), print process "
                      "0's output and check that every process printed the same totals")
    dist.add_argument("--devices-per-process", type=int, default=2,
                      help="CPU devices of each process that --launch-local starts (2)")
    args = parser.parse_args(argv)
    for name in ("per_device", "steps", "launch_local", "devices_per_process"):
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive int, got {value}.")
    if args.checkpoint_dir and os.path.exists(args.checkpoint_dir) and not os.path.isdir(args.checkpoint_dir):
        parser.error(f"--checkpoint-dir must be a directory (new or holding step-T checkpoints), got the file "
                     f"{args.checkpoint_dir}.")
    if args.launch_local is not None and (args.distributed or args.coordinator or args.num_processes is not None
                                          or args.process_id is not None):
        parser.error("--launch-local chooses the coordinator, the number of processes and their ids itself; "
                     "drop --distributed, --coordinator, --num-processes and --process-id.")
    return args


def launch_local(num_processes: int, devices: int, argv: list[str]) -> int:
    """Runs `num_processes` copies of this script on localhost, joined through a free port.

    Returns the exit status: 0 when every process succeeded and printed the same totals.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", ""))
    env = {**os.environ, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={devices}".strip()}
    command = [sys.executable, *(f"-W{w}" for w in sys.warnoptions), os.path.abspath(__file__), *argv,
               "--coordinator", f"127.0.0.1:{port}", "--num-processes", str(num_processes)]
    with tempfile.TemporaryDirectory() as logs:
        paths = [pathlib.Path(logs, f"process-{i}.log") for i in range(num_processes)]
        procs = []
        for i, path in enumerate(paths):
            with open(path, "w") as log:
                procs.append(subprocess.Popen([*command, "--process-id", str(i)], env=env,
                                              stdout=log, stderr=subprocess.STDOUT))
        try:  # One failed process leaves the others waiting for it: stop them all (also on Ctrl-C).
            while any(p.poll() is None for p in procs) and not any(p.poll() for p in procs):
                time.sleep(0.1)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                p.wait()
        outputs = [path.read_text() for path in paths]
    for i, (p, out) in enumerate(zip(procs, outputs, strict=True)):
        if p.returncode:
            print(f"process {i} of {num_processes} failed (exit status {p.returncode}):\n{out}", file=sys.stderr)
            return 1
    print(outputs[0], end="")
    totals = [[line for line in out.splitlines() if line.startswith(TOTALS)] for out in outputs]
    if any(t != totals[0] or len(t) != 1 for t in totals):
        print(f"the {num_processes} processes disagree:\n" + "\n".join(map(str, totals)), file=sys.stderr)
        return 1
    print(f"launch-local: the {num_processes} processes printed the same totals")
    return 0


def saved_steps(directory: str) -> list[int]:
    """The step counts of the checkpoints `step-T` in `directory`, oldest first."""
    names = os.listdir(directory) if os.path.isdir(directory) else []
    return sorted(int(m.group(1)) for m in map(re.compile(r"step-(\d+)").fullmatch, names) if m)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.launch_local is not None:
        # The same run in every process, told where the others are.
        rest = ["--per-device", str(args.per_device), "--steps", str(args.steps), "--seed", str(args.seed)]
        if args.checkpoint_dir:
            rest += ["--checkpoint-dir", os.path.abspath(args.checkpoint_dir)]
        sys.exit(launch_local(args.launch_local, args.devices_per_process, rest))
    if args.distributed or args.coordinator or args.num_processes is not None or args.process_id is not None:
        # Before any other JAX call. Unset arguments are read from the cluster's environment.
        try:
            jax.distributed.initialize(coordinator_address=args.coordinator, num_processes=args.num_processes,
                                       process_id=args.process_id)
        except ValueError as e:  # Outside a cluster JAX knows, with a flag missing.
            sys.exit(f"jax.distributed.initialize: {e} Give --coordinator HOST:PORT, --num-processes and "
                     "--process-id, or run under SLURM, on Cloud TPU, under mpirun or Kubernetes.")

    mesh = jax.make_mesh((jax.device_count(),), ("envs",))
    per_device = wrappers.wrap(jit_env.make("CartPole-v1"), num_envs=args.per_device, jit=False)
    env = wrappers.Shard(per_device, mesh=mesh, axis_name="envs")
    print(f"{env!r}: {env.num_devices} devices x {env.num_per_device} = {env.num_envs} sub-environments")
    # The rows this process's devices hold (the mesh orders devices by process, so they are contiguous).
    indices = env.sharding.addressable_devices_indices_map((env.num_envs,)).values()
    rows = np.unique(np.concatenate([np.arange(env.num_envs)[index] for index in indices]))
    print(f"process {jax.process_index()} of {jax.process_count()}: {jax.local_device_count()} devices, "
          f"rows {rows[0]}..{rows[-1]}")

    @jax.jit
    def rollout(state: object, observation: jax.Array, actions: jax.Array) -> tuple[object, ...]:
        """Steps with `actions`, (steps, num_envs) int32: the state, the last observations, two sums."""

        def body(carry: tuple[object, ...], action: jax.Array) -> tuple[tuple[object, ...], None]:
            state, _, returns, episodes = carry
            state, ts = env.step(state, action)
            stats = ts.extras["episode"]
            # Per row, so nothing crosses devices until the sums at the end.
            return (state, ts.observation, returns + jnp.where(stats["done"], stats["return"], 0.0),
                    episodes + stats["done"]), None

        zeros = jnp.zeros_like(observation[:, 0])
        carry = (state, observation, zeros, zeros.astype(jnp.int32))
        (state, observation, returns, episodes), _ = jax.lax.scan(body, carry, actions)
        return state, observation, jnp.sum(returns), jnp.sum(episodes)

    state, timestep = jax.jit(env.reset)(jax.random.key(args.seed))
    start = 0
    if args.checkpoint_dir:
        from jit_env import checkpoint  # Only here: orbax-checkpoint is an optional dependency.

        if saved := saved_steps(args.checkpoint_dir):
            start = saved[-1]
            state = checkpoint.restore(os.path.join(args.checkpoint_dir, f"step-{start}"), like=state)
            print(f"restored step-{start} from {args.checkpoint_dir}")

    # A random policy whose actions this process draws for its own rows only, each row from
    # its own stream (seeded by the row's index), so no layout of processes changes them.
    # A jitted policy of `timestep` needs none of this: its actions are sharded like the rows.
    dtype = env.action_spec().generate_value().dtype  # (num_envs,) int32
    local = np.stack([np.random.default_rng([args.seed, int(row)]).integers(0, 2, start + args.steps)[start:]
                      for row in rows], axis=1).astype(dtype)
    actions = jax.make_array_from_process_local_data(NamedSharding(mesh, P(None, "envs")), local,
                                                     (args.steps, env.num_envs))
    state, observation, total, episodes = rollout(state, timestep.observation, actions)
    if args.checkpoint_dir:
        # Every process calls save with the same path; each writes the shards it holds.
        checkpoint.save(os.path.join(args.checkpoint_dir, f"step-{start + args.steps}"), state)
        print(f"saved step-{start + args.steps} in {args.checkpoint_dir}")

    # Every process gathers the whole batch's last observations (all rows) to print one digest.
    whole = np.ascontiguousarray(multihost_utils.process_allgather(observation, tiled=True))
    digest = hashlib.sha256(whole.tobytes()).hexdigest()[:16]
    print(f"{int(episodes)} episodes finished in steps {start}..{start + args.steps}, mean return "
          f"{float(total) / max(int(episodes), 1):.1f} (random policy)")
    print(f"{TOTALS} {int(episodes)} episodes, returns {float(total):.1f}, observations {whole.shape} "
          f"sha256 {digest}")


if __name__ == "__main__":
    main()
