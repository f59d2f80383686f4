"""The build context as verify copies it: `.dockerignore` rules, the files a COPY
includes, the source file changed for the rebuild figure."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass



# Files whose change *should* invalidate the dependency layers: never the file
# touched for the "source-only change".
MANIFESTS = frozenset({
    "package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock",
    "pnpm-lock.yaml", "requirements.txt", "requirements-dev.txt", "constraints.txt",
    "pyproject.toml", "setup.py", "setup.cfg", "Pipfile", "Pipfile.lock", "poetry.lock",
    "uv.lock", "go.mod", "go.sum", "Gemfile", "Gemfile.lock", "pom.xml", "build.gradle",
    "build.gradle.kts", "settings.gradle", "Cargo.toml", "Cargo.lock", "composer.json",
    "composer.lock", "Dockerfile", "Containerfile", ".dockerignore", "app.toml",
    "tsconfig.json",
})
_SOURCE_SUFFIXES = (".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".py", ".go", ".rb",
                    ".java", ".kt", ".rs", ".php", ".sh", ".c", ".cc", ".cpp", ".html",
                    ".css")
_MAIN_NAMES = ("main", "server", "app", "index", "cli", "__main__")

# --- the build context -----------------------------------------------------------------


class IgnoreRules:
    """`.dockerignore` semantics (moby's patternmatcher): last match wins, `!` re-includes,
    `**` spans folders, a pattern that matches a folder excludes its contents."""

    def __init__(self, text: str | None) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in (text or "").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            if negate:
                line = line[1:].strip()
            line = os.path.normpath(line).lstrip("/")
            if line in ("", "."):
                line = "**"
            self.rules.append((negate, re.compile(_glob_to_regex(line))))

    def ignored(self, rel: str) -> bool:
        parts = rel.split("/")
        result = False
        for negate, rx in self.rules:
            # A pattern matches the path or one of its parent folders.
            if any(rx.fullmatch("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
                result = not negate
        return result


def _glob_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i)
            if j < 0:
                out.append(re.escape(c))
            else:
                out.append("[" + pattern[i + 1:j].replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def context_files(root: Path) -> list[str]:
    """Every regular file under root, relative and "/"-separated, sorted."""
    out: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", "__pycache__"))
        for f in files:
            full = Path(folder) / f
            if full.is_file() and not full.is_symlink():
                out.append(full.relative_to(root).as_posix())
    return sorted(out)


def copied_sources(text: str) -> list[str]:
    """The context paths (globs) that COPY/ADD instructions without --from include."""
    from dockopt.rewriter.syntax import parse

    out: list[str] = []
    for ins in parse(text).instructions:
        if ins.keyword not in ("COPY", "ADD") or ins.heredocs:
            continue
        if any(f.startswith("--from") for f in ins.flags):
            continue
        values = [v for v in ins.value if not v.startswith("--")]
        out += values[:-1]
    return out


def _included(rel: str, sources: Sequence[str]) -> bool:
    for src in sources:
        src = os.path.normpath(src).lstrip("/")
        if src in ("", "."):
            return True
        if "://" in src:
            continue
        if rel == src or rel.startswith(src.rstrip("/") + "/"):
            return True
        if fnmatch.fnmatchcase(rel, src) or any(
                fnmatch.fnmatchcase("/".join(rel.split("/")[:i]), src)
                for i in range(1, rel.count("/") + 1)):
            return True
    return False


def pick_source_file(context: Path, dockerfiles: Sequence[str],
                     ignores: Sequence[str | None]) -> str | None:
    """A file to change for the "source-only change": included by a COPY in every
    Dockerfile, ignored by none of the .dockerignore texts, not a manifest.
    Application sources (by suffix), then main-looking names, are preferred."""
    sources = [copied_sources(t) for t in dockerfiles]
    rules = [IgnoreRules(t) for t in ignores]
    candidates = [
        rel for rel in context_files(context)
        if rel.rsplit("/", 1)[-1] not in MANIFESTS
        and all(_included(rel, s) for s in sources)
        and not any(r.ignored(rel) for r in rules)
        and not rel.rsplit("/", 1)[-1].startswith(".")
    ]

    def rank(rel: str) -> tuple[int, int, int, str]:
        name = rel.rsplit("/", 1)[-1]
        stem = name.split(".", 1)[0]
        return (0 if name.endswith(_SOURCE_SUFFIXES) else 1,
                0 if stem in _MAIN_NAMES else 1, rel.count("/"), rel)

    return min(candidates, key=rank) if candidates else None


def copy_context(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, symlinks=True)


# Line-comment markers by file suffix: the rebuild's source change is a comment with
# a fresh nonce, so its content was never built before (a bare newline repeats the
# content of an earlier run's rebuild, and a leftover cached layer would answer it).
_COMMENT_PREFIX = {
    **dict.fromkeys((".py", ".sh", ".bash", ".rb", ".pl", ".r", ".toml", ".yaml", ".yml",
                     ".cfg", ".ini", ".jq", ".mk", ".cmake", ".tf",
                     ".dockerfile", ".ex", ".exs", ".nim", ".cr", ".jl", ".ps1"), "#"),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".ts", ".tsx", ".jsx", ".go", ".java", ".kt",
                     ".kts", ".scala", ".c", ".h", ".cc", ".cpp", ".hpp", ".cs", ".rs",
                     ".swift", ".dart", ".php", ".groovy", ".gradle", ".proto", ".zig"),
                    "//"),
    **dict.fromkeys((".sql", ".lua", ".hs", ".elm"), "--"),
}


def source_change(path: Path) -> str:
    """Change ``path`` the way an edit would, without changing what it does: append a
    comment line with a fresh nonce (a newline when the file type has no line
    comment). Returns the appended text."""
    import uuid

    prefix = _COMMENT_PREFIX.get(path.suffix.lower())
    if path.name in ("Makefile", "Dockerfile", "Gemfile", "Rakefile"):
        prefix = "#"
    data = path.read_bytes()
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    lead = b"" if not data or data.endswith(b"\n") else newline
    if prefix is None:
        text = lead + newline
    else:
        text = lead + f"{prefix} dockopt verify {uuid.uuid4().hex[:12]}".encode() + newline
    with open(path, "ab") as handle:
        handle.write(text)
    return text.decode()
