"""Plots the PPO learning curves in this folder to docs/img/ppo_cartpole.png, JAX and torch side by side.

    python examples/ppo.py --seed S --out docs/data/ppo_cartpole_seed{S}.csv                # S = 0, 1, 2
    python examples/ppo_torch.py --seed S --curve docs/data/ppo_torch_cartpole_seed{S}.csv  # S = 0, 1, 2
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
PANELS = (
    ("ppo_cartpole_seed", 'examples/ppo.py: JAX, one jitted program\nwrap(make("CartPole-v1"), num_envs=16)'),
    ("ppo_torch_cartpole_seed", "examples/ppo_torch.py: torch\nToGymnasiumVector(make(\"CartPole-v1\"), 16)"),
)


def main() -> None:
    fig, axes = plt.subplots(1, len(PANELS), figsize=(11, 4), sharey=True)
    for ax, (prefix, title) in zip(axes, PANELS, strict=True):
        for path in sorted(HERE.glob(f"{prefix}*.csv")):
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
            steps = np.array([int(r["env_steps"]) for r in rows])
            returns = np.array([float(r["mean_return"]) for r in rows])
            seed = path.stem.removeprefix(prefix)
            ax.plot(steps[np.isfinite(returns)], returns[np.isfinite(returns)], lw=1.2, label=f"seed {seed}")
        ax.axhline(475, color="gray", ls="--", lw=0.8, label="475")
        ax.set_xlabel("environment steps")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(0, 520)
        ax.legend(loc="lower right")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean return of the episodes ended in the update")
    fig.tight_layout()
    out = HERE.parent / "img" / "ppo_cartpole.png"
    # No timestamp or version in the file: the same CSVs and matplotlib give the same bytes.
    fig.savefig(out, dpi=120, metadata={"Software": None})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
