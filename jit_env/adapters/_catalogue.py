"""The hub's static catalogue: which libraries can be adapted, and every id each registers.

Nothing here imports a third-party library, so `jit_env.registered_envs()` and
`jit-env list` can list every id without importing them. Each library's adapter
lives in its own module (named by `Library.module`), which imports the library at
its top and defines ``make(name: str, **kwargs) -> jit_env.Environment``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class Library:
    """One adapted library.

    Attributes:
        prefix: The id prefix before ``/`` (``jit_env.make("<prefix>/<id>")``).
        module: The adapter module, e.g. ``"jit_env.adapters._jumanji"``.
        requires: The import names that must be installed, e.g. ``("jumanji",)``.
        extra: The setup.cfg extra that installs them (``pip install "jit_env[<extra>]"``).
        ids: Every id the library registers, in its own order (a test checks this
            list against the installed library).
        episode_limits: Each id's default episode length (ids absent: none).
            `jit_env.make` wraps the environment in `TimeLimit` with it, and
            Gymnasium's registration declares it as ``spec.max_episode_steps``.
        limit_in_env: True when the library's environment truncates at that
            length itself (gymnax's ``params.max_steps_in_episode``): then
            `jit_env.make` adds a `TimeLimit` only when given
            ``max_episode_steps``, and the adapter's ``make`` receives it.
    """

    prefix: str
    module: str
    requires: tuple[str, ...]
    extra: str
    ids: tuple[str, ...]
    episode_limits: Mapping[str, int] = dataclasses.field(default_factory=dict)
    limit_in_env: bool = False


LIBRARIES: dict[str, Library] = {}
"""prefix -> `Library`. Each adapter module's entry is added below, one block per library."""

LIBRARIES["gymnax"] = Library(
    prefix="gymnax",
    module="jit_env.adapters._gymnax",
    requires=("gymnax",),
    extra="gymnax",
    # `gymnax.registered_envs` in gymnax 1.0.1, in its order.
    ids=(
        "CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0",
        "Asterix-MinAtar", "Breakout-MinAtar", "Freeway-MinAtar", "Seaquest-MinAtar",
        "SpaceInvaders-MinAtar", "Catch-bsuite", "DeepSea-bsuite", "MemoryChain-bsuite",
        "UmbrellaChain-bsuite", "DiscountingChain-bsuite", "MNISTBandit-bsuite",
        "SimpleBandit-bsuite", "FourRooms-misc", "MetaMaze-misc", "PointRobot-misc",
        "BernoulliBandit-misc", "GaussianBandit-misc", "Reacher-misc", "Swimmer-misc", "Pong-misc",
        "FrozenLake-misc",
    ),
    # `max_steps_in_episode` of each id's default params (a test checks them).
    episode_limits={
        "CartPole-v1": 500, "Pendulum-v1": 200, "Acrobot-v1": 500, "MountainCar-v0": 200,
        "MountainCarContinuous-v0": 999, "Asterix-MinAtar": 1000, "Breakout-MinAtar": 1000,
        "Freeway-MinAtar": 2500, "Seaquest-MinAtar": 1000, "SpaceInvaders-MinAtar": 1000,
        "Catch-bsuite": 1000, "DeepSea-bsuite": 8, "MemoryChain-bsuite": 1000,
        "UmbrellaChain-bsuite": 100, "DiscountingChain-bsuite": 100, "MNISTBandit-bsuite": 1,
        "SimpleBandit-bsuite": 100,
        "FourRooms-misc": 500, "MetaMaze-misc": 200, "PointRobot-misc": 100,
        "BernoulliBandit-misc": 100, "GaussianBandit-misc": 100, "Reacher-misc": 100,
        "Swimmer-misc": 500, "Pong-misc": 1000, "FrozenLake-misc": 100,
    },
    limit_in_env=True,
)
