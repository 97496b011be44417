# lib.sh — shared harness of the integration tests: a private system bus, a scratch KSM
# directory, a state directory, JSON source files, the real daemon, and TAP output.
# Sourced by tests/integration/test-*.sh; every wait is a bounded poll on a condition.

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${KSMD:=$top_builddir/kubevirt-ksmd}"
: "${KSMCTL:=$top_builddir/kubevirt-ksmctl}"

T=$(mktemp -d /tmp/ksmd-it.XXXXXX)
chmod 0755 "$T"            # the unprivileged client must reach the bus socket
SYSFS=$T/ksm
STATE=$T/state
KVFILE=$T/src/kubevirt.json
NODEFILE=$T/src/node.json
CONF=$T/ksmd.conf
LOG=$T/ksmd.log
BUS_PID=
KSMD_PID=
TAP_N=0
TAP_FAILED=0

export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/bus.sock"
export NODE_NAME=node01
export STATE_DIRECTORY=$STATE

BUS=org.kubevirt.KSM1
OBJ=/org/kubevirt/KSM1
IFACE=org.kubevirt.KSM1

# ---- TAP -------------------------------------------------------------------------------------
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() {
        TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"
        if [ -f "$LOG" ]; then echo "# --- daemon log (last 30 lines)"; tail -n 30 "$LOG" | sed 's/^/# /'; fi
}
# check DESCRIPTION COMMAND...: one TAP line from a command's status.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# eventually DESCRIPTION TIMEOUT_S COMMAND...: polls the condition every 50 ms until it holds.
eventually() {
        local d=$1 t=$2; shift 2
        if wait_until "$t" "$@"; then ok "$d"; else not_ok "$d (not within ${t}s)"; fi
}
wait_until() {
        local t=$1; shift
        local end=$(( $(date +%s%N) + ${t%.*} * 1000000000 ))
        while :; do
                "$@" && return 0
                [ "$(date +%s%N)" -ge "$end" ] && return 1
                sleep 0.05
        done
}
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
# python_with MODULE: prints a python3 that can import MODULE (Debian's /usr/bin/python3 first:
# one found earlier on PATH may not see Debian's packages); nothing and status 1 when none can.
python_with() {
        local p
        for p in /usr/bin/python3 python3; do
                "$p" -c "import $1" 2>/dev/null && { echo "$p"; return 0; }
        done
        return 1
}

finish() {
        stop_daemon >/dev/null 2>&1 || true
        stop_bus
        echo "1..$TAP_N"
        if [ "$TAP_FAILED" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "# kept $T"; fi
        [ "$TAP_FAILED" -eq 0 ]
}

# ---- the private system bus ------------------------------------------------------------------
# A system-like bus: denies method calls and name ownership by default, as Debian's
# system.conf does, then includes the daemon's own policy file (mode "policy"), or allows
# everything (mode "open", to test the daemon's own root check).
start_bus() {
        local mode=${1:-policy}
        command -v dbus-daemon >/dev/null || skip_all "dbus-daemon not installed"
        [ "$mode" = open ] || [ "$(id -u)" -eq 0 ] || skip_all "needs root: the bus policy lets only root own org.kubevirt.KSM1"
        {
                echo '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">'
                echo "<busconfig><type>system</type><listen>unix:path=$T/bus.sock</listen><auth>EXTERNAL</auth>"
                if [ "$mode" = open ]; then
                        echo '<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_destination="*"/><allow receive_sender="*"/></policy>'
                else
                        echo '<policy context="default"><allow user="*"/><deny own="*"/><deny send_type="method_call"/>'
                        echo '<allow send_type="signal"/><allow send_requested_reply="true" send_type="method_return"/><allow send_requested_reply="true" send_type="error"/>'
                        echo '<allow receive_type="method_call"/><allow receive_type="method_return"/><allow receive_type="error"/><allow receive_type="signal"/>'
                        echo '<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>'
                        echo '<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>'
                        echo '<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/></policy>'
                        echo "<include>$top_srcdir/dbus/org.kubevirt.KSM1.conf</include>"
                fi
                echo '</busconfig>'
        } > "$T/bus.conf"
        dbus-daemon --config-file="$T/bus.conf" --nofork --nopidfile --nosyslog >"$T/bus.log" 2>&1 &
        BUS_PID=$!
        wait_until 5 test -S "$T/bus.sock" || { echo "Bail out! dbus-daemon did not start"; cat "$T/bus.log"; exit 1; }
}

stop_bus() {
        [ -n "$BUS_PID" ] && kill "$BUS_PID" 2>/dev/null && wait "$BUS_PID" 2>/dev/null
        BUS_PID=
}

# ---- fixtures --------------------------------------------------------------------------------
# make_sysfs [FIXTURE]: a scratch copy of a KSM directory (default: a 6.18 kernel's).
make_sysfs() {
        rm -rf "$SYSFS"; mkdir -p "$SYSFS"
        cp "$top_srcdir/tests/fixtures/${1:-ksm-6.18}"/* "$SYSFS"/
}
sysfs() { cat "$SYSFS/$1"; }
sysfs_is() { [ "$(cat "$SYSFS/$1" 2>/dev/null)" = "$2" ]; }

# write_kubevirt SELECTOR_JSON|absent|none: the KubeVirt CR file.
write_kubevirt() {
        mkdir -p "$(dirname "$KVFILE")"
        case "$1" in
        none) rm -f "$KVFILE" ;;
        absent) atomic_write "$KVFILE" '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{}}}' ;;
        *) atomic_write "$KVFILE" "{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"kubevirt\",\"namespace\":\"kubevirt\"},\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":$1}}}}" ;;
        esac
}

# write_node LABELS_JSON [ANNOTATIONS_JSON]: the Node file.
write_node() {
        mkdir -p "$(dirname "$NODEFILE")"
        atomic_write "$NODEFILE" "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\",\"labels\":$1,\"annotations\":${2:-{\}},\"resourceVersion\":\"1\"},\"status\":{\"capacity\":{\"memory\":\"24Gi\"}}}"
}

# Editors write a new file and rename it over the old one; do the same.
atomic_write() { printf '%s\n' "$2" > "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; }

# node_get labels|annotations KEY: prints the value, or <absent>.
node_get() {
        python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print(d.get("metadata",{}).get(sys.argv[2],{}).get(sys.argv[3],"<absent>"))' "$NODEFILE" "$1" "$2" 2>/dev/null
}
node_label_is() { [ "$(node_get labels kubevirt.io/ksm-enabled)" = "$1" ]; }
node_annotation_is() { [ "$(node_get annotations kubevirt.io/ksm-handler-managed)" = "$1" ]; }

write_conf() {
        cat > "$CONF" <<CONF
[Source]
Type=file
KubeVirtFile=$KVFILE
NodeFile=$NODEFILE

[KSM]
SysfsDir=$SYSFS
MeminfoFile=$top_srcdir/tests/fixtures/meminfo-16g-idle.txt
RecheckSec=${RECHECK:-30}
$*
CONF
}

# ---- the daemon ------------------------------------------------------------------------------
start_daemon() {
        local wrap=()
        if [ -n "${KSMD_VALGRIND:-}" ]; then
                wrap=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
                      --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$T/valgrind.log")
        fi
        "${wrap[@]}" "$KSMD" --config "$CONF" --log-level=debug "$@" >>"$LOG" 2>&1 &
        KSMD_PID=$!
        wait_until 20 daemon_on_bus || { not_ok "daemon did not appear on the bus"; finish; exit 1; }
}

daemon_on_bus() { busctl --system status "$BUS" >/dev/null 2>&1; }

# stop_daemon [SIGNAL]: stops it and returns its exit status.
stop_daemon() {
        local sig=${1:-TERM} rc
        [ -n "$KSMD_PID" ] || return 0
        kill -"$sig" "$KSMD_PID" 2>/dev/null
        wait "$KSMD_PID"; rc=$?
        KSMD_PID=
        if [ -n "${KSMD_VALGRIND:-}" ] && [ "$rc" -eq 99 ]; then
                echo "# valgrind:"; sed 's/^/# /' "$T/valgrind.log"
        fi
        return "$rc"
}

# prop NAME: the property's value without its type ("true", "100", "\"text\"").
prop() { busctl --system get-property "$BUS" "$OBJ" "$IFACE" "$1" 2>/dev/null | cut -d' ' -f2-; }
prop_is() { [ "$(prop "$1")" = "$2" ]; }

# Waits until the daemon finished a reconcile after this call.
reconciled_after() { local t; t=$(prop LastReconcile); [ -n "$t" ] && [ "$t" -gt "$1" ]; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }
log_has() { grep -q -- "$1" "$LOG"; }

# ---- helpers for negative and unprivileged checks ---------------------------------------------
# stays DESCRIPTION SECONDS COMMAND...: the condition holds now and throughout the window (the
# bounded counterpart of eventually, for "this must not happen" assertions).
stays() {
        local d=$1 t=$2; shift 2
        local end=$(( $(date +%s%N) + ${t%.*} * 1000000000 ))
        while :; do
                "$@" || { not_ok "$d (stopped holding)"; return; }
                [ "$(date +%s%N)" -ge "$end" ] && break
                sleep 0.05
        done
        ok "$d"
}
# settled: LastReconcile did not move for 300 ms (no reconcile in flight); use with wait_until.
settled() { local a; a=$(prop LastReconcile); sleep 0.3; [ -n "$a" ] && [ "$(prop LastReconcile)" = "$a" ]; }
# as_nobody COMMAND...: runs a command as uid/gid 65534 with no supplementary groups.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# SLOW: multiplier for the tests' own timeouts; larger under valgrind, 1 otherwise.
if [ -z "${SLOW:-}" ]; then
        if [ -n "${KSMD_VALGRIND:-}" ]; then SLOW=5; else SLOW=1; fi
fi
