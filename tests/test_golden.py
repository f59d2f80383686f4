"""Golden before/after cases, compared byte for byte.

Layout: ``golden/<transform-name>/<case>/Dockerfile`` with ``expected.Dockerfile``
(absent: the input must come out unchanged), optional ``options.toml`` (settings as
in ``.dockopt.toml``; by default only the folder's transform is selected and unsafe
fixes are on), optional ``context/`` and optional ``expected.dockerignore`` (the
``.dockerignore`` the fix writes into the context; absent: it must not change).
Other context files a fix writes are compared with ``expected-files/<path>``.
An optional ``dockerfile-path`` file names where, inside ``context/``, the
Dockerfile is built from (default: the case folder, outside the context).
``DOCKOPT_UPDATE_GOLDEN=1`` rewrites the expectations; review the result in git.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest

from dockopt.rewriter.config import Settings, settings_from_dict
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import fix
from dockopt.rewriter.syntax import parse
from dockopt.transforms import REGISTRY

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("DOCKOPT_UPDATE_GOLDEN") == "1"


def _cases() -> list[Path]:
    return sorted(p.parent for p in GOLDEN.glob("*/*/Dockerfile"))


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(case: Path, tmp_path: Path) -> None:
    name = case.parent.name
    by_name = {cls.name: cls for cls in REGISTRY}
    assert name in by_name, f"golden/{name} does not name a registered transform"
    options: dict[str, object] = {"select": [by_name[name].code], "unsafe-fixes": True}
    if (case / "options.toml").exists():
        options.update(tomllib.loads((case / "options.toml").read_text()))
    settings = settings_from_dict(options, str(case / "options.toml"))
    text = _read(case / "Dockerfile")
    context = case / "context" if (case / "context").is_dir() else None
    result = fix(text, path="Dockerfile", settings=settings, context=_build(case, context))
    assert not result.errors, result.errors
    expected_path = case / "expected.Dockerfile"
    if UPDATE:
        if result.text != text:
            expected_path.write_bytes(result.text.encode("utf-8", "surrogateescape"))
        elif expected_path.exists():
            expected_path.unlink()
    expected = _read(expected_path) if expected_path.exists() else text
    assert result.text == expected
    if result.text != text:
        # The output parses cleanly, a second run changes nothing, and every applied
        # step explains itself.
        assert not parse(result.text).has_errors
        again = fix(result.text, path="Dockerfile", settings=settings,
                    context=_build(case, context))
        assert again.text == result.text, "not idempotent"
        assert all(c.explanation and c.diff for c in result.changes)
    _check_dockerignore(case, result.extra_files, text, settings, context, tmp_path)


def _build(case: Path, context: Path | None) -> BuildContext | None:
    """The case's build context; the Dockerfile sits in the case folder, outside it,
    unless ``dockerfile-path`` places it inside the context."""
    if context is None:
        return None
    where = case / "dockerfile-path"
    if where.exists():
        return BuildContext(context, dockerfile=str(context / where.read_text().strip()))
    return BuildContext(context, dockerfile=str(case / "Dockerfile"))


def _check_dockerignore(case: Path, extra: dict[str, tuple[str | None, str]], text: str,
                        settings: Settings, context: Path | None, tmp_path: Path) -> None:
    """The .dockerignore the fix writes matches ``expected.dockerignore`` (or none is
    written), and with it in place a second run changes nothing more."""
    others = {rel: new for rel, (_old, new) in extra.items() if rel != ".dockerignore"}
    folder = case / "expected-files"
    if UPDATE:
        if folder.exists():
            shutil.rmtree(folder)
        for rel, new in others.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(new.encode("utf-8", "surrogateescape"))
    wanted = {p.relative_to(folder).as_posix(): _read(p) for p in folder.rglob("*")
              if p.is_file()} if folder.exists() else {}
    assert others == wanted
    expected_path = case / "expected.dockerignore"
    written = extra.get(".dockerignore")
    if UPDATE:
        if written is not None:
            expected_path.write_bytes(written[1].encode("utf-8", "surrogateescape"))
        elif expected_path.exists():
            expected_path.unlink()
    if not expected_path.exists():
        assert written is None, f"unexpected .dockerignore change:\n{written and written[1]}"
    else:
        assert written is not None, "expected a .dockerignore change"
        assert written[1] == _read(expected_path)
    if not extra:
        return
    assert context is not None
    again_ctx = tmp_path / "context"
    shutil.copytree(context, again_ctx, symlinks=True)
    for rel, (_old, new) in extra.items():
        (again_ctx / rel).write_bytes(new.encode("utf-8", "surrogateescape"))
    again = fix(text, path="Dockerfile", settings=settings, context=_build(case, again_ctx))
    assert not again.extra_files, "the context-file fix is not idempotent"


def test_every_transform_has_golden_cases() -> None:
    have = {p.parent.name for p in _cases()}
    fixable = {cls.name for cls in REGISTRY if cls.fix_title is not None}
    missing = sorted(fixable - have)
    assert not missing, f"transforms without golden cases: {missing}"


def test_registry_is_complete_and_unique() -> None:
    import importlib
    import inspect
    import pkgutil

    import dockopt.transforms as pkg
    from dockopt.transforms.base import Transform

    defined: set[type[Transform]] = set()
    for info in pkgutil.walk_packages(pkg.__path__, prefix="dockopt.transforms."):
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, Transform) and obj is not Transform and \
                    obj.__module__ == module.__name__ and hasattr(obj, "code"):
                defined.add(obj)
    # Equality, not a subset: a walk that found no module must fail, not pass.
    assert defined == set(REGISTRY), f"not registered: {defined - set(REGISTRY)}"
    codes = [cls.code for cls in REGISTRY]
    names = [cls.name for cls in REGISTRY]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    for cls in REGISTRY:
        doc = cls.__doc__ or ""
        for section in ("What it does", "Why", "Example", "Fix safety", "References"):
            assert section in doc, f"{cls.code} docstring lacks '{section}'"
