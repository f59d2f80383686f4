"""Git for bulk: whether a repository is dirty, and the commit message of its fixes."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

from dockopt.rewriter.bulk.journal import CHANGED

# --- writing ---------------------------------------------------------------------------


def _git(repo: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                          check=False)


def dirty_reason(repo: str) -> str | None:
    """Why the repository must not be touched, or None."""
    proc = _git(repo, "status", "--porcelain")
    if proc.returncode != 0:
        return f"git status failed: {proc.stderr.strip()[:200]}"
    if proc.stdout.strip():
        count = len(proc.stdout.splitlines())
        return f"uncommitted changes ({count} paths); not touched"
    return None


def commit_message(files: Sequence[dict[str, Any]]) -> str:
    applied: dict[tuple[str, str], int] = {}
    remaining: dict[tuple[str, str], int] = {}
    for f in files:
        for c in f.get("codes", []):
            key = (c["code"], c["name"])
            applied[key] = applied.get(key, 0) + int(c["fixes"])
        if f.get("status") == CHANGED:
            for fd in f.get("findings", []):
                key = (fd["code"], fd["name"])
                remaining[key] = remaining.get(key, 0) + 1
    changed = sum(1 for f in files if f.get("status") == CHANGED)
    lines = [f"dockopt: optimize {changed} Dockerfile{'s' if changed != 1 else ''}", "",
             "Transforms applied:"]
    lines += [f"- {code} {name}: {n}" for (code, name), n in sorted(applied.items())]
    if remaining:
        lines += ["", "Remaining findings:"]
        lines += [f"- {code} {name}: {n}" for (code, name), n in sorted(remaining.items())]
    return "\n".join(lines) + "\n"


