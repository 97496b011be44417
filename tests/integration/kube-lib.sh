# kube-lib.sh — Kubernetes-source helpers of the integration tests: the API test server
# (tests/kube-apiserver.py) and its /_test/ control API, kubectl against it, requests made by
# the daemon, and several daemon instances side by side, each with its own private system
# bus, scratch KSM directory, state directory and configuration.
# Source it after lib.sh. It skips the test when python3, openssl or kubectl are missing, and
# it kills everything it started on exit (finish, a Bail out, or an error).

kube_skip() { rm -rf "$T"; skip_all "$@"; }
command -v python3 >/dev/null || kube_skip "python3 not installed"
command -v openssl >/dev/null || kube_skip "openssl not installed"
: "${KUBECTL:=kubectl}"
command -v "$KUBECTL" >/dev/null || kube_skip "kubectl not installed"
# The interpreter itself, not a pyenv shim: several times faster to start, and every control
# call starts one.
PY=$(python3 -c 'import sys; print(sys.executable)')
KUBE_SERVER=$top_srcdir/tests/kube-apiserver.py
KDIR=$T/apiserver
KSERVER_PID=
KTOKEN_FILE=
DAEMON_UA=kubevirt-ksmd/
MEMINFO_IDLE=$top_srcdir/tests/fixtures/meminfo-16g-idle.txt

# ---- a small HTTPS client --------------------------------------------------------------------
# kapi METHOD PATH [--data JSON] [--ctype T] [--no-token] [--expect PY-EXPR] [--print PY-EXPR]
#      [--exec PY-STATEMENTS]
# The expressions and statements see s (status), h (headers, lower case), b (JSON body or
# text), json, and for /_test/requests answers D: the requests made by the daemon (its user
# agent); --exec fails if the statements set ok = False. The token: $KTOKEN_FILE when set
# (the server runs with --token-file), else $KDIR/token.
cat >"$T/kapi.py" <<'EOF'
import argparse, http.client, json, os, ssl, sys
ap = argparse.ArgumentParser()
ap.add_argument("dir"); ap.add_argument("method"); ap.add_argument("path")
ap.add_argument("--data"); ap.add_argument("--ctype", default="application/json")
ap.add_argument("--no-token", action="store_true")
ap.add_argument("--timeout", type=float, default=10)
ap.add_argument("--expect"); ap.add_argument("--print", dest="pr")
ap.add_argument("--exec", dest="code", help="Python statements; fails if they set ok = False")
a = ap.parse_args()
port = int(open(os.path.join(a.dir, "port")).read())
ctx = ssl.create_default_context(cafile=os.path.join(a.dir, "ca.crt"))
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=a.timeout)
hdrs = {"Accept": "application/json", "User-Agent": "ksmd-integration-tests/kapi"}
if not a.no_token:
    tf = os.environ.get("KTOKEN_FILE") or os.path.join(a.dir, "token")
    hdrs["Authorization"] = "Bearer " + open(tf).readline().strip()
body = None
if a.data is not None:
    body = a.data.encode(); hdrs["Content-Type"] = a.ctype
s, h, b = None, {}, None
try:
    conn.request(a.method, a.path, body, hdrs)
    r = conn.getresponse()
    s, h = r.status, {k.lower(): v for k, v in r.getheaders()}
    raw = r.read()
    try:
        b = json.loads(raw)
    except ValueError:
        b = raw.decode(errors="replace")
except OSError as e:
    print("# kapi %s %s: %s" % (a.method, a.path, e), file=sys.stderr)
finally:
    conn.close()
D = [q for q in b.get("requests", []) if q.get("user_agent", "").startswith("kubevirt-ksmd/")] \
    if isinstance(b, dict) else []
env = {"s": s, "h": h, "b": b, "json": json, "D": D}
if a.code:
    try:
        exec(a.code, env)
    except Exception as e:
        print("# kapi --exec raised %r" % e, file=sys.stderr); sys.exit(1)
    if env.get("ok") is False:
        sys.exit(1)
if a.pr:
    try:
        print(eval(a.pr, env))
    except Exception as e:
        print("# kapi --print raised %r" % e, file=sys.stderr); sys.exit(1)
if a.expect:
    try:
        ok = eval(a.expect, env)
    except Exception as e:
        ok = False; print("# kapi --expect raised %r" % e, file=sys.stderr)
    if not ok:
        print("# kapi: expected %s; got %s %s" % (a.expect, s, json.dumps(b)[:500]), file=sys.stderr)
        sys.exit(1)
elif s is None or s >= 300:
    sys.exit(1)
EOF
kapi() { KTOKEN_FILE=$KTOKEN_FILE "$PY" "$T/kapi.py" "$KDIR" "$@"; }
# ktest METHOD /_test/PATH [JSON]: the control API (no token); fails unless 200.
ktest() {
        if [ $# -ge 3 ]; then kapi "$1" "$2" --no-token --data "$3" --expect 's==200'
        else kapi "$1" "$2" --no-token --expect 's==200'; fi >/dev/null
}
fault() { ktest POST /_test/fault "$1"; }
seed() { ktest POST /_test/seed "$1"; }

# ---- the server --------------------------------------------------------------------------------
# start_apiserver [ARGS...]: the server on a free port in $KDIR; waits for DIR/ready.
start_apiserver() {
        mkdir -p "$KDIR"
        "$PY" "$KUBE_SERVER" --dir "$KDIR" "$@" >"$KDIR/server.out" 2>&1 &
        KSERVER_PID=$!
        wait_until 30 test -f "$KDIR/ready" || {
                echo "Bail out! the API test server did not start"; sed 's/^/# /' "$KDIR/server.out"; exit 1; }
}
stop_apiserver() {
        [ -n "$KSERVER_PID" ] || return 0
        kill -TERM "$KSERVER_PID" 2>/dev/null
        wait_until 10 eval '! kill -0 $KSERVER_PID 2>/dev/null' || kill -KILL "$KSERVER_PID" 2>/dev/null
        wait "$KSERVER_PID" 2>/dev/null
        KSERVER_PID=
}

# kc ARGS...: the real kubectl against the server (only commands kubectl 1.20 has too).
kc() { timeout 60 "$KUBECTL" --kubeconfig "$KDIR/kubeconfig" --cache-dir "$T/kubectl-cache" "$@"; }

# ---- objects -----------------------------------------------------------------------------------
# node_json NAME [EXTRA_LABELS_JSON_MEMBERS]: a Node as a kubelet registers it.
node_json() {
        local extra=${2:+,$2}
        printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64"%s},"annotations":{"node.alpha.kubernetes.io/ttl":"0"}},"status":{"capacity":{"cpu":"8","memory":"16302148Ki","pods":"110"}}}' \
                "$1" "$1" "$extra"
}
# kubevirt_json SELECTOR_JSON|absent: the KubeVirt CR kubevirt/kubevirt.
kubevirt_json() {
        local ksm=
        [ "$1" = absent ] || ksm=",\"ksmConfiguration\":{\"nodeLabelSelector\":$1}"
        printf '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{"developerConfiguration":{"featureGates":[]}%s}},"status":{"phase":"Deployed"}}' "$ksm"
}

# knode NODE labels|annotations KEY: the value on the server, or <absent> (read through the
# control API, so that faults injected for the daemon never hit the test's own reads).
knode() {
        kapi GET "/_test/objects?resource=nodes" --no-token \
                --print "next((o['metadata'].get('$2',{}).get('$3','<absent>') for o in b['items'] if o['metadata']['name']=='$1'),'<no node>')"
}
knode_label_is() { [ "$(knode "$1" labels kubevirt.io/ksm-enabled)" = "$2" ]; }
knode_annotation_is() { [ "$(knode "$1" annotations kubevirt.io/ksm-handler-managed)" = "$2" ]; }
# knode_ksm_is NODE LABEL ANNOTATION: both at once, one request.
knode_ksm_is() {
        [ "$(kapi GET "/_test/objects?resource=nodes" --no-token \
                --print "next((o['metadata'].get('labels',{}).get('kubevirt.io/ksm-enabled','<absent>')+' '+o['metadata'].get('annotations',{}).get('kubevirt.io/ksm-handler-managed','<absent>') for o in b['items'] if o['metadata']['name']=='$1'),'<no node>')")" = "$2 $3" ]
}
# kevents NODE REASON: how many Events with that reason the server holds about the node.
kevents() {
        kapi GET "/_test/objects?resource=events" --no-token \
                --print "sum(1 for o in b['items'] if o.get('reason')=='$2' and o.get('involvedObject',{}).get('name')=='$1')"
}
kevents_more_than() { [ "$(kevents "$1" "$2")" -gt "$3" ]; }

# ---- what the daemon asked the server ----------------------------------------------------------
# daemon_watches N: at least N watches of the daemon are open on the server.
daemon_watches() {
        kapi GET /_test/watches --no-token \
                --expect "sum(1 for w in b['watches'] if w['user_agent'].startswith('$DAEMON_UA'))>=$1" 2>/dev/null
}
# reqlog_mark: the number of lines in requests.log now; reqlog_since MARK: the daemon's lines
# after it ("METHOD PATH?QUERY STATUS USER-AGENT"). The log is complete, unlike the last-200
# list of /_test/requests.
reqlog_mark() { wc -l <"$KDIR/requests.log"; }
reqlog_since() { tail -n +"$(( $1 + 1 ))" "$KDIR/requests.log" | grep -E " ${DAEMON_UA}[^ ]*\$"; }
reqlog_count() { reqlog_since "$1" | grep -cE -- "$2"; }
# daemon_requests_count PY-FILTER: the daemon's requests in /_test/requests matching the
# filter over q (a request: method, path, query, status, time, user_agent, watch).
daemon_requests_count() { kapi GET /_test/requests --no-token --print "sum(1 for q in D if $1)"; }

# ---- configuration -----------------------------------------------------------------------------
# kube_conf SYSFS_DIR [EXTRA LINES...]: a daemon configuration for the server in $KDIR.
kube_conf() {
        local sysfs=$1; shift
        cat <<CONF
[Source]
Type=kubernetes

[Kubernetes]
Kubeconfig=$KDIR/kubeconfig
WatchIdleTimeoutSec=${WATCH_IDLE:-30}

[KSM]
SysfsDir=$sysfs
MeminfoFile=$MEMINFO_IDLE
RecheckSec=${RECHECK:-30}
CONF
        local l
        for l in "$@"; do echo "$l"; done
}
write_kube_conf() { kube_conf "$SYSFS" "$@" >"$CONF"; }
# set_ksm DIR RUN PAGES SLEEP: the scratch KSM state before the daemon starts.
set_ksm() { echo "$2" >"$1/run"; echo "$3" >"$1/pages_to_scan"; echo "$4" >"$1/sleep_millisecs"; }

# ---- several daemon instances ------------------------------------------------------------------
# inst_setup N NODE: $T/inst-N with its own bus socket, KSM directory (a 6.18 kernel's),
# state directory and configuration (RECHECK, WATCH_IDLE as for kube_conf).
declare -A INST_NODE=() INST_BUS_PID=() INST_KSMD_PID=()
inst_dir() { echo "$T/inst-$1"; }
inst_setup() {
        local n=$1 d; d=$(inst_dir "$1")
        INST_NODE[$n]=$2
        mkdir -p "$d/ksm" "$d/state"
        cp "$top_srcdir/tests/fixtures/ksm-6.18"/* "$d/ksm"/
        kube_conf "$d/ksm" >"$d/ksmd.conf"
        {
                echo '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">'
                echo "<busconfig><type>system</type><listen>unix:path=$d/bus.sock</listen><auth>EXTERNAL</auth>"
                echo '<policy context="default"><allow user="*"/><deny own="*"/><deny send_type="method_call"/>'
                echo '<allow send_type="signal"/><allow send_requested_reply="true" send_type="method_return"/><allow send_requested_reply="true" send_type="error"/>'
                echo '<allow receive_type="method_call"/><allow receive_type="method_return"/><allow receive_type="error"/><allow receive_type="signal"/>'
                echo '<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>'
                echo '<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>'
                echo '<allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/></policy>'
                echo "<include>$top_srcdir/dbus/org.kubevirt.KSM1.conf</include>"
                echo '</busconfig>'
        } >"$d/bus.conf"
        command -v dbus-daemon >/dev/null || kube_skip "dbus-daemon not installed"
        [ "$(id -u)" -eq 0 ] || kube_skip "needs root: the bus policy lets only root own org.kubevirt.KSM1"
        dbus-daemon --config-file="$d/bus.conf" --nofork --nopidfile --nosyslog >"$d/bus.log" 2>&1 &
        INST_BUS_PID[$n]=$!
        wait_until 5 test -S "$d/bus.sock" || { echo "Bail out! dbus-daemon $n did not start"; cat "$d/bus.log"; exit 1; }
}
# inst N COMMAND...: runs a command against instance N's bus.
inst() { local d; d=$(inst_dir "$1"); shift; DBUS_SYSTEM_BUS_ADDRESS="unix:path=$d/bus.sock" "$@"; }
inst_sysfs_is() { [ "$(cat "$(inst_dir "$1")/ksm/$2" 2>/dev/null)" = "$3" ]; }
inst_prop() { inst "$1" busctl --system get-property "$BUS" "$OBJ" "$IFACE" "$2" 2>/dev/null | cut -d' ' -f2-; }
inst_prop_is() { [ "$(inst_prop "$1" "$2")" = "$3" ]; }
inst_on_bus() { inst "$1" busctl --system status "$BUS" >/dev/null 2>&1; }
inst_start() {
        local n=$1 d wrap=(); d=$(inst_dir "$1")
        if [ -n "${KSMD_VALGRIND:-}" ]; then
                wrap=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
                      --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$d/valgrind.log")
        fi
        DBUS_SYSTEM_BUS_ADDRESS="unix:path=$d/bus.sock" NODE_NAME=${INST_NODE[$n]} STATE_DIRECTORY=$d/state \
                "${wrap[@]}" "$KSMD" --config "$d/ksmd.conf" --log-level=debug >>"$d/ksmd.log" 2>&1 &
        INST_KSMD_PID[$n]=$!
        wait_until $((20 * SLOW)) inst_on_bus "$n" || { not_ok "daemon $n did not appear on its bus"; finish; exit 1; }
}
# inst_stop N [SIGNAL]: stops instance N's daemon, returns its exit status.
inst_stop() {
        local n=$1 sig=${2:-TERM} pid=${INST_KSMD_PID[$1]:-} rc
        [ -n "$pid" ] || return 0
        kill -"$sig" "$pid" 2>/dev/null
        wait "$pid"; rc=$?
        INST_KSMD_PID[$n]=
        if [ -n "${KSMD_VALGRIND:-}" ] && [ "$rc" -eq 99 ]; then
                echo "# valgrind ($n):"; sed 's/^/# /' "$(inst_dir "$n")/valgrind.log"
        fi
        return "$rc"
}
inst_stop_bus() {
        local pid=${INST_BUS_PID[$1]:-}
        [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
        INST_BUS_PID[$1]=
}

# ---- failures, cleanup ---------------------------------------------------------------------------
# On a failure also show the instances' logs (lib.sh shows $LOG, the single daemon's).
not_ok() {
        TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"
        local f
        for f in "$LOG" "$T"/inst-*/ksmd.log; do
                [ -f "$f" ] || continue
                echo "# --- ${f#"$T"/} (last 20 lines)"; tail -n 20 "$f" | sed 's/^/# /'
        done
}
kube_stop_all() {
        local n
        for n in "${!INST_KSMD_PID[@]}"; do inst_stop "$n" >/dev/null 2>&1; done
        for n in "${!INST_BUS_PID[@]}"; do inst_stop_bus "$n"; done
        stop_daemon >/dev/null 2>&1
        stop_bus
        stop_apiserver
}
# finish: lib.sh's, after stopping the daemons, their buses and the server.
eval "lib_finish() $(declare -f finish | tail -n +2)"
finish() { kube_stop_all; lib_finish; }
trap 'kube_stop_all' EXIT

# ms_since START_NS: milliseconds since a $(date +%s%N).
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# ---- the model of virt-handler's own KSM loop (tests/virt-handler-ksm.py) --------------------------
# VH_MODEL: the program (another one with the same options can be tried in its place).
: "${VH_MODEL:=$top_srcdir/tests/virt-handler-ksm.py}"
# vh_model ARGS...: runs the model against the server in $KDIR (server, CA and token filled in).
vh_conn() {
        VH_CONN=(--server "https://127.0.0.1:$(cat "$KDIR/port")" --ca "$KDIR/ca.crt"
                 --token-file "${KTOKEN_FILE:-$KDIR/token}")
}
vh_model() { vh_conn; "$PY" "$VH_MODEL" "${VH_CONN[@]}" "$@"; }
# vh_start NAME ARGS...: the model in the background, its log in $T/vh-NAME.log; vh_stop NAME.
declare -A VH_PID=()
vh_start() {
        local n=$1; shift
        vh_conn
        "$PY" "$VH_MODEL" "${VH_CONN[@]}" "$@" >>"$T/vh-$n.log" 2>&1 &
        VH_PID[$n]=$!
}
vh_stop() {
        local pid=${VH_PID[$1]:-}
        [ -n "$pid" ] || return 0
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        VH_PID[$1]=
}
# vh_stat STATS_FILE KEY: one counter of the model's --stats-file (empty before its first pass).
vh_stat() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null; }
# knode_owner NODE labels|annotations KEY: who last wrote that key: the field managers whose
# managedFields entry holds it (comma-separated; empty when nobody, e.g. a seeded value).
knode_owner() {
        kapi GET "/_test/objects?resource=nodes" --no-token --print "','.join(e['manager'] for o in b['items'] if o['metadata']['name']=='$1' for e in o['metadata'].get('managedFields') or [] if 'f:$3' in e.get('fieldsV1',{}).get('f:metadata',{}).get('f:$2',{}))"
}
# The models stop with everything else.
eval "kube_stop_all_but_models() $(declare -f kube_stop_all | tail -n +2)"
kube_stop_all() {
        local n
        for n in "${!VH_PID[@]}"; do vh_stop "$n"; done
        kube_stop_all_but_models
}

# ---- a hostile API server (tests/kube-apiserver.py fault type "hostile") ------------------------
# The daemon's CPU time in clock ticks, its peak RSS in KiB, and whether it was built with ASan
# (whose shadow memory makes RSS meaningless).
daemon_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
daemon_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
ksmd_has_asan() { grep -aq __asan_init "$KSMD" 2>/dev/null || grep -aq __asan_init "$(dirname "$KSMD")/.libs/$(basename "$KSMD")" 2>/dev/null; }
CLK_TCK=$(getconf CLK_TCK)
# bus_answers_within S: a property read on the daemon's bus returns within S seconds.
bus_answers_within() { timeout "$1" busctl --system get-property "$BUS" "$OBJ" "$IFACE" Running >/dev/null 2>&1; }

# hostile_case NAME WINDOW_S MAX_REQUESTS TRIGGER LOG_PATTERN FAULT_JSON... — injects the faults
# (each with count -1), makes the daemon meet them (TRIGGER: drop_watches, or expire_watches for
# a re-LIST), and for WINDOW_S checks every 50 ms that KSM stays as it was (run $HOSTILE_RUN, the
# label $HOSTILE_LABEL) and the bus answers within 2 s; then that the journal got LOG_PATTERN
# anew (the daemon met the fault), that the daemon made at most MAX_REQUESTS requests and used at
# most a quarter of the window in CPU; then clears the faults and waits (bounded) until both
# watches are back and stayed up 3 s (a healthy watch, which resets the backoff).
# Sets HC_REQS, HC_CPU_MS.
hostile_case() {
        local name=$1 win=$2 maxreq=$3 trigger=$4 pat=$5 f mark c0 c1 l0; shift 5
        mark=$(reqlog_mark)
        l0=$(grep -c -- "$pat" "$LOG")
        c0=$(daemon_cpu_ticks "$KSMD_PID")
        for f in "$@"; do fault "$f" || { not_ok "$name: fault $f refused"; return; }; done
        fault "{\"type\":\"$trigger\"}"
        stays "$name: run stays $HOSTILE_RUN and the bus answers within 2 s, for ${win} s" "$win" \
                eval 'sysfs_is run "$HOSTILE_RUN" && bus_answers_within $((2 * SLOW))'
        c1=$(daemon_cpu_ticks "$KSMD_PID")
        HC_REQS=$(reqlog_since "$mark" | wc -l)
        HC_CPU_MS=$(( (c1 - c0) * 1000 / CLK_TCK ))
        check "$name: the daemon met it (journal: $pat)" eval '[ "$(grep -c -- "$pat" "$LOG")" -gt "$l0" ]'
        echo "# $name: $HC_REQS requests and ${HC_CPU_MS} ms CPU in ${win} s, VmHWM $(daemon_hwm_kib "$KSMD_PID") KiB"
        check "$name: no request storm ($HC_REQS <= $maxreq requests in ${win} s)" test "$HC_REQS" -le "$maxreq"
        check "$name: no busy loop (${HC_CPU_MS} ms CPU in ${win} s)" \
                test "$HC_CPU_MS" -le $(( win * 250 * SLOW ))
        check "$name: label and annotation unchanged ($HOSTILE_LABEL)" knode_ksm_is node01 "$HOSTILE_LABEL" "$HOSTILE_LABEL"
        ktest DELETE /_test/fault
        eventually "$name: converges once the server behaves (both watches back, Connected true)" $((40 * SLOW)) \
                eval 'daemon_watches 2 && prop_is Connected true'
        stays "$name: both watches stay up 3 s" 3 daemon_watches 2
}
# hwm_below KIB: the daemon's peak RSS stayed below KIB (skipped under valgrind and ASan).
hwm_below() {
        local hwm; hwm=$(daemon_hwm_kib "$KSMD_PID")
        if [ -n "${KSMD_VALGRIND:-}" ] || ksmd_has_asan; then
                ok "peak RSS ${hwm} KiB (not checked under valgrind or ASan) # SKIP"
                return
        fi
        check "peak RSS of the daemon ${hwm} KiB < $1 KiB (MemoryMax=64M)" test "$hwm" -lt "$1"
}
# stops_cleanly: the daemon ends on SIGTERM with status 0 and its output has no sanitizer or
# valgrind report (ASan, UBSan and leak reports land in $LOG).
stops_cleanly() {
        check "the daemon stops cleanly on SIGTERM (exit 0)" stop_daemon
        check "no sanitizer report in the daemon's output" eval '! grep -aqE "Sanitizer|runtime error:" "$LOG"'
}
# hostile_setup WATCH_IDLE_S: the API server (bookmarks every second) with node01 not selected by
# the KubeVirt CR (it wants kubevirt.io/ksm=true), the daemon started and settled: KSM off, label
# false, both watches open. The hostile answers carry selected nodes, so taking one as node01
# would switch KSM on.
hostile_setup() {
        node_json node01 >"$T/node01.json"
        kubevirt_json '{"matchLabels":{"kubevirt.io/ksm":"true"}}' >"$T/kubevirt.json"
        start_apiserver --bookmark-interval 1 --seed "$T/node01.json" "$T/kubevirt.json"
        start_bus policy
        make_sysfs
        set_ksm "$SYSFS" 0 100 20
        WATCH_IDLE=$1 write_kube_conf
        start_daemon
        HOSTILE_RUN=0 HOSTILE_LABEL=false
        NODES=/api/v1/nodes KV=/apis/kubevirt.io/v1/kubevirts
        eventually "start: Connected true" $((10 * SLOW)) prop_is Connected true
        eventually "start: label false, annotation false" $((5 * SLOW)) knode_ksm_is node01 false false
        wait_until $((10 * SLOW)) daemon_watches 2
}
# hostile_end: the daemon still follows the real server, its peak RSS, a clean stop.
hostile_end() {
        check "after: node01 labelled kubevirt.io/ksm=true" eval 'kc label node node01 kubevirt.io/ksm=true >/dev/null'
        eventually "after: KSM switched on (run 1)" $((10 * SLOW)) sysfs_is run 1
        eventually "after: label true, annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
        hwm_below 49152
        check "the daemon is still running" kill -0 "$KSMD_PID"
        stops_cleanly
}
