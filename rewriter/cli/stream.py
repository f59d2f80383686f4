"""`check`'s output written file by file, as each file's turn comes (issue 15: the
memory of a run stays flat over 100,000 files).

Each format is a :class:`Renderer`: ``file(report)`` writes what one file adds, and
``close(notifications)`` what only the end knows.  The result is byte for byte what
the whole-run formatters of :mod:`output` return for the same reports (they stay
the reference; ``tests/test_cli_stream.py`` compares the two):

* text, concise, full, github, json-lines: a file's lines depend on that file alone.
* json, gitlab: the items of one JSON array, each indented as ``json.dumps`` of the
  whole array indents it; the brackets are written around them.
* checkstyle: a fixed header, a block per file, a fixed footer.
* sarif, junit: their header holds what only the end knows (the invocation's
  notifications and success; the test and failure totals), so the items are spooled
  to a temporary file and copied out after the header.
* ``--statistics`` and the summary line: counters (:class:`Tally`).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, BinaryIO

from dockopt.rewriter.cli import output
from dockopt.rewriter.cli.output import FileReport

if TYPE_CHECKING:
    from pathlib import Path

    from dockopt.transforms.base import Transform

Write = Callable[[str], None]


class Sink:
    """Where the report goes: stdout, written as it comes, or ``-o FILE``, written
    into a temporary file beside it that replaces it when the run ends (never half
    a report).  A failure to write is kept in ``error`` (the run goes on, as when the
    whole report was written at the end) and the file is left as it was."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.error: str | None = None
        self._stack = contextlib.ExitStack()
        self._handle: BinaryIO | None = None
        if path is not None:
            from dockopt.rewriter.fileio import atomic_writer

            try:
                self._handle = self._stack.enter_context(atomic_writer(str(path)))
            except OSError as exc:
                self._fail(exc)

    def write(self, text: str) -> None:
        if not text:
            return
        # Lone surrogates are the undecodable bytes of the input (surrogateescape).
        data = text.encode("utf-8", "surrogateescape")
        if self.path is None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        elif self._handle is not None:
            try:
                self._handle.write(data)
            except OSError as exc:
                self._fail(exc)

    def close(self) -> None:
        """Put the file in place (nothing to do for stdout)."""
        if self._handle is not None:
            self._handle = None
            try:
                self._stack.close()
            except OSError as exc:
                self._fail(exc)

    def _fail(self, exc: OSError) -> None:
        self.error = f"{self.path}: cannot write: {exc.strerror or exc}"
        if self._handle is not None:
            self._handle = None
            # The writer removes its temporary file and re-raises what it was given.
            with contextlib.suppress(OSError):
                self._stack.__exit__(type(exc), exc, exc.__traceback__)


class Tally:
    """What the summary line and ``--statistics`` need from all the findings: counts,
    never the findings themselves."""

    def __init__(self, unsafe_fixes: bool) -> None:
        self.unsafe_fixes = unsafe_fixes
        self.findings = self.fixable = self.held = 0
        self.any_unsafe = False
        self.counts: Counter[str] = Counter()
        self.names: dict[str, str] = {}
        self.code_fixable: dict[str, bool] = {}

    def add(self, report: FileReport) -> None:
        from dockopt.transforms.base import Safety

        for f in report.findings:
            self.findings += 1
            can = output.applicable(f.fix, self.unsafe_fixes)
            self.fixable += can
            self.held += output.hidden(f.fix, self.unsafe_fixes)
            self.any_unsafe = self.any_unsafe or (f.fix is not None
                                                  and f.fix.safety == Safety.UNSAFE)
            self.counts[f.code] += 1
            self.names[f.code] = f.name
            self.code_fixable[f.code] = self.code_fixable.get(f.code, False) or can

    def summary(self) -> str:
        """``output.check_summary`` of the same reports."""
        if not self.findings:
            return "All checks passed!\n"
        noun = "issue" if self.findings == 1 else "issues"
        lines = [f"Found {self.findings} {noun}."]
        if self.fixable:
            lines.append(f"[*] {self.fixable} fixable with `dockopt fix`"
                         + (" --unsafe-fixes" if self.unsafe_fixes and self.any_unsafe
                            else "") + ".")
        if self.held:
            lines.append(output.hidden_line(self.held))
        return "".join(line + "\n" for line in lines)

    def statistics(self, as_json: bool) -> str:
        """``output.format_statistics`` of the same reports."""
        rows = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if as_json:
            return json.dumps([{"code": code, "name": self.names[code], "count": n,
                                "fixable": self.code_fixable[code]} for code, n in rows],
                              indent=2) + "\n"
        if not rows:
            return ""
        count_w = max(len(str(n)) for _, n in rows)
        code_w = max(len(code) for code, _ in rows)
        any_fixable = any(self.code_fixable.values())
        out = []
        for code, n in rows:
            mark = ("[*] " if self.code_fixable[code] else "    ") if any_fixable else ""
            out.append(f"{n:>{count_w}}\t{code:<{code_w}}\t{mark}{self.names[code]}\n")
        return "".join(out)


def json_item(value: Any, level: int) -> str:
    """``value`` as ``json.dumps(..., indent=2)`` writes it as an item ``level`` deep
    in an enclosing document (raw newlines only occur between tokens: JSON escapes
    them inside strings)."""
    pad = "  " * level
    return pad + json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + pad)


class JsonArray:
    """The items of a JSON array ``level`` deep, written one at a time: ``[``, the
    items, and on ``close`` ``]`` (``[]`` when there were none)."""

    def __init__(self, write: Write, level: int) -> None:
        self.write = write
        self.level = level
        self.count = 0

    def add(self, value: Any) -> None:
        self.write((",\n" if self.count else "\n") + json_item(value, self.level + 1))
        self.count += 1

    def close(self) -> None:
        self.write("\n" + "  " * self.level + "]" if self.count else "]")


class Renderer:
    """One output format, written file by file."""

    def file(self, report: FileReport) -> None:
        raise NotImplementedError

    def close(self, notifications: Sequence[tuple[str, str]]) -> None:
        """Write the rest; ``notifications`` are the engine errors (path, message)."""


class _PerFile(Renderer):
    """Formats whose text is the concatenation of each file's own text."""

    def __init__(self, write: Write, render: Callable[[list[FileReport]], str]) -> None:
        self.write = write
        self.render = render

    def file(self, report: FileReport) -> None:
        self.write(self.render([report]))


class _Json(Renderer):
    """A JSON array of items made per file (json's records, gitlab's issues)."""

    def __init__(self, write: Write, items: Callable[[FileReport], list[Any]]) -> None:
        self.write = write
        self.items = items
        self.array = JsonArray(write, 0)
        write("[")

    def file(self, report: FileReport) -> None:
        for item in self.items(report):
            self.array.add(item)

    def close(self, notifications: Sequence[tuple[str, str]]) -> None:
        self.array.close()
        self.write("\n")


class _Checkstyle(Renderer):
    def __init__(self, write: Write) -> None:
        self.write = write
        write('<?xml version="1.0" encoding="UTF-8"?>\n<checkstyle version="4.3">\n')

    def file(self, report: FileReport) -> None:
        self.write("".join(line + "\n" for line in output.checkstyle_file(report)))

    def close(self, notifications: Sequence[tuple[str, str]]) -> None:
        self.write("</checkstyle>\n")


class _Spooled(Renderer):
    """Items kept in a temporary file (on disk, not in memory) until the header that
    precedes them can be written."""

    def __init__(self, write: Write) -> None:
        import tempfile  # only sarif and junit need it: not on every check's start-up path

        self.write = write
        # Closed by copy_spool; on POSIX it has no name, so nothing is left behind.
        self.spool: IO[str] = tempfile.TemporaryFile(  # noqa: SIM115
            "w+", encoding="utf-8", errors="surrogateescape")

    def _spool_write(self, text: str) -> None:
        self.spool.write(text)

    def copy_spool(self) -> None:
        self.spool.seek(0)
        while chunk := self.spool.read(1 << 16):
            self.write(chunk)
        self.spool.close()


class _Junit(_Spooled):
    def __init__(self, write: Write) -> None:
        super().__init__(write)
        self.total = self.failures = 0

    def file(self, report: FileReport) -> None:
        self.total += max(1, len(report.findings))
        self.failures += len(report.findings)
        self.spool.write("".join(line + "\n" for line in output.junit_suite(report)))

    def close(self, notifications: Sequence[tuple[str, str]]) -> None:
        self.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="dockopt" '
                   f'tests="{self.total}" failures="{self.failures}" errors="0">\n')
        self.copy_spool()
        self.write("</testsuites>\n")


# The results array's place in the SARIF document (the run's last key).
_SARIF_RESULTS = '"results": []'


class _Sarif(_Spooled):
    def __init__(self, write: Write, rules: Sequence[type[Transform]], version: str) -> None:
        super().__init__(write)
        self.rules = sorted(rules, key=lambda cls: cls.code)
        self.rule_index = {cls.code: i for i, cls in enumerate(self.rules)}
        self.version = version
        self.results = JsonArray(self._spool_write, 3)

    def file(self, report: FileReport) -> None:
        for result in output.sarif_results(report, self.rule_index):
            self.results.add(result)

    def close(self, notifications: Sequence[tuple[str, str]]) -> None:
        empty = output.format_sarif([], self.rules, version=self.version,
                                    notifications=notifications)
        head, found, tail = empty.rpartition(_SARIF_RESULTS)
        assert found, "the SARIF document has no results array"
        self.write(head + '"results": [')
        self.results.close()
        self.copy_spool()
        self.write(tail)


def renderer(output_format: str, write: Write, *, color: bool, unsafe_fixes: bool,
             rules: Sequence[type[Transform]], version: Callable[[], str]) -> Renderer:
    """The streaming renderer of ``output_format`` (check's formats)."""
    if output_format in ("text", "concise"):
        concise = output_format == "concise"
        return _PerFile(write, lambda rs: output.format_text(
            rs, color=color, unsafe_fixes=unsafe_fixes, concise=concise))
    if output_format == "full":
        return _PerFile(write, lambda rs: output.format_full(
            rs, color=color, unsafe_fixes=unsafe_fixes))
    if output_format == "github":
        return _PerFile(write, output.format_github)
    if output_format == "json-lines":
        return _PerFile(write, output.format_json_lines)
    if output_format == "json":
        return _Json(write, output.json_records)
    if output_format == "gitlab":
        return _Json(write, output.gitlab_issues)
    if output_format == "checkstyle":
        return _Checkstyle(write)
    if output_format == "junit":
        return _Junit(write)
    if output_format == "sarif":
        return _Sarif(write, rules, version())
    raise ValueError(f"unknown output format {output_format!r}")
