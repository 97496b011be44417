#!/bin/bash
# test-kube-quiet.sh — steady state is quiet: once the daemon settled (selected, KSM on, label set), it writes nothing to the API server for QUIET_SECONDS (default 60) while rechecking every 5 s and riding bookmarks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

: "${QUIET_SECONDS:=60}"
RECHECK=5

node_json node01 >"$T/node01.json"
kubevirt_json '{}' >"$T/kubevirt.json"
start_apiserver --bookmark-interval 5 --seed "$T/node01.json" "$T/kubevirt.json"

start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 333 44
WATCH_IDLE=20 write_kube_conf
start_daemon

eventually "settles: Connected" $((10 * SLOW)) prop_is Connected true
eventually "settles: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "settles: label true, annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
eventually "settles: the KSMEnabled Event is posted" $((5 * SLOW)) kevents_more_than node01 KSMEnabled 0
eventually "settles: both watches open" $((5 * SLOW)) daemon_watches 2
wait_until $((5 * SLOW)) settled

ktest POST /_test/reset-counters
r0=$(prop LastReconcile)
changes=0 last=$r0
end=$(( $(date +%s%N) + QUIET_SECONDS * 1000000000 ))
held=1
# The observation window itself: poll KSM and the last reconcile time twice a second.
while [ "$(date +%s%N)" -lt "$end" ]; do
        sysfs_is run 1 || held=0
        now=$(prop LastReconcile)
        if [ -n "$now" ] && [ "$now" != "$last" ]; then changes=$((changes + 1)); last=$now; fi
        sleep 0.5
done
echo "# reconciles seen in ${QUIET_SECONDS} s: $changes (RecheckSec=$RECHECK)"
check "quiet: KSM stayed on throughout" test "$held" = 1
check "quiet: rechecks kept running (at least $((QUIET_SECONDS / RECHECK / 2)))" \
        test "$changes" -ge $((QUIET_SECONDS / RECHECK / 2))

summary=$(kapi GET /_test/requests --no-token --print \
        '"%d %d %s" % (len(D), b["total"], ", ".join("%s=%d" % kv for kv in sorted(__import__("collections").Counter(q["method"] + (" watch" if q["watch"] else (" list" if q["method"]=="GET" else "")) + " " + q["path"] for q in D).items())) or "none")')
read -r n total kinds <<<"$summary"
echo "# requests in the quiet period: $n (by kind: $kinds)"
check "quiet: the request list is complete (no request beyond the last 200)" test "$total" -le 200
check "quiet: no PATCH/POST/PUT/DELETE from the daemon" \
        eval '[ "$(daemon_requests_count "q[\"method\"] in (\"PATCH\",\"POST\",\"PUT\",\"DELETE\")")" = 0 ]'
# A watch lasts 300-600 s (timeoutSeconds): a window shorter than that sees no renewal.
max_gets=$(( 2 * (QUIET_SECONDS / 300) ))
check "quiet: at most $max_gets GETs (watch renewals)" test "$n" -le "$max_gets"
check "quiet: still connected" prop_is Connected true
check "quiet: label true, annotation true" knode_ksm_is node01 true true
# WatchIdleTimeoutSec=20 < QUIET_SECONDS: only the bookmarks (every 5 s) keep the watches from
# being declared idle and re-established.
check "quiet: the watches stayed open" daemon_watches 2

check "SIGTERM: clean exit 0" stop_daemon TERM
finish
