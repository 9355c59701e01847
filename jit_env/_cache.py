"""JAX's persistent compilation cache, turned on for the `jit-env` command and the examples.

Public as `jit_env.utils.enable_compilation_cache` and `jit_env.utils.default_cache_dir`.
"""

from __future__ import annotations

import os

import jax


def default_cache_dir() -> str:
    """Where jit_env keeps compiled programs unless told otherwise.

    ``$XDG_CACHE_HOME/jit_env/xla``, or ``~/.cache/jit_env/xla`` when
    ``XDG_CACHE_HOME`` is not set (on every platform).

    Returns:
        The directory's path (it may not exist yet).

    >>> import os
    >>> default_cache_dir().endswith(os.path.join("jit_env", "xla"))
    True
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jit_env", "xla")


def enable_compilation_cache(path: str | os.PathLike[str] | None = None) -> str:
    """Turns on JAX's persistent compilation cache, for small programs too.

    Every program compiled afterwards in this process is written to `path`
    and, in a later process, read back instead of compiled again (same
    program, JAX version, backend and flags). JAX's defaults cache only
    programs that took a second or more to compile; here every program is
    cached, whatever its compile time or size, so a second run of the same
    rollout compiles nothing. Call it before the first compile: JAX sets up its
    cache once per process, at the first compile after a directory is set.

    JAX's own switch still applies: ``JAX_ENABLE_COMPILATION_CACHE=false`` in
    the environment keeps the cache off (``jit-env run --no-cache`` sets it).
    The cache is trusted code: do not point it at a directory others can write.

    Args:
        path: The cache directory (created if needed); default
            `default_cache_dir()`.

    Returns:
        The cache directory, as an absolute path.

    It changes this process's JAX configuration, so it is a line for the top of
    a script (the examples' ``if __name__ == "__main__":`` blocks), not for
    library code::

        import jit_env
        jit_env.utils.enable_compilation_cache()   # ~/.cache/jit_env/xla
    """
    directory = os.path.abspath(os.fspath(default_cache_dir() if path is None else path))
    os.makedirs(directory, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", directory)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    # -1: no minimum entry size, and none chosen for us by the file system.
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return directory


def disable_compilation_cache() -> None:
    """Turns JAX's persistent compilation cache off in this process (whatever set it up)."""
    jax.config.update("jax_enable_compilation_cache", False)
