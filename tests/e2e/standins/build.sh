#!/usr/bin/env bash
# Build the stand-in base images for the e2e suite (there is no registry here).
#
# Every image is a *stand-in*: built locally from Debian 12 packages with debootstrap
# and buildah, and tagged with the official name (docker.io/library/node:18, ...)
# so unmodified Dockerfiles resolve it. They reproduce the facts dockopt's
# transforms rely on (full vs slim contents, the `node` user with uid 1000, a pip
# without the PEP 668 block, `python`/`pip` commands, a shell-less distroless
# runtime), not the byte contents of the real images. See DEVELOPERS.md.
#
# Idempotent and cached: an image is skipped when its tag exists and its
# `dockopt.e2e.recipe` label equals the hash of its recipe (Containerfile, the
# rootfs recipe, the CA files and its parents' hashes). The debootstrap tarball is
# cached under $DOCKOPT_E2E_CACHE (default /var/cache/dockopt-e2e).
#
# Usage: build.sh [--force] [NAME...]      (NAME: a Containerfile stem, e.g. node-18)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DOCKOPT_E2E_CACHE:-/var/cache/dockopt-e2e}
ctx=$cache/ctx
suite=bookworm
# Storage: buildah's default driver (overlay on the CI machine). Where overlay does
# not work, export STORAGE_DRIVER=vfs for every user of the store (this script,
# pytest, dockopt verify); buildah ignores the variable, so it is passed as a flag.
# Unset, the driver whose store already holds images is named explicitly (as
# dockopt verify does): with two drivers' folders in one graph root a plain buildah
# refuses to start.
if [ -z "${STORAGE_DRIVER:-}" ] && [ "$(id -u)" = 0 ]; then
  for d in overlay vfs; do
    if [ -s "/var/lib/containers/storage/$d-images/images.json" ]; then STORAGE_DRIVER=$d; break; fi
  done
fi
bah() { buildah ${STORAGE_DRIVER:+--storage-driver "$STORAGE_DRIVER"} "$@"; }
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}
step_timeout=${DOCKOPT_E2E_STEP_TIMEOUT:-1800}   # seconds per image build
force=0
if [ "${1:-}" = "--force" ]; then force=1; shift; fi

# name | Containerfile stem | parents (stems) | tags (first = primary)
images=(
  "debian-bookworm||docker.io/library/debian:bookworm docker.io/library/debian:12"
  "debian-bookworm-slim||docker.io/library/debian:bookworm-slim docker.io/library/debian:12-slim"
  "node-18|debian-bookworm|docker.io/library/node:18 docker.io/library/node:18-bookworm"
  "node-18-slim|debian-bookworm-slim node-18|docker.io/library/node:18-slim docker.io/library/node:18-bookworm-slim"
  "python-3.11|debian-bookworm|docker.io/library/python:3.11 docker.io/library/python:3.11-bookworm"
  "python-3.11-slim|debian-bookworm-slim|docker.io/library/python:3.11-slim docker.io/library/python:3.11-slim-bookworm"
  "golang-1.19|debian-bookworm|docker.io/library/golang:1.19 docker.io/library/golang:1.19-bookworm"
  "distroless-static|debian-bookworm|gcr.io/distroless/static-debian12:nonroot"
  "distroless-static-root|distroless-static|gcr.io/distroless/static-debian12:latest gcr.io/distroless/static-debian12"
  "eclipse-temurin-17-jdk|debian-bookworm|docker.io/library/eclipse-temurin:17-jdk docker.io/library/eclipse-temurin:17"
  "eclipse-temurin-17-jre|debian-bookworm-slim|docker.io/library/eclipse-temurin:17-jre"
  "rust-1.63|debian-bookworm|docker.io/library/rust:1.63-bookworm"
)

log() { printf '[standins %(%H:%M:%S)T] %s\n' -1 "$*"; }

"$here/install-tools.sh"

ulimits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit "nproc=$(ulimit -Hu):$(ulimit -Hu)")
# Registry traffic may need a proxy; buildah does not forward the host's proxy
# variables to RUN steps unless they are given as build args.
proxy_args=()
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  if [ -n "${!v:-}" ]; then proxy_args+=(--build-arg "$v=${!v}"); fi
done

# --- the build context: rootfs tarball, the host's apt sources and CA files ------

mirror() {
  # The Debian mirror the host uses (never hard-coded): the URIs of the stanza whose
  # Suites include plain "bookworm", else a "deb URL bookworm" line.
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -f "$f" ]; then
    awk -v s="$suite" '
      /^URIs:/ {uri=$2}
      /^Suites:/ {for (i=2;i<=NF;i++) if ($i==s) found=uri}
      /^$/ {uri=""}
      END {if (found) print found}' "$f"
    return
  fi
  awk -v s="$suite" '$1=="deb" && $3==s {print $2; exit}' /etc/apt/sources.list
}

sources_file() {
  # The image's apt sources: the host's own bookworm sources (main suite, updates,
  # security), as in the real debian images; never the trixie file install-tools adds.
  local f=/etc/apt/sources.list.d/debian.sources
  if [ -f "$f" ]; then cat "$f"; else grep -E "^deb .* $suite(-updates|-security)?( |$)" /etc/apt/sources.list; fi
}

ROOTFS_RECIPE="debootstrap --variant=minbase $suite v3"
mkdir -p "$ctx/certs"
# Proxy CAs the host trusts: every stand-in carries them in
# /usr/local/share/ca-certificates, so installing ca-certificates picks them up.
rm -f "$ctx/certs/"*.crt
cp /usr/local/share/ca-certificates/*.crt "$ctx/certs/" 2>/dev/null || true
[ -n "$(ls "$ctx/certs")" ] || touch "$ctx/certs/.none"
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  sources_file > "$ctx/debian.sources"; rm -f "$ctx/sources.list"
else
  sources_file > "$ctx/sources.list"; rm -f "$ctx/debian.sources"
fi

tarball=$ctx/rootfs-$suite.tar.gz
stamp=$cache/rootfs-$suite.recipe
if [ ! -s "$tarball" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$ROOTFS_RECIPE" ]; then
  url=$(mirror)
  [ -n "$url" ] || { echo "build.sh: cannot find the Debian mirror in the apt sources" >&2; exit 1; }
  dir=$cache/rootfs-$suite
  rm -rf "$dir"; mkdir -p "$dir"
  log "debootstrap --variant=minbase $suite from $url"
  t0=$SECONDS
  timeout 1800 debootstrap --variant=minbase "$suite" "$dir" "$url" > "$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log"; exit 1; }
  # Make it look like the official image: the host's apt sources, empty apt lists,
  # no machine-specific files.
  rm -f "$dir/etc/apt/sources.list"
  cp "$ctx/debian.sources" "$dir/etc/apt/sources.list.d/debian.sources" 2>/dev/null \
    || cp "$ctx/sources.list" "$dir/etc/apt/sources.list"
  rm -rf "$dir/var/lib/apt/lists/"* "$dir/var/cache/apt/archives/"*.deb "$dir/var/log/"*.log
  rm -f "$dir/etc/hostname" "$dir/etc/resolv.conf" "$dir/etc/machine-id"
  tar --numeric-owner -C "$dir" -czf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  echo "$ROOTFS_RECIPE" > "$stamp"
  rm -rf "$dir"
  log "rootfs tarball done in $((SECONDS - t0))s ($(du -h "$tarball" | cut -f1))"
fi

common_hash=$( { echo "$ROOTFS_RECIPE"; cat "$ctx/certs/"* "$ctx/debian.sources" "$ctx/sources.list" 2>/dev/null || true; } | sha256sum | cut -c1-16)

declare -A hash
recipe_hash() {
  local stem=$1 parents=$2 p
  {
    echo "$common_hash"
    cat "$here/$stem.Containerfile"
    for p in $parents; do echo "${hash[$p]}"; done
  } | sha256sum | cut -c1-16
}

current_label() {
  bah inspect --type image --format '{{index .OCIv1.Config.Labels "dockopt.e2e.recipe"}}' "$1" 2>/dev/null || true
}

want=("$@")
total0=$SECONDS
for entry in "${images[@]}"; do
  IFS='|' read -r stem parents tags <<<"$entry"
  h=$(recipe_hash "$stem" "$parents")
  hash[$stem]=$h
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $stem "* ]]; then continue; fi
  read -r -a tag_list <<<"$tags"
  primary=${tag_list[0]}
  if [ $force = 0 ] && [ "$(current_label "$primary")" = "$h" ]; then
    log "$stem: cached ($primary, recipe $h)"
    continue
  fi
  log "$stem: building $primary (recipe $h)"
  old_id=$(bah images -q --no-trunc "$primary" 2>/dev/null | sed -n 1p || true)
  t0=$SECONDS
  if ! timeout "$step_timeout" buildah ${STORAGE_DRIVER:+--storage-driver "$STORAGE_DRIVER"} bud --isolation chroot "${ulimits[@]}" "${proxy_args[@]}" \
        --layers=false --pull=never --label "dockopt.e2e.recipe=$h" \
        --label "dockopt.e2e.standin=$stem" \
        -t "$primary" -f "$here/$stem.Containerfile" "$ctx" > "$cache/$stem.log" 2>&1; then
    echo "build.sh: $stem failed; log tail ($cache/$stem.log):" >&2
    tail -30 "$cache/$stem.log" >&2
    exit 1
  fi
  for t in "${tag_list[@]:1}"; do bah tag "$primary" "$t"; done
  # The replaced stand-in, now untagged (not forced: kept while something uses it).
  # No global prune: it would break builds running concurrently on the same store.
  if [ -n "$old_id" ]; then bah rmi "$old_id" >/dev/null 2>&1 || true; fi
  size=$(bah images --format '{{.Size}}' "$primary" | sed -n 1p)
  log "$stem: built in $((SECONDS - t0))s, $size"
done
log "all stand-ins ready in $((SECONDS - total0))s"
