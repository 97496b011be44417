#!/bin/bash
# quickstart.sh — installs what the build needs on Debian 12, builds, and then either shows the
# daemon working on a scratch KSM directory ("demo") or runs every test suite ("check").
#   bash tools/quickstart.sh demo     build and watch it switch (scratch) KSM on and off
#   bash tools/quickstart.sh check    build, then make check: plain, ASan+UBSan, valgrind
#   bash tools/quickstart.sh deps     only install the packages
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Everything the build and the tests need, on a bare Debian 12 with nothing but apt.
PACKAGES=(
        build-essential autoconf automake libtool pkg-config
        libsystemd-dev libcurl4-openssl-dev libjson-c-dev libudev-dev libyaml-dev libcmocka-dev
        dbus-daemon dbus-bin systemd util-linux procps python3 valgrind ca-certificates
        openssl groff-base mandoc rpm rpm2cpio
        python3-prometheus-client curl
)

deps() {
        local missing=()
        for p in "${PACKAGES[@]}"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
        done
        # Real kubectl for the API test server's fidelity test: Debian's, unless one is installed.
        command -v kubectl >/dev/null || missing+=(kubernetes-client)
        [ ${#missing[@]} -eq 0 ] && return 0
        echo "==> Installing: ${missing[*]}"
        if [ "$(id -u)" -ne 0 ]; then
                echo "Run as root (apt-get install is needed for: ${missing[*]})." >&2
                exit 1
        fi
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Builds out of tree in build/ (and build-asan/ for the sanitizer run), so that several
# configurations can live side by side.
build() {
        echo "==> Building in $top/build"
        [ -x configure ] && [ configure -nt configure.ac ] && [ -f Makefile.in ] && [ Makefile.in -nt Makefile.am ] \
                || autoreconf -fi >/dev/null
        mkdir -p build
        (cd build && { [ -f Makefile ] && [ Makefile -nt ../configure ] || ../configure -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var; } \
                && make -s -j"$jobs")
}

# sum_results LOG...: prints "N passed, N failed" from automake test-suite.log headers.
sum_results() {
        local pass=0 fail=0 skip=0 f v
        for f in "$@"; do
                [ -f "$f" ] || { fail=$((fail + 1)); continue; }
                v=$(awk '/^# PASS:/ {print $3}' "$f"); pass=$((pass + ${v:-0}))
                v=$(awk '/^# SKIP:/ {print $3}' "$f"); skip=$((skip + ${v:-0}))
                for k in FAIL XPASS ERROR; do
                        v=$(awk -v k="# $k:" 'index($0, k) == 1 {print $3}' "$f"); fail=$((fail + ${v:-0}))
                done
        done
        pass=$((pass + ${E2E_PASS:-0})); fail=$((fail + ${E2E_FAIL:-0})); skip=$((skip + ${E2E_SKIP:-0}))
        [ "$skip" -eq 0 ] || echo "$skip skipped (see the SKIP lines above)"
        echo "$pass passed, $fail failed"
        [ "$fail" -eq 0 ]
}

# per_test BUILDDIR: one line per test program with its counts, from automake's .trs files.
per_test() {
        local f p n
        for f in "$1"/tests/*.trs "$1"/tests/integration/*.trs "$1"/tests/fuzz/*.trs "$1"/tests/packaging/*.trs; do
                [ -f "$f" ] || continue
                p=$(grep -c '^:test-result: PASS' "$f" || true)
                n=$(grep -c -E '^:test-result: (FAIL|ERROR|XPASS)' "$f" || true)
                printf '   %-48s %4d passed, %d failed\n' "${f#"$1"/}" "$p" "$n"
        done
}

# no_suite_log BUILDDIR OUTPUT: when make stopped before the tests ran (a build error), shows why.
no_suite_log() {
        [ -f "$1/test-suite.log" ] && return 0
        echo "   make stopped before the tests ran; the end of its output:"
        tail -n 30 "$2" 2>/dev/null | sed 's/^/   | /'
}

check() {
        local logs=() rc=0

        echo "==> make check (plain build)"
        rm -f build/test-suite.log build/test-suite-plain.log build/test-suite-valgrind.log
        make -C build -s -j"$jobs" check >build/check-plain.out 2>&1 || { rc=1; no_suite_log build build/check-plain.out; }
        cp build/test-suite.log build/test-suite-plain.log 2>/dev/null || true
        logs+=(build/test-suite-plain.log)
        per_test build
        grep -E '^(# |FAIL|ERROR)' build/test-suite.log 2>/dev/null | head -20 || true

        echo "==> make check under AddressSanitizer + UndefinedBehaviorSanitizer"
        mkdir -p build-asan && rm -f build-asan/test-suite.log
        (cd build-asan && { [ -f Makefile ] || ../configure -q --enable-sanitizers; } \
                && make -s -j"$jobs" >/dev/null && make -s -j"$jobs" check >check-asan.out 2>&1) \
                || { rc=1; no_suite_log build-asan build-asan/check-asan.out; }
        logs+=(build-asan/test-suite.log)
        per_test build-asan
        grep -E '^(# |FAIL|ERROR)' build-asan/test-suite.log 2>/dev/null | head -20 || true

        echo "==> integration tests with the daemon under valgrind"
        rm -f build/test-suite.log
        make -C build -s check-valgrind >build/check-valgrind.out 2>&1 || { rc=1; no_suite_log build build/check-valgrind.out; }
        cp build/test-suite.log build/test-suite-valgrind.log 2>/dev/null || true
        logs+=(build/test-suite-valgrind.log)
        per_test build
        grep -E '^(# |FAIL|ERROR)' build/test-suite.log 2>/dev/null | head -20 || true

        echo "==> end-to-end test under a booted systemd (systemd-nspawn)"
        local e2e_pass=0 e2e_fail=0 e2e_skip=0
        bash tests/e2e/run.sh --builddir build > build/e2e.log 2>&1 || rc=1
        grep -E '^(not ok|# (exposure|e2e duration|SKIP)|1\.\.0)' build/e2e.log || true
        { grep -q '^not ok' build/e2e.log && grep -E '^#' build/e2e.log | tail -n 40; } || true
        e2e_pass=$(grep -c '^ok ' build/e2e.log || true)
        e2e_fail=$(grep -c '^not ok ' build/e2e.log || true)
        grep -q '^1\.\.[1-9]' build/e2e.log || grep -q '^1\.\.0 # SKIP' build/e2e.log || e2e_fail=$((e2e_fail + 1))
        grep -q '^1\.\.0 # SKIP' build/e2e.log && e2e_skip=1
        printf '   %-48s %4d passed, %d failed%s\n' "tests/e2e/run.sh" "$e2e_pass" "$e2e_fail" \
                "$([ "$e2e_skip" = 1 ] && echo ", skipped (see the SKIP line above)")"

        for f in $(grep -l -E '^(not ok|ERROR:)' build/tests/*.log build/tests/integration/*.log build/tests/fuzz/*.log \
                        build/tests/packaging/*.log build-asan/tests/*.log build-asan/tests/integration/*.log \
                        build-asan/tests/fuzz/*.log build-asan/tests/packaging/*.log 2>/dev/null); do
                echo "---- $f"; grep -E -B2 -A20 '^not ok' "$f" | head -60
        done
        E2E_PASS=$e2e_pass E2E_FAIL=$e2e_fail E2E_SKIP=$e2e_skip sum_results "${logs[@]}" || rc=1
        return $rc
}

# wait_file FILE VALUE: until FILE holds VALUE, for at most 5 s.
wait_file() {
        for _ in $(seq 100); do [ "$(cat "$1" 2>/dev/null)" = "$2" ] && return 0; sleep 0.05; done
        return 1
}

demo() {
        d=$(mktemp -d /tmp/ksmd-demo.XXXXXX)
        bus_pid= ksmd_pid=
        trap 'kill $ksmd_pid $bus_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$d"' EXIT

        echo "==> Demo in $d: a private system bus, a scratch copy of the KSM directory"
        mkdir -p "$d/ksm" "$d/etc"
        if [ -r /sys/kernel/mm/ksm/run ]; then
                for f in /sys/kernel/mm/ksm/*; do cat "$f" > "$d/ksm/$(basename "$f")" 2>/dev/null || true; done
        else
                cp tests/fixtures/ksm-6.18/* "$d/ksm/"
        fi
        echo 0 > "$d/ksm/run"

        cat > "$d/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=$d/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>
CONF
        dbus-daemon --config-file="$d/bus.conf" --nofork --nopidfile >/dev/null 2>&1 &
        bus_pid=$!
        export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$d/bus.sock" STATE_DIRECTORY="$d/state" NODE_NAME=node01

        echo '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{}}}' > "$d/etc/kubevirt.json"
        echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node01","labels":{"kubernetes.io/hostname":"node01"}}}' > "$d/etc/node.json"
        printf '[Source]\nType=file\nKubeVirtFile=%s\nNodeFile=%s\n[KSM]\nSysfsDir=%s\n' \
                "$d/etc/kubevirt.json" "$d/etc/node.json" "$d/ksm" > "$d/kubevirt-ksmd.conf"

        for _ in $(seq 50); do [ -S "$d/bus.sock" ] && break; sleep 0.1; done
        build/kubevirt-ksmd --config "$d/kubevirt-ksmd.conf" 2> >(sed 's/^/    daemon: /' >&2) &
        ksmd_pid=$!
        for _ in $(seq 50); do build/kubevirt-ksmctl status >/dev/null 2>&1 && break; sleep 0.1; done

        echo; echo "==> No ksmConfiguration in the KubeVirt CR: KSM stays off"
        for _ in $(seq 100); do grep -q ksm-enabled "$d/etc/node.json" && break; sleep 0.05; done
        build/kubevirt-ksmctl status
        echo; echo "==> Selecting this node: nodeLabelSelector matchExpressions hostname In [node01]"
        echo '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"In","values":["node01"]}]}}}}}' > "$d/etc/kubevirt.json.new"
        mv "$d/etc/kubevirt.json.new" "$d/etc/kubevirt.json"
        wait_file "$d/ksm/run" 1
        for _ in $(seq 100); do grep -q '"kubevirt.io/ksm-enabled": *"true"' "$d/etc/node.json" && break; sleep 0.05; done
        build/kubevirt-ksmctl status
        echo; echo "==> The Node object now carries:"
        python3 -m json.tool "$d/etc/node.json" | grep -E 'ksm-(enabled|handler-managed)'
        echo; echo "==> Removing ksmConfiguration: KSM off again, scan settings restored"
        echo '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{}}}' > "$d/etc/kubevirt.json.new"
        mv "$d/etc/kubevirt.json.new" "$d/etc/kubevirt.json"
        wait_file "$d/ksm/run" 0
        build/kubevirt-ksmctl status | sed -n '1,9p'
        echo; echo "==> Done. Install with 'make install' and run 'systemctl enable --now kubevirt-ksmd'."
}

case "${1:-demo}" in
deps) deps ;;
demo) deps; build; demo ;;
check) deps; build; check ;;
*) echo "usage: $0 demo|check|deps" >&2; exit 2 ;;
esac
