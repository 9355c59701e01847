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
        episode_limits: Each id's default episode length (ids absent: none,
            the library sets no limit). `jit_env.make` wraps the environment in
            `TimeLimit` with it, `jit_env.registered_envs`'s spec and ``jit-env
            list`` show it, and Gymnasium's registration declares it as
            ``spec.max_episode_steps``.
        limit_in_env: True when the library's environment ends episodes at that
            length itself (gymnax's ``params.max_steps_in_episode``, Jumanji's
            ``time_limit``, ...): then `jit_env.make` adds a `TimeLimit` only
            when given ``max_episode_steps``, and passes it, whenever it is
            given (None included), to the adapter's ``make``, which builds the
            library with that limit or, for None, lifts it
            (`jit_env.adapters._common.own_limit`).
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

LIBRARIES["brax"] = Library(
    prefix="brax",
    module="jit_env.adapters._brax",
    requires=("brax",),
    extra="brax",
    # `brax.envs._envs` in brax 0.14.2, in its order.
    ids=(
        "ant", "fast", "halfcheetah", "hopper", "humanoid", "humanoidstandup",
        "inverted_pendulum", "inverted_double_pendulum", "pusher", "reacher", "swimmer",
        "walker2d",
    ),
    # brax's `envs.create(..., episode_length=1000)` default, for every id.
    episode_limits=dict.fromkeys((
        "ant", "fast", "halfcheetah", "hopper", "humanoid", "humanoidstandup",
        "inverted_pendulum", "inverted_double_pendulum", "pusher", "reacher", "swimmer",
        "walker2d",
    ), 1000),
)

_PLAYGROUND_SUITES = {
    # `mujoco_playground.<suite>.ALL_ENVS` in playground 0.2.0, in its order, with each
    # id's `episode_length` from `mujoco_playground.registry.get_default_config`.
    "dm_control_suite": {
        "AcrobotSwingup": 1000, "AcrobotSwingupSparse": 1000, "BallInCup": 1000,
        "CartpoleBalance": 1000, "CartpoleBalanceSparse": 1000, "CartpoleSwingup": 1000,
        "CartpoleSwingupSparse": 1000, "CheetahRun": 1000, "FingerSpin": 1000,
        "FingerTurnEasy": 1000, "FingerTurnHard": 1000, "FishSwim": 1000, "HopperHop": 1000,
        "HopperStand": 1000, "HumanoidStand": 1000, "HumanoidWalk": 1000, "HumanoidRun": 1000,
        "PendulumSwingup": 1000, "PointMass": 1000, "ReacherEasy": 1000, "ReacherHard": 1000,
        "SwimmerSwimmer6": 1000, "WalkerRun": 1000, "WalkerStand": 1000, "WalkerWalk": 1000,
    },
    "locomotion": {
        "ApolloJoystickFlatTerrain": 1000, "BarkourJoystick": 1000,
        "BerkeleyHumanoidJoystickFlatTerrain": 1000, "BerkeleyHumanoidJoystickRoughTerrain": 1000,
        "G1JoystickFlatTerrain": 1000, "G1JoystickRoughTerrain": 1000,
        "Go1JoystickFlatTerrain": 1000, "Go1JoystickRoughTerrain": 1000, "Go1Getup": 300,
        "Go1Handstand": 500, "Go1Footstand": 500, "H1InplaceGaitTracking": 1000,
        "H1JoystickGaitTracking": 1000, "Op3Joystick": 1000, "SpotFlatTerrainJoystick": 1000,
        "SpotGetup": 300, "SpotJoystickGaitTracking": 1000, "T1JoystickFlatTerrain": 1000,
        "T1JoystickRoughTerrain": 1000,
    },
    "manipulation": {
        "AlohaHandOver": 250, "AlohaSinglePegInsertion": 1000, "PandaPickCube": 150,
        "PandaPickCubeOrientation": 150, "PandaPickCubeCartesian": 200, "PandaOpenCabinet": 150,
        "PandaRobotiqPushCube": 3000, "LeapCubeReorient": 1000, "LeapCubeRotateZAxis": 500,
        "AeroCubeRotateZAxis": 500,
    },
}

LIBRARIES["playground"] = Library(
    prefix="playground",
    module="jit_env.adapters._playground",
    requires=("mujoco_playground", "brax"),
    extra="playground",
    # `mujoco_playground.registry.ALL_ENVS`: the suites above, in this order.
    ids=tuple(name for suite in _PLAYGROUND_SUITES.values() for name in suite),
    episode_limits={name: n for suite in _PLAYGROUND_SUITES.values() for name, n in suite.items()},
)

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
    # Each environment's `time_limit` as `jumanji.make(id)` builds it (a test checks them).
    # The others have no time limit: their episodes end by their own rules (a tour, a
    # packing, a board filled or lost).
    episode_limits={
        "RubiksCube-v0": 200, "RubiksCube-partly-scrambled-v0": 20, "Tetris-v0": 400,
        "Cleaner-v0": 100, "Connector-v3": 50, "MMST-v0": 70, "Maze-v0": 100,
        "RobotWarehouse-v0": 500, "Snake-v1": 4000, "Sokoban-v0": 120, "PacMan-v1": 1000,
        "SlidingTilePuzzle-v0": 500, "LevelBasedForaging-v0": 100, "SearchAndRescue-v0": 400,
    },
    limit_in_env=True,
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
    # `EnvParams.max_timesteps` of each id's default params.
    episode_limits={
        "Craftax-Symbolic-v1": 100000, "Craftax-Pixels-v1": 100000,
        "Craftax-Classic-Symbolic-v1": 10000, "Craftax-Classic-Pixels-v1": 10000,
    },
    limit_in_env=True,
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
    # The games whose rules end a game after a number of steps (a draw, a termination):
    # `MAX_TERMINATION_STEPS` of chess, shogi (512), Gardner chess, animal shogi (256), and
    # Go's ``size * size * 2``. Pgx sets no limit on the others: 2048 and the MinAtar games
    # can run for ever (Pgx's docs say so); the other board and card games end by their rules.
    episode_limits={
        "animal_shogi": 256, "chess": 512, "gardner_chess": 256, "go_9x9": 162, "go_19x19": 722,
        "shogi": 512,
    },
    limit_in_env=True,
)

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
    # `params.max_steps` of each id as `xminigrid.make(id)` builds it (its environments'
    # default: ``3 * height * width`` for XLand, each MiniGrid's own formula).
    episode_limits={
        "XLand-MiniGrid-R1-9x9": 243, "XLand-MiniGrid-R1-11x11": 363,
        "XLand-MiniGrid-R1-13x13": 507, "XLand-MiniGrid-R1-15x15": 675,
        "XLand-MiniGrid-R1-17x17": 867, "XLand-MiniGrid-R2-9x9": 243,
        "XLand-MiniGrid-R2-11x11": 363, "XLand-MiniGrid-R2-13x13": 507,
        "XLand-MiniGrid-R2-15x15": 675, "XLand-MiniGrid-R2-17x17": 867,
        "XLand-MiniGrid-R4-9x9": 243, "XLand-MiniGrid-R4-11x11": 363,
        "XLand-MiniGrid-R4-13x13": 507, "XLand-MiniGrid-R4-15x15": 675,
        "XLand-MiniGrid-R4-17x17": 867, "XLand-MiniGrid-R6-13x13": 507,
        "XLand-MiniGrid-R6-17x17": 867, "XLand-MiniGrid-R6-19x19": 1083,
        "XLand-MiniGrid-R9-16x16": 768, "XLand-MiniGrid-R9-19x19": 1083,
        "XLand-MiniGrid-R9-25x25": 1875, "MiniGrid-BlockedUnlockPickUp": 576,
        "MiniGrid-DoorKey-5x5": 250, "MiniGrid-DoorKey-6x6": 360, "MiniGrid-DoorKey-8x8": 640,
        "MiniGrid-DoorKey-16x16": 2560, "MiniGrid-Empty-5x5": 100, "MiniGrid-Empty-6x6": 144,
        "MiniGrid-Empty-8x8": 256, "MiniGrid-Empty-16x16": 1024,
        "MiniGrid-EmptyRandom-5x5": 100, "MiniGrid-EmptyRandom-6x6": 144,
        "MiniGrid-EmptyRandom-8x8": 256, "MiniGrid-EmptyRandom-16x16": 1024,
        "MiniGrid-FourRooms": 100, "MiniGrid-LockedRoom": 190, "MiniGrid-MemoryS8": 320,
        "MiniGrid-MemoryS16": 1280, "MiniGrid-MemoryS32": 5120, "MiniGrid-MemoryS64": 20480,
        "MiniGrid-MemoryS128": 81920, "MiniGrid-Playground": 512, "MiniGrid-Unlock": 288,
        "MiniGrid-UnlockPickUp": 288,
    },
    limit_in_env=True,
)
"""XLand-MiniGrid 0.9.3 (`xminigrid.registered_environments()`, in its order)."""

_NAVIX_IDS = (
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
)
"""Navix 0.7.4 (`navix.registry()`, in its order)."""

LIBRARIES["navix"] = Library(
    prefix="navix",
    module="jit_env.adapters._navix",
    requires=("navix",),
    extra="navix",
    ids=_NAVIX_IDS,
    # `max_steps` of every id as `navix.make(id)` builds it (its default, 100).
    episode_limits=dict.fromkeys(_NAVIX_IDS, 100),
    limit_in_env=True,
)
