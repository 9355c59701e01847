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

# Jumanji 1.1.2: `jumanji.registered_environments()`, in registration order.
LIBRARIES["jumanji"] = Library(
    prefix="jumanji",
    module="jit_env.adapters._jumanji",
    requires=("jumanji",),
    extra="jumanji",
    ids=(
        "Game2048-v1", "GraphColoring-v1", "Minesweeper-v0", "RubiksCube-v0",
        "RubiksCube-partly-scrambled-v0", "Sudoku-v0", "Sudoku-very-easy-v0", "BinPack-v2",
        "FlatPack-v0", "JobShop-v0", "Knapsack-v1", "Tetris-v0", "Cleaner-v0", "Connector-v3",
        "MMST-v0", "CVRP-v1", "MultiCVRP-v0", "Maze-v0", "RobotWarehouse-v0", "Snake-v1",
        "TSP-v1", "Sokoban-v0", "PacMan-v1", "SlidingTilePuzzle-v0", "LevelBasedForaging-v0",
        "SearchAndRescue-v0",
    ),
)

# Craftax 1.6.1: the ids `craftax.craftax_env.make_craftax_env_from_name` builds without
# auto-reset (its "-AutoReset-v1" aliases only exist with auto-reset, which jit_env refuses).
LIBRARIES["craftax"] = Library(
    prefix="craftax",
    module="jit_env.adapters._craftax",
    requires=("craftax",),
    extra="craftax",
    ids=(
        "Craftax-Symbolic-v1", "Craftax-Pixels-v1", "Craftax-Classic-Symbolic-v1",
        "Craftax-Classic-Pixels-v1",
    ),
)

# Pgx 2.6.0: `pgx.available_envs()`, in its order (the MinAtar games ship inside pgx).
LIBRARIES["pgx"] = Library(
    prefix="pgx",
    module="jit_env.adapters._pgx",
    requires=("pgx",),
    extra="pgx",
    ids=(
        "2048", "animal_shogi", "backgammon", "chess", "connect_four", "gardner_chess", "go_9x9",
        "go_19x19", "hex", "kuhn_poker", "leduc_holdem", "minatar-asterix", "minatar-breakout",
        "minatar-freeway", "minatar-seaquest", "minatar-space_invaders", "othello", "shogi",
        "sparrow_mahjong", "tic_tac_toe",
    ),
)
