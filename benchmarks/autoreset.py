"""Auto-reset strategies side by side: throughput as a ratio to stepping without auto-reset.

For each env (a cheap one, and one whose reset is expensive) and each batch size
N, every configuration runs the same jitted `lax.scan` of random-policy steps;
the table prints each strategy's throughput divided by the throughput of the
same batch stepped with no auto-reset (`Tile`), measured in the same run, in
interleaved rounds, taking the median. Higher is better; 1.0 means auto-reset
is free.

    python benchmarks/autoreset.py [--sizes 64 1024 4096] [--steps 200] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import jax
import jax.numpy as jnp

import jit_env
from jit_env import specs, wrappers


@jit_env.dataclass
class WalkState:
    key: jax.Array
    position: jax.Array
    field: jax.Array


class RandomWalk(jit_env.Environment[WalkState, jax.Array, jax.Array]):
    """A cheap env: a 1-D walk, terminated at +-`bound`.

    With `reset_cost > 0` the reset also generates a 32x32 "level" by iterating
    a nonlinear map `reset_cost` times, like a procedural level generator: an
    expensive reset and a cheap step.
    """

    def __init__(self, bound: float = 4.0, reset_cost: int = 0):
        super().__init__()
        self.bound = bound
        self.reset_cost = reset_cost

    def reset(self, key: jax.Array, *, options: Any = None) -> Any:
        key, level_key = jax.random.split(key)
        field = jnp.zeros((4,), jnp.float32)
        if self.reset_cost:
            level = jax.random.uniform(level_key, (32, 32), jnp.float32)
            level = jax.lax.fori_loop(0, self.reset_cost, lambda _, m: jnp.tanh(m @ m.T * 0.05 + m), level)
            field = level[:4, 0]
        state = WalkState(key=key, position=jnp.zeros((), jnp.float32), field=field)
        return state, jit_env.restart(jnp.stack([state.position, field[0]]))

    def step(self, state: WalkState, action: jax.Array) -> Any:
        position = state.position + action.astype(jnp.float32) * 2.0 - 1.0
        state = WalkState(key=state.key, position=position, field=state.field)
        obs = jnp.stack([position, state.field[0]])
        reward = jnp.abs(position)
        return state, jax.lax.cond(
            jnp.abs(position) >= self.bound,
            lambda: jit_env.termination(reward, obs),
            lambda: jit_env.transition(reward, obs),
        )

    def observation_spec(self) -> specs.Spec[Any]:
        return specs.Array((2,), jnp.float32)

    def action_spec(self) -> specs.Spec[Any]:
        return specs.DiscreteArray(2)

    def reward_spec(self) -> specs.Spec[Any]:
        return specs.Array((), jnp.float32)

    def discount_spec(self) -> specs.Spec[Any]:
        return specs.BoundedArray((), jnp.float32, 0.0, 1.0)


def make_runner(env: jit_env.Environment[Any, Any, Any], num: int, steps: int) -> Any:
    """A jitted function running `steps` random steps of a batch of `num` from a given state."""

    def body(carry: Any, key: jax.Array) -> Any:
        state = carry
        action = env.action_spec().sample(key)  # A random policy, part of every configuration.
        state, timestep = env.step(state, action)
        return state, jnp.sum(timestep.reward)

    @jax.jit
    def run(state: Any, key: jax.Array) -> Any:
        state, rewards = jax.lax.scan(body, state, jax.random.split(key, steps))
        return state, jnp.sum(rewards)

    return run


def configurations(base: jit_env.Environment[Any, Any, Any], num: int) -> dict[str, Any]:
    m = max(1, num // 32)
    return {
        "none": wrappers.Tile(base, num),
        "complete": wrappers.TileAutoReset(base, num, strategy="complete"),
        f"optimistic(M={m})": wrappers.TileAutoReset(base, num, strategy="optimistic", num_resets=m),
        "precomputed": wrappers.TileAutoReset(base, num, strategy="precomputed", pool_size=min(num, 256)),
    }


def measure(base: jit_env.Environment[Any, Any, Any], num: int, steps: int, rounds: int) -> dict[str, float]:
    runs = {}
    for name, env in configurations(base, num).items():
        run = make_runner(env, num, steps)
        state, _ = env.reset(jax.random.key(0))
        jax.block_until_ready(run(state, jax.random.key(1)))  # compile
        runs[name] = (run, state)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):  # Interleave so that machine noise hits all alike.
        for name, (run, state) in runs.items():
            start = time.perf_counter()
            jax.block_until_ready(run(state, jax.random.key(r + 2)))
            times[name].append(time.perf_counter() - start)
    base_time = statistics.median(times["none"])
    return {name: base_time / statistics.median(t) for name, t in times.items() if name != "none"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 1024, 4096])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reset-cost", type=int, default=64)
    args = parser.parse_args()
    envs = {
        "cheap: random walk": RandomWalk(),
        "cheap: CartPole-v1": jit_env.make("CartPole-v1"),
        f"expensive reset ({args.reset_cost} iters)": RandomWalk(reset_cost=args.reset_cost),
    }
    print(f"Throughput relative to stepping without auto-reset (higher is better), "
          f"{args.steps} steps x {args.rounds} rounds, median; backend {jax.default_backend()}")
    header = f"{'env':<28} {'N':>5}  {'complete':>9} {'optimistic':>16} {'precomputed':>12}  opt/compl  pre/compl"
    print(header)
    print("-" * len(header))
    for env_name, env in envs.items():
        for num in args.sizes:
            ratios = measure(env, num, args.steps, args.rounds)
            (opt_name,) = [k for k in ratios if k.startswith("optimistic")]
            print(f"{env_name:<28} {num:>5}  {ratios['complete']:>9.2f} {ratios[opt_name]:>9.2f}{opt_name[10:]:>7} "
                  f"{ratios['precomputed']:>12.2f}  {ratios[opt_name] / ratios['complete']:>9.2f} "
                  f"{ratios['precomputed'] / ratios['complete']:>9.2f}")


if __name__ == "__main__":
    main()
