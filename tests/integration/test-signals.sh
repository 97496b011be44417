#!/bin/bash
# test-signals.sh — SIGHUP reload (good and bad configs), SIGTERM/SIGINT leave KSM and the record, restart and corrupt-record recovery.
. "$(dirname "$0")/lib.sh"

W=$((3 * SLOW))                     # bounded wait for one reconcile
RUN=$SYSFS/run
pid_alive() { kill -0 "$KSMD_PID" 2>/dev/null; }
last_error_starts() { case "$(prop LastError)" in "\"$1"*) return 0 ;; *) return 1 ;; esac; }
last_error_has() { case "$(prop LastError)" in *"$1"*) return 0 ;; *) return 1 ;; esac; }
record_claimed() { grep -qE "\"claimed\": *$1" "$STATE/state.json"; }
# root_reconcile: asks for a reconcile and waits until one finished after the call.
root_reconcile() {
        local t; t=$(prop LastReconcile)
        busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile && wait_until "$W" reconciled_after "$t"
}
log_count() { grep -c -- "$1" "$LOG"; }

start_bus policy
make_sysfs
echo 333 > "$SYSFS/pages_to_scan"
echo 44 > "$SYSFS/sleep_millisecs"
write_conf "Policy=always"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
PID=$KSMD_PID

eventually "start: selected, run 1" "$W" sysfs_is run 1
eventually "start: Managed true" "$W" prop_is Managed true
check "start: Policy always" prop_is Policy '"always"'

# 1. SIGHUP with a changed policy: same process, new policy in force at once (not at the next
#    RecheckSec tick, 30 s away). With no memory pressure the pressure policy does not want KSM
#    running: it decays the rate and stops KSM below PagesMin, which this decay does in one step.
write_conf $'Policy=pressure\nPagesDecay=-1000'
kill -HUP "$KSMD_PID"
eventually "SIGHUP: Policy becomes pressure" "$W" prop_is Policy '"pressure"'
check "SIGHUP: same PID" test "$KSMD_PID" = "$PID"
check "SIGHUP: process alive" pid_alive
check "SIGHUP: still on the bus" daemon_on_bus
eventually "SIGHUP: pressure policy, no pressure: KSM stopped" "$W" sysfs_is run 0
check "SIGHUP: reload logged" log_has "Configuration reloaded from $CONF (policy pressure)"
check "SIGHUP: LastError empty after a good reload" prop_is LastError '""'

# 2. SIGHUP with an invalid config: the old one is kept and LastError says so.
RUN0=$(sysfs run)
write_conf $'Policy=always\nPagesMax=abc'          # PagesMax= on line 11
kill -HUP "$KSMD_PID"
eventually "bad SIGHUP: LastError starts with 'Invalid configuration, kept the old one'" "$W" \
        last_error_starts "Invalid configuration, kept the old one"
check "bad SIGHUP: LastError names file and line" last_error_has "$CONF:11:"
check "bad SIGHUP: LastError names the key" last_error_has "PagesMax"
check "bad SIGHUP: same process still alive" pid_alive
check "bad SIGHUP: still on the bus" daemon_on_bus
check "bad SIGHUP: Policy still pressure (old config kept)" prop_is Policy '"pressure"'
check "bad SIGHUP: KSM untouched" sysfs_is run "$RUN0"
check "bad SIGHUP: journal warns" log_has "Invalid configuration, kept the old one"
# A reconcile in the meantime keeps running on the old configuration.
root_reconcile
check "bad SIGHUP: old policy still in force after a reconcile" prop_is Policy '"pressure"'
check "bad SIGHUP: KSM unchanged after a reconcile" sysfs_is run "$RUN0"

# A semantically invalid config (bounds crossed) is refused the same way.
write_conf $'Policy=always\nPagesMin=900\nPagesMax=100'
kill -HUP "$KSMD_PID"
eventually "bad bounds SIGHUP: LastError mentions PagesMin" "$W" last_error_has "PagesMin"
check "bad bounds SIGHUP: LastError starts with 'Invalid configuration'" last_error_starts "Invalid configuration"
check "bad bounds SIGHUP: Policy still pressure" prop_is Policy '"pressure"'

# 3. Fixed config: reloaded, LastError cleared by the reconcile that follows, KSM on again.
write_conf "Policy=always"
kill -HUP "$KSMD_PID"
eventually "fixed SIGHUP: Policy always" "$W" prop_is Policy '"always"'
root_reconcile
eventually "fixed SIGHUP: LastError cleared" "$W" prop_is LastError '""'
eventually "fixed SIGHUP: KSM on again" "$W" sysfs_is run 1
eventually "fixed SIGHUP: Managed true" "$W" prop_is Managed true
check "fixed SIGHUP: same PID throughout" test "$KSMD_PID" = "$PID"

# 4. SIGTERM while KSM is on and ours: exit 0, KSM left running, record kept.
wait_until "$W" settled
check "SIGTERM: exit status 0" stop_daemon TERM
check "SIGTERM: process gone" bash -c "! kill -0 $PID 2>/dev/null"
check "SIGTERM: KSM left running" sysfs_is run 1
check "SIGTERM: state.json kept" test -s "$STATE/state.json"
check "SIGTERM: state.json says claimed true" record_claimed true
check "SIGTERM: state.json keeps the saved tuning" grep -qE '"pages_to_scan": *333' "$STATE/state.json"
check "SIGTERM: node label still true" node_label_is true
check "SIGTERM: node annotation still true" node_annotation_is true
check "SIGTERM: shutdown logged" log_has "KSM is left as it is"

# 5. Restart: the new instance keeps the claim; removing the config then restores everything.
start_daemon
check "restart: new PID" test "$KSMD_PID" != "$PID"
eventually "restart: Managed true (ownership survived)" "$W" prop_is Managed true
check "restart: record reported valid and ours" log_has "Ownership record: valid, KSM managed by this daemon"
check "restart: KSM still running" sysfs_is run 1
write_kubevirt absent
eventually "restart + config removed: KSM off" "$W" sysfs_is run 0
eventually "restart + config removed: pages_to_scan restored to 333" "$W" sysfs_is pages_to_scan 333
eventually "restart + config removed: sleep_millisecs restored to 44" "$W" sysfs_is sleep_millisecs 44
eventually "restart + config removed: annotation false" "$W" node_annotation_is false
eventually "restart + config removed: Managed false" "$W" prop_is Managed false
check "restart + config removed: record says claimed false" record_claimed false

# 6. SIGINT exits 0 too.
check "SIGINT: exit status 0" stop_daemon INT
check "SIGINT: KSM left as it was (off)" sysfs_is run 0

# 7. Corrupt record, annotation "true": the annotation proves ownership, KSM is switched off.
write_kubevirt '{}'
start_daemon
eventually "corrupt/true: setup: selected, run 1" "$W" sysfs_is run 1
eventually "corrupt/true: setup: record claimed" "$W" record_claimed true
wait_until "$W" settled
check "corrupt/true: setup: SIGTERM exit 0" stop_daemon TERM
truncate -s $(( $(stat -c %s "$STATE/state.json") / 2 )) "$STATE/state.json"
check "corrupt/true: state.json is no longer valid JSON" \
        bash -c "! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' '$STATE/state.json' 2>/dev/null"
write_node '{"kubernetes.io/hostname":"node01"}' '{"kubevirt.io/ksm-handler-managed":"true"}'
N0=$(log_count "falling back to the node annotation")
start_daemon
eventually "corrupt/true: still selected, reconciled" "$W" prop_is Selected true
check "corrupt/true: journal says 'falling back to the node annotation'" \
        test "$(log_count 'falling back to the node annotation')" -gt "$N0"
check "corrupt/true: Managed true (from the annotation)" prop_is Managed true
check "corrupt/true: KSM still running" sysfs_is run 1
write_kubevirt absent
eventually "corrupt/true: deselected: KSM switched off (annotation proves ownership)" "$W" sysfs_is run 0
eventually "corrupt/true: annotation false" "$W" node_annotation_is false
eventually "corrupt/true: label false" "$W" node_label_is false
eventually "corrupt/true: record rewritten, valid" "$W" \
        python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["claimed"] is False else 1)' "$STATE/state.json"
check "corrupt/true: daemon still up" daemon_on_bus
check "corrupt/true: SIGTERM exit 0" stop_daemon TERM

# 8. Corrupt record, annotation "false", KSM running (someone else's): never switched off.
echo 1 > "$RUN"
printf '{"version":1,"claimed":tr' > "$STATE/state.json"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}' '{"kubevirt.io/ksm-handler-managed":"false"}'
N0=$(log_count "falling back to the node annotation")
start_daemon
eventually "corrupt/false: selected, first reconcile done" "$W" prop_is Selected true
check "corrupt/false: journal says 'falling back to the node annotation'" \
        test "$(log_count 'falling back to the node annotation')" -gt "$N0"
check "corrupt/false: not claimed" prop_is Managed false
eventually "corrupt/false: label true (KSM runs)" "$W" node_label_is true
write_kubevirt absent
eventually "corrupt/false: deselection reconciled" "$W" prop_is Selected false
check "corrupt/false: deselected: KSM left on" sysfs_is run 1
root_reconcile
stays "corrupt/false: KSM stays on" 1 sysfs_is run 1
check "corrupt/false: annotation still false" node_annotation_is false
check "corrupt/false: Managed false" prop_is Managed false
check "corrupt/false: record rewritten as not claimed" record_claimed false
check "corrupt/false: SIGINT exit 0" stop_daemon INT
check "corrupt/false: KSM still on after exit" sysfs_is run 1

finish
