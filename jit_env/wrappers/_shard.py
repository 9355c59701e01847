"""`Shard`: one batch of sub-environments split across the devices of a mesh axis.

Each device runs its own batch (the wrapped environment, with its own
auto-reset if it has one) in a `jax.shard_map`; nothing is communicated
between devices inside `reset` or `step`.

Layout, for `D` devices on the mesh axis and a per-device batch of `n`:

* time steps (observation, reward, discount, step type, extras): a leading
  axis of `N = D * n`, device `d` holding rows `d * n` to `(d + 1) * n`;
* actions: the same leading axis of `N`;
* the state: every leaf gets a leading device axis of `D` in front of the
  per-device state (so per-device data without a batch axis, such as
  `NormalizeObservation`'s statistics or a precomputed pool, is kept whole).

All of them are sharded over the mesh axis: `NamedSharding(mesh, P(axis))`.

Multi-host (`jax.distributed.initialize()` on every process): build the mesh
over `jax.devices()`, every process's devices. Call `reset` with the same key
on every process (inside `jax.jit`), then `step` with actions that are already
global arrays (a jitted policy applied to the time steps gives them), or with
each process's own rows made global by
``jax.make_array_from_process_local_data(env.sharding, local_actions)``, where
`local_actions` holds the rows of this process's devices in mesh order. Each
process reads its own rows back from ``x.addressable_shards``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from jit_env import _core, specs
from jit_env.wrappers import _common

ERR_NOT_BATCHED = (
    "Shard splits a batch across devices, so `env` must be batched (Tile, "
    "TileAutoReset, wrap(env, num_envs=n), Vmap or VmapAutoReset), got {!r}. Wrap "
    "the per-device batch first, e.g. Shard(TileAutoReset(env, n), mesh=mesh, axis_name=...)."
)
ERR_AXIS = "`axis_name` {!r} is not an axis of the mesh; its axes are {}."
ERR_NUM_ENVS_SIZED = (
    "`num_envs` is only for an env of unsized batch (Vmap, VmapAutoReset); {!r} has a "
    "fixed batch of {} per device, so Shard's batch is {} devices x {} = {}. Got num_envs={!r}."
)
ERR_NUM_ENVS_REQUIRED = (
    "{!r} has no fixed batch size: pass `num_envs`, the total batch, a multiple of the "
    "{} devices on mesh axis {!r}."
)
ERR_INDIVISIBLE = (
    "The batch of {} sub-environments does not divide into the {} devices of mesh axis "
    "{!r}; pass a multiple of {}."
)
ERR_TIMESTEP_LEAF = (
    "Every time step leaf of the per-device batch must have a leading batch axis of {}, "
    "got shape {}; Shard joins the devices' batches along that axis."
)


class Shard(_core.Wrapper[Any, Any, Any]):
    """Runs a batched environment on every device of a mesh axis, each its own batch.

    `env` is the per-device batch. With a fixed batch (`Tile`, `TileAutoReset`,
    or `wrap(env, num_envs=n)`), Shard's batch is `D * n` for `D` devices on
    `axis_name`; with an unsized batch (`Vmap`, `VmapAutoReset`), pass the
    total `num_envs`, a multiple of `D`. Each device auto-resets its own rows
    (if `env` auto-resets) and nothing crosses devices inside `reset` or
    `step`, so the cost per step does not grow with `D`.

    Keys: `reset(key)` takes one key; device `d` resets its batch with
    ``jax.random.fold_in(key, d)`` (a fixed batch's `reset` takes that one key;
    an unsized batch gets ``jax.random.split(jax.random.fold_in(key, d), n)``).
    The results therefore equal resetting and stepping the per-device batches
    one after another on one device with those keys.

    Wrappers that keep statistics across the batch (`NormalizeObservation`)
    keep one set per device when they sit inside Shard. Time steps and actions
    have a leading axis of `D * n`; every state leaf has a leading device axis
    of `D` (see the module docstring, also for multi-host use). All are sharded
    with `sharding`, ``NamedSharding(mesh, P(axis_name))``.

    >>> import jax, jit_env
    >>> from jit_env import wrappers
    >>> mesh = jax.make_mesh((jax.device_count(),), ("envs",))
    >>> env = wrappers.Shard(wrappers.TileAutoReset(jit_env.make("CartPole-v1"), 8),
    ...                      mesh=mesh, axis_name="envs")
    >>> state, ts = jax.jit(env.reset)(jax.random.key(0))
    >>> ts.observation.shape == (8 * jax.device_count(), 4)
    True
    >>> ts.observation.sharding.is_equivalent_to(env.sharding, 2)
    True
    """

    unsized_batch = False
    """Shard's specs describe its whole batch, also over an unsized one (it is sized by `num_envs`)."""

    def __init__(
        self,
        env: _core.Environment[Any, Any, Any],
        *,
        mesh: Mesh,
        axis_name: str,
        num_envs: int | None = None,
        options_in_axes: int | None = None,
    ):
        """Args:
        env: The per-device batch: a batched environment.
        mesh: The device mesh (on several hosts, over every process's devices).
        axis_name: The mesh axis the batch is split across; the batch is
            replicated over any other axes of `mesh`.
        num_envs: The total batch, only for an unsized batch (`Vmap`,
            `VmapAutoReset`); a multiple of the axis's device count.
        options_in_axes: None: reset options are shared by every device (the
            default); 0: they have a leading axis of `num_envs`, split like the
            batch (the wrapped env must take per-row options too).

        Raises:
            ValueError: If `env` is not batched, `axis_name` is not a mesh axis,
                or the batch does not divide into the axis's devices.
        """
        super().__init__(env)
        if axis_name not in mesh.axis_names:
            raise ValueError(ERR_AXIS.format(axis_name, tuple(mesh.axis_names)))
        batch = _core.boundary(env).batch
        if batch is None:
            raise ValueError(ERR_NOT_BATCHED.format(env))
        devices = int(mesh.shape[axis_name])
        sized = batch.size is not None
        if batch.size is not None:
            per = batch.size
            if num_envs is not None:
                raise ValueError(ERR_NUM_ENVS_SIZED.format(env, per, devices, per, devices * per, num_envs))
            total = devices * per
        else:
            if num_envs is None:
                raise ValueError(ERR_NUM_ENVS_REQUIRED.format(env, devices, axis_name))
            total = _common.check_positive_int("num_envs", num_envs)
            if total % devices:
                raise ValueError(ERR_INDIVISIBLE.format(total, devices, axis_name, devices))
            per = total // devices
        if options_in_axes not in (None, 0):
            raise ValueError(_common.ERR_CHOICE.format("options_in_axes", "None, 0", options_in_axes))
        self.mesh = mesh
        self.axis_name = axis_name
        self.num_devices = devices
        self.num_per_device = per
        self.num_envs = total
        self._sized = sized
        self._options_in_axes = options_in_axes
        self.sharding = NamedSharding(mesh, PartitionSpec(axis_name))
        """`NamedSharding(mesh, P(axis_name))`: how actions, time steps and states are laid out."""

    @property
    def batch(self) -> _core.Batch:  # type: ignore[override]
        """`Batch(num_envs)`: the specs describe the whole batch, over every device."""
        return _core.Batch(self.num_envs)

    def _repr_kwargs(self) -> list[tuple[str, Any]]:
        kwargs: list[tuple[str, Any]] = [("mesh", self.mesh), ("axis_name", self.axis_name)]
        if not self._sized:
            kwargs.append(("num_envs", self.num_envs))
        if self._options_in_axes is not None:
            kwargs.append(("options_in_axes", self._options_in_axes))
        return kwargs

    def _shard_map(self, fn: Any, in_specs: Any) -> Any:
        return jax.shard_map(fn, mesh=self.mesh, in_specs=in_specs,
                             out_specs=PartitionSpec(self.axis_name), check_vma=False)

    def _check_timestep(self, timestep: _core.TimeStep[Any]) -> None:
        for leaf in jax.tree_util.tree_leaves(timestep):
            shape = jnp.shape(leaf)
            if not shape or shape[0] != self.num_per_device:
                raise ValueError(ERR_TIMESTEP_LEAF.format(self.num_per_device, shape))

    def _local(self, state: Any, timestep: _core.TimeStep[Any]) -> Any:
        """Per-device outputs: the state gets its device axis, the time step is checked."""
        self._check_timestep(timestep)
        return jax.tree_util.tree_map(lambda x: x[None], state), timestep

    def reset(self, key: jax.Array, *, options: _core.EnvOptions = None) -> Any:
        def local_reset(key: jax.Array, options: Any) -> Any:
            device_key = jax.random.fold_in(key, jax.lax.axis_index(self.axis_name))
            if not self._sized:
                device_key = jax.random.split(device_key, self.num_per_device)
            return self._local(*self._env.reset(device_key, options=options))

        if self._options_in_axes is None:
            options_spec = PartitionSpec()
            options = self._laid_out(options, NamedSharding(self.mesh, PartitionSpec()))
        else:
            options_spec = PartitionSpec(self.axis_name)
            options = self._laid_out(options)
        key = self._laid_out(key, NamedSharding(self.mesh, PartitionSpec()))
        return self._shard_map(local_reset, (PartitionSpec(), options_spec))(key, options)

    def step(self, state: Any, action: Any) -> Any:
        _common.check_action(self, action)

        def local_step(state: Any, action: Any) -> Any:
            state = jax.tree_util.tree_map(lambda x: x[0], state)
            return self._local(*self._env.step(state, action))

        axis = PartitionSpec(self.axis_name)
        return self._shard_map(local_step, (axis, axis))(self._laid_out(state), self._laid_out(action))

    def _laid_out(self, tree: Any, sharding: NamedSharding | None = None) -> Any:
        """`tree` resharded to `sharding` (default: over the mesh axis); a no-op where it already is.

        On a mesh with explicit axes (`jax.make_mesh`'s default) the sharding is
        part of an array's type, so arrays are resharded (`jax.reshard`); on an
        auto mesh, constrained (`jax.lax.with_sharding_constraint`).
        """
        sharding = self.sharding if sharding is None else sharding
        place = jax.reshard if self._explicit else jax.lax.with_sharding_constraint
        return jax.tree_util.tree_map(lambda x: place(jnp.asarray(x), sharding), tree)

    @property
    def _explicit(self) -> bool:
        return bool(self.mesh.axis_types[self.mesh.axis_names.index(self.axis_name)] == AxisType.Explicit)

    def render(self, state: Any) -> Any:
        """Renders every device's batch with the wrapped env's `render`: `N` frames."""
        if self._renderer is not None:
            return self._renderer(state)
        # Replicated first: an explicitly sharded axis cannot be indexed.
        state = self._laid_out(state, NamedSharding(self.mesh, PartitionSpec()))
        frames = [np.asarray(self._env.render(jax.tree_util.tree_map(lambda x, d=d: x[d], state)))
                  for d in range(self.num_devices)]
        return np.concatenate(frames)

    def _whole(self, spec: specs.Spec[Any]) -> specs.Spec[Any]:
        if not self._sized:  # Specs of one slice: the whole batch is `Batched`, as Tile's.
            return specs.Batched(spec, self.num_envs)
        if isinstance(spec, specs.Batched):  # Of the per-device batch: widen it.
            return specs.Batched(spec.spec, self.num_envs)
        return jax.tree_util.tree_map(self._widen, specs.unpack_spec(spec), is_leaf=specs.is_spec)

    def _widen(self, spec: specs.Spec[Any]) -> specs.Spec[Any]:
        """A leaf spec of the per-device batch (leading axis `n`) for the whole batch."""
        assert isinstance(spec, specs.Array)

        def tile(bound: Any) -> Any:
            bound = np.asarray(bound)
            return np.concatenate([bound] * self.num_devices) if bound.ndim == len(spec.shape) else bound

        shape = (self.num_envs, *spec.shape[1:])
        if isinstance(spec, specs.DiscreteArray):
            return spec.replace(num_values=tile(spec.num_values))
        if isinstance(spec, specs.BoundedArray):
            return spec.replace(shape=shape, minimum=tile(spec.minimum), maximum=tile(spec.maximum))
        return spec.replace(shape=shape)

    def observation_spec(self) -> specs.Spec[Any]:
        return self._whole(self._env.observation_spec())

    def action_spec(self) -> specs.Spec[Any]:
        return self._whole(self._env.action_spec())

    def reward_spec(self) -> specs.Spec[Any]:
        return self._whole(self._env.reward_spec())

    def discount_spec(self) -> specs.Spec[Any]:
        return self._whole(self._env.discount_spec())

