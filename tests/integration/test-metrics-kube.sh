#!/bin/bash
# test-metrics-kube.sh — the metrics that only the Kubernetes source feeds: Node patches by HTTP
# status and API errors by code, scraped from [Metrics] Listen= and checked against the requests
# the API test server saw.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

command -v curl >/dev/null || kube_skip "curl not installed"
CHECK=$top_srcdir/tests/integration/metrics-check.py
MPY=$(python_with prometheus_client) || kube_skip "python3-prometheus-client not installed"

BODY=$T/metrics
PORT=$("$MPY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scrape() { curl -s -o "$BODY" --max-time 5 "http://127.0.0.1:$PORT/metrics"; }
# metric NAME: the sample's value in a fresh scrape, 0 when absent.
metric() { scrape && { "$MPY" "$CHECK" get "$BODY" "$1" 2>/dev/null || echo 0; }; }
metric_is() { [ "$(metric "$1")" = "$2" ]; }
server_count() { daemon_requests_count "$1"; }
# patches_agree CODE: the daemon's node_patches_total{code} equals the PATCHes the server answered so.
patches_agree() {
        local n
        n=$(server_count "q[\"method\"]==\"PATCH\" and q[\"status\"]==$1")
        [ "$n" -ge 1 ] && metric_is "kubevirt_ksmd_node_patches_total{code=\"$1\"}" "$n"
}

node_json node01 >"$T/node01.json"
kubevirt_json '{}' >"$T/kubevirt.json"
start_apiserver --seed "$T/node01.json" "$T/kubevirt.json"
start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 100 20
write_kube_conf "" "[Metrics]" "Listen=127.0.0.1:$PORT"
start_daemon

eventually "Connected" $((10 * SLOW)) prop_is Connected true
eventually "label true, annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
eventually "connected is 1 in the scrape" $((3 * SLOW)) metric_is kubevirt_ksmd_connected 1
eventually "node_patches_total{code=\"200\"} equals the PATCHes the server accepted" $((3 * SLOW)) patches_agree 200
check "no API error so far" metric_is 'kubevirt_ksmd_api_errors_total{code="403"}' 0

# A refused patch: the Node is replaced by one without the label and annotation (through the
# test API, which is no PATCH), the daemon writes them back, the server says 403 the first time.
fault '{"type":"status","code":403,"count":1,"method":"PATCH","path_prefix":"/api/v1/nodes/node01"}'
seed "$(cat "$T/node01.json")" >/dev/null
eventually "the 403 is counted under node_patches_total{code=\"403\"}" $((5 * SLOW)) patches_agree 403
check "and under api_errors_total{code=\"403\"}" metric_is 'kubevirt_ksmd_api_errors_total{code="403"}' 1
eventually "the retried patch writes the label back" $((10 * SLOW)) knode_label_is node01 true
eventually "and is counted under code 200" $((3 * SLOW)) patches_agree 200

# Errors of the watches: two 503s on the Node list after the watches are dropped.
ktest POST /_test/reset-counters >/dev/null
fault '{"type":"status","code":503,"count":2,"method":"GET","path_prefix":"/api/v1/nodes"}'
check "drop the watches" fault '{"type":"drop_watches"}'
eventually "reconnected after the 503s" $((15 * SLOW)) prop_is Connected true
n503=$(server_count 'q["status"]==503')
check "the server answered 503 twice ($n503)" test "$n503" = 2
eventually "api_errors_total{code=\"503\"} is 2" $((3 * SLOW)) metric_is 'kubevirt_ksmd_api_errors_total{code="503"}' 2

check "SIGTERM: clean exit 0" stop_daemon TERM
finish
