"""PPO on CartPole-v1 in pure JAX: environment, rollout and update in one jitted program.

    python examples/ppo.py --seed 0 --out ppo_cartpole.csv
    python examples/ppo.py --short          # 4 small updates, for CI

Needs the example dependencies: ``pip install "jit_env[examples]"`` (optax).

The environment is ``wrappers.wrap(jit_env.make("CartPole-v1"), num_envs=N)``:
the registered 500-step time limit, `EpisodeStatistics`, `TileAutoReset` in
same-step mode. Two things in the rollout come straight from jit_env's contract
(docs/semantics.md):

* the step on which an episode ends already holds the next episode's first
  observation, so the value to bootstrap from is that of
  ``extras["final_observation"]`` (the terminal observation), weighted by the
  step's ``discount``: 0 on a termination, 1 on a truncation at the time limit,
  so a pole still standing after 500 steps is not treated as a failure;
* the logged returns are ``extras["episode"]["return"]`` where
  ``extras["episode"]["done"]``: the totals of the episodes that ended.

Stabilisers, as CleanRL's PPO has them: the learning rate anneals linearly to 0
over training, gradients are clipped to a global norm of 0.5, and the value loss
is clipped (the larger of the plain squared error and that of the value moved at
most ``clip_eps`` from the rollout's value; ``--no-clip-value-loss`` turns it
off), with an entropy bonus of 0.005. Advantages are not normalised per minibatch
(a common PPO default): with correct truncation bootstrapping, once the policy
balances the pole to the time limit the advantages are close to zero, and
normalising them to unit variance turns that noise into full-size policy steps:
in our runs the policy then fell back after reaching 500 on some seeds. Ten
epochs per rollout keep learning fast. docs/index.md has the results of three
seeds and of the variants tried on the way.

Training is one `jax.jit` of a `lax.scan` over updates; the learning curve
(env steps against the mean return of the episodes that ended in each update)
comes back at the end and is printed, and written with ``--out``. After
training, the greedy policy (argmax of the logits) runs for 500 steps on fresh
environments, and the mean return of those episodes is printed too.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jit_env
from jit_env import wrappers


@dataclasses.dataclass(frozen=True)
class Config:
    """Hyperparameters (static: changing one recompiles)."""

    num_envs: int = 16
    num_steps: int = 128  # Rollout length per update, per environment.
    num_updates: int = 244
    epochs: int = 10
    num_minibatches: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    entropy_coef: float = 0.005
    value_coef: float = 0.5
    clip_value_loss: bool = True  # See the module docstring.
    max_grad_norm: float = 0.5
    hidden: int = 64
    normalize_advantages: bool = False  # See the module docstring.


class Transition(NamedTuple):
    observation: jax.Array   # (N, obs_dim) float32, what the policy saw
    action: jax.Array        # (N,) int32
    log_prob: jax.Array      # (N,) float32
    value: jax.Array         # (N,) float32, V(observation)
    reward: jax.Array        # (N,) float32
    discount: jax.Array      # (N,) float32: 0 terminated, 1 otherwise
    ended: jax.Array         # (N,) bool: an episode ended on this step
    bootstrap: jax.Array     # (N,) float32, V(extras["final_observation"])


def init_mlp(key: jax.Array, sizes: Sequence[int], last_scale: float) -> list[dict[str, jax.Array]]:
    """Orthogonal weights (gain sqrt(2), `last_scale` on the output layer), zero biases."""
    layers = []
    keys = jax.random.split(key, len(sizes) - 1)
    for i, (k, n_in, n_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
        scale = last_scale if i == len(sizes) - 2 else float(np.sqrt(2.0))
        weight = jax.nn.initializers.orthogonal(scale)(k, (n_in, n_out), jnp.float32)
        layers.append({"w": weight, "b": jnp.zeros((n_out,), jnp.float32)})
    return layers


def mlp(layers: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in layers[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    return x @ layers[-1]["w"] + layers[-1]["b"]


def policy_and_value(params: dict[str, Any], obs: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Action logits (..., num_actions) and values (...)."""
    return mlp(params["actor"], obs), mlp(params["critic"], obs)[..., 0]


def make_train(config: Config) -> tuple[Any, jit_env.Environment[Any, Any, Any]]:
    """Returns ``train(key) -> (params, metrics, evaluation)`` (to be jitted) and the environment."""
    base = jit_env.make("CartPole-v1")
    obs_dim = int(np.prod(base.observation_spec().shape))
    num_actions = int(base.action_spec().num_values)
    env = wrappers.wrap(base, num_envs=config.num_envs, jit=False)
    batch_size = config.num_envs * config.num_steps
    minibatch_size = batch_size // config.num_minibatches
    total_steps = config.num_updates * config.epochs * config.num_minibatches
    schedule = optax.linear_schedule(config.learning_rate, 0.0, total_steps)
    optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm),
                            optax.adam(schedule, eps=1e-5))

    def loss_fn(params: dict[str, Any], batch: Transition, advantages: jax.Array,
                targets: jax.Array) -> tuple[jax.Array, dict[str, jax.Array]]:
        logits, values = policy_and_value(params, batch.observation)
        log_probs = jax.nn.log_softmax(logits)
        log_prob = jnp.take_along_axis(log_probs, batch.action[:, None], axis=-1)[:, 0]
        ratio = jnp.exp(log_prob - batch.log_prob)
        if config.normalize_advantages:
            adv = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        else:
            adv = advantages
        actor_loss = -jnp.minimum(ratio * adv,
                                  jnp.clip(ratio, 1 - config.clip_eps, 1 + config.clip_eps) * adv).mean()
        value_loss = jnp.square(values - targets)
        if config.clip_value_loss:
            # As the policy's ratio, the new value may move at most clip_eps from the
            # rollout's value before the loss stops rewarding the move.
            clipped = batch.value + jnp.clip(values - batch.value, -config.clip_eps, config.clip_eps)
            value_loss = jnp.maximum(value_loss, jnp.square(clipped - targets))
        value_loss = 0.5 * value_loss.mean()
        entropy = -(jnp.exp(log_probs) * log_probs).sum(-1).mean()
        loss = actor_loss + config.value_coef * value_loss - config.entropy_coef * entropy
        return loss, {"actor_loss": actor_loss, "value_loss": value_loss, "entropy": entropy}

    def gae(traj: Transition) -> tuple[jax.Array, jax.Array]:
        """Generalised advantages over the rollout, newest step first.

        delta_t = r_t + gamma * discount_t * V(final_obs_t) - V(obs_t); the
        recursion stops at a step where an episode ended, because the next
        row of the rollout belongs to a new episode.
        """
        deltas = traj.reward + config.gamma * traj.discount * traj.bootstrap - traj.value
        carry_mask = config.gamma * config.gae_lambda * (1.0 - traj.ended.astype(jnp.float32))

        def body(next_adv: jax.Array, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            delta, mask = x
            adv = delta + mask * next_adv
            return adv, adv

        _, advantages = jax.lax.scan(body, jnp.zeros_like(deltas[0]), (deltas, carry_mask), reverse=True)
        return advantages, advantages + traj.value

    def rollout_step(carry: tuple[Any, Any, jax.Array, jax.Array], _: None) -> tuple[Any, Any]:
        params, env_state, timestep_obs, key = carry
        key, action_key = jax.random.split(key)
        logits, value = policy_and_value(params, timestep_obs)
        action = jax.random.categorical(action_key, logits).astype(jnp.int32)
        log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], axis=-1)[:, 0]
        env_state, timestep = env.step(env_state, action)
        final_obs = timestep.extras[wrappers.FINAL_OBSERVATION]
        _, bootstrap = policy_and_value(params, final_obs)
        stats = timestep.extras[wrappers.EPISODE]
        transition = Transition(
            observation=timestep_obs, action=action, log_prob=log_prob, value=value,
            reward=timestep.reward, discount=timestep.discount,
            ended=stats["done"], bootstrap=jax.lax.stop_gradient(bootstrap))
        episode = (stats["done"], stats["return"])
        return (params, env_state, timestep.observation, key), (transition, episode)

    def update(carry: tuple[Any, Any, Any, jax.Array, jax.Array], _: None) -> tuple[Any, dict[str, jax.Array]]:
        params, opt_state, env_state, obs, key = carry
        (params, env_state, obs, key), (traj, (done, returns)) = jax.lax.scan(
            rollout_step, (params, env_state, obs, key), None, config.num_steps)
        advantages, targets = gae(traj)

        def epoch(carry: tuple[Any, Any, jax.Array], _: None) -> tuple[Any, dict[str, jax.Array]]:
            params, opt_state, key = carry
            key, perm_key = jax.random.split(key)
            flat = jax.tree_util.tree_map(lambda x: x.reshape((batch_size, *x.shape[2:])),
                                          (traj, advantages, targets))
            perm = jax.random.permutation(perm_key, batch_size)
            shuffled = jax.tree_util.tree_map(
                lambda x: x[perm].reshape((config.num_minibatches, minibatch_size, *x.shape[1:])), flat)

            def minibatch(carry: tuple[Any, Any], batch: Any) -> tuple[Any, dict[str, jax.Array]]:
                params, opt_state = carry
                grads, info = jax.grad(loss_fn, has_aux=True)(params, *batch)
                updates, opt_state = optimizer.update(grads, opt_state, params)
                return (optax.apply_updates(params, updates), opt_state), info

            (params, opt_state), info = jax.lax.scan(minibatch, (params, opt_state), shuffled)
            return (params, opt_state, key), info

        (params, opt_state, key), info = jax.lax.scan(epoch, (params, opt_state, key), None, config.epochs)
        finished = done.sum()
        metrics = {
            "episodes": finished,
            "return_sum": jnp.where(done, returns, 0.0).sum(),
            "entropy": info["entropy"].mean(),
            "value_loss": info["value_loss"].mean(),
        }
        return (params, opt_state, env_state, obs, key), metrics

    def train(key: jax.Array) -> tuple[dict[str, Any], dict[str, jax.Array], dict[str, jax.Array]]:
        env_key, actor_key, critic_key, key = jax.random.split(key, 4)
        params = {"actor": init_mlp(actor_key, (obs_dim, config.hidden, config.hidden, num_actions), 0.01),
                  "critic": init_mlp(critic_key, (obs_dim, config.hidden, config.hidden, 1), 1.0)}
        opt_state = optimizer.init(params)
        env_state, timestep = env.reset(env_key)
        carry = (params, opt_state, env_state, timestep.observation, key)
        (params, *_), metrics = jax.lax.scan(update, carry, None, config.num_updates)
        return params, metrics, evaluate(params, key)

    def evaluate(params: dict[str, Any], key: jax.Array) -> dict[str, jax.Array]:
        """The greedy policy (argmax of the logits) for 500 steps on fresh environments.

        The time limit is 500 steps, so every environment ends at least one episode.
        """
        env_state, timestep = env.reset(jax.random.fold_in(key, 1))

        def body(carry: tuple[Any, jax.Array], _: None) -> tuple[Any, tuple[jax.Array, jax.Array]]:
            env_state, obs = carry
            logits, _ = policy_and_value(params, obs)
            env_state, timestep = env.step(env_state, jnp.argmax(logits, -1).astype(jnp.int32))
            stats = timestep.extras[wrappers.EPISODE]
            return (env_state, timestep.observation), (stats["done"], stats["return"])

        _, (done, returns) = jax.lax.scan(body, (env_state, timestep.observation), None, 500)
        return {"episodes": done.sum(), "return_sum": jnp.where(done, returns, 0.0).sum()}

    return train, env


def learning_curve(config: Config, metrics: dict[str, np.ndarray]) -> list[dict[str, float]]:
    """One row per update: env steps so far, episodes ended in it and their mean return.

    An update in which no episode ended has mean return NaN.
    """
    rows = []
    for i, (count, total) in enumerate(zip(metrics["episodes"], metrics["return_sum"], strict=True)):
        rows.append({
            "update": i + 1,
            "env_steps": (i + 1) * config.num_envs * config.num_steps,
            "episodes": int(count),
            "mean_return": float(total / count) if count else float("nan"),
        })
    return rows


def write_curve(path: str, rows: list[dict[str, float]]) -> None:
    if path.endswith(".json"):
        with open(path, "w") as f:
            json.dump(rows, f, indent=1)
        return
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-steps", type=int, default=500_000, help="environment steps in all")
    parser.add_argument("--num-envs", type=int, default=Config.num_envs)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--learning-rate", type=float, default=Config.learning_rate, help="annealed linearly to 0")
    parser.add_argument("--entropy-coef", type=float, default=Config.entropy_coef)
    parser.add_argument("--epochs", type=int, default=Config.epochs, help="ignored with --short (1)")
    parser.add_argument("--num-minibatches", type=int, default=Config.num_minibatches)
    parser.add_argument("--clip-value-loss", action=argparse.BooleanOptionalAction, default=Config.clip_value_loss)
    parser.add_argument("--short", action="store_true", help="4 updates of 32 steps (CI); overrides --total-steps")
    parser.add_argument("--out", default=None, help="write the learning curve here (.csv, or .json)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    if args.short:  # Compilation dominates: the fewest, smallest updates that still exercise everything.
        config = Config(num_envs=args.num_envs, num_steps=32, num_updates=4, epochs=1)
    else:
        per_update = args.num_envs * Config.num_steps
        config = Config(num_envs=args.num_envs, num_updates=max(1, args.total_steps // per_update),
                        epochs=args.epochs)
    config = dataclasses.replace(config, num_minibatches=args.num_minibatches, entropy_coef=args.entropy_coef,
                                 learning_rate=args.learning_rate,
                                 clip_value_loss=args.clip_value_loss)
    train, _ = make_train(config)
    start = time.perf_counter()
    _, metrics, evaluation = jax.block_until_ready(jax.jit(train)(jax.random.key(args.seed)))
    wall = time.perf_counter() - start
    rows = learning_curve(config, jax.device_get(metrics))
    greedy = float(evaluation["return_sum"] / evaluation["episodes"])
    shown = rows[:: max(1, len(rows) // 20)]
    for row in shown + ([rows[-1]] if shown[-1] is not rows[-1] else []):
        print(f"update {row['update']:4d}  env steps {row['env_steps']:8d}  "
              f"episodes {row['episodes']:4d}  mean return {row['mean_return']:7.1f}")
    returns = np.array([row["mean_return"] for row in rows])
    tail = returns[-max(1, len(rows) // 10):]
    reached = [row["env_steps"] for row in rows if row["mean_return"] >= 475.0]
    result = {
        "env_steps": float(rows[-1]["env_steps"]),
        "final_mean_return": float(np.nanmean(tail)) if np.isfinite(tail).any() else float("nan"),
        "steps_to_475": float(reached[0]) if reached else float("nan"),
        "greedy_mean_return": greedy,
        "wall_seconds": wall,
    }
    final = (f"mean return over the last {tail.size} updates {result['final_mean_return']:.1f}"
             if np.isfinite(tail).any() else f"no episode ended in the last {tail.size} updates")
    first = (f"first update with mean return >= 475 at {result['steps_to_475']:.0f} env steps" if reached
             else "no update reached a mean return of 475")
    print(f"seed {args.seed}: {result['env_steps']:.0f} env steps in {wall:.1f} s (compile included); "
          f"{final}; {first}")
    print(f"greedy policy after training: mean return {greedy:.1f} over "
          f"{int(evaluation['episodes'])} episodes")
    if args.out:
        write_curve(args.out, rows)
        print(f"learning curve: {args.out} ({len(rows)} rows)")
    return result


if __name__ == "__main__":
    jit_env.utils.enable_compilation_cache()  # Compiled programs kept on disk: see docs/cli.md.
    main()
