"""Wrappers, grouped by kind: transforms, batching, auto-reset, time limits,
statistics, and observation/action/reward transforms, plus `wrap` for the usual stack.
"""

from jit_env.wrappers._action import ClipAction as ClipAction
from jit_env.wrappers._action import TransformAction as TransformAction
from jit_env.wrappers._autoreset import COMPLETE as COMPLETE
from jit_env.wrappers._autoreset import NEXT_STEP as NEXT_STEP
from jit_env.wrappers._autoreset import OPTIMISTIC as OPTIMISTIC
from jit_env.wrappers._autoreset import PRECOMPUTED as PRECOMPUTED
from jit_env.wrappers._autoreset import SAME_STEP as SAME_STEP
from jit_env.wrappers._autoreset import AutoReset as AutoReset
from jit_env.wrappers._autoreset import AutoResetState as AutoResetState
from jit_env.wrappers._autoreset import BatchedAutoResetState as BatchedAutoResetState
from jit_env.wrappers._autoreset import TileAutoReset as TileAutoReset
from jit_env.wrappers._autoreset import VmapAutoReset as VmapAutoReset
from jit_env.wrappers._autoreset import auto_reset_mode as auto_reset_mode
from jit_env.wrappers._autoreset import auto_resets as auto_resets
from jit_env.wrappers._autoreset import step_with_reset_extras as step_with_reset_extras
from jit_env.wrappers._common import FINAL_OBSERVATION as FINAL_OBSERVATION
from jit_env.wrappers._legacy import BatchSpecMixin as BatchSpecMixin
from jit_env.wrappers._legacy import ResetMixin as ResetMixin
from jit_env.wrappers._observation import ExtendObservation as ExtendObservation
from jit_env.wrappers._observation import FlattenObservation as FlattenObservation
from jit_env.wrappers._observation import FrameStack as FrameStack
from jit_env.wrappers._observation import FrameStackState as FrameStackState
from jit_env.wrappers._observation import NormalizeObservation as NormalizeObservation
from jit_env.wrappers._observation import NormalizeObservationState as NormalizeObservationState
from jit_env.wrappers._observation import TransformObservation as TransformObservation
from jit_env.wrappers._reward import TransformDiscount as TransformDiscount
from jit_env.wrappers._reward import TransformReward as TransformReward
from jit_env.wrappers._shard import Shard as Shard
from jit_env.wrappers._stack import wrap as wrap
from jit_env.wrappers._statistics import EPISODE as EPISODE
from jit_env.wrappers._statistics import EpisodeStatistics as EpisodeStatistics
from jit_env.wrappers._statistics import EpisodeStatisticsState as EpisodeStatisticsState
from jit_env.wrappers._time_limit import TimeLimit as TimeLimit
from jit_env.wrappers._time_limit import TimeLimitState as TimeLimitState
from jit_env.wrappers._transforms import Jit as Jit
from jit_env.wrappers._transforms import StopGradient as StopGradient
from jit_env.wrappers._transforms import Tile as Tile
from jit_env.wrappers._transforms import Vmap as Vmap

# jit_env 0.1.5's mixins `BatchSpecMixin` and `ResetMixin` are deprecated: importable for
# 0.1.5 code, deliberately not listed.
__all__ = [
    "COMPLETE",
    "EPISODE",
    "FINAL_OBSERVATION",
    "NEXT_STEP",
    "OPTIMISTIC",
    "PRECOMPUTED",
    "SAME_STEP",
    "AutoReset",
    "AutoResetState",
    "BatchedAutoResetState",
    "ClipAction",
    "EpisodeStatistics",
    "EpisodeStatisticsState",
    "ExtendObservation",
    "FlattenObservation",
    "FrameStack",
    "FrameStackState",
    "Jit",
    "NormalizeObservation",
    "NormalizeObservationState",
    "Shard",
    "StopGradient",
    "Tile",
    "TileAutoReset",
    "TimeLimit",
    "TimeLimitState",
    "TransformAction",
    "TransformDiscount",
    "TransformObservation",
    "TransformReward",
    "Vmap",
    "VmapAutoReset",
    "auto_reset_mode",
    "auto_resets",
    "step_with_reset_extras",
    "wrap",
]
