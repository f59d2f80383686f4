"""The editor's settings for dockopt, and the settings in force for one file.

The client sends them in ``initializationOptions`` and in
``workspace/didChangeConfiguration`` as an object, either flat or under a
``"dockopt"`` (VS Code's configuration section) or ``"settings"`` key (ruff's)::

    {"select": ["DO2"], "ignore": ["DO604"], "extendSelect": [],
     "unsafeFixes": false, "cache": "clean", "configPath": "tools/dockopt.toml",
     "isolated": false, "debounce": 150}

They layer over the config files exactly as the command-line options do (the CLI's
``Selection`` and ``SettingsFinder``): ``select`` replaces the config's selection,
``ignore`` adds to it, ``unsafeFixes`` and ``cache`` override; ``configPath`` is
``--config`` (relative to the first workspace folder), ``isolated`` is
``--isolated``; without them the closest config file to each Dockerfile wins.
``debounce`` is the delay in milliseconds between an edit and the lint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dockopt.rewriter.cli.inputs import SettingsFinder
from dockopt.rewriter.cli.options import Selection
from dockopt.rewriter.config import CachePolicy, Settings
from dockopt.rewriter.records import dataclass

DEFAULT_DEBOUNCE_MS = 150


@dataclass(frozen=True)
class ClientSettings:
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    unsafe_fixes: bool | None = None
    cache: CachePolicy | None = None
    config_path: str | None = None
    isolated: bool = False
    debounce_ms: int = DEFAULT_DEBOUNCE_MS

    @classmethod
    def parse(cls, raw: Any) -> tuple[ClientSettings, list[str]]:
        """The settings, and a message per value that was ignored as invalid."""
        problems: list[str] = []
        if not isinstance(raw, dict):
            return cls(), ([] if raw is None else [f"settings must be an object, not {raw!r}"])
        for key in ("dockopt", "settings"):
            if isinstance(raw.get(key), dict):
                raw = raw[key]
                break

        def codes(key: str) -> tuple[str, ...] | None:
            value = raw.get(key)
            if value is None:
                return None
            if isinstance(value, str):
                value = value.split(",")
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(f"`{key}` must be a list of rule codes")
                return None
            return tuple(v.strip() for v in value if v.strip())

        def flag(key: str) -> bool | None:
            value = raw.get(key)
            if value is None or isinstance(value, bool):
                return value
            problems.append(f"`{key}` must be true or false")
            return None

        cache = raw.get("cache")
        policy: CachePolicy | None = None
        if cache == "clean":
            policy = "clean"
        elif cache == "mount":
            policy = "mount"
        elif cache is not None:
            problems.append('`cache` must be "clean" or "mount"')
        config = raw.get("configPath")
        if config is not None and not isinstance(config, str):
            problems.append("`configPath` must be a path")
            config = None
        debounce = raw.get("debounce", DEFAULT_DEBOUNCE_MS)
        if not isinstance(debounce, int | float) or isinstance(debounce, bool) or debounce < 0:
            problems.append("`debounce` must be a number of milliseconds")
            debounce = DEFAULT_DEBOUNCE_MS
        return cls(select=codes("select"), ignore=codes("ignore") or (),
                   extend_select=codes("extendSelect") or (),
                   unsafe_fixes=flag("unsafeFixes"), cache=policy,
                   config_path=config or None, isolated=bool(flag("isolated")),
                   debounce_ms=int(debounce)), problems

    def unknown_selectors(self) -> list[str]:
        """Selectors that match no rule (the CLI refuses them; the server says so)."""
        from dockopt.rewriter.rules_doc import all_rules

        rules = all_rules()
        return [c for c in (*(self.select or ()), *self.ignore, *self.extend_select)
                if c != "ALL" and not any(r.code.startswith(c) or r.name == c for r in rules)]


class SettingsResolver:
    """Settings per file, as ``dockopt check``/``fix`` would find them (cached per
    folder until ``reset``: after a settings change or a config file's save)."""

    def __init__(self, client: ClientSettings, root: Path | None) -> None:
        config = None
        if client.config_path:
            config = Path(client.config_path).expanduser()
            if not config.is_absolute() and root is not None:
                config = root / config
        selection = Selection(client.select, client.ignore, client.extend_select,
                              client.unsafe_fixes, client.cache)
        self.root = root
        self.finder = SettingsFinder(config, client.isolated, selection)

    def for_path(self, path: Path | None) -> Settings:
        """Raises ConfigError (the message names the file, line and column)."""
        if path is None:
            if self.root is None:
                return self.finder.selection.apply(Settings())
            return self.finder.for_path(self.root)
        return self.finder.for_path(path)

    def reset(self) -> None:
        self.finder = SettingsFinder(self.finder.config, self.finder.isolated,
                                     self.finder.selection)
