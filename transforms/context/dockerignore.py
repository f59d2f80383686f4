"""`.dockerignore` hygiene (DO603): create one, or add the entries it lacks.

The candidate entries come from jinja2 templates (``templates/dockerignore/``): a
universal block plus one block per ecosystem found in the context.  Every entry is
checked with the exact ``.dockerignore`` matcher (``dockopt.rewriter.context``)
against what the Dockerfile needs, and left out if it would exclude any of it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from dockopt.rewriter.context import (
    BadPattern,
    BuildContext,
    Pattern,
    PatternMatcher,
    go_clean,
    normalize_pattern,
    read_ignore_patterns,
)
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import Dockerfile
from dockopt.transforms.base import Context, FileChange, Finding, Fix, Safety, Transform

if TYPE_CHECKING:
    from jinja2 import Template

    from dockopt.rewriter.shell import LogicalText, ShellScript, TextMemo
    from dockopt.rewriter.syntax import Instruction

    # A RUN's parsed shell, or None (``Context.shell``).
    ShellOf = Callable[[Instruction], ShellScript | None]

ECOSYSTEM_ORDER = ("node", "python", "go", "java", "ruby", "php", "rust", "dotnet")
ADDED_HEADER = "# added by dockopt (DO603): build-context entries this file lacked"

# git invocations that do not need the repository the context holds; every other
# subcommand (pull, fetch, describe, rev-parse, log, status, submodule, lfs...) does.
_GIT_NO_REPO = frozenset({"clone", "init", "ls-remote", "version", "help", "--version",
                          "--help", "-v", "--exec-path", "--html-path", "--man-path"})
_GIT_TEXT = lazy(
    r"(?<![\w./-])git(?:\s+(?:-C|-c)\s+\S+|\s+--[\w-]+(?:=\S+)?)*\s+([\w.-]+)(\s+\S+)?")
# Tools that read git metadata implicitly (a version from the repository's tags):
# without .git they fail or build a wrong version.
_VCS_TOOLS = lazy(
    r"setuptools[_-]scm|hatch[_-]vcs|versioningit|dunamai|versioneer|"
    r"setuptools[_-]git[_-]versioning|poetry[_-]dynamic[_-]versioning|"
    r"uv[_-]dynamic[_-]versioning|vcs[_-]versioning|\bpbr\b|git[_-]rev[_-]sync|"
    r"\bGIT_DIR\b|source\s*=\s*[\"']scm[\"']")
_PACKAGE_TOOLS = frozenset({"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper",
                            "pip", "pip3", "npm", "yarn", "pnpm", "brew", "conda", "choco",
                            "gem", "tdnf", "pacman", "emerge", "port", "dpkg", "rpm"})
# A literal every match of _VCS_TOOLS contains: a text with none of them cannot match,
# and `in` finds that far faster than the regex's scan of every position (a regex led
# by \b or many alternatives gets no fast prefix search in `re`).
_VCS_LITERALS = ("setuptools", "hatch", "versioning", "dunamai", "versioneer", "poetry",
                 "pbr", "sync", "GIT_DIR", "scm")
_JS_INSTALL_LITERALS = ("npm", "bun", "yarn")  # likewise for _JS_INSTALL ("pnpm" too)
_JS_INSTALL = lazy(r"\b(npm\s+(install|i|ci)\b|pnpm\s+(install|i)\b|bun\s+(install|i)\b|"
                         r"yarn(\s+install\b|\s*$|\s*[;&|)]|\s+--))", re.M)
_BUILD = lazy(
    r"\b((npm|pnpm|bun)\s+run\s+\S*build|yarn\s+(run\s+)?\S*build|mvnw?\b|\./mvnw|"
    r"gradlew?\b|cargo\s+(build|install)|go\s+(build|install)|dotnet\s+(publish|build)|"
    r"setup\.py|pip\s+(wheel|install)\s+(-e\s+)?\.|python3?\s+-m\s+build|make\b|"
    r"(ng|vite|next|nuxt|tsc|webpack|rollup|esbuild|turbo|nx)\b|"
    r"(poetry|uv|hatch|pdm)\s+build)")
# Entries that only make sense when the Dockerfile recreates what they exclude:
# a `COPY . .` image that runs no install/build may ship the local copy on purpose.
_GUARDS: dict[str, str] = {
    "**/node_modules": "js-install", "vendor": "composer", "vendor/bundle": "bundle",
    "dist": "build", "build": "build", "target": "build", "**/bin": "build",
    "**/obj": "build", ".next": "build", ".nuxt": "build", "*.egg-info": "build",
}


@dataclass
class Needs:
    """What the Dockerfile takes from the context."""

    sources: list[str] = field(default_factory=list)  # cleaned COPY/ADD/bind sources
    root: bool = False  # some step takes the whole context (`COPY . .`)
    run_text: str = ""
    flags: set[str] = field(default_factory=set)  # js-install, composer, bundle, build, git
    # Context files the RUN text names (``_named_files``), found once:
    # both the needed files and the scripts read for git use them.
    run_files: set[str] = field(default_factory=set)


class DockerignoreMissing(Transform):
    """The build context has no `.dockerignore`, or one that lacks common entries.

    ## What it does
    When the build context has neither a `.dockerignore` nor a
    `<Dockerfile>.dockerignore`, creates `.dockerignore` from templates: version
    control data (`.git`), secrets (`.env*`, `*.pem`, `*.key`, SSH keys, `.aws`),
    local virtualenvs and `node_modules`, build outputs and caches, editor folders,
    logs and OS files, plus a block for each ecosystem found in the context (node,
    python, go, java, ruby, php, rust, .NET). When the file exists, appends only the
    entries it lacks, under a `# added by dockopt` comment, leaving the rest of the
    file byte for byte as it was. The message says how many files and bytes the
    context loses, measured on the real context folder.

    Entries are never added when they would exclude something the build needs,
    checked with Docker's exact matching rules (`!` exceptions included):
    - any file or folder a COPY/ADD (not `--from`, not a URL) or a
      `RUN --mount=type=bind` names, and everything under a named folder;
    - files a RUN names (`cp .env.example .env` keeps `.env.example`);
    - files an existing `!` exception re-includes;
    - `.git` when the build may read the repository: a RUN (or a script it names,
      a Makefile it runs with `make`, a `package.json` script, a gemspec) runs any
      git subcommand except `clone`, `init`, `ls-remote`, `--version` and
      `config --global` (`pull`, `fetch`, `describe`, `rev-parse`, `log`,
      `submodule`, `lfs pull`...), or a Python project anywhere in the context
      takes its version from git (setuptools-scm, hatch-vcs, versioningit, pbr,
      poetry-dynamic-versioning...). `go build` is not a reason: without `.git`
      Go simply embeds no VCS information (with `.git` but no git binary,
      `-buildvcs=auto` is what fails);
    - with `COPY . .`: `node_modules` unless a RUN installs the JS dependencies,
      `vendor` unless `composer install` runs, and build outputs (`dist`, `build`,
      `target`, `bin`, `obj`) unless a RUN builds: the image may ship them.

    A context's `.dockerignore` applies to every build from that context. When
    other Dockerfiles may build from the same folder (any Dockerfile inside the
    context, or a compose service at or above it whose context is this folder), the
    entries go to this Dockerfile's own ignore file instead,
    `<Dockerfile>.dockerignore` beside it: BuildKit (Docker's builder) reads that
    file first and then ignores `.dockerignore`, so it starts as a copy of the
    existing `.dockerignore`. A builder that does not know the per-Dockerfile file
    (the legacy builder; check yours) simply ignores it: nothing is excluded, nothing
    breaks.
    When this Dockerfile lies outside the shared context it is reported without a
    fix. Not seen: a Dockerfile outside the context that a script builds from it
    with `-f` and no compose file says so.

    ## Why
    Docker sends the whole context to the builder before the first step. Without a
    `.dockerignore`, `.git`, `node_modules` and build outputs make every build
    slower, `COPY . .` invalidates the cache whenever any of them changes, and
    secrets such as `.env` or private keys end up in image layers.

    ## Example
    A Node.js context with no `.dockerignore` and `COPY . .` followed by `npm ci`
    gets a `.dockerignore` listing `.git`, `**/.env`, `**/node_modules`, `dist`, ...
    and the fix message reads "context shrinks by 1,234 files / 56.7 MB". When
    nothing in the context would be left out today, the finding is only advice for
    files added later: level style, below the default failure threshold.

    ## Fix safety
    Unsafe: a build step or the application may read a file that no COPY names
    (for example a key that `COPY . .` brought in and the app loads at run time).
    Review the entries. Nothing happens without a build context (`--context`).

    ## References
    - Docker documentation: "Build context", ".dockerignore files"
    - moby/patternmatcher (the matching rules)
    """

    code = "DO603"
    reads_context = True
    name = "dockerignore-missing"
    fix_title = "Add .dockerignore entries for the build context"
    default_safety = Safety.UNSAFE
    semantic_scope: ClassVar[str] = "none"

    def check(self, ctx: Context) -> Iterator[Finding]:
        build = ctx.build
        if not isinstance(build, BuildContext):
            return
        anchor = next((i for i in ctx.tree.instructions if i.keyword == "FROM"), None)
        if anchor is None or ctx.tree.has_errors:
            return
        ignore = build.ignore_file()
        if ignore.rel is None:
            return  # a <Dockerfile>.dockerignore outside the context: not ours to edit
        target = ignore.rel
        others: list[str] = []
        if not ignore.dockerfile_specific:
            others = shared_with(build)
            own = build.dockerfile_ignore_rel()
            if others and own is not None:
                # The context's .dockerignore applies to every build from it: write
                # this Dockerfile's own ignore file instead (BuildKit reads
                # <Dockerfile>.dockerignore beside the Dockerfile first, and then not
                # .dockerignore, so it starts as a copy of .dockerignore).
                target = own
        # The ignore file as fixed so far (``Context.read_context_file``): from the
        # overlay, else the text ignore_file() has just read.
        current = ctx.overlay.get(ignore.rel, ignore.text)
        if target != ignore.rel:
            current = ctx.overlay.get(target, current)
        plan = plan_entries(ctx.tree, build, current, ctx.shell)
        if plan is None or not plan.added:
            return
        if others and target == ignore.rel:
            names = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
            state = "lacks common entries" if current is not None else "has no .dockerignore"
            yield self.finding(
                ctx, anchor, f"The build context {state}, but other Dockerfiles build from "
                f"it too ({names}): entries added to "
                f"{ignore.rel} would apply to their builds, and a Dockerfile-specific "
                "ignore file cannot be written because this Dockerfile is not inside the "
                "context (or its path is unknown); not fixed")
            return
        new_text = _new_text(current, plan)
        before = build.context_size(plan.existing)
        after = build.context_size([*plan.existing, *plan.added])
        files, size = before[0] - after[0], before[1] - after[1]
        verb = "extend" if current is not None else "create"
        if target != ignore.rel:
            verb = "create"
        message = (f"{verb} {target} with {len(plan.added)} "
                   f"entr{'y' if len(plan.added) == 1 else 'ies'}: context shrinks by "
                   f"{files:,} file{'s' if files != 1 else ''} / {human_bytes(size)} "
                   f"(from {before[0]:,} files / {human_bytes(before[1])})")
        if plan.kept:
            message += "; not excluded because the build needs them: " + \
                ", ".join(plan.kept[:8]) + (" ..." if len(plan.kept) > 8 else "")
        if target != ignore.rel:
            copy = f", a copy of {ignore.rel} plus the new entries" if current is not None \
                else ""
            message += (f" (this Dockerfile's own ignore file{copy}: "
                        f"{ignore.rel} is shared with {', '.join(others[:3])}"
                        f"{' ...' if len(others) > 3 else ''})")
        fix = Fix((), Safety.UNSAFE, message, files=(FileChange(target, new_text),))
        what = "lacks common entries" if current is not None else "has no .dockerignore"
        finding = self.finding(ctx, anchor, f"The build context {what}: {message}", fix=fix)
        if files == 0:
            # Nothing in the context today would be left out: advice for later (level
            # style, below the default failure threshold), not a problem that fails an
            # otherwise clean file.
            finding = replace(finding, level="style")
        yield finding


def shared_with(build: BuildContext) -> list[str]:
    """Other Dockerfiles that (may) build from this context: every Dockerfile inside
    it (a Dockerfile's context is chosen by whoever runs the build, so any of them may
    use this folder), and those compose files at or above it build from it."""
    import os

    from dockopt.rewriter.compose import dockerfiles_building_from

    own = build.dockerfile_real_path()
    out = [rel for rel in build.dockerfiles() if build.real_path(rel) != own]
    for path in dockerfiles_building_from(str(build.root)):
        if os.path.realpath(path) != own:
            try:
                rel = Path(os.path.realpath(path)).relative_to(build.root).as_posix()
            except ValueError:
                rel = os.path.relpath(path, build.root)
            if rel not in out:
                out.append(rel)
    return sorted(out)


@dataclass
class Plan:
    existing: list[str]
    added: list[str]  # cleaned patterns, in template order
    added_lines: list[str]  # the template lines for them
    kept: list[str]  # entries left out, with the reason
    rendered: str
    dropped_lines: set[str]
    newline: str = "\n"


def plan_entries(tree: Dockerfile, build: BuildContext, current: str | None,
                 shell: ShellOf | None = None) -> Plan | None:
    """Which template entries to add; None when the existing file cannot be read.
    ``shell`` gives a RUN's parsed shell (the pass's shared parse, ``Context.shell``)."""
    existing = read_ignore_patterns(current or "")
    try:
        existing_pm = PatternMatcher(existing)
    except BadPattern:
        return None  # Docker itself refuses this file; do not touch it
    facts = _Facts(tree, build, shell)
    names = {e.name for e in build.ecosystems()}
    rendered = render_dockerignore([n for n in ECOSYSTEM_ORDER if n in names])
    files = build.files
    known = set(existing)
    added: list[str] = []
    added_lines: list[str] = []
    kept: list[str] = []
    dropped: set[str] = set()
    # An empty file excludes nothing: no need to ask it about each entry.
    covers = existing_pm.excludes if existing_pm.patterns else None
    paths: _PathReasons | None = None  # what COPY/RUN need: found when first asked
    for line, pattern, bare, glob, flagged in _template_patterns(rendered):
        if pattern in known or bare in known:
            reason: str | None = "present"  # the file already decides about this name
        elif not glob and covers is not None and covers(pattern):
            reason = "covered"
        else:
            reason = _flag_reason(pattern, facts) if flagged else None
            if reason is None:
                if paths is None:
                    paths = _path_reasons(facts.needs,
                                          _needed_files(facts.needs, build, existing_pm))
                reason = paths.answers.get(pattern, _UNASKED)
                if reason is _UNASKED:
                    reason = paths.reason(pattern)
        if reason is None:
            known.add(pattern)
            added.append(pattern)
            added_lines.append(line.strip())
        else:
            dropped.add(line)
            if reason not in ("present", "covered") and _names_something(pattern, files):
                kept.append(f"{line.strip()} ({reason})")
    nl = "\r\n" if current is not None and "\r\n" in current else "\n"
    return Plan(existing, added, added_lines, kept, rendered, dropped, nl)


@functools.lru_cache(maxsize=64)
def _template_patterns(rendered: str) -> tuple[tuple[str, str, str, bool, bool], ...]:
    """(line, its pattern as Docker reads it, the pattern without a leading ``**/``,
    whether it has a glob character, whether a RUN flag may block it
    (``_flag_reason``)) for each entry line of a rendered template: the same few
    texts come back for every file, so parse each once."""
    out: list[tuple[str, str, str, bool, bool]] = []
    for line in rendered.splitlines():
        pattern = normalize_pattern(line)
        if pattern is not None and not line.startswith("#"):
            out.append((line, pattern, pattern.removeprefix("**/"), _has_glob(pattern),
                        pattern == ".git" or pattern in _GUARDS))
    return tuple(out)


def _flag_reason(pattern: str, facts: _Facts) -> str | None:
    """Why ``pattern`` must not be added, judged by what the RUN steps do, or None.
    Asks for a flag only where it decides (``_Facts.has``)."""
    if pattern == ".git" and facts.has("git"):
        return "a RUN uses git"
    guard = _GUARDS.get(pattern)
    if guard is not None and facts.needs.root and not facts.has(guard):
        return {"js-install": "COPY . . and no RUN installs JS dependencies",
                "composer": "COPY . . and no composer install",
                "bundle": "COPY . . and no bundle install",
                "build": "COPY . . and no RUN builds"}[guard]
    return None


def _path_reason(pattern: str, needed: Sequence[str], sources: Sequence[str],
                 compiled: dict[str, Pattern | bool]) -> str | None:
    """Why ``pattern`` must not be added because of the paths the build needs: it
    would exclude a needed file (or a folder above one), or a COPY source names it."""
    try:
        pat = Pattern.compile(pattern)
    except BadPattern:
        return "bad pattern"
    for f in needed:
        if pat.match(f) or any(pat.match(d) for d in _parents(f)):
            return f"needs {f}"
    for src in sources:
        # The named path itself (it may not exist yet, e.g. a CI-built dist/),
        # something inside it, or the pattern's own text named by a source glob.
        if pat.match(src) or any(pat.match(d) for d in _parents(src)) \
                or pat.match(src + "/x") or _source_names(src, pattern, compiled):
            return f"COPY names {src}"
    return None


_UNASKED = "\0unasked"  # no reason is this text


class _PathReasons:
    """``_path_reason`` of each template pattern for one (needed files, COPY sources)
    pair, filled as patterns are asked.

    The answer depends on the two lists alone, and they repeat: the variants of an
    image copy the same files (the corpus's 451 official Dockerfiles have 11 distinct
    pairs), and each pass of a fix asks again.  So a process keeps the recent pairs'
    answers (``_path_memo``, bounded by the characters of the lists) and each template
    pattern is matched against each path once per pair, not once per file."""

    def __init__(self, needed: tuple[str, ...], sources: tuple[str, ...]) -> None:
        self.needed = needed
        self.sources = sources
        self.compiled: dict[str, Pattern | bool] = {}  # each COPY source compiled once
        self.answers: dict[str, str | None] = {}

    def reason(self, pattern: str) -> str | None:
        try:
            return self.answers[pattern]
        except KeyError:
            pass
        got = _path_reason(pattern, self.needed, self.sources, self.compiled)
        self.answers[pattern] = got  # a pure answer: a racing thread writes the same
        return got


def _path_reasons(needs: Needs, needed: Sequence[str]) -> _PathReasons:
    key = (tuple(needed), tuple(needs.sources))
    memo = _path_memo()
    found = memo.get(key)
    if isinstance(found, _PathReasons):
        return found
    reasons = _PathReasons(*key)
    # Sized by the paths' characters, plus the answers a pair can gather (one per
    # template line, a few dozen).
    memo.put(key, reasons, sum(map(len, key[0])) + sum(map(len, key[1])) + 1024)
    return reasons


@functools.cache
def _path_memo() -> TextMemo:
    from dockopt.rewriter.shell import TextMemo

    return TextMemo(1 << 20)


def _source_names(source: str, path: str, compiled: dict[str, Pattern | bool]) -> bool:
    """``glob_matches(source, path)`` with each source compiled once per plan: the
    process-wide cache holds 8,192 patterns, so a file with more COPY sources than
    that missed it for every one of them on every template line."""
    pat = compiled.get(source)
    if pat is None:
        src = go_clean(source.lstrip("/") or ".")
        if src == ".":
            pat = True
        else:
            try:
                pat = Pattern.compile(src)
            except BadPattern:
                pat = False
        compiled[source] = pat
    if isinstance(pat, bool):
        return pat
    return pat.match(path) or any(pat.match(d) for d in _parents(path))


def _needed_files(needs: Needs, build: BuildContext, pm: PatternMatcher) -> list[str]:
    files = build.files
    out: set[str] = set()
    compiled: dict[str, Pattern | bool] = {}  # glob_matches, each source compiled once
    for src in needs.sources:
        out.update(f for f in files if _source_names(src, f, compiled))
    out.update(needs.run_files)
    if pm.exclusions:  # files the user re-included on purpose stay included
        reinc = PatternMatcher([p[1:] for p in pm_patterns(pm) if p.startswith("!")])
        out.update(f for f in files if reinc.excludes(f))
    return sorted(f for f in out if not pm.excludes(f))


def pm_patterns(pm: PatternMatcher) -> list[str]:
    return [("!" if p.exclusion else "") + p.text for p in pm.patterns]


def _named_files(texts: Iterable[str], files: Collection[str]) -> set[str]:
    """The context files that RUN texts name: their path-like tokens, cleaned, that
    are in ``files``."""
    out: set[str] = set()
    if len(files) <= _FEW_FILES:
        # A token names a file only if the file's last part is in it (cleaning drops
        # parts, it never makes one): in a small context (most are a few files) most
        # RUN texts contain none of them and need no tokens at all.
        bases = {f.rpartition("/")[2] for f in files}
        texts = [t for t in texts if any(b in t for b in bases)]
    for text in texts:
        names = _path_tokens(text)
        # The smaller side is walked: a long RUN in a tiny context, or a short one in a
        # context of 100,000 files.
        if len(names) <= len(files):
            out.update(n for n in names if n in files)
        else:
            out.update(f for f in files if f in names)
    return out


_FEW_FILES = 32


def _path_tokens(text: str) -> frozenset[str]:
    """The path-like tokens of one RUN text (or heredoc), cleaned: what could name a
    context file.  A RUN text repeats its tokens (over the corpus's official/ files,
    99,285 tokens, 61,641 distinct per file), so each distinct one is judged once; and
    the variants of an image repeat whole RUNs (1,764 RUNs, 320 distinct texts), so a
    process keeps the recent texts' answers (``TextMemo``)."""
    memo = _tokens_memo()
    found = memo.get(text)
    if isinstance(found, frozenset):
        return found
    out: set[str] = set()
    for raw in set(_TOKEN_SEPARATORS.split(text)):
        token = raw.strip()
        if not token or token.startswith(("-", "/", "$")) or "://" in token:
            continue
        cleaned = go_clean(token)
        if cleaned not in (".", "..") and not cleaned.startswith("../"):
            out.add(cleaned)
    tokens = frozenset(out)
    memo.put(text, tokens, len(text))
    return tokens


@functools.cache
def _tokens_memo() -> TextMemo:
    from dockopt.rewriter.shell import TextMemo

    return TextMemo(1 << 18)


_TOKEN_SEPARATORS = lazy(r"[\s;&|()<>`'\"=]+")


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _names_something(pattern: str, files: Iterable[str]) -> bool:
    """Whether the pattern would exclude a file that exists (worth reporting)."""
    try:
        pm = PatternMatcher([pattern])
    except BadPattern:
        return False
    return any(pm.excludes(f) for f in files)


def _has_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[\\")


def analyse(tree: Dockerfile, build: BuildContext, shell: ShellOf | None = None) -> Needs:
    """The context paths the Dockerfile reads, and what its RUN steps do (every
    flag; the plan asks only for the flags it needs, ``_Facts``)."""
    facts = _Facts(tree, build, shell)
    for flag in _FLAG_TESTS:
        facts.has(flag)
    return facts.needs


class _Facts:
    """What one Dockerfile takes from its context: the paths at once, and each RUN
    flag when first asked.  A flag decides only a few template entries (``git`` the
    `.git` entry, the others the guarded entries and only with `COPY . .`), and the
    searches behind them read every RUN's text, the shell commands and context files."""

    def __init__(self, tree: Dockerfile, build: BuildContext,
                 shell: ShellOf | None) -> None:
        self.tree = tree
        self.build = build
        self.shell = shell
        self.needs = needs = Needs()
        runs: list[str] = []
        for ins in tree.instructions:
            if ins.passthrough:
                continue
            kw = ins.keyword
            if kw in ("COPY", "ADD"):
                if any(f.lower().startswith("--from") for f in ins.flags):
                    continue
                for src in ins.value[:-1]:
                    _add_source(needs, kw, src)
            elif kw == "RUN":
                for flag in ins.flags:
                    _add_mount(needs, flag)
                runs.append(ins.args.text)
                runs += [h.content for h in ins.heredoc_docs]
        needs.run_text = "\n".join(runs)
        needs.run_files = _named_files(runs, build.files)
        self._asked: set[str] = set()

    def has(self, flag: str) -> bool:
        """Whether ``flag`` holds (js-install, composer, bundle, build, git)."""
        if flag not in self._asked:
            self._asked.add(flag)
            if _FLAG_TESTS[flag](self):
                self.needs.flags.add(flag)
        return flag in self.needs.flags


def _git_flag(facts: _Facts) -> bool:
    needs = facts.needs
    return _uses_git(facts.tree, facts.build, needs.run_text, facts.shell,
                     needs.run_files) or _project_uses_vcs(facts.build)


def _js_install_flag(facts: _Facts) -> bool:
    text = facts.needs.run_text
    return _has_any(text, _JS_INSTALL_LITERALS) and _JS_INSTALL.search(text) is not None


def _composer_flag(facts: _Facts) -> bool:
    text = facts.needs.run_text
    return "composer" in text and \
        re.search(r"\bcomposer\s+(install|update|require)", text) is not None


def _bundle_flag(facts: _Facts) -> bool:
    text = facts.needs.run_text
    return "bundle" in text and re.search(r"\bbundle\s+install\b", text) is not None


def _build_flag(facts: _Facts) -> bool:
    return _BUILD.search(facts.needs.run_text) is not None


# In the order ``analyse`` used to compute them.
_FLAG_TESTS: dict[str, Callable[[_Facts], bool]] = {
    "git": _git_flag, "js-install": _js_install_flag, "composer": _composer_flag,
    "bundle": _bundle_flag, "build": _build_flag}


def _has_any(text: str, literals: Sequence[str]) -> bool:
    return any(lit in text for lit in literals)


def _vcs_tool_in(text: str) -> bool:
    """A tool that reads git metadata is named in ``text`` (``_VCS_TOOLS``)."""
    return _has_any(text, _VCS_LITERALS) and _VCS_TOOLS.search(text) is not None


def _add_source(needs: Needs, kw: str, src: str) -> None:
    if src.startswith("<<") or "://" in src or (kw == "ADD" and src.startswith("git@")):
        return
    # An unresolved variable could be anything: treat it as a wildcard (conservative).
    src = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", "*", src)
    cleaned = go_clean(src.lstrip("/") or ".")
    if cleaned == "." or cleaned.startswith(".."):
        needs.root = needs.root or cleaned == "."
        return
    if cleaned.strip("*/") == "":
        needs.root = True
        return
    needs.sources.append(cleaned)


def _add_mount(needs: Needs, flag: str) -> None:
    if not flag.lower().startswith("--mount="):
        return
    opts: dict[str, str] = {}
    for part in flag.split("=", 1)[1].split(","):
        key, _, value = part.partition("=")
        opts[key.strip().lower()] = value.strip()
    if opts.get("type", "bind") != "bind" or "from" in opts:
        return
    _add_source(needs, "COPY", opts.get("source", opts.get("src", ".")))


def git_needs_repo(sub: str, rest: str = "") -> bool:
    """Whether ``git <sub> <rest>`` reads the repository it runs in."""
    sub = sub.strip("\"'")
    if sub in _GIT_NO_REPO:
        return False
    if sub == "config":
        return not rest.strip().startswith(("--global", "--system"))
    return True


def _git_in_text(text: str) -> bool:
    """A git command that needs a repository, anywhere in free text (conservative)."""
    if "git" not in text:  # the pattern needs the word; most texts have none
        return False
    return any(git_needs_repo(m.group(1), m.group(2) or "") for m in _GIT_TEXT.finditer(text))


def _uses_git(tree: Dockerfile, build: BuildContext, run_text: str,
              shell: ShellOf | None = None, run_files: set[str] | None = None) -> bool:
    """Some RUN (or a script, Makefile, package.json script or gemspec it runs) needs
    the git repository: any git subcommand but clone/init/ls-remote/--version and
    ``config --global``, or a tool that reads git metadata."""
    if _vcs_tool_in(run_text):
        return True
    for ins in tree.instructions:
        if ins.keyword == "RUN" and not ins.passthrough and _run_reads_repo(ins, shell):
            return True
    return any(_git_in_text(text) for text in _run_files(build, run_text, run_files))


def _run_reads_repo(ins: Instruction, shell: ShellOf | None) -> bool:
    """Whether this RUN runs git on the repository (``_uses_git``).

    The answer depends on the RUN's shell text (or its JSON words) and heredocs
    alone, and the variants of an image repeat their RUNs: a process keeps the recent
    answers by that text (``TextMemo``), as the shell parse itself is kept."""
    heredocs = tuple(h.content for h in ins.heredoc_docs)
    src = None if ins.is_json else ins.shell_source()
    body = " ".join(ins.value) if ins.is_json else None if src is None else src.text
    key = (ins.is_json, body, heredocs)
    memo = _git_memo()
    found = memo.get(key)
    if isinstance(found, bool):
        return found
    texts = list(heredocs)
    if ins.is_json:
        texts.append(" ".join(ins.value))
    answer = _script_reads_repo(ins, src, shell, texts) or \
        any(_git_in_text(t) for t in texts)
    memo.put(key, answer, len(body or "") + sum(map(len, heredocs)))
    return answer


def _script_reads_repo(ins: Instruction, src: LogicalText | None,
                       shell: ShellOf | None, texts: list[str]) -> bool:
    """A git command of the RUN's parsed shell needs the repository; else adds to
    ``texts`` what the plain-text search must look at (the whole text when the shell
    does not parse, and the words of other commands that mention git)."""
    if src is None:
        return False
    from dockopt.rewriter.shell import parse_shell

    # The pass's parse when given (each RUN is parsed once).
    script = shell(ins) if shell is not None else parse_shell(src.text)
    if script is None or script.has_errors:
        texts.append(src.text)
        return False
    for cmd in script.commands:
        name = cmd.resolved_name or ""
        values = [w.value or "" for w in cmd.resolved_args]
        if name == "git":
            sub = next((v for i, v in enumerate(values) if not v.startswith("-")
                        and not (i and values[i - 1] in ("-C", "-c"))), "")
            rest = " ".join(values[values.index(sub) + 1:]) if sub in values else ""
            if sub == "" and any(v in _GIT_NO_REPO for v in values):
                continue  # git --version, git --help
            if sub == "" or git_needs_repo(sub, rest):
                return True
        elif name not in _PACKAGE_TOOLS and "git" in " ".join(values):
            texts.append(" ".join(values))  # sh -c "git describe", xargs git log
    return False


@functools.cache
def _git_memo() -> TextMemo:
    from dockopt.rewriter.shell import TextMemo

    return TextMemo(1 << 18)


def _run_files(build: BuildContext, run_text: str,
               named: set[str] | None = None) -> Iterator[str]:
    """Context files whose commands a RUN may run: files it names (scripts),
    Makefiles when it runs make, package.json scripts, gemspecs.  ``named``: the
    files the RUN text names, when the caller has them (``Needs.run_files``)."""
    files = build.files
    names: set[str] = set(named) if named is not None else \
        _named_files([run_text], files)
    # (`in` first: a pattern led by \b gets no fast literal search in `re`)
    make = "make" in run_text and re.search(r"\bmake\b", run_text) is not None
    for rel in files:
        base = rel.rsplit("/", 1)[-1]
        if (make and base in ("Makefile", "makefile", "GNUmakefile")) or \
                base == "package.json" or base.endswith(".gemspec"):
            names.add(rel)
    for rel in sorted(names):
        if files.get(rel, 0) <= 1 << 20:
            text = build.read_text(rel)
            if text is not None:
                yield text


def _project_uses_vcs(build: BuildContext) -> bool:
    """A Python project in the context takes its version from git (setuptools-scm,
    hatch-vcs, pbr...): installing it without .git fails or builds a wrong version."""
    for rel in build.files:
        if rel.rsplit("/", 1)[-1] in ("pyproject.toml", "setup.py", "setup.cfg") and \
                build.files.get(rel, 0) <= 1 << 20 and \
                _vcs_tool_in(build.read_text(rel) or ""):
            return True
    return False


def render_dockerignore(ecosystems: Sequence[str]) -> str:
    """The full template for these ecosystems (jinja2, imported only here)."""
    return _rendered(tuple(ecosystems))


@functools.lru_cache(maxsize=64)
def _rendered(ecosystems: tuple[str, ...]) -> str:
    # The text depends on the ecosystems alone, and there are few combinations: render
    # each once per process (compiling the template took ~12% of checking a corpus).
    params: dict[str, Any] = {"ecosystems": list(ecosystems),
                              "code": DockerignoreMissing.code}
    return _template().render(**params)


@functools.cache
def _template() -> Template:
    """The compiled template, once per process."""
    import jinja2

    import dockopt.templates as templates

    folder = Path(templates.__file__).parent / "dockerignore"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             autoescape=False)
    return env.get_template("base.j2")


def _new_text(current: str | None, plan: Plan) -> str:
    nl = plan.newline
    if current is None:
        return _prune(plan.rendered, plan.dropped_lines)
    body = current
    if body and not body.endswith("\n"):
        body += nl
    block = [ADDED_HEADER, *plan.added_lines]
    sep = nl if body.strip() else ""
    return body + sep + nl.join(block) + nl


def _prune(rendered: str, dropped: set[str]) -> str:
    """The rendered template without the dropped entries and emptied sections."""
    return _pruned(rendered, frozenset(dropped))


@functools.lru_cache(maxsize=64)
def _pruned(rendered: str, dropped: frozenset[str]) -> str:
    # The same few (template, dropped lines) pairs come back for most files.
    blocks = rendered.split("\n\n")
    out: list[str] = []
    for i, block in enumerate(blocks):
        lines = [ln for ln in block.split("\n") if ln not in dropped]
        has_entry = any(ln.strip() and not ln.startswith("#") for ln in lines)
        if i == 0 or has_entry:
            out.append("\n".join(lines))
    text = "\n\n".join(out)
    return text if text.endswith("\n") else text + "\n"


def human_bytes(n: int) -> str:
    """Decimal units, one decimal: 56.7 MB."""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"
