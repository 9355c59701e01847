"""Adapters in: other JAX environment libraries as jit_env environments (the hub)."""
