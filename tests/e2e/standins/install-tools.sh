#!/usr/bin/env bash
# Install buildah (>= 1.39, for heredocs) and debootstrap for the e2e suite.
#
# On Debian 12 the packaged buildah (1.28) cannot build heredocs, so buildah comes
# from trixie: a trixie.sources file is derived from the existing debian.sources
# (only the Suites: lines change; the mirror URIs are reused, never hard-coded) and
# an apt preference pins trixie at priority 100 so nothing else is upgraded.
# Side effect, measured on the CI machine: trixie's buildah needs trixie's libc6,
# and `-t trixie` resolves every dependency there, so ~100 host packages moved to
# trixie (libc6 2.41, openssl 3.5, systemd 257, apt 3.0, python3 -> 3.13 as the
# default python3; python3.11 stays). Meant for CI machines and throwaway boxes.
# Idempotent: does nothing when a new-enough buildah and debootstrap are present.
set -euo pipefail

need_buildah() {
    command -v buildah >/dev/null 2>&1 || return 0
    local v
    v=$(buildah version --json 2>/dev/null | sed -n 's/.*"version": *"\([0-9.]*\)".*/\1/p' | head -1)
    [ -z "$v" ] && return 0
    # need >= 1.39
    [ "$(printf '%s\n1.39.0\n' "$v" | sort -V | head -1)" != "1.39.0" ]
}

if ! need_buildah && command -v debootstrap >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-tools: need root to install buildah/debootstrap" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if need_buildah && [ "$codename" = bookworm ]; then
    src=/etc/apt/sources.list.d/debian.sources
    if [ ! -f /etc/apt/sources.list.d/trixie.sources ]; then
        if [ ! -f "$src" ]; then
            echo "install-tools: $src not found; cannot derive a trixie source" >&2
            exit 1
        fi
        # Only the Suites: lines change: bookworm -> trixie, keeping -updates/-security.
        sed -E '/^Suites:/ s/bookworm/trixie/g' "$src" > /etc/apt/sources.list.d/trixie.sources
    fi
    cat > /etc/apt/preferences.d/trixie-low <<'PREF'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PREF
    apt-get update -qq
    apt-get install -y -qq -t trixie buildah
elif need_buildah; then
    apt-get update -qq
    apt-get install -y -qq buildah
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    apt-get install -y -qq debootstrap
fi
buildah version | head -3
