"""The vector bridge's async calls (step_async/step_wait, reset_async/reset_wait) and JAX arrays out."""

import copy
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium import error
from gymnasium.vector import AutoresetMode
from gymnasium.wrappers import vector as vector_wrappers

import jit_env
from jit_env import compat
from jit_env.compat import _checks, _gymnasium_vector

NUM = 4


def _env():
    """Float observations, nested extras (EpisodeStatistics), frequent terminations and truncations."""
    return jit_env.wrappers.EpisodeStatistics(
        jit_env.wrappers.TimeLimit(jit_env.make("CartPole-v1"), max_episode_steps=12))


@pytest.fixture(scope="module")
def prototypes():
    """One NEXT_STEP bridge per array backend; tests take deep copies (they share its compiled functions)."""
    return {backend: compat.ToGymnasiumVector(_env(), NUM, seed=0, array_backend=backend)
            for backend in _gymnasium_vector.ARRAY_BACKENDS}


def _assert_same(got, want, where="out"):
    """Bit for bit: the same structure, types, dtypes, shapes and bytes."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and set(got) == set(want), (where, got, want)
        for key in want:
            _assert_same(got[key], want[key], f"{where}[{key!r}]")
    elif isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
    elif want is None:
        assert got is None, where
    elif isinstance(want, np.ndarray) and want.dtype == object:
        assert got.dtype == object and got.shape == want.shape, where
        for i, (a, b) in enumerate(zip(got, want, strict=True)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert type(got) is type(want), (where, type(got), type(want))
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert got.tobytes() == want.tobytes(), (where, got, want)


@pytest.mark.parametrize("mode", list(AutoresetMode))
def test_to_gymnasium_vector__step_wait_is_step_bit_for_bit(mode):
    """A twin driven by step_async/step_wait (and reset_async/reset_wait) returns what step returns."""
    sync = compat.ToGymnasiumVector(_env(), NUM, autoreset_mode=mode, seed=3)
    twin = copy.deepcopy(sync)  # Shares the jitted functions: no second compile.
    _assert_same(twin.reset(seed=7), sync.reset(seed=7))
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(120):
        actions = rng.integers(0, 2, NUM).astype(np.int64)
        twin.step_async(actions)
        want = sync.step(actions)
        got = twin.step_wait()
        _assert_same(got, want)
        ended = want[2] | want[3]
        ends += int(ended.sum())
        if mode == AutoresetMode.DISABLED and ended.any():
            twin.reset_async(options={"reset_mask": ended.copy()})
            _assert_same(twin.reset_wait(), sync.reset(options={"reset_mask": ended.copy()}))
    assert ends >= 20, ends
    twin.reset_async()
    _assert_same(twin.reset_wait(), sync.reset())


def test_to_gymnasium_vector__step_async_fetches_nothing(prototypes):
    """step_async only dispatches: nothing comes back to the host until step_wait."""
    env = copy.deepcopy(prototypes["numpy"])
    env.reset()
    actions = np.ones(NUM, np.int64)
    env.step(actions)  # Compiled before the guard.
    with jax.transfer_guard_device_to_host("disallow"):
        env.step_async(actions)
    assert env.step_wait()[0].shape == (NUM, 4)


def test_to_gymnasium_vector__pending_call_errors(prototypes):
    """Gymnasium's AsyncVectorEnv errors and messages, call by call."""
    env = copy.deepcopy(prototypes["numpy"])
    actions = np.ones(NUM, np.int64)

    def no_call(call):
        return pytest.raises(error.NoAsyncCallError, match=re.escape(
            _gymnasium_vector.ERR_NO_ASYNC_CALL.format(call=call)))

    def pending(call, waiting):
        return pytest.raises(error.AlreadyPendingCallError, match=re.escape(
            _gymnasium_vector.ERR_ALREADY_PENDING.format(call=call, pending=waiting)))

    with no_call("reset"):
        env.reset_wait()
    env.reset_async(seed=0)
    with pending("reset_async", "reset"):
        env.reset_async()
    with pending("step_async", "reset"):
        env.step(actions)
    with no_call("step"):
        env.step_wait()
    env.reset_wait()
    with no_call("step"):
        env.step_wait()
    env.step_async(actions)
    with pending("step_async", "step") as info:
        env.step_async(actions)
    assert info.value.name == "step"
    with pending("reset_async", "step"):
        env.reset()
    with no_call("reset"):
        env.reset_wait()
    env.step_wait()
    with no_call("step"):
        env.step_wait()
    # A refused action leaves nothing pending.
    with pytest.raises(ValueError, match=re.escape("must lie in")):
        env.step_async(np.full(NUM, 2, np.int64))
    with no_call("step"):
        env.step_wait()
    # close() with a call pending discards it with AsyncVectorEnv's warning.
    env.step_async(actions)
    with pytest.warns(UserWarning, match=re.escape(_gymnasium_vector.WARN_CLOSE_PENDING.format(pending="step"))):
        env.close()
    with pytest.raises(RuntimeError, match=re.escape(
            _checks.ERR_CLOSED.format(bridge="ToGymnasiumVector", call="step_wait"))):
        env.step_wait()


def test_to_gymnasium_vector__bad_array_backend():
    with pytest.raises(ValueError, match=re.escape(_gymnasium_vector.ERR_ARRAY_BACKEND.format("torch"))):
        compat.ToGymnasiumVector(_env(), NUM, array_backend="torch")


def _to_numpy(tree):
    """JAX arrays as NumPy, inside SAME_STEP's object arrays too."""

    def leaf(x):
        if isinstance(x, np.ndarray) and x.dtype == object:
            out = np.full(x.shape, None, dtype=object)
            out[:] = [None if v is None else np.asarray(v) for v in x]
            return out
        return np.asarray(x) if isinstance(x, jax.Array) else x

    return jax.tree_util.tree_map(leaf, tree)


# Two compiles each: NEXT_STEP in `tox -e test`, the other modes in `test-integration`.
def _same_step_as_sync_vector_env(info):
    """The JAX backend's SAME_STEP info (batched, always present) in SyncVectorEnv's layout."""
    ended = info.pop("_final_obs")
    final_obs, final_info = info.pop("final_obs"), info.pop("final_info")
    np.testing.assert_array_equal(info.pop("_final_info"), ended)
    if ended.any():
        rows = np.full(len(ended), None, dtype=object)
        rows[:] = [final_obs[i] if e else None for i, e in enumerate(ended)]
        masked = jax.tree_util.tree_map(lambda x: np.where(ended, x, np.zeros_like(x)), final_info)
        masked = {k: ({**v, **{f"_{n}": ended for n in v if not n.startswith("_")}} if isinstance(v, dict) else v)
                  for k, v in masked.items()}
        info.update({"final_obs": rows, "_final_obs": ended, "final_info": masked, "_final_info": ended})
    return info


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP] + [
    pytest.param(m, marks=pytest.mark.integration) for m in (AutoresetMode.SAME_STEP, AutoresetMode.DISABLED)])
def test_to_gymnasium_vector__jax_backend_matches_numpy(mode, prototypes):
    """JAX arrays out, the values NumPy's bridge gives (its rewards float64, JAX's the spec's float32)."""
    if mode == AutoresetMode.NEXT_STEP:
        ours, ref = copy.deepcopy(prototypes["jax"]), copy.deepcopy(prototypes["numpy"])
    else:
        ours = compat.ToGymnasiumVector(_env(), NUM, autoreset_mode=mode, array_backend="jax")
        ref = compat.ToGymnasiumVector(_env(), NUM, autoreset_mode=mode)
    got, want = ours.reset(seed=1), ref.reset(seed=1)
    assert isinstance(got[0], jax.Array)
    _assert_same(_to_numpy(got), want)
    rng = np.random.default_rng(1)
    for i in range(40):
        actions = rng.integers(0, 2, NUM)
        # JAX actions (int32) and NumPy ones (int64) alike.
        got = ours.step(jnp.asarray(actions, jnp.int32) if i % 2 else actions)
        want = ref.step(actions)
        assert all(isinstance(x, jax.Array) for x in got[:4])
        if mode == AutoresetMode.SAME_STEP:
            got = (*got[:4], _same_step_as_sync_vector_env(_to_numpy(got[4])))
        assert got[1].dtype == np.float32
        _assert_same(_to_numpy(got[1]), want[1].astype(np.float32))
        _assert_same(_to_numpy(got[:1] + got[2:]), want[:1] + want[2:])
        ended = want[2] | want[3]
        if mode == AutoresetMode.DISABLED and ended.any():
            got, want = ours.reset(options={"reset_mask": ended}), ref.reset(options={"reset_mask": ended.copy()})
            _assert_same(_to_numpy(got), want)


def test_to_gymnasium_vector__jax_backend_no_host_copy(prototypes):
    """NEXT_STEP with JAX arrays out: a whole step (NumPy actions) moves nothing device-to-host."""
    env = copy.deepcopy(prototypes["jax"])
    env.reset()
    actions = np.ones(NUM, np.int64)
    env.step(actions)
    with jax.transfer_guard_device_to_host("disallow"):
        out = env.step(actions)
        env.step_async(actions)
    assert isinstance(out[0], jax.Array)
    env.step_wait()


def test_to_gymnasium_vector__jax_actions_checked(prototypes):
    """A JAX action is held to `action_space.contains` of its values: range, shape and dtype."""
    env = copy.deepcopy(prototypes["jax"])
    env.reset()
    spec = env.env.action_spec()
    with pytest.raises(ValueError, match=re.escape(_checks.ERR_ACTION_RANGE.format(
            spec=spec, minimum="0", maximum="1", value=np.array([2, 2, 2, 2], np.int32)))):
        env.step(jnp.full(NUM, 2, jnp.int32))
    with pytest.raises(ValueError, match=re.escape(_checks.ERR_ACTION_SHAPE.format(
            spec=spec, expected=(NUM,), got=(NUM + 1,)))):
        env.step(jnp.zeros(NUM + 1, jnp.int32))
    with pytest.raises(ValueError, match=re.escape(_checks.ERR_ACTION_DTYPE.format(
            spec=spec, expected=np.dtype(np.int64), got=np.dtype(np.float32)))):
        env.step(jnp.zeros(NUM, jnp.float32))
    assert env.action_space.contains(np.asarray(jnp.ones(NUM, jnp.int32)))
    env.step(jnp.ones(NUM, jnp.int32))


def test_to_gymnasium_vector__jax_backend_under_jax_to_numpy(prototypes):
    """Gymnasium's own JaxToNumpy wrapper turns the JAX bridge into the NumPy one (rewards aside)."""
    ours = vector_wrappers.JaxToNumpy(copy.deepcopy(prototypes["jax"]))
    ref = copy.deepcopy(prototypes["numpy"])
    got, want = ours.reset(seed=2), ref.reset(seed=2)
    _assert_same(got, want)
    rng = np.random.default_rng(2)
    for _ in range(30):
        actions = rng.integers(0, 2, NUM)
        got, want = ours.step(actions), ref.step(actions)
        assert type(got[0]) is np.ndarray
        _assert_same(got[1], want[1].astype(np.float32))
        _assert_same(got[:1] + got[2:], want[:1] + want[2:])
