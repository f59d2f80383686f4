"""Settings, and finding them in config files.

``[tool.dockopt]`` in ``pyproject.toml``, or the top level of ``.dockopt.toml`` /
``dockopt.toml``.  The closest file to the Dockerfile wins (searching upwards); in
one folder ``.dockopt.toml`` beats ``dockopt.toml`` beats ``pyproject.toml``, as in
ruff.  A ``pyproject.toml`` without ``[tool.dockopt]`` does not count.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

from dockopt.rewriter.records import dataclass

CachePolicy = Literal["clean", "mount"]
Threshold = Literal["error", "warning", "info", "style", "none"]
# Severities from the most to the least severe; a finding fails a run when its level is
# at or above the threshold (hadolint's `--failure-threshold`; `none` never fails).
LEVELS: tuple[str, ...] = ("error", "warning", "info", "style")
THRESHOLDS: tuple[str, ...] = (*LEVELS, "none")


def fails(level: str, threshold: str) -> bool:
    """Whether a finding of ``level`` makes the exit code 1 under ``threshold``."""
    if threshold == "none" or level not in LEVELS:
        return False
    return LEVELS.index(level) <= LEVELS.index(threshold)
_CONFIG_NAMES = (".dockopt.toml", "dockopt.toml", "pyproject.toml")
_KNOWN_KEYS = {"extend", "select", "ignore", "extend-select", "unsafe-fixes", "cache", "rules",
               "max-passes", "failure-threshold", "severity", "trusted-registries",
               "fixable", "unfixable", "extend-safe-fixes", "extend-unsafe-fixes"}
FixPolicy = Literal["off", "safe", "unsafe"]


def _specificity(patterns: tuple[str, ...], code: str, name: str,
                 aliases: tuple[str, ...]) -> int:
    """How specifically ``patterns`` name a rule: -1 not at all, 0 ALL, the length of
    the longest matching code prefix or hadolint code, 99 for the rule's name."""
    best = -1
    for p in patterns:
        if p == "ALL":
            best = max(best, 0)
        elif p == name or code.startswith(p):
            best = max(best, len(p) if p != name else 99)
        elif len(p) >= 3 and any(a.startswith(p) for a in aliases):
            best = max(best, len(p))
    return best


@functools.lru_cache(maxsize=1024)
def _fix_policy(fixable: tuple[str, ...], unfixable: tuple[str, ...],
                extend_safe: tuple[str, ...], extend_unsafe: tuple[str, ...],
                code: str, name: str, aliases: tuple[str, ...]) -> FixPolicy | None:
    """Settings.fix_policy, remembered per selectors and rule: every file asks it
    for every rule (on 451 files, 15,000 times for the same few dozen answers)."""
    fixable_at = _specificity(fixable, code, name, aliases)
    unfixable_at = _specificity(unfixable, code, name, aliases)
    if fixable_at < 0 or (unfixable_at >= 0 and unfixable_at >= fixable_at):
        return "off"
    safe = _specificity(extend_safe, code, name, aliases)
    unsafe = _specificity(extend_unsafe, code, name, aliases)
    if unsafe >= 0 and unsafe >= safe:
        return "unsafe"
    return "safe" if safe >= 0 else None


class ConfigError(Exception):
    """A config file is unreadable or wrong; the message names file, line and column."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    cache: CachePolicy = "clean"
    max_passes: int = 100
    # hadolint's default: `style` findings are shown but do not fail the run.
    failure_threshold: Threshold = "info"
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Severity per rule (code, name or a hadolint code it covers) -> level.
    severity: dict[str, str] = field(default_factory=dict)
    # Registries base images may come from (DO509); empty: the rule is off.
    trusted_registries: tuple[str, ...] = ()
    # ruff's fix settings: which rules' fixes apply at all, and which are promoted to
    # safe or demoted to unsafe (selectors, as select/ignore).
    fixable: tuple[str, ...] = ("ALL",)
    unfixable: tuple[str, ...] = ()
    extend_safe_fixes: tuple[str, ...] = ()
    extend_unsafe_fixes: tuple[str, ...] = ()
    source: str | None = None  # the config file these came from

    def selects(self, code: str, name: str, aliases: tuple[str, ...] = ()) -> bool:
        """ruff-style selection: prefixes of codes, full names, ALL; ``aliases`` are
        the hadolint codes a rule covers (``DL3015``), matched whole or by a prefix
        of at least ``DL`` and one digit, so a hadolint config's list works as is."""
        def hit(patterns: tuple[str, ...]) -> int:
            return _specificity(patterns, code, name, aliases)

        sel = max(hit(self.select), hit(self.extend_select))
        if sel < 0:
            return False
        ign = hit(self.ignore)
        return ign < 0 or sel > ign  # the more specific pattern wins; a tie ignores

    def fix_policy(self, code: str, name: str, aliases: tuple[str, ...] = ()
                   ) -> FixPolicy | None:
        """What the fix settings do to this rule's fixes: "off" (not fixable),
        "safe"/"unsafe" (promoted/demoted), None (as the rule decides).  The more
        specific selector wins; a tie turns fixes off, or makes them unsafe."""
        return _fix_policy(self.fixable, self.unfixable, self.extend_safe_fixes,
                           self.extend_unsafe_fixes, code, name, aliases)

    def rule_options(self, code: str, name: str) -> dict[str, Any]:
        return {**self.rules.get(name, {}), **self.rules.get(code, {})}

    def merged(self, **overrides: Any) -> Settings:
        """These settings with CLI overrides (None means: not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)


def find_config(start: Path, cache: dict[str, Path | None] | None = None,
                resolved: dict[str, str] | None = None) -> Path | None:
    """The closest config file at or above ``start`` (a file or a folder).

    ``cache`` (resolved folder -> its answer) is shared by the lookups of one run:
    the files of a repository share their ancestors, so each folder is looked at once
    instead of once per file below it (most of the settings cost of checking many
    files in sibling folders).  ``resolved``: a run's memo for ``discover.real_path``."""
    folder = start if start.is_dir() else start.parent
    return config_in_or_above(str(folder), cache, resolved)


def config_in_or_above(folder: str, cache: dict[str, Path | None] | None = None,
                       resolved: dict[str, str] | None = None) -> Path | None:
    """``find_config`` of a path known to be a folder, given as a string: a run asks
    this for every file's folder, and each Path made cost more than the stats."""
    from dockopt.rewriter.discover import real_path

    return closest_above(real_path(folder, resolved), _config_in, cache)


def _config_in(d: Path | str) -> Path | None:
    folder = str(d)  # os.path on strings: a folder of a big run costs a few stats only
    for name in _CONFIG_NAMES:
        if os.path.isfile(os.path.join(folder, name)):
            candidate = Path(folder, name)
            if name == "pyproject.toml" and not _has_tool_section(candidate):
                continue
            return candidate
    return None


def closest_above(folder: Path | str, look: Callable[[str], Path | None],
                  cache: dict[str, Path | None] | None = None) -> Path | None:
    """The first ``look(d)`` that is not None for ``d`` = the (resolved) ``folder``
    and then its parents, upwards (``d`` is a string).  With ``cache``, the answer
    of every folder walked is recorded, and a folder already answered ends the
    walk."""
    walked: list[str] = []
    found: Path | None = None
    key = str(folder)
    while True:  # strings, not folder.parents: a cached parent usually ends it at once
        if cache is not None and key in cache:
            found = cache[key]
            break
        walked.append(key)
        found = look(key)
        if found is not None:
            break
        parent = os.path.dirname(key)
        if parent == key:
            break
        key = parent
    if cache is not None:
        for key in walked:  # each lies at or below the folder that answered
            cache[key] = found
    return found


def _has_tool_section(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*\[tool\.dockopt(\.|\])", text, re.M) is not None


def load_settings(path: Path, *, hadolint: Path | None = None,
                  overrides: dict[str, Any] | None = None,
                  chain: list[tuple[Path, dict[str, Any], str]] | None = None) -> Settings:
    """Read one config file, with the files it ``extend``s under it and a hadolint
    config under those (whose settings it overrides), then ``overrides`` (``--config
    KEY=VALUE``) on top. ``chain``: ``config_chain(path)`` when the caller has it
    already. Raises ConfigError with ``file:line:col: message``."""
    if chain is None:
        chain = config_chain(path)
    data: dict[str, Any] = {}
    for _, layer, _ in chain:
        data = layered(data, layer)
    if hadolint is not None:
        from dockopt.rewriter.hadolint_config import load_hadolint, merge

        data = merge(load_hadolint(hadolint), data)
    if overrides:
        data = layered(data, overrides)
    _, _, text = chain[-1]
    return settings_from_dict(data, str(path), text=text)


def config_chain(path: Path) -> list[tuple[Path, dict[str, Any], str]]:
    """The config file and those it extends, the most basic first: (path, table
    without `extend`, text). Each file is checked on its own, so an error names the
    file and line it is in. ``extend`` is relative to the file that says it (ruff)."""
    chain: list[tuple[Path, dict[str, Any], str]] = []
    seen: list[Path] = []
    current: Path | None = path
    while current is not None:
        resolved = current.resolve()
        if resolved in seen:
            cycle = " -> ".join(str(p) for p in [*seen, resolved])
            raise ConfigError(f"{current}:1:1: `extend` forms a cycle: {cycle}")
        seen.append(resolved)
        data, text = read_config(current)
        nxt = data.pop("extend", None)
        settings_from_dict(data, str(current), text=text)  # its own keys, its own lines
        chain.append((current, data, text))
        if nxt is None:
            break
        if not isinstance(nxt, str) or not nxt:
            raise ConfigError(f"{current}:{locate(text, key_pattern('extend'))}: `extend` "
                              "must be the path of another config file")
        target = Path(nxt).expanduser()
        if not target.is_absolute():
            target = Path(os.path.normpath(current.parent / target))
        if not target.is_file():
            raise ConfigError(f"{current}:{locate(text, key_pattern('extend'))}: `extend`: "
                              f"{target}: config file not found")
        current = target
    return chain[::-1]


# Lists that add to what the layer below selected unless this layer sets the base
# list itself (ruff's layering of `select` / `extend-select` / `ignore`).
_ADDITIVE = {"extend-select": "select", "ignore": "select", "unfixable": "fixable",
             "extend-safe-fixes": None, "extend-unsafe-fixes": None}


def layered(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Config table ``top`` over ``base`` (an extended file, or a config under
    ``--config KEY=VALUE`` overrides): a key in ``top`` replaces the one below, except
    that `extend-select`, `ignore`, `unfixable` and the `extend-*-fixes` lists add up
    (until ``top`` sets the `select`/`fixable` they refine), and `rules` and
    `severity` merge per rule."""
    out = dict(base)
    for key, value in top.items():
        below = base.get(key)
        if key in _ADDITIVE and isinstance(below, list) and isinstance(value, list):
            resets = _ADDITIVE[key]
            out[key] = value if resets is not None and resets in top else below + value
        elif key == "rules" and isinstance(below, dict) and isinstance(value, dict):
            out[key] = {**below, **{r: {**below.get(r, {}), **opts} if
                                    isinstance(opts, dict) and isinstance(below.get(r), dict)
                                    else opts for r, opts in value.items()}}
        elif key == "severity" and isinstance(below, dict) and isinstance(value, dict):
            out[key] = {**below, **value}
        else:
            out[key] = value
    for key, resets in _ADDITIVE.items():
        # `select` set above drops what the layers below added to the old selection.
        if resets is not None and resets in top and key not in top and key in out:
            del out[key]
    return out


def parse_override(option: str) -> dict[str, Any]:
    """One ``--config 'KEY = VALUE'`` (ruff's syntax: a TOML line, dotted keys allowed:
    ``rules.DO204.option = 1``) as a table. Raises ConfigError."""
    import tomllib

    try:
        data = tomllib.loads(option)
    except tomllib.TOMLDecodeError as exc:
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"--config {option!r}: neither a config file nor a TOML "
                          f"`key = value` ({msg})") from None
    if not data:
        raise ConfigError(f"--config {option!r}: neither a config file nor a TOML "
                          "`key = value`")
    if "extend" in data:
        raise ConfigError(f"--config {option!r}: `extend` is for config files; pass the "
                          "file itself as --config")
    try:
        settings_from_dict(data, "--config")  # unknown keys and wrong types, at once
    except ConfigError as exc:
        raise ConfigError(f"--config {option!r}: "
                          f"{str(exc).removeprefix('--config:1:1: ')}") from None
    return data


def hadolint_settings(path: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from a hadolint config alone (no dockopt config applies), and
    ``--config KEY=VALUE`` overrides on top."""
    from dockopt.rewriter.hadolint_config import load_hadolint

    return settings_from_dict(layered(load_hadolint(path), overrides or {}), str(path))


def read_config(path: Path) -> tuple[dict[str, Any], str]:
    """A dockopt config file's table (``[tool.dockopt]`` of a pyproject.toml) and text."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}:1:1: not UTF-8 ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        where = f"{m.group(1)}:{m.group(2)}" if m else "1:1"
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ConfigError(f"{path}:{where}: invalid TOML: {msg}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("dockopt", {})
    return data, text


def locate(text: str | None, *needles: str) -> str:
    """``line:col`` of the first of ``needles`` found in a config file's text (a key
    at the start of a line, a quoted value, a table header), else ``1:1``."""
    if not text:
        return "1:1"
    for needle in needles:
        m = re.search(needle, text, re.M)
        if m:
            line = text.count("\n", 0, m.start()) + 1
            return f"{line}:{m.start() - (text.rfind(chr(10), 0, m.start()) + 1) + 1}"
    return "1:1"


def key_pattern(key: str) -> str:
    """A regex for ``key = ...`` at the start of a line (bare or quoted key)."""
    k = re.escape(key)
    return rf"^[ \t]*(?:{k}|\"{k}\"|'{k}')[ \t]*="


def value_pattern(value: str) -> str:
    """A regex for ``value`` as a quoted TOML string."""
    v = re.escape(value)
    return rf"\"{v}\"|'{v}'"


def settings_from_dict(data: dict[str, Any], source: str, *, text: str | None = None
                       ) -> Settings:
    def where(key: str) -> str:
        return f"{source}:{locate(text, key_pattern(key))}"

    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(f"{where(unknown[0])}: unknown setting(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_KNOWN_KEYS))})")

    def codes(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where(key)}: `{key}` must be a list of rule codes")
        return tuple(value)

    cache = data.get("cache", "clean")
    if cache not in ("clean", "mount"):
        raise ConfigError(f"{where('cache')}: `cache` must be \"clean\" or \"mount\", "
                          f"not {cache!r}")
    unsafe = data.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{where('unsafe-fixes')}: `unsafe-fixes` must be true or false")
    rules = data.get("rules", {})
    if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
        raise ConfigError(f"{where('rules')}: `rules` must be a table of tables")
    threshold = data.get("failure-threshold", "info")
    if threshold not in THRESHOLDS:
        raise ConfigError(f"{where('failure-threshold')}: `failure-threshold` must be one of "
                          f"{', '.join(THRESHOLDS)}, not {threshold!r}")
    passes = data.get("max-passes", 100)
    if not isinstance(passes, int) or passes < 1:
        raise ConfigError(f"{where('max-passes')}: `max-passes` must be a positive integer")
    severity = data.get("severity", {})
    if not isinstance(severity, dict) or not all(v in LEVELS for v in severity.values()):
        raise ConfigError(f"{where('severity')}: `severity` maps rule codes to one of "
                          f"{', '.join(LEVELS)}")
    registries = data.get("trusted-registries", [])
    if not isinstance(registries, list) or not all(isinstance(r, str) for r in registries):
        raise ConfigError(f"{where('trusted-registries')}: `trusted-registries` must be a "
                          "list of registry names")
    return Settings(
        fixable=codes("fixable", ("ALL",)),
        unfixable=codes("unfixable", ()),
        extend_safe_fixes=codes("extend-safe-fixes", ()),
        extend_unsafe_fixes=codes("extend-unsafe-fixes", ()),
        select=codes("select", ("ALL",)),
        ignore=codes("ignore", ()),
        extend_select=codes("extend-select", ()),
        unsafe_fixes=unsafe,
        cache=cache,
        max_passes=passes,
        failure_threshold=threshold,
        rules=rules,
        severity={str(k): str(v) for k, v in severity.items()},
        trusted_registries=tuple(registries),
        source=source,
    )


def settings_for(path: Path | None, *, config: Path | None = None,
                 isolated: bool = False, overrides: dict[str, Any] | None = None
                 ) -> Settings:
    """Settings for a Dockerfile: ``--config`` if given, else the closest file;
    ``overrides`` (``--config KEY=VALUE``) on top of either."""
    if config is not None:
        return load_settings(config, overrides=overrides)
    if isolated or path is None:
        return settings_from_dict(overrides or {}, "--config")
    from dockopt.rewriter.hadolint_config import find_hadolint_config

    found = find_config(path)
    hadolint = find_hadolint_config(path)
    if found is not None:
        return load_settings(found, hadolint=hadolint, overrides=overrides)
    return hadolint_settings(hadolint, overrides) if hadolint is not None \
        else settings_from_dict(overrides or {}, "--config")
