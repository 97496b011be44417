#!/bin/bash
# test-file-source.sh — file source end to end: selection on/off, restore, the node's label and
# annotation, external drift, bad JSON, editors that replace files.
. "$(dirname "$0")/lib.sh"

start_bus policy
make_sysfs
echo 333 > "$SYSFS/pages_to_scan"
echo 44 > "$SYSFS/sleep_millisecs"
RECHECK=1 write_conf
write_kubevirt absent
write_node '{"kubernetes.io/hostname":"node01","other":"keep"}' '{"unrelated":"x"}'
start_daemon

# 1. No ksmConfiguration: nothing selected, KSM untouched, label false, annotation false.
eventually "no config: label false written" 5 node_label_is false
check "no config: annotation false" node_annotation_is false
check "no config: run stays 0" sysfs_is run 0
check "no config: Selected false" prop_is Selected false
check "no config: unrelated label kept" test "$(node_get labels other)" = keep
check "no config: unrelated annotation kept" test "$(node_get annotations unrelated)" = x

# 2. The seeds' hostname selector selects node01: on, claimed, tuned.
t0=$(date +%s%N)
write_kubevirt '{"matchExpressions":[{"key":"kubernetes.io/hostname","operator":"In","values":["node01","node03"]}]}'
eventually "selected: run becomes 1" $((5 * SLOW)) sysfs_is run 1
echo "# file edit to run=1: $(( ($(date +%s%N) - t0) / 1000000 )) ms (the contract: within a second)"
eventually "selected: label true" $((5 * SLOW)) node_label_is true
eventually "selected: annotation managed true" $((5 * SLOW)) node_annotation_is true
check "selected: Managed property true" prop_is Managed true
check "selected: Running property true" prop_is Running true
check "selected: record written with saved tuning" grep -q '"pages_to_scan": *333' "$STATE/state.json"
check "selected: record mode 0600" test "$(stat -c %a "$STATE/state.json")" = 600
check "selected: journal-style action logged" log_has "action=start"

# 3. External drift: someone switches KSM off by hand; corrected within RecheckSec (1 s).
echo 0 > "$SYSFS/run"
eventually "drift: run back to 1 within RecheckSec" $((5 * SLOW)) sysfs_is run 1

# 4. Bad JSON in the KubeVirt file: last good view kept, KSM unchanged, LastError names the file.
printf '{"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt", "spec": ' > "$KVFILE.tmp" && mv "$KVFILE.tmp" "$KVFILE"
eventually "bad JSON: LastError names the file" $((5 * SLOW)) bash -c "busctl --system get-property $BUS $OBJ $IFACE LastError | grep -q kubevirt.json"
check "bad JSON: KSM still on" sysfs_is run 1
check "bad JSON: journal names the file" log_has "Failed to read KubeVirt file $KVFILE"

# 5. Label changed so the node no longer matches: off, tuning restored, annotation false.
write_kubevirt '{"matchLabels":{"kubevirt.io/first-label":"true","kubevirt.io/second-label":"true"}}'
eventually "deselected: run back to 0" $((5 * SLOW)) sysfs_is run 0
eventually "deselected: pages_to_scan restored (written after run)" $((3 * SLOW)) sysfs_is pages_to_scan 333
eventually "deselected: sleep_millisecs restored" $((3 * SLOW)) sysfs_is sleep_millisecs 44
eventually "deselected: label false" $((5 * SLOW)) node_label_is false
eventually "deselected: annotation false" $((5 * SLOW)) node_annotation_is false
check "deselected: LastError cleared" prop_is LastError '""'

# 6. The node gains both labels (matchLabels): selected again.
write_node '{"kubernetes.io/hostname":"node01","kubevirt.io/first-label":"true","kubevirt.io/second-label":"true"}' '{"kubevirt.io/ksm-handler-managed":"false"}'
eventually "matchLabels: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "matchLabels: annotation true" $((5 * SLOW)) node_annotation_is true

# 7. Someone else's KSM: deselect, switch on by hand, nothing is claimed or switched off.
write_kubevirt absent
eventually "config removed: run 0" $((5 * SLOW)) sysfs_is run 0
echo 1 > "$SYSFS/run"
write_kubevirt '{}'
eventually "external KSM + {} selector: label true" $((5 * SLOW)) node_label_is true
check "external KSM: not claimed" node_annotation_is false
write_kubevirt absent
eventually "external KSM, config removed: reconciled" $((5 * SLOW)) prop_is Selected false
check "external KSM: still running" sysfs_is run 1
check "external KSM: annotation still false" node_annotation_is false

# 8. Invalid selector: nothing selected, LastError says why.
echo 0 > "$SYSFS/run"
write_kubevirt '{"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]}'
eventually "invalid selector: LastError mentions the operator" $((5 * SLOW)) bash -c "busctl --system get-property $BUS $OBJ $IFACE LastError | grep -q Gt"
check "invalid selector: KSM left off" sysfs_is run 0

# 9. No KubeVirt file at all: nothing selected.
write_kubevirt '{}'
eventually "{} selects: run 1" $((5 * SLOW)) sysfs_is run 1
write_kubevirt none
eventually "KubeVirt file removed: run 0 (ours)" $((5 * SLOW)) sysfs_is run 0

# 10. A sysfs write the kernel refuses: reported with the file and errno, the daemon stays up.
write_kubevirt absent
eventually "deselected before the write-failure case" $((5 * SLOW)) sysfs_is run 0
mv "$SYSFS/sleep_millisecs" "$SYSFS/sleep_millisecs.real"
mkdir "$SYSFS/sleep_millisecs"
write_kubevirt '{}'
eventually "write failure: LastError names the file and the errno" $((5 * SLOW)) \
        bash -c "busctl --system get-property $BUS $OBJ $IFACE LastError | grep -q 'sleep_millisecs: Is a directory'"
check "write failure: the journal names the file" log_has "Failed to write .* to $SYSFS/sleep_millisecs"
check "write failure: the daemon is still on the bus" daemon_on_bus
check "write failure: KSM still switched on" sysfs_is run 1
rmdir "$SYSFS/sleep_millisecs"
mv "$SYSFS/sleep_millisecs.real" "$SYSFS/sleep_millisecs"

check "SIGTERM: clean exit 0" stop_daemon TERM
finish
