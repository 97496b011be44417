#!/bin/bash
# test-kube-hostile.sh — the daemon against a hostile API server, part 1 (bodies): a 100 MB watch
# line, a watch event of 500,000 {} (1.5 MB, formerly ~400 MB of json-c), an endless chunk, a
# slow drip of bytes, a LIST of 100,000 nodes and a LIST of another node. For each: KSM and the
# label unchanged, the bus answers, bounded requests and CPU, and convergence afterwards; at the
# end the daemon's peak RSS. Part 2 is test-kube-hostile-2.sh; bench/hostile.sh runs long versions.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

# node01 is not selected (the selector wants kubevirt.io/ksm=true): KSM off, label false. The
# hostile answers carry nodes that are selected, so taking one as node01 would switch KSM on.
node_json node01 >"$T/node01.json"
kubevirt_json '{"matchLabels":{"kubevirt.io/ksm":"true"}}' >"$T/kubevirt.json"
start_apiserver --bookmark-interval 1 --seed "$T/node01.json" "$T/kubevirt.json"

start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 100 20
WATCH_IDLE=3 write_kube_conf
start_daemon
HOSTILE_RUN=0 HOSTILE_LABEL=false

eventually "start: Connected true" $((10 * SLOW)) prop_is Connected true
eventually "start: label false, annotation false" $((5 * SLOW)) knode_ksm_is node01 false false
wait_until $((10 * SLOW)) daemon_watches 2

NODES=/api/v1/nodes KV=/apis/kubevirt.io/v1/kubevirts
hostile_case "100 MB watch line" 4 16 drop_watches "an event over the size limit" \
        "{\"type\":\"hostile\",\"mode\":\"huge_line\",\"count\":-1,\"path_prefix\":\"$NODES\",\"query_contains\":\"watch=1\"}"

hostile_case "500,000 {} in one watch event" 4 16 drop_watches "an event over the size limit" \
        "{\"type\":\"hostile\",\"mode\":\"empty_objects\",\"count\":-1,\"path_prefix\":\"$NODES\",\"query_contains\":\"watch=1\"}"

hostile_case "an endless chunk without a line break" 4 16 drop_watches "an event over the size limit" \
        "{\"type\":\"hostile\",\"mode\":\"endless_chunk\",\"count\":-1,\"path_prefix\":\"$KV\",\"query_contains\":\"watch=1\"}"

hostile_case "slow drip (a byte every 0.2 s, never a whole event)" 5 12 drop_watches "No data on" \
        "{\"type\":\"hostile\",\"mode\":\"slow_drip\",\"interval\":0.2,\"count\":-1,\"path_prefix\":\"$NODES\",\"query_contains\":\"watch=1\"}"

hostile_case "a LIST of 100,000 nodes" 4 16 expire_watches "Failed to list node node01: File too large" \
        "{\"type\":\"hostile\",\"mode\":\"big_list\",\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_case "a LIST holding another node" 4 16 expire_watches "holds an object named node99" \
        "{\"type\":\"hostile\",\"mode\":\"other_node\",\"name\":\"node99\",\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_case "a LIST of 3 nodes" 4 16 expire_watches "holds 3 objects, expected at most one" \
        "{\"type\":\"hostile\",\"mode\":\"big_list\",\"items\":3,\"count\":-1,\"path_prefix\":\"$NODES\"}"

# It still follows the real server afterwards.
check "after: node01 labelled kubevirt.io/ksm=true" eval 'kc label node node01 kubevirt.io/ksm=true >/dev/null'
eventually "after: KSM switched on (run 1)" $((10 * SLOW)) sysfs_is run 1
eventually "after: label true, annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
hwm_below 49152
check "the daemon is still running" kill -0 "$KSMD_PID"
stops_cleanly
finish
