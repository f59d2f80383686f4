"""Where the distribution's `tini` package can be installed, for DO512's fix.

The fix is applied (unsafe) only where the image's release is known to carry the
package in a mirror that still answers; everywhere else it is shown with the reason.

Sources for the table (checked 2026-12):
- Debian: packages.debian.org file lists of `tini` for buster, bullseye, bookworm,
  trixie and sid: each installs /usr/bin/tini (and /usr/bin/tini-static); bookworm's
  candidate on this machine's mirror is 0.19.0-1+b3 (`apt-cache policy tini`).
- Ubuntu: packages.ubuntu.com `tini` 0.19.0-1 in universe for focal, jammy and noble
  (universe is enabled in the official ubuntu images), 0.19.0-6 in resolute (26.04).
- Alpine: `tini` in community since 3.x, installing /sbin/tini (pkgs.alpinelinux.org);
  no Alpine package can be fetched here, so that fix is never applied.

Releases whose support has ended move to an archive host (Debian's buster and,
after its LTS ended in 2026-08, bullseye): `apt-get update` may fail there, so they
count only when the stage already runs `apt-get update` itself.
"""

from __future__ import annotations

import re

from dockopt.rewriter.records import dataclass
from dockopt.transforms.images import ImageFacts

TINI_APT = "/usr/bin/tini"
TINI_APK = "/sbin/tini"

# Debian codename -> whether its mirror is current (not archived).
DEBIAN_TINI: dict[str, bool] = {"buster": False, "bullseye": False, "bookworm": True,
                                "trixie": True, "forky": True, "sid": True}
_DEBIAN_MAJOR = {"10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie"}
# Ubuntu LTS releases with tini in universe (interim releases move to old-releases).
UBUNTU_TINI: dict[str, str] = {"focal": "20.04", "jammy": "22.04", "noble": "24.04",
                               "resolute": "26.04"}
_UBUNTU_NUMBER = {v: k for k, v in UBUNTU_TINI.items()}
# Words of a tag that mean "the image's current default", which is a release with tini.
_CURRENT = frozenset({"latest", "stable", "slim", "lts", "current", "bookworm", "trixie"})
# Language images whose default variant is built on the current Debian release from
# these versions on (docker-library moved every maintained version to bookworm in
# 2023-06; older, unmaintained versions stopped on bullseye, buster or stretch).
_CURRENT_FROM: dict[str, tuple[int, ...]] = {
    "node": (18,), "python": (3, 8), "ruby": (3, 1), "golang": (1, 20), "php": (8, 1),
    "perl": (5, 36), "rust": (1, 70),
}


@dataclass(frozen=True, slots=True)
class Release:
    """The distribution release a base image is built on, as far as the tag says."""

    name: str  # "bookworm", "jammy", "the current Debian release"
    current: bool  # its mirror still answers (False: archived, or may be)


def _words(tag: str) -> list[str]:
    return [w for w in re.split(r"[-_]", tag.lower()) if w]


def _version(text: str) -> tuple[int, ...] | None:
    m = re.fullmatch(r"v?(\d+(?:\.\d+)*)", text)
    return tuple(int(p) for p in m.group(1).split(".")) if m else None


def release_of(facts: ImageFacts) -> Release | str:
    """The release of a Debian or Ubuntu based image, or why it is not known."""
    tag = facts.ref.tag or "latest"
    words = _words(tag)
    if facts.family == "ubuntu":
        for w in words:
            if w in UBUNTU_TINI:
                return Release(w, True)
            if w in _UBUNTU_NUMBER:
                return Release(_UBUNTU_NUMBER[w], True)
        if facts.repository == "ubuntu" and tag != "latest":
            return f"the Ubuntu release of `{facts.ref.text}` is not an LTS release with tini"
        # ubuntu:latest and the Ubuntu-based language images' default tags: the
        # current LTS (eclipse-temurin: noble, before it jammy and focal).
        return Release("the current Ubuntu LTS", True)
    for w in words:
        if w in DEBIAN_TINI:
            return Release(w, DEBIAN_TINI[w])
    if facts.repository == "debian":
        major = words[0].split(".")[0] if words else ""
        if major in _DEBIAN_MAJOR:
            name = _DEBIAN_MAJOR[major]
            return Release(name, DEBIAN_TINI[name])
        if words and words[0] in _CURRENT | {"testing", "unstable"}:
            return Release("the current Debian release", True)
        return f"the Debian release of `{facts.ref.text}` is not known to have tini"
    if any(w in ("stretch", "jessie", "wheezy") for w in words):
        return f"`{facts.ref.text}` is on a Debian release without tini"
    if tag == "latest" or (words and words[0] in _CURRENT):
        return Release("the current Debian release", True)
    floor = _CURRENT_FROM.get(facts.repository)
    version = _version(words[0]) if words else None
    # A shorter version than the floor (`python:3`) floats to the newest one.
    if floor is not None and version is not None and version[:len(floor)] >= floor[:len(version)]:
        return Release("the current Debian release", True)
    return (f"the tag of `{facts.ref.text}` does not name its Debian release (an old "
            "version may be built on one without tini or with an archived mirror)")


# ENTRYPOINTs of base images that a new ENTRYPOINT replaces.  The node and php ones
# only run the command they are given when it is a command (they prepend `node`/`php`
# to options or to a file name, which DO512 never sees as PID 1), so tini can take
# their place; eclipse-temurin's imports CA certificates when USE_SYSTEM_CA_CERTS is
# set, which would be lost.
REPLACEABLE_ENTRYPOINTS: dict[str, str] = {"node": "docker-entrypoint.sh",
                                           "php": "docker-php-entrypoint"}
KEPT_ENTRYPOINTS: dict[str, str] = {"eclipse-temurin": "/__cacert_entrypoint.sh"}
