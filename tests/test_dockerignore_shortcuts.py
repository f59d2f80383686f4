"""DO603's shortcuts give the answers of the plain computation.

The plan asks for RUN flags only where they decide an entry, keeps per process the
path judgements of each (needed files, COPY sources) pair, the path tokens of each
RUN text and each RUN's git use, and matches a pattern list with one regular
expression.  Each is held here to the computation it replaces, on generated contexts
and (marker ``corpus``) on every official image of the shared corpus.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dockopt.rewriter.context import (
    BadPattern,
    BuildContext,
    Pattern,
    PatternMatcher,
    go_clean,
    read_ignore_patterns,
)
from dockopt.rewriter.syntax import Dockerfile, parse
from dockopt.transforms.context import dockerignore as di

# --------------------------------------------------------------------------------
# The plain computations, as DO603 did them before the shortcuts
# --------------------------------------------------------------------------------


def _plain_named_files(text: str, files: object) -> set[str]:
    out: set[str] = set()
    for raw in set(di._TOKEN_SEPARATORS.split(text)):
        token = raw.strip()
        if not token or token.startswith(("-", "/", "$")) or "://" in token:
            continue
        cleaned = go_clean(token)
        if cleaned not in (".", "..") and not cleaned.startswith("../") \
                and cleaned in files:  # type: ignore[operator]
            out.add(cleaned)
    return out


def _plain_blocked(pattern: str, needs: di.Needs, needed: list[str]) -> str | None:
    if pattern == ".git" and "git" in needs.flags:
        return "a RUN uses git"
    guard = di._GUARDS.get(pattern)
    if guard is not None and needs.root and guard not in needs.flags:
        return {"js-install": "COPY . . and no RUN installs JS dependencies",
                "composer": "COPY . . and no composer install",
                "bundle": "COPY . . and no bundle install",
                "build": "COPY . . and no RUN builds"}[guard]
    return di._path_reason(pattern, needed, needs.sources, {})


def _plain_plan(tree: Dockerfile, build: BuildContext, current: str | None) -> di.Plan | None:
    """plan_entries without a shortcut: every flag, every pattern judged afresh."""
    existing = read_ignore_patterns(current or "")
    try:
        existing_pm = PatternMatcher(existing)
    except BadPattern:
        return None
    needs = di.analyse(tree, build)
    assert needs.run_files == _plain_named_files(needs.run_text, build.files)
    names = {e.name for e in build.ecosystems()}
    rendered = di.render_dockerignore([n for n in di.ECOSYSTEM_ORDER if n in names])
    needed = di._needed_files(needs, build, existing_pm)
    known = set(existing)
    plan = di.Plan(existing, [], [], [], rendered, set(),
                   "\r\n" if current is not None and "\r\n" in current else "\n")
    for line in rendered.splitlines():
        pattern = read_ignore_patterns(line)[0] if read_ignore_patterns(line) else None
        if pattern is None or line.startswith("#"):
            continue
        if pattern in known or pattern.removeprefix("**/") in known:
            reason: str | None = "present"
        elif not di._has_glob(pattern) and existing_pm.excludes(pattern):
            reason = "covered"
        else:
            reason = _plain_blocked(pattern, needs, needed)
        if reason is None:
            known.add(pattern)
            plan.added.append(pattern)
            plan.added_lines.append(line.strip())
        else:
            plan.dropped_lines.add(line)
            if reason not in ("present", "covered") and \
                    di._names_something(pattern, build.files):
                plan.kept.append(f"{line.strip()} ({reason})")
    return plan


def _plain_any_match(texts: tuple[str, ...], path: str) -> bool:
    return any(Pattern.compile(t).match(path) for t in texts)


def _same_plans(dockerfile: str, build: BuildContext, current: str | None) -> None:
    tree = parse(dockerfile)
    want = _plain_plan(tree, build, current)
    for _ in range(2):  # the second time from the process memos
        assert di.plan_entries(tree, build, current) == want, dockerfile


# --------------------------------------------------------------------------------
# Generated contexts
# --------------------------------------------------------------------------------

FILES = ["package.json", "package-lock.json", "src/app.py", "src/index.js", ".env",
         ".env.example", "dist/app.js", "build/out.bin", "node_modules/a/index.js",
         "id_rsa", "keys/server.pem", "docker-entrypoint.sh", "Makefile",
         "scripts/run.sh", ".git/HEAD", "vendor/a.php", "composer.json", "README.md",
         "logs/a.log", "compose.yml", "requirements.txt", "pyproject.toml",
         "target/app.jar", "Gemfile", "go.mod", "a b/c.txt", "weird[1].txt"]
SOURCES = ["package.json", "src/", "src", "*.json", "./scripts/run.sh", "dist",
           "$APP/x", "keys/*.pem", "docker-entrypoint.sh", "requirements*.txt",
           "vendor", "build/", ".env", "a b", "src/../Makefile", "weird[1].txt"]
RUNS = ["cp .env.example .env", "sh scripts/run.sh", "npm ci", "make all",
        "git describe --tags", "composer install", "bundle install", "npm run build",
        "chmod +x ./docker-entrypoint.sh", "pip install -r requirements.txt",
        "echo hi > build/out.bin", "go build ./...", "python -m setuptools_scm",
        "yarn", "cat README.md | wc -l", "git clone https://x/y /y"]
IGNORES = [".git", "!.env.example", "**/*.log", "node_modules", "dist/**", "*.md",
           "!README.md", "build", "**/.env", "keys", "# comment", "/vendor/",
           "src/*.py", "!src/app.py"]
PYPROJECTS = ['[project]\nname = "x"\n',
              '[build-system]\nrequires = ["setuptools-scm"]\n[project]\nname = "x"\n']


def _generated(tmp: Path, rng: random.Random) -> tuple[str, BuildContext, str | None]:
    tmp.mkdir()
    for rel in rng.sample(FILES, rng.randint(1, len(FILES))):
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        text = "x\n"
        if rel == "pyproject.toml":
            text = rng.choice(PYPROJECTS)
        elif rel == "package.json":
            text = rng.choice(['{"name": "x"}', '{"scripts": {"v": "git describe"}}'])
        elif rel == "Makefile":
            text = rng.choice(["all:\n\techo\n", "all:\n\tgit rev-parse HEAD\n"])
        path.write_text(text)
    lines = ["FROM alpine"]
    for _ in range(rng.randint(0, 6)):
        kind = rng.random()
        if kind < 0.15:
            lines.append("COPY . .")
        elif kind < 0.5:
            srcs = rng.sample(SOURCES, rng.randint(1, 3))
            lines.append(f"COPY {' '.join(srcs)} /app/")
        else:
            lines.append("RUN " + " && ".join(rng.sample(RUNS, rng.randint(1, 3))))
    current = None
    if rng.random() < 0.5:
        current = "\n".join(rng.sample(IGNORES, rng.randint(0, 6))) + "\n"
        (tmp / ".dockerignore").write_text(current)
    return "\n".join(lines) + "\n", BuildContext(tmp), current


def test_plans_equal_the_plain_computation_on_generated_contexts(tmp_path: Path) -> None:
    rng = random.Random(603)
    for n in range(80):
        dockerfile, build, current = _generated(tmp_path / str(n), rng)
        _same_plans(dockerfile, build, current)


def test_flags_are_asked_only_where_they_decide(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("x\n")
    tree = parse("FROM alpine\nCOPY app.py /app/\nRUN npm run build && git describe\n")
    facts = di._Facts(tree, BuildContext(tmp_path), None)
    assert di._flag_reason("dist", facts) is None  # no COPY . .: the guard is not asked
    assert facts._asked == set()
    assert di._flag_reason(".git", facts) == "a RUN uses git"
    assert facts._asked == {"git"}
    assert di.analyse(tree, BuildContext(tmp_path)).flags == {"git", "build"}


def test_path_reasons_are_kept_per_pair_of_lists() -> None:
    one = di._path_reasons(di.Needs(sources=["src"]), ["src/a.py"])
    assert di._path_reasons(di.Needs(sources=["src"]), ["src/a.py"]) is one
    assert one.reason("src") == "needs src/a.py"
    assert one.answers == {"src": "needs src/a.py"}
    other = di._path_reasons(di.Needs(sources=["src"]), ["src/b.py"])
    assert other is not one and other.reason("src") == "needs src/b.py"


def test_named_files_equal_the_plain_tokenizer() -> None:
    rng = random.Random(6031)
    words = ["a.txt", "./a.txt", "b/../a.txt", "src//x.py", "-f", "/etc/x", "$HOME/a",
             "http://x/a.txt", "'a.txt'", "x=src/x.py", "..", "../a.txt", "src/x.py;",
             "(cd", "b)", "`a.txt`", "c\td", "\"q\""]
    files = {"a.txt": 1, "src/x.py": 1, "c": 1, "q": 1, "b": 1}
    for _ in range(300):
        texts = [" ".join(rng.choices(words, k=rng.randint(0, 8)))
                 for _ in range(rng.randint(1, 4))]
        want = _plain_named_files("\n".join(texts), files)
        assert di._named_files(texts, files) == want
        # The other branch: more tokens than files.
        assert di._named_files(texts, {"a.txt": 1}) == \
            _plain_named_files("\n".join(texts), {"a.txt": 1})
        # A context above _FEW_FILES: every text tokenized, no file-name prefilter.
        many = {**files, **{f"pad/{i}": 1 for i in range(di._FEW_FILES)}}
        assert di._named_files(texts, many) == _plain_named_files("\n".join(texts), many)


# --------------------------------------------------------------------------------
# The one-regex matcher and the compiled pattern lists
# --------------------------------------------------------------------------------

PATTERN_PARTS = ["a", "b", "*", "**", "?", "[ab]", "[^a]", "\\*", ".", "x.y", "(", "+",
                 "$", "^", "{1}", "|", "\n", "é"]
PATH_PARTS = ["a", "b", "ab", "x.y", "*", "(", "+", "$", "^", "{1}", "|", "\n", "é", ""]


def test_one_matcher_equals_each_pattern_in_turn() -> None:
    rng = random.Random(6032)
    for _ in range(400):
        texts: list[str] = []
        while len(texts) < rng.randint(1, 6):
            text = go_clean("/".join("".join(rng.choices(PATTERN_PARTS, k=rng.randint(1, 3)))
                                     for _ in range(rng.randint(1, 3))))
            try:
                Pattern.compile(text)
            except BadPattern:
                continue
            texts.append(text)
        pm = PatternMatcher(texts)
        matches = pm.any_matches()
        for _ in range(30):
            path = "/".join("".join(rng.choices(PATH_PARTS, k=rng.randint(1, 3)))
                            for _ in range(rng.randint(1, 4)))
            want = any(p.match(path) for p in pm.patterns)  # as Docker cleaned them
            assert matches(path) == want, (texts, path)


def test_template_entries_match_as_each_pattern() -> None:
    rendered = di.render_dockerignore(list(di.ECOSYSTEM_ORDER))
    texts = tuple(p for _, p, _, _, _ in di._template_patterns(rendered))
    matches = PatternMatcher(texts).any_matches()
    paths = [*FILES, ".git", "a/.env.local", "x/y/__pycache__", "m.pyc", "deep/a/b.log",
             "docker-compose.prod.yml", "target", "bin", "obj/x", ".venv", "Thumbs.db"]
    for path in paths:
        assert matches(path) == _plain_any_match(texts, path), path


def test_bad_patterns_raise_every_time() -> None:
    for _ in range(2):  # a failed compile is not remembered as a success
        with pytest.raises(BadPattern):
            PatternMatcher(["ok", "["])
        with pytest.raises(BadPattern):
            PatternMatcher(["!"])


def test_excluded_equals_the_fold(tmp_path: Path) -> None:
    for rel in FILES:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    build = BuildContext(tmp_path)
    rng = random.Random(6033)
    for _ in range(100):
        patterns = read_ignore_patterns("\n".join(rng.sample(IGNORES, rng.randint(0, 8))))
        pm = PatternMatcher(patterns)
        assert build.excluded(patterns) == {f for f in build.files if pm.excludes(f)}


# --------------------------------------------------------------------------------
# The corpus's official images, each with its own folder as the build context
# --------------------------------------------------------------------------------


def _official(corpus_dir: Path) -> list[Path]:
    out = []
    for p in sorted((corpus_dir / "official").rglob("*")):
        low = p.name.lower()
        if p.is_file() and (low.startswith("dockerfile") or low.endswith(".dockerfile")) \
                and "template" not in low:
            out.append(p)
    return out


@pytest.mark.corpus
def test_plans_equal_the_plain_computation_on_the_official_images(corpus_dir: Path) -> None:
    files = _official(corpus_dir)
    assert len(files) > 400
    for path in files:
        build = BuildContext(path.parent, dockerfile=str(path))
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        _same_plans(text, build, build.ignore_file().text)


@pytest.mark.corpus
def test_run_git_answers_are_those_of_a_fresh_computation(corpus_dir: Path) -> None:
    """The memo's key (the RUN's shell text, JSON words and heredocs) decides the
    answer: every RUN of every official image, asked with the memo of all the others,
    answers as with an empty memo."""
    runs = []
    for path in _official(corpus_dir):
        tree = parse(path.read_text(encoding="utf-8", errors="surrogateescape"))
        runs += [i for i in tree.instructions if i.keyword == "RUN" and not i.passthrough]
    assert len(runs) > 1000
    shared = [di._run_reads_repo(ins, None) for ins in runs]
    for ins, answer in zip(runs, shared, strict=True):
        di._git_memo.cache_clear()
        assert di._run_reads_repo(ins, None) == answer


# --------------------------------------------------------------------------------
# The Dockerfile's own path, and the Dockerfiles of a context (shared_with)
# --------------------------------------------------------------------------------


def test_dockerfile_real_path_is_realpath(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    root = tmp_path / "ctx"
    (root / "sub").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM a\n")
    (root / "sub" / "Dockerfile").write_text("FROM a\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "Dockerfile").write_text("FROM a\n")
    os.symlink(root / "sub", root / "link")
    os.symlink(root / "sub" / "Dockerfile", root / "Dockerfile.link")
    os.symlink(root, tmp_path / "ctx-link")
    monkeypatch.chdir(root / "sub")
    spellings = ["Dockerfile", "../Dockerfile", "./Dockerfile", "../link/Dockerfile",
                 "../link/../Dockerfile", "../Dockerfile.link", "..//sub/./Dockerfile",
                 "../../outside/Dockerfile", "missing/Dockerfile", "../sub/",
                 str(root / "Dockerfile"), str(tmp_path / "ctx-link" / "Dockerfile"),
                 str(root / "link" / "Dockerfile"), str(tmp_path / "outside" / "Dockerfile")]
    for context in (root, tmp_path / "ctx-link", Path("/")):
        for spelling in spellings:
            build = BuildContext(context, dockerfile=spelling)
            assert build.dockerfile_real_path() == os.path.realpath(spelling), spelling
    assert BuildContext(root).dockerfile_real_path() is None


def test_dockerfiles_of_a_context(tmp_path: Path) -> None:
    for rel in ["Dockerfile", "a/Dockerfile.dev", "a/b/api.Dockerfile", "node_modules/x/Dockerfile",
                ".git/Dockerfile", "vendor/Containerfile", "docs/README.md", "c/Containerfile"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("FROM a\n")
    build = BuildContext(tmp_path)
    assert sorted(build.dockerfiles()) == ["Dockerfile", "a/Dockerfile.dev",
                                           "a/b/api.Dockerfile", "c/Containerfile"]
    build.dockerfiles().clear()  # a copy: the cached list stays whole
    assert len(build.dockerfiles()) == 4


def test_compose_lookups_are_forgotten_with_the_folders(tmp_path: Path) -> None:
    """``compose._compose_files_up`` is kept per folder: ``forget_cached`` (the
    language server's call when files change) drops it with the folders' facts."""
    from dockopt.rewriter import compose

    (tmp_path / ".git").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM a\n")
    assert compose.dockerfiles_building_from(str(tmp_path / "app")) == []
    (tmp_path / "compose.yml").write_text("services:\n  app:\n    build: ./app\n")
    compose.forget_cached()
    assert compose.dockerfiles_building_from(str(tmp_path / "app")) == \
        [str(tmp_path / "app" / "Dockerfile")]
