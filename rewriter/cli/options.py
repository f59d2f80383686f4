"""The command-line options `check` and `fix` share (ruff's names): rule selection,
fix policy, config files, exclusions, the results cache and `--jobs`; and the checks
that a selector or a config's rule table names real rules."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dockopt.rewriter.cli.common import fail, write_to
from dockopt.rewriter.records import dataclass

if TYPE_CHECKING:
    from dockopt.rewriter.config import CachePolicy, Settings, Threshold
    from dockopt.rewriter.discover import Exclusion
    from dockopt.transforms.base import Transform


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


def make_exclusion(exclude: Sequence[str], extend_exclude: Sequence[str],
                   force_exclude: bool, respect_gitignore: bool) -> Exclusion:
    from dockopt.rewriter.discover import Exclusion

    return Exclusion(split_codes(exclude) + split_codes(extend_exclude), force_exclude,
                     respect_gitignore)
