"""Settings, and finding them in config files.

``[tool.dockopt]`` in ``pyproject.toml``, or the top level of ``.dockopt.toml`` /
``dockopt.toml``.  The closest file to the Dockerfile wins (searching upwards); in
one folder ``.dockopt.toml`` beats ``dockopt.toml`` beats ``pyproject.toml``, as in
ruff.  A ``pyproject.toml`` without ``[tool.dockopt]`` does not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

CachePolicy = Literal["clean", "mount"]
_CONFIG_NAMES = (".dockopt.toml", "dockopt.toml", "pyproject.toml")
_KNOWN_KEYS = {"select", "ignore", "extend-select", "unsafe-fixes", "cache", "rules",
               "max-passes"}


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
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str | None = None  # the config file these came from

    def selects(self, code: str, name: str) -> bool:
        """ruff-style selection: prefixes of codes, full names, ALL."""
        def hit(patterns: tuple[str, ...]) -> int:
            best = -1
            for p in patterns:
                if p == "ALL":
                    best = max(best, 0)
                elif p == name or code.startswith(p):
                    best = max(best, len(p) if p != name else 99)
            return best

        sel = max(hit(self.select), hit(self.extend_select))
        if sel < 0:
            return False
        ign = hit(self.ignore)
        return ign < 0 or sel > ign  # the more specific pattern wins; a tie ignores

    def rule_options(self, code: str, name: str) -> dict[str, Any]:
        return {**self.rules.get(name, {}), **self.rules.get(code, {})}

    def merged(self, **overrides: Any) -> Settings:
        """These settings with CLI overrides (None means: not given)."""
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **given)


def find_config(start: Path) -> Path | None:
    """The closest config file at or above ``start`` (a file or a folder)."""
    folder = start if start.is_dir() else start.parent
    folder = folder.resolve()
    for d in (folder, *folder.parents):
        for name in _CONFIG_NAMES:
            candidate = d / name
            if candidate.is_file():
                if name == "pyproject.toml" and not _has_tool_section(candidate):
                    continue
                return candidate
    return None


def _has_tool_section(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^\s*\[tool\.dockopt(\.|\])", text, re.M) is not None


def load_settings(path: Path) -> Settings:
    """Read one config file. Raises ConfigError with ``file:line:col: message``."""
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
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
    return settings_from_dict(data, str(path))


def settings_from_dict(data: dict[str, Any], source: str) -> Settings:
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{source}:1:1: unknown setting(s): {', '.join(sorted(unknown))}")

    def codes(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{source}:1:1: `{key}` must be a list of rule codes")
        return tuple(value)

    cache = data.get("cache", "clean")
    if cache not in ("clean", "mount"):
        raise ConfigError(f"{source}:1:1: `cache` must be \"clean\" or \"mount\", not {cache!r}")
    unsafe = data.get("unsafe-fixes", False)
    if not isinstance(unsafe, bool):
        raise ConfigError(f"{source}:1:1: `unsafe-fixes` must be true or false")
    rules = data.get("rules", {})
    if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
        raise ConfigError(f"{source}:1:1: `rules` must be a table of tables")
    passes = data.get("max-passes", 100)
    if not isinstance(passes, int) or passes < 1:
        raise ConfigError(f"{source}:1:1: `max-passes` must be a positive integer")
    return Settings(
        select=codes("select", ("ALL",)),
        ignore=codes("ignore", ()),
        extend_select=codes("extend-select", ()),
        unsafe_fixes=unsafe,
        cache=cache,
        max_passes=passes,
        rules=rules,
        source=source,
    )


def settings_for(path: Path | None, *, config: Path | None = None,
                 isolated: bool = False) -> Settings:
    """Settings for a Dockerfile: ``--config`` if given, else the closest file."""
    if config is not None:
        return load_settings(config)
    if isolated or path is None:
        return Settings()
    found = find_config(path)
    return load_settings(found) if found is not None else Settings()
