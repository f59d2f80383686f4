"""Module-level patterns compiled on first use (rewriter/lazy_re.py, issue 15's start-up)."""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dockopt.rewriter
import dockopt.transforms
from dockopt.rewriter.lazy_re import LazyPattern, lazy

# Packages whose modules are not on the check/fix path keep plain re.compile.
OFF_PATH = ("dockopt.rewriter.server", "dockopt.rewriter.bulk", "dockopt.rewriter.verify")


def _modules() -> list[str]:
    names = []
    for pkg in (dockopt.rewriter, dockopt.transforms):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if not info.name.startswith(OFF_PATH):
                names.append(info.name)
    return names


def _lazy_patterns() -> list[tuple[str, LazyPattern]]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, LazyPattern) and value.__module__ == LazyPattern.__module__:
                found.append((f"{name}.{attr}", value))
    return found


def test_every_lazy_pattern_of_the_package_compiles() -> None:
    # A typo in a lazy pattern would only show at its first use: compile them all here.
    found = _lazy_patterns()
    assert len(found) > 80, len(found)  # the walk did find the package's patterns
    for where, pattern in found:
        try:
            pattern.compiled()
        except re.error as exc:  # pragma: no cover - the failure message is the point
            pytest.fail(f"{where}: {exc}")


def test_a_lazy_pattern_behaves_as_the_compiled_one() -> None:
    source, flags = r"(?P<name>[a-z]+)=(\d+)", re.IGNORECASE
    real, deferred = re.compile(source, flags), lazy(source, flags)
    text = "A=1 b=22 c=x"
    assert deferred.search(text).group("name") == real.search(text).group("name")  # type: ignore[union-attr]
    assert deferred.findall(text) == real.findall(text)
    assert [m.span() for m in deferred.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert deferred.sub(r"\2", text) == real.sub(r"\2", text)
    assert deferred.split(text) == real.split(text)
    assert deferred.fullmatch("ab=3") is not None and deferred.match("=") is None
    assert (deferred.pattern, deferred.flags, deferred.groups, deferred.groupindex) == \
        (real.pattern, real.flags, real.groups, real.groupindex)


def test_after_the_first_call_methods_are_the_compiled_patterns_own() -> None:
    deferred = lazy(r"\d+")
    assert deferred.match("12") is not None
    # The bound C method sits in the slot: no Python frame between caller and re.
    assert deferred.match.__self__ is re.compile(r"\d+")  # type: ignore[attr-defined]


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        lazy("x").scanner  # type: ignore[attr-defined]  # noqa: B018


def test_importing_every_transform_compiles_no_pattern_of_ours(tmp_path: Path) -> None:
    # Run in a fresh interpreter: which dockopt module compiles a regex at import?
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, re, sys\n"
        "seen = []\n"
        "real = re.compile\n"
        "def spy(*args, **kwargs):\n"
        "    caller = sys._getframe(1)\n"
        "    if caller.f_code.co_name == '<module>' and "
        "caller.f_globals.get('__name__', '').startswith('dockopt'):\n"
        "        seen.append(caller.f_globals['__name__'])\n"
        "    return real(*args, **kwargs)\n"
        "re.compile = spy\n"
        "import dockopt.transforms.base, dockopt.rewriter.pipeline, dockopt.rewriter.cli.fix\n"
        "import dockopt.rewriter.cli.check, dockopt.rewriter.cli.output\n"
        "print(json.dumps(sorted(set(seen))))\n")
    done = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True,
                          check=True)
    eager = json.loads(done.stdout)
    # What is still compiled at import, and why: patterns kept in dicts (the
    # continuation patterns per escape character, apt's provided-by table) and one
    # bytes pattern, which lazy() does not type.
    assert set(eager) <= {"dockopt.rewriter.syntax", "dockopt.transforms.packages.apt_recommends",
                          "dockopt.transforms.instructions.add_copy"}, eager


def test_no_module_of_the_check_and_fix_path_compiles_a_str_pattern_at_import() -> None:
    # The probe above sees the modules the fix path imports first; this sees the ones
    # imported later (the split families, on demand) by reading the source.
    root = Path(dockopt.rewriter.__file__).resolve().parent.parent
    eager = re.compile(r"^\w+(\s*:[^=\n]+)?\s*=\s*re\.compile\((?!\s*r?b[\"'])", re.M)
    found = []
    for folder in ("rewriter", "transforms"):
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(("rewriter/server/", "rewriter/bulk/", "rewriter/verify/")):
                continue
            found += [f"{rel}:{m.group(0)}" for m in eager.finditer(path.read_text())]
    assert found == [], found
