#!/bin/bash
# test-metrics.sh — the Prometheus metrics: [Metrics] Listen= scraped with curl and parsed by
# prometheus_client, values against the scratch sysfs and the bus, GetMetrics() against the
# listener, misbehaving clients, reload, and --check-config on bad Listen= values.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || skip_all "curl not installed"
CHECK=$top_srcdir/tests/integration/metrics-check.py
PY=$(python_with prometheus_client) || skip_all "python3-prometheus-client not installed"

OUT=$T/out
BODY=$T/body
RC=0
call() { "$@" >"$OUT" 2>&1; RC=$?; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# scrape [URL]: the body into $BODY; prints the HTTP status.
scrape() { curl -s -o "$BODY" -w '%{http_code}' --max-time 5 "${1:-http://127.0.0.1:$PORT/metrics}"; }
status_is() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${@:2}")" = "$1" ]; }
values() { scrape >/dev/null && "$PY" "$CHECK" values "$BODY" "$@"; }
metric() { "$PY" "$CHECK" get "$BODY" "$1"; }
prop_num() { prop "$1" | tr -d '"'; }
prop_bool01() { [ "$(prop "$1")" = true ] && echo 1 || echo 0; }
answers() { [ "$(scrape "http://127.0.0.1:$1/metrics")" = 200 ]; }
refuses() { ! curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/metrics"; }
PAGE=$(getconf PAGESIZE)

check "the Grafana dashboard is JSON with panels and an instance variable" \
        "$PY" "$CHECK" dashboard "$top_srcdir/deploy/grafana-kubevirt-ksmd.json"

# ==== 1. --check-config refuses bad Listen= values with FILE:LINE ==================================
make_sysfs
mkdir -p "$(dirname "$KVFILE")" "$(dirname "$NODEFILE")"   # --check-config wants the source's directories
for bad in "localhost:9842" "127.0.0.1:0" "127.0.0.1" "::1:9842" "[::1]" "127.0.0.1:99999"; do
        write_conf "
[Metrics]
Listen=$bad"
        line=$(grep -n '^Listen=' "$CONF" | cut -d: -f1)
        call "$KSMD" --config "$CONF" --check-config
        check "check-config: Listen=$bad exits 78" test "$RC" -eq 78
        check "check-config: Listen=$bad names $CONF:$line" grep -qF "$CONF:$line: Invalid Listen= value '$bad'" "$OUT"
done
for good in "127.0.0.1:9842" "[::1]:9842" "0.0.0.0:9842" ""; do
        write_conf "
[Metrics]
Listen=$good"
        call "$KSMD" --config "$CONF" --check-config
        check "check-config: Listen=$good accepted" test "$RC" -eq 0
done

# ==== 2. A scrape shows what sysfs and the bus show ===================================================
PORT=$(free_port)
write_conf "
[Metrics]
Listen=127.0.0.1:$PORT"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_bus policy
start_daemon
eventually "selected: run 1" 5 sysfs_is run 1
eventually "managed: annotation true" $((5 * SLOW)) node_annotation_is true
wait_until 5 settled

check "GET /metrics answers 200" test "$(scrape)" = 200
check "Content-Type is the text format 0.0.4" \
        bash -c "curl -s -D - -o /dev/null http://127.0.0.1:$PORT/metrics | grep -qi '^Content-Type: text/plain; version=0.0.4'"
check "prometheus_client parses the scrape" "$PY" "$CHECK" values "$BODY" kubevirt_ksmd_available=1
# The scan controller may still step pages_to_scan and sleep_millisecs: each comparison reads
# both sides afresh until they agree (bounded).
sysfs_agrees() {
        local sharing shared unshared volatile scans zero profit pages sleep
        sharing=$(sysfs pages_sharing) shared=$(sysfs pages_shared) unshared=$(sysfs pages_unshared)
        volatile=$(sysfs pages_volatile) scans=$(sysfs full_scans) zero=$(sysfs ksm_zero_pages)
        profit=$(sysfs general_profit) pages=$(sysfs pages_to_scan) sleep=$(sysfs sleep_millisecs)
        values kubevirt_ksmd_pages_sharing="$sharing" kubevirt_ksmd_pages_shared="$shared" \
                kubevirt_ksmd_pages_unshared="$unshared" kubevirt_ksmd_pages_volatile="$volatile" \
                kubevirt_ksmd_full_scans_total="$scans" kubevirt_ksmd_ksm_zero_pages="$zero" \
                kubevirt_ksmd_general_profit_bytes="$profit" kubevirt_ksmd_pages_to_scan="$pages" \
                kubevirt_ksmd_sleep_seconds="$(awk -v ms="$sleep" 'BEGIN { print ms / 1000 }')" \
                kubevirt_ksmd_saved_bytes=$(( (sharing + zero) * PAGE ))
}
eventually "KSM counters and settings equal the sysfs files; saved_bytes = (sharing + zero) x page" 5 sysfs_agrees
# agrees METRIC PROPERTY: the scrape and the bus property say the same (booleans as 0/1).
agrees() {
        local v
        v=$(prop "$2" | tr -d '"')
        case $v in true) v=1 ;; false) v=0 ;; esac
        scrape >/dev/null && [ "$(metric "$1")" = "$v" ]
}
for pair in saved_bytes:SavedBytes general_profit_bytes:GeneralProfit pages_to_scan:PagesToScan \
            running:Running selected:Selected managed:Managed connected:Connected available:Available; do
        eventually "kubevirt_ksmd_${pair%%:*} equals the ${pair#*:} property" 5 agrees "kubevirt_ksmd_${pair%%:*}" "${pair#*:}"
done
check "state: running, selected, managed, connected, no conflict" values \
        kubevirt_ksmd_running=1 kubevirt_ksmd_selected=1 kubevirt_ksmd_managed=1 kubevirt_ksmd_connected=1 \
        kubevirt_ksmd_conflict=0
policy_info_agrees() { values "kubevirt_ksmd_policy_info{policy=\"always\",state=$(prop ScanState)}=1"; }
eventually "policy_info carries the policy and the ScanState" 5 policy_info_agrees
check "node_info names the node" values 'kubevirt_ksmd_node_info{node="node01"}=1'
check "build_info carries the version" \
        values "kubevirt_ksmd_build_info{version=\"$("$KSMD" --version | head -1 | awk '{print $NF}')\"}=1"
# The exact text: µs since the epoch as seconds with up to six decimals.
last_reconcile_agrees() {
        local u f
        u=$(prop LastReconcileUSec | cut -d' ' -f1)
        f=$(printf '%06d' $((u % 1000000)) | sed 's/0*$//')
        scrape >/dev/null && grep -qx "kubevirt_ksmd_last_reconcile_timestamp_seconds $((u / 1000000))${f:+.$f}" "$BODY"
}
eventually "last_reconcile_timestamp_seconds is LastReconcileUSec" 5 last_reconcile_agrees
scrape >/dev/null
n=$(metric kubevirt_ksmd_reconciles_total)
check "reconciles_total counts the reconciles ($n)" test "$n" -ge 1
check "the duration histogram counts as many" "$PY" "$CHECK" values "$BODY" \
        kubevirt_ksmd_reconcile_duration_seconds_count="$n" "kubevirt_ksmd_reconcile_duration_seconds_bucket{le=\"+Inf\"}=$n"
if grep -q '^kubevirt_ksmd_ksmd_cpu_seconds_total ' "$BODY"; then
        check "ksmd CPU seconds is a number" grep -qE '^kubevirt_ksmd_ksmd_cpu_seconds_total [0-9]+(\.[0-9]+)?$' "$BODY"
else
        ok "ksmd CPU seconds # SKIP no ksmd thread on this kernel"
fi

# A KSM counter change shows in the next scrape, with the values derived from it.
echo 1234 > "$SYSFS/pages_sharing"
echo 77 > "$SYSFS/full_scans"
check "the next scrape shows pages_sharing 1234 and full_scans 77" values \
        kubevirt_ksmd_pages_sharing=1234 kubevirt_ksmd_full_scans_total=77 \
        kubevirt_ksmd_saved_bytes=$(( (1234 + $(sysfs ksm_zero_pages)) * PAGE ))

# A reconcile after a reconcile request is counted.
before=$(metric kubevirt_ksmd_reconciles_total)
busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile >/dev/null
reconciles_above() { scrape >/dev/null && [ "$(metric kubevirt_ksmd_reconciles_total)" -gt "$1" ]; }
eventually "Reconcile() increments reconciles_total" 5 reconciles_above "$before"

# ==== 3. GetMetrics() over the bus is the listener's body =============================================
# Minus the volatile line: ksmd's CPU time moves between the two reads.
same_body() {
        busctl --system --json=short call "$BUS" "$OBJ" "$IFACE" GetMetrics > "$T/bus.json" || return 1
        "$PY" "$CHECK" bus-string "$T/bus.json" | grep -v '^kubevirt_ksmd_ksmd_cpu_seconds_total ' > "$T/bus.txt"
        scrape >/dev/null || return 1
        grep -v '^kubevirt_ksmd_ksmd_cpu_seconds_total ' "$BODY" | cmp -s - "$T/bus.txt"
}
wait_until 5 settled
eventually "GetMetrics() returns the listener's body" 5 same_body
check "GetMetrics() text has HELP and TYPE lines" grep -q '^# TYPE kubevirt_ksmd_saved_bytes gauge$' "$T/bus.txt"
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
        call as_nobody busctl --system call "$BUS" "$OBJ" "$IFACE" GetMetrics
        check "a non-root caller may call GetMetrics()" test "$RC" -eq 0
        check "its answer is the metrics text" grep -q 'kubevirt_ksmd_build_info' "$OUT"
else
        ok "non-root GetMetrics # SKIP needs root and setpriv"
        ok "non-root GetMetrics text # SKIP needs root and setpriv"
fi

# ==== 4. HTTP: paths, methods, versions, misbehaving clients ===========================================
check "HTTP/1.0 GET /metrics answers 200" status_is 200 -0 "http://127.0.0.1:$PORT/metrics"
check "HEAD /metrics answers 200" status_is 200 -I "http://127.0.0.1:$PORT/metrics"
check "GET / answers 404" status_is 404 "http://127.0.0.1:$PORT/"
check "GET /metrics/x answers 404" status_is 404 "http://127.0.0.1:$PORT/metrics/x"
check "POST /metrics answers 405" status_is 405 -X POST -d x "http://127.0.0.1:$PORT/metrics"
check "PUT / answers 405" status_is 405 -X PUT -d x "http://127.0.0.1:$PORT/"
check "405 says Allow: GET, HEAD" \
        bash -c "curl -s -D - -o /dev/null -X DELETE http://127.0.0.1:$PORT/metrics | grep -qi '^Allow: GET, HEAD'"
check "garbage gets 400 and a closed connection" "$PY" "$CHECK" garbage "$PORT"
check "a request over 8 KiB is refused (431) and closed" "$PY" "$CHECK" oversized "$PORT"
check "20 idle connections do not stop a scrape" "$PY" "$CHECK" flood "$PORT" 20
check "a slow client is closed after 5 s (4-$((10 * SLOW)) s)" "$PY" "$CHECK" slow "$PORT" 4 $((10 * SLOW))
check "the daemon still answers after all that" test "$(scrape)" = 200
check "and is still on the bus" daemon_on_bus

# ==== 5. A reload applies a changed Listen= ==========================================================
OLD=$PORT
PORT=$(free_port)
write_conf "
[Metrics]
Listen=127.0.0.1:$PORT"
kill -HUP "$KSMD_PID"
eventually "after reload the new port answers" 5 answers "$PORT"
eventually "and the old port is closed" 5 refuses "$OLD"
write_conf "
[Metrics]
Listen="
kill -HUP "$KSMD_PID"
eventually "Listen= empty closes the listener" 5 refuses "$PORT"
call busctl --system call "$BUS" "$OBJ" "$IFACE" GetMetrics
check "GetMetrics() still works without a listener" grep -q kubevirt_ksmd_build_info "$OUT"

# An address the daemon cannot bind is logged, and KSM management goes on.
PORT=$(free_port)
write_conf "
[Metrics]
Listen=192.0.2.1:$PORT"
kill -HUP "$KSMD_PID"
eventually "an unbindable address is logged" 5 log_has "Failed to listen for metrics scrapes on 192.0.2.1:$PORT"
check "the daemon is still on the bus" daemon_on_bus
check "KSM is still on" sysfs_is run 1

# ==== 6. The textfile collector: kubevirt-ksmd-metrics.service and .timer ============================
# Verified with systemd-analyze, and the service's script run by hand against a scratch directory
# (systemd itself is not started here).
UNITS=$T/units
mkdir -p "$UNITS"
sed "s|/[^ ]*/kubevirt-ksmctl |$KSMCTL |" "$top_builddir/systemd/kubevirt-ksmd-metrics.service" \
        > "$UNITS/kubevirt-ksmd-metrics.service"
cp "$top_srcdir/systemd/kubevirt-ksmd-metrics.timer" "$UNITS/"
if command -v systemd-analyze >/dev/null; then
        call systemd-analyze verify --man=no "$UNITS/kubevirt-ksmd-metrics.service" "$UNITS/kubevirt-ksmd-metrics.timer"
        check "systemd-analyze verify accepts the collector's service and timer, silently" \
                test "$RC" -eq 0 -a ! -s "$OUT"
else
        ok "systemd-analyze verify # SKIP systemd-analyze not installed"
fi
check "the timer runs the service every 30 s" grep -qx 'OnUnitActiveSec=30s' "$UNITS/kubevirt-ksmd-metrics.timer"
check "the service is a oneshot" grep -qx 'Type=oneshot' "$UNITS/kubevirt-ksmd-metrics.service"

PROMDIR=$T/node-exporter
mkdir -p "$PROMDIR" "$T/bin"
# kubevirt-ksmctl's stats --format=prometheus prints GetMetrics() as it is (minus ksmd's CPU time,
# which moves between the two reads).
CTL=$KSMCTL
ctl_is_bus_text() {
        "$KSMCTL" stats --format=prometheus > "$T/ctl.txt" || return 1
        busctl --system --json=short call "$BUS" "$OBJ" "$IFACE" GetMetrics > "$T/bus2.json" || return 1
        "$PY" "$CHECK" bus-string "$T/bus2.json" | grep -v '^kubevirt_ksmd_ksmd_cpu_seconds_total ' > "$T/bus2.txt"
        grep -v '^kubevirt_ksmd_ksmd_cpu_seconds_total ' "$T/ctl.txt" | cmp -s - "$T/bus2.txt"
}
eventually "kubevirt-ksmctl stats --format=prometheus prints GetMetrics()" 5 ctl_is_bus_text
check "prometheus_client parses kubevirt-ksmctl's output" "$PY" "$CHECK" values "$T/ctl.txt" kubevirt_ksmd_available=1
"$PY" "$CHECK" exec-start "$UNITS/kubevirt-ksmd-metrics.service" |
        sed -e "s|d=/var/lib/prometheus/node-exporter;|d=$PROMDIR;|" -e "s|$KSMCTL |$CTL |" > "$T/collect.sh"
check "the script writes into node_exporter's textfile directory" \
        grep -q "d=/var/lib/prometheus/node-exporter;" <("$PY" "$CHECK" exec-start "$UNITS/kubevirt-ksmd-metrics.service")
call sh "$T/collect.sh"
check "the collector script exits 0 with the daemon up" test "$RC" -eq 0
check "it wrote kubevirt-ksmd.prom" test -s "$PROMDIR/kubevirt-ksmd.prom"
check "and left no temporary file" test ! -e "$PROMDIR/kubevirt-ksmd.prom.tmp"
check "prometheus_client parses the .prom file" "$PY" "$CHECK" values "$PROMDIR/kubevirt-ksmd.prom" \
        kubevirt_ksmd_available=1 'kubevirt_ksmd_node_info{node="node01"}=1'

stop_daemon
check "the daemon exits 0" test $? -eq 0
call sh "$T/collect.sh"
check "with the daemon away the collector script fails" test "$RC" -ne 0
check "and removes the .prom file (metrics absent, not stale)" test ! -e "$PROMDIR/kubevirt-ksmd.prom"
check "and leaves no temporary file" test ! -e "$PROMDIR/kubevirt-ksmd.prom.tmp"
finish
