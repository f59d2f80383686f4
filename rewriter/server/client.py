"""A small synchronous LSP client over a subprocess's stdio (stdlib only).

For the server's tests, ``bench/lsp.py`` and scripts: it starts a server command,
speaks JSON-RPC with Content-Length framing, records every notification, answers
the server's requests (``client/registerCapability``...) with ``null``, and
applies ``WorkspaceEdit``s to texts.  Anything on the server's stdout that is not
a well-framed message is kept in ``garbage``, so a test can insist on none.

Edits are applied with their own position arithmetic (encode the line in the
negotiated encoding and cut it), independent of ``positions``, so the tests check
the server's conversions against a second implementation.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

Message = dict[str, Any]


class LspError(Exception):
    """An error response, a dead server or a timeout."""


class LspClient:
    def __init__(self, command: Sequence[str], *, cwd: str | None = None,
                 env: Mapping[str, str] | None = None) -> None:
        self.stderr_file = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(list(command), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr_file,
                                     cwd=cwd, env=dict(env) if env is not None else None)
        self._next_id = 0
        self._inbox: queue.Queue[Message | None] = queue.Queue()
        self.notifications: list[Message] = []
        self.server_requests: list[Message] = []
        self.garbage: list[bytes] = []
        self.diagnostics: dict[str, list[Message]] = {}  # uri -> publishDiagnostics params
        self.encoding = "utf-16"
        self._lock = threading.Lock()
        self._closed = False
        self._stderr_text = ""
        threading.Thread(target=self._read, daemon=True).start()

    # --- the wire ----------------------------------------------------------------------

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                message = _read_message(out, self.garbage)
                if message is None:
                    break
                self._inbox.put(message)
        finally:
            self._inbox.put(None)

    def _send(self, message: Message) -> None:
        body = json.dumps(message, ensure_ascii=True).encode("ascii")
        stdin = self.proc.stdin
        assert stdin is not None
        with self._lock:
            stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any = None, timeout: float = 60) -> Any:
        self._next_id += 1
        ident = self._next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        reply = self._pump(lambda m: m.get("id") == ident and "method" not in m, timeout,
                           f"{method} #{ident}")
        if "error" in reply:
            raise LspError(f"{method}: {reply['error']}")
        return reply.get("result")

    def _pump(self, wanted: Callable[[Message], bool], timeout: float, what: str) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LspError(f"timed out waiting for {what}")
            try:
                message = self._inbox.get(timeout=left)
            except queue.Empty:
                raise LspError(f"timed out waiting for {what}") from None
            if message is None:
                self._inbox.put(None)
                raise LspError(f"the server closed its output while waiting for {what}; "
                               f"stderr:\n{self.stderr()[-3000:]}")
            self._record(message)
            if wanted(message):
                return message

    def _record(self, message: Message) -> None:
        if "method" in message and "id" in message:  # a request from the server
            self.server_requests.append(message)
            self._send({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
            if message["method"] == "textDocument/publishDiagnostics":
                params = message["params"]
                self.diagnostics.setdefault(params["uri"], []).append(params)

    def wait_notification(self, method: str, timeout: float = 60,
                          where: Callable[[Message], bool] = lambda p: True) -> Message:
        message = self._pump(lambda m: m.get("method") == method and "id" not in m
                             and where(m.get("params") or {}), timeout, method)
        params: Message = message["params"]
        return params

    def wait_diagnostics(self, uri: str, version: int | None = None,
                         timeout: float = 60) -> list[Message]:
        """The next diagnostics published for ``uri`` (for ``version``, if given)."""
        params = self.wait_notification(
            "textDocument/publishDiagnostics", timeout,
            lambda p: p["uri"] == uri and (version is None or p.get("version") == version))
        return list(params["diagnostics"])

    def drain(self, seconds: float = 0.0) -> None:
        """Record whatever arrives within ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                message = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return
            if message is None:
                self._inbox.put(None)
                return
            self._record(message)

    def stderr(self) -> str:
        if self.stderr_file.closed:
            return self._stderr_text
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode("utf-8", "replace")

    # --- the session ---------------------------------------------------------------------

    def initialize(self, root: str | None = None, *, capabilities: Message | None = None,
                   options: Any = None, encodings: Sequence[str] | None = None) -> Message:
        caps: Message = capabilities if capabilities is not None else default_capabilities()
        if encodings is not None:
            caps = {**caps, "general": {**caps.get("general", {}),
                                        "positionEncodings": list(encodings)}}
        params: Message = {"processId": os.getpid(), "capabilities": caps,
                           "initializationOptions": options,
                           "rootUri": _uri(root) if root else None,
                           "workspaceFolders": [{"uri": _uri(root), "name": "root"}]
                           if root else None}
        result: Message = self.request("initialize", params)
        self.encoding = result["capabilities"].get("positionEncoding", "utf-16")
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, language_id: str = "dockerfile",
             version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": language_id, "version": version, "text": text}})

    def edit_of(self, action: Message) -> Message:
        """The action's WorkspaceEdit, resolving it first if the server deferred it."""
        if "edit" not in action and "data" in action:
            action = self.request("codeAction/resolve", action)
        edit: Message = action["edit"]
        return edit

    def close(self, timeout: float = 10) -> int:
        """shutdown, exit; the server's exit code."""
        if self._closed:
            return self.proc.wait(timeout)
        self._closed = True
        try:
            self.request("shutdown", None, timeout=timeout)
            self.notify("exit")
        except (LspError, OSError):
            self.proc.kill()
        try:
            return self.proc.wait(timeout)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._stderr_text = self.stderr()
            self.stderr_file.close()


def default_capabilities() -> Message:
    """What a capable editor says: versioned edits, file creation, markdown hovers."""
    return {
        "general": {"positionEncodings": ["utf-16"]},
        "workspace": {
            "workspaceEdit": {"documentChanges": True,
                              "resourceOperations": ["create", "rename", "delete"]},
            "didChangeConfiguration": {"dynamicRegistration": False},
            "didChangeWatchedFiles": {"dynamicRegistration": True},
            "configuration": False,
        },
        "textDocument": {
            "synchronization": {"didSave": True, "dynamicRegistration": False},
            "publishDiagnostics": {"versionSupport": True, "codeDescriptionSupport": True,
                                   "dataSupport": True},
            "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": [
                "quickfix", "source", "source.fixAll"]}},
                "dataSupport": True, "resolveSupport": {"properties": ["edit"]}},
            "hover": {"contentFormat": ["markdown", "plaintext"]},
        },
    }


def _uri(path: str) -> str:
    from pathlib import Path

    return Path(path).resolve().as_uri()


def _read_message(stream: IO[bytes], garbage: list[bytes]) -> Message | None:
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            if length is not None:
                break
            garbage.append(line)
            continue
        m = re.match(rb"Content-Length:\s*(\d+)\s*$", line, re.I)
        if m:
            length = int(m.group(1))
        elif not line.lower().startswith(b"content-type:"):
            garbage.append(line)
    body = stream.read(length)
    message: Message = json.loads(body)
    return message


# --- applying edits ---------------------------------------------------------------------

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def _unit_width(encoding: str) -> int:
    return {"utf-16": 2, "utf-32": 4}.get(encoding, 1)


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8":
        out = bytearray()
        for ch in text:  # surrogate escapes are one byte, other lone surrogates three
            try:
                out += ch.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                out += ch.encode("utf-8", "surrogatepass")
        return bytes(out)
    return text.encode("utf-16-le" if encoding == "utf-16" else "utf-32-le", "surrogatepass")


def offset_at(text: str, line: int, character: int, encoding: str = "utf-16") -> int:
    """The string offset of an LSP position (an independent implementation)."""
    lines = _LINE.findall(text) or [""]
    if text.endswith(("\n", "\r")):
        lines.append("")
    if line >= len(lines):
        return len(text)
    start = sum(len(x) for x in lines[:line])
    content = lines[line].rstrip("\r\n")
    width = _unit_width(encoding)
    encoded = _encode(content, encoding)
    want = character * width
    if want >= len(encoded):
        return start + len(content)
    # the longest prefix of code points whose encoding fits in `want` bytes
    n = 0
    used = 0
    for ch in content:
        size = len(_encode(ch, encoding))
        if used + size > want:
            break
        used += size
        n += 1
    return start + n


def apply_text_edits(text: str, edits: Sequence[Message], encoding: str = "utf-16") -> str:
    """Apply LSP TextEdits (ranges against the original text; same-start inserts in
    array order)."""
    spans = []
    for i, e in enumerate(edits):
        r = e["range"]
        start = offset_at(text, r["start"]["line"], r["start"]["character"], encoding)
        end = offset_at(text, r["end"]["line"], r["end"]["character"], encoding)
        spans.append((start, end, i, e["newText"]))
    spans.sort()
    out, pos = [], 0
    for start, end, _i, new in spans:
        if start < pos:
            raise ValueError(f"overlapping edits at offset {start}")
        out.append(text[pos:start])
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def apply_workspace_edit(edit: Message, texts: dict[str, str | None],
                         versions: Mapping[str, int] | None = None,
                         encoding: str = "utf-16") -> dict[str, str | None]:
    """Apply a WorkspaceEdit to ``texts`` (uri -> text, None: no such file); returns
    the new texts. A versioned edit of a document at another version is refused."""
    out = dict(texts)
    for change in edit.get("documentChanges") or []:
        kind = change.get("kind")
        if kind == "create":
            options = change.get("options") or {}
            if out.get(change["uri"]) is not None and not options.get("ignoreIfExists") \
                    and not options.get("overwrite"):
                raise ValueError(f"create: {change['uri']} exists")
            if out.get(change["uri"]) is None:
                out[change["uri"]] = ""
            continue
        if kind is not None:
            raise ValueError(f"unexpected resource operation {kind}")
        ident = change["textDocument"]
        uri = ident["uri"]
        if versions is not None and ident.get("version") is not None \
                and versions.get(uri) != ident["version"]:
            raise ValueError(f"stale edit: {uri} version {ident['version']}, "
                             f"document at {versions.get(uri)}")
        current = out.get(uri)
        if current is None:
            raise ValueError(f"edit of a file that does not exist: {uri}")
        out[uri] = apply_text_edits(current, change["edits"], encoding)
    for uri, edits in (edit.get("changes") or {}).items():
        current = out.get(uri)
        if current is None:
            raise ValueError(f"edit of a file that does not exist: {uri}")
        out[uri] = apply_text_edits(current, edits, encoding)
    return out
