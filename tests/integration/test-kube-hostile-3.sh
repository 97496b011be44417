#!/bin/bash
# test-kube-hostile-3.sh — the daemon against a hostile API server
# (tests/kube-apiserver.py, fault "hostile"): watches that end at once, a 410 after every LIST, 500 on every request.
# For each: KSM and the label unchanged, the bus answers within 2 s, bounded requests and CPU,
# the daemon met the fault (journal), convergence once the server behaves; then the daemon still
# follows the server, its peak RSS, a clean stop. bench/hostile.sh runs the cases at length.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

hostile_setup 5

hostile_case "watches that end at once" 5 14 drop_watches "ended at once without events" \
        "{\"type\":\"hostile\",\"mode\":\"close_at_once\",\"count\":-1,\"query_contains\":\"watch=1\"}"

hostile_case "a 410 after every LIST" 5 24 drop_watches "410 Gone again right after listing" \
        "{\"type\":\"hostile\",\"mode\":\"expire_at_once\",\"count\":-1,\"query_contains\":\"watch=1\"}"

hostile_case "500 on every request" 5 14 drop_watches "HTTP 500" \
        '{"type":"status","code":500,"count":-1}'

hostile_end
finish
