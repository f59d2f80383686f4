"""The `dockopt` command line: --version and the debug commands."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dockopt.rewriter.cli.main import main

DOCKERFILE = (
    "# syntax=docker/dockerfile:1\n"
    "FROM alpine:3.20 AS base\n"
    "# install tools\n"
    "RUN --mount=type=cache,target=/var/cache/apk \\\n"
    "    apk add curl\n"
    "\n"
    'CMD ["sh", "-c", "echo hi"]\n'
    "ONBUILD RUN make\n"
)


@pytest.fixture
def dockerfile(tmp_path: Path) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_bytes(DOCKERFILE.encode())
    return path


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0
    assert out == "dockopt 0.1.0\n"


def test_version_does_not_import_the_parser() -> None:
    # Start-up speed: `dockopt --version` must not load the parser or tree-sitter.
    script = (
        "import sys\n"
        "from dockopt.rewriter.cli.main import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('dockopt.rewriter.syntax', 'tree_sitter', 'jinja2')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == ["dockopt 0.1.0", "HEAVY []"]


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dockopt.rewriter", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout == "dockopt 0.1.0\n"


def test_debug_tree(dockerfile: Path) -> None:
    code, out, _ = run("debug", "tree", str(dockerfile))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "# bom='' escape='\\\\' newline='\\n'"
    body = [line for line in lines[1:] if not line.startswith(str(dockerfile))]
    kinds = [line.split()[0] for line in body]
    assert kinds[0] == "directive"
    assert "blank" in kinds
    assert kinds.count("instruction") == 4
    # The comment above RUN may be its own node or owned by the RUN (PrevComment).
    run_line = next(line for line in body if "RUN --mount" in line)
    assert run_line.split()[1:3] in (["lines", "3-5"], ["lines", "4-5"])
    # Every node's char span is printed, and the spans tile the file without gaps.
    spans = [line.split(" chars ")[1].split()[0] for line in body]
    starts_ends = [tuple(int(x) for x in span.split(":")) for span in spans]
    assert starts_ends[0][0] == 0
    assert starts_ends[-1][1] == len(DOCKERFILE)
    for (_, end), (start, _) in itertools.pairwise(starts_ends):
        assert end == start


def test_debug_tree_byte_span_counts_utf8(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes("LABEL a=\u00e9\u00e9\nFROM x\n".encode())
    code, out, _ = run("debug", "tree", str(path))
    assert code == 0
    nodes = [line for line in out.splitlines() if line.startswith("instruction")]
    assert " chars 0:11 bytes 0:13 " in nodes[0]
    assert " chars 11:18 bytes 13:20 " in nodes[1]


def test_debug_tree_truncates_long_text(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("RUN " + "x" * 200 + "\n")
    code, out, _ = run("debug", "tree", str(path))
    assert code == 0
    node = next(line for line in out.splitlines() if line.startswith("instruction"))
    assert "x" * 200 not in node
    assert "...(+" in node


def test_debug_tree_prints_diagnostics(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine\nNOTANINSTRUCTION foo\n")
    code, out, _ = run("debug", "tree", str(path))
    assert code == 0
    from dockopt.rewriter.syntax import parse

    expected = [
        f"{path}:{d.line}:{d.column}: {d.code} {d.message}"
        for d in parse(path.read_text()).diagnostics
    ]
    assert expected, "an unknown instruction must produce a diagnostic"
    assert expected[0].startswith(f"{path}:2:")
    assert out.splitlines()[-len(expected) :] == expected


def test_debug_semantic_text(dockerfile: Path) -> None:
    code, out, _ = run("debug", "semantic", str(dockerfile))
    assert code == 0
    assert out.splitlines() == [
        "2-2 FROM flags=() json=False value=('alpine:3.20', 'AS', 'base') heredocs=()",
        "4-5 RUN flags=('--mount=type=cache,target=/var/cache/apk',) json=False"
        " value=('apk add curl',) heredocs=()",
        "7-7 CMD flags=() json=True value=('sh', '-c', 'echo hi') heredocs=()",
        "8-8 ONBUILD RUN flags=() json=False value=('make',) heredocs=()",
    ]


def test_debug_semantic_json(dockerfile: Path) -> None:
    code, out, _ = run("debug", "semantic", "--format", "json", str(dockerfile))
    assert code == 0
    records = json.loads(out)
    assert [r["keyword"] for r in records] == ["FROM", "RUN", "CMD", "ONBUILD"]
    assert set(records[0]) == {
        "keyword",
        "sub_keyword",
        "start_line",
        "end_line",
        "flags",
        "json",
        "value",
        "heredocs",
        "original",
    }
    run_record = records[1]
    assert run_record["start_line"] == 4
    assert run_record["end_line"] == 5
    assert run_record["flags"] == ["--mount=type=cache,target=/var/cache/apk"]
    assert run_record["json"] is False
    assert run_record["heredocs"] == []
    assert records[2]["json"] is True
    assert records[2]["value"] == ["sh", "-c", "echo hi"]
    assert records[3]["sub_keyword"] == "RUN"
    assert records[0]["sub_keyword"] is None


def test_debug_semantic_heredoc(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM alpine\nRUN <<EOF\necho hi\nEOF\n")
    code, out, _ = run("debug", "semantic", "--format", "json", str(path))
    assert code == 0
    heredoc_run = json.loads(out)[1]
    assert heredoc_run["heredocs"] == [["EOF", "echo hi\n"]]


def test_stdin(dockerfile: Path) -> None:
    code, out, _ = run("debug", "semantic", "-", input=dockerfile.read_bytes())
    assert code == 0
    assert out.splitlines()[0].startswith("2-2 FROM ")


def test_invalid_utf8_round_trips_to_output(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_bytes(b"FROM alpine\nRUN echo \xff\xfe\n")
    result = CliRunner().invoke(main, ["debug", "semantic", "--format", "json", str(path)])
    assert result.exit_code == 0
    # The undecodable bytes come out exactly as they went in, not as \udcff escapes.
    assert b'"original": "RUN echo \xff\xfe"' in result.stdout_bytes


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "Dockerfile"
    code, out, err = run("debug", "tree", str(missing))
    assert code == 2
    assert out == ""
    assert err == f"dockopt: error: {missing}: No such file or directory\n"
    code, _, err = run("debug", "semantic", str(missing))
    assert code == 2
    assert "No such file or directory" in err


def test_fix_uses_the_dockerfiles_folder_as_context_and_writes_dockerignore(
        tmp_path: Path) -> None:
    """With the real rules: the build context defaults to the Dockerfile's folder, and
    `fix` writes the new .dockerignore next to it (atomically, as a new file)."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "a", "version": "1.0.0"}\n')
    (app / "server.js").write_text("console.log('hi')\n")
    (app / "Dockerfile").write_text(
        "FROM node:18\nWORKDIR /app\nCOPY . .\nRUN npm install\nCMD [\"node\", \"server.js\"]\n")
    code, _out, err = run("fix", "--unsafe-fixes", "--select", "DO603", str(app / "Dockerfile"))
    assert code in (0, 1), err
    ignore = (app / ".dockerignore").read_text()
    assert ignore.startswith("# Generated by dockopt")
    assert "node_modules" in ignore  # `npm install` makes its own in the image
    assert "server.js" not in ignore and "package.json" not in ignore
    assert sorted(p.name for p in app.iterdir()) == [
        ".dockerignore", "Dockerfile", "package.json", "server.js"]
    # --diff shows it as a new file and writes nothing.
    (app / ".dockerignore").unlink()
    code, out, _err = run("fix", "--diff", "--unsafe-fixes", "--select", "DO603",
                          str(app / "Dockerfile"))
    assert code == 1 and "new file mode 100644" in out and "+++ b/" in out
    assert not (app / ".dockerignore").exists()


# An apt cleanup (safe fix) plus findings that have no automatic fix (DO501, DO502).
REMAINING = ('FROM debian\nRUN apt-get update && apt-get install -y curl\n'
             'CMD ["curl", "--version"]\n')


def test_fix_exit_zero(tmp_path: Path) -> None:
    """`fix --exit-zero` (as ruff's): 0 whenever nothing failed, even with findings left,
    a diff printed or --exit-non-zero-on-fix; still 2 on an error."""
    path = tmp_path / "Dockerfile"
    path.write_text(REMAINING)
    code, out, _ = run("fix", "--diff", str(path))
    assert code == 1 and "rm -rf /var/lib/apt/lists" in out
    code, out, _ = run("fix", "--diff", "--exit-zero", str(path))
    assert code == 0 and "rm -rf /var/lib/apt/lists" in out  # the diff is still printed
    assert path.read_text() == REMAINING  # --diff still writes nothing
    code, out, _ = run("fix", "--exit-zero", "--exit-non-zero-on-fix", str(path))
    assert code == 0
    assert "rm -rf /var/lib/apt/lists" in path.read_text()  # the fix was written
    assert "DO502" in out  # and what remains is still reported (stdout, as check)
    code, out, _ = run("fix", str(path))
    assert code == 1 and "DO502" in out  # without the flag: findings remain -> 1
    assert run("fix", "--exit-zero", str(path))[0] == 0
    # a file BuildKit rejects is a finding like the others (exit 1, --exit-zero: 0);
    # errors are not hidden: a missing path
    path.write_text("FROM debian\nRUN <<EOF\necho never ends\n")
    code, out, _ = run("fix", "--exit-zero", str(path))
    assert code == 0 and "DP103" in out
    assert run("fix", str(path))[0] == 1
    code, _, err = run("fix", "--exit-zero", str(tmp_path / "missing"))
    assert code == 2 and "No such file or directory" in err
    assert "All checks passed!" not in err  # an error is not a pass


def test_fix_exit_zero_stdin_prints_the_fixed_text() -> None:
    code, out, _ = run("fix", "--exit-zero", "-", "--stdin-filename", "Dockerfile",
                       input=REMAINING.encode())
    assert code == 0
    assert "rm -rf /var/lib/apt/lists" in out and out.startswith("FROM debian\n")
