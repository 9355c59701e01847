"""The hub's static catalogue: which libraries can be adapted, and every id each registers.

Nothing here imports a third-party library, so `jit_env.registered_envs()` and
`jit-env list` can list every id without importing them. Each library's adapter
lives in its own module (named by `Library.module`), which imports the library at
its top and defines ``make(name: str, **kwargs) -> jit_env.Environment``.
"""

from __future__ import annotations

import dataclasses


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
    """

    prefix: str
    module: str
    requires: tuple[str, ...]
    extra: str
    ids: tuple[str, ...]


LIBRARIES: dict[str, Library] = {}
"""prefix -> `Library`. Each adapter module's entry is added below, one block per library."""

LIBRARIES["xminigrid"] = Library(
    prefix="xminigrid",
    module="jit_env.adapters._xminigrid",
    requires=("xminigrid",),
    extra="xminigrid",
    ids=(
        "XLand-MiniGrid-R1-9x9", "XLand-MiniGrid-R1-11x11", "XLand-MiniGrid-R1-13x13",
        "XLand-MiniGrid-R1-15x15", "XLand-MiniGrid-R1-17x17", "XLand-MiniGrid-R2-9x9",
        "XLand-MiniGrid-R2-11x11", "XLand-MiniGrid-R2-13x13", "XLand-MiniGrid-R2-15x15",
        "XLand-MiniGrid-R2-17x17", "XLand-MiniGrid-R4-9x9", "XLand-MiniGrid-R4-11x11",
        "XLand-MiniGrid-R4-13x13", "XLand-MiniGrid-R4-15x15", "XLand-MiniGrid-R4-17x17",
        "XLand-MiniGrid-R6-13x13", "XLand-MiniGrid-R6-17x17", "XLand-MiniGrid-R6-19x19",
        "XLand-MiniGrid-R9-16x16", "XLand-MiniGrid-R9-19x19", "XLand-MiniGrid-R9-25x25",
        "MiniGrid-BlockedUnlockPickUp", "MiniGrid-DoorKey-5x5", "MiniGrid-DoorKey-6x6",
        "MiniGrid-DoorKey-8x8", "MiniGrid-DoorKey-16x16", "MiniGrid-Empty-5x5",
        "MiniGrid-Empty-6x6", "MiniGrid-Empty-8x8", "MiniGrid-Empty-16x16",
        "MiniGrid-EmptyRandom-5x5", "MiniGrid-EmptyRandom-6x6", "MiniGrid-EmptyRandom-8x8",
        "MiniGrid-EmptyRandom-16x16", "MiniGrid-FourRooms", "MiniGrid-LockedRoom",
        "MiniGrid-MemoryS8", "MiniGrid-MemoryS16", "MiniGrid-MemoryS32", "MiniGrid-MemoryS64",
        "MiniGrid-MemoryS128", "MiniGrid-Playground", "MiniGrid-Unlock", "MiniGrid-UnlockPickUp",
    ),
)
"""XLand-MiniGrid 0.9.3 (`xminigrid.registered_environments()`, in its order)."""

LIBRARIES["navix"] = Library(
    prefix="navix",
    module="jit_env.adapters._navix",
    requires=("navix",),
    extra="navix",
    ids=(
        "Navix-Empty-5x5-v0", "Navix-Empty-6x6-v0", "Navix-Empty-8x8-v0", "Navix-Empty-16x16-v0",
        "Navix-Empty-Random-5x5-v0", "Navix-Empty-Random-6x6-v0", "Navix-Empty-Random-8x8-v0",
        "Navix-Empty-Random-16x16-v0", "Navix-DoorKey-5x5-v0", "Navix-DoorKey-6x6-v0",
        "Navix-DoorKey-8x8-v0", "Navix-DoorKey-16x16-v0", "Navix-DoorKey-Random-5x5-v0",
        "Navix-DoorKey-Random-6x6-v0", "Navix-DoorKey-Random-8x8-v0", "Navix-DoorKey-Random-16x16-v0",
        "Navix-FourRooms-v0", "Navix-KeyCorridorS3R1-v0", "Navix-KeyCorridorS3R2-v0",
        "Navix-KeyCorridorS3R3-v0", "Navix-KeyCorridorS4R3-v0", "Navix-KeyCorridorS5R3-v0",
        "Navix-KeyCorridorS6R3-v0", "Navix-LavaGapS5-v0", "Navix-LavaGapS6-v0", "Navix-LavaGapS7-v0",
        "Navix-SimpleCrossingS9N1-v0", "Navix-SimpleCrossingS9N2-v0", "Navix-SimpleCrossingS9N3-v0",
        "Navix-SimpleCrossingS11N5-v0", "Navix-Dynamic-Obstacles-5x5-v0",
        "Navix-Dynamic-Obstacles-5x5-Random-v0", "Navix-Dynamic-Obstacles-6x6-v0",
        "Navix-Dynamic-Obstacles-6x6-Random-v0", "Navix-Dynamic-Obstacles-8x8-v0",
        "Navix-Dynamic-Obstacles-16x16-v0", "Navix-DistShift1-v0", "Navix-DistShift2-v0",
        "Navix-GoToDoor-5x5-v0", "Navix-GoToDoor-6x6-v0", "Navix-GoToDoor-8x8-v0",
    ),
)
"""Navix 0.7.4 (`navix.registry()`, in its order)."""
