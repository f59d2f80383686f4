"""The parser's diagnostics: what BuildKit would reject or warn about, by stable code.

Apart from the parser (``syntax``, which re-exports them) because the results cache
stores them with each file's findings: reading an answer back must not load the
parser.
"""

from __future__ import annotations

from typing import Literal

from dockopt.rewriter.records import dataclass

Severity = Literal["error", "warning", "info"]

# Parser diagnostics. Codes are stable.
UNKNOWN_INSTRUCTION = "DP101"
REJECTED_INSTRUCTION = "DP102"
UNTERMINATED_HEREDOC = "DP103"
BAD_DIRECTIVE = "DP104"
LINE_TOO_LONG = "DP105"
EMPTY_CONTINUATION = "DP106"
NO_INSTRUCTIONS = "DP107"
INVALID_UTF8 = "DP108"
# Not parsed at all: the file holds binary data (a NUL byte), so it is no Dockerfile
# (the CLI reports it; BuildKit would fail on it with a confusing error).
NOT_TEXT = "DP109"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found while parsing: BuildKit would reject it, or warn."""

    code: str
    line: int
    column: int
    message: str
    severity: Severity = "error"

    def format(self, path: str = "-") -> str:
        return f"{path}:{self.line}:{self.column}: {self.code} {self.message}"
