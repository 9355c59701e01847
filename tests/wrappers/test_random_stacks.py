"""Random stacks of wrappers either refuse to be built or keep the auto-reset contract.

`hypothesis` draws an environment (CartPole-v1, which terminates, or Pendulum-v1,
which only truncates), wrappers beneath and above an auto-reset wrapper in random
order, the auto-reset wrapper (AutoReset, VmapAutoReset or TileAutoReset), its
mode, its strategy and the batch size. A stack whose order would give wrong data
must be refused by the stack check with one of its messages, exactly when the
declarations say so. Any other stack runs a jitted `lax.scan` of 60 steps, and
every step is checked against the stack beneath the auto-reset wrapper, stepped
on its own from the same state with the same action (a plain reference), and
against episode totals counted in a plain Python loop.

A test-only `Probe` wrapper right above the auto-reset wrapper copies that
wrapper's time step and the action it got into `extras`, so the contract is
checked where it is promised; the top of the stack is checked too (the wrappers
above must not put a reward on a reset step, mix two episodes in one
observation, or lose statistics declared to survive episodes). The same run
through `jit_env.rollout` must give the same trajectory, and another key must
give other episodes. The environments include one whose state is a plain dict
with a "key" entry.

A second test draws stacks under the three bridges (`ToGymnasium`,
`ToDeepmindEnv`, `ToGymnasiumVector` in both auto-reset modes) and checks what
their users see; a third draws stacks under `Shard` and runs them on four
forced host devices in a fresh interpreter.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import re
import subprocess
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

import jit_env
from jit_env import _core, compat, wrappers
from jit_env.envs import cartpole, pendulum

pytestmark = pytest.mark.integration

NUM_STEPS = 60
PROBE = "probe"
# Every drawn stack compiles for seconds: a failure is reported as drawn, without shrinking it.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate)
# Wrappers that may go beneath or above the auto-reset wrapper.
LAYERS = ("TimeLimit", "EpisodeStatistics", "NormalizeObservation", "FrameStack",
          "TransformReward", "FlattenObservation", "ClipAction")
# Whether the environment terminates (else only its time limit ends it).
CAN_TERMINATE = {"CartPole-v1": True, "Pendulum-v1": False, "DictCartPole": True}
# TransformReward: an even number scales (`2r`), an odd one shifts (`r - 0.01`), which puts a
# phantom reward on any reset step it is wrongly applied to.
SHIFT = 0.01
# CartPole's terminal bounds (Gymnasium's), compared in float32 as the environment does: an
# episode that terminates ends beyond one of them.
X_BOUND, THETA_BOUND = np.float32(2.4), np.float32(12 * 2 * np.pi / 360)


class DictCartPole(jit_env.Environment):
    """CartPole whose state is a plain dict with a "key" entry, as a user may write one."""

    def __init__(self) -> None:
        super().__init__()
        self._env = cartpole.CartPole(per_episode_params=True)

    def __repr__(self) -> str:
        return "DictCartPole()"

    def reset(self, key: jax.Array, *, options: Any = None) -> Any:
        key, inner_key = jax.random.split(key)
        state, timestep = self._env.reset(inner_key, options=options)
        # The episode's parameters under "options", where auto-reset looks for them.
        return {"key": key, "cartpole": state, "options": state.options}, timestep

    def step(self, state: Any, action: Any) -> Any:
        # The parameters live once, under "options" (what auto-reset reads and restores).
        cartpole_state = dataclasses.replace(state["cartpole"], options=state["options"])
        inner, timestep = self._env.step(cartpole_state, action)
        return {"key": state["key"], "cartpole": inner, "options": state["options"]}, timestep

    def observation_spec(self) -> Any:
        return self._env.observation_spec()

    def action_spec(self) -> Any:
        return self._env.action_spec()

    def reward_spec(self) -> Any:
        return self._env.reward_spec()

    def discount_spec(self) -> Any:
        return self._env.discount_spec()


def _make(env_name: str, limit: int) -> jit_env.Environment:
    """The environment with a short time limit, as `jit_env.make(..., max_episode_steps=limit)`."""
    if env_name == "DictCartPole":
        return wrappers.TimeLimit(DictCartPole(), max_episode_steps=limit)
    return jit_env.make(env_name, max_episode_steps=limit, per_episode_params=True)


def _reward_fn(number: int) -> Any:
    if number % 2 == 0:
        return lambda r: 2.0 * r
    return lambda r: r - SHIFT


def _reward_inverse(number: int, reward: float) -> float:
    return reward / 2.0 if number % 2 == 0 else reward + SHIFT


def _transform_rewards(layers: tuple[tuple[str, int], ...], reward: Any) -> Any:
    """What the TransformReward layers (innermost first) make of `reward`."""
    for name, number in layers:
        if name == "TransformReward":
            reward = _reward_fn(number)(reward)
    return reward
STACK_ERRORS = (_core.ERR_PER_EPISODE_OUTSIDE_AUTO_RESET, _core.ERR_ACROSS_EPISODES_INSIDE_AUTO_RESET)


class Probe(jit_env.Wrapper):
    """Copies the wrapped time step and the action it got into ``extras["probe"]``."""

    def __init__(self, env: jit_env.Environment, *, action: Any):
        super().__init__(env)
        self._no_action = action

    def _probe(self, timestep: jit_env.TimeStep, action: Any) -> jit_env.TimeStep:
        extras = dict(timestep.extras or {})
        extras[PROBE] = {
            "action": action,
            "step_type": timestep.step_type,
            "observation": timestep.observation,
            "reward": timestep.reward,
            "discount": timestep.discount,
            "final_observation": extras[wrappers.FINAL_OBSERVATION],
            "episode": extras.get(wrappers.EPISODE),
        }
        return dataclasses.replace(timestep, extras=extras)

    def reset(self, key: jax.Array, *, options: Any = None) -> Any:
        state, timestep = self._env.reset(key, options=options)
        return state, self._probe(timestep, self._no_action)

    def step(self, state: Any, action: Any) -> Any:
        state, timestep = self._env.step(state, action)
        return state, self._probe(timestep, action)


@dataclasses.dataclass(frozen=True)
class Plan:
    env_name: str
    limit: int  # `make(env_name, max_episode_steps=limit)`: short, so episodes end within the scan
    inner: tuple[tuple[str, int], ...]  # beneath the auto-reset wrapper, innermost first
    outer: tuple[tuple[str, int], ...]  # above it, innermost first
    auto_reset: str
    mode: str
    strategy: str
    batch: int | None  # None for AutoReset (one environment)
    num_resets: int
    pool_size: int

    @property
    def refused(self) -> bool:
        """What the declarations say: a per-episode wrapper above, or normalisation beneath."""
        per_episode_above = any(name in ("TimeLimit", "EpisodeStatistics") for name, _ in self.outer)
        across_beneath = any(name == "NormalizeObservation" for name, _ in self.inner)
        return per_episode_above or across_beneath


def _layer_names(env_name: str) -> tuple[str, ...]:
    return LAYERS if env_name == "Pendulum-v1" else tuple(n for n in LAYERS if n != "ClipAction")


@st.composite
def plans(draw: Any) -> Plan:
    env_name = draw(st.sampled_from(sorted(CAN_TERMINATE)))
    drawn = draw(st.lists(st.tuples(st.sampled_from(_layer_names(env_name)), st.integers(2, 12)), max_size=5))
    # ClipAction makes the action spec unbounded, so a second one has nothing to clip to.
    layers = [layer for i, layer in enumerate(drawn)
              if layer[0] != "ClipAction" or all(name != "ClipAction" for name, _ in drawn[:i])]
    split = draw(st.integers(0, len(layers)))
    auto_reset = draw(st.sampled_from(["AutoReset", "VmapAutoReset", "TileAutoReset"]))
    batch = None if auto_reset == "AutoReset" else draw(st.integers(1, 4))
    strategy = "complete" if batch is None else draw(
        st.sampled_from([wrappers.COMPLETE, wrappers.OPTIMISTIC, wrappers.PRECOMPUTED]))
    return Plan(
        env_name=env_name, limit=draw(st.integers(5, 30)), inner=tuple(layers[:split]), outer=tuple(layers[split:]),
        auto_reset=auto_reset, mode=draw(st.sampled_from([wrappers.SAME_STEP, wrappers.NEXT_STEP])),
        strategy=strategy, batch=batch,
        num_resets=draw(st.integers(1, batch or 1)), pool_size=draw(st.integers(1, 2 * (batch or 1))),
    )


def _wrap(env: jit_env.Environment, name: str, number: int) -> jit_env.Environment:
    if name == "TimeLimit":
        return wrappers.TimeLimit(env, max_episode_steps=number)
    if name == "EpisodeStatistics":
        return wrappers.EpisodeStatistics(env)
    if name == "NormalizeObservation":
        return wrappers.NormalizeObservation(env)
    if name == "FrameStack":
        return wrappers.FrameStack(env, num_stack=2 + number % 2)
    if name == "TransformReward":
        return wrappers.TransformReward(env, fn=_reward_fn(number))
    if name == "FlattenObservation":
        return wrappers.FlattenObservation(env)
    assert name == "ClipAction"
    return wrappers.ClipAction(env)


def _options(plan: Plan) -> Any:
    """Non-default parameters: one per sub-environment when batched."""
    params = pendulum.Params() if plan.env_name == "Pendulum-v1" else cartpole.Params()
    field = "g" if plan.env_name == "Pendulum-v1" else "gravity"
    n = plan.batch or 1
    values = jax.tree_util.tree_map(lambda x: jnp.full((n,), x, jnp.float32), params)
    values = dataclasses.replace(values, **{field: jnp.arange(1, n + 1, dtype=jnp.float32) + 3.0})
    if plan.batch is None:
        values = jax.tree_util.tree_map(lambda x: x[0], values)
    return values, field


def _build(plan: Plan, shard: Any = None,
           devices: int = 1) -> tuple[jit_env.Environment, jit_env.Environment, jit_env.Environment]:
    """The whole stack, the auto-reset wrapper and the stack beneath it (or ValueError).

    `shard(auto)`, if given, wraps the auto-reset wrapper (in `Shard` over `devices` devices).
    """
    env = _make(plan.env_name, plan.limit)
    for name, number in plan.inner:
        env = _wrap(env, name, number)
    inner = env
    if plan.auto_reset == "AutoReset":
        auto = wrappers.AutoReset(inner, mode=plan.mode)
    else:
        kwargs: dict[str, Any] = {"mode": plan.mode, "strategy": plan.strategy, "options_in_axes": 0}
        if plan.strategy == wrappers.OPTIMISTIC:
            kwargs["num_resets"] = plan.num_resets
        if plan.strategy == wrappers.PRECOMPUTED:
            kwargs["pool_size"] = plan.pool_size
        if plan.auto_reset == "VmapAutoReset":
            auto = wrappers.VmapAutoReset(inner, **kwargs)
        else:
            auto = wrappers.TileAutoReset(inner, plan.batch, **kwargs)
    env = Probe(auto if shard is None else shard(auto), action=_no_action(plan, inner, devices))
    for name, number in plan.outer:
        env = _wrap(env, name, number)
    return env, auto, inner


def _no_action(plan: Plan, inner: jit_env.Environment, devices: int = 1) -> Any:
    spec = inner.action_spec()
    shape = spec.shape if plan.batch is None else (devices * plan.batch, *spec.shape)
    return jnp.zeros(shape, spec.dtype)


def _actions(plan: Plan, key: jax.Array) -> jax.Array:
    """Random actions for every step; Pendulum's go past the bounds, for ClipAction."""
    return _random_actions(plan.env_name, key, (NUM_STEPS,) if plan.batch is None else (NUM_STEPS, plan.batch))


def _random_actions(env_name: str, key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    if env_name == "Pendulum-v1":
        return jax.random.uniform(key, (*shape, 1), jnp.float32, -3.0, 3.0)
    return jax.random.randint(key, shape, 0, 2, jnp.int32)


def _down_to_auto_reset(env: jit_env.Environment, auto: jit_env.Environment, state: Any) -> Any:
    """The auto-reset wrapper's part of the whole stack's state."""
    while env is not auto:
        if env.state_type is not None and isinstance(state, env.state_type):
            state = state.inner
        env = env.env
    return state


def _beneath(state: Any) -> Any:
    """The state of the stack beneath the auto-reset wrapper."""
    if isinstance(state, (wrappers.AutoResetState, wrappers.BatchedAutoResetState)):
        return state.inner
    return state


def _base_state(state: Any) -> Any:
    """The built-in environment's own state (CartPole or Pendulum), beneath every wrapper."""
    while isinstance(state, _core.WrapperState):
        state = state.inner
    if isinstance(state, dict):  # DictCartPole: the parameters it runs with live under "options"
        return dataclasses.replace(state["cartpole"], options=state["options"])
    return state


def _normalize_counts(state: Any) -> list[Any]:
    """The `count` of every NormalizeObservation state in the stack's state, outermost first."""
    counts = []
    while isinstance(state, _core.WrapperState):
        if isinstance(state, wrappers.NormalizeObservationState):
            counts.append(state.count)
        state = state.inner
    return counts


def _rollout(plan: Plan, env: jit_env.Environment, auto: jit_env.Environment, inner: jit_env.Environment,
             seed: int) -> dict[str, Any]:
    options, _ = _options(plan)
    key = jax.random.key(seed)
    reset_key = key if plan.batch is None or plan.auto_reset == "TileAutoReset" else jax.random.split(key, plan.batch)

    @jax.jit
    def run(reset_key: jax.Array, actions: jax.Array) -> Any:
        state, _ = env.reset(reset_key, options=options)

        def body(state: Any, action: Any) -> Any:
            new, timestep = env.step(state, action)
            return new, (state, new, timestep)

        _, (before, after, timesteps) = jax.lax.scan(body, state, actions)
        # The reference: the stack beneath the auto-reset wrapper, stepped on its own from
        # the state before each step with the action the auto-reset wrapper received.
        step = inner.step if plan.batch is None else jax.vmap(inner.step)
        pre = _beneath(_down_to_auto_reset(env, auto, before))
        _, reference = jax.vmap(step)(pre, timesteps.extras[PROBE]["action"])
        post = _beneath(_down_to_auto_reset(env, auto, after))
        first_base = _base_state(_beneath(_down_to_auto_reset(env, auto, state)))
        return timesteps, reference, _base_state(post), first_base, _normalize_counts(after)

    actions = _actions(plan, jax.random.fold_in(key, 1))
    timesteps, reference, base, first_base, normalize_counts = run(reset_key, actions)
    # Another key: other episodes (the compiled `run` is reused).
    other_key = jax.random.key(seed + 1)
    if plan.batch is not None and plan.auto_reset != "TileAutoReset":
        other_key = jax.random.split(other_key, plan.batch)
    _, _, _, other_first_base, _ = run(other_key, actions)

    # The same run through `jit_env.rollout`, from the same reset, with a random policy.
    batch = () if plan.batch is None else (plan.batch,)

    def policy(params: Any, observation: Any, key: jax.Array) -> jax.Array:
        return _random_actions(plan.env_name, key, batch)

    @jax.jit
    def via_rollout(reset_key: jax.Array, key: jax.Array) -> Any:
        start = env.reset(reset_key, options=options)
        _, trajectory = jit_env.rollout(env, policy, key, NUM_STEPS, start=start)
        return trajectory

    trajectory = via_rollout(reset_key, jax.random.fold_in(key, 2))
    replayed, _, _, _, _ = run(reset_key, trajectory.actions)
    return jax.device_get({"timesteps": timesteps, "reference": reference, "base": base,
                           "first_base": first_base, "other_first_base": other_first_base,
                           "trajectory": trajectory, "replayed": replayed, "normalize_counts": normalize_counts})


def _rows(tree: Any, t: int, b: int | None) -> Any:
    return jax.tree_util.tree_map(lambda x: x[t] if b is None else x[t][b], tree)


def _is_reset_start(plan: Plan, base: Any) -> bool:
    """Whether a built-in environment's state lies where its `reset` draws starts."""
    if hasattr(base, "x"):
        values = [base.x, base.x_dot, base.theta, base.theta_dot]
        return all(abs(float(v)) <= 0.05 for v in values)
    return abs(float(base.theta)) <= np.pi and abs(float(base.theta_dot)) <= 1.0


def _check_contract(plan: Plan, out: dict[str, Any]) -> None:
    options, field = _options(plan)
    timesteps, reference, base = out["timesteps"], out["reference"], out["base"]
    probe = timesteps.extras[PROBE]
    limits = [number for name, number in plan.inner if name == "TimeLimit"] + [plan.limit]
    # The outermost EpisodeStatistics beneath the auto-reset wrapper writes extras["episode"];
    # the TransformReward layers above it changed the rewards it counted.
    transforms_above_stats = None
    stats_see_every_end = False
    if any(name == "EpisodeStatistics" for name, _ in plan.inner):
        last_stats = max(i for i, (name, _) in enumerate(plan.inner) if name == "EpisodeStatistics")
        above = plan.inner[last_stats + 1:]
        transforms_above_stats = [number for name, number in above if name == "TransformReward"]
        # `done` is the LAST of the step it saw; a TimeLimit above it ends episodes it cannot see.
        stats_see_every_end = all(name != "TimeLimit" for name, _ in above)
    top_steps = {"step_type": timesteps.step_type, "reward": timesteps.reward, "discount": timesteps.discount,
                 "observation": timesteps.observation,
                 "final_observation": timesteps.extras[wrappers.FINAL_OBSERVATION]}
    _check_rollout(plan, out["trajectory"], out["replayed"])
    for count in out["normalize_counts"]:
        # NormalizeObservation above the auto-reset wrapper keeps its statistics across episodes.
        assert np.all(np.diff(np.asarray(count), axis=0) > 0), f"statistics restarted: {plan}, {count}"
    distinct_starts = plan.strategy != wrappers.PRECOMPUTED
    for b in ([None] if plan.batch is None else range(plan.batch)):
        episode_return, episode_length = 0.0, 0
        first_base = out["first_base"] if b is None else _rows(out["first_base"], b, None)
        starts = [_base_key(first_base)]
        expected_option = getattr(options, field) if b is None else getattr(options, field)[b]
        other_first_base = out["other_first_base"] if b is None else _rows(out["other_first_base"], b, None)
        assert _base_key(other_first_base) != starts[0], f"another key started the same episode: {plan}, {b}"
        for t in range(NUM_STEPS):
            p, r, s = _rows(probe, t, b), _rows(reference, t, b), _rows(base, t, b)
            where = f"{plan} at step {t}, sub-environment {b}"
            np.testing.assert_allclose(getattr(s.options, field), expected_option,
                                       err_msg=f"reset options lost: {where}")
            previous_last = t > 0 and int(_rows(probe, t - 1, b)["step_type"]) == int(jit_env.StepType.LAST)
            _check_top(plan, _rows(top_steps, t, b), p, previous_last, where)
            if plan.mode == wrappers.NEXT_STEP and previous_last:
                # The step after LAST ignores its action and starts the next episode.
                assert int(p["step_type"]) == int(jit_env.StepType.FIRST), where
                assert float(p["reward"]) == 0.0 and float(p["discount"]) == 1.0, where
                _assert_tree_close(p["final_observation"], p["observation"], where)
                assert _is_reset_start(plan, s), f"not a fresh start: {where}"
                starts.append(_base_key(s))
                episode_return, episode_length = 0.0, 0
                if transforms_above_stats is not None:
                    assert int(p["episode"]["length"]) == 0 and not bool(p["episode"]["done"]), where
                continue
            _assert_tree_close(p["final_observation"], r.observation, f"final observation: {where}")
            np.testing.assert_allclose(p["reward"], r.reward, rtol=1e-5, err_msg=where)
            np.testing.assert_allclose(p["discount"], r.discount, err_msg=where)
            episode_length += 1
            if transforms_above_stats is not None:
                # The reward EpisodeStatistics saw: undo the transforms above it, outermost first.
                seen = float(r.reward)
                for number in reversed(transforms_above_stats):
                    seen = _reward_inverse(number, seen)
                episode_return += seen
                stats = p["episode"]
                assert int(stats["length"]) == episode_length, f"episode length: {where}"
                np.testing.assert_allclose(float(stats["return"]), episode_return,
                                           rtol=1e-4, atol=1e-4, err_msg=f"episode return: {where}")
                if stats_see_every_end:
                    assert bool(stats["done"]) == bool(r.step_type == jit_env.StepType.LAST), where
            if int(r.step_type) != int(jit_env.StepType.LAST):
                assert int(p["step_type"]) == int(jit_env.StepType.MID), where
                _assert_tree_close(p["observation"], r.observation, where)
                continue
            if float(r.discount) > 0.0:  # a truncation: only a time limit cuts an episode short
                assert episode_length == min(limits), f"truncated after {episode_length} steps: {where}"
            else:
                assert CAN_TERMINATE[plan.env_name], f"discount 0 without termination: {where}"
                assert episode_length <= min(limits), where
            if plan.mode == wrappers.SAME_STEP:
                assert int(p["step_type"]) == int(jit_env.StepType.FIRST), where
                assert _is_reset_start(plan, s), f"not a fresh start: {where}"
                starts.append(_base_key(s))
                episode_return, episode_length = 0.0, 0
            else:
                assert int(p["step_type"]) == int(jit_env.StepType.LAST), where
                _assert_tree_close(p["observation"], r.observation, where)
        if distinct_starts:
            assert len(set(starts)) == len(starts), f"an episode started again from an earlier start: {plan}, {b}"


def _check_top(plan: Plan, top: Any, p: Any, previous_last: bool, where: str) -> None:
    """The top of the stack: what the wrappers above the auto-reset wrapper made of its step."""
    assert int(top["step_type"]) == int(p["step_type"]), f"top step type: {where}"
    assert float(top["discount"]) == float(p["discount"]), f"top discount: {where}"
    same_step_reset = (plan.mode == wrappers.SAME_STEP and int(p["step_type"]) == int(jit_env.StepType.FIRST))
    if not same_step_reset:
        # Two episodes never share one observation (a frame stack, say): the final observation
        # differs from the observation only where a same-step reset put a new episode's there.
        _assert_tree_close(top["final_observation"], top["observation"], f"top final observation: {where}")
    if plan.mode == wrappers.NEXT_STEP and previous_last:
        assert float(top["reward"]) == 0.0, f"phantom reward {float(top['reward'])} on a reset step: {where}"
    else:
        np.testing.assert_allclose(top["reward"], _transform_rewards(plan.outer, p["reward"]), rtol=1e-5,
                                   atol=1e-6, err_msg=f"top reward: {where}")


def _check_rollout(plan: Plan, trajectory: Any, replayed: Any) -> None:
    """`jit_env.rollout` records what stepping the stack with its actions gives."""
    where = f"jit_env.rollout of {plan}"
    np.testing.assert_array_equal(trajectory.step_types, replayed.step_type, err_msg=where)
    np.testing.assert_allclose(trajectory.rewards, replayed.reward, rtol=1e-5, atol=1e-6, err_msg=where)
    np.testing.assert_allclose(trajectory.discounts, replayed.discount, err_msg=where)
    _assert_tree_close(jax.tree_util.tree_map(lambda x: x[1:], trajectory.observations),
                       jax.tree_util.tree_map(lambda x: x[:-1], replayed.observation), where)
    _assert_tree_close(trajectory.final_observation, replayed.extras[wrappers.FINAL_OBSERVATION], where)


def _base_key(base: Any) -> tuple[float, ...]:
    fields = ("x", "x_dot", "theta", "theta_dot") if hasattr(base, "x") else ("theta", "theta_dot")
    return tuple(float(getattr(base, f)) for f in fields)


def _assert_tree_close(actual: Any, expected: Any, where: str) -> None:
    jax.tree_util.tree_map(
        lambda a, e: np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6, err_msg=where), actual, expected)


# The stack every run covers: next-step mode, the precomputed pool, statistics and frames
# beneath, normalisation and flattening above.
ALWAYS = Plan(
    env_name="CartPole-v1", limit=12,
    inner=(("EpisodeStatistics", 0), ("TransformReward", 0), ("FrameStack", 3)),
    outer=(("NormalizeObservation", 0), ("FlattenObservation", 0)),
    auto_reset="VmapAutoReset", mode=wrappers.NEXT_STEP, strategy=wrappers.PRECOMPUTED,
    batch=3, num_resets=1, pool_size=4,
)


# Next-step mode with a reward shift, frames and normalisation above the auto-reset wrapper:
# no phantom reward, no frame stack holding two episodes, statistics kept across episodes.
ABOVE_NEXT_STEP = Plan(
    env_name="CartPole-v1", limit=8, inner=(("TransformReward", 1),),
    outer=(("TransformReward", 3), ("FrameStack", 2), ("NormalizeObservation", 0)),
    auto_reset="TileAutoReset", mode=wrappers.NEXT_STEP, strategy=wrappers.COMPLETE,
    batch=2, num_resets=1, pool_size=1,
)
# A state that is a plain dict with a "key" entry, under `wrap`'s usual stack.
DICT_STATE = Plan(
    env_name="DictCartPole", limit=5, inner=(("EpisodeStatistics", 0),), outer=(),
    auto_reset="TileAutoReset", mode=wrappers.SAME_STEP, strategy=wrappers.COMPLETE,
    batch=2, num_resets=1, pool_size=1,
)


# About 15 s of CPU per stack that runs (mostly compiling); refused stacks cost nothing.
@settings(max_examples=8, deadline=None, phases=PHASES)
@given(plan=plans(), seed=st.integers(0, 2**16))
@example(plan=ALWAYS, seed=3)
@example(plan=ABOVE_NEXT_STEP, seed=4)
@example(plan=DICT_STATE, seed=5)
def test_random_stack__refused_when_built_or_keeps_the_auto_reset_contract(plan, seed):
    try:
        env, auto, inner = _build(plan)
    except ValueError as e:
        assert plan.refused, f"{plan} was refused: {e}"
        assert any(_matches(template, str(e)) for template in STACK_ERRORS), str(e)
        return
    assert not plan.refused, f"{plan} was built"
    out = _rollout(plan, env, auto, inner, seed)
    _check_contract(plan, out)


def _matches(template: str, message: str) -> bool:
    pattern = re.escape(template).replace(re.escape("{wrapper}"), r"\w+").replace(re.escape("{auto_reset}"), r"\w+")
    return re.fullmatch(pattern, message) is not None


# ---------------------------------------------------------------------------------------------
# The bridges: what a Gymnasium or dm_env user sees.

BRIDGES = ("ToGymnasium", "ToDeepmindEnv", "ToGymnasiumVector")
BRIDGE_STEPS = 40


@dataclasses.dataclass(frozen=True)
class BridgePlan:
    env_name: str
    limit: int
    layers: tuple[tuple[str, int], ...]  # beneath the bridge, innermost first
    bridge: str
    mode: str | None  # the vector bridge's auto-reset mode (jit_env's name), None for the others
    num_envs: int  # 1 for the single-environment bridges


@st.composite
def bridge_plans(draw: Any) -> BridgePlan:
    env_name = draw(st.sampled_from(sorted(CAN_TERMINATE)))
    drawn = draw(st.lists(st.tuples(st.sampled_from(_layer_names(env_name)), st.integers(2, 12)), max_size=4))
    layers = [layer for i, layer in enumerate(drawn)
              if layer[0] != "ClipAction" or all(name != "ClipAction" for name, _ in drawn[:i])]
    bridge = draw(st.sampled_from(BRIDGES))
    vector = bridge == "ToGymnasiumVector"
    return BridgePlan(
        env_name=env_name, limit=draw(st.integers(5, 20)), layers=tuple(layers), bridge=bridge,
        mode=draw(st.sampled_from([wrappers.SAME_STEP, wrappers.NEXT_STEP])) if vector else None,
        num_envs=draw(st.integers(1, 3)) if vector else 1,
    )


def _bridge_options(plan: BridgePlan) -> tuple[Any, str, float]:
    """Non-default parameters for every episode (the bridges' construction options)."""
    field = "g" if plan.env_name == "Pendulum-v1" else "gravity"
    params = pendulum.Params() if plan.env_name == "Pendulum-v1" else cartpole.Params()
    return dataclasses.replace(params, **{field: jnp.float32(4.5)}), field, 4.5


def _build_bridge(plan: BridgePlan) -> Any:
    from gymnasium.vector import AutoresetMode

    env = _make(plan.env_name, plan.limit)
    for name, number in plan.layers:
        env = _wrap(env, name, number)
    options, _, _ = _bridge_options(plan)
    if plan.bridge == "ToGymnasium":
        return compat.ToGymnasium(env, options=options)
    if plan.bridge == "ToDeepmindEnv":
        return compat.ToDeepmindEnv(env, seed=0, options=options)
    mode = AutoresetMode.SAME_STEP if plan.mode == wrappers.SAME_STEP else AutoresetMode.NEXT_STEP
    return compat.ToGymnasiumVector(env, plan.num_envs, autoreset_mode=mode, options=options)


@dataclasses.dataclass
class Episode:
    first: Any  # the observation the episode started with
    steps: list[tuple[float, bool, bool, Any]]  # (reward, terminated, truncated, the step's observation)


def _bridge_episodes(plan: BridgePlan, bridge: Any, seed: int) -> tuple[list[list[Episode]], list[str]]:
    """Steps the bridge with random actions; each sub-environment's episodes, and contract breaches
    seen on the way (phantom rewards, lost options, a final observation out of place)."""
    _, field, value = _bridge_options(plan)
    rng = np.random.default_rng(seed)
    breaches: list[str] = []

    def options_kept(when: str) -> None:
        kept = np.asarray(getattr(_base_state(bridge.state).options, field))
        if not np.allclose(kept, value):
            breaches.append(f"reset options lost after {when}: {kept}")

    def action() -> Any:
        shape = (plan.num_envs,) if plan.bridge == "ToGymnasiumVector" else ()
        if plan.env_name == "Pendulum-v1":
            return rng.uniform(-2.0, 2.0, (*shape, 1)).astype(np.float32)
        return rng.integers(0, 2, shape).astype(np.int32 if plan.bridge == "ToDeepmindEnv" else np.int64)

    if plan.bridge == "ToDeepmindEnv":
        timestep = bridge.reset()
        episodes = [Episode(timestep.observation, [])]
        for t in range(BRIDGE_STEPS):
            timestep = bridge.step(action())
            options_kept(f"step {t}")
            if timestep.first():
                if timestep.reward is not None:
                    breaches.append(f"reward {timestep.reward} on the FIRST time step {t}")
                episodes.append(Episode(timestep.observation, []))
                continue
            last = timestep.last()
            episodes[-1].steps.append((float(timestep.reward), last and timestep.discount == 0.0,
                                       last and timestep.discount > 0.0, timestep.observation))
        return [episodes], breaches

    observation, _ = bridge.reset(seed=seed)
    options_kept("reset")
    if plan.bridge == "ToGymnasium":
        episodes = [Episode(observation, [])]
        for t in range(BRIDGE_STEPS):
            observation, reward, terminated, truncated, _ = bridge.step(action())
            episodes[-1].steps.append((float(reward), terminated, truncated, observation))
            if terminated or truncated:
                observation, _ = bridge.reset()
                options_kept(f"the reset after step {t}")
                episodes.append(Episode(observation, []))
        return [episodes], breaches

    rows = [[Episode(_row(observation, i), [])] for i in range(plan.num_envs)]
    ended = np.zeros(plan.num_envs, bool)
    for t in range(BRIDGE_STEPS):
        observation, reward, terminated, truncated, info = bridge.step(action())
        options_kept(f"step {t}")
        for i in range(plan.num_envs):
            if plan.mode == wrappers.NEXT_STEP and ended[i]:
                if reward[i] != 0.0 or terminated[i] or truncated[i]:
                    breaches.append(f"reset step {t} of sub-environment {i}: reward {reward[i]}, "
                                    f"terminated {terminated[i]}, truncated {truncated[i]} (expected 0, False, False)")
                rows[i].append(Episode(_row(observation, i), []))
                continue
            final = _row(observation, i)
            if plan.mode == wrappers.SAME_STEP and (terminated[i] or truncated[i]):
                if not info.get("_final_obs", np.zeros(plan.num_envs, bool))[i]:
                    breaches.append(f"no final_obs where sub-environment {i} ended at step {t}")
                    continue
                final = info["final_obs"][i]
            rows[i][-1].steps.append((float(reward[i]), bool(terminated[i]), bool(truncated[i]), final))
            if plan.mode == wrappers.SAME_STEP and (terminated[i] or truncated[i]):
                rows[i].append(Episode(_row(observation, i), []))
        ended = terminated | truncated
    return rows, breaches


def _row(observation: Any, i: int) -> Any:
    return jax.tree_util.tree_map(lambda x: np.asarray(x)[i], observation)


def _cart_pole_frame(plan: BridgePlan, observation: Any) -> np.ndarray | None:
    """CartPole's own last observation (x, x_dot, theta, theta_dot) inside `observation`, or None
    where NormalizeObservation changed it (a frame stack keeps the latest frame last)."""
    if plan.env_name == "Pendulum-v1" or any(name == "NormalizeObservation" for name, _ in plan.layers):
        return None
    return np.reshape(np.asarray(observation), (-1, 4))[-1]


def _check_bridge_contract(plan: BridgePlan, rows: list[list[Episode]]) -> None:
    limit = min([number for name, number in plan.layers if name == "TimeLimit"] + [plan.limit])
    normalised = any(name == "NormalizeObservation" for name, _ in plan.layers)
    cart_pole = plan.env_name != "Pendulum-v1"
    starts = []
    for i, episodes in enumerate(rows):
        for e, episode in enumerate(episodes):
            where = f"{plan}, sub-environment {i}, episode {e}"
            first = np.concatenate([np.ravel(x) for x in jax.tree_util.tree_leaves(episode.first)])
            starts.append(tuple(np.round(first, 6)))
            frame = _cart_pole_frame(plan, episode.first)
            if frame is not None:
                assert np.all(np.abs(frame) <= 0.05), f"not a fresh start: {frame}: {where}"
            if normalised and (e > 0 or i > 0):
                # Statistics that survive episodes: a restarted NormalizeObservation gives every
                # episode's first observation as exactly 0.
                assert np.any(np.abs(first) > 1e-6), f"NormalizeObservation statistics restarted: {where}"
            for s, (reward, terminated, truncated, observation) in enumerate(episode.steps):
                at = f"{where}, step {s + 1}"
                ends = terminated or truncated
                assert not (terminated and truncated), at
                # Every episode but the running one ends on its last step, and only there.
                assert ends == (s == len(episode.steps) - 1 and e < len(episodes) - 1), f"an end out of place: {at}"
                if truncated:
                    assert s + 1 == limit, f"truncated after {s + 1} steps, the limit is {limit}: {at}"
                if terminated:
                    assert CAN_TERMINATE[plan.env_name] and s + 1 <= limit, f"terminated: {at}"
                if not ends:
                    assert s + 1 < limit, f"ran past the time limit {limit}: {at}"
                if cart_pole:  # CartPole's reward is 1 on every step, LAST included.
                    np.testing.assert_allclose(reward, _transform_rewards(plan.layers, 1.0), rtol=1e-6,
                                               err_msg=f"reward: {at}")
                frame = _cart_pole_frame(plan, observation)
                if frame is not None:  # The terminal observation lies beyond a bound, no other does.
                    beyond = bool(np.abs(frame[0]) > X_BOUND) or bool(np.abs(frame[2]) > THETA_BOUND)
                    assert beyond == terminated, f"observation {frame}, terminated {terminated}: {at}"
    assert len(set(starts)) == len(starts), f"an episode started again from an earlier start: {plan}"


# About 5 s of CPU per bridged stack that runs (compiling); refused stacks cost nothing.
@settings(max_examples=8, deadline=None, phases=PHASES)
@given(plan=bridge_plans(), seed=st.integers(0, 2**16))
@example(plan=BridgePlan("CartPole-v1", 7, (("NormalizeObservation", 0), ("TransformReward", 3)),
                         "ToGymnasium", None, 1), seed=1)
@example(plan=BridgePlan("CartPole-v1", 6, (("FrameStack", 2), ("TransformReward", 3)),
                         "ToGymnasiumVector", wrappers.NEXT_STEP, 2), seed=2)
def test_random_bridge_stack__refused_when_built_or_keeps_the_contract(plan, seed):
    try:
        bridge = _build_bridge(plan)
    except (ValueError, TypeError) as e:
        # Only a stack that a bridge cannot run right may be refused, with a message naming it.
        assert any(name == "NormalizeObservation" for name, _ in plan.layers), f"{plan} was refused: {e}"
        assert "NormalizeObservation" in str(e), str(e)
        return
    try:
        rows, breaches = _bridge_episodes(plan, bridge, seed)
        assert not breaches, f"{plan}: {breaches}"
        _check_bridge_contract(plan, rows)
        if plan.bridge != "ToDeepmindEnv":  # Another seed, another episode.
            first = bridge.reset(seed=seed)[0]
            other = bridge.reset(seed=seed + 1)[0]
            assert not all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(first),
                                                                 jax.tree_util.tree_leaves(other), strict=True))
    finally:
        bridge.close()


# ---------------------------------------------------------------------------------------------
# Shard: the same stacks with the batched auto-reset wrapper split over four devices.

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEVICES = 4
SHARD_STEPS = 30
SHARD_RUN = """
import sys
import jax
import numpy as np
jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")
sys.path[:0] = [{tests!r}, {wrappers_tests!r}]
import test_random_stacks as T
from test_random_stacks import Plan
from jit_env import wrappers
assert jax.device_count() == T.DEVICES, jax.devices()
T.check_shard(eval({plan!r}), {seed}, {with_options})
print("checked")
"""


def check_shard(plan: Plan, seed: int, with_options: bool) -> None:
    """Runs `plan` with `Shard` between the auto-reset wrapper and the probe, and checks it."""
    mesh = jax.make_mesh((DEVICES,), ("envs",))
    assert plan.batch is not None
    total = DEVICES * plan.batch

    def shard(auto: jit_env.Environment) -> jit_env.Environment:
        num_envs = {"num_envs": total} if plan.auto_reset == "VmapAutoReset" else {}
        options_in_axes = {"options_in_axes": 0} if with_options else {}
        return wrappers.Shard(auto, mesh=mesh, axis_name="envs", **options_in_axes, **num_envs)

    try:
        env, auto, _ = _build(plan, shard=shard, devices=DEVICES)
    except ValueError as e:
        assert plan.refused, f"{plan} was refused: {e}"
        assert any(_matches(template, str(e)) for template in STACK_ERRORS), str(e)
        return
    assert not plan.refused, f"{plan} was built"
    options = _options(dataclasses.replace(plan, batch=total))[0] if with_options else None
    per_device_options = [jax.tree_util.tree_map(lambda x, d=d: x[d * plan.batch:(d + 1) * plan.batch], options)
                          for d in range(DEVICES)]
    key = jax.random.key(seed)
    actions = _random_actions(plan.env_name, jax.random.fold_in(key, 1), (SHARD_STEPS, total))

    def scan(env: jit_env.Environment, reset_key: jax.Array, options: Any, actions: jax.Array) -> Any:
        state, first = env.reset(reset_key, options=options)
        return first, jax.lax.scan(lambda s, a: env.step(s, a), state, actions)[1]

    first, steps = jax.device_get(jax.jit(functools.partial(scan, env))(key, options, actions))
    probe = steps.extras[PROBE]
    # Shard's promise: each device's rows are what its own batch gives on one device.
    for d in range(DEVICES):
        rows = slice(d * plan.batch, (d + 1) * plan.batch)
        device_key = jax.random.fold_in(key, d)
        if plan.auto_reset == "VmapAutoReset":
            device_key = jax.random.split(device_key, plan.batch)
        _, want = jax.device_get(jax.jit(functools.partial(scan, auto))(
            device_key, per_device_options[d], actions[:, rows]))
        for name in ("step_type", "reward", "discount", "observation", "final_observation"):
            expected = want.extras[wrappers.FINAL_OBSERVATION] if name == "final_observation" else getattr(want, name)
            _assert_tree_close(jax.tree_util.tree_map(lambda x, rows=rows: x[:, rows], probe[name]), expected,
                               f"device {d}, {name}: {plan}")
    top_steps = {"step_type": steps.step_type, "reward": steps.reward, "discount": steps.discount,
                 "observation": steps.observation, "final_observation": steps.extras[wrappers.FINAL_OBSERVATION]}
    for b in range(total):
        for t in range(SHARD_STEPS):
            p = _rows(probe, t, b)
            previous_last = t > 0 and int(_rows(probe, t - 1, b)["step_type"]) == int(jit_env.StepType.LAST)
            where = f"{plan} at step {t}, sub-environment {b}"
            if plan.mode == wrappers.NEXT_STEP and previous_last:
                assert int(p["step_type"]) == int(jit_env.StepType.FIRST), where
                assert float(p["reward"]) == 0.0 and float(p["discount"]) == 1.0, where
            _check_top(plan, _rows(top_steps, t, b), p, previous_last, where)
    # Every device's batch started its own episodes.
    observations = np.asarray(jax.tree_util.tree_leaves(first.observation)[0])
    assert len({observations[d * plan.batch].tobytes() for d in range(DEVICES)}) == DEVICES, plan


@st.composite
def shard_plans(draw: Any) -> Plan:
    plan = draw(plans())
    auto_reset = draw(st.sampled_from(["VmapAutoReset", "TileAutoReset"]))
    batch = draw(st.integers(1, 2))
    return dataclasses.replace(plan, auto_reset=auto_reset, batch=batch,
                               strategy=plan.strategy if plan.batch is not None else wrappers.COMPLETE,
                               num_resets=min(plan.num_resets, batch), pool_size=min(plan.pool_size, 2 * batch))


# About 20 s per stack (a fresh interpreter with four host devices, two compilations).
@settings(max_examples=3, deadline=None, phases=PHASES)
@given(plan=shard_plans(), seed=st.integers(0, 2**16), with_options=st.booleans())
@example(plan=Plan(env_name="CartPole-v1", limit=6, inner=(("FrameStack", 2),),
                   outer=(("TransformReward", 3), ("FrameStack", 2), ("NormalizeObservation", 0)),
                   auto_reset="TileAutoReset", mode=wrappers.NEXT_STEP, strategy=wrappers.OPTIMISTIC, batch=2,
                   num_resets=1, pool_size=2), seed=5, with_options=True)
@example(plan=Plan(env_name="CartPole-v1", limit=6, inner=(("EpisodeStatistics", 0),), outer=(("FrameStack", 2),),
                   auto_reset="VmapAutoReset", mode=wrappers.SAME_STEP, strategy=wrappers.COMPLETE, batch=1,
                   num_resets=1, pool_size=1), seed=6, with_options=False)
def test_random_shard_stack__refused_when_built_or_keeps_the_contract_on_four_devices(plan, seed, with_options):
    code = SHARD_RUN.format(tests=str(ROOT / "tests"), wrappers_tests=str(ROOT / "tests" / "wrappers"),
                            plan=repr(plan), seed=seed, with_options=with_options)
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={DEVICES}",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                            timeout=600, check=False)
    assert result.returncode == 0 and result.stdout.strip().endswith("checked"), result.stderr[-4000:]
