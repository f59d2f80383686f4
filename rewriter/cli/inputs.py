"""The files a run of `check` or `fix` works on: found lazily, each with the settings
of its closest config file, read one at a time (memory stays flat in the number of
files); their build contexts; the results cache for the run."""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dockopt.rewriter.cli.common import fail, write_to
from dockopt.rewriter.cli.options import ConfigOption, Selection, config_problems
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.config import Settings
    from dockopt.rewriter.discover import Exclusion
    from dockopt.rewriter.result_cache import CacheSpec
    from dockopt.transforms.base import Transform


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


def results_cache(inputs: Inputs, no_cache: bool, cache_dir: Path | None, quiet: bool,
                  doing: str = "checking") -> CacheSpec | None:
    """The results cache for this run: none with --no-cache or DOCKOPT_NO_CACHE, for
    stdin (a run reads stdin alone, so no task of it gets a cache), or (with a
    warning) when its folder cannot be made."""
    if no_cache or inputs.stdin is not None or not len(inputs):
        # Before the import: `fix -` (editors, per keystroke) must not load hashlib
        # and pickle for a cache it never uses (13 ms of imports, measured once).
        return None
    from dockopt.rewriter import result_cache

    if result_cache.disabled_by_env():
        return None
    try:
        return result_cache.open_cache(cache_dir or result_cache.default_dir())
    except result_cache.CacheError as exc:
        if not quiet:
            write_to(sys.stderr, f"warning: {exc}; {doing} without the results cache\n")
        return None
