#!/bin/bash
# build-deb.sh — builds the kubevirt-ksmd Debian package from the current work tree, including
# files not yet committed, without touching the tree: the tracked and the untracked-but-not-
# ignored files are copied into a fresh directory under /tmp, and "dpkg-buildpackage -us -uc -b"
# runs there (dh_autoreconf generates configure). Missing build dependencies are installed with
# apt-get when running as root. Prints the path of the .deb on stdout, and nothing else there;
# progress goes to stderr and the full build log to OUTDIR/build.log.
#
#   bash tests/packaging/build-deb.sh [-o OUTDIR] [-k]
#
#   -o OUTDIR   where the .deb, .changes, .buildinfo and build.log go (created if needed);
#               default: a new directory /tmp/kubevirt-ksmd-deb.XXXXXX
#   -k          keep the build tree (its path is printed on stderr)
#
# DEB_BUILD_OPTIONS is passed through; with "nocheck" in it the package is built with the
# nocheck profile (no cmocka, no test run). BUILD_TIMEOUT (seconds, default 1800) bounds the
# build. Exit status: 0 built, 1 failed, 2 usage.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
outdir=
keep=
while getopts "o:kh" opt; do
        case $opt in
        o) outdir=$OPTARG ;;
        k) keep=1 ;;
        h) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [-o OUTDIR] [-k]" >&2; exit 2 ;;
        esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "usage: $0 [-o OUTDIR] [-k]" >&2; exit 2; }

say() { echo "==> $*" >&2; }
die() { echo "build-deb.sh: $*" >&2; exit 1; }

[ -f "$top/debian/control" ] && [ -f "$top/debian/changelog" ] || die "$top has no debian/ directory"

work=$(mktemp -d /tmp/pkg-kubevirt-ksmd.XXXXXX)
cleanup() {
        if [ -n "$keep" ]; then say "kept the build tree $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -z "$outdir" ]; then
        outdir=$(mktemp -d /tmp/kubevirt-ksmd-deb.XXXXXX)
else
        mkdir -p "$outdir"
        outdir=$(cd "$outdir" && pwd)
fi
log=$outdir/build.log
: > "$log"

# ---- 1. copy the tree ------------------------------------------------------------------------
# Debhelper's own leftovers, should someone have built inside the tree: never copied.
leftovers='^debian/(kubevirt-ksmd|tmp|\.debhelper|autoreconf\.(before|after))(/|$)|^debian/(files|debhelper-build-stamp|[^/]*\.substvars|[^/]*\.debhelper\.log)$'
src=$work/kubevirt-ksmd
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1 \
   && [ "$(git -C "$top" rev-parse --show-toplevel)" = "$top" ]; then
        say "copying the work tree of $top (tracked and untracked, not ignored) to $src"
        # -c tracked, -o untracked; --exclude-standard leaves out what .gitignore ignores
        # (configure, Makefile.in, build*/ and other generated files). Files deleted in the
        # work tree but still tracked are skipped.
        git -C "$top" ls-files -z -c -o --exclude-standard \
                | while IFS= read -r -d '' f; do
                        [ -e "$top/$f" ] || [ -L "$top/$f" ] || continue
                        [[ $f =~ $leftovers ]] && continue
                        printf '%s\0' "$f"
                  done \
                | tar -C "$top" --null -T - -cf - | tar -C "$src" -xf -
else
        say "copying $top (not a git work tree) to $src"
        tar -C "$top" -cf - --exclude=.git --exclude='./build*' --exclude=autom4te.cache \
                --exclude=configure --exclude=Makefile.in --exclude=Makefile --exclude=config.status \
                --exclude=config.log --exclude=libtool --exclude='*.o' --exclude='*.lo' --exclude='*.la' \
                --exclude=.libs --exclude=.deps --exclude=./debian/kubevirt-ksmd --exclude=./debian/tmp \
                --exclude=./debian/.debhelper . | tar -C "$src" -xf -
fi

# ---- 2. build dependencies -------------------------------------------------------------------
profiles=()
case " ${DEB_BUILD_OPTIONS:-} " in *" nocheck "*) profiles=(-Pnocheck) ;; esac

missing_tools() {
        local t
        for t in dpkg-buildpackage dpkg-checkbuilddeps dh gcc make; do
                command -v "$t" >/dev/null || return 0
        done
        return 1
}
need_deps() { missing_tools || ! (cd "$src" && dpkg-checkbuilddeps "${profiles[@]}" >/dev/null 2>&1); }

if need_deps; then
        [ "$(id -u)" -eq 0 ] || die "build dependencies are missing and installing them needs root: $(cd "$src" && dpkg-checkbuilddeps "${profiles[@]}" 2>&1 || true)"
        say "installing the build dependencies with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        install_deps() {
                apt-get install -y -q --no-install-recommends build-essential dpkg-dev debhelper fakeroot \
                && apt-get build-dep -y -q --no-install-recommends "${profiles[@]}" "$src"
        }
        if ! install_deps >>"$log" 2>&1; then
                say "apt-get failed; updating the package lists and trying again"
                { apt-get update -q && install_deps; } >>"$log" 2>&1 || { tail -n 30 "$log" >&2; die "could not install the build dependencies (log: $log)"; }
        fi
        need_deps && { (cd "$src" && dpkg-checkbuilddeps "${profiles[@]}") >&2 || true; die "build dependencies still missing"; }
fi

# ---- 3. build --------------------------------------------------------------------------------
version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
say "dpkg-buildpackage -us -uc -b ${profiles[*]} in $src (log: $log)"
start=$(date +%s)
if ! (cd "$src" && timeout --kill-after=30 "${BUILD_TIMEOUT:-1800}" \
        dpkg-buildpackage -us -uc -b -Jauto "${profiles[@]}") >>"$log" 2>&1; then
        tail -n 60 "$log" >&2
        die "dpkg-buildpackage failed (log: $log)"
fi
say "built in $(( $(date +%s) - start ))s"

deb=kubevirt-ksmd_${version}_${arch}.deb
[ -f "$work/$deb" ] || die "dpkg-buildpackage did not produce $deb"
for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo; do
        [ -e "$f" ] && mv -f "$f" "$outdir/"
done
echo "$outdir/$deb"
