"""jit_env: a pure, JAX-native environment interface that speaks dm_env.

>>> import jit_env
>>> jit_env.StepType.LAST
np.int8(2)
"""

from typing import TYPE_CHECKING, Any

from jit_env import specs as specs
from jit_env import wrappers as wrappers
from jit_env._core import Action as Action
from jit_env._core import Batch as Batch
from jit_env._core import Boundary as Boundary
from jit_env._core import Discount as Discount
from jit_env._core import Environment as Environment
from jit_env._core import EnvOptions as EnvOptions
from jit_env._core import Observation as Observation
from jit_env._core import Reward as Reward
from jit_env._core import Scope as Scope
from jit_env._core import State as State
from jit_env._core import StepType as StepType
from jit_env._core import TimeStep as TimeStep
from jit_env._core import Wrapper as Wrapper
from jit_env._core import WrapperState as WrapperState
from jit_env._core import boundary as boundary
from jit_env._core import new_episode as new_episode
from jit_env._core import restart as restart
from jit_env._core import termination as termination
from jit_env._core import transition as transition
from jit_env._core import truncation as truncation
from jit_env._rollout import Trajectory as Trajectory
from jit_env._rollout import rollout as rollout
from jit_env._rollout import rollout_batch as rollout_batch
from jit_env._rollout import rollout_population as rollout_population
from jit_env._struct import dataclass as dataclass
from jit_env._struct import field as field
from jit_env.version import __version__ as __version__
from jit_env.version import __version_info__ as __version_info__

if TYPE_CHECKING:  # pragma: no cover
    from jit_env import compat as compat
    from jit_env import envs as envs
    from jit_env import testing as testing
    from jit_env import utils as utils
    from jit_env._registry import make as make
    from jit_env._registry import register as register
    from jit_env._registry import registered_envs as registered_envs

# Loaded on first use, so that `import jit_env` never imports dm_env, gymnasium
# or gymnax, nor builds the environment registry.
_LAZY_MODULES = ("compat", "envs", "testing", "utils")
_LAZY_NAMES = {"make": "jit_env._registry", "register": "jit_env._registry",
               "registered_envs": "jit_env._registry"}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"jit_env.{name}")
    if name in _LAZY_NAMES:
        return getattr(importlib.import_module(_LAZY_NAMES[name]), name)
    raise AttributeError(f"module 'jit_env' has no attribute {name!r}")


__all__ = [
    "Action",
    "Batch",
    "Boundary",
    "Discount",
    "EnvOptions",
    "Environment",
    "Observation",
    "Reward",
    "Scope",
    "State",
    "StepType",
    "TimeStep",
    "Trajectory",
    "Wrapper",
    "WrapperState",
    "__version__",
    "__version_info__",
    "boundary",
    "compat",
    "dataclass",
    "envs",
    "field",
    "make",
    "new_episode",
    "register",
    "registered_envs",
    "restart",
    "rollout",
    "rollout_batch",
    "rollout_population",
    "specs",
    "termination",
    "testing",
    "transition",
    "truncation",
    "utils",
    "wrappers",
]
