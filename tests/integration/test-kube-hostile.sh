#!/bin/bash
# test-kube-hostile.sh — the daemon against a hostile API server
# (tests/kube-apiserver.py, fault "hostile"): a 100 MB watch line, a watch event of 500,000 {} (1.5 MB, formerly ~400 MB of
# json-c), an endless chunk without a line break.
# For each: KSM and the label unchanged, the bus answers within 2 s, bounded requests and CPU,
# the daemon met the fault (journal), convergence once the server behaves; then the daemon still
# follows the server, its peak RSS, a clean stop. bench/hostile.sh runs the cases at length.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

hostile_setup 3

hostile_case "100 MB watch line" 4 16 drop_watches "an event over the size limit" \
        "{\"type\":\"hostile\",\"mode\":\"huge_line\",\"count\":-1,\"path_prefix\":\"$NODES\",\"query_contains\":\"watch=1\"}"

hostile_case "500,000 {} in one watch event" 4 16 drop_watches "an event over the size limit" \
        "{\"type\":\"hostile\",\"mode\":\"empty_objects\",\"count\":-1,\"path_prefix\":\"$NODES\",\"query_contains\":\"watch=1\"}"

hostile_case "an endless chunk without a line break" 4 16 drop_watches "an event over the size limit" \
        "{\"type\":\"hostile\",\"mode\":\"endless_chunk\",\"count\":-1,\"path_prefix\":\"$KV\",\"query_contains\":\"watch=1\"}"

hostile_end
finish
