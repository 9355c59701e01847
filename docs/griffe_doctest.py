"""A griffe extension for the docs build: fences bare ``>>>`` examples in docstrings.

jit_env's docstrings carry doctest examples outside an ``Examples:`` section (so
`python -m doctest` and tests/test_doctests.py run them); Markdown would read
their ``>>>`` as nested block quotes and ``[...]`` outputs as links. This wraps
each run of doctest lines (a ``>>>`` line, its ``...`` continuations and its
output, up to a blank line) in a ``pycon`` code fence. Docs only: not shipped.
"""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith(">>>"):
            out.append(lines[i])
            i += 1
            continue
        indent = lines[i][: len(lines[i]) - len(stripped)]
        out.append(f"{indent}```pycon")
        while i < len(lines) and lines[i].strip():
            out.append(lines[i])
            i += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    """Applies `fence_doctests` to every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
