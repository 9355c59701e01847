"""PPO in torch on CartPole-v1 through jit_env's Gymnasium vector bridge, in one file.

    python examples/ppo_torch.py --seed 0 --curve ppo_torch_seed0.csv
    python examples/ppo_torch.py --short     # 2 small updates: checks the loop runs (CI)

Needs torch and array-api-compat besides jit_env's Gymnasium extra (``pip install torch
array-api-compat``: Gymnasium's array wrappers import it).

The environment is ``compat.ToGymnasiumVector(jit_env.make("CartPole-v1"), N)``
(the registered 500-step time limit; the jitted step runs all N sub-environments
in one call) under Gymnasium's own array wrapper to torch: with
``--array-backend jax`` (the default) the bridge returns JAX arrays and
``gymnasium.wrappers.vector.JaxToTorch`` hands them to torch; with
``--array-backend numpy`` it returns NumPy arrays and ``NumpyToTorch`` does.
`make_env` is the one place where the two differ.

**Auto-reset.** The bridge resets in Gymnasium 1.x's default NEXT_STEP mode: the
step on which an episode ends returns its terminal observation as the next
observation, with ``terminated`` or ``truncated`` set; the *following* call to
``step`` ignores its action, resets that sub-environment and returns the new
episode's first observation with reward 0. That call is no transition of the
MDP, so this script keeps NEXT_STEP and leaves such reset steps out of the
batch: a sample whose step came right after an episode end is marked invalid,
and the losses see valid samples only. NEXT_STEP (rather than SAME_STEP with
``info["final_obs"]``) is what makes truncation easy to get right: the
observation after a truncated step is the real terminal observation, so its
value, computed anyway when acting on the next (reset) step, is the value to
bootstrap from; a termination bootstraps from nothing. The GAE recursion stops
at every episode end, so an invalid reset step never leaks into a valid one.

**Hyperparameters** are those of the JAX example (examples/ppo.py, docs/index.md
says why): 16 environments x 128 steps per update, 10 epochs of 4 minibatches,
Adam with the learning rate 3e-4 annealed linearly to 0, gradients clipped to a
global norm of 0.5, value loss clipped as the policy ratio is, an entropy bonus
of 0.005, advantages not normalised; two 64-64 tanh networks with orthogonal
initialisation. 500,000 env steps by default.

**What is printed.** One line per update for a few updates (env steps, episodes
that ended during the update and their mean return, i.e. that of the stochastic
policy while it learns), then a summary: the mean over the last 10% of updates,
the first update whose mean return is >= 475, and the greedy policy's mean
return (argmax of the logits) over one episode on each of N freshly reset
environments after training. ``--curve`` writes the per-update rows as CSV
(columns as examples/ppo.py's ``--out``).

Runs are reproducible on one machine: a seed fixes the environments' resets,
torch's initialisation, action sampling and minibatch order, and torch runs on
one CPU thread (``torch.set_num_threads(1)``: the networks are small, and more
threads only add contention).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium.wrappers import vector as vector_wrappers
from torch import nn

import jit_env
from jit_env import compat


@dataclasses.dataclass(frozen=True)
class Config:
    num_envs: int = 16
    num_steps: int = 128  # Rollout length per update, per environment.
    num_updates: int = 244  # 16 x 128 x 244 = 499,712 env steps.
    epochs: int = 10
    num_minibatches: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    entropy_coef: float = 0.005
    value_coef: float = 0.5
    max_grad_norm: float = 0.5
    hidden: int = 64
    normalize_advantages: bool = False


def make_env(num_envs: int, array_backend: str) -> Any:
    """The vector environment, returning torch tensors (CPU) and taking torch actions."""
    env = jit_env.make("CartPole-v1")
    # The array backend is chosen here and only here.
    if array_backend == "jax":
        return vector_wrappers.JaxToTorch(compat.ToGymnasiumVector(env, num_envs, array_backend="jax"))
    return vector_wrappers.NumpyToTorch(compat.ToGymnasiumVector(env, num_envs))


def layer(n_in: int, n_out: int, gain: float) -> nn.Linear:
    linear = nn.Linear(n_in, n_out)
    nn.init.orthogonal_(linear.weight, gain)
    nn.init.zeros_(linear.bias)
    return linear


class Agent(nn.Module):
    """Separate actor and critic MLPs (obs_dim -> hidden -> hidden -> out, tanh)."""

    def __init__(self, obs_dim: int, num_actions: int, hidden: int) -> None:
        super().__init__()
        root2 = float(np.sqrt(2.0))
        self.actor = nn.Sequential(layer(obs_dim, hidden, root2), nn.Tanh(), layer(hidden, hidden, root2),
                                   nn.Tanh(), layer(hidden, num_actions, 0.01))
        self.critic = nn.Sequential(layer(obs_dim, hidden, root2), nn.Tanh(), layer(hidden, hidden, root2),
                                    nn.Tanh(), layer(hidden, 1, 1.0))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (B, num_actions) and values (B,) for observations (B, obs_dim) float32."""
        return self.actor(obs), self.critic(obs)[..., 0]


def advantages_and_targets(cfg: Config, rewards: torch.Tensor, values: torch.Tensor, terminated: torch.Tensor,
                           ended: torch.Tensor, next_value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over a rollout; every tensor is (T, N) but `next_value` (N,), V of the observation after it.

    In NEXT_STEP mode the observation after step t, whose value is ``values[t + 1]``,
    is the terminal observation when step t ended an episode: a truncation
    bootstraps from it, a termination from nothing. The recursion stops where an
    episode ended (the next row is a reset step, then a new episode).
    """
    advantages = torch.zeros_like(rewards)
    next_adv = torch.zeros_like(next_value)
    for t in reversed(range(rewards.shape[0])):
        following = next_value if t == rewards.shape[0] - 1 else values[t + 1]
        delta = rewards[t] + cfg.gamma * following * (1.0 - terminated[t]) - values[t]
        next_adv = delta + cfg.gamma * cfg.gae_lambda * (1.0 - ended[t]) * next_adv
        advantages[t] = next_adv
    return advantages, advantages + values


def ppo_loss(cfg: Config, agent: Agent, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Clipped PPO loss over a minibatch of valid samples."""
    logits, values = agent(batch["obs"])
    dist = torch.distributions.Categorical(logits=logits)
    ratio = torch.exp(dist.log_prob(batch["actions"]) - batch["log_probs"])
    adv = batch["advantages"]
    if cfg.normalize_advantages:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    actor_loss = -torch.minimum(ratio * adv, torch.clamp(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv).mean()
    # As for the ratio: the value may move at most clip_eps from the rollout's before the loss stops rewarding it.
    clipped = batch["values"] + torch.clamp(values - batch["values"], -cfg.clip_eps, cfg.clip_eps)
    value_loss = 0.5 * torch.maximum((values - batch["targets"]) ** 2, (clipped - batch["targets"]) ** 2).mean()
    entropy = dist.entropy().mean()
    return actor_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy


def train(cfg: Config, seed: int, array_backend: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Trains; returns the learning curve (one row per update) and counters and the greedy evaluation."""
    torch.manual_seed(seed)
    envs = make_env(cfg.num_envs, array_backend)
    obs_dim = int(np.prod(envs.single_observation_space.shape))
    agent = Agent(obs_dim, int(envs.single_action_space.n), cfg.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=cfg.learning_rate, eps=1e-5)
    shape = (cfg.num_steps, cfg.num_envs)
    obs_buf = torch.zeros((*shape, obs_dim))
    actions = torch.zeros(shape, dtype=torch.long)
    log_probs, values, rewards, terminated, ended = (torch.zeros(shape) for _ in range(5))
    valid = torch.zeros(shape, dtype=torch.bool)

    obs, _ = envs.reset(seed=seed)
    after_end = torch.zeros(cfg.num_envs, dtype=torch.bool)  # The next step of this sub-env is a reset step.
    episode_return = torch.zeros(cfg.num_envs)
    rows: list[dict[str, Any]] = []
    reset_steps = 0
    for update in range(cfg.num_updates):
        for group in optimizer.param_groups:  # Linear annealing, to lr / num_updates on the last update.
            group["lr"] = cfg.learning_rate * (1.0 - update / cfg.num_updates)
        finished: list[float] = []
        for t in range(cfg.num_steps):
            with torch.no_grad():
                logits, value = agent(obs)
            dist = torch.distributions.Categorical(logits=logits)
            action = dist.sample()
            obs_buf[t], actions[t], log_probs[t], values[t] = obs, action, dist.log_prob(action), value
            valid[t] = ~after_end
            obs, reward, term, trunc, _ = envs.step(action)
            done = term | trunc
            rewards[t], terminated[t], ended[t] = reward, term, done
            episode_return += torch.where(after_end, 0.0, reward)
            finished.extend(episode_return[done].tolist())
            episode_return[done] = 0.0
            after_end = done
        reset_steps += int((~valid).sum())
        with torch.no_grad():
            _, next_value = agent(obs)
        advantages, targets = advantages_and_targets(cfg, rewards, values, terminated, ended, next_value)

        keep = valid.reshape(-1)  # Reset steps are no transitions: they are left out of the batch.
        batch = {name: x.reshape(-1, *x.shape[2:])[keep] for name, x in (
            ("obs", obs_buf), ("actions", actions), ("log_probs", log_probs), ("values", values),
            ("advantages", advantages), ("targets", targets))}
        size = int(keep.sum())
        for _ in range(cfg.epochs):
            for idx in torch.randperm(size).chunk(cfg.num_minibatches):
                loss = ppo_loss(cfg, agent, {name: x[idx] for name, x in batch.items()})
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), cfg.max_grad_norm)
                optimizer.step()
        rows.append({
            "update": update + 1,
            "env_steps": (update + 1) * cfg.num_envs * cfg.num_steps,
            "episodes": len(finished),
            "mean_return": float(np.mean(finished)) if finished else float("nan"),
        })
    greedy = evaluate(envs, agent, seed + 1_000_000)
    envs.close()
    return rows, {"reset_steps": reset_steps, "greedy_mean_return": greedy}


def evaluate(envs: Any, agent: Agent, seed: int) -> float:
    """Mean return of the greedy policy over the first episode of each freshly reset sub-environment.

    CartPole-v1's 500-step time limit ends every episode within 500 steps.
    """
    obs, _ = envs.reset(seed=seed)
    total = torch.zeros(envs.num_envs)
    running = torch.ones(envs.num_envs, dtype=torch.bool)
    while running.any():
        with torch.no_grad():
            logits, _ = agent(obs)
        obs, reward, term, trunc, _ = envs.step(logits.argmax(-1))
        total += torch.where(running, reward, 0.0)
        running &= ~(term | trunc)
    return float(total.mean())


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--total-steps", type=int, default=500_000, help="environment steps in all")
    parser.add_argument("--num-envs", type=int, default=Config.num_envs)
    parser.add_argument("--array-backend", choices=("jax", "numpy"), default="jax",
                        help="what the bridge returns: JAX arrays (to torch by JaxToTorch) or NumPy (NumpyToTorch)")
    parser.add_argument("--short", action="store_true",
                        help="2 updates of 32 steps, 1 epoch (CI: the loop runs; too short to learn)")
    parser.add_argument("--curve", default=None, help="write the learning curve here as CSV")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    torch.set_num_threads(1)
    if args.short:
        cfg = Config(num_envs=args.num_envs, num_steps=32, num_updates=2, epochs=1)
    else:
        cfg = Config(num_envs=args.num_envs,
                     num_updates=max(1, args.total_steps // (args.num_envs * Config.num_steps)))
    start = time.perf_counter()
    rows, extra = train(cfg, args.seed, args.array_backend)
    wall = time.perf_counter() - start
    shown = rows[:: max(1, len(rows) // 20)]
    for row in shown + ([rows[-1]] if shown[-1] is not rows[-1] else []):
        print(f"update {row['update']:4d}  env steps {row['env_steps']:8d}  "
              f"episodes {row['episodes']:4d}  mean return {row['mean_return']:7.1f}")
    returns = np.array([row["mean_return"] for row in rows])
    tail = returns[-max(1, len(rows) // 10):]
    reached = [row["env_steps"] for row in rows if row["mean_return"] >= 475.0]
    final = (f"mean return over the last {tail.size} updates {np.nanmean(tail):.1f}" if np.isfinite(tail).any()
             else f"no episode ended in the last {tail.size} updates")
    first = (f"first update with mean return >= 475 at {reached[0]} env steps" if reached
             else "no update reached a mean return of 475")
    print(f"seed {args.seed} ({args.array_backend} arrays): {rows[-1]['env_steps']} env steps in {wall:.1f} s; "
          f"{final}; {first}")
    episodes = sum(row["episodes"] for row in rows)
    print(f"{episodes} episodes ended; {extra['reset_steps']} reset steps left out of the batches")
    print(f"greedy policy after training: mean return {extra['greedy_mean_return']:.1f} "
          f"over {cfg.num_envs} episodes")
    if args.curve:
        with open(args.curve, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"learning curve: {args.curve} ({len(rows)} rows)")
    return {"rows": rows, "wall_seconds": wall, **extra,
            "final_mean_return": float(np.nanmean(tail)) if np.isfinite(tail).any() else float("nan")}


if __name__ == "__main__":
    main()
