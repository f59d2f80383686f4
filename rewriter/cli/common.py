"""What the commands share: printing (terminal-safe), errors, reading inputs, the rule
selection options, config discovery per file."""

from __future__ import annotations

import os
import re
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click

from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.config import CachePolicy, Settings, Threshold
    from dockopt.rewriter.discover import Exclusion
    from dockopt.rewriter.result_cache import CacheSpec
    from dockopt.rewriter.syntax import Diagnostic, Dockerfile
    from dockopt.transforms.base import Finding, Level, Transform


def version() -> str:
    """The installed package's version (its metadata), read only when asked: the
    import of importlib.metadata costs start-up time every command would pay."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("dockopt")
    except PackageNotFoundError:  # run from a source tree without installing
        from dockopt.rewriter import __version__

        return __version__
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
        click.option("--fixable", multiple=True, metavar="CODES",
                     help="Only these rules' fixes apply (replaces the config's fixable)."),
        click.option("--unfixable", multiple=True, metavar="CODES",
                     help="These rules are reported but never fixed."),
        click.option("--extend-safe-fixes", multiple=True, metavar="CODES",
                     help="Treat these rules' unsafe fixes as safe."),
        click.option("--extend-unsafe-fixes", multiple=True, metavar="CODES",
                     help="Treat these rules' safe fixes as unsafe."),
        click.option("--unsafe-fixes/--no-unsafe-fixes", "unsafe_fixes", default=None,
                     help="Also apply (or report as fixable) fixes that may change "
                          "what the image does or contains."),
        click.option("--cache", "cache", type=click.Choice(["clean", "mount"]),
                     default=None, help="Cache policy: clean up package caches, or "
                                        "use BuildKit cache mounts (overrides the config)."),
        click.option("--config", "config", metavar="FILE|KEY=VALUE", multiple=True,
                     callback=_config_option,
                     help="A config file to use instead of searching for one, or a "
                          "TOML `key = value` overriding one setting of whichever "
                          "config applies (repeatable; ruff's syntax)."),
        click.option("--isolated", is_flag=True,
                     help="Ignore all config files."),
        click.option("--exclude", multiple=True, metavar="PATTERNS",
                     help="Leave out files and folders matching these globs (a name "
                          "anywhere in the path, or a path with `/`); comma-separated, "
                          "repeatable."),
        click.option("--extend-exclude", multiple=True, metavar="PATTERNS",
                     help="More patterns to leave out (as --exclude)."),
        click.option("--force-exclude/--no-force-exclude", default=False,
                     help="Apply the exclusions (and .gitignore) to files named on the "
                          "command line too (for pre-commit)."),
        click.option("--respect-gitignore/--no-respect-gitignore", default=True,
                     show_default=True,
                     help="Leave out files that .gitignore (and git's other ignore "
                          "files) ignore, when searching folders."),
        click.option("-t", "--failure-threshold", "failure_threshold",
                     type=click.Choice(["error", "warning", "info", "style", "none"]),
                     default=None,
                     help="Exit 1 only for findings at this level or above (hadolint's "
                          "-t; default: the config's, else info: style findings are "
                          "shown but do not fail)."),
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


def no_cache_option(command: F) -> F:
    """`-n/--no-cache` for check and fix: run without the results cache."""
    return click.option(
        "-n", "--no-cache", "no_cache", is_flag=True,
        help="Neither read nor write the results cache (also: DOCKOPT_NO_CACHE=1). "
             "Not --cache, which is the package-cache policy of the fixes.")(command)


def cache_dir_option(command: F) -> F:
    """`--cache-dir DIR` for check, fix and clean: where the results cache lives."""
    return click.option(
        "--cache-dir", "cache_dir", metavar="DIR", envvar="DOCKOPT_CACHE_DIR",
        show_envvar=True, type=click.Path(file_okay=False, path_type=Path),
        help="The results cache's folder (default: dockopt in the user's cache folder, "
             "$XDG_CACHE_HOME or ~/.cache).")(command)


def jobs_option(command: F) -> F:
    """`--jobs N` for check and fix (as bulk's): worker processes for many files."""
    return click.option(
        "--jobs", "-j", "jobs", type=click.IntRange(min=1), default=None, metavar="N",
        help="Worker processes for many files (default: the number of cores; 1: all "
             "in this process). Small runs stay in one process; the output is the "
             "same, in the same order, whatever N.")(command)


@dataclass(frozen=True)
class Selection:
    """What the command line says about settings (None: not given)."""

    select: tuple[str, ...] | None
    ignore: tuple[str, ...]
    extend_select: tuple[str, ...]
    unsafe_fixes: bool | None
    cache: CachePolicy | None
    failure_threshold: Threshold | None = None
    fixable: tuple[str, ...] | None = None
    unfixable: tuple[str, ...] = ()
    extend_safe_fixes: tuple[str, ...] = ()
    extend_unsafe_fixes: tuple[str, ...] = ()

    @classmethod
    def from_options(cls, select: Sequence[str], ignore: Sequence[str],
                     extend_select: Sequence[str], unsafe_fixes: bool | None,
                     cache: str | None, failure_threshold: str | None = None) -> Selection:
        policies: dict[str | None, CachePolicy] = {"clean": "clean", "mount": "mount"}
        policy = policies.get(cache)  # click.Choice allows nothing else
        thresholds: dict[str | None, Threshold] = {
            "error": "error", "warning": "warning", "info": "info", "style": "style",
            "none": "none"}
        return cls(split_codes(select) or None, split_codes(ignore),
                   split_codes(extend_select), unsafe_fixes, policy,
                   thresholds.get(failure_threshold))

    def selectors(self) -> bool:
        """Whether the command line names any rule (then ``validate`` checks them)."""
        return any((self.select, self.ignore, self.extend_select, self.fixable,
                    self.unfixable, self.extend_safe_fixes, self.extend_unsafe_fixes))

    def validate(self, rules: Sequence[type[Transform]]) -> None:
        """Exit 2 on a selector that matches no rule (a typo must not select nothing).

        A hadolint code with no dockopt equivalent is an error in a selection (it would
        select nothing) but only a warning in --ignore (ignoring it is harmless, and
        hadolint ignore lists are copied over whole)."""
        for option, codes in (("--select", self.select or ()), ("--ignore", self.ignore),
                              ("--extend-select", self.extend_select),
                              ("--fixable", self.fixable or ()),
                              ("--unfixable", self.unfixable),
                              ("--extend-safe-fixes", self.extend_safe_fixes),
                              ("--extend-unsafe-fixes", self.extend_unsafe_fixes)):
            for code in codes:
                problem = selector_problem(code, rules)
                if problem is None:
                    continue
                if option == "--ignore" and is_hadolint_code(code):
                    write_to(sys.stderr, f"dockopt: warning: {option}: {problem}\n")
                    continue
                fail(f"{option}: {problem}")

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
        if self.failure_threshold is not None:
            out = replace(out, failure_threshold=self.failure_threshold)
        if self.fixable is not None:
            out = replace(out, fixable=self.fixable)
        return replace(out, unfixable=out.unfixable + self.unfixable,
                       extend_safe_fixes=out.extend_safe_fixes + self.extend_safe_fixes,
                       extend_unsafe_fixes=out.extend_unsafe_fixes + self.extend_unsafe_fixes)

    def with_fix_options(self, fixable: Sequence[str], unfixable: Sequence[str],
                         extend_safe: Sequence[str], extend_unsafe: Sequence[str]
                         ) -> Selection:
        return replace(self, fixable=split_codes(fixable) or None,
                       unfixable=split_codes(unfixable),
                       extend_safe_fixes=split_codes(extend_safe),
                       extend_unsafe_fixes=split_codes(extend_unsafe))


def is_hadolint_code(code: str) -> bool:
    return len(code) >= 3 and code[:2] in ("DL", "SC") and code[2:].isdigit()


def selector_problem(code: str, rules: Sequence[type[Transform]]) -> str | None:
    """Why ``code`` selects no rule, or None when it selects one."""
    if code == "ALL" or any(cls.code.startswith(code) or cls.name == code
                            for cls in rules):
        return None
    if any(a.startswith(code) for cls in rules for a in cls.hadolint_codes()) \
            and len(code) >= 3:
        return None
    if is_hadolint_code(code):
        if code.startswith("SC"):
            return (f"`{code}` is a ShellCheck rule: dockopt does not run ShellCheck "
                    "(hadolint does, on RUN commands)")
        return (f"`{code}` is a hadolint rule with no dockopt equivalent (see "
                "`dockopt rules` for the hadolint codes each rule covers)")
    return (f"unknown rule selector `{code}`: it is not a rule name, ALL, a prefix of "
            "a rule code, or a hadolint code a rule covers (see `dockopt rules`)")


def config_problems(settings: Settings, text: str | None,
                    rules: Sequence[type[Transform]]) -> str | None:
    """The first wrong selector or rule option in a loaded config, as
    ``file:line:col: message`` (ConfigError's format), or None."""
    from dockopt.rewriter.config import key_pattern, locate, value_pattern

    source = settings.source or "config"
    for key, codes in (("select", settings.select), ("ignore", settings.ignore),
                       ("extend-select", settings.extend_select),
                       ("fixable", settings.fixable), ("unfixable", settings.unfixable),
                       ("extend-safe-fixes", settings.extend_safe_fixes),
                       ("extend-unsafe-fixes", settings.extend_unsafe_fixes)):
        for code in codes:
            problem = selector_problem(code, rules)
            if problem is None or (key == "ignore" and is_hadolint_code(code)):
                continue
            return f"{source}:{locate(text, value_pattern(code))}: `{key}`: {problem}"
    for key in settings.severity:
        problem = selector_problem(key, rules)
        if problem is not None and not is_hadolint_code(key):
            return f"{source}:{locate(text, key_pattern(key))}: `severity`: {problem}"
    by_key = {k: cls for cls in rules for k in (cls.code, cls.name)}
    for rule, options in settings.rules.items():
        cls = by_key.get(rule)
        if cls is None:
            header = rf"^\s*\[(?:tool\.dockopt\.)?rules\.\"?{re.escape(rule)}\"?\]"
            return (f"{source}:{locate(text, header, value_pattern(rule))}: "
                    f"`[rules.{rule}]`: no rule has this code or name")
        for name, value in options.items():
            expected = cls.options.get(name)
            if expected is None:
                known = ", ".join(sorted(cls.options)) or "none"
                return (f"{source}:{locate(text, key_pattern(name))}: `[rules.{rule}]`: "
                        f"unknown option `{name}` (options of {cls.code}: {known})")
            if not isinstance(value, expected):
                return (f"{source}:{locate(text, key_pattern(name))}: `[rules.{rule}]`: "
                        f"`{name}` must be a {expected.__name__}")
    return None


K = TypeVar("K")
V = TypeVar("V")
# Entries kept by SettingsFinder's caches: folders (a few hundred KB at most), and
# distinct settings (configs of one run: usually one or a few).
FOLDERS_KEPT = 4096
# Files whose paths and settings the first walk keeps for the second (see Inputs): a
# second walk costs about as much as the first (a stat, a real path and the settings
# lookup per file: a tenth of a check answered from the results cache), and 4096
# paths with their settings hold about half a megabyte.
FOUND_KEPT = 4096
SETTINGS_KEPT = 256


class Recent(OrderedDict[K, V]):
    """A dict that keeps its ``limit`` most recently used entries (a lookup with
    ``[]`` or a store counts as a use); older ones are dropped, to be computed again
    if asked for."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __getitem__(self, key: K) -> V:
        value = super().__getitem__(key)
        self.move_to_end(key)
        return value

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        if len(self) > self.limit:
            self.popitem(last=False)


@dataclass
class SettingsFinder:
    """Settings per file: --config, else the closest config file (cached per folder)."""

    config: Path | None
    isolated: bool
    selection: Selection
    # `--config KEY=VALUE` tables, applied in order over whichever config applies.
    overrides: tuple[dict[str, Any], ...] = ()
    # Every cache keeps only the most recently used answers (Recent): a run over
    # 100,000 folders must not hold one entry per folder, and files come folder by
    # folder (discovery walks depth first), so the answers a file needs are recent.
    _by_folder: dict[str, tuple[Path | None, Path | None]] = field(
        default_factory=lambda: Recent(FOLDERS_KEPT))
    # Per resolved folder, the closest config / hadolint config at or above it: the
    # files of one run share ancestors, so each folder is looked at about once.
    _config_above: dict[str, Path | None] = field(
        default_factory=lambda: Recent(FOLDERS_KEPT))
    _hadolint_above: dict[str, Path | None] = field(
        default_factory=lambda: Recent(FOLDERS_KEPT))
    # discover.real_path's memo: folder -> its resolved path.
    _resolved: dict[str, str] = field(default_factory=lambda: Recent(FOLDERS_KEPT))
    # Per (config, hadolint config): the settings, one object shared by their files.
    _by_file: dict[tuple[Path | None, Path | None], Settings] = field(
        default_factory=lambda: Recent(SETTINGS_KEPT))

    def for_path(self, path: Path) -> Settings:
        """Raises ConfigError."""
        if self.config is not None or self.isolated:
            return self.for_folder("")
        return self.for_folder(str(path if path.is_dir() else path.parent))

    def for_file(self, path: str) -> Settings:
        """``for_path`` of a path known not to be a folder (a file discovery found):
        no stat, no Path.  Raises ConfigError."""
        return self.for_folder(os.path.dirname(path) or ".")

    def for_folder(self, folder: str) -> Settings:
        """The settings of the files in ``folder``.  Raises ConfigError."""
        from dockopt.rewriter.config import (
            hadolint_settings,
            layered,
            load_settings,
            settings_from_dict,
        )

        if self.config is not None:
            sources: tuple[Path | None, Path | None] = (self.config, None)
        elif self.isolated:
            sources = (None, None)
        else:
            if folder not in self._by_folder:
                from dockopt.rewriter.config import config_in_or_above
                from dockopt.rewriter.hadolint_config import hadolint_config_in_or_above

                self._by_folder[folder] = (
                    config_in_or_above(folder, self._config_above, self._resolved),
                    hadolint_config_in_or_above(folder, cache=self._hadolint_above,
                                                resolved=self._resolved))
            sources = self._by_folder[folder]
        if sources not in self._by_file:
            source, hadolint = sources
            from dockopt.rewriter.discover import display_path

            # Messages name config files as the user would (relative when below the
            # working directory); find_config resolved them.
            source = Path(display_path(str(source))) if source is not None else None
            hadolint = Path(display_path(str(hadolint))) if hadolint is not None else None
            overrides: dict[str, Any] = {}
            for table in self.overrides:
                overrides = layered(overrides, table)
            if source is not None:
                chain = self._check_chain(source)
                base = load_settings(source, hadolint=hadolint, overrides=overrides,
                                     chain=chain)
            elif hadolint is not None:
                base = hadolint_settings(hadolint, overrides)
                self._check(base, hadolint.read_text(encoding="utf-8", errors="replace"))
            else:
                base = settings_from_dict(overrides, "--config")
            self._by_file[sources] = self.selection.apply(base)
        return self._by_file[sources]

    @staticmethod
    def _check(settings: Settings, text: str | None) -> None:
        from dockopt.rewriter.config import ConfigError
        from dockopt.transforms import REGISTRY

        problem = config_problems(settings, text, REGISTRY)
        if problem is not None:
            raise ConfigError(problem)

    def _check_chain(self, source: Path) -> list[tuple[Path, dict[str, Any], str]]:
        """Selectors and rule options of a config file and each file it extends, each
        checked alone so an error names the file and line it is in; the chain, read
        once, for load_settings."""
        from dockopt.rewriter.config import config_chain, settings_from_dict

        chain = config_chain(source)
        for path, data, text in chain:
            self._check(settings_from_dict(data, str(path), text=text), text)
        return chain


@dataclass(frozen=True)
class ConfigOption:
    """What the repeated `--config` options said: at most one file, and overrides."""

    file: Path | None = None
    overrides: tuple[dict[str, Any], ...] = ()


NO_CONFIG = ConfigOption()


def _config_option(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                   ) -> ConfigOption:
    """ruff's `--config`: an existing file, or a TOML `key = value` (a value that is
    neither is an error naming both readings)."""
    from dockopt.rewriter.config import ConfigError, parse_override, settings_from_dict

    file: Path | None = None
    overrides: list[dict[str, Any]] = []
    for value in values:
        path = Path(value)
        if path.is_file():
            if file is not None:
                raise click.BadParameter(f"only one config file may be given ({file}, "
                                         f"{value}); use KEY=VALUE for single settings")
            file = path
            continue
        if "=" not in value:
            write_to(sys.stderr, f"{value}:1:1: config file not found\n")
            sys.exit(2)
        try:
            table = parse_override(value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc)) from None
        from dockopt.transforms import REGISTRY

        problem = config_problems(settings_from_dict(table, "--config"), None, REGISTRY)
        if problem is not None:
            raise click.BadParameter(f"{value!r}: "
                                     f"{problem.removeprefix('--config:1:1: ')}")
        overrides.append(table)
    return ConfigOption(file, tuple(overrides))


@dataclass
class Input:
    """One file to process: where it is read from, and what the user calls it."""

    source: str  # a path, or "-" for stdin
    shown: str  # the path in messages and diff headers
    settings: Settings
    # The build context found for it without --context (see build_context_for), once.
    found_context: tuple[Path | None, str | None] | None = None
    # For stdin: the --stdin-filename, whose folder gives the build context (as an
    # editor's buffer of a Dockerfile on disk).
    stdin_name: str | None = None

    def patch_name(self) -> str | None:
        """Its name in diff headers (discover.patch_path): relative to the git work
        tree's top, else to the common parent with the working directory; None for
        unnamed stdin.  Worked out when asked: only diffs need it, and it costs a
        walk up the folders (a check answered from the results cache spent a tenth
        of its per-file time on it)."""
        from dockopt.rewriter.discover import patch_path

        name = self.patch_source()
        return patch_path(name) if name else None

    def patch_source(self) -> str | None:
        """The path ``patch_name`` names (for a worker to work it out when needed)."""
        return self.stdin_name if self.source == "-" else self.source


class Inputs:
    """The files of one run, in a stable order, made one at a time when iterated.

    Built by :func:`inputs`, which has already walked them once: every file's settings
    were resolved (a broken config stops the run before anything is read, written or
    printed), the arguments that name nothing were recorded as errors, and what a
    run must know before its first file is kept: the number of files (``len``: the
    worker count) and whether any file's settings allow unsafe fixes (the report
    marks them).  Iterating makes each :class:`Input` as its turn comes, so no run
    holds every file's record: memory stays flat in the number of files (issue 15).
    The first walk's paths and settings are kept while they are few (at most
    FOUND_KEPT), and iterating goes over them; beyond that, it walks the paths again."""

    def __init__(self, paths: Sequence[str], finder: SettingsFinder,
                 exclusion: Exclusion | None, stdin: Input | None = None) -> None:
        self.paths = tuple(paths) or (".",)
        self.finder = finder
        self.exclusion = exclusion
        self.stdin = stdin
        self.count = 1 if stdin is not None else 0
        self.unsafe_fixes = stdin is not None and stdin.settings.unsafe_fixes
        # The settings of every file when the first walk found one settings object
        # for all (one config, or none: the usual run), else None.
        self._shared: Settings | None = None
        # The files the first walk found, with their settings, while there are at most
        # FOUND_KEPT of them; None: walk again.
        self._found: list[tuple[str, Settings]] | None = None

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Input]:
        if self.stdin is not None:
            yield self.stdin
            return
        if self._found is not None:
            for path, settings in self._found:
                yield self._made(path, settings)
            return
        for found in self._files():
            yield self._input(found)

    def _files(self) -> Iterator[str]:
        from dockopt.rewriter.discover import discover

        for found in discover(self.paths, self.exclusion):
            if isinstance(found, str):
                yield found

    def _input(self, path: str) -> Input:
        from dockopt.rewriter.config import ConfigError

        try:
            # The first walk resolved every file's settings; when they were all one
            # object, the second need not look up each folder's configs again.
            settings = self._shared if self._shared is not None \
                else self.finder.for_file(path)
        except ConfigError as exc:  # a config that changed since the first walk
            write_to(sys.stderr, f"{exc}\n")
            sys.exit(2)
        return self._made(path, settings)

    @staticmethod
    def _made(path: str, settings: Settings) -> Input:
        from dockopt.rewriter.discover import display_path

        return Input(path, display_path(path), settings)

    def first_walk(self, errors: list[str]) -> None:
        """Resolve every file's settings (raises ConfigError), count the files, note
        the arguments that name nothing; keep the files while they are few."""
        from dockopt.rewriter.discover import Empty, Missing, discover

        first: Settings | None = None
        several = False
        kept: list[tuple[str, Settings]] | None = []
        for found in discover(self.paths, self.exclusion):
            if isinstance(found, Missing):
                errors.append(f"{found.path}: {found.reason}")
                continue
            if isinstance(found, Empty):
                # As ruff: a warning, not an error (exit 0 when nothing else is wrong).
                write_to(sys.stderr, f"dockopt: warning: no Dockerfiles found under "
                                     f"{found.path}\n")
                continue
            settings = self.finder.for_file(found)
            if kept is not None:
                kept.append((found, settings))
                if len(kept) > FOUND_KEPT:
                    kept = None  # too many to hold: the run walks again
            self.count += 1
            self.unsafe_fixes = self.unsafe_fixes or settings.unsafe_fixes
            if self.count == 1:
                first = settings
            elif settings is not first:
                several = True
        self._shared = first if self.count and not several else None
        self._found = kept


def inputs(paths: Sequence[str], stdin_filename: str | None,
            finder: SettingsFinder, errors: list[str],
            exclusion: Exclusion | None = None) -> Inputs:
    """Resolve the PATH arguments and every file's settings before touching any file,
    so a broken config stops the run before anything is written."""
    from dockopt.rewriter.config import ConfigError
    from dockopt.rewriter.discover import display_path

    if "-" in paths and len(paths) > 1:
        fail("`-` (stdin) cannot be combined with other paths")
    use_stdin = paths == ("-",) or (not paths and stdin_filename is not None)
    try:
        if use_stdin:
            where = Path(stdin_filename) if stdin_filename else Path.cwd()
            shown = display_path(stdin_filename) if stdin_filename else "-"
            item = Input("-", shown, finder.for_path(where), stdin_name=stdin_filename)
            return Inputs(paths, finder, exclusion, stdin=item)
        out = Inputs(paths, finder, exclusion)
        out.first_walk(errors)
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
    from dockopt.rewriter.cli.output import style, terminal_safe

    failed = False
    warnings = 0
    for d in diagnostics:
        if d.severity == "error":
            failed = True
        else:
            warnings += 1
            if quiet or warnings > MAX_WARNINGS:
                continue
        fg = "red" if d.severity == "error" else "yellow"
        write_to(sys.stderr, style(terminal_safe(d.format(shown)), color, fg=fg) + "\n")
    if warnings > MAX_WARNINGS and not quiet:
        write_to(sys.stderr, f"{shown}: {warnings - MAX_WARNINGS} more warnings not shown\n")
    return failed


def print_errors(errors: Iterable[str]) -> None:
    from dockopt.rewriter.cli.output import terminal_safe

    for message in errors:
        write_to(sys.stderr, f"dockopt: error: {terminal_safe(message)}\n")


def stream_color(choice: str, stream: TextIO) -> bool:
    from dockopt.rewriter.cli.output import use_color

    isatty = getattr(stream, "isatty", None)
    return use_color(choice, bool(isatty and isatty()))


def atomic_write(path: str, data: bytes) -> None:
    """See dockopt.rewriter.fileio.atomic_write (imported lazily: start-up cost)."""
    from dockopt.rewriter.fileio import atomic_write as write

    write(path, data)


def setup(paths: tuple[str, ...], stdin_filename: str | None, config: ConfigOption,
           isolated: bool, selection: Selection, errors: list[str],
           exclusion: Exclusion | None = None
           ) -> tuple[Inputs, Callable[[], tuple[type[Transform], ...]]]:
    """The inputs with their settings, and the rules (a function: loading every rule's
    module is needed only to check selectors or to list the rules, as SARIF does; a
    run answered from the results cache need not pay for it)."""
    from dockopt.rewriter.rules_doc import all_rules

    if selection.selectors():
        selection.validate(all_rules())
    finder = SettingsFinder(config.file, isolated, selection, config.overrides)
    return inputs(paths, stdin_filename, finder, errors, exclusion), all_rules


def make_exclusion(exclude: Sequence[str], extend_exclude: Sequence[str],
                   force_exclude: bool, respect_gitignore: bool) -> Exclusion:
    from dockopt.rewriter.discover import Exclusion

    return Exclusion(split_codes(exclude) + split_codes(extend_exclude), force_exclude,
                     respect_gitignore)

def build_context_for(item: Input, context: Path | None) -> Path | None:
    """The build context: --context, else the one a compose file gives the Dockerfile
    (compose.context_for), else the Dockerfile's folder; none for stdin."""
    if context is not None:
        return context
    source = item.source
    if source == "-":
        # Stdin: the context of --stdin-filename when its folder exists (an editor
        # pipes an unsaved buffer of a file on disk); else none, and the context
        # rules stay silent.
        if item.stdin_name is None or not Path(item.stdin_name).parent.is_dir():
            return None
        source = item.stdin_name
    if item.found_context is None:
        from dockopt.rewriter.compose import context_for

        item.found_context = context_for(Path(source))
    return item.found_context[0]

def say_context(item: Input, quiet: bool) -> None:
    """Print the note of a compose-chosen context once per file (stderr)."""
    if not quiet and item.found_context is not None and item.found_context[1]:
        write_to(sys.stderr, f"{item.shown}: {item.found_context[1]}\n")


def engine_errors(diagnostics: Sequence[Diagnostic]) -> tuple[list[Finding], list[Diagnostic]]:
    """Split error diagnostics: parse errors (BuildKit rejects the file: DPxxx) become
    error-level findings, reported in every format and failing the run with exit 1 as
    ruff and hadolint do for syntax errors; engine errors (DO001-DO003: no fixed
    point, a reverted rewrite, a transform that crashed) stay errors of dockopt
    itself (stderr, exit 2)."""
    findings: list[Finding] = []
    engine: list[Diagnostic] = []
    if not diagnostics:  # most files: and a run from the cache need not load the parser
        return findings, engine
    from dockopt.rewriter.diagnostic import UNKNOWN_INSTRUCTION
    from dockopt.transforms.base import Finding

    for d in diagnostics:
        # An unknown instruction parses (the parser keeps it as a warning) but BuildKit
        # refuses to build it ("unknown instruction: FROMM"): an error for the user.
        if d.severity != "error" and d.code != UNKNOWN_INSTRUCTION:
            continue
        if d.code.startswith("DP"):
            findings.append(Finding(d.code, "parse-error", d.message, d.line, d.column,
                                    d.line, d.column, "error"))
        else:
            engine.append(d)
    return findings, engine


def unreadable_finding(text: str) -> Finding | None:
    """An error finding for a file that is not text at all (a NUL byte in its first
    8 KiB, as git's binary detection), else None.  Invalid UTF-8 alone is not enough:
    BuildKit builds Latin-1 comments and labels (DP108 warns about them)."""
    if text.find("\x00", 0, 8192) < 0:  # no copy of the head, no import: every file
        return None
    from dockopt.rewriter.diagnostic import NOT_TEXT
    from dockopt.transforms.base import Finding

    return Finding(NOT_TEXT, "not-a-dockerfile", "Not a Dockerfile: the file holds binary "
                   "data (a NUL byte); nothing was checked", 1, 1, 1, 1, "error")


def threshold_failed(findings: Iterable[Finding], settings: Settings) -> bool:
    """Whether any finding is at or above the file's failure threshold."""
    from dockopt.rewriter.config import fails

    return any(fails(f.level, settings.failure_threshold) for f in findings)


def summary_line(summary: str, internal_error: bool) -> str:
    """The closing summary, but never "All checks passed!" after an error: a path that
    does not exist or a crash is not a pass."""
    if internal_error and summary.startswith("All checks passed!"):
        return ""
    return summary


def with_levels(findings: Iterable[Finding], settings: Settings,
                rules: Sequence[type[Transform]] | None = None) -> list[Finding]:
    """The findings with their severity as the config overrides it (`severity` in
    dockopt's config, `override` in .hadolint.yaml): by code, name, or a hadolint code
    the rule covers; the most specific key wins (code, then name, then hadolint)."""
    from dataclasses import replace as replace_finding

    if not settings.severity:
        return list(findings)
    if rules is None:
        from dockopt.transforms import REGISTRY

        rules = REGISTRY
    by_code = {cls.code: cls for cls in rules}
    out = []
    for f in findings:
        cls = by_code.get(f.code)
        keys = [f.code, f.name, *(cls.hadolint_codes() if cls is not None else ())]
        level = next((settings.severity[k] for k in keys if k in settings.severity), None)
        levels: dict[str | None, Level] = {"error": "error", "warning": "warning",
                                           "info": "info", "style": "style"}
        new = levels.get(level)  # the config's values were checked against these
        out.append(replace_finding(f, level=new) if new is not None else f)
    return out


def report_file_diagnostics(shown: str, diagnostics: Sequence[Diagnostic], quiet: bool,
                            color: bool) -> tuple[list[Finding], list[Diagnostic]]:
    """One file's diagnostics, as check and fix both report them: parse errors become
    findings (returned), warnings go to stderr (not those already a finding, such as
    an unknown instruction), engine errors go to stderr and are returned."""
    parse_findings, engine = engine_errors(diagnostics)
    as_findings = {(f.code, f.line, f.column) for f in parse_findings}
    report_diagnostics(shown, [d for d in diagnostics if d.severity != "error"
                               and (d.code, d.line, d.column) not in as_findings],
                       quiet, color)
    if engine:
        report_diagnostics(shown, engine, quiet, color)
    return parse_findings, engine


def results_cache(inputs: Inputs, no_cache: bool, cache_dir: Path | None, quiet: bool,
                  doing: str = "checking") -> CacheSpec | None:
    """The results cache for this run: none with --no-cache or DOCKOPT_NO_CACHE, for
    stdin alone, or (with a warning) when its folder cannot be made."""
    from dockopt.rewriter import result_cache

    if no_cache or result_cache.disabled_by_env():
        return None
    if inputs.stdin is not None or not len(inputs):
        return None
    try:
        return result_cache.open_cache(cache_dir or result_cache.default_dir())
    except result_cache.CacheError as exc:
        if not quiet:
            write_to(sys.stderr, f"warning: {exc}; {doing} without the results cache\n")
        return None
