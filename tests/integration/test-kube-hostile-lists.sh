#!/bin/bash
# test-kube-hostile-lists.sh — the daemon against a hostile API server
# (tests/kube-apiserver.py, fault "hostile"): a slow drip of bytes that never completes an event, a LIST of
# 100,000 nodes, a LIST holding another node, a LIST of 3 nodes.
# For each: KSM and the label unchanged, the bus answers within 2 s, bounded requests and CPU,
# the daemon met the fault (journal), convergence once the server behaves; then the daemon still
# follows the server, its peak RSS, a clean stop. bench/hostile.sh runs the cases at length.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

hostile_setup 3

hostile_case "slow drip (a byte every 0.2 s, never a whole event)" 5 12 drop_watches "No data on" \
        "{\"type\":\"hostile\",\"mode\":\"slow_drip\",\"interval\":0.2,\"count\":-1,\"path_prefix\":\"$NODES\",\"query_contains\":\"watch=1\"}"

hostile_case "a LIST of 100,000 nodes" 4 16 expire_watches "Failed to list node node01: File too large" \
        "{\"type\":\"hostile\",\"mode\":\"big_list\",\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_case "a LIST holding another node" 4 16 expire_watches "holds an object named node99" \
        "{\"type\":\"hostile\",\"mode\":\"other_node\",\"name\":\"node99\",\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_case "a LIST of 3 nodes" 4 16 expire_watches "holds 3 objects, expected at most one" \
        "{\"type\":\"hostile\",\"mode\":\"big_list\",\"items\":3,\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_end
finish
