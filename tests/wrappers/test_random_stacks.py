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
checked where it is promised, whatever the wrappers above do to the outputs.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

import jit_env
from jit_env import _core, wrappers
from jit_env.envs import cartpole, pendulum

NUM_STEPS = 60
PROBE = "probe"
# Wrappers that may go beneath or above the auto-reset wrapper.
LAYERS = ("TimeLimit", "EpisodeStatistics", "NormalizeObservation", "FrameStack",
          "TransformReward", "FlattenObservation", "ClipAction")
# Whether the built-in environment terminates (else only its TimeLimit from `make` ends it).
CAN_TERMINATE = {"CartPole-v1": True, "Pendulum-v1": False}
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


@st.composite
def plans(draw: Any) -> Plan:
    env_name = draw(st.sampled_from(sorted(CAN_TERMINATE)))
    names = LAYERS if env_name == "Pendulum-v1" else tuple(n for n in LAYERS if n != "ClipAction")
    drawn = draw(st.lists(st.tuples(st.sampled_from(names), st.integers(2, 12)), max_size=5))
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
        return wrappers.TransformReward(env, fn=lambda r: 2.0 * r)
    if name == "FlattenObservation":
        return wrappers.FlattenObservation(env)
    assert name == "ClipAction"
    return wrappers.ClipAction(env)


def _options(plan: Plan) -> Any:
    """Non-default parameters: one per sub-environment when batched."""
    params = cartpole.Params() if plan.env_name == "CartPole-v1" else pendulum.Params()
    field = "gravity" if plan.env_name == "CartPole-v1" else "g"
    n = plan.batch or 1
    values = jax.tree_util.tree_map(lambda x: jnp.full((n,), x, jnp.float32), params)
    values = dataclasses.replace(values, **{field: jnp.arange(1, n + 1, dtype=jnp.float32) + 3.0})
    if plan.batch is None:
        values = jax.tree_util.tree_map(lambda x: x[0], values)
    return values, field


def _build(plan: Plan) -> tuple[jit_env.Environment, jit_env.Environment, jit_env.Environment]:
    """The whole stack, the auto-reset wrapper and the stack beneath it (or ValueError)."""
    env = jit_env.make(plan.env_name, max_episode_steps=plan.limit, per_episode_params=True)
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
    env = Probe(auto, action=_no_action(plan, inner))
    for name, number in plan.outer:
        env = _wrap(env, name, number)
    return env, auto, inner


def _no_action(plan: Plan, inner: jit_env.Environment) -> Any:
    spec = inner.action_spec()
    shape = spec.shape if plan.batch is None else (plan.batch, *spec.shape)
    return jnp.zeros(shape, spec.dtype)


def _actions(plan: Plan, key: jax.Array) -> jax.Array:
    """Random actions for every step; Pendulum's go past the bounds, for ClipAction."""
    n = () if plan.batch is None else (plan.batch,)
    if plan.env_name == "CartPole-v1":
        return jax.random.randint(key, (NUM_STEPS, *n), 0, 2, jnp.int32)
    return jax.random.uniform(key, (NUM_STEPS, *n, 1), jnp.float32, -3.0, 3.0)


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
    return state


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
        return timesteps, reference, _base_state(post), first_base

    timesteps, reference, base, first_base = run(reset_key, _actions(plan, jax.random.fold_in(key, 1)))
    return jax.device_get({"timesteps": timesteps, "reference": reference, "base": base,
                           "first_base": first_base})


def _rows(tree: Any, t: int, b: int | None) -> Any:
    return jax.tree_util.tree_map(lambda x: x[t] if b is None else x[t][b], tree)


def _is_reset_start(plan: Plan, base: Any) -> bool:
    """Whether a built-in environment's state lies where its `reset` draws starts."""
    if plan.env_name == "CartPole-v1":
        values = [base.x, base.x_dot, base.theta, base.theta_dot]
        return all(abs(float(v)) <= 0.05 for v in values)
    return abs(float(base.theta)) <= np.pi and abs(float(base.theta_dot)) <= 1.0


def _check_contract(plan: Plan, out: dict[str, Any]) -> None:
    options, field = _options(plan)
    timesteps, reference, base = out["timesteps"], out["reference"], out["base"]
    probe = timesteps.extras[PROBE]
    limits = [number for name, number in plan.inner if name == "TimeLimit"] + [plan.limit]
    # The outermost EpisodeStatistics beneath the auto-reset wrapper writes extras["episode"];
    # TransformReward layers above it double the rewards it counted.
    reward_scale_beneath_stats = None
    stats_see_every_end = False
    if any(name == "EpisodeStatistics" for name, _ in plan.inner):
        last_stats = max(i for i, (name, _) in enumerate(plan.inner) if name == "EpisodeStatistics")
        above = [name for name, _ in plan.inner[last_stats:]]
        reward_scale_beneath_stats = 2.0 ** above.count("TransformReward")
        # `done` is the LAST of the step it saw; a TimeLimit above it ends episodes it cannot see.
        stats_see_every_end = "TimeLimit" not in above
    distinct_starts = plan.strategy != wrappers.PRECOMPUTED
    for b in ([None] if plan.batch is None else range(plan.batch)):
        episode_return, episode_length = 0.0, 0
        first_base = out["first_base"] if b is None else _rows(out["first_base"], b, None)
        starts = [_base_key(first_base)]
        expected_option = getattr(options, field) if b is None else getattr(options, field)[b]
        for t in range(NUM_STEPS):
            p, r, s = _rows(probe, t, b), _rows(reference, t, b), _rows(base, t, b)
            where = f"{plan} at step {t}, sub-environment {b}"
            np.testing.assert_allclose(getattr(s.options, field), expected_option,
                                       err_msg=f"reset options lost: {where}")
            previous_last = t > 0 and int(_rows(probe, t - 1, b)["step_type"]) == int(jit_env.StepType.LAST)
            if plan.mode == wrappers.NEXT_STEP and previous_last:
                # The step after LAST ignores its action and starts the next episode.
                assert int(p["step_type"]) == int(jit_env.StepType.FIRST), where
                assert float(p["reward"]) == 0.0 and float(p["discount"]) == 1.0, where
                _assert_tree_close(p["final_observation"], p["observation"], where)
                assert _is_reset_start(plan, s), f"not a fresh start: {where}"
                starts.append(_base_key(s))
                episode_return, episode_length = 0.0, 0
                if reward_scale_beneath_stats is not None:
                    assert int(p["episode"]["length"]) == 0 and not bool(p["episode"]["done"]), where
                continue
            _assert_tree_close(p["final_observation"], r.observation, f"final observation: {where}")
            np.testing.assert_allclose(p["reward"], r.reward, rtol=1e-5, err_msg=where)
            np.testing.assert_allclose(p["discount"], r.discount, err_msg=where)
            episode_return += float(r.reward)
            episode_length += 1
            if reward_scale_beneath_stats is not None:
                stats = p["episode"]
                assert int(stats["length"]) == episode_length, f"episode length: {where}"
                np.testing.assert_allclose(float(stats["return"]), episode_return / reward_scale_beneath_stats,
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


# About 8 s of CPU per stack that runs (mostly compiling); refused stacks cost nothing.
@settings(max_examples=8, deadline=None)
@given(plan=plans(), seed=st.integers(0, 2**16))
@example(plan=ALWAYS, seed=3)
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
