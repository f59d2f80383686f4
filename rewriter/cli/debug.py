"""`dockopt debug`: how dockopt parses a Dockerfile (the tree, BuildKit's view)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    pass
from dockopt.rewriter.cli.common import load_file, preview, print_line


@click.group()
def debug() -> None:
    """Inspect how dockopt parses a Dockerfile."""


@debug.command("tree")
@click.argument("file", type=click.Path(allow_dash=True, path_type=str))
def debug_tree(file: str) -> None:
    """Print every node of the lossless tree, then the diagnostics.

    Each line: kind, 1-based line span, char span, byte span (UTF-8), raw text.
    """
    text, tree = load_file(file)
    print_line(f"# bom={tree.bom!r} escape={tree.escape!r} newline={tree.newline!r}")
    # Byte offsets are computed incrementally: nodes come in file order.
    char_pos = byte_pos = 0
    for node in tree.items:
        byte_start = byte_pos + _utf8_len(text[char_pos : node.start])
        byte_end = byte_start + _utf8_len(text[node.start : node.end])
        char_pos, byte_pos = node.end, byte_end
        print_line(
            f"{node.kind:<11} lines {node.start_line}-{node.end_line}"
            f" chars {node.start}:{node.end} bytes {byte_start}:{byte_end}"
            f" {preview(node.text)}"
        )
    for diag in tree.diagnostics:
        print_line(f"{file}:{diag.line}:{diag.column}: {diag.code} {diag.message}")


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
    _, tree = load_file(file)
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
        print_line(json.dumps(records, indent=2, ensure_ascii=False))
        return
    for ins in tree.instructions:
        keyword = ins.keyword if ins.sub_keyword is None else f"{ins.keyword} {ins.sub_keyword}"
        print_line(
            f"{ins.start_line}-{ins.end_line} {keyword} flags={ins.flags!r}"
            f" json={ins.is_json} value={ins.value!r} heredocs={ins.heredocs!r}"
        )


