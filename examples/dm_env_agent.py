"""A dm_env agent loop: tabular Q-learning on Catch-v0 through `jit_env.compat.ToDeepmindEnv`.

    python examples/dm_env_agent.py               # 1000 episodes
    python examples/dm_env_agent.py --short       # 100 episodes (CI)

Needs dm_env: ``pip install "jit_env[dm-env]"``.

The loop is the standard dm_env one (as in Acme's ``EnvironmentLoop``):
``timestep = env.reset()``, then ``env.step(action)`` until ``timestep.last()``.
The bridge hands back NumPy arrays; the agent never touches JAX. Catch's
observation is a dict holding the board and an action mask; the agent keys its
table on the board and only picks actions the mask allows.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence

import dm_env
import numpy as np

import jit_env
from jit_env import compat


class QLearningAgent:
    """Epsilon-greedy tabular Q-learning over the boards seen so far."""

    def __init__(self, num_actions: int, *, epsilon: float, learning_rate: float, seed: int):
        self.num_actions = num_actions
        self.epsilon = epsilon
        self.learning_rate = learning_rate
        self.rng = np.random.default_rng(seed)
        self.q: defaultdict[bytes, np.ndarray] = defaultdict(lambda: np.zeros(num_actions))

    def select_action(self, observation: dict[str, np.ndarray], *, greedy: bool = False) -> np.int32:
        allowed = np.flatnonzero(observation["action_mask"])
        if not greedy and self.rng.random() < self.epsilon:
            return np.int32(self.rng.choice(allowed))
        values = self.q[observation["board"].tobytes()][allowed]
        best = allowed[values == values.max()]
        return np.int32(self.rng.choice(best))

    def update(self, observation: dict[str, np.ndarray], action: np.int32,
               timestep: dm_env.TimeStep) -> None:
        """One Q-learning step; bootstraps with the time step's discount (0 at a termination)."""
        next_values = self.q[timestep.observation["board"].tobytes()]
        next_allowed = np.flatnonzero(timestep.observation["action_mask"])
        target = timestep.reward + timestep.discount * next_values[next_allowed].max()
        row = self.q[observation["board"].tobytes()]
        row[action] += self.learning_rate * (target - row[action])


def run_episode(env: dm_env.Environment, agent: QLearningAgent, *, learn: bool) -> float:
    timestep = env.reset()
    episode_return = 0.0
    while not timestep.last():
        observation = timestep.observation
        action = agent.select_action(observation, greedy=not learn)
        timestep = env.step(action)
        episode_return += float(timestep.reward)
        if learn:
            agent.update(observation, action, timestep)
    return episode_return


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1000, help="training episodes")
    parser.add_argument("--eval-episodes", type=int, default=100, help="greedy episodes after training")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--short", action="store_true", help="100 training, 20 evaluation episodes (CI)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    episodes, eval_episodes = (100, 20) if args.short else (args.episodes, args.eval_episodes)
    env = compat.ToDeepmindEnv(jit_env.make("Catch-v0"), seed=args.seed)
    agent = QLearningAgent(env.action_spec().num_values, epsilon=0.1, learning_rate=0.5, seed=args.seed)
    # Untrained, every value is 0, so its greedy choice is uniform over the allowed actions.
    random_agent = QLearningAgent(env.action_spec().num_values, epsilon=0.0, learning_rate=0.0,
                                  seed=args.seed)

    random_returns = [run_episode(env, random_agent, learn=False) for _ in range(eval_episodes)]
    train_returns = [run_episode(env, agent, learn=True) for _ in range(episodes)]
    eval_returns = [run_episode(env, agent, learn=False) for _ in range(eval_episodes)]
    result = {
        "random_return": float(np.mean(random_returns)),
        "train_return_last_100": float(np.mean(train_returns[-100:])),
        "greedy_return": float(np.mean(eval_returns)),
        "episodes": float(episodes),
        "states_seen": float(len(agent.q)),
    }
    print(f"Catch-v0 via dm_env: random policy mean return {result['random_return']:+.2f} "
          f"over {eval_episodes} episodes")
    print(f"Q-learning, {episodes} episodes: mean return of the last {min(100, episodes)} "
          f"{result['train_return_last_100']:+.2f}; {len(agent.q)} boards seen")
    print(f"greedy policy mean return {result['greedy_return']:+.2f} over {eval_episodes} episodes")
    return result


if __name__ == "__main__":
    jit_env.utils.enable_compilation_cache()  # Compiled programs kept on disk: see docs/cli.md.
    main()
