"""Git for bulk: whether a repository is dirty, and the commit message of its fixes."""

from __future__ import annotations

import subprocess

from dockopt.rewriter.bulk.journal import CHANGED, RepoTally

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


def commit_message(tally: RepoTally) -> str:
    """The commit message of a repository's fixes, from its files' tally."""
    changed = tally.count(CHANGED)
    lines = [f"dockopt: optimize {changed} Dockerfile{'s' if changed != 1 else ''}", "",
             "Transforms applied:"]
    lines += [f"- {code} {name}: {n}" for (code, name), n in sorted(tally.applied.items())]
    if tally.remaining:
        lines += ["", "Remaining findings:"]
        lines += [f"- {code} {name}: {n}"
                  for (code, name), n in sorted(tally.remaining.items())]
    return "\n".join(lines) + "\n"
