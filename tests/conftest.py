"""Strict JAX settings for the whole suite: no silent dtype or rank promotion."""

import os
import sys

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# The examples are plain scripts; make them importable by the tests.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "examples"))


@pytest.fixture(autouse=True)
def _cache_switch_restored():
    """The CLI's --no-cache turns JAX's cache off in this process: back as it was after each test."""
    before = jax.config.jax_enable_compilation_cache
    yield
    jax.config.update("jax_enable_compilation_cache", before)
