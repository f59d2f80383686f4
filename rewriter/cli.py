"""The `dockopt` command line.

Start-up cost matters (editors run `dockopt` often), so this module imports only
click at load time; the parser is imported inside the commands that need it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, NoReturn, TextIO

import click

if TYPE_CHECKING:
    from dockopt.rewriter.syntax import Dockerfile

VERSION = "0.1.0"
# Long raw texts are cut in `debug tree` so one node stays on one screen line.
_TEXT_PREVIEW = 60


def _write(stream: TextIO, text: str) -> None:
    """Write *text* as UTF-8, turning lone surrogates back into the bytes they came from.

    Input is decoded with surrogateescape, so any byte sequence round-trips through
    the tool; a text stream would reject those surrogates.
    """
    stream.flush()
    stream.buffer.write(text.encode("utf-8", "surrogateescape"))
    stream.buffer.flush()


def _out(line: str = "") -> None:
    _write(sys.stdout, line + "\n")


def _fail(message: str, code: int = 2) -> NoReturn:
    _write(sys.stderr, f"dockopt: error: {message}\n")
    sys.exit(code)


def _read_text(path: str) -> str:
    """Read FILE (or stdin for `-`) as bytes and decode losslessly."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            _fail(f"{path}: {exc.strerror or exc}")
    return data.decode("utf-8", "surrogateescape")


def _load(path: str) -> tuple[str, Dockerfile]:
    """Read and parse FILE; the parser is imported here, not at start-up."""
    from dockopt.rewriter.syntax import parse

    text = _read_text(path)
    return text, parse(text)


def _preview(text: str) -> str:
    if len(text) > _TEXT_PREVIEW:
        return repr(text[:_TEXT_PREVIEW]) + f"...(+{len(text) - _TEXT_PREVIEW} chars)"
    return repr(text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    VERSION, "--version", "-V", prog_name="dockopt", message="%(prog)s %(version)s"
)
def main() -> None:
    """dockopt: rewrite Dockerfiles for faster, smaller, safer images."""


@main.group()
def debug() -> None:
    """Inspect how dockopt parses a Dockerfile."""


@debug.command("tree")
@click.argument("file", type=click.Path(allow_dash=True, path_type=str))
def debug_tree(file: str) -> None:
    """Print every node of the lossless tree, then the diagnostics.

    Each line: kind, 1-based line span, char span, byte span (UTF-8), raw text.
    """
    text, tree = _load(file)
    _out(f"# bom={tree.bom!r} escape={tree.escape!r} newline={tree.newline!r}")
    # Byte offsets are computed incrementally: nodes come in file order.
    char_pos = byte_pos = 0
    for node in tree.items:
        byte_start = byte_pos + _utf8_len(text[char_pos : node.start])
        byte_end = byte_start + _utf8_len(text[node.start : node.end])
        char_pos, byte_pos = node.end, byte_end
        _out(
            f"{node.kind:<11} lines {node.start_line}-{node.end_line}"
            f" chars {node.start}:{node.end} bytes {byte_start}:{byte_end}"
            f" {_preview(node.text)}"
        )
    for diag in tree.diagnostics:
        _out(f"{file}:{diag.line}:{diag.column}: {diag.code} {diag.message}")


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


@debug.command("semantic")
@click.argument("file", type=click.Path(allow_dash=True, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
def debug_semantic(file: str, fmt: str) -> None:
    """Print what BuildKit's parser sees: one line (or JSON object) per instruction."""
    _, tree = _load(file)
    if fmt == "json":
        records = [
            {
                "keyword": ins.keyword,
                "sub_keyword": ins.sub_keyword,
                "start_line": ins.start_line,
                "end_line": ins.end_line,
                "flags": list(ins.flags),
                "json": ins.is_json,
                "value": list(ins.value),
                "heredocs": [[name, content] for name, content in ins.heredocs],
                "original": ins.original,
            }
            for ins in tree.instructions
        ]
        _out(json.dumps(records, indent=2, ensure_ascii=False))
        return
    for ins in tree.instructions:
        keyword = ins.keyword if ins.sub_keyword is None else f"{ins.keyword} {ins.sub_keyword}"
        _out(
            f"{ins.start_line}-{ins.end_line} {keyword} flags={ins.flags!r}"
            f" json={ins.is_json} value={ins.value!r} heredocs={ins.heredocs!r}"
        )
