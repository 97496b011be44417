#!/bin/bash
# check-deb.sh — TAP test of a built kubevirt-ksmd .deb (see build-deb.sh):
#
#   1. contents (dpkg -c): every installed file at its path with its mode, nothing else; the
#      conffile, the unit's substituted paths, the maintainer scripts of dh_installsystemd;
#   2. control (dpkg-deb -I): the package, its version and its run-time dependencies;
#   3. lintian on the .deb (and on the .changes beside it): no E: lines;
#   4. a throwaway Debian root (debootstrap minbase, cached as a tarball under
#      /var/cache/kubevirt-ksmd-pkgtest): "apt-get install ./DEB" works without a running
#      systemd, the unit is enabled, kubevirt-ksmd --version and --check-config (on the
#      installed conffile) and man -w work, the daemon runs on that root's own system bus
#      with the installed bus policy (root may call Reconcile, nobody may not), and
#      "apt-get purge" removes it cleanly.
#
#   bash tests/packaging/check-deb.sh path/to/kubevirt-ksmd_VERSION_ARCH.deb
#
# Part 4 needs root, unshare, chroot, and either the cached tarball or debootstrap and a Debian
# mirror; its tests are reported "# SKIP" when these are missing. It runs in private mount and
# PID namespaces (nothing it mounts or starts outlives it) and removes its scratch root.
# Environment: PKGTEST_CACHE (default /var/cache/kubevirt-ksmd-pkgtest), PKGTEST_MIRROR
# (default http://deb.debian.org/debian), PKGTEST_SUITE (default: this host's codename),
# PKGTEST_REFRESH=1 rebuilds the cached root, PKGTEST_NO_ROOTFS=1 skips part 4, KEEP_TMP=1
# keeps the scratch directory.
set -u

DEB=${1:-}
if [ -z "$DEB" ] || [ $# -ne 1 ]; then
        echo "usage: $0 DEB" >&2
        exit 2
fi
for tool in dpkg dpkg-deb tar gzip; do
        command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool not installed"; exit 0; }
done
[ -f "$DEB" ] || { echo "Bail out! no such file: $DEB"; exit 1; }
DEB=$(cd "$(dirname "$DEB")" && pwd)/$(basename "$DEB")
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# ---- TAP -------------------------------------------------------------------------------------
TAP_N=0
TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds; its output is shown when it fails.
check() {
        local d=$1 out
        shift
        if out=$("$@" 2>&1); then
                ok "$d"
        else
                not_ok "$d"
                [ -n "$out" ] && printf '%s\n' "$out" | tail -n 40 | diag
        fi
}

T=$(mktemp -d /tmp/kubevirt-ksmd-checkdeb.XXXXXX)
ROOT=
finish() {
        local rc=$?
        # The scratch root's mounts live in a private mount namespace that is gone by now;
        # should one be visible here all the same, leave the tree rather than recurse into it.
        if [ -n "$ROOT" ] && grep -q " $ROOT/" /proc/self/mountinfo 2>/dev/null; then
                echo "# mounts left under $ROOT; not removing $T"
        elif [ -n "${KEEP_TMP:-}" ]; then
                echo "# kept $T"
        else
                rm -rf --one-file-system "$T"
        fi
        return $rc
}
trap finish EXIT
trap 'exit 130' INT TERM

# ---- 1. contents -------------------------------------------------------------------------------
pkg=$(dpkg-deb -f "$DEB" Package 2>/dev/null)
version=$(dpkg-deb -f "$DEB" Version 2>/dev/null)
check "$(basename "$DEB") is a Debian binary package of kubevirt-ksmd" test "$pkg" = kubevirt-ksmd
check "its version ($version) is the one in its file name" \
        bash -c '[[ $(basename "$1") == kubevirt-ksmd_"$2"_*.deb ]]' _ "$DEB" "$version"

dpkg -c "$DEB" > "$T/contents" 2>&1 || { not_ok "dpkg -c lists the package"; cat "$T/contents" | diag; }
# "MODE OWNER PATH" of every entry; symlinks keep "-> target" out of the path.
awk '{ p = $6; for (i = 7; i <= NF && $i != "->"; i++) p = p " " $i; print $1, $2, p }' "$T/contents" > "$T/entries"
grep '^-' "$T/entries" | cut -d' ' -f3- | sort > "$T/files"

# PATH-REGEX MODE: every file the package must ship. Documentation may be compressed by
# dh_compress (depending on its size), manual pages always are.
EXPECTED=(
        '/usr/sbin/kubevirt-ksmd'                                       -rwxr-xr-x
        '/usr/bin/kubevirt-ksmctl'                                      -rwxr-xr-x
        '/lib/systemd/system/kubevirt-ksmd\.service'                    -rw-r--r--
        '/usr/share/dbus-1/system\.d/org\.kubevirt\.KSM1\.conf'         -rw-r--r--
        '/usr/share/dbus-1/interfaces/org\.kubevirt\.KSM1\.xml'         -rw-r--r--
        '/usr/lib/systemd/catalog/kubevirt-ksmd\.catalog'               -rw-r--r--
        '/lib/systemd/system/kubevirt-ksmd-metrics\.service'            -rw-r--r--
        '/lib/systemd/system/kubevirt-ksmd-metrics\.timer'              -rw-r--r--
        '/etc/kubevirt-ksmd\.conf'                                      -rw-r--r--
        '/usr/share/man/man8/kubevirt-ksmd\.8\.gz'                      -rw-r--r--
        '/usr/share/man/man5/kubevirt-ksmd\.conf\.5\.gz'                -rw-r--r--
        '/usr/share/man/man1/kubevirt-ksmctl\.1\.gz'                    -rw-r--r--
        '/usr/share/man/man5/org\.kubevirt\.KSM1\.5\.gz'                -rw-r--r--
        '/usr/share/bash-completion/completions/kubevirt-ksmctl'        -rw-r--r--
        '/usr/share/zsh/vendor-completions/_kubevirt-ksmctl'            -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/copyright'                        -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/changelog\.gz'                    -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/README\.md(\.gz)?'                -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/deploy/rbac\.yaml(\.gz)?'         -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/deploy/node-patch-policy\.yaml(\.gz)?' -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/deploy/make-kubeconfig\.sh(\.gz)?' -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/deploy/grafana-kubevirt-ksmd\.json(\.gz)?' -rw-r--r--
        '/usr/share/doc/kubevirt-ksmd/examples/kubevirt-ksmd\.conf\.example(\.gz)?' -rw-r--r--
        '/usr/share/lintian/overrides/kubevirt-ksmd'                    -rw-r--r--
)
: > "$T/matched"
for ((i = 0; i < ${#EXPECTED[@]}; i += 2)); do
        re=${EXPECTED[i]} mode=${EXPECTED[i + 1]}
        line=$(grep -E "^[^ ]+ [^ ]+ \./${re#/}\$" "$T/entries" | head -n 1)
        name=$(printf '%s' "$re" | sed 's/\\//g')
        if [ -z "$line" ]; then
                not_ok "dpkg -c lists $name"
                continue
        fi
        set -- $line
        printf '%s\n' "$3" >> "$T/matched"
        if [ "$1" = "$mode" ] && [ "$2" = root/root ]; then
                ok "dpkg -c lists ${3#.} ($1 root/root)"
        else
                not_ok "dpkg -c lists ${3#.} ($1 $2, expected $mode root/root)"
        fi
done
check "the package ships no other file" \
        bash -c 'extra=$(sort "$1" | comm -23 "$2" -); [ -z "$extra" ] || { printf "%s\n" "$extra"; exit 1; }' \
        _ "$T/matched" "$T/files"
check "every entry is owned by root/root" bash -c '! grep -v " root/root " "$1"' _ "$T/entries"
# The catalog is the exception: systemd's dpkg trigger watches /usr/lib/systemd/catalog only.
check "nothing under /usr/lib/systemd but the catalog (bookworm's units live in /lib/systemd/system)" \
        bash -c '! grep -E " \./usr/lib/systemd/" "$1" | grep -vE " \./usr/lib/systemd/(catalog/)?(kubevirt-ksmd\.catalog)?\$"' _ "$T/entries"

dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./lib/systemd/system/kubevirt-ksmd.service > "$T/unit" 2>/dev/null
check "the unit starts /usr/sbin/kubevirt-ksmd" grep -qx 'ExecStart=/usr/sbin/kubevirt-ksmd' "$T/unit"
check "the unit has no unsubstituted @variable@" bash -c '! grep -n "@[a-z_]*@" "$1"' _ "$T/unit"
check "the unit is wanted by multi-user.target" grep -qx 'WantedBy=multi-user.target' "$T/unit"

dpkg-deb -I "$DEB" conffiles > "$T/conffiles" 2>/dev/null
check "conffiles lists /etc/kubevirt-ksmd.conf" grep -qx '/etc/kubevirt-ksmd.conf' "$T/conffiles"
dpkg-deb -I "$DEB" postinst > "$T/postinst" 2>/dev/null
check "postinst enables the unit with deb-systemd-helper" \
        grep -q "deb-systemd-helper enable 'kubevirt-ksmd.service'" "$T/postinst"
check "postinst starts the unit only when systemd runs, and tolerates failure" \
        bash -c 'grep -q "if \[ -d /run/systemd/system \]" "$1" && grep -q "deb-systemd-invoke \$_dh_action .kubevirt-ksmd.service. >/dev/null || true" "$1"' _ "$T/postinst"
dpkg-deb -I "$DEB" prerm > "$T/prerm" 2>/dev/null
check "prerm stops the unit on removal" grep -q "deb-systemd-invoke stop 'kubevirt-ksmd.service'" "$T/prerm"

# ---- 2. control ------------------------------------------------------------------------------
dpkg-deb -I "$DEB" > "$T/info" 2>&1
depends=$(dpkg-deb -f "$DEB" Depends 2>/dev/null)
echo "# Depends: $depends"
check "dpkg-deb -I shows a Depends field" grep -q '^ Depends: ' "$T/info"
for dep in dbus libc6 libsystemd0 libudev1 libcurl4 'libjson-c[0-9]+' 'libyaml-0-[0-9]+'; do
        check "it depends on $dep" \
                bash -c '[[ ", $1," =~ ,\ $2(\ \([^\)]*\))?, ]]' _ "$depends" "$dep"
done
check "Architecture is $(dpkg --print-architecture)" \
        test "$(dpkg-deb -f "$DEB" Architecture)" = "$(dpkg --print-architecture)"
check "Section is admin" test "$(dpkg-deb -f "$DEB" Section)" = admin

# ---- 3. lintian ------------------------------------------------------------------------------
changes=$(dirname "$DEB")/kubevirt-ksmd_${version}_$(dpkg-deb -f "$DEB" Architecture).changes
maint=$(dpkg-deb -f "$DEB" Maintainer)
if ! command -v lintian >/dev/null; then
        skip "lintian reports no E: on the .deb" "lintian not installed"
        skip "lintian reports no E: on the .changes" "lintian not installed"
else
        timeout 600 lintian --pedantic -I "$DEB" > "$T/lintian-deb" 2>&1
        grep -E '^[EWIP]:' "$T/lintian-deb" | diag
        check "lintian reports no E: on the .deb" bash -c '! grep "^E:" "$1"' _ "$T/lintian-deb"
        if [ -f "$changes" ]; then
                # The .changes (and the -dbgsym package it lists) cannot carry overrides. While
                # the maintainer address is the @localhost placeholder, lintian's two tags about
                # it are expected there and left out; every other E: fails.
                sup=()
                case $maint in
                *@localhost\>) sup=(--suppress-tags bogus-mail-host,bogus-mail-host-in-debian-changelog)
                               echo "# placeholder maintainer $maint: the .changes check ignores bogus-mail-host*" ;;
                esac
                timeout 600 lintian --pedantic -I "${sup[@]}" "$changes" > "$T/lintian-changes" 2>&1
                grep -E '^[EWIP]:' "$T/lintian-changes" | diag
                check "lintian reports no E: on the .changes" bash -c '! grep "^E:" "$1"' _ "$T/lintian-changes"
        else
                skip "lintian reports no E: on the .changes" "no $(basename "$changes") beside the .deb"
        fi
fi

# ---- 4. install into a throwaway root ----------------------------------------------------------
CACHE=${PKGTEST_CACHE:-/var/cache/kubevirt-ksmd-pkgtest}
MIRROR=${PKGTEST_MIRROR:-http://deb.debian.org/debian}
SUITE=${PKGTEST_SUITE:-$(. /etc/os-release 2>/dev/null; echo "${VERSION_CODENAME:-bookworm}")}
ARCH=$(dpkg --print-architecture)
# v1: minbase plus man-db (for man -w). Bump when the include list changes.
TARBALL=$CACHE/$SUITE-$ARCH-minbase-man-db-v1.tar.gz

ROOTFS_TESTS=(
        "cached $SUITE root is available"
        "apt-get install ./$(basename "$DEB") in a root without a running systemd"
        "dpkg reports kubevirt-ksmd installed, and dpkg --verify finds every file intact"
        "the unit is enabled (multi-user.target.wants symlink)"
        "kubevirt-ksmd --version prints $version"
        "kubevirt-ksmd --check-config accepts the installed /etc/kubevirt-ksmd.conf"
        "man -w kubevirt-ksmd finds the manual page"
        "the daemon takes org.kubevirt.KSM1 on the root's system bus (installed policy) and kubevirt-ksmctl status works"
        "with a selecting KubeVirt CR the daemon switches the scratch KSM on"
        "the installed policy lets nobody read the status"
        "the installed policy refuses Reconcile to nobody (rejected by the bus)"
        "root may call Reconcile"
        "apt-get purge removes the package, its conffile and the enablement symlink"
)
skip_rootfs() {
        local t
        for t in "${ROOTFS_TESTS[@]}"; do skip "$t" "$1"; done
        echo "1..$TAP_N"
        [ "$TAP_FAILED" -eq 0 ]
        exit
}

[ -n "${PKGTEST_NO_ROOTFS:-}" ] && skip_rootfs "PKGTEST_NO_ROOTFS is set"
[ "$(id -u)" -eq 0 ] || skip_rootfs "needs root (chroot, namespaces)"
for tool in unshare chroot mount timeout flock; do
        command -v "$tool" >/dev/null || skip_rootfs "$tool not installed"
done
unshare --mount --pid --fork --kill-child true 2>/dev/null || skip_rootfs "cannot create mount and PID namespaces here"

# make_cache: debootstrap minbase into a scratch directory, then an atomic rename of its tarball.
make_cache() {
        local d rc
        command -v debootstrap >/dev/null || { echo "debootstrap not installed"; return 1; }
        mkdir -p "$CACHE"
        d=$(mktemp -d "$CACHE/build.XXXXXX")
        timeout -k 30 1500 debootstrap --variant=minbase --include=man-db "$SUITE" "$d/root" "$MIRROR" > "$d/log" 2>&1
        rc=$?
        if [ $rc -ne 0 ]; then
                tail -n 20 "$d/log"
                rm -rf --one-file-system "$d"
                return 1
        fi
        rm -rf "$d/root/var/cache/apt/archives/"*.deb "$d/root/var/lib/apt/lists/"*_dists_* 2>/dev/null
        tar -C "$d/root" --numeric-owner -czf "$d/root.tar.gz" . && mv -f "$d/root.tar.gz" "$TARBALL"
        rc=$?
        rm -rf --one-file-system "$d"
        return $rc
}

exec 9>"$T/lock"
mkdir -p "$CACHE" 2>/dev/null && exec 9>"$CACHE/lock"
if ! flock -w 1800 9; then
        skip_rootfs "another run holds $CACHE/lock"
fi
if [ ! -s "$TARBALL" ] || [ -n "${PKGTEST_REFRESH:-}" ]; then
        echo "# creating $TARBALL with debootstrap from $MIRROR (once; takes a few minutes)"
        if ! make_cache > "$T/cache.log" 2>&1; then
                diag < "$T/cache.log"
                flock -u 9
                skip_rootfs "no cached root and debootstrap $SUITE from $MIRROR failed"
        fi
fi
flock -u 9
ok "${ROOTFS_TESTS[0]} ($(basename "$TARBALL"))"

ROOT=$T/root
mkdir -p "$ROOT"
if ! tar -C "$ROOT" --numeric-owner -xzf "$TARBALL" 2>"$T/untar.log"; then
        diag < "$T/untar.log"
        not_ok "${ROOTFS_TESTS[1]} (the cached root does not unpack; PKGTEST_REFRESH=1 rebuilds it)"
        echo "1..$TAP_N"
        exit 1
fi
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
cp "$DEB" "$ROOT/tmp/" && chmod 0644 "$ROOT/tmp/$(basename "$DEB")"
mkdir -p "$CACHE/archives/partial" "$ROOT/tmp/smoke"
if [ -d "$top/tests/fixtures/ksm-6.18" ]; then
        cp -r "$top/tests/fixtures/ksm-6.18" "$ROOT/tmp/smoke/ksm"
        cp "$top/tests/fixtures/meminfo-16g-idle.txt" "$ROOT/tmp/smoke/meminfo"
fi

# inroot TIMEOUT COMMAND...: runs COMMAND chrooted into ROOT, in fresh mount and PID namespaces
# (/proc, /dev and the shared apt archive cache mounted there). Every process it starts dies
# with it, and its mounts vanish with the namespace.
inroot() {
        local t=$1
        shift
        timeout -k 10 "$t" unshare --mount --propagation private --pid --fork --kill-child -- \
                /bin/sh -c '
                        r=$1 cache=$2; shift 2
                        mount -t proc proc "$r/proc" &&
                        mount --rbind /dev "$r/dev" &&
                        mount --bind "$cache" "$r/var/cache/apt/archives" || exit 125
                        exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
                                LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
                ' inroot "$ROOT" "$CACHE/archives" "$@"
}

deb_in_root=/tmp/$(basename "$DEB")
install_log=$T/install.log
{ inroot 300 apt-get update -q && inroot 900 apt-get install -y -q --no-install-recommends "$deb_in_root"; } > "$install_log" 2>&1
rc=$?
if [ $rc -eq 0 ]; then
        ok "${ROOTFS_TESTS[1]}"
        grep -E '^(Setting up|Unpacking) ' "$install_log" | diag
else
        not_ok "${ROOTFS_TESTS[1]} (exit $rc)"
        tail -n 40 "$install_log" | diag
        for t in "${ROOTFS_TESTS[@]:2}"; do skip "$t" "the package is not installed"; done
        echo "1..$TAP_N"
        exit 1
fi

check "${ROOTFS_TESTS[2]}" inroot 60 sh -c \
        'dpkg-query -W -f="\${Status}\n" kubevirt-ksmd | grep -qx "install ok installed" && dpkg --verify kubevirt-ksmd'
check "${ROOTFS_TESTS[3]}" test "$(readlink "$ROOT/etc/systemd/system/multi-user.target.wants/kubevirt-ksmd.service")" \
        = /lib/systemd/system/kubevirt-ksmd.service
out=$(inroot 30 kubevirt-ksmd --version 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$out" = "kubevirt-ksmd $version" ]; then ok "${ROOTFS_TESTS[4]}"; else not_ok "${ROOTFS_TESTS[4]} (exit $rc: $out)"; fi
check "${ROOTFS_TESTS[5]}" inroot 30 kubevirt-ksmd --check-config
out=$(inroot 60 man -w kubevirt-ksmd 2>&1); rc=$?
if ! [ -x "$ROOT/usr/bin/man" ]; then
        skip "${ROOTFS_TESTS[6]}" "man-db not in the cached root"
elif [ $rc -eq 0 ] && [ "$out" = /usr/share/man/man8/kubevirt-ksmd.8.gz ]; then
        ok "${ROOTFS_TESTS[6]} ($out)"
else
        not_ok "${ROOTFS_TESTS[6]} (exit $rc: $out)"
fi

# The smoke run: the root's own dbus-daemon --system (Debian's system.conf, which includes
# /usr/share/dbus-1/system.d and so the installed policy), the installed daemon on a scratch
# copy of a KSM directory with the file source, and the installed client, as root and as nobody.
# Prints one "RESULT<TAB>INDEX<TAB>detail" line per test.
if [ ! -d "$ROOT/tmp/smoke/ksm" ]; then
        for i in 7 8 9 10 11; do skip "${ROOTFS_TESTS[i]}" "no tests/fixtures beside this script"; done
else
        cat > "$ROOT/tmp/smoke/run.sh" <<'EOF'
#!/bin/sh
S=/tmp/smoke
res() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }
wait_for() { n=$1; shift; while [ "$n" -gt 0 ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
cat > $S/ksmd.conf <<CONF
[Source]
Type=file
KubeVirtFile=$S/kubevirt.json
NodeFile=$S/node.json
[KSM]
SysfsDir=$S/ksm
MeminfoFile=$S/meminfo
[Daemon]
StateDirectory=$S/state
CONF
echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node01","labels":{},"annotations":{},"resourceVersion":"1"}}' > $S/node.json
echo 0 > $S/ksm/run
mkdir -p /run/dbus && rm -f /run/dbus/pid /run/dbus/system_bus_socket
dbus-daemon --system --fork >$S/bus.log 2>&1 || { cat $S/bus.log; res fail 7 "dbus-daemon --system did not start"; exit 0; }
NODE_NAME=node01 kubevirt-ksmd --config $S/ksmd.conf >$S/ksmd.log 2>&1 &
if wait_for 200 kubevirt-ksmctl status; then
        res ok 7 ""
else
        res fail 7 "$(kubevirt-ksmctl status 2>&1 | tail -n 3 | tr '\n' ' ') $(tail -n 5 $S/ksmd.log | tr '\n' ' ')"
        exit 0
fi
echo '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{}}}}}' > $S/kubevirt.json.tmp
mv $S/kubevirt.json.tmp $S/kubevirt.json
if wait_for 200 grep -qx 1 $S/ksm/run; then res ok 8 ""; else res fail 8 "run is $(cat $S/ksm/run); $(tail -n 5 $S/ksmd.log | tr '\n' ' ')"; fi
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
out=$(nobody kubevirt-ksmctl status 2>&1); rc=$?
if [ $rc -eq 0 ]; then res ok 9 ""; else res fail 9 "exit $rc: $out"; fi
# The daemon refuses non-root callers itself too; "Rejected send message" is the bus's own
# refusal, so the installed policy file is in force.
out=$(nobody kubevirt-ksmctl reconcile 2>&1); rc=$?
case "$rc:$out" in
        0:*) res fail 10 "nobody's Reconcile succeeded" ;;
        *"Rejected send message"*) res ok 10 "" ;;
        *) res fail 10 "exit $rc, not refused by the bus: $out" ;;
esac
out=$(kubevirt-ksmctl reconcile 2>&1); rc=$?
if [ $rc -eq 0 ]; then res ok 11 ""; else res fail 11 "exit $rc: $out"; fi
EOF
        chmod 0755 "$ROOT/tmp/smoke/run.sh"
        inroot 120 /tmp/smoke/run.sh > "$T/smoke.out" 2>&1
        for i in 7 8 9 10 11; do
                line=$(awk -F'\t' -v i=$i '$2 == i' "$T/smoke.out" | head -n 1)
                case $line in
                ok*)   d=$(printf '%s' "$line" | cut -f3); ok "${ROOTFS_TESTS[i]}${d:+ ($d)}" ;;
                fail*) not_ok "${ROOTFS_TESTS[i]}"; printf '%s\n' "$line" | cut -f3 | diag ;;
                *)     not_ok "${ROOTFS_TESTS[i]} (not reached)"; grep -v $'\t' "$T/smoke.out" | tail -n 20 | diag ;;
                esac
        done
fi

purge() {
        inroot 300 apt-get purge -y -q kubevirt-ksmd || return 1
        [ ! -e "$ROOT/etc/kubevirt-ksmd.conf" ] || { echo "/etc/kubevirt-ksmd.conf is still there"; return 1; }
        [ ! -e "$ROOT/usr/sbin/kubevirt-ksmd" ] || { echo "/usr/sbin/kubevirt-ksmd is still there"; return 1; }
        [ ! -L "$ROOT/etc/systemd/system/multi-user.target.wants/kubevirt-ksmd.service" ] \
                || { echo "the enablement symlink is still there"; return 1; }
}
check "${ROOTFS_TESTS[12]}" purge

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
