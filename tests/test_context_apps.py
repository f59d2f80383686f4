"""The context-aware transforms over the corpus apps (``corpus/apps/APPS.tsv``).

For each app a stand-in build context is made in a temporary folder: every file in
the app's ``FILES.txt`` is created empty, then the real manifests and
``.dockerignore`` files from the corpus folder are copied over them.  Then
``fix --unsafe-fixes`` runs with that context, and:

- nothing crashes and the engine reports no error;
- the output parses (our parser, and BuildKit's own when it is importable);
- a second run, with the written ``.dockerignore`` in place, changes nothing;
- no COPY/ADD source is excluded by the resulting ``.dockerignore`` (checked with
  the exact matcher against the stand-in listing).

It prints how many apps each transform changed, and the ecosystems detected
against APPS.tsv's ``ecosystem`` column.
"""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockopt.rewriter.config import settings_from_dict
from dockopt.rewriter.context import BuildContext, PatternMatcher, glob_matches, go_clean
from dockopt.rewriter.pipeline import FixResult, fix
from dockopt.rewriter.syntax import parse

pytestmark = pytest.mark.corpus

SETTINGS = settings_from_dict({"unsafe-fixes": True}, "<test_context_apps>")


@dataclass
class App:
    dockerfile: Path
    context: Path
    ecosystem: str
    row: dict[str, str]


def _apps(corpus_dir: Path) -> list[App]:
    tsv = corpus_dir / "apps" / "APPS.tsv"
    if not tsv.exists():
        pytest.skip("corpus/apps/APPS.tsv not found")
    lines = tsv.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    out: list[App] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        row = dict(zip(header, line.split("\t"), strict=False))
        out.append(App(corpus_dir / row["dockerfile_local"], corpus_dir / row["context_local"],
                       row.get("ecosystem", ""), row))
    return out


def stand_in(app: App, dest: Path) -> Path:
    """An empty-file copy of the app's context, with the real manifests copied in."""
    dest.mkdir(parents=True, exist_ok=True)
    listing = app.context / "FILES.txt"
    names = listing.read_text(encoding="utf-8").splitlines() if listing.exists() else []
    for name in names:
        name = name.strip()
        if not name or name.startswith("/") or ".." in name.split("/"):
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    for real in app.context.rglob("*"):
        rel = real.relative_to(app.context)
        if real.is_file() and rel.as_posix() != "FILES.txt":
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(real, target)
    for p in dest.rglob("*"):  # the corpus is read-only; the copies must not be
        p.chmod(0o755 if p.is_dir() else 0o644)
    return dest


def copy_sources(text: str) -> list[str]:
    """Context sources of every COPY/ADD (not --from, URLs or heredocs)."""
    out: list[str] = []
    for ins in parse(text).instructions:
        if ins.keyword not in ("COPY", "ADD") or ins.passthrough:
            continue
        if any(f.lower().startswith("--from") for f in ins.flags):
            continue
        for src in ins.value[:-1]:
            if src.startswith("<<") or "://" in src or src.startswith("git@") or "$" in src:
                continue
            cleaned = go_clean(src.lstrip("/") or ".")
            if cleaned != "." and not cleaned.startswith(".."):
                out.append(cleaned)
    return out


@dataclass
class Outcome:
    app: App
    result: FixResult
    again: FixResult
    ignored_sources: list[str]
    detected: list[str]


_CACHE: dict[str, list[Outcome]] = {}


def _run(corpus_dir: Path, tmp: Path) -> list[Outcome]:
    if "all" in _CACHE:
        return _CACHE["all"]
    outcomes: list[Outcome] = []
    for i, app in enumerate(_apps(corpus_dir)):
        ctx_dir = stand_in(app, tmp / f"app{i}")
        text = app.dockerfile.read_bytes().decode("utf-8", "surrogateescape")
        df = str(ctx_dir / app.dockerfile.name)
        result = fix(text, path=app.dockerfile.name, settings=SETTINGS,
                     context=BuildContext(ctx_dir, dockerfile=df))
        for rel, (_, new) in result.extra_files.items():
            (ctx_dir / rel).write_bytes(new.encode("utf-8", "surrogateescape"))
        build = BuildContext(ctx_dir, dockerfile=df)
        again = fix(result.text, path=app.dockerfile.name, settings=SETTINGS, context=build)
        pm = PatternMatcher(build.ignore_patterns())
        bad: list[str] = []
        for src in copy_sources(result.text):
            named = [f for f in build.files if glob_matches(src, f)]
            bad += [f"{src}: {f}" for f in named if pm.excludes(f)]
            if not named and pm.excludes(src):
                bad.append(f"{src} (absent)")
        detected = sorted({e.name for e in build.ecosystems()})
        outcomes.append(Outcome(app, result, again, bad, detected))
    _CACHE["all"] = outcomes
    return outcomes


@pytest.fixture(scope="module")
def outcomes(corpus_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Outcome]:
    return _run(corpus_dir, tmp_path_factory.mktemp("apps"))


def test_no_crash_and_parses(outcomes: list[Outcome]) -> None:
    engine = [(o.app.dockerfile.name, d.message) for o in outcomes
              for d in o.result.diagnostics if d.code in ("DO001", "DO002", "DO003")]
    assert not engine, engine[:10]
    for o in outcomes:
        if o.result.changed:
            assert not parse(o.result.text).has_errors, o.app.dockerfile
    try:
        import dockerfile  # BuildKit's parser
    except ImportError:
        return
    for o in outcomes:
        try:
            dockerfile.parse_string(o.app.dockerfile.read_text(encoding="utf-8"))
        except Exception:
            continue  # BuildKit rejects the input already
        dockerfile.parse_string(o.result.text)


def test_second_run_changes_nothing(outcomes: list[Outcome]) -> None:
    unstable = [str(o.app.dockerfile) for o in outcomes
                if o.again.text != o.result.text or o.again.extra_files]
    assert not unstable, unstable[:10]


def test_no_copy_source_is_dockerignored(outcomes: list[Outcome]) -> None:
    bad = [(str(o.app.dockerfile), o.ignored_sources[:5]) for o in outcomes
           if o.ignored_sources]
    assert not bad, bad[:10]


def test_report_changes_and_ecosystems(outcomes: list[Outcome]) -> None:
    per_code: Counter[str] = Counter()
    for o in outcomes:
        for code in {c.code for c in o.result.changes}:
            per_code[code] += 1
    agree = sum(1 for o in outcomes if o.app.ecosystem in o.detected)
    missed = [(o.app.row["dockerfile_local"], o.app.ecosystem, o.detected)
              for o in outcomes if o.app.ecosystem not in o.detected]
    di = [o for o in outcomes if ".dockerignore" in o.result.extra_files]
    created = sum(1 for o in di if o.result.extra_files[".dockerignore"][0] is None)
    print(f"\n{len(outcomes)} apps; apps changed per transform: {dict(sorted(per_code.items()))}")
    print(f".dockerignore: {created} created, {len(di) - created} extended")
    print(f"ecosystem detected (APPS.tsv column among detected): {agree}/{len(outcomes)}")
    for m in missed:
        print("  differs:", m)
    assert agree >= 0.9 * len(outcomes)
