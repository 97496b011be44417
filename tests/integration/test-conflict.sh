#!/bin/bash
# test-conflict.sh — another writer on the file source: one correction, then holding (Conflict, LastError,
# one journal record, ksmctl), back in charge once it is quiet; Selection and Reason for each situation.
. "$(dirname "$0")/lib.sh"

journal_count() { grep -c -- "$1" "$LOG" || true; }
status_has() { "$KSMCTL" status | grep -qF -- "$1"; }

start_bus policy
make_sysfs
echo 100 > "$SYSFS/pages_to_scan"
RECHECK=1 write_conf "ConflictQuietSec=4s"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon

# 1. Selected: Selection yes and the reason, no conflict.
eventually "selected: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "selected: Selection yes" $((5 * SLOW)) prop_is Selection '"yes"'
check "selected: Reason names the selector and the CR" \
        prop_is Reason '"selected by the nodeLabelSelector of KubeVirt kubevirt/kubevirt"'
check "selected: Conflict empty" prop_is Conflict '""'
check "ksmctl status: Selection first" bash -c "'$KSMCTL' status | head -1 | grep -q 'Selection: yes'"
check "ksmctl status: Reason second" bash -c "'$KSMCTL' status | sed -n 2p | grep -q 'Reason: selected by'"

# 2. Someone switches KSM off once: corrected (one correction).
echo 0 > "$SYSFS/run"
eventually "first foreign write: corrected, run 1 again" $((5 * SLOW)) sysfs_is run 1
check "first foreign write: the journal says it corrects it once" log_has "correcting it once"
check "first foreign write: no conflict yet" prop_is Conflict '""'

# 3. Again before the other writer was quiet for 4 s: holding, KSM left as it left it.
echo 0 > "$SYSFS/run"
eventually "second foreign write: Conflict names run" $((5 * SLOW)) prop_is Conflict '"run changed from 1 to 0"'
stays "holding: run stays 0 (no fight)" 2 sysfs_is run 0
check "holding: LastError says Conflict" prop_is LastError '"Conflict: run changed from 1 to 0"'
check "holding: Reason says another writer" bash -c "busctl --system get-property $BUS $OBJ $IFACE Reason | grep -q 'another writer changed'"
check "holding: ksmctl status shows the conflict" status_has "Conflict: run changed from 1 to 0"
check "holding: said once at warning in the journal" test "$(journal_count 'not fighting it')" = 1
check "holding: journal record with action=conflict" log_has "action=conflict"
check "holding: scan controller off" prop_is ScanState '"off"'

# 4. The other writer goes on: still holding, nothing written, still said once.
echo 555 > "$SYSFS/pages_to_scan"
stays "holding: pages_to_scan left at 555" 2 sysfs_is pages_to_scan 555
check "holding: still said once" test "$(journal_count 'not fighting it')" = 1

# 5. Quiet for 4 s: in charge again, KSM back on, Conflict empty.
eventually "quiet: Conflict cleared" $((10 * SLOW)) prop_is Conflict '""'
eventually "quiet: run 1 again" $((5 * SLOW)) sysfs_is run 1
check "quiet: the journal says so" log_has "has been quiet"
check "quiet: LastError cleared" prop_is LastError '""'

# 6. The annotation rewritten by hand to another value twice: corrected once, then held.
sleep 4.5       # let the earlier corrections be forgotten
write_node '{"kubernetes.io/hostname":"node01","kubevirt.io/ksm-enabled":"true"}' '{"kubevirt.io/ksm-handler-managed":"false"}'
eventually "annotation rewritten: put back to true" $((5 * SLOW)) node_annotation_is true
write_node '{"kubernetes.io/hostname":"node01","kubevirt.io/ksm-enabled":"true"}' '{"kubevirt.io/ksm-handler-managed":"false"}'
eventually "annotation rewritten again: Conflict names it" $((5 * SLOW)) \
        prop_is Conflict '"annotation kubevirt.io/ksm-handler-managed changed from true to false"'
stays "annotation held: left false" 2 node_annotation_is false
eventually "annotation quiet: put back after 4 s" $((10 * SLOW)) node_annotation_is true

# 7. Two KubeVirt resources: Selection unknown, the reason says why, KSM left as it is.
atomic_write "$KVFILE" '{"kind":"KubeVirtList","items":[{"kind":"KubeVirt","metadata":{"name":"a","namespace":"x"},"spec":{}},{"kind":"KubeVirt","metadata":{"name":"b","namespace":"y"},"spec":{}}]}'
eventually "two CRs: Selection unknown" $((5 * SLOW)) prop_is Selection '"unknown"'
check "two CRs: Reason says two were found" bash -c "busctl --system get-property $BUS $OBJ $IFACE Reason | grep -q '2 KubeVirt resources found'"
check "two CRs: KSM left on" sysfs_is run 1

# 8. Not selected: Selection no, the reason says why.
write_kubevirt '{"matchLabels":{"other":"x"}}'
eventually "not matching: Selection no" $((5 * SLOW)) prop_is Selection '"no"'
check "not matching: Reason says it does not match" bash -c \
        "busctl --system get-property $BUS $OBJ $IFACE Reason | grep -q 'not selected: the nodeLabelSelector of KubeVirt kubevirt/kubevirt does not match this node'"
write_kubevirt absent
eventually "no ksmConfiguration: Reason says so" $((5 * SLOW)) \
        prop_is Reason '"not selected: KubeVirt kubevirt/kubevirt has no ksmConfiguration.nodeLabelSelector"'

finish
