"""Strict JAX settings for the whole suite: no silent dtype or rank promotion."""

import os
import sys

import jax

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")

# The examples are plain scripts; make them importable by the tests.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "examples"))
