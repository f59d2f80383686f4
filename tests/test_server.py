"""The language server, driven over stdio by a real LSP client (a subprocess each).

Every golden case goes through the protocol: didOpen, publishDiagnostics, code
actions, the returned WorkspaceEdits applied by the client (with its own position
arithmetic), and the result compared byte for byte with what the CLI writes
(`dockopt fix` for source.fixAll, `dockopt fix --select CODE` for the quick fix
"Fix all CODE problems in this file"); each finding's own quick fix must apply
exactly that finding's edits (the engine's, applied in-process, against the
client's application of the protocol's edits).
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

pytest.importorskip("pygls")

from dockopt.rewriter.cli.main import main as cli
from dockopt.rewriter.config import settings_for
from dockopt.rewriter.context import BuildContext
from dockopt.rewriter.pipeline import apply_edits, check
from dockopt.rewriter.server.client import (
    LspClient,
    apply_workspace_edit,
    default_capabilities,
    offset_at,
)
from dockopt.transforms import REGISTRY

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
SERVER = [sys.executable, "-m", "dockopt.rewriter", "server"]
WHOLE = {"start": {"line": 0, "character": 0}, "end": {"line": 1 << 20, "character": 0}}


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", "surrogateescape")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


class Session:
    """One server process and the texts the client holds."""

    def __init__(self, root: Path, options: Any = None, **kw: Any) -> None:
        self.client = LspClient(SERVER)
        self.init = self.client.initialize(str(root), options={"debounce": 0, **(options or {})},
                                           **kw)
        self.texts: dict[str, str | None] = {}
        self.versions: dict[str, int] = {}

    def open(self, path: Path, text: str | None = None, language_id: str = "dockerfile",
             wait: bool = True) -> tuple[str, list[dict[str, Any]]]:
        uri = path.resolve().as_uri()
        text = _read(path) if text is None else text
        self.texts[uri], self.versions[uri] = text, 1
        self.client.open(uri, text, language_id)
        return uri, (self.client.wait_diagnostics(uri, 1) if wait else [])

    def close(self, uri: str) -> None:
        self.client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        self.texts.pop(uri, None)

    def set_text(self, uri: str, text: str, wait: bool = True) -> list[dict[str, Any]]:
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": self.versions[uri]},
            "contentChanges": [{"text": text}]})
        return self.client.wait_diagnostics(uri, self.versions[uri]) if wait else []

    def actions(self, uri: str, only: list[str] | None = None,
                rng: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        context: dict[str, Any] = {"diagnostics": []}
        if only is not None:
            context["only"] = only
        result = self.client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": rng or WHOLE, "context": context})
        return list(result or [])

    def apply(self, edit: dict[str, Any]) -> dict[str, str | None]:
        """Apply an edit as an editor would: the documents change (didChange for
        the open ones); a created file is written to disk (as an editor saves it)."""
        texts = dict(self.texts)
        for change in edit.get("documentChanges") or []:  # files not open: from disk
            uri = change.get("uri") or change["textDocument"]["uri"]
            path = Path(uri.removeprefix("file://"))
            if uri not in texts:
                texts[uri] = _read(path) if path.exists() else None
        new = apply_workspace_edit(edit, texts, self.versions, self.client.encoding)
        for uri, text in new.items():
            if uri in self.versions and text != self.texts.get(uri):
                assert text is not None
                self.set_text(uri, text, wait=False)
        written = [{"uri": uri, "type": 1 if texts.get(uri) is None else 2}
                   for uri, text in new.items()
                   if uri not in self.versions and text is not None and text != texts.get(uri)]
        for change in written:
            _write(Path(change["uri"].removeprefix("file://")), new[change["uri"]] or "")
        if written:
            self.client.notify("workspace/didChangeWatchedFiles", {"changes": written})
        return new


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("ws")
    s = Session(root)
    yield s
    assert s.client.close() == 0
    assert not s.client.garbage, s.client.garbage


# --- the golden cases through the protocol --------------------------------------------

def _cases() -> list[Path]:
    return sorted(p.parent for p in GOLDEN.glob("*/*/Dockerfile"))


def _workspace(case: Path, where: Path) -> Path:
    """The case as a project: its context folder with the Dockerfile in it and a
    .dockopt.toml of its options (unsafe fixes on, as in the golden runner)."""
    if (case / "context").is_dir():
        shutil.copytree(case / "context", where, symlinks=True)
    where.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(case / "Dockerfile", where / "Dockerfile")
    options = "unsafe-fixes = true\n"
    if (case / "options.toml").exists():
        text = (case / "options.toml").read_text()
        options = text if "unsafe-fixes" in tomllib.loads(text) else options + text
    (where / ".dockopt.toml").write_text(options)
    return where


def _cli_fix(ws: Path, where: Path, *args: str) -> tuple[str, str | None]:
    """What `dockopt fix ARGS` writes into a copy of the workspace."""
    shutil.copytree(ws, where, symlinks=True)
    result = CliRunner().invoke(cli, ["fix", *args, str(where / "Dockerfile")])
    assert result.exit_code in (0, 1), result.output
    ignore = where / ".dockerignore"
    return _read(where / "Dockerfile"), _read(ignore) if ignore.exists() else None


CODES = {cls.name: cls.code for cls in REGISTRY}


@pytest.mark.parametrize("case", _cases(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_through_the_protocol(case: Path, session: Session, tmp_path: Path) -> None:
    code = CODES[case.parent.name]
    ws = _workspace(case, tmp_path / "ws")
    original_ignore = _read(ws / ".dockerignore") if (ws / ".dockerignore").exists() else None
    uri, _ = session.open(ws / "Dockerfile")
    ignore_uri = (ws / ".dockerignore").resolve().as_uri()
    try:
        # source.fixAll == `dockopt fix`
        fix_all = session.actions(uri, ["source.fixAll"])
        expected, expected_ignore = _cli_fix(ws, tmp_path / "cli-all")
        if fix_all:
            assert [a["kind"] for a in fix_all] == ["source.fixAll.dockopt"]
            after = apply_workspace_edit(session.client.edit_of(fix_all[0]), {**session.texts,
                                                              ignore_uri: original_ignore},
                                         session.versions, session.client.encoding)
            assert after[uri] == expected
            assert after.get(ignore_uri) == expected_ignore
        else:
            assert expected == session.texts[uri] and expected_ignore == original_ignore

        # "Fix all CODE problems" == `dockopt fix --select CODE`
        expected, expected_ignore = _cli_fix(ws, tmp_path / "cli-one", "--select", code)
        quick = session.actions(uri, ["quickfix"])
        rule_all = [a for a in quick if a["title"] == f"Fix all {code} problems in this file"]
        if rule_all:
            after = apply_workspace_edit(session.client.edit_of(rule_all[0]), {**session.texts,
                                                               ignore_uri: original_ignore},
                                         session.versions, session.client.encoding)
            assert after[uri] == expected
            assert after.get(ignore_uri) == expected_ignore
        else:
            assert expected == session.texts[uri] and expected_ignore == original_ignore

        # each quick fix of a finding applies exactly that finding's edits
        for _ in range(3):
            singles = [a for a in session.actions(uri, ["quickfix"])
                       if a["title"].startswith(f"dockopt ({code})")]
            if not singles:
                break
            text = session.texts[uri]
            assert text is not None
            findings, _ = check(text, path=str(ws / "Dockerfile"),
                                context=BuildContext(ws, dockerfile=str(ws / "Dockerfile")),
                                settings=settings_for(ws / "Dockerfile"))
            # The finding the action is for: the one on its diagnostic's line.
            line = singles[0]["diagnostics"][0]["range"]["start"]["line"] + 1
            first = next(f for f in findings if f.code == code and f.fix is not None
                         and (f.fix.edits or f.fix.files) and f.line == line)
            assert first.fix is not None
            want = apply_edits(text, first.fix.edits)
            session.apply(session.client.edit_of(singles[0]))
            assert session.texts[uri] == want
            if want != text:
                session.client.wait_diagnostics(uri, session.versions[uri])
            else:
                break  # a fix of other files only (.dockerignore): written to disk
    finally:
        session.close(uri)


# --- positions: UTF-16, UTF-8, UTF-32; CRLF; tabs; invalid UTF-8 ------------------------

TRICKY = ("FROM ubuntu:22.04\r\n"
          "# \U0001f600 emoji \u00e9 accents\r\n"
          "RUN echo '\U0001f600\t\u00e9' && apt-get install curl\r\n"
          "RUN echo '\udcff\udcfe raw bytes' && apt-get install -y wget\r\n")


def _slice(text: str, rng: dict[str, Any], encoding: str) -> str:
    s = offset_at(text, rng["start"]["line"], rng["start"]["character"], encoding)
    e = offset_at(text, rng["end"]["line"], rng["end"]["character"], encoding)
    return text[s:e]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_positions_in_every_encoding(encoding: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(TRICKY.encode("utf-8", "surrogateescape"))
    s = Session(tmp_path, encodings=[encoding])
    try:
        assert s.init["capabilities"]["positionEncoding"] == encoding
        uri, diags = s.open(tmp_path / "Dockerfile")
        by_code: dict[str, list[str]] = {}
        for d in diags:
            by_code.setdefault(d["code"], []).append(_slice(TRICKY, d["range"], encoding))
        # DO203 (no -y) points at `install` after the emoji, the tab and the é
        assert by_code["DO203"] == ["install"]
        assert "DP" in "".join(by_code)  # the invalid UTF-8 warning is a diagnostic
        fixed, _ = _cli_fix(tmp_path, tmp_path / "cli")
        fix_all = s.actions(uri, ["source.fixAll.dockopt"])[0]
        assert s.apply(s.client.edit_of(fix_all))[uri] == fixed
        assert "\r\n" in fixed and "\n" not in fixed.replace("\r\n", "")
    finally:
        assert s.client.close() == 0


def test_lone_cr_is_a_line_break_for_lsp_but_not_for_buildkit(tmp_path: Path) -> None:
    text = "FROM alpine:3\n# a comment\rwith a CR\nRUN apk add curl\n"
    (tmp_path / "Dockerfile").write_text(text, newline="")
    s = Session(tmp_path)
    try:
        uri, diags = s.open(tmp_path / "Dockerfile")
        apk = [d for d in diags if d["code"] == "DO205"]
        assert apk and apk[0]["range"]["start"]["line"] == 3  # LSP: 4 lines before RUN
        assert _slice(text, apk[0]["range"], "utf-16") == "add"
        fixed, _ = _cli_fix(tmp_path, tmp_path / "cli")
        assert s.apply(s.client.edit_of(s.actions(uri, ["source.fixAll"])[0]))[uri] == fixed
    finally:
        s.client.close()


# --- the disable pragma, CreateFile, hover --------------------------------------------

def test_disable_pragma_keeps_line_endings_and_silences_the_rule(tmp_path: Path) -> None:
    text = "FROM ubuntu:22.04\r\n  RUN apt-get install -y curl\r\n"
    (tmp_path / "Dockerfile").write_text(text, newline="")
    s = Session(tmp_path)
    try:
        uri, diags = s.open(tmp_path / "Dockerfile")
        assert "DO201" in {d["code"] for d in diags}
        disable = [a for a in s.actions(uri, ["quickfix"])
                   if a["title"] == "Disable DO201 for this instruction"]
        new = s.apply(s.client.edit_of(disable[0]))[uri]
        assert new == ("FROM ubuntu:22.04\r\n  # dockopt: ignore=DO201\r\n"
                       "  RUN apt-get install -y curl\r\n")
        diags = s.client.wait_diagnostics(uri, s.versions[uri])
        assert "DO201" not in {d["code"] for d in diags}
        # a second code joins the same comment
        again = [a for a in s.actions(uri, ["quickfix"])
                 if a["title"] == "Disable DO204 for this instruction"
                 or a["title"] == "Disable DO503 for this instruction"]
        new = s.apply(s.client.edit_of(again[0]))[uri]
        assert "# dockopt: ignore=DO201,DO" in new and new.count("# dockopt") == 1
    finally:
        s.client.close()


def test_dockerignore_is_created_only_where_the_client_can(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM python:3.12-slim\nCOPY . /app\n")
    s = Session(tmp_path, options={"unsafeFixes": True})
    try:
        uri, _ = s.open(tmp_path / "Dockerfile")
        fix = [a for a in s.actions(uri, ["quickfix"]) if a["title"].startswith("dockopt (DO603)")]
        ops = s.client.edit_of(fix[0])["documentChanges"]
        ignore_uri = (tmp_path / ".dockerignore").resolve().as_uri()
        assert ops[0] == {"kind": "create", "uri": ignore_uri,
                          "options": {"overwrite": False, "ignoreIfExists": False}}
        assert ops[1]["textDocument"] == {"uri": ignore_uri, "version": None}
        assert ".git" in ops[1]["edits"][0]["newText"]
    finally:
        s.client.close()
    caps = default_capabilities()
    caps["workspace"]["workspaceEdit"] = {"documentChanges": True}
    s = Session(tmp_path, options={"unsafeFixes": True}, capabilities=caps)
    try:
        uri, _ = s.open(tmp_path / "Dockerfile")
        titles = [a["title"] for a in s.actions(uri)]
        assert not [t for t in titles if t.startswith("dockopt (DO603)")]
        assert "Disable DO603 for this instruction" in titles
        fix_all = s.actions(uri, ["source.fixAll"])
        for op in s.client.edit_of(fix_all[0])["documentChanges"] if fix_all else []:
            assert op.get("kind") != "create"
    finally:
        s.client.close()


def test_hover_shows_the_rule_documentation(tmp_path: Path) -> None:
    from dockopt.rewriter.rules_doc import find_rule, rule_text

    (tmp_path / "Dockerfile").write_text("FROM alpine:3\n\nMAINTAINER Jane\n")
    caps = default_capabilities()
    caps["textDocument"]["hover"] = {"contentFormat": ["plaintext"]}
    s = Session(tmp_path, capabilities=caps)
    try:
        uri, diags = s.open(tmp_path / "Dockerfile")
        d = next(d for d in diags if d["code"] == "DO403")
        assert d["codeDescription"]["href"].endswith("/docs/rules/DO403.md")
        assert d["source"] == "dockopt" and d["tags"] == [2]  # Deprecated
        hover = s.client.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": 2, "character": 3}})
        rule = find_rule("DO403")
        assert rule is not None
        assert hover["contents"] == {"kind": "plaintext",
                                     "value": rule_text(rule) + "\n"
                                     + d["codeDescription"]["href"] + "\n"}
        assert s.client.request("textDocument/hover", {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}}) is None
    finally:
        s.client.close()


# --- settings, config discovery, the overlay -------------------------------------------

def _codes(diags: list[dict[str, Any]]) -> set[str]:
    return {d["code"] for d in diags}


def test_settings_and_config_files(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN apt-get install curl\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile").write_text("FROM ubuntu:22.04\nRUN apt-get install curl\n")
    (tmp_path / "sub" / ".dockopt.toml").write_text('ignore = ["DO203"]\n')
    s = Session(tmp_path)
    try:
        top, diags = s.open(tmp_path / "Dockerfile")
        assert {"DO201", "DO203"} <= _codes(diags)
        sub, diags = s.open(tmp_path / "sub" / "Dockerfile")
        assert "DO203" not in _codes(diags) and "DO201" in _codes(diags)  # closest config
        # a settings change re-lints every open Dockerfile
        s.client.notify("workspace/didChangeConfiguration",
                        {"settings": {"dockopt": {"select": ["DO2"], "ignore": ["DO201"]}}})
        got = {uri: s.client.wait_diagnostics(uri) for uri in (top, sub)}
        assert all(c.startswith("DO2") for c in _codes(got[top]) | _codes(got[sub]))
        assert "DO201" not in _codes(got[top]) and "DO203" in _codes(got[top])
        assert "DO203" not in _codes(got[sub])  # the config's ignore adds up
        # unsafe fixes are offered only when asked for
        unsafe = [a for a in s.actions(top, ["quickfix"]) if a["title"].endswith("(unsafe)")]
        assert not unsafe
        s.client.notify("workspace/didChangeConfiguration",
                        {"settings": {"unsafeFixes": True, "configPath": "sub/.dockopt.toml"}})
        diags = s.client.wait_diagnostics(top)
        assert "DO203" not in _codes(diags)  # configPath applies to every file
        assert [a for a in s.actions(top, ["quickfix"]) if a["title"].endswith("(unsafe)")]
        # a broken config is a diagnostic, not a dead server
        s.client.notify("workspace/didChangeConfiguration", {"settings": {}})
        s.client.wait_diagnostics(top)
        s.client.wait_diagnostics(sub)
        (tmp_path / "sub" / ".dockopt.toml").write_text("ignore = [\n")
        s.client.notify("workspace/didChangeWatchedFiles", {"changes": [
            {"uri": (tmp_path / "sub" / ".dockopt.toml").as_uri(), "type": 2}]})
        diags = s.client.wait_diagnostics(sub)
        assert [d for d in diags if d["code"] == "config" and d["severity"] == 1]
    finally:
        s.client.close()


def test_unsaved_package_json_counts(tmp_path: Path) -> None:
    case = GOLDEN / "manifests-after-source" / "node-npm"
    ws = _workspace(case, tmp_path / "ws")
    package_json = _read(ws / "package.json")
    (ws / "package.json").unlink()  # only in the editor: new, never saved
    s = Session(ws)

    def do601(diags: list[dict[str, Any]]) -> str:
        return next(d["message"] for d in diags if d["code"] == "DO601")

    try:
        uri, diags = s.open(ws / "Dockerfile")
        assert "package.json is not in the build context" in do601(diags)
        pkg, _ = s.open(ws / "package.json", "{}", language_id="json", wait=False)
        s.set_text(pkg, package_json, wait=False)  # an edit re-lints the Dockerfile
        diags = s.client.wait_diagnostics(uri)
        assert "not in the build context" not in do601(diags)
        fix = [a for a in s.actions(uri, ["quickfix"]) if a["title"].startswith("dockopt (DO601)")]
        assert fix and "COPY package.json" in str(s.client.edit_of(fix[0]))
        s.close(pkg)  # back to the files on disk
        assert "not in the build context" in do601(s.client.wait_diagnostics(uri))
    finally:
        s.client.close()


# --- robustness and the protocol's rules ------------------------------------------------

CRASHING = """
import sys
from dockopt.transforms import REGISTRY
def boom(self, ctx):
    print("a stray print from a transform")
    raise RuntimeError("kaboom")
REGISTRY[0].check = boom
sys.argv = ["dockopt", "server"]
from dockopt.rewriter.cli.main import main
main()
"""


def test_a_crashing_transform_and_garbage_input_do_not_kill_the_server(tmp_path: Path) -> None:
    s = Session.__new__(Session)
    s.client = LspClient([sys.executable, "-c", CRASHING])
    s.init = s.client.initialize(str(tmp_path), options={"debounce": 0})
    s.texts, s.versions = {}, {}
    try:
        (tmp_path / "Dockerfile").write_bytes(b"FROM alpine\nRUN \xff\xfe\x00 \\\n")
        uri, diags = s.open(tmp_path / "Dockerfile")
        crash = [d for d in diags if d["code"] == "DO003"]
        assert crash and "kaboom" in crash[0]["message"]
        s.set_text(uri, "\x00" * 5 + "\\\n<<EOF\n")
        assert s.actions(uri) is not None
        s.set_text(uri, "")
    finally:
        assert s.client.close() == 0
    assert not s.client.garbage  # the stray print went to stderr
    assert "a stray print" in s.client.stderr()


def test_exit_without_shutdown_is_an_error() -> None:
    client = LspClient(SERVER)
    client.initialize(None)
    client.notify("exit")
    assert client.proc.wait(10) == 1


def test_without_the_extra_the_command_says_how_to_install(tmp_path: Path) -> None:
    import subprocess

    code = ("import sys; sys.modules['pygls'] = None; sys.argv = ['dockopt', 'server'];"
            "from dockopt.rewriter.cli.main import main; main()")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 2
    assert "pip install 'dockopt[lsp]'" in run.stderr


def test_the_cli_does_not_import_pygls() -> None:
    import subprocess

    code = ("import sys; from dockopt.rewriter.cli.main import main;"
            "assert 'pygls' not in sys.modules and 'lsprotocol' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
