#!/bin/bash
# test-ksmctl.sh — kubevirt-ksmctl: status/stats in text and JSON, the computed properties, reconcile, unmerge, exit codes.
. "$(dirname "$0")/lib.sh"

OUT=$T/out
RC=0
# ctl ARGS...: runs the client with a time limit, keeping its combined output and exit status.
ctl() { timeout $((30 * SLOW)) "$KSMCTL" "$@" >"$OUT" 2>&1; RC=$?; }
rc_is() { [ "$RC" -eq "$1" ]; }
out_has() { grep -qF -- "$1" "$OUT"; }
out_matches() { grep -qE -- "$1" "$OUT"; }
# flatten: parses the output as one JSON object into $T/flat, a "KEY TYPE VALUE" line per member
# (one python run per document; the checks then grep it). Fails unless it is a JSON object.
flatten() { python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
assert isinstance(d, dict)
for k, v in d.items(): print(k, type(v).__name__, json.dumps(v))' "$OUT" > "$T/flat"; }
# jtype KEY TYPE: the member exists with that Python type (str, bool, int). jval KEY VALUE: its JSON text.
jtype() { grep -q "^$1 $2 " "$T/flat"; }
jval() { grep -qxF -- "$1 $(awk -v k="$1" '$1 == k { print $2 }' "$T/flat") $2" "$T/flat"; }

PAGE=$(getconf PAGE_SIZE)

start_bus policy
make_sysfs
write_conf
write_kubevirt absent
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
eventually "startup: first reconcile labels the node" $((3 * SLOW)) node_label_is false

# 1. status, human output.
ctl status
check "status: exit 0" rc_is 0
check "status: shows 'Node: node01'" out_has "Node: node01"
check "status: shows 'Running: no' (nothing selected)" out_matches "Running: no$"
check "status: shows 'Policy: always'" out_has "Policy: always"
check "status: shows 'Available: yes'" out_matches "Available: yes$"
check "status: shows the last error as none" out_matches "Last error: none$"
ctl
check "no verb means status" out_has "Node: node01"

# 2. Select the node: KSM switched on and claimed; status follows.
write_kubevirt '{}'
eventually "selected: run 1" $((3 * SLOW)) sysfs_is run 1
eventually "selected: Managed true" $((3 * SLOW)) prop_is Managed true
ctl status
check "status: shows 'Running: yes' once selected" out_matches "Running: yes$"
check "status: shows 'Managed: yes' once selected" out_matches "Managed: yes$"
check "status: shows a last reconcile time" bash -c "! grep -q 'Last reconcile: never' '$OUT'"

# 3. status --json: every property of the contract, each with its JSON type.
ctl --json status
check "status --json: exit 0" rc_is 0
check "status --json: valid JSON object" flatten
# Every property of the contract, with its JSON type (s: string, b: boolean, u/t/x: integer).
for p in NodeName Policy LastError; do
        check "status --json: $p is a string" jtype $p str
done
for p in Available Running Selected Managed Connected; do
        check "status --json: $p is a boolean" jtype $p bool
done
for p in PagesToScan SleepMillisecs PagesShared PagesSharing PagesUnshared PagesVolatile FullScans SavedBytes \
         LastReconcileUSec LastReconcile GeneralProfit; do
        check "status --json: $p is an integer" jtype $p int
done
check "status --json: NodeName node01" jval NodeName '"node01"'
check "status --json: Running and Managed true" bash -c "grep -qx 'Running bool true' '$T/flat' && grep -qx 'Managed bool true' '$T/flat'"
check "status --json: Policy always" jval Policy '"always"'
check "status --json: PagesSharing 40" jval PagesSharing 40
check "status --json: PagesShared 10" jval PagesShared 10
check "status --json: FullScans 3" jval FullScans 3
check "status --json: SavedBytes $((42 * PAGE))" jval SavedBytes $((42 * PAGE))
check "status --json: GeneralProfit 150000" jval GeneralProfit 150000
LR=$(awk '$1 == "LastReconcileUSec" { print $3 }' "$T/flat")
check "status --json: LastReconcileUSec in microseconds since the epoch" \
        test "$(( ${LR:-0} / 1000000 - $(date +%s) ))" -gt -600 -a "$(( ${LR:-0} / 1000000 - $(date +%s) ))" -lt 600
check "status --json: LastReconcile (deprecated alias) equals LastReconcileUSec" jval LastReconcile "${LR:-none}"
ctl status --json
flatten
check "--json after the verb works too" jval NodeName '"node01"'

# 4. The computed properties on the bus.
check "SavedBytes = (pages_sharing + ksm_zero_pages) x page size = $((42 * PAGE))" prop_is SavedBytes $((42 * PAGE))
check "GeneralProfit is the kernel's general_profit (150000)" prop_is GeneralProfit 150000
check "SavedBytes has type t" test "$(busctl --system get-property $BUS $OBJ $IFACE SavedBytes | cut -d' ' -f1)" = t
check "GeneralProfit has type x" test "$(busctl --system get-property $BUS $OBJ $IFACE GeneralProfit | cut -d' ' -f1)" = x

# 5. stats, text and JSON.
ctl stats
check "stats: exit 0" rc_is 0
check "stats: lists pages_sharing 40" out_matches '^pages_sharing +40$'
check "stats: lists run 1" out_matches '^run +1$'
check "stats: lists full_scans 3" out_matches '^full_scans +3$'
check "stats: no non-numeric file (advisor_mode)" bash -c "! grep -q '^advisor_mode' '$OUT'"
ctl stats --json
check "stats --json: exit 0" rc_is 0
check "stats --json: valid JSON object" flatten
check "stats --json: full_scans == 3" jval full_scans 3
check "stats --json: pages_sharing == 40" jval pages_sharing 40
check "stats --json: run == 1" jval run 1
check "stats --json: every value an integer" bash -c "! grep -v '^[^ ]* int ' '$T/flat'"

# 6. reconcile.
wait_until $((5 * SLOW)) settled
LR0=$(prop LastReconcile)
ctl reconcile
check "reconcile: exit 0" rc_is 0
check "reconcile: says so" out_has "Reconcile requested."
eventually "reconcile: LastReconcile moves" $((3 * SLOW)) reconciled_after "$LR0"

# 7. unmerge while KSM runs: 2 is written (by a child), then KSM runs again.
wait_until $((5 * SLOW)) settled
LR0=$(prop LastReconcile)
ctl unmerge
check "unmerge (running): exit 0" rc_is 0
check "unmerge (running): says so" out_has "Unmerged all KSM pages."
check "unmerge (running): journal says Unmerged" log_has "Unmerged all KSM pages on node node01"
eventually "unmerge (running): run back to 1" $((3 * SLOW)) sysfs_is run 1
eventually "unmerge (running): reconciled afterwards" $((3 * SLOW)) reconciled_after "$LR0"
check "unmerge (running): still managed" prop_is Managed true
check "unmerge (running): label still true" node_label_is true

# 8. unmerge while KSM is off and not ours: it does not switch KSM on.
write_kubevirt absent
eventually "deselected: run 0" $((3 * SLOW)) sysfs_is run 0
ctl unmerge
check "unmerge (stopped): exit 0" rc_is 0
stays "unmerge (stopped): KSM not switched on" 1 bash -c "[ \"\$(cat '$SYSFS/run')\" != 1 ]"
check "unmerge (stopped): Running false" prop_is Running false

# 9. Usage errors and informational options.
ctl frobnicate
check "unknown verb: exit 1" rc_is 1
check "unknown verb: names it" out_has "frobnicate"
ctl status extra
check "extra argument: exit 1" rc_is 1
ctl --no-such-option
check "unknown option: exit 1" rc_is 1
ctl --help
check "--help: exit 0" rc_is 0
check "--help: lists the verbs" bash -c "grep -q status '$OUT' && grep -q stats '$OUT' && grep -q reconcile '$OUT' && grep -q unmerge '$OUT'"
ctl --version
check "--version: exit 0" rc_is 0
check "--version: prints a version" out_matches '[0-9]+\.[0-9]+\.[0-9]+'

# 10. The daemon is gone: exit 3, "not running", for every verb.
check "SIGTERM: exit 0" stop_daemon TERM
for verb in status stats reconcile unmerge; do
        ctl "$verb"
        check "daemon stopped: '$verb' exits 3" rc_is 3
        check "daemon stopped: '$verb' says not running" out_has "not running"
done
ctl --json status
check "daemon stopped: 'status --json' exits 3" rc_is 3

finish
