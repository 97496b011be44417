#!/bin/bash
# build-rpm.sh — builds the RPM from a "make dist" tarball of this build with the unchanged
# rpm/kubevirt-ksmd.spec ("rpmbuild -tb --nodeps"), and checks that it installs exactly what
# "make install" installs (plus the documentation and the preset file), with the configuration
# as %config(noreplace) and the catalog and systemd scriptlets. TAP output; skipped when
# rpmbuild is missing (Debian: apt-get install rpm) or there is no configured build tree.
#
#   top_srcdir=SRC top_builddir=BUILD bash tests/packaging/build-rpm.sh
#
# Debian's rpm lacks Fedora's systemd-rpm-macros: tests/packaging/rpm-test.macros stands in for
# them (loaded with --load, for this test only). RPM_CHECK=1 also runs the spec's %check (the
# unit tests again, slower); RPM_KEEP=1 keeps the work directory.
set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
TAP_N=0
TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }

command -v rpmbuild >/dev/null || skip_all "rpmbuild is not installed (Debian: apt-get install rpm)"
command -v rpm2archive >/dev/null || skip_all "rpm2archive is not installed (Debian: apt-get install rpm2cpio)"
[ -f "$top_builddir/Makefile" ] || skip_all "no configured build tree in $top_builddir"
[ -f "$top_builddir/rpm/kubevirt-ksmd.spec" ] || skip_all "configure did not make rpm/kubevirt-ksmd.spec"

# Run from make check, the parent make's flags (jobserver, command-line variables such as
# TESTS=) would leak into the nested make and rpmbuild's own build.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
T=$(mktemp -d /tmp/ksmd-rpm.XXXXXX)
finish() {
        echo "1..$TAP_N"
        if [ "$TAP_FAILED" -eq 0 ] && [ -z "${RPM_KEEP:-}" ]; then rm -rf "$T"; else echo "# kept $T"; fi
        [ "$TAP_FAILED" -eq 0 ]
}
# Prints a log's tail as TAP comments.
show() { tail -n "${2:-25}" "$1" | sed 's/^/# /'; }

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
pkg=kubevirt-ksmd-$version

# ---- 1. the release tarball ------------------------------------------------------------------
# "make dist"'s contents, made into a directory of this test's own, so that a make check running
# beside it never sees a half-written tarball in the build tree.
if make -s -C "$top_builddir" distdir distdir="$T/$pkg" >"$T/dist.log" 2>&1 &&
   tar -C "$T" -czf "$T/$pkg.tar.gz" "$pkg" 2>>"$T/dist.log"; then
        ok "make distdir + tar: $pkg.tar.gz"
else
        not_ok "make distdir + tar: $pkg.tar.gz"; show "$T/dist.log"; finish; exit
fi
check "the tarball ships the generated spec file" test -f "$T/$pkg/rpm/kubevirt-ksmd.spec"
check "the tarball ships the journal catalog" test -f "$T/$pkg/catalog/kubevirt-ksmd.catalog"

# ---- 2. rpmbuild -tb -------------------------------------------------------------------------
with_check=(--without check)
[ -n "${RPM_CHECK:-}" ] && with_check=(--with check)
start=$(date +%s)
if timeout 1200 rpmbuild -tb --nodeps "${with_check[@]}" \
        --load "$top_srcdir/tests/packaging/rpm-test.macros" \
        --define "_topdir $T/rpmbuild" --define 'debug_package %{nil}' \
        --define "_smp_mflags -j${RPM_JOBS:-2}" \
        "$T/$pkg.tar.gz" >"$T/rpmbuild.log" 2>&1; then
        ok "rpmbuild -tb --nodeps ${with_check[*]} succeeds ($(( $(date +%s) - start )) s)"
else
        not_ok "rpmbuild -tb --nodeps ${with_check[*]} succeeds"; show "$T/rpmbuild.log" 40; finish; exit
fi
rpm=$(find "$T/rpmbuild/RPMS" -name "kubevirt-ksmd-$version-*.rpm" | head -n 1)
check "a binary package kubevirt-ksmd-$version is built" test -n "$rpm"
[ -n "$rpm" ] || { finish; exit; }

# ---- 3. its files against "make install" ------------------------------------------------------
# The spec's directories, given to the same build tree's "make install": %configure's standard
# ones, and each --with-NAME=DIR of the spec (expanded by rpmspec) as the make variable NAME.
dirs=()
while IFS= read -r opt; do
        opt=${opt#--with-}
        dirs+=("${opt%%=*}=${opt#*=}")
done < <(rpmspec -P --load "$top_srcdir/tests/packaging/rpm-test.macros" "$T/$pkg/rpm/kubevirt-ksmd.spec" 2>/dev/null |
         grep -oE -- '--with-[a-z]+dir=/[^ ]+')
check "the spec names its directories (--with-...dir=: ${#dirs[@]})" test "${#dirs[@]}" -ge 4
DEST=$T/install
if make -s -C "$top_builddir" install DESTDIR="$DEST" prefix=/usr exec_prefix=/usr sysconfdir=/etc \
        localstatedir=/var docdir=/usr/share/doc/kubevirt-ksmd "${dirs[@]}" >"$T/install.log" 2>&1; then
        ok "make install DESTDIR= with the spec's directories"
else
        not_ok "make install DESTDIR= with the spec's directories"; show "$T/install.log"
fi
# Expected: what make install put there, the documentation the Debian package ships too (README,
# deploy/, the example configuration; debian/kubevirt-ksmd.docs and .examples), and the preset,
# which only an RPM needs. Manual pages are compressed by rpm: compared without ".gz".
{
        (cd "$DEST" && find . \( -type f -o -type l \) | sed 's|^\.||')
        doc=/usr/share/doc/kubevirt-ksmd
        echo "$doc/README.md"
        echo "$doc/kubevirt-ksmd.conf.example"
        (cd "$T/$pkg" && find deploy \( -type f -o -type l \) | sed "s|^|$doc/|")
        echo /usr/lib/systemd/system-preset/90-kubevirt-ksmd.preset
} | sed 's/\.gz$//' | sort -u > "$T/expected"
# Actual: the package's files and symlinks (directories left out), without the build-id links
# that rpm itself adds for every ELF file.
rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" 2>/dev/null | grep -v '^d' | cut -d' ' -f2- |
        grep -v '^/usr/lib/\.build-id/' | sed 's/\.gz$//' | sort -u > "$T/actual"
check "make install installs something" test "$(wc -l < "$T/expected")" -gt 10
only_make=$(comm -23 "$T/expected" "$T/actual" | tr '\n' ' ')
only_rpm=$(comm -13 "$T/expected" "$T/actual" | tr '\n' ' ')
check "every file make install installs is in the RPM${only_make:+ (missing: $only_make)}" test -z "$only_make"
check "the RPM has no file make install does not install${only_rpm:+ (extra: $only_rpm)}" test -z "$only_rpm"
for f in /usr/sbin/kubevirt-ksmd /usr/bin/kubevirt-ksmctl /usr/lib/systemd/system/kubevirt-ksmd.service \
         /usr/lib/systemd/catalog/kubevirt-ksmd.catalog /usr/share/dbus-1/system.d/org.kubevirt.KSM1.conf; do
        check "the RPM has $f" grep -qxF -- "$f" "$T/actual"
done

# ---- 4. attributes and scriptlets ---------------------------------------------------------
rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" > "$T/flags" 2>/dev/null
not_config=$(awk '$NF ~ /^\/etc\// && !($1 ~ /c/ && $1 ~ /n/) { print $NF }' "$T/flags" | tr '\n' ' ')
check "every file under /etc is %config(noreplace)${not_config:+ (not: $not_config)}" test -z "$not_config"
check "/etc/kubevirt-ksmd.conf is in the package" grep -q ' /etc/kubevirt-ksmd.conf$' "$T/flags"
# The payload, unpacked: data files as make install made them (binaries are stripped by rpm).
mkdir -p "$T/payload"
rpm2archive - < "$rpm" 2>/dev/null | tar -C "$T/payload" -xzf - 2>/dev/null
# Files made at build time (the units) carry this build's directories: a build configured with
# another prefix (the sanitizer build's /usr/local) is compared with them mapped to the spec's.
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
unprefix() {
        if [ "${prefix:-/usr}" = /usr ]; then cat "$1"
        else sed -e "s|$prefix/etc|/etc|g" -e "s|$prefix/var|/var|g" -e "s|$prefix/|/usr/|g" "$1"; fi
}
differ=
for f in $(cd "$DEST" && find . -type f ! -path './usr/share/man/*' ! -path './usr/bin/*' ! -path './usr/sbin/*'); do
        unprefix "$DEST/$f" | cmp -s - "$T/payload/$f" || differ="$differ ${f#.}"
done
check "the packaged data files are the ones make install installs${differ:+ (differ:$differ)}" test -z "$differ"
preset=$(grep -v '^#' "$T/payload/usr/lib/systemd/system-preset/90-kubevirt-ksmd.preset" 2>/dev/null | grep .)
check "the preset says: disable kubevirt-ksmd.service and the metrics timer" \
        test "$preset" = "$(printf 'disable kubevirt-ksmd.service\ndisable kubevirt-ksmd-metrics.timer')"
rpm -qp --scripts "$rpm" > "$T/scripts" 2>/dev/null
post=$(awk '/^postinstall scriptlet/ { on = 1; next } /scriptlet/ { on = 0 } on' "$T/scripts")
check "%post presets the unit (%systemd_post)" grep -q 'preset kubevirt-ksmd.service' <<<"$post"
check "%post updates the journal catalog" grep -q 'journalctl --update-catalog' <<<"$post"
check "%preun stops and disables the unit on removal (%systemd_preun)" \
        bash -c "awk '/^preuninstall scriptlet/{on=1;next} /scriptlet/{on=0} on' '$T/scripts' | grep -q 'disable --now kubevirt-ksmd.service'"
check "%postun restarts the unit on upgrade (%systemd_postun_with_restart)" \
        bash -c "awk '/^postuninstall scriptlet/{on=1;next} /scriptlet/{on=0} on' '$T/scripts' | grep -q 'try-restart kubevirt-ksmd.service'"
check "the package requires dbus" bash -c "rpm -qp --requires '$rpm' 2>/dev/null | grep -qx 'dbus'"
check "the package's version is configure's ($version)" \
        test "$(rpm -qp --qf '%{VERSION}' "$rpm" 2>/dev/null)" = "$version"

finish
