"""Unified diffs that ``git apply`` and ``patch -p1`` accept.

Lines are split on LF only, as git does, so a CR (a CRLF ending, or a lone CR inside
a line) stays part of its line and a change to it is visible.  A last line without
a newline gets git's ``\\ No newline at end of file`` marker.
"""

from __future__ import annotations

import difflib


def split_lines(text: str) -> list[str]:
    """Split on LF, keeping the LF (str.splitlines would also split on CR, FF, ...)."""
    if not text:
        return []
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def unified_diff(before: str, after: str, path: str, *, context: int = 3,
                 new_file: bool = False) -> str:
    """A git-style unified diff from ``before`` to ``after`` ('' if equal).

    ``path`` is relative (``Dockerfile``, ``sub/Dockerfile``); headers are
    ``a/<path>`` and ``b/<path>``, or ``/dev/null`` for a new file.  Every file's diff
    starts with a ``diff --git`` line, as git writes them: without it ``git apply``
    run in a subfolder of a work tree guesses how many leading folders to strip
    from the first patch and applies that guess to the rest (a later new file
    was skipped).
    """
    if before == after:
        return ""
    a = split_lines(before)
    b = split_lines(after)
    old = "/dev/null" if new_file else f"a/{path}"
    out: list[str] = []
    out.append(f"diff --git a/{path} b/{path}\n")
    if new_file:
        out.append("new file mode 100644\n")
    for line in difflib.unified_diff(a, b, old, f"b/{path}", n=context, lineterm="\n"):
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
        elif line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)
