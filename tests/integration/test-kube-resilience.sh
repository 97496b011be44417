#!/bin/bash
# test-kube-resilience.sh — the daemon against an unreliable API server: the server away (KSM left as it is, the edit made meanwhile applied on return), 410 re-list, token rotation (file change and 401), 429 and 403 on the node patch, a 5xx burst on list/watch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

KTOKEN_FILE=$T/token
echo token-one-0123456789abcdef >"$KTOKEN_FILE"
node_json node01 >"$T/node01.json"
kubevirt_json '{}' >"$T/kubevirt.json"
start_apiserver --token-file "$KTOKEN_FILE" --seed "$T/node01.json" "$T/kubevirt.json"

start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 333 44
RECHECK=2 write_kube_conf
start_daemon

ctl_connected() { "$KSMCTL" status 2>/dev/null | grep -Eq "^ *Connected: $1\$"; }
# kv_selector SELECTOR: replaces the whole ksmConfiguration (a JSON patch: a merge patch would
# merge the new selector into the old one, and {} would change nothing).
kv_selector() { kc patch kubevirt kubevirt -n kubevirt --type=json \
        -p "[{\"op\":\"add\",\"path\":\"/spec/configuration/ksmConfiguration\",\"value\":{\"nodeLabelSelector\":$1}}]" >/dev/null; }
restored() { sysfs_is run 0 && sysfs_is pages_to_scan 333 && sysfs_is sleep_millisecs 44; }
log_count() { grep -c -- "$1" "$LOG"; }

check "kubeconfig uses tokenFile" grep -q "tokenFile:" "$KDIR/kubeconfig"
eventually "start: Connected true" $((10 * SLOW)) prop_is Connected true
eventually "start: {} selects, run 1" $((5 * SLOW)) sysfs_is run 1
eventually "start: label true, annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
check "start: kubevirt-ksmctl status says Connected: yes" ctl_connected yes

# ---- (a) the server away; the CR changes meanwhile ----------------------------------------------
DOWN=6
ktest POST /_test/reset-counters
fault "{\"type\":\"down\",\"seconds\":$DOWN,\"mode\":\"request-close\"}"
tdown=$(date +%s%N)
eventually "away: Connected false within 3 s" $((3 * SLOW)) prop_is Connected false
check "away: kubevirt-ksmctl status says Connected: no" ctl_connected no
check "away: LastError says it is not connected" eval 'prop LastError | grep -q "Not connected to the API server"'
check "away: the journal says the watch is lost" log_has "Lost the watch on the API server"
check "away: the edit made while away (deselect node01, through /_test/seed)" \
        seed "$(kubevirt_json '{"matchLabels":{"kubevirt.io/ksm":"true"}}')"
stays "away: KSM left as it is (run 1) across a RecheckSec" 3 sysfs_is run 1
check "away: Managed kept" prop_is Managed true
eventually "back: Connected true again (within backoff bounds)" $((30 * SLOW)) prop_is Connected true
back_ms=$(( $(ms_since "$tdown") - DOWN * 1000 ))
echo "# reconnected ${back_ms} ms after the server came back"
# The daemon's attempts while away, per resource: each gap doubles from 1 s (the first retry
# comes 0.5 s after the loss), within the ±20 % jitter plus request time.
check "back: retries back off exponentially (0.5 s, 1 s, 2 s, ... ±20 %)" kapi GET /_test/requests --no-token --exec "
slack = 0.3 * $SLOW
for res in ('kubevirts', 'nodes'):
    t = [q['time'] for q in D if q['method'] == 'GET' and res in q['path']]
    gaps = [round(b - a, 2) for a, b in zip(t, t[1:])]
    print('# %s: %d attempts, gaps %s s' % (res, len(t), gaps))
    if len(t) < 3:
        ok = False
    for i, g in enumerate(gaps, 1):
        d = 0.5 * 2 ** i
        if not (0.8 * d - 0.1 <= g <= 1.2 * d + slack):
            print('# %s: gap %d is %.2f s, expected %.2f s +-20%%' % (res, i, g, d)); ok = False
"
eventually "back: the edit made while away is applied (run 0)" $((3 * SLOW)) sysfs_is run 0
eventually "back: pages_to_scan/sleep_millisecs restored (written after run)" $((3 * SLOW)) restored
eventually "back: label false, annotation false" $((3 * SLOW)) knode_ksm_is node01 false false
check "back: kubevirt-ksmctl status says Connected: yes" ctl_connected yes
check "back: the journal says it is watching again" \
        eval '[ "$(log_count "Watching the KubeVirt CRs and node node01")" -ge 2 ]'
check "back: LastError cleared" prop_is LastError '""'

# ---- (b) 410 Gone: compaction, then the watches expire ------------------------------------------
wait_until $((10 * SLOW)) daemon_watches 2
mark=$(reqlog_mark)
check "POST /_test/compact" ktest POST /_test/compact
check "expire_watches" fault '{"type":"expire_watches"}'
eventually "410: the daemon re-lists the KubeVirt CRs" $((5 * SLOW)) \
        eval '[ "$(reqlog_count "$mark" "^GET /apis/kubevirt.io/v1/kubevirts 200 ")" -ge 1 ]'
eventually "410: the daemon re-lists its node" $((5 * SLOW)) \
        eval '[ "$(reqlog_count "$mark" "^GET /api/v1/nodes\?fieldSelector=metadata.name%3Dnode01 200 ")" -ge 1 ]'
eventually "410: both watches open again" $((5 * SLOW)) daemon_watches 2
check "410: the journal says it re-lists" log_has "expired (410 Gone), re-listing"
check "410: no watch from the expired resourceVersion loops (at most one 410 answer per resource)" \
        eval '[ "$(reqlog_count "$mark" " 410 ")" -le 2 ]'
check "410: a change after it (kubectl label kubevirt.io/ksm=true)" eval 'kc label node node01 kubevirt.io/ksm=true >/dev/null'
eventually "410: the change is applied (run 1)" $((3 * SLOW)) sysfs_is run 1
eventually "410: label true, annotation true" $((3 * SLOW)) knode_ksm_is node01 true true

# ---- (c) rotated token ------------------------------------------------------------------------
# c1: a new token file (as a projected service-account token is replaced), then the watches drop.
reread0=$(log_count "Re-read token file")
mark=$(reqlog_mark)
atomic_write "$KTOKEN_FILE" token-two-0123456789abcdef
check "c1: token rotated; drop_watches" fault '{"type":"drop_watches"}'
eventually "c1: the daemon re-reads the token file" $((5 * SLOW)) eval '[ "$(log_count "Re-read token file")" -gt "$reread0" ]'
eventually "c1: both watches open again with the new token" $((10 * SLOW)) daemon_watches 2
eventually "c1: Connected true" $((5 * SLOW)) prop_is Connected true
check "c1: a later label change (kubectl, new token)" eval 'kc label node node01 kubevirt.io/ksm=false --overwrite >/dev/null'
eventually "c1: the change is applied (run 0)" $((3 * SLOW)) sysfs_is run 0
eventually "c1: label false, annotation false" $((3 * SLOW)) knode_ksm_is node01 false false
check "c1: no steady 401s (at most one per request in flight)" eval '[ "$(reqlog_count "$mark" " 401 ")" -le 2 ]'
check "c1: the daemon's PATCH with the new token succeeded" eval '[ "$(reqlog_count "$mark" "^PATCH /api/v1/nodes/node01 200 ")" -ge 1 ]'

# c2: the token changes in place with the same size and modification time, so only the 401
# tells the daemon; it must re-read the file after the 401 and carry on.
reread0=$(log_count "Re-read token file")
mark=$(reqlog_mark)
before=$(stat -c '%i %s %y' "$KTOKEN_FILE")
cp -p "$KTOKEN_FILE" "$T/token.ref"
echo token-333-0123456789abcdef >"$KTOKEN_FILE"       # same length, same inode
touch -r "$T/token.ref" "$KTOKEN_FILE"
check "c2: token file rewritten in place, same inode, size and mtime (ns)" \
        test "$(stat -c '%i %s %y' "$KTOKEN_FILE")" = "$before"
check "c2: drop_watches" fault '{"type":"drop_watches"}'
eventually "c2: the daemon gets a 401" $((5 * SLOW)) eval '[ "$(reqlog_count "$mark" " 401 ")" -ge 1 ]'
eventually "c2: the daemon re-reads the token file after the 401" $((5 * SLOW)) \
        eval '[ "$(log_count "Re-read token file")" -gt "$reread0" ]'
eventually "c2: both watches open again" $((10 * SLOW)) daemon_watches 2
eventually "c2: Connected true" $((5 * SLOW)) prop_is Connected true
n401=$(reqlog_count "$mark" " 401 ")
stays "c2: the 401s stop" 2 eval '[ "$(reqlog_count "$mark" " 401 ")" = "$n401" ]'
check "c2: a later label change is applied (kubectl label kubevirt.io/ksm=true)" \
        eval 'kc label node node01 kubevirt.io/ksm=true --overwrite >/dev/null && wait_until $((3 * SLOW)) sysfs_is run 1'
eventually "c2: label true, annotation true" $((3 * SLOW)) knode_ksm_is node01 true true

# ---- (d) 429 on the node patch, Retry-After: 1 -------------------------------------------------
ktest POST /_test/reset-counters
fault '{"type":"status","code":429,"retry_after":1,"count":1,"method":"PATCH","path_prefix":"/api/v1/nodes/node01"}'
check "d: deselect (kubectl patch kubevirt: matchLabels kubevirt.io/ksm=other)" \
        kv_selector '{"matchLabels":{"kubevirt.io/ksm":"other"}}'
eventually "d: run 0 at once" $((3 * SLOW)) sysfs_is run 0
eventually "d: the first PATCH got 429" $((3 * SLOW)) eval '[ "$(daemon_requests_count "q[\"method\"]==\"PATCH\" and q[\"status\"]==429")" = 1 ]'
eventually "d: the label is still written (false/false)" $((5 * SLOW)) knode_ksm_is node01 false false
gap=$(kapi GET /_test/requests --no-token --print \
        'int(1000*(min(q["time"] for q in D if q["method"]=="PATCH" and q["status"]==200)-min(q["time"] for q in D if q["method"]=="PATCH" and q["status"]==429)))')
echo "# 429 to the retried PATCH: ${gap} ms"
check "d: the retry waited for Retry-After (>= 900 ms, got ${gap} ms)" test "${gap:-0}" -ge 900
check "d: the retry came within a few seconds (< 5000 ms)" test "${gap:-99999}" -lt $((5000 * SLOW))
check "d: the journal mentions the 429" log_has "Patching node node01: HTTP 429"

# ---- (e) 403 on the node patch ------------------------------------------------------------------
# RecheckSec=30 from here (systemctl reload), so that no periodic recheck hides what happens
# right after the failed patch: the label must come from the patch retry alone.
RECHECK=30 write_kube_conf
reloads0=$(log_count "Configuration reloaded")
kill -HUP "$KSMD_PID"
eventually "e: reloaded with RecheckSec=30" $((3 * SLOW)) eval '[ "$(log_count "Configuration reloaded")" -gt "$reloads0" ]'
ktest POST /_test/reset-counters
# RBAC without 'patch' on nodes: every node patch gets 403 until the permission is granted.
fault '{"type":"status","code":403,"count":-1,"method":"PATCH","path_prefix":"/api/v1/nodes/node01"}'
check "e: select again (kubectl patch kubevirt: {})" kv_selector '{}'
eventually "e: the journal names the missing permission" $((3 * SLOW)) log_has "needs 'patch' on nodes"
check "e: the journal names the node" log_has "Forbidden to patch node node01"
check "e: KSM state still correct: run 1" sysfs_is run 1
check "e: Selected and Managed" eval 'prop_is Selected true && prop_is Managed true'
# The failure must show on the bus when it happens, not only after the next reconcile.
eventually "e: LastError says the node was not updated" $((3 * SLOW)) \
        eval 'prop LastError | grep -q "label and annotation"'
check "e: the label is not written meanwhile" knode_ksm_is node01 false false
# The refused patch is retried with the backoff (0.5 s doubling, +-20 %), not hammered.
n403() { daemon_requests_count 'q["method"]=="PATCH" and q["status"]==403'; }
eventually "e: the refused patch is retried" $((5 * SLOW)) eval '[ "$(n403)" -ge 2 ]'
check "e: permission granted (faults cleared)" ktest DELETE /_test/fault
# Server-side timestamps of the 403s: every gap >= 0.35 s, at most 4 in the first 3 s.
gaps=$(kapi GET /_test/requests --no-token --print \
        '" ".join("%d" % (1000 * (b - a)) for a, b in (lambda t: zip(t, t[1:]))(sorted(q["time"] for q in D if q["method"] == "PATCH" and q["status"] == 403)))')
first3=$(kapi GET /_test/requests --no-token --print \
        '(lambda t: sum(1 for x in t if x < t[0] + 3.0))(sorted(q["time"] for q in D if q["method"] == "PATCH" and q["status"] == 403))')
echo "# gaps between the 403s: ${gaps} ms"
check "e: every retry waited for the backoff (gaps >= 350 ms: ${gaps})" \
        eval 'for g in $gaps; do [ "$g" -ge 350 ] || exit 1; done; [ -n "$gaps" ]'
check "e: no more than 4 attempts in the first 3 s (got ${first3})" test "${first3:-99}" -le 4
check "e: the journal says it once at error level" eval '[ "$(log_count "<err> Forbidden to patch node")" = 1 ]'
eventually "e: a Warning Event KSMError tells the cluster about the refused patch" $((5 * SLOW)) \
        kevents_more_than node01 KSMError 0
check "e: exactly one KSMError for it (rate-limited)" eval '[ "$(kevents node01 KSMError)" = 1 ]'
eventually "e: the retry writes the label once permitted, with no nudge (true/true)" $((40 * SLOW)) \
        knode_ksm_is node01 true true
eventually "e: LastError cleared" $((3 * SLOW)) prop_is LastError '""'

# ---- (f) a 5xx burst on list/watch ----------------------------------------------------------------
mark=$(reqlog_mark)
fault '[{"type":"status","code":503,"count":2,"path_prefix":"/apis/kubevirt.io/v1/kubevirts"},{"type":"status","code":500,"count":1,"method":"GET","path_prefix":"/api/v1/nodes"}]'
check "f: drop_watches" fault '{"type":"drop_watches"}'
eventually "f: Connected false" $((3 * SLOW)) prop_is Connected false
check "f: KSM left as it is (run 1)" sysfs_is run 1
eventually "f: Connected true again" $((30 * SLOW)) prop_is Connected true
check "f: the daemon met the 503s and the 500" \
        eval '[ "$(reqlog_count "$mark" " 503 ")" = 2 ] && [ "$(reqlog_count "$mark" " 500 ")" = 1 ]'
check "f: kubevirt-ksmctl status says Connected: yes" ctl_connected yes
check "f: a later change (kubectl patch kubevirt: matchLabels kubevirt.io/ksm=other)" \
        kv_selector '{"matchLabels":{"kubevirt.io/ksm":"other"}}'
eventually "f: the change is applied (run 0, restored)" $((3 * SLOW)) restored
eventually "f: label false, annotation false" $((3 * SLOW)) knode_ksm_is node01 false false

check "the daemon never sent a PUT or DELETE" eval '! reqlog_since 0 | grep -qE "^(PUT|DELETE) "'
check "SIGTERM: clean exit 0" stop_daemon TERM
finish
