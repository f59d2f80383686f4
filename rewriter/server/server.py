"""The dockopt language server: LSP 3.17 over stdio, built on pygls.

What it does for a document that is a Dockerfile (by name, as ``dockopt check``
discovers them, or by ``languageId == "dockerfile"``):

* diagnostics on open, on change (after ``debounce`` ms without typing) and on
  save: the rules' findings, the parser's DPxxx diagnostics, engine diagnostics
  (DO001/DO002 appear once a fix-all was computed: on open, on save, or when one is
  asked for) and config errors;
* code actions: a ``quickfix`` per fixable finding (unsafe ones with
  ``unsafeFixes``), ``Disable DOxxx for this instruction`` (the own-line pragma),
  and ``source.fixAll.dockopt`` (what ``dockopt fix`` writes); fixes that write
  another file of the build context (``.dockerignore``) carry ``CreateFile`` and a
  ``TextDocumentEdit`` for it;
* hover on a finding: the rule's documentation (``dockopt rule CODE``).

Everything is computed on the editor's text, with the other open documents laid
over the build context (``overlay``).  Positions are converted exactly
(``positions``).  Only the protocol goes to stdout: ``main`` moves file
descriptor 1 to stderr before anything else runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from dockopt.rewriter.cli.common import version
from dockopt.rewriter.config import ConfigError, Settings
from dockopt.rewriter.discover import is_dockerfile_name
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.server.analysis import Analysis, analyze, pragma_edit, text_edits
from dockopt.rewriter.server.overlay import OverlayContext, forget_listings
from dockopt.rewriter.server.positions import UTF16, LineIndex
from dockopt.rewriter.server.settings import ClientSettings, SettingsResolver
from dockopt.rewriter.syntax import Diagnostic
from dockopt.transforms.base import DOCS_URL, Edit, Finding, Safety

log = logging.getLogger("dockopt.server")

FIX_ALL_KIND = "source.fixAll.dockopt"
CONFIG_NAMES = (".dockopt.toml", "dockopt.toml", "pyproject.toml")
_LEVELS = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning,
           "info": lsp.DiagnosticSeverity.Information}
# Findings are lints: the file still builds. As in ruff's server, only what breaks
# the file (the parser's errors, a broken config, engine failures) is an Error.
# Style findings (advice below the default failure threshold) are hints.
_FINDING_LEVELS = {"error": lsp.DiagnosticSeverity.Warning,
                   "warning": lsp.DiagnosticSeverity.Warning,
                   "info": lsp.DiagnosticSeverity.Information,
                   "style": lsp.DiagnosticSeverity.Hint}
_DEPRECATED = {"maintainer-deprecated"}


@dataclass
class Document:
    uri: str
    language_id: str
    version: int
    text: str
    path: str | None  # resolved absolute path, for file: URIs

    @property
    def is_dockerfile(self) -> bool:
        if self.language_id.lower() == "dockerfile":
            return True
        name = self.path or self.uri.rstrip("/").rsplit("/", 1)[-1]
        return is_dockerfile_name(os.path.basename(name))


def _path_of(uri: str) -> str | None:
    if not uri.startswith("file:"):
        return None
    path = to_fs_path(uri)
    return str(Path(path).resolve()) if path else None


class DockoptServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("dockopt", version(),
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)
        self.documents: dict[str, Document] = {}
        self.client_settings = ClientSettings()
        self.resolver = SettingsResolver(self.client_settings, None)
        self.root: Path | None = None
        self.encoding = UTF16
        # Bumped whenever something besides a document's own text may change its
        # result: settings, config files, other documents, files on disk.
        self.generation = 0
        self._analyses: dict[str, tuple[tuple[int, int], Analysis]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    # --- settings --------------------------------------------------------------------

    def apply_settings(self, raw: Any) -> None:
        settings, problems = ClientSettings.parse(raw)
        unknown = settings.unknown_selectors()
        if unknown:
            problems.append(f"unknown rule selector(s): {', '.join(unknown)} (see `dockopt rules`)")
        for problem in problems:
            self.window_show_message(lsp.ShowMessageParams(
                lsp.MessageType.Warning, f"dockopt settings: {problem}"))
        self.client_settings = settings
        self.resolver = SettingsResolver(settings, self.root)
        self.generation += 1

    # --- documents -------------------------------------------------------------------

    def document_by_path(self, path: str) -> Document | None:
        for doc in self.documents.values():
            if doc.path == path:
                return doc
        return None

    def dockerfiles(self) -> list[Document]:
        return [d for d in self.documents.values() if d.is_dockerfile]

    def context_for(self, doc: Document) -> OverlayContext | None:
        if doc.path is None:
            return None
        try:
            from dockopt.rewriter.compose import context_for

            root = context_for(Path(doc.path))[0]
        except Exception:  # a broken compose file: fall back to the folder, as a guess
            log.exception("compose context for %s", doc.path)
            root = Path(doc.path).parent
        open_docs = {d.path: d.text for d in self.documents.values() if d.path is not None}
        return OverlayContext(root, dockerfile=doc.path, documents=open_docs)

    def analysis(self, doc: Document) -> Analysis:
        """The analysis of the document's current text (cached per version)."""
        key = (doc.version, self.generation)
        cached = self._analyses.get(doc.uri)
        if cached is not None and cached[0] == key and cached[1].text is doc.text:
            return cached[1]
        try:
            settings = self.resolver.for_path(Path(doc.path) if doc.path else None)
            problem = None
        except ConfigError as exc:
            settings, problem = Settings(select=()), str(exc)
        result = analyze(doc.text, path=doc.path, settings=settings,
                         context=self.context_for(doc))
        if problem is not None:
            result.diagnostics.insert(0, Diagnostic("config", 1, 1, problem))
        self._analyses[doc.uri] = (key, result)
        return result

    # --- linting ---------------------------------------------------------------------

    def schedule(self, uri: str, delay_ms: int | None = None) -> None:
        """Lint after the debounce delay; a newer edit restarts the wait."""
        timer = self._timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        delay = self.client_settings.debounce_ms if delay_ms is None else delay_ms
        loop = asyncio.get_running_loop()
        if delay <= 0:
            self._timers[uri] = loop.call_soon(self.lint, uri)  # type: ignore[assignment]
        else:
            self._timers[uri] = loop.call_later(delay / 1000, self.lint, uri)

    def relint_all(self, full: bool = False) -> None:
        for doc in self.dockerfiles():
            if full:
                self.lint(doc.uri, full=True)
            else:
                self.schedule(doc.uri)

    def lint(self, uri: str, full: bool = False) -> None:
        self._timers.pop(uri, None)
        doc = self.documents.get(uri)
        if doc is None or not doc.is_dockerfile:
            return
        try:
            analysis = self.analysis(doc)
            if full:
                analysis.fixed()
            diagnostics = self.lsp_diagnostics(doc, analysis)
        except Exception as exc:  # never a dead server: say what broke, on line 1
            log.exception("linting %s", uri)
            diagnostics = [lsp.Diagnostic(
                lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                f"dockopt server error: {type(exc).__name__}: {exc}",
                severity=lsp.DiagnosticSeverity.Error, source="dockopt", code="DO003")]
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri, diagnostics, version=doc.version))

    def lsp_diagnostics(self, doc: Document, analysis: Analysis) -> list[lsp.Diagnostic]:
        index = LineIndex(doc.text, self.encoding)
        out = [self.finding_diagnostic(analysis, index, f) for f in analysis.findings]
        for d in [*analysis.diagnostics, *analysis.engine_diagnostics()]:
            start, end = analysis.diagnostic_span(d)
            out.append(lsp.Diagnostic(
                lsp.Range(_pos(index, start), _pos(index, end)), d.message,
                severity=_LEVELS.get(d.severity, lsp.DiagnosticSeverity.Error),
                code=d.code, source="dockopt",
                code_description=_doc_link(d.code)))
        return out

    def finding_diagnostic(self, analysis: Analysis, index: LineIndex,
                           f: Finding) -> lsp.Diagnostic:
        start, end = analysis.span(f.line, f.column, f.end_line, f.end_column)
        return lsp.Diagnostic(
            lsp.Range(_pos(index, start), _pos(index, end)), f.message,
            severity=_FINDING_LEVELS.get(f.level, lsp.DiagnosticSeverity.Warning),
            code=f.code, source="dockopt",
            code_description=lsp.CodeDescription(href=f.url),
            tags=[lsp.DiagnosticTag.Deprecated] if f.name in _DEPRECATED else None,
            data={"fixable": analysis.fixable(f)})

    # --- edits -----------------------------------------------------------------------

    def _can(self, what: str) -> bool:
        ws = self.client_capabilities.workspace
        edit = ws.workspace_edit if ws is not None else None
        if edit is None:
            return False
        if what == "documentChanges":
            return bool(edit.document_changes)
        return what in [str(k.value if hasattr(k, "value") else k)
                        for k in (edit.resource_operations or ())]

    def workspace_edit(self, doc: Document, edits: Sequence[Edit],
                       files: dict[str, str], root: Path | None) -> lsp.WorkspaceEdit | None:
        """One versioned edit of the document, and of other files (None: this client
        cannot apply it, e.g. it cannot create files)."""
        changes: list[lsp.TextDocumentEdit | lsp.CreateFile] = []
        plain: dict[str, list[lsp.TextEdit]] = {}
        if edits:
            ops = _lsp_edits(LineIndex(doc.text, self.encoding), edits)
            changes.append(lsp.TextDocumentEdit(
                lsp.OptionalVersionedTextDocumentIdentifier(doc.uri, doc.version), ops))
            plain[doc.uri] = list(ops)
        for rel, content in sorted(files.items()):
            if root is None:
                return None
            path = str((root / rel).resolve())
            uri = from_fs_path(path) or Path(path).as_uri()
            other = self.document_by_path(path)
            old = other.text if other is not None else _read(path)
            if old is None:
                if not self._can("create") or not self._can("documentChanges"):
                    return None
                changes.append(lsp.CreateFile(uri, options=lsp.CreateFileOptions(
                    overwrite=False, ignore_if_exists=False)))
                changes.append(lsp.TextDocumentEdit(
                    lsp.OptionalVersionedTextDocumentIdentifier(uri, None),
                    [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)), content)]))
                continue
            ops = _lsp_edits(LineIndex(old, self.encoding), text_edits(old, content))
            changes.append(lsp.TextDocumentEdit(lsp.OptionalVersionedTextDocumentIdentifier(
                uri, other.version if other is not None else None), ops))
            plain[uri] = list(ops)
        if self._can("documentChanges"):
            return lsp.WorkspaceEdit(document_changes=changes)
        return lsp.WorkspaceEdit(changes=plain)

    def code_actions(self, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        doc = self.documents.get(params.text_document.uri)
        if doc is None or not doc.is_dockerfile:
            return None
        only = [str(k.value if hasattr(k, "value") else k)
                for k in (params.context.only or ())] or None

        def wanted(kind: str) -> bool:
            return only is None or any(kind == o or kind.startswith(o + ".") for o in only)

        analysis = self.analysis(doc)
        index = LineIndex(doc.text, self.encoding)
        root = getattr(analysis.context, "root", None)
        lazy = self._lazy()
        actions: list[lsp.CodeAction] = []
        if wanted(lsp.CodeActionKind.QuickFix.value):
            lo = index.offset(params.range.start.line, params.range.start.character)
            hi = index.offset(params.range.end.line, params.range.end.character)
            disabled: set[tuple[str, int]] = set()
            all_of_rule: set[str] = set()
            for f in analysis.findings:
                start, end = analysis.span(f.line, f.column, f.end_line, f.end_column)
                if start > hi or end < lo:
                    continue
                diag = self.finding_diagnostic(analysis, index, f)
                if analysis.fixable(f) and f.fix is not None:
                    files = {fc.path: fc.content for fc in f.fix.files}
                    edit = self.workspace_edit(doc, f.fix.edits, files, root)
                    if edit is not None:
                        unsafe = f.fix.safety != Safety.SAFE
                        actions.append(lsp.CodeAction(
                            f"dockopt ({f.code}): {_fix_title(f)}"
                            + (" (unsafe)" if unsafe else ""),
                            kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag], edit=edit,
                            is_preferred=not unsafe))
                if analysis.fixable(f) and f.code not in all_of_rule:
                    all_of_rule.add(f.code)
                    action = self.fix_rule(doc, analysis, f.code, root, diag, lazy)
                    if action is not None:
                        actions.append(action)
                if (f.code, f.line) not in disabled:
                    disabled.add((f.code, f.line))
                    pragma = pragma_edit(analysis.tree, f.line, f.code)
                    if pragma is not None:
                        edit = self.workspace_edit(doc, [pragma], {}, root)
                        actions.append(lsp.CodeAction(
                            f"Disable {f.code} for this instruction",
                            kind=lsp.CodeActionKind.QuickFix, diagnostics=[diag], edit=edit))
        if wanted(FIX_ALL_KIND):
            action = self.fix_all(doc, analysis, root, lazy)
            if action is not None:
                actions.append(action)
        return actions

    def _lazy(self) -> bool:
        """Whether the client resolves an action's edit later (codeAction/resolve):
        then the fix-all runs happen only for the action the user picks."""
        td = self.client_capabilities.text_document
        ca = td.code_action if td is not None else None
        support = ca.resolve_support if ca is not None else None
        return support is not None and "edit" in support.properties

    def resolve(self, action: lsp.CodeAction) -> lsp.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        doc = self.documents.get(str(data.get("uri")))
        if doc is None or doc.version != data.get("version") or action.edit is not None:
            return action  # the document changed since: no edit (the client re-asks)
        analysis = self.analysis(doc)
        root = getattr(analysis.context, "root", None)
        code = data.get("code")
        made = (self.fix_rule(doc, analysis, str(code), root, None, lazy=False)
                if code else self.fix_all(doc, analysis, root, lazy=False))
        if made is not None:
            action.edit = made.edit
        return action

    def fix_rule(self, doc: Document, analysis: Analysis, code: str, root: Path | None,
                 diag: lsp.Diagnostic | None, lazy: bool = False) -> lsp.CodeAction | None:
        """All of one rule's fixes, to a fixed point: ``dockopt fix --select CODE``."""
        title = f"Fix all {code} problems in this file"
        if lazy:
            return lsp.CodeAction(title, kind=lsp.CodeActionKind.QuickFix,
                                  diagnostics=[diag] if diag else None,
                                  data={"uri": doc.uri, "version": doc.version, "code": code})
        result = analysis.fixed_rule(code)
        files = {rel: new for rel, (_old, new) in result.extra_files.items()}
        if not (result.changed or files):
            return None
        edit = self.workspace_edit(doc, text_edits(doc.text, result.text), files, root)
        if edit is None:
            return None
        return lsp.CodeAction(title, kind=lsp.CodeActionKind.QuickFix,
                              diagnostics=[diag] if diag else None, edit=edit)

    def fix_all(self, doc: Document, analysis: Analysis, root: Path | None,
                lazy: bool = False) -> lsp.CodeAction | None:
        title = "dockopt: Fix all auto-fixable problems"
        if lazy:
            # Offer it only when resolving can give an edit: a client that cannot
            # create files gets nothing from fixes that only write another file.
            files_ok = self._can("create") and self._can("documentChanges")
            if not any(analysis.fixable(f) and f.fix is not None
                       and (f.fix.edits or files_ok) for f in analysis.findings):
                return None
            return lsp.CodeAction(title, kind=FIX_ALL_KIND,
                                  data={"uri": doc.uri, "version": doc.version})
        result = analysis.fixed()
        files = {rel: new for rel, (_old, new) in result.extra_files.items()}
        edit = self.workspace_edit(doc, text_edits(doc.text, result.text), files, root)
        if edit is None:
            # This client cannot create files: leave out the transforms that would.
            codes = {c.code for c in result.changes if "--- /dev/null" in c.diff}
            result = analysis.without_files(codes)
            files = {rel: new for rel, (_old, new) in result.extra_files.items()}
            edit = self.workspace_edit(doc, text_edits(doc.text, result.text), files, root)
        if edit is None or not (result.changed or files):
            return None
        return lsp.CodeAction(title, kind=FIX_ALL_KIND, edit=edit)

    def hover(self, params: lsp.HoverParams) -> lsp.Hover | None:
        from dockopt.rewriter.rules_doc import GENERATED, find_rule, rule_markdown, rule_text

        doc = self.documents.get(params.text_document.uri)
        if doc is None or not doc.is_dockerfile:
            return None
        analysis = self.analysis(doc)
        index = LineIndex(doc.text, self.encoding)
        at = index.offset(params.position.line, params.position.character)
        hits: list[tuple[int, int, str]] = []
        for f in analysis.findings:
            start, end = analysis.span(f.line, f.column, f.end_line, f.end_column)
            if start <= at <= end and f.code not in [h[2] for h in hits]:
                hits.append((start, end, f.code))
        if not hits:
            return None
        hover = self.client_capabilities.text_document
        formats = hover.hover.content_format if hover and hover.hover else None
        markdown = not formats or formats[0] == lsp.MarkupKind.Markdown
        parts = []
        for _s, _e, code in hits:
            rule = find_rule(code)
            url = DOCS_URL.format(code=code)
            if rule is None:
                continue
            if markdown:
                page = _dedent_sections(rule_markdown(rule).replace(GENERATED + "\n\n", "", 1))
                parts.append(f"{page}\n[{code} documentation]({url})\n")
            else:
                parts.append(f"{rule_text(rule)}\n{url}\n")
        if not parts:
            return None
        start, end = hits[0][0], hits[0][1]
        return lsp.Hover(
            lsp.MarkupContent(lsp.MarkupKind.Markdown if markdown else lsp.MarkupKind.PlainText,
                              ("\n---\n\n" if markdown else "\n\n").join(parts)),
            range=lsp.Range(_pos(index, start), _pos(index, end)))


def _dedent_sections(page: str) -> str:
    """The docstring's sections are indented by four spaces, which Markdown would
    show as code blocks: unindent them (fenced examples stay fenced)."""
    return "".join(line[4:] if line.startswith("    ") else line
                   for line in page.splitlines(keepends=True))


def _pos(index: LineIndex, offset: int) -> lsp.Position:
    p = index.position(offset)
    return lsp.Position(p.line, p.character)


def _lsp_edits(index: LineIndex, edits: Sequence[Edit]) -> list[lsp.TextEdit]:
    out = []
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        start, end, new = index.edit_range(e.start, e.end, e.content)
        out.append(lsp.TextEdit(lsp.Range(lsp.Position(start.line, start.character),
                                          lsp.Position(end.line, end.character)), new))
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _fix_title(f: Finding) -> str:
    from dockopt.rewriter.rules_doc import find_rule

    rule = find_rule(f.code)
    return (rule.fix_title if rule is not None and rule.fix_title else f.name)


def _doc_link(code: str) -> lsp.CodeDescription | None:
    from dockopt.rewriter.rules_doc import find_rule

    return lsp.CodeDescription(href=DOCS_URL.format(code=code)) if find_rule(code) else None


# --- the handlers ------------------------------------------------------------------------


def create_server() -> DockoptServer:
    ls = DockoptServer()

    @ls.feature(lsp.INITIALIZE)
    def initialize(ls: DockoptServer, params: lsp.InitializeParams) -> None:
        folders = params.workspace_folders or []
        root_uri = folders[0].uri if folders else params.root_uri
        root = _path_of(root_uri) if root_uri else None
        ls.root = Path(root) if root else None
        encoding = ls.workspace.position_encoding or UTF16
        ls.encoding = str(getattr(encoding, "value", encoding))
        ls.apply_settings(params.initialization_options)

    @ls.feature(lsp.INITIALIZED)
    def initialized(ls: DockoptServer, params: lsp.InitializedParams) -> None:
        ws = ls.client_capabilities.workspace
        watch = ws.did_change_watched_files if ws is not None else None
        if watch is not None and watch.dynamic_registration:
            globs = ["**/{.dockopt.toml,dockopt.toml,pyproject.toml}",
                     "**/{compose,docker-compose}*.{yml,yaml}", "**/*.dockerignore",
                     "**/.dockerignore"]
            ls.client_register_capability(lsp.RegistrationParams([lsp.Registration(
                "dockopt-watch", lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                lsp.DidChangeWatchedFilesRegistrationOptions(
                    [lsp.FileSystemWatcher(g) for g in globs]))]))

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: DockoptServer,
                                 params: lsp.DidChangeConfigurationParams) -> None:
        ls.apply_settings(params.settings)
        ls.relint_all(full=True)

    @ls.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: DockoptServer,
                                 params: lsp.DidChangeWatchedFilesParams) -> None:
        _files_changed(ls)
        ls.relint_all()

    @ls.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DockoptServer, params: lsp.DidOpenTextDocumentParams) -> None:
        item = params.text_document
        doc = Document(item.uri, item.language_id, item.version, item.text, _path_of(item.uri))
        ls.documents[item.uri] = doc
        ls.generation += 1
        if doc.is_dockerfile:
            ls.lint(item.uri, full=True)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DockoptServer, params: lsp.DidChangeTextDocumentParams) -> None:
        doc = ls.documents.get(params.text_document.uri)
        if doc is None:
            return
        text = doc.text
        for change in params.content_changes:
            if isinstance(change, lsp.TextDocumentContentChangePartial):
                index = LineIndex(text, ls.encoding)
                start = index.offset(change.range.start.line, change.range.start.character)
                end = index.offset(change.range.end.line, change.range.end.character)
                text = text[:start] + change.text + text[max(start, end):]
            else:
                text = change.text
        doc.text, doc.version = text, params.text_document.version
        if doc.is_dockerfile:
            ls.schedule(doc.uri)
        else:  # an overlaid context file: the Dockerfiles' results may change
            ls.generation += 1
            ls.relint_all()

    @ls.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: DockoptServer, params: lsp.DidSaveTextDocumentParams) -> None:
        doc = ls.documents.get(params.text_document.uri)
        _files_changed(ls, config=doc is not None and doc.path is not None
                       and os.path.basename(doc.path) in CONFIG_NAMES)
        for other in ls.dockerfiles():
            if doc is not None and other.uri == doc.uri:
                ls.lint(other.uri, full=True)
            else:
                ls.schedule(other.uri)

    @ls.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DockoptServer, params: lsp.DidCloseTextDocumentParams) -> None:
        doc = ls.documents.pop(params.text_document.uri, None)
        ls._analyses.pop(params.text_document.uri, None)
        timer = ls._timers.pop(params.text_document.uri, None)
        if timer is not None:
            timer.cancel()
        ls.generation += 1
        if doc is not None and doc.is_dockerfile:
            ls.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(doc.uri, []))
        elif doc is not None:
            ls.relint_all()

    @ls.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(
        code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.SourceFixAll,
                           FIX_ALL_KIND], resolve_provider=True))
    def code_action(ls: DockoptServer,
                    params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
        actions = ls.code_actions(params)
        _show_engine_diagnostics(ls, params.text_document.uri)
        return actions

    @ls.feature(lsp.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: DockoptServer, action: lsp.CodeAction) -> lsp.CodeAction:
        action = ls.resolve(action)
        _show_engine_diagnostics(ls, action.data.get("uri") if isinstance(action.data, dict)
                                 else None)
        return action

    @ls.feature(lsp.TEXT_DOCUMENT_HOVER)
    def hover(ls: DockoptServer, params: lsp.HoverParams) -> lsp.Hover | None:
        return ls.hover(params)

    @ls.feature(lsp.SHUTDOWN)
    def shutdown(ls: DockoptServer, *args: Any) -> None:
        for timer in ls._timers.values():
            timer.cancel()
        ls._timers.clear()

    return ls


def _show_engine_diagnostics(ls: DockoptServer, uri: object) -> None:
    """A fix-all run found DO001/DO002 (not converging, reverted): publish them."""
    cached = ls._analyses.get(str(uri))
    if cached is not None and cached[1].engine_diagnostics():
        ls.lint(str(uri))


def _files_changed(ls: DockoptServer, config: bool = True) -> None:
    forget_listings()
    from dockopt.rewriter.compose import forget_cached

    forget_cached()
    if config:
        ls.resolver.reset()
    ls.generation += 1


def main() -> None:
    """Serve on stdin/stdout. Stray prints and logs go to stderr, never into the
    protocol: file descriptor 1 is duplicated for pygls, then pointed at stderr."""
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("DOCKOPT_LOG", "WARNING"),
                        format="dockopt server: %(levelname)s %(name)s: %(message)s")
    ls = create_server()
    ls.start_io(stdin=sys.stdin.buffer, stdout=protocol_out)
    # pygls swallows the SystemExit of `exit`; the spec's exit code: 0 after a
    # shutdown request, else 1.
    sys.exit(0 if getattr(ls.protocol, "_shutdown", False) else 1)
