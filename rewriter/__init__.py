"""dockopt.rewriter: lossless Dockerfile syntax tree, shell view, and the fix engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockopt.rewriter.pipeline import FixResult, check, fix
    from dockopt.rewriter.syntax import Diagnostic, Dockerfile, Instruction, parse

__all__ = ["Diagnostic", "Dockerfile", "FixResult", "Instruction", "check", "fix", "parse"]
_PIPELINE = frozenset({"FixResult", "check", "fix"})
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy re-exports (PEP 562): `import dockopt.rewriter.cli.main` for `dockopt --version`
    # must not pay for importing the parser.
    if name in _PIPELINE:
        from dockopt.rewriter import pipeline

        return getattr(pipeline, name)
    if name in __all__:
        from dockopt.rewriter import syntax

        return getattr(syntax, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
