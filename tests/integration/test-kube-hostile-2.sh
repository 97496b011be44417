#!/bin/bash
# test-kube-hostile-2.sh — the daemon against a hostile API server, part 2 (protocol): garbage
# instead of HTTP, a redirect to another host (never followed, so the token never goes there),
# a 200 of text/html, watches that end at once, a 410 after every LIST, and 500s. For each: KSM
# and the label unchanged, the bus answers, bounded requests and CPU, convergence afterwards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

node_json node01 >"$T/node01.json"
kubevirt_json '{"matchLabels":{"kubevirt.io/ksm":"true"}}' >"$T/kubevirt.json"
start_apiserver --bookmark-interval 1 --seed "$T/node01.json" "$T/kubevirt.json"

start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 100 20
WATCH_IDLE=5 write_kube_conf
start_daemon
HOSTILE_RUN=0 HOSTILE_LABEL=false

eventually "start: Connected true" $((10 * SLOW)) prop_is Connected true
eventually "start: label false, annotation false" $((5 * SLOW)) knode_ksm_is node01 false false
wait_until $((10 * SLOW)) daemon_watches 2

NODES=/api/v1/nodes KV=/apis/kubevirt.io/v1/kubevirts
hostile_case "garbage instead of HTTP" 4 16 drop_watches "Watch of node node01 failed" \
        "{\"type\":\"hostile\",\"mode\":\"garbage\",\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_case "a redirect to another host" 4 16 expire_watches "HTTP 302" \
        "{\"type\":\"hostile\",\"mode\":\"redirect\",\"count\":-1,\"path_prefix\":\"$NODES\"}"
check "redirect: never followed (no request with redirected=1 reached the server)" \
        eval '! grep -q "redirected=1" "$KDIR/requests.log"'

hostile_case "a 200 of text/html" 4 16 expire_watches "Content-Type other than application/json" \
        "{\"type\":\"hostile\",\"mode\":\"wrong_ctype\",\"count\":-1,\"path_prefix\":\"$KV\"}"

hostile_case "watches that end at once" 5 14 drop_watches "ended at once without events" \
        "{\"type\":\"hostile\",\"mode\":\"close_at_once\",\"count\":-1,\"query_contains\":\"watch=1\"}"

hostile_case "a 410 after every LIST" 5 24 drop_watches "410 Gone again right after listing" \
        "{\"type\":\"hostile\",\"mode\":\"expire_at_once\",\"count\":-1,\"query_contains\":\"watch=1\"}"

hostile_case "500 on every request" 5 14 drop_watches "HTTP 500" \
        '{"type":"status","code":500,"count":-1}'

check "after: node01 labelled kubevirt.io/ksm=true" eval 'kc label node node01 kubevirt.io/ksm=true >/dev/null'
eventually "after: KSM switched on (run 1)" $((10 * SLOW)) sysfs_is run 1
eventually "after: label true, annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
hwm_below 49152
check "the daemon is still running" kill -0 "$KSMD_PID"
stops_cleanly
finish
