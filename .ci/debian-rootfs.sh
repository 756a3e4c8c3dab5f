#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A bare Debian 12 root file system for the container and package tests, made offline from the
# host's own Debian mirror (no image registry is needed).
#
#   bash .ci/debian-rootfs.sh                  prints the path of the cached rootfs tarball, making it first if needed
#   bash .ci/debian-rootfs.sh --extract DIR    unpacks it into DIR (empty or new) and gives DIR the host's apt config
#
# The tarball is `debootstrap --variant=minbase bookworm` of the host's configured mirror, cached in
# $TASKFLEET_CI_CACHE (default /var/cache/taskfleet-ci) so that later runs skip the download.
# It holds no apt sources: --extract copies the host's (debian.sources, else sources.list) and
# the host's apt.conf.d files that set Acquire:: options (proxies, validity checks of a snapshot
# mirror), so apt inside reaches the mirror exactly as the host's apt does. Needs root.
set -euo pipefail

cache_dir=${TASKFLEET_CI_CACHE:-/var/cache/taskfleet-ci}
tarball=$cache_dir/bookworm-minbase.tar

# The host's bookworm mirror, read from its apt sources at run time.
host_mirror() {
    local uri=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        # deb822: the URIs of the stanza whose Suites list "bookworm" itself (not -security/-updates only).
        uri=$(awk 'BEGIN { RS=""; FS="\n" }
                   { u=""; s=0
                     for (i = 1; i <= NF; i++) {
                         if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u=a[2] }
                         if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) s=1
                     }
                     if (s && u != "") { print u; exit } }' /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

make_tarball() {
    command -v debootstrap >/dev/null || {
        echo "debian-rootfs: installing debootstrap" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >&2
    }
    local mirror work
    mirror=$(host_mirror)
    work=$(mktemp -d /var/tmp/tf-rootfs.XXXXXX)
    # shellcheck disable=SC2064
    trap "rm -rf '$work'" RETURN
    echo "debian-rootfs: debootstrap --variant=minbase bookworm from $mirror (once; cached in $tarball)" >&2
    if ! timeout 900 debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/log" 2>&1; then
        tail -30 "$work/log" >&2
        [ -f "$work/root/debootstrap/debootstrap.log" ] && tail -30 "$work/root/debootstrap/debootstrap.log" >&2
        echo "debian-rootfs: debootstrap failed" >&2
        return 1
    fi
    # No sources and no downloaded package lists in the cache: --extract adds the host's sources.
    : >"$work/root/etc/apt/sources.list"
    rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/archives/"*.deb
    mkdir -p "$cache_dir"
    tar --numeric-owner -C "$work/root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
}

extract() {
    local dir=$1
    mkdir -p "$dir"
    tar --numeric-owner -C "$dir" -xf "$tarball"
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        install -m 0644 /etc/apt/sources.list.d/debian.sources "$dir/etc/apt/sources.list.d/debian.sources"
    elif [ -f /etc/apt/sources.list ]; then
        install -m 0644 /etc/apt/sources.list "$dir/etc/apt/sources.list"
    else
        echo "deb $(host_mirror) bookworm main" >"$dir/etc/apt/sources.list"
    fi
    local f
    for f in /etc/apt/apt.conf /etc/apt/apt.conf.d/*; do
        [ -f "$f" ] && grep -q '^[[:space:]]*Acquire::' "$f" && install -m 0644 "$f" "$dir${f}"
    done
    return 0
}

[ -s "$tarball" ] || make_tarball
case "${1:-}" in
    "") echo "$tarball" ;;
    --extract) [ $# -eq 2 ] || { echo "usage: $0 [--extract DIR]" >&2; exit 2; }; extract "$2" ;;
    *) echo "usage: $0 [--extract DIR]" >&2; exit 2 ;;
esac
