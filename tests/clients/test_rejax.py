"""rejax (a pure-JAX trainer written for gymnax) trains PPO on a jit_env env through `ToGymnax`."""

from __future__ import annotations

import jax
import rejax_ppo


def test_rejax__ppo_learns_on_to_gymnax_as_on_gymnax_own_cartpole() -> None:
    # rejax's own code relies on JAX's standard promotion (tests/conftest.py's strict
    # rules are for jit_env itself), as a user running the example has it.
    with jax.numpy_dtype_promotion("standard"):
        finals = rejax_ppo.main(["--short"])
    ours, theirs = finals["jit_env"][0], finals["gymnax"][0]
    # A random policy scores about 22; both must learn within the short budget, and ours
    # must reach what gymnax's own CartPole reaches under the same configuration and seed.
    assert theirs > 100, finals
    assert ours > 100, finals
    assert 0.5 < ours / theirs < 2.0, finals
