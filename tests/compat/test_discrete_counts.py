"""DiscreteArray counts that fill their dtype (256 uint8 values) reach Gymnasium without wrapping."""

import gymnasium
import numpy as np
import pytest

from jit_env import specs
from jit_env.compat import _gymnasium


@pytest.mark.parametrize(("dtype", "wide"), [(np.uint8, np.uint16), (np.int8, np.int16)])
def test_spec_to_space__counts_the_dtype_can_index_do_not_wrap(dtype, wide):
    count = int(np.iinfo(dtype).max) + 1
    scalar = _gymnasium.spec_to_space(specs.DiscreteArray(count, dtype))
    assert scalar == gymnasium.spaces.Discrete(count)
    spec = specs.DiscreteArray(np.array([count, 3]), dtype)
    space = _gymnasium.spec_to_space(spec)
    # Gymnasium keeps counts in the space's dtype, so the space is one size wider.
    assert space == gymnasium.spaces.MultiDiscrete(np.array([count, 3]), dtype=wide)
    back = _gymnasium.space_to_spec(space)
    assert back.num_values.tolist() == [count, 3] and back == specs.DiscreteArray(np.array([count, 3]), wide)
    top = np.array([count - 1, 2], dtype)  # the spec's own values are in the space
    assert space.contains(_gymnasium.SpaceLayout(spec, space).to_space(top))
    assert not space.contains(np.array([count, 2], wide))
    draws = np.stack([space.sample() for _ in range(200)])
    assert all(bool(spec.contains(d.astype(dtype))) for d in draws)


def test_spec_to_space__keeps_the_dtype_where_counts_fit():
    space = _gymnasium.spec_to_space(specs.DiscreteArray(np.array([255, 3]), np.uint8))
    assert space == gymnasium.spaces.MultiDiscrete(np.array([255, 3]), dtype=np.uint8)
