"""One batch of CartPole sub-environments split across devices with `wrappers.Shard`.

Each device steps (and auto-resets) its own batch; nothing crosses devices
inside `step`. On one CPU host, make several devices with

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/sharded.py

On several hosts, call `jax.distributed.initialize()` first on every process:
the mesh below then spans every process's devices, and each process sees the
rows of its own devices in ``x.addressable_shards``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import jit_env
from jit_env import wrappers


def main(argv: list[str] | None = None) -> None:
    # The whole docstring: it says how to get several devices on one CPU host.
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-device", type=int, default=256, help="sub-environments per device (256)")
    parser.add_argument("--steps", type=int, default=200, help="steps of the random rollout (200)")
    args = parser.parse_args(argv)

    mesh = jax.make_mesh((jax.device_count(),), ("envs",))
    per_device = wrappers.wrap(jit_env.make("CartPole-v1"), num_envs=args.per_device, jit=False)
    env = wrappers.Shard(per_device, mesh=mesh, axis_name="envs")
    print(f"{env!r}: {env.num_devices} devices x {env.num_per_device} = {env.num_envs} sub-environments")

    @jax.jit
    def rollout(state: object, key: jax.Array) -> tuple[object, jax.Array, jax.Array]:
        def body(state: object, key: jax.Array) -> tuple[object, tuple[jax.Array, jax.Array]]:
            # A random policy; any jitted policy of the time step works the same way.
            action = jax.random.randint(key, (env.num_envs,), 0, 2)
            state, ts = env.step(state, action)
            stats = ts.extras["episode"]
            return state, (jnp.sum(jnp.where(stats["done"], stats["return"], 0.0)), jnp.sum(stats["done"]))

        state, (returns, episodes) = jax.lax.scan(body, state, jax.random.split(key, args.steps))
        return state, jnp.sum(returns), jnp.sum(episodes)

    state, timestep = jax.jit(env.reset)(jax.random.key(0))
    print("observation", timestep.observation.shape, timestep.observation.sharding)
    state, total, episodes = rollout(state, jax.random.key(1))
    print(f"{int(episodes)} episodes finished in {args.steps} steps, mean return "
          f"{float(total) / max(int(episodes), 1):.1f} (random policy)")


if __name__ == "__main__":
    main()
