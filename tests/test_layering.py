"""The import rule of the layout (docs/architecture.md), checked on the source.

- The library (``dockopt.rewriter`` outside its front-end folders, and
  ``dockopt.transforms``) never imports a front end: ``cli``, ``bulk``, ``verify``,
  ``server``.
- The tree and what a file is checked against (syntax, buildkit, shell, edit, diff,
  context, compose, config, fileio, discover) never import the transforms or the
  engine: arrows point from transforms to the tree, never back.
- Transforms never import the engine (``pipeline``) or ``rules_doc``.

Every ``import`` counts, also the lazy ones inside functions, so a rule cannot be
dodged by moving an import into a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"rewriter": "dockopt.rewriter", "transforms": "dockopt.transforms"}
# `python -m dockopt.rewriter` (__main__) is an entry point of the CLI.
FRONT_ENDS = tuple(f"dockopt.rewriter.{name}" for name in (
    "cli", "bulk", "verify", "server", "__main__"))
TREE = tuple(f"dockopt.rewriter.{name}" for name in (
    "syntax", "buildkit", "shell", "edit", "diff", "context", "compose", "config", "fileio",
    "discover", "hadolint_config"))
ENGINE = ("dockopt.rewriter.pipeline", "dockopt.rewriter.rules_doc")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [PACKAGES[rel.parts[0]], *rel.parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every dockopt module ``source`` imports, at any depth (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from dockopt.rewriter import cli` imports the submodule cli.
            found.update(f"{target}.{a.name}" for a in node.names)
    return {name for name in found if name.startswith("dockopt.")}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for folder in PACKAGES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            module = _module_name(path)
            graph[module] = _imports(path.read_text(encoding="utf-8"), module,
                                     path.name == "__init__.py")
    return graph


def _within(module: str, roots: tuple[str, ...]) -> bool:
    return any(module == r or module.startswith(r + ".") for r in roots)


GRAPH = _graph()


def test_the_walk_sees_the_whole_tree() -> None:
    # A broken walk must fail loudly instead of checking nothing.
    assert len(GRAPH) > 60
    assert "dockopt.transforms.split.single_stage" in GRAPH
    assert "dockopt.rewriter.cli.common" in GRAPH["dockopt.rewriter.cli.fix"]
    assert "dockopt.transforms" in GRAPH["dockopt.rewriter.pipeline"]


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if not _within(m, FRONT_ENDS)))
def test_library_never_imports_a_front_end(module: str) -> None:
    bad = sorted(d for d in GRAPH[module] if _within(d, FRONT_ENDS))
    assert not bad, f"{module} imports front ends {bad}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _within(m, TREE)))
def test_tree_never_imports_transforms_or_the_engine(module: str) -> None:
    bad = sorted(d for d in GRAPH[module]
                 if _within(d, ("dockopt.transforms",)) or _within(d, ENGINE))
    assert not bad, f"{module} imports {bad}"


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _within(m, ("dockopt.transforms",))))
def test_transforms_never_import_the_engine(module: str) -> None:
    bad = sorted(d for d in GRAPH[module] if _within(d, ENGINE))
    assert not bad, f"{module} imports {bad}"


def test_the_checker_finds_lazy_and_relative_imports() -> None:
    lazy = "def f():\n    from dockopt.rewriter.cli import common\n"
    assert "dockopt.rewriter.cli.common" in _imports(lazy, "dockopt.rewriter.pipeline")
    relative = "from ..cli import fix\n"
    assert "dockopt.rewriter.cli.fix" in _imports(relative, "dockopt.rewriter.bulk.runner")
    plain = "import dockopt.rewriter.verify.session as s\n"
    assert _within(next(iter(_imports(plain, "dockopt.transforms.base"))), FRONT_ENDS)
