"""What the commands share: printing (terminal-safe), errors, reading inputs, the rule
selection options, config discovery per file."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

if TYPE_CHECKING:
    from dockopt.rewriter.config import CachePolicy, Settings
    from dockopt.rewriter.syntax import Diagnostic, Dockerfile
    from dockopt.transforms.base import Transform


VERSION = "0.1.0"
# Long raw texts are cut in `debug tree` so one node stays on one screen line.
TEXT_PREVIEW = 60
# Parser warnings (e.g. unknown instructions) shown per file: a template that is not
# really a Dockerfile would otherwise print one per line.
MAX_WARNINGS = 5


def write_to(stream: TextIO, text: str) -> None:
    """Write *text* as UTF-8, turning lone surrogates back into the bytes they came from.

    Input is decoded with surrogateescape, so any byte sequence round-trips through
    the tool; a text stream would reject those surrogates.
    """
    stream.flush()
    stream.buffer.write(text.encode("utf-8", "surrogateescape"))
    stream.buffer.flush()


def print_line(line: str = "") -> None:
    write_to(sys.stdout, line + "\n")


def fail(message: str, code: int = 2) -> NoReturn:
    write_to(sys.stderr, f"dockopt: error: {message}\n")
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
            fail(f"{path}: {exc.strerror or exc}")
    return data.decode("utf-8", "surrogateescape")


def load_file(path: str) -> tuple[str, Dockerfile]:
    """Read and parse FILE; the parser is imported here, not at start-up."""
    from dockopt.rewriter.syntax import parse

    text = _read_text(path)
    return text, parse(text)


def preview(text: str) -> str:
    if len(text) > TEXT_PREVIEW:
        return repr(text[:TEXT_PREVIEW]) + f"...(+{len(text) - TEXT_PREVIEW} chars)"
    return repr(text)

# --- shared by fix and check -------------------------------------------------------

F = TypeVar("F", bound=Callable[..., Any])


def split_codes(values: Iterable[str]) -> tuple[str, ...]:
    """`--select A,B --select C` -> ("A", "B", "C")."""
    return tuple(c.strip() for v in values for c in v.split(",") if c.strip())


def rule_options(command: F) -> F:
    """Options that choose the rules and the settings, shared by fix and check."""
    decorators = [
        click.option("--select", multiple=True, metavar="CODES",
                     help="Only these rules (codes, code prefixes, names or ALL; "
                          "comma-separated, repeatable). Replaces the config's select."),
        click.option("--ignore", multiple=True, metavar="CODES",
                     help="Skip these rules (added to the config's ignore)."),
        click.option("--extend-select", multiple=True, metavar="CODES",
                     help="Add these rules to the selection."),
        click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None,
                     help="Also apply (or report as fixable) fixes that may change "
                          "what the image does or contains."),
        click.option("--cache", "cache", type=click.Choice(["clean", "mount"]),
                     default=None, help="Cache policy: clean up package caches, or "
                                        "use BuildKit cache mounts (overrides the config)."),
        click.option("--config", "config", metavar="FILE",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="Use this config file instead of searching for one."),
        click.option("--isolated", is_flag=True,
                     help="Ignore all config files."),
        click.option("--stdin-filename", metavar="NAME",
                     help="The name of the file read from stdin (`-`), for messages, "
                          "diff headers and config discovery."),
        click.option("--color", "color", type=click.Choice(["auto", "always", "never"]),
                     default="auto", show_default=True,
                     help="Colour the output (auto: on a terminal unless NO_COLOR is set)."),
        click.option("-q", "--quiet", is_flag=True,
                     help="Print findings and errors, but no summary."),
    ]
    for decorate in reversed(decorators):
        command = decorate(command)
    return command


@dataclass(frozen=True)
class Selection:
    """What the command line says about settings (None: not given)."""

    select: tuple[str, ...] | None
    ignore: tuple[str, ...]
    extend_select: tuple[str, ...]
    unsafe_fixes: bool | None
    cache: CachePolicy | None

    @classmethod
    def from_options(cls, select: Sequence[str], ignore: Sequence[str],
                     extend_select: Sequence[str], unsafe_fixes: bool | None,
                     cache: str | None) -> Selection:
        policies: dict[str | None, CachePolicy] = {"clean": "clean", "mount": "mount"}
        policy = policies.get(cache)  # click.Choice allows nothing else
        return cls(split_codes(select) or None, split_codes(ignore),
                   split_codes(extend_select), unsafe_fixes, policy)

    def validate(self, rules: Sequence[type[Transform]]) -> None:
        """Exit 2 on a selector that matches no rule (a typo must not select nothing)."""
        for option, codes in (("--select", self.select or ()), ("--ignore", self.ignore),
                              ("--extend-select", self.extend_select)):
            for code in codes:
                if code == "ALL" or any(cls.code.startswith(code) or cls.name == code
                                        for cls in rules):
                    continue
                fail(f"{option}: unknown rule selector `{code}`: it is not a rule name, "
                      "ALL, or a prefix of a rule code (see `dockopt rules`)")

    def apply(self, base: Settings) -> Settings:
        """ruff's layering: a CLI --select replaces the config's selection; ignores add up."""
        if self.select is not None:
            select, extend = self.select, self.extend_select
        else:
            select, extend = base.select, base.extend_select + self.extend_select
        out = replace(base, select=select, extend_select=extend,
                      ignore=base.ignore + self.ignore)
        if self.unsafe_fixes is not None:
            out = replace(out, unsafe_fixes=self.unsafe_fixes)
        if self.cache is not None:
            out = replace(out, cache=self.cache)
        return out


@dataclass
class SettingsFinder:
    """Settings per file: --config, else the closest config file (cached per folder)."""

    config: Path | None
    isolated: bool
    selection: Selection
    _by_folder: dict[str, Path | None] = field(default_factory=dict)
    _by_file: dict[Path | None, Settings] = field(default_factory=dict)

    def for_path(self, path: Path) -> Settings:
        """Raises ConfigError."""
        from dockopt.rewriter.config import Settings, find_config, load_settings

        if self.config is not None:
            source: Path | None = self.config
        elif self.isolated:
            source = None
        else:
            folder = str(path if path.is_dir() else path.parent)
            if folder not in self._by_folder:
                self._by_folder[folder] = find_config(Path(folder))
            source = self._by_folder[folder]
        if source not in self._by_file:
            base = load_settings(source) if source is not None else Settings()
            self._by_file[source] = self.selection.apply(base)
        return self._by_file[source]


@dataclass
class Input:
    """One file to process: where it is read from, and what the user calls it."""

    source: str  # a path, or "-" for stdin
    shown: str  # the path in messages and diff headers
    settings: Settings
    # The build context found for it without --context (see build_context_for), once.
    found_context: tuple[Path | None, str | None] | None = None
    # Its name in diff headers (discover.patch_path): relative to the git work tree's
    # top, else to the common parent with the working directory. None: stdin, unnamed.
    patch_name: str | None = None


def inputs(paths: Sequence[str], stdin_filename: str | None,
            finder: SettingsFinder, errors: list[str]) -> list[Input]:
    """Resolve the PATH arguments and every file's settings before touching any file,
    so a broken config stops the run before anything is written."""
    from dockopt.rewriter.config import ConfigError
    from dockopt.rewriter.discover import Missing, discover, display_path, patch_path

    if "-" in paths and len(paths) > 1:
        fail("`-` (stdin) cannot be combined with other paths")
    use_stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    out: list[Input] = []
    try:
        if use_stdin:
            where = Path(stdin_filename) if stdin_filename else Path.cwd()
            shown = display_path(stdin_filename) if stdin_filename else "-"
            out.append(Input("-", shown, finder.for_path(where),
                             patch_name=patch_path(stdin_filename) if stdin_filename else None))
            return out
        for found in discover(paths or (".",)):
            if isinstance(found, Missing):
                errors.append(f"{found.path}: {found.reason}")
                continue
            out.append(Input(found, display_path(found), finder.for_path(Path(found)),
                             patch_name=patch_path(found)))
    except ConfigError as exc:
        write_to(sys.stderr, f"{exc}\n")
        sys.exit(2)
    return out


def read_input(item: Input, errors: list[str]) -> str | None:
    if item.source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            with open(item.source, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            errors.append(f"{item.shown}: {exc.strerror or exc}")
            return None
    return data.decode("utf-8", "surrogateescape")


def report_diagnostics(shown: str, diagnostics: Iterable[Diagnostic], quiet: bool,
                        color: bool) -> bool:
    """Print parse and engine diagnostics to stderr; True if any is an error."""
    from dockopt.rewriter.cli.output import style

    failed = False
    warnings = 0
    for d in diagnostics:
        if d.severity == "error":
            failed = True
        else:
            warnings += 1
            if quiet or warnings > MAX_WARNINGS:
                continue
        write_to(sys.stderr, style(d.format(shown), color, fg="red" if d.severity == "error"
                                  else "yellow") + "\n")
    if warnings > MAX_WARNINGS and not quiet:
        write_to(sys.stderr, f"{shown}: {warnings - MAX_WARNINGS} more warnings not shown\n")
    return failed


def print_errors(errors: Iterable[str]) -> None:
    for message in errors:
        write_to(sys.stderr, f"dockopt: error: {message}\n")


def stream_color(choice: str, stream: TextIO) -> bool:
    from dockopt.rewriter.cli.output import use_color

    isatty = getattr(stream, "isatty", None)
    return use_color(choice, bool(isatty and isatty()))


def atomic_write(path: str, data: bytes) -> None:
    """See dockopt.rewriter.fileio.atomic_write (imported lazily: start-up cost)."""
    from dockopt.rewriter.fileio import atomic_write as write

    write(path, data)


def setup(paths: tuple[str, ...], stdin_filename: str | None, config: Path | None,
           isolated: bool, selection: Selection, errors: list[str]
           ) -> tuple[list[Input], tuple[type[Transform], ...]]:
    from dockopt.rewriter.rules_doc import all_rules

    rules = all_rules()
    selection.validate(rules)
    if config is not None and not config.is_file():
        write_to(sys.stderr, f"{config}:1:1: config file not found\n")
        sys.exit(2)
    finder = SettingsFinder(config, isolated, selection)
    return inputs(paths, stdin_filename, finder, errors), rules

def build_context_for(item: Input, context: Path | None) -> Path | None:
    """The build context: --context, else the one a compose file gives the Dockerfile
    (compose.context_for), else the Dockerfile's folder; none for stdin."""
    if context is not None:
        return context
    if item.source == "-":
        return None
    if item.found_context is None:
        from dockopt.rewriter.compose import context_for

        item.found_context = context_for(Path(item.source))
    return item.found_context[0]

def say_context(item: Input, quiet: bool) -> None:
    """Print the note of a compose-chosen context once per file (stderr)."""
    if not quiet and item.found_context is not None and item.found_context[1]:
        write_to(sys.stderr, f"{item.shown}: {item.found_context[1]}\n")
