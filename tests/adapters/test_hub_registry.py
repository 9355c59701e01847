"""The hub by name: every catalogue library's ids listed statically, made through its adapter module.

These tests need none of the hub's libraries: a missing one is simulated with
``sys.modules[name] = None`` in a subprocess (`import name` then fails as if it
were not installed).
"""

import importlib
import os
import subprocess
import sys
import textwrap

import pytest

import jit_env
from jit_env import _cli, _registry, adapters
from jit_env.adapters import _catalogue

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIBRARIES = list(_catalogue.LIBRARIES.values())


def _run(code):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, *sys.path])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.splitlines()


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda library: library.prefix)
def test_catalogue__entries_are_well_formed(library):
    assert _catalogue.LIBRARIES[library.prefix] is library
    assert library.module == f"jit_env.adapters._{library.prefix}"
    assert library.ids and len(set(library.ids)) == len(library.ids)
    assert all("/" not in name for name in library.ids)
    assert set(library.episode_limits) <= set(library.ids)
    assert all(isinstance(n, int) and n > 0 for n in library.episode_limits.values())


def test_catalogue__imports_no_third_party_library():
    with open(_catalogue.__file__) as f:
        source = f.read()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["from __future__ import annotations", "import dataclasses",
                       "from collections.abc import Mapping"]


def test_registered_envs__lists_installed_libraries_without_importing_them():
    requires = sorted({name for library in LIBRARIES for name in library.requires})
    lines = _run(f"""
        import sys, jit_env
        from jit_env import adapters
        ids = jit_env.registered_envs()
        print(sorted(m for m in {requires!r} if m in sys.modules))
        for prefix, library in adapters.LIBRARIES.items():
            listed = [i for i in ids if i.startswith(prefix + "/")]
            expected = [prefix + "/" + n for n in library.ids] if adapters.installed(prefix) else []
            print(prefix, sorted(listed) == sorted(expected))
    """)
    assert lines == ["[]", *(f"{library.prefix} True" for library in LIBRARIES)]


@pytest.mark.parametrize("library", LIBRARIES, ids=lambda library: library.prefix)
def test_make__missing_library_raises_import_error_naming_the_extra(library):
    env_id = f"{library.prefix}/{library.ids[0]}"
    lines = _run(f"""
        import sys
        sys.modules[{library.requires[0]!r}] = None
        import jit_env
        print(any(i.startswith({library.prefix + '/'!r}) for i in jit_env.registered_envs()))
        try:
            jit_env.make({env_id!r})
        except ImportError as e:
            print(e)
    """)
    expected = adapters.ERR_MISSING.format(
        feature=f"jit_env.make({env_id!r})", module=library.requires[0], extra=library.extra)
    assert lines == ["False", expected]
    assert f'pip install "jit_env[{library.extra}]"' in expected


def test_cli_list__shows_every_catalogue_id_and_the_install_hint_of_missing_libraries():
    blocked = LIBRARIES[0]
    lines = _run(f"""
        import sys
        sys.modules[{blocked.requires[0]!r}] = None
        from jit_env import _cli
        _cli.main(["list"])
        requires = {[r for lib in LIBRARIES for r in lib.requires]!r}
        print(sorted(m for m in requires if sys.modules.get(m) is not None))
    """)
    out = "\n".join(lines)
    for library in LIBRARIES:
        for name in library.ids:
            limit = library.episode_limits.get(name, "none, the library sets none")
            assert f"\n{library.prefix}/{name}  (time limit: {limit})\n" in out
    header = (f"\n{blocked.prefix} environments ({len(blocked.ids)}, "
              f'not installed: pip install "jit_env[{blocked.extra}]"):\n')
    assert header in out
    assert lines[-1] == "[]"


def test_make__hub_id_spec_has_the_library_episode_limit():
    gymnax = _catalogue.LIBRARIES["gymnax"]
    spec = _registry.spec("gymnax/CartPole-v1")
    assert spec.max_episode_steps == gymnax.episode_limits["CartPole-v1"] == 500
    assert spec.kwargs == {}  # gymnax truncates itself: no TimeLimit unless asked for.
    for library in LIBRARIES:
        for name in library.ids:
            spec = _registry.spec(f"{library.prefix}/{name}")
            assert spec.max_episode_steps == library.episode_limits.get(name)
            assert ("max_episode_steps" in spec.kwargs) == (
                name in library.episode_limits and not library.limit_in_env)


def test_adapters_facade__loads_lazily():
    lines = _run("""
        import sys
        import jit_env.adapters
        print(sorted(m for m in sys.modules if m.startswith("jit_env.adapters.")))
    """)
    assert lines == ["['jit_env.adapters._catalogue']"]
    assert len(set(adapters.__all__)) == len(adapters.__all__)
    assert set(adapters._NAMES) <= set(adapters.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        importlib.import_module("jit_env.adapters").Nope


def test_cli_list__in_process_lists_registered_hub_ids(capsys):
    assert _cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id in jit_env.registered_envs(include_hub=False):
        assert f"{env_id}  (time limit: " in out
    for env_id in jit_env.registered_envs():
        assert f"{env_id}\n" in out or f"{env_id}  (time limit: " in out
