"""hadolint's config file (`.hadolint.yaml` / `.hadolint.yml`), read as dockopt settings.

A team moving from hadolint keeps its file: the keys dockopt can honour become the
same settings as dockopt's own config (docs/hadolint.md has the full table):

    ignored            -> ignore (hadolint codes select the dockopt rules covering them)
    failure-threshold  -> failure-threshold (`ignore` is hadolint's name for `none`)
    no-fail            -> failure-threshold = "none"
    override           -> severity per rule (error / warning / info / style lists)
    trustedRegistries  -> trusted-registries (DO509 reports base images outside them)

Discovery: the closest `.hadolint.yaml` (then `.hadolint.yml`) at or above the
Dockerfile's folder, as dockopt finds its own config (hadolint itself looks in the
working directory only); then hadolint's user-level files ($XDG_CONFIG_HOME/hadolint.yaml,
~/.config/hadolint.yaml, ~/.hadolint/hadolint.yaml, ~/hadolint/config.yaml,
~/.hadolint.yaml).  dockopt's own config wins where both say something, except that
the two `ignore` lists add up (both only remove findings).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from dockopt.rewriter.config import LEVELS, ConfigError, key_pattern, locate

NAMES = (".hadolint.yaml", ".hadolint.yml")
# Keys hadolint knows that dockopt reads but cannot act on (no rule covers them): kept
# silent, listed in docs/hadolint.md.
_NOT_HONOURED = frozenset({"label-schema", "strict-labels", "disable-ignore-pragma",
                           "no-color", "format", "verbose"})
_KNOWN = frozenset({"ignored", "failure-threshold", "no-fail", "override",
                    "trustedRegistries"}) | _NOT_HONOURED


def user_level_files(environ: dict[str, str] | None = None) -> list[Path]:
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME", str(Path.home())))
    out = []
    if env.get("XDG_CONFIG_HOME"):
        out.append(Path(env["XDG_CONFIG_HOME"]) / "hadolint.yaml")
    out += [home / ".config" / "hadolint.yaml", home / ".hadolint" / "hadolint.yaml",
            home / "hadolint" / "config.yaml", home / ".hadolint.yaml"]
    return out


def find_hadolint_config(start: Path, *, user_level: bool = True,
                         cache: dict[str, Path | None] | None = None,
                         resolved: dict[str, str] | None = None) -> Path | None:
    """The closest `.hadolint.yaml`/`.hadolint.yml` at or above ``start``, else a
    user-level file, else None.  ``cache``: as ``config.find_config``'s (one run's
    answers per folder; the user-level file is looked up once per cache too);
    ``resolved``: as its."""
    folder = start if start.is_dir() else start.parent
    return hadolint_config_in_or_above(str(folder), user_level=user_level, cache=cache,
                                       resolved=resolved)


def hadolint_config_in_or_above(folder: str, *, user_level: bool = True,
                                cache: dict[str, Path | None] | None = None,
                                resolved: dict[str, str] | None = None) -> Path | None:
    """``find_hadolint_config`` of a path known to be a folder, as a string (see
    ``config.config_in_or_above``)."""
    from dockopt.rewriter.config import closest_above
    from dockopt.rewriter.discover import real_path

    found = closest_above(real_path(folder, resolved), _hadolint_in, cache)
    if found is not None or not user_level:
        return found
    if cache is not None:
        if _USER_LEVEL not in cache:
            cache[_USER_LEVEL] = user_level_file()
        return cache[_USER_LEVEL]
    return user_level_file()


# The cache key of the user-level answer: not a path any folder resolves to.
_USER_LEVEL = "\0user-level"


def _hadolint_in(d: Path | str) -> Path | None:
    folder = str(d)
    for name in NAMES:
        if os.path.isfile(os.path.join(folder, name)):
            return Path(folder, name)
    return None


def user_level_file() -> Path | None:
    """hadolint's first user-level config file that exists, or None."""
    for candidate in user_level_files():
        if candidate.is_file():
            return candidate
    return None


def load_hadolint(path: Path) -> dict[str, Any]:
    """The file's settings in dockopt's config keys. Raises ConfigError (file:line:col)."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}:1:1: not UTF-8 ({exc.reason})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
        raise ConfigError(f"{path}:{at}: invalid YAML: "
                          f"{getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1:1: a hadolint config is a mapping of settings")

    def where(key: str) -> str:
        yaml_key = r"^[ \t]*" + re.escape(key) + r"[ \t]*:"
        return f"{path}:{locate(text, key_pattern(key), yaml_key)}"

    unknown = sorted(str(k) for k in data if k not in _KNOWN)
    if unknown:
        raise ConfigError(f"{where(unknown[0])}: unknown hadolint setting(s): "
                          f"{', '.join(unknown)}")
    out: dict[str, Any] = {}
    ignored = data.get("ignored", [])
    if not isinstance(ignored, list) or not all(isinstance(c, str) for c in ignored):
        raise ConfigError(f"{where('ignored')}: `ignored` must be a list of rule codes")
    if ignored:
        out["ignore"] = list(ignored)
    threshold = data.get("failure-threshold")
    if threshold is not None:
        if threshold not in (*LEVELS, "ignore", "none"):
            raise ConfigError(f"{where('failure-threshold')}: `failure-threshold` must be "
                              f"one of error, warning, info, style, ignore, none")
        out["failure-threshold"] = "none" if threshold == "ignore" else threshold
    if data.get("no-fail") is True:
        out["failure-threshold"] = "none"
    override = data.get("override", {}) or {}
    if not isinstance(override, dict):
        raise ConfigError(f"{where('override')}: `override` maps a severity to rule codes")
    severity: dict[str, str] = {}
    for level, codes in override.items():
        if level not in LEVELS or not isinstance(codes, list):
            raise ConfigError(f"{where('override')}: `override.{level}`: the keys are "
                              "error, warning, info and style, each a list of codes")
        for code in codes:
            severity[str(code)] = str(level)
    if severity:
        out["severity"] = severity
    registries = data.get("trustedRegistries")
    if registries is not None:
        if not isinstance(registries, list) or not all(isinstance(r, str) for r in registries):
            raise ConfigError(f"{where('trustedRegistries')}: `trustedRegistries` must be "
                              "a list of registry names")
        out["trusted-registries"] = list(registries)
    return out


def merge(hadolint: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """dockopt's own settings over hadolint's; the `ignore` lists add up."""
    merged = {**hadolint, **own}
    if "ignore" in hadolint and "ignore" in own:
        merged["ignore"] = [*hadolint["ignore"], *own["ignore"]]
    if "severity" in hadolint and "severity" in own:
        merged["severity"] = {**hadolint["severity"], **own["severity"]}
    return merged
