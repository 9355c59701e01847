"""Python scalar actions under `Jit` are taken as they are eagerly, with and without x64.

`tox -e test-x64` runs this file with JAX_ENABLE_X64=1, where a Python int under
`jit` is a weakly typed int64 and an int32 action spec must still take it.
"""

import jax
import numpy as np
import pytest

import jit_env
from jit_env import specs, wrappers


@pytest.mark.parametrize("name", ["CartPole-v1", "Catch-v0"])
def test_jit__takes_a_python_int_action_as_the_eager_env_does(name):
    eager_env = jit_env.make(name)
    jitted = wrappers.Jit(eager_env)
    state, _ = jitted.reset(jax.random.key(0))
    eager_env.action_spec().validate(1)  # eagerly, a Python int that fits is an int32 action
    new_state, timestep = jitted.step(state, 1)
    _, expected = eager_env.step(state, np.int32(1))
    for got, want in zip(jax.tree_util.tree_leaves(timestep), jax.tree_util.tree_leaves(expected), strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)
    jax.tree_util.tree_map(lambda a, b: np.testing.assert_equal(a.dtype, b.dtype), new_state, state)


@pytest.mark.skipif(not jax.config.jax_enable_x64, reason="without x64 JAX refuses 2**40 before the call")
def test_jit__a_weak_action_that_does_not_fit_is_refused_on_the_device():
    env = wrappers.Jit(jit_env.make("CartPole-v1"))
    state, _ = env.reset(jax.random.key(0))
    expected = specs.ERR_DOES_NOT_FIT.format(spec="Array spec 'action'", value=2**40, dtype="int32")
    with pytest.raises(Exception, match=expected.split(";")[0]):
        jax.block_until_ready(env.step(state, 2**40))
