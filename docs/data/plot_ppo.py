"""Plots the PPO learning curves in this folder to docs/img/ppo_cartpole.png.

    python examples/ppo.py --seed S --out docs/data/ppo_cartpole_seed{S}.csv   # S = 0, 1, 2
    python docs/data/plot_ppo.py

Needs matplotlib (``pip install "jit_env[examples]"``).
"""

from __future__ import annotations

import csv
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

HERE = pathlib.Path(__file__).resolve().parent


def main() -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for path in sorted(HERE.glob("ppo_cartpole_seed*.csv")):
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        steps = np.array([int(r["env_steps"]) for r in rows])
        returns = np.array([float(r["mean_return"]) for r in rows])
        seed = path.stem.removeprefix("ppo_cartpole_seed")
        ax.plot(steps[np.isfinite(returns)], returns[np.isfinite(returns)], lw=1.2, label=f"seed {seed}")
    ax.axhline(475, color="gray", ls="--", lw=0.8, label="475")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("mean return of the episodes ended in the update")
    ax.set_title('examples/ppo.py on jit_env.make("CartPole-v1"), 16 environments')
    ax.set_ylim(0, 520)
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = HERE.parent / "img" / "ppo_cartpole.png"
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
