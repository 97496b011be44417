#!/bin/bash
# test-kube-coexist.sh — the daemon beside a faithful model of virt-handler's own KSM loop
# (tests/virt-handler-ksm.py, one-second ticker): (1) the supported configuration, where neither
# touches what the other owns; (2) both on ksmConfiguration with the same keys, where the daemon
# corrects once, then holds and says so instead of fighting. Prints the passes and Node writes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

SEL=kubevirt.io/ksm-ksmd-node-label-selector
OURLABEL=kubevirt.io/ksm-ksmd-enabled
OURANN=kubevirt.io/ksm-ksmd-managed
VHSTATS=$T/vh.json

node_json node01 '"ksm":"on"' >"$T/node01.json"
# ksmConfiguration unset; the daemon's selector in an annotation of the CR.
printf '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt","annotations":{"%s":"{\\"matchLabels\\":{\\"ksm\\":\\"on\\"}}"}},"spec":{"configuration":{}},"status":{"phase":"Deployed"}}' \
        "$SEL" >"$T/kubevirt.json"
start_apiserver --seed "$T/node01.json" "$T/kubevirt.json"

start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 100 20
write_kube_conf "[Source]" "SelectorAnnotation=$SEL" "EnabledLabel=$OURLABEL" "ManagedAnnotation=$OURANN"
start_daemon

ours_is() { [ "$(knode node01 labels $OURLABEL) $(knode node01 annotations $OURANN)" = "$1 $2" ]; }
actions() { grep -c "action=" "$LOG" || true; }
vh_passes() { vh_stat "$VHSTATS" passes; }
vh_passes_at_least() { [ "$(vh_passes)" -ge "$1" ] 2>/dev/null; }
touch_cr() { kc annotate kubevirt kubevirt -n kubevirt --overwrite "test/touch=$1" >/dev/null; }

# ---- 1. The supported configuration ---------------------------------------------------------------
eventually "supported: the daemon switches KSM on" $((10 * SLOW)) sysfs_is run 1
eventually "supported: its own label and annotation true" $((5 * SLOW)) ours_is true true
check "supported: Selection yes" prop_is Selection '"yes"'
check "supported: Reason names the selector annotation" bash -c \
        "busctl --system get-property $BUS $OBJ $IFACE Reason | grep -q 'selected by the selector annotation of KubeVirt kubevirt/kubevirt'"
wait_until $((5 * SLOW)) settled
mark=$(reqlog_mark); acts=$(actions)

vh_start vh --node node01 --ksm-dir "$SYSFS" --meminfo "$MEMINFO_IDLE" --interval 1 --stats-file "$VHSTATS"
eventually "supported: the model made its first passes" $((10 * SLOW)) vh_passes_at_least 1
# Every KubeVirt CR change is a pass of virt-handler's loop (and a reconcile of the daemon's).
for i in 1 2 3 4 5 6; do
        touch_cr "$i"
        wait_until $((5 * SLOW)) vh_passes_at_least $(( $(vh_passes) + 1 ))
        check "supported: run still 1 after the model's pass on CR change $i" sysfs_is run 1
done
wait_until $((5 * SLOW)) settled
passes=$(vh_passes)
check "supported: the model ran at least 6 passes" test "$passes" -ge 6
check "supported: run never changed (1)" sysfs_is run 1
check "supported: the model wrote run 0 times" test "$(vh_stat "$VHSTATS" run_writes)" = 0
check "supported: the model wrote pages_to_scan 0 times" test "$(vh_stat "$VHSTATS" pages_writes)" = 0
check "supported: the model wrote sleep_millisecs 0 times" test "$(vh_stat "$VHSTATS" sleep_writes)" = 0
vh_patches=$(vh_stat "$VHSTATS" patches)
check "supported: the model patched the Node on each pass ($vh_patches)" test "$vh_patches" -ge "$passes"
ours=$(reqlog_count "$mark" '^PATCH ')
check "supported: the daemon patched the Node 0 times after converging" test "$ours" = 0
check "supported: the daemon did nothing to KSM after converging" test "$(actions)" = "$acts"
check "supported: virt-handler's keys say false (its own view)" knode_ksm_is node01 false false
check "supported: the daemon's keys still say true" ours_is true true
check "supported: the daemon's label written by kubevirt-ksmd" test "$(knode_owner node01 labels $OURLABEL)" = kubevirt-ksmd
check "supported: virt-handler's annotation written by virt-handler" \
        test "$(knode_owner node01 annotations kubevirt.io/ksm-handler-managed)" = virt-handler
check "supported: no conflict" prop_is Conflict '""'
echo "# supported: $passes passes of the model; Node writes after converging: model $vh_patches, daemon $ours; run writes: model 0, daemon 0"
vh_stop vh

# ---- 1b. An invalid selector stays on the node: a Warning Event KSMError says it to the cluster --------
err0=$(kevents node01 KSMError)
kc annotate kubevirt kubevirt -n kubevirt --overwrite "$SEL={\"matchExpressions\":[{\"key\":\"ksm\",\"operator\":\"Gt\"}]}" >/dev/null
eventually "invalid selector: LastError names the operator" $((5 * SLOW)) bash -c \
        "busctl --system get-property $BUS $OBJ $IFACE LastError | grep -q Gt"
eventually "invalid selector: a Warning Event KSMError" $((5 * SLOW)) kevents_more_than node01 KSMError "$err0"
stop_daemon

# ---- 2. Both on ksmConfiguration, the same keys ------------------------------------------------------
rm -rf "$STATE"
set_ksm "$SYSFS" 0 100 20
kc patch kubevirt kubevirt -n kubevirt --type=merge \
        -p '{"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{}}}}}' >/dev/null
write_kube_conf "ConflictQuietSec=10min"
start_daemon
eventually "same keys: the daemon switches KSM on" $((10 * SLOW)) sysfs_is run 1
eventually "same keys: label and annotation true" $((5 * SLOW)) knode_ksm_is node01 true true
eventually "same keys: at its fast rate" $((5 * SLOW)) sysfs_is pages_to_scan 10000
mark=$(reqlog_mark)
warn0=$(kevents node01 KSMConflict)

rm -f "$VHSTATS"
vh_start vh2 --node node01 --ksm-dir "$SYSFS" --meminfo "$MEMINFO_IDLE" --interval 1 --stats-file "$VHSTATS"
eventually "same keys: the daemon holds after one correction" $((15 * SLOW)) \
        bash -c "busctl --system get-property $BUS $OBJ $IFACE Conflict | grep -q 'pages_to_scan changed'"
tunes_at_hold=$(grep -c "action=tune" "$LOG" || true)
passes0=$(vh_passes)
wait_until $((15 * SLOW)) vh_passes_at_least $(( passes0 + 6 ))
passes=$(vh_passes)
check "same keys: the model ran at least 6 more passes while the daemon held" test "$passes" -ge $(( passes0 + 6 ))
check "same keys: no scan-rate write by the daemon while holding" test "$(grep -c "action=tune" "$LOG" || true)" = "$tunes_at_hold"
check "same keys: at most one correction (tune) after the model started" test "$tunes_at_hold" -le 2
check "same keys: LastError says Conflict" bash -c "busctl --system get-property $BUS $OBJ $IFACE LastError | grep -q 'Conflict: '"
check "same keys: said once in the journal" test "$(grep -c 'not fighting it' "$LOG")" = 1
eventually "same keys: a Warning Event KSMConflict on the Node" $((5 * SLOW)) kevents_more_than node01 KSMConflict "$warn0"
check "same keys: kubectl get events --field-selector type=Warning finds it" \
        eval 'kc get events -n default --field-selector type=Warning 2>&1 | grep -q KSMConflict'
check "same keys: ksmctl status shows the conflict" bash -c "'$KSMCTL' status | grep -q 'Conflict: .*pages_to_scan changed'"
ours=$(reqlog_count "$mark" '^PATCH /api/v1/nodes')
vh_patches=$(vh_stat "$VHSTATS" patches)
check "same keys: the daemon's Node patches stayed bounded ($ours)" test "$ours" -le 1
echo "# same keys: $passes passes of the model; Node writes since it started: model $vh_patches, daemon $ours;" \
     "scan-rate writes: model $(vh_stat "$VHSTATS" pages_writes), daemon $(( tunes_at_hold ))"

finish
