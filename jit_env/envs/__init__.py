"""The built-in environments: classic control matching Gymnasium, Catch and DeepSea.

Build them by id with `jit_env.make` (which adds Gymnasium's time limits) or
directly from the classes here. Every environment has a `Params` dataclass
(defaults are the upstream constants) and fixes the structure of its state
when it is built: `CartPole(params={"gravity": 3.7})` fixes its parameters
(NumPy float32 constants; `state.options` is None and `reset` takes no
options), while `CartPole(per_episode_params=True)` (or
`make("CartPole-v1", per_episode_params=True)`) keeps the episode's `Params`
in `state.options` on every reset, filled from `reset(options=...)` (a
`Params` or a dict of overrides) or from `params` when `options` is None.
`Vmap(env, options_in_axes=0)` over such an env gives each sub-environment its
own (then every field needs the batch axis)::

    defaults = jax.tree.map(lambda x: jnp.full((n,), x, jnp.float32), CartPoleParams())
    options = dataclasses.replace(defaults, gravity=gravities)
    env = Vmap(CartPole(per_episode_params=True), options_in_axes=0)
    state, ts = env.reset(keys, options=options)

Every `render(state)` returns a uint8 `(H, W, 3)` frame computed in pure JAX.
"""

from jit_env.envs.acrobot import Acrobot as Acrobot
from jit_env.envs.acrobot import Params as AcrobotParams
from jit_env.envs.acrobot import State as AcrobotState
from jit_env.envs.cartpole import CartPole as CartPole
from jit_env.envs.cartpole import Params as CartPoleParams
from jit_env.envs.cartpole import State as CartPoleState
from jit_env.envs.catch import Catch as Catch
from jit_env.envs.catch import Params as CatchParams
from jit_env.envs.catch import State as CatchState
from jit_env.envs.deep_sea import DeepSea as DeepSea
from jit_env.envs.deep_sea import Params as DeepSeaParams
from jit_env.envs.deep_sea import State as DeepSeaState
from jit_env.envs.mountain_car import MountainCar as MountainCar
from jit_env.envs.mountain_car import Params as MountainCarParams
from jit_env.envs.mountain_car import State as MountainCarState
from jit_env.envs.mountain_car_continuous import MountainCarContinuous as MountainCarContinuous
from jit_env.envs.mountain_car_continuous import Params as MountainCarContinuousParams
from jit_env.envs.mountain_car_continuous import State as MountainCarContinuousState
from jit_env.envs.pendulum import Params as PendulumParams
from jit_env.envs.pendulum import Pendulum as Pendulum
from jit_env.envs.pendulum import State as PendulumState

__all__ = [
    "Acrobot",
    "AcrobotParams",
    "AcrobotState",
    "CartPole",
    "CartPoleParams",
    "CartPoleState",
    "Catch",
    "CatchParams",
    "CatchState",
    "DeepSea",
    "DeepSeaParams",
    "DeepSeaState",
    "MountainCar",
    "MountainCarContinuous",
    "MountainCarContinuousParams",
    "MountainCarContinuousState",
    "MountainCarParams",
    "MountainCarState",
    "Pendulum",
    "PendulumParams",
    "PendulumState",
]
