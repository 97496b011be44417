#!/bin/bash
# test-kube-three-nodes.sh — the seeds' restore story end to end: three nodes, three daemons, node01's KSM switched on externally; the config selects node02/node03, then is deleted, and only node02/node03 are restored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

NODES=(node01 node02 node03)
for n in 1 2 3; do node_json "node0$n" >"$T/node0$n.json"; done
kubevirt_json absent >"$T/kubevirt.json"
start_apiserver --seed "$T/node01.json" "$T/node02.json" "$T/node03.json" "$T/kubevirt.json"

# Before the daemons start: node01's KSM runs (someone else's), node02/node03 have it off, each
# with its own scan settings.
declare -A RUN0=([1]=1 [2]=0 [3]=0) PAGES0=([1]=100 [2]=150 [3]=175) SLEEP0=([1]=20 [2]=25 [3]=30)
for n in 1 2 3; do
        inst_setup "$n" "node0$n"
        set_ksm "$(inst_dir "$n")/ksm" "${RUN0[$n]}" "${PAGES0[$n]}" "${SLEEP0[$n]}"
done
for n in 1 2 3; do inst_start "$n"; done

# state_is N RUN PAGES SLEEP LABEL ANNOTATION: node N's KSM directory and Node object.
state_is() {
        inst_sysfs_is "$1" run "$2" && inst_sysfs_is "$1" pages_to_scan "$3" && inst_sysfs_is "$1" sleep_millisecs "$4" &&
                knode_ksm_is "node0$1" "$5" "$6"
}
original() { inst_sysfs_is "$1" pages_to_scan "${PAGES0[$1]}" && inst_sysfs_is "$1" sleep_millisecs "${SLEEP0[$1]}"; }

# Step 1: no ksmConfiguration. Every daemon settles; node01's KSM runs (label true) but is not
# claimed; node02/node03 stay off.
for n in 1 2 3; do
        eventually "step 1: node0$n connected" $((10 * SLOW)) inst_prop_is "$n" Connected true
done
eventually "step 1: node01 label true, annotation false" $((5 * SLOW)) knode_ksm_is node01 true false
eventually "step 1: node02 label false, annotation false" $((5 * SLOW)) knode_ksm_is node02 false false
eventually "step 1: node03 label false, annotation false" $((5 * SLOW)) knode_ksm_is node03 false false
check "step 1: node01 run 1, its settings untouched" state_is 1 1 100 20 true false
check "step 1: node02 run 0, its settings untouched" state_is 2 0 150 25 false false
check "step 1: node03 run 0, its settings untouched" state_is 3 0 175 30 false false
for n in 1 2 3; do
        check "step 1: node0$n Selected false, Managed false" \
                eval "inst_prop_is $n Selected false && inst_prop_is $n Managed false"
done
check "step 1: node01 Running true (externally)" inst_prop_is 1 Running true

# Step 2: the admin selects node02 and node03.
t0=$(now_us)
check "step 2: kubectl patch --type=merge: hostname In [node02, node03]" \
        eval "kc patch kubevirt kubevirt -n kubevirt --type=merge -p '{\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"node02\",\"node03\"]}]}}}}}' >/dev/null"
for n in 2 3; do
        eventually "step 2: node0$n run 1" $((3 * SLOW)) inst_sysfs_is "$n" run 1
        eventually "step 2: node0$n label true, annotation true" $((3 * SLOW)) knode_ksm_is "node0$n" true true
        check "step 2: node0$n Selected true, Managed true" \
                eval "inst_prop_is $n Selected true && inst_prop_is $n Managed true"
        check "step 2: node0$n ownership record claims KSM" grep -qs '"claimed": *true' "$(inst_dir "$n")/state/state.json"
done
eventually "step 2: node01 reconciled the new config" $((3 * SLOW)) inst 1 reconciled_after "$t0"
check "step 2: node01 Selected false" inst_prop_is 1 Selected false
stays "step 2: node01 unchanged: run 1, 100/20, label true, annotation false" 1 state_is 1 1 100 20 true false
check "step 2: node01 Managed false, no ownership record" \
        eval 'inst_prop_is 1 Managed false && ! grep -qs "\"claimed\": *true" "$(inst_dir 1)/state/state.json"'

# Step 3: the admin deletes the ksmConfiguration.
check "step 3: kubectl patch --type=json: remove /spec/configuration/ksmConfiguration" \
        eval "kc patch kubevirt kubevirt -n kubevirt --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/configuration/ksmConfiguration\"}]' >/dev/null"
for n in 2 3; do
        eventually "step 3: node0$n run 0" $((3 * SLOW)) inst_sysfs_is "$n" run 0
        eventually "step 3: node0$n pages_to_scan/sleep_millisecs restored to ${PAGES0[$n]}/${SLEEP0[$n]}" $((3 * SLOW)) original "$n"
        eventually "step 3: node0$n label false, annotation false" $((3 * SLOW)) knode_ksm_is "node0$n" false false
        check "step 3: node0$n Selected false, Managed false" \
                eval "inst_prop_is $n Selected false && inst_prop_is $n Managed false"
        eventually "step 3: node0$n an Event KSMDisabled" $((3 * SLOW)) kevents_more_than "node0$n" KSMDisabled 0
done
stays "step 3: node01 never switched off: run 1, 100/20, label true, annotation false" 1 state_is 1 1 100 20 true false
check "step 3: node01 got no KSMEnabled/KSMDisabled/KSMRestored Event" \
        eval '[ "$(kevents node01 KSMEnabled)$(kevents node01 KSMDisabled)$(kevents node01 KSMRestored)" = 000 ]'
check "each daemon patched only its own node" \
        eval '! reqlog_since 0 | grep -E "^PATCH " | grep -qvE "^PATCH /api/v1/nodes/node0[123] "'

for n in 1 2 3; do check "node0$n: SIGTERM, clean exit 0" inst_stop "$n" TERM; done
finish
