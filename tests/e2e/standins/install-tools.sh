#!/usr/bin/env bash
# Install what the e2e suite needs: buildah >= 1.33 (heredocs) and debootstrap,
# without moving the host's libc6, python3 or any other installed package.
#
# Debian 12 (bookworm) ships buildah 1.28 and podman 4.3 (which builds with buildah
# 1.28), both too old for heredocs, and bookworm-backports carries neither (checked
# with apt-cache madison and policy). Installing trixie's buildah on the host is not an
# option: it needs trixie's libc6, and `apt-get install -t trixie buildah` moved ~100
# host packages to Debian 13, python3 3.11 -> 3.13 among them. So on bookworm:
#
#   * buildah is confined to $prefix (/opt/dockopt-buildah): trixie's buildah .deb and
#     the .debs of the libraries it loads (libc6, libgpgme, libseccomp, libsqlite3,
#     libsubid and what they load in turn) are downloaded with a private apt state in
#     a temporary folder (sources derived from the host's debian.sources: same mirror
#     URIs, Suites bookworm -> trixie; nothing is added to /etc/apt) and unpacked, not
#     installed, into $prefix/root. patchelf points the binary's ELF interpreter and
#     RPATH at that folder, so it runs with trixie's libc while every path it sees
#     (/var/lib/containers, /tmp, build contexts) is the host's own, and
#     /proc/self/exe is still buildah (buildah re-executes itself for chroot
#     isolation). /usr/local/bin/buildah is a symlink to it.
#   * The host gets Debian 12's own netavark and golang-github-containers-common (and
#     golang-github-containers-image), as Debian 12's buildah would: the config files
#     buildah reads (/etc/containers/policy.json, registries.conf,
#     /usr/share/containers/*) and a network backend buildah 1.39 insists exists even
#     though chroot isolation never runs it. Plus debootstrap, for build.sh.
#
# Only chroot isolation is provided (what build.sh and dockopt verify use); there is
# no OCI runtime (runc/crun) for BUILDAH_ISOLATION=oci.
#
# Before changing anything the script says on stderr exactly what it will change;
# it refuses to go on when the host install would upgrade or remove an installed
# package. Idempotent: with a new-enough buildah and debootstrap on PATH it changes
# nothing. To undo: rm -rf /opt/dockopt-buildah /usr/local/bin/buildah; apt-get purge
# netavark golang-github-containers-common golang-github-containers-image debootstrap.
# On other releases (trixie and later) the release's own buildah is installed.
set -euo pipefail

min_buildah=1.33
prefix=${DOCKOPT_BUILDAH_PREFIX:-/opt/dockopt-buildah}
root=$prefix/root
link=/usr/local/bin/buildah

say() { printf 'install-tools: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

buildah_version() {   # version of the buildah at $1, empty if it does not run
    "$1" version --json 2>/dev/null | sed -n 's/.*"version": *"\([0-9.]*\)".*/\1/p' | head -1
}
new_enough() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$1" "$min_buildah" | sort -V | head -1)" = "$min_buildah" ]; }
installed() { [ "$(dpkg-query -W -f '${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

cur=$(command -v buildah || true)
cur_v=${cur:+$(buildah_version "$cur")}
if new_enough "$cur_v" && command -v debootstrap >/dev/null 2>&1; then
    say "nothing to change: buildah $cur_v ($cur) and debootstrap are present"
    exit 0
fi
[ "$(id -u)" = 0 ] || die "need root to install buildah/debootstrap"
export DEBIAN_FRONTEND=noninteractive
# shellcheck source=/dev/null
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
arch=$(dpkg --print-architecture)

# An older version of this script added a trixie source pinned at 100. Leave it (it
# may be wanted); nothing below installs from it (-t pins the host's own release, and
# the simulation check refuses upgrades).
for f in /etc/apt/sources.list.d/trixie.sources /etc/apt/preferences.d/trixie-low; do
    if [ -e "$f" ] && [ "$codename" = bookworm ]; then
        say "note: $f (from an older install-tools.sh) is left as it is and not used;" \
            "remove it if you do not want trixie packages offered to this host"
    fi
done

guard_before=$(dpkg-query -W -f '${Package} ${Version}\n' libc6 python3 2>/dev/null || true)

# --- what is missing --------------------------------------------------------------

host_pkgs=()            # packages for the host, from its own release
confined=0              # 1: buildah from trixie, confined to $prefix
command -v debootstrap >/dev/null 2>&1 || host_pkgs+=(debootstrap)
if ! new_enough "$cur_v"; then
    if [ "$codename" = bookworm ]; then
        confined=1
        for p in netavark golang-github-containers-common; do
            installed "$p" || host_pkgs+=("$p")
        done
        if [ -e "$link" ] && [[ "$(readlink -f "$link")" != "$root"/* ]]; then
            die "$link exists and is not ours ($(readlink -f "$link")); move it away first"
        fi
    else
        host_pkgs+=(buildah)
    fi
fi

say "refreshing the host's apt lists (apt-get update; installs nothing)"
apt-get update -qq

if [ $confined = 0 ] && [[ " ${host_pkgs[*]} " == *" buildah "* ]]; then
    cand=$(apt-cache policy buildah | sed -n 's/^ *Candidate: //p')
    new_enough "${cand%%[+~-]*}" || die "this $codename's buildah ($cand) is older than $min_buildah"
fi

# Simulate the host install: the exact packages, and a refusal when anything already
# installed (libc6, python3, ...) would be upgraded or removed.
host_plan=()
if [ ${#host_pkgs[@]} -gt 0 ]; then
    sim=$(apt-get install -s --no-install-recommends -t "$codename" "${host_pkgs[@]}")
    moved=$(grep -E '^(Inst [^ ]+ \[|Remv )' <<<"$sim" || true)
    [ -z "$moved" ] || die "installing ${host_pkgs[*]} would change installed packages; stopping:"$'\n'"$moved"
    mapfile -t host_plan < <(sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) \(.*\))$/\1 \2 (\3)/p' <<<"$sim")
fi

# --- the confined buildah: resolve and download into a temporary folder ------------

debs=()
if [ $confined = 1 ]; then
    tmp=$(mktemp -d /var/tmp/dockopt-buildah.XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    chmod 755 "$tmp"    # apt's download sandbox user (_apt) must reach it
    mkdir -p "$tmp/sources.list.d" "$tmp/preferences.d" "$tmp/lists/partial" \
             "$tmp/cache/archives/partial" "$tmp/debs" "$tmp/patchelf"
    : > "$tmp/status"   # an empty dpkg status: resolve as if nothing were installed
    if id _apt >/dev/null 2>&1; then chown _apt "$tmp/debs" "$tmp/patchelf"; fi
    # trixie sources from the host's own: the mirror URIs are reused, never hard-coded.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        sed -E '/^Suites:/ s/bookworm/trixie/g' /etc/apt/sources.list.d/debian.sources \
            > "$tmp/sources.list.d/trixie.sources"
    elif [ -f /etc/apt/sources.list ]; then
        sed -nE 's/^(deb([[:space:]]+\[[^]]*\])?[[:space:]]+[^[:space:]]+[[:space:]]+)bookworm/\1trixie/p' \
            /etc/apt/sources.list > "$tmp/sources.list.d/trixie.list"
    fi
    [ -s "$tmp/sources.list.d/trixie.sources" ] || [ -s "$tmp/sources.list.d/trixie.list" ] \
        || die "no Debian source in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
    private=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$tmp/sources.list.d"
             -o "Dir::Etc::Preferences=$tmp/preferences" -o "Dir::Etc::PreferencesParts=$tmp/preferences.d"
             -o "Dir::State::Lists=$tmp/lists" -o "Dir::State::status=$tmp/status"
             -o "Dir::Cache=$tmp/cache" -o "APT::Architectures::=$arch")
    say "reading trixie's package lists into $tmp (temporary; /etc/apt is not touched)"
    apt-get "${private[@]}" update -qq
    # buildah and, transitively, the shared-library packages (Section: libs) among its
    # Depends/Pre-Depends; the rest (gnupg, uidmap, containers-common) is not loaded
    # by the binary. The ld.so check after unpacking proves the set complete.
    mapfile -t want < <(apt-cache "${private[@]}" dumpavail | awk -v top=buildah '
        /^Package:/ {p = $2}
        /^Section:/ {sec[p] = $2}
        /^(Pre-)?Depends:/ {sub(/^[^:]*: /, ""); dep[p] = dep[p] "," $0}
        END {
            q[n = 1] = top; seen[top] = 1
            for (i = 1; i <= n; i++) {
                print q[i]
                k = split(dep[q[i]], a, ",")
                for (j = 1; j <= k; j++) {
                    d = a[j]; sub(/\|.*/, "", d); sub(/\(.*/, "", d); sub(/:any/, "", d); gsub(/ /, "", d)
                    if (d != "" && !(d in seen) && sec[d] == "libs") { seen[d] = 1; q[++n] = d }
                }
            }
        }')
    [ ${#want[@]} -gt 1 ] || die "cannot resolve trixie's buildah and its libraries"
    (cd "$tmp/debs" && apt-get "${private[@]}" download -qq "${want[@]}")
    for f in "$tmp"/debs/*.deb; do debs+=("$(dpkg-deb -f "$f" Package)=$(dpkg-deb -f "$f" Version)"); done
    bversion=$(dpkg-deb -f "$tmp"/debs/buildah_*.deb Version)
    new_enough "${bversion%%[+~-]*}" || die "trixie's buildah is $bversion, older than $min_buildah"
    patchelf=$(command -v patchelf || true)
    if [ -z "$patchelf" ]; then
        # The host release's patchelf, unpacked in the temporary folder, not installed.
        (cd "$tmp/patchelf" && apt-get download -qq -t "$codename" patchelf && dpkg-deb -x patchelf_*.deb .)
        patchelf=$tmp/patchelf/usr/bin/patchelf
    fi
    "$patchelf" --version >/dev/null || die "$patchelf does not run"
    mb=$(du -cm "$tmp"/debs/*.deb | tail -1 | cut -f1)
fi

# --- the plan, before any change ---------------------------------------------------

say "this will change:"
if [ ${#host_plan[@]} -gt 0 ]; then
    say "  install from $codename (apt-get install --no-install-recommends -t $codename ${host_pkgs[*]}):"
    for l in "${host_plan[@]}"; do say "    $l"; done
fi
if [ $confined = 1 ]; then
    say "  create $prefix: trixie's buildah $bversion and the libraries it loads, unpacked"
    say "    (not installed; ${mb} MB of .debs) into $root; buildah's ELF interpreter and"
    say "    RPATH set to $root by $patchelf."
    say "    The .debs (listed in $prefix/packages.txt):"
    while read -r l; do say "    $l"; done < <(fold -s -w 76 <<<"${debs[*]}")
    say "  create symlink $link -> $root/usr/bin/buildah${cur:+ (shadows $cur $cur_v)}"
fi
say "  not changed: /etc/apt, libc6, python3 and every other installed package"

# --- apply ---------------------------------------------------------------------------

if [ ${#host_pkgs[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends -t "$codename" "${host_pkgs[@]}" >/dev/null
fi
if [ $confined = 1 ]; then
    rm -rf "$root.new"
    mkdir -p "$root.new"
    for f in "$tmp"/debs/*.deb; do dpkg-deb -x "$f" "$root.new"; done
    bin=usr/bin/buildah
    interp=$("$patchelf" --print-interpreter "$root.new/$bin")   # /lib64/ld-linux-x86-64.so.2
    if [ -e "$root.new/usr$interp" ]; then interp=/usr$interp; fi   # trixie is merged-/usr
    libdir=$(dirname "$(cd "$root.new" && find usr/lib -name libc.so.6 | head -1)")
    # DT_RPATH (--force-rpath), not RUNPATH: RPATH also applies to the libraries'
    # own dependencies, so none of them is taken from the host's /usr/lib.
    "$patchelf" --set-interpreter "$root$interp" --force-rpath --set-rpath "$root/$libdir" "$root.new/$bin"
    rm -rf "$root.old"
    if [ -e "$root" ]; then mv "$root" "$root.old"; fi
    mv "$root.new" "$root"
    rm -rf "$root.old"
    printf '%s\n' "${debs[@]}" > "$prefix/packages.txt"
    # Every library must resolve inside $root: one taken from the host would mix glibcs.
    libs=$("$root$interp" --list "$root/$bin")
    stray=$(grep -E 'not found|=> /' <<<"$libs" | grep -v "=> $root/" || true)
    [ -z "$stray" ] || die "buildah loads libraries from outside $root:"$'\n'"$stray"
    ln -sfn "$root/$bin" "$link"
fi

# --- check ---------------------------------------------------------------------------

guard_after=$(dpkg-query -W -f '${Package} ${Version}\n' libc6 python3 2>/dev/null || true)
[ "$guard_before" = "$guard_after" ] || die "libc6/python3 changed: $guard_before -> $guard_after"
now=$(command -v buildah || true)
now_v=${now:+$(buildah_version "$now")}
new_enough "$now_v" || die "buildah on PATH ($now ${now_v:-broken}) is not >= $min_buildah; is /usr/local/bin first on PATH?"
say "done: buildah $now_v ($now), debootstrap $(dpkg-query -W -f '${Version}' debootstrap 2>/dev/null || echo present)"
