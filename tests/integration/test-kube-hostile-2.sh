#!/bin/bash
# test-kube-hostile-2.sh — the daemon against a hostile API server
# (tests/kube-apiserver.py, fault "hostile"): garbage instead of HTTP, a redirect to another host (never followed,
# so the token never goes there), a 200 of text/html.
# For each: KSM and the label unchanged, the bus answers within 2 s, bounded requests and CPU,
# the daemon met the fault (journal), convergence once the server behaves; then the daemon still
# follows the server, its peak RSS, a clean stop. bench/hostile.sh runs the cases at length.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

hostile_setup 5

hostile_case "garbage instead of HTTP" 4 16 drop_watches "Watch of node node01 failed" \
        "{\"type\":\"hostile\",\"mode\":\"garbage\",\"count\":-1,\"path_prefix\":\"$NODES\"}"

hostile_case "a redirect to another host" 4 16 expire_watches "HTTP 302" \
        "{\"type\":\"hostile\",\"mode\":\"redirect\",\"count\":-1,\"path_prefix\":\"$NODES\"}"
check "redirect: never followed (no request with redirected=1 reached the server)" \
        eval '! grep -q "redirected=1" "$KDIR/requests.log"'

hostile_case "a 200 of text/html" 4 16 expire_watches "Content-Type other than application/json" \
        "{\"type\":\"hostile\",\"mode\":\"wrong_ctype\",\"count\":-1,\"path_prefix\":\"$KV\"}"

hostile_end
finish
