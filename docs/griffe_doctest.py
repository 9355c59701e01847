"""A griffe extension for the docs build: fences doctests, indents headless sections.

jit_env's docstrings carry doctest examples outside an ``Examples:`` section (so
`python -m doctest` and tests/test_doctests.py run them); Markdown would read
their ``>>>`` as nested block quotes and ``[...]`` outputs as links. This wraps
each run of doctest lines (a ``>>>`` line, its ``...`` continuations and its
output, up to a blank line) in a ``pycon`` code fence.

Constructor docstrings that open with their section (``\"\"\"Args:`` on the
first line) lose the section body's indentation to `inspect.cleandoc`; this
indents it again so the Google-style parser sees the section. Docs only: not
shipped.
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


SECTIONS = ("Args:", "Returns:", "Raises:", "Yields:", "Attributes:", "Examples:")


def indent_headless_sections(text: str) -> str:
    lines = text.splitlines()
    if not lines or lines[0].strip() not in SECTIONS:
        return text
    out = [lines[0]]
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() in SECTIONS:  # The next sections kept their indentation.
            return "\n".join(out + lines[i:])
        out.append("    " + line if line.strip() else line)
    return "\n".join(out)


class FenceDoctests(griffe.Extension):
    """Applies `indent_headless_sections` and `fence_doctests` to every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(indent_headless_sections(obj.docstring.value))
