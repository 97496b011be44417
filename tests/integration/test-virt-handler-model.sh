#!/bin/bash
# test-virt-handler-model.sh — table tests of tests/virt-handler-ksm.py, the model of the KSM loop
# that KubeVirt's virt-handler runs itself: the cases of upstream's ksm_test.go (same node, labels,
# annotations, meminfo and expected values), every override annotation's bound checks, and the
# eligibility rules, each a --once pass against the API test server asserting the scratch sysfs
# files, the Node's label and annotation and the label's field manager (virt-handler); then the
# loop itself: the passes at start, config callbacks on KubeVirt CR changes, the ticker.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

NODE=test-node
MEM_P=$top_srcdir/tests/fixtures/meminfo-upstream-pressure.txt      # MemAvailable < 20 %
MEM_N=$top_srcdir/tests/fixtures/meminfo-upstream-no-pressure.txt   # MemAvailable > 20 %
KSM=$T/vh-ksm
STATS=$T/vh-stats.json
VHLOG=$T/vh-once.log
SEL='{"matchLabels":{"test_label":"true"}}'                    # upstream's selector
ALT_SEL='{"matchExpressions":[{"key":"test_label","operator":"In","values":["true"]}]}'
MATCH='{"test_label":"true"}'
mkdir -p "$KSM"
start_apiserver

# ---- rows --------------------------------------------------------------------------------------
# given KUBEVIRT LABELS ANNOTATIONS RUN PAGES SLEEP: the KubeVirt CR kubevirt/kubevirt (a selector
# as JSON; absent: no ksmConfiguration; conf=JSON: that ksmConfiguration; none: no CR), the Node
# (labels and annotations as JSON; seeded as is, so without managedFields) and the KSM files
# (each with a newline, as the kernel shows them).
given() {
        local kv=$1 objs
        objs="{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$NODE\",\"labels\":$2,\"annotations\":$3}}"
        case $kv in
        none) kapi DELETE /apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts >/dev/null ;;
        absent) objs+=",$(kubevirt_json absent)" ;;
        conf=*) objs+=",{\"apiVersion\":\"kubevirt.io/v1\",\"kind\":\"KubeVirt\",\"metadata\":{\"name\":\"kubevirt\",\"namespace\":\"kubevirt\"},\"spec\":{\"configuration\":{\"ksmConfiguration\":${kv#conf=}}},\"status\":{\"phase\":\"Deployed\"}}" ;;
        *) objs+=",$(kubevirt_json "$kv")" ;;
        esac
        seed "[$objs]"
        rm -f "$KSM"/*
        set_ksm "$KSM" "$4" "$5" "$6"
}
# spin MEMINFO [N [ARGS...]]: N passes (default 1) of the model in one run; VH_RC is its status.
spin() {
        local mem=$1 n=${2:-1}
        shift; [ $# -gt 0 ] && shift
        rm -f "$STATS"
        vh_model --node "$NODE" --ksm-dir "$KSM" --meminfo "$mem" --stats-file "$STATS" \
                --spins "$n" "$@" >"$VHLOG" 2>&1
        VH_RC=$?
}
# node_state [writes]: "LABEL ANNOTATION OWNER" of the Node, OWNER the field managers of its
# label; with "writes", then " writes=" and what writes prints. One request.
NODE_STATE="next(((lambda m: m.get('labels',{}).get('kubevirt.io/ksm-enabled','<absent>')+' '+m.get('annotations',{}).get('kubevirt.io/ksm-handler-managed','<absent>')+' '+(','.join(e['manager'] for e in m.get('managedFields') or [] if 'f:kubevirt.io/ksm-enabled' in e['fieldsV1'].get('f:metadata',{}).get('f:labels',{})) or '<nobody>'))(o['metadata']) for o in b['items'] if o['metadata']['name']=='$NODE'),'<no node>')"
WRITES="(lambda s: '%d/%d/%d/%d' % (s['run_writes'], s['pages_writes'], s['sleep_writes'], s['patches']))(json.load(open('$STATS'))) if __import__('os').path.exists('$STATS') else '<no stats>'"
node_state() {
        if [ "${1:-}" = writes ]; then
                kapi GET "/_test/objects?resource=nodes" --no-token --print "$NODE_STATE+' writes='+($WRITES)"
        else
                kapi GET "/_test/objects?resource=nodes" --no-token --print "$NODE_STATE"
        fi
}
# writes: "RUN/PAGES/SLEEP writes, PATCHES" of the model's last run.
writes() { "$PY" -c "import json; print($WRITES)"; }
sysfs_is_k() { [ "$(cat "$KSM/$1" 2>/dev/null)" = "$2" ]; }
ksm_file() { if [ -e "$KSM/$1" ]; then cat "$KSM/$1"; else echo "<absent>"; fi; }
# expect DESCRIPTION RUN PAGES SLEEP LABEL ANNOTATION [WRITES]: one TAP line. The files are
# compared without their trailing newline; the label must be virt-handler's; WRITES as writes
# prints them.
expect() {
        local d=$1 want got
        want="run=$2 pages=$3 sleep=$4 node=$5 $6 virt-handler"
        got="run=$(ksm_file run) pages=$(ksm_file pages_to_scan) sleep=$(ksm_file sleep_millisecs)"
        if [ -n "${7:-}" ]; then want+=" writes=$7"; got+=" node=$(node_state writes)"
        else got+=" node=$(node_state)"; fi
        if [ "$got" = "$want" ] && [ "$VH_RC" = 0 ]; then
                ok "$d"
        else
                not_ok "$d"
                echo "#   want $want (exit 0)"
                echo "#   got  $got (exit $VH_RC)"
                tail -n 6 "$VHLOG" | sed 's/^/#   /'
        fi
}
log_says() { grep -q -- "$1" "$VHLOG"; }
annotate() {   # annotate KEY VALUE: a merge patch of the Node by someone else
        kapi PATCH "/api/v1/nodes/$NODE?fieldManager=test" --ctype application/merge-patch+json \
                --data "{\"metadata\":{\"annotations\":{\"$1\":\"$2\"}}}" >/dev/null
}
ov() { echo "\"kubevirt.io/ksm-$1-override\":\"$2\""; }    # ov NAME VALUE: one override annotation

# ---- upstream: "ksmConfiguration is not provided" ----------------------------------------------
given absent null '{"unrelated-key":"unrelated-value"}' 0 100 20
spin "$MEM_N"
expect "no ksmConfiguration: label false, annotation false, KSM untouched, one patch" 0 100 20 false false 0/0/0/1
echo 1 >"$KSM/run"
spin "$MEM_N"
expect "no ksmConfiguration, KSM switched on by someone else: left on" 1 100 20 false false 0/0/0/1
check "no ksmConfiguration: the unrelated annotation is kept" \
        test "$(knode "$NODE" annotations unrelated-key)" = unrelated-value

# ---- upstream: "independently from node pressure" ----------------------------------------------
given "$SEL" "$MATCH" '{}' 0 100 20
spin "$MEM_N"
expect "labels match the selector: label true (no pressure: run 0 written, not ours)" 0 100 20 true false 1/0/0/1
given "$SEL" '{"no_macthing_label":"true"}' '{}' 0 100 20
spin "$MEM_N"
expect "labels do not match the selector: label false" 0 100 20 false false 0/0/0/1

# ---- upstream: "with memory pressure, should" (a pass without pressure, then one with) ---------
for sel in "$SEL" "$ALT_SEL"; do
        what=matchLabels; [ "$sel" = "$ALT_SEL" ] && what="matchExpressions In"
        given "$sel" "$MATCH" '{}' 0 100 20
        spin "$MEM_N"; spin "$MEM_P"
        expect "$what: labels match, pressure: KSM enabled (init 100, sleep 27) and claimed" 1 100 27 true true 1/1/1/1
        given "$sel" '{"test_label":"false"}' '{"kubevirt.io/ksm-handler-managed":"true"}' 1 100 20
        spin "$MEM_N"; spin "$MEM_P"
        expect "$what: labels do not match, annotation true: KSM disabled" 0 100 20 false false 0/0/0/1
done

# ---- disableKSM: only a Node annotated ksm-handler-managed "true" is switched off -------------
for a in absent false True true; do
        ann='{}'; [ "$a" = absent ] || ann="{\"kubevirt.io/ksm-handler-managed\":\"$a\"}"
        want_run=1 want_w=0/0/0/1; [ "$a" = true ] && want_run=0 want_w=1/0/0/1
        given "$SEL" '{"test_label":"false"}' "$ann" 1 100 20
        spin "$MEM_N"
        expect "deselected, KSM on, annotation $a: run $want_run" "$want_run" 100 20 false false "$want_w"
done
check "deselected, annotation true: run is written as \"0\\n\"" eval '[ "$(od -An -c "$KSM/run" | tr -d " ")" = "0\\n" ]'
given absent "$MATCH" '{"kubevirt.io/ksm-handler-managed":"true"}' 1 100 20
spin "$MEM_N"
expect "ksmConfiguration removed, KSM ours: switched off" 0 100 20 false false 1/0/0/1

# ---- eligibility ------------------------------------------------------------------------------
# elig DESCRIPTION KUBEVIRT LABELS LABEL: one pass without pressure, KSM off: the label says
# whether the node was eligible (an eligible node gets run=0 written; the annotation is false).
elig() {
        local w=0/0/0/1; [ "$4" = true ] && w=1/0/0/1
        given "$2" "$3" '{}' 0 100 20
        spin "$MEM_N"
        expect "eligibility: $1" 0 100 20 "$4" false "$w"
}
elig "no KubeVirt CR: not eligible" none "$MATCH" false
given "$SEL" "$MATCH" '{}' 0 100 20
seed '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt"},"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{}}}}}'
spin "$MEM_N"
expect "eligibility: a KubeVirt CR without status.phase is not a configuration" 0 100 20 false false 0/0/0/1
seed '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kubevirt","namespace":"kubevirt","deletionTimestamp":"2024-01-01T00:00:00Z","finalizers":["x/y"]},"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{}}}},"status":{"phase":"Deleting"}}'
spin "$MEM_N"
expect "eligibility: a KubeVirt CR being deleted is not a configuration" 0 100 20 false false 0/0/0/1
kapi PATCH /apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt --ctype application/merge-patch+json \
        --data '{"metadata":{"finalizers":null}}' >/dev/null
elig "ksmConfiguration {} (no selector): nothing selected" 'conf={}' "$MATCH" false
elig "nodeLabelSelector null: nothing selected" null "$MATCH" false
elig "nodeLabelSelector {}: every node" '{}' '{"other":"x"}' true
elig "selector field names match case-insensitively, as Go decodes them" \
        'conf={"NodeLabelSelector":{"MatchLabels":{"test_label":"true"}}}' "$MATCH" true
TWO='{"matchLabels":{"kubevirt.io/first-label":"true","kubevirt.io/second-label":"true"}}'
elig "matchLabels: the node has one of two" "$TWO" '{"kubevirt.io/first-label":"true"}' false
elig "matchLabels: the node has both" "$TWO" '{"kubevirt.io/first-label":"true","kubevirt.io/second-label":"true"}' true
elig "matchLabels: same key, other value" "$SEL" '{"test_label":"false"}' false
elig "In: value listed" '{"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}' '{"zone":"b"}' true
elig "In: value not listed" '{"matchExpressions":[{"key":"zone","operator":"In","values":["a","b"]}]}' '{"zone":"c"}' false
elig "In: key missing" '{"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}' '{}' false
elig "NotIn: a node without the key matches" '{"matchExpressions":[{"key":"zone","operator":"NotIn","values":["a"]}]}' '{}' true
elig "NotIn: value listed" '{"matchExpressions":[{"key":"zone","operator":"NotIn","values":["a"]}]}' '{"zone":"a"}' false
elig "NotIn: other value" '{"matchExpressions":[{"key":"zone","operator":"NotIn","values":["a"]}]}' '{"zone":"b"}' true
elig "Exists: has the key (any value)" '{"matchExpressions":[{"key":"zone","operator":"Exists"}]}' '{"zone":""}' true
elig "Exists: lacks the key" '{"matchExpressions":[{"key":"zone","operator":"Exists"}]}' '{}' false
elig "DoesNotExist: a node without the key matches" '{"matchExpressions":[{"key":"zone","operator":"DoesNotExist"}]}' '{}' true
elig "DoesNotExist: has the key" '{"matchExpressions":[{"key":"zone","operator":"DoesNotExist"}]}' '{"zone":"a"}' false
AND='{"matchLabels":{"test_label":"true"},"matchExpressions":[{"key":"zone","operator":"In","values":["a"]}]}'
elig "matchLabels AND matchExpressions: both hold" "$AND" '{"test_label":"true","zone":"a"}' true
elig "matchLabels AND matchExpressions: only matchLabels holds" "$AND" "$MATCH" false
for bad in '{"matchExpressions":[{"key":"test_label","operator":"Equals","values":["true"]}]}' \
           '{"matchExpressions":[{"key":"test_label","operator":"In"}]}' \
           '{"matchExpressions":[{"key":"test_label","operator":"Exists","values":["true"]}]}' \
           '{"matchExpressions":[{"key":"bad key","operator":"Exists"}]}' \
           '{"matchLabels":{"test_label":"has space"}}'; do
        elig "invalid selector $bad: not eligible" "$bad" "$MATCH" false
        check "invalid selector $bad: logged" log_says "converting the ksm selector"
done
given '{"matchExpressions":[{"key":"test_label","operator":"In"}]}' "$MATCH" '{"kubevirt.io/ksm-handler-managed":"true"}' 1 100 20
spin "$MEM_N"
expect "invalid selector, KSM ours: switched off" 0 100 20 false false 1/0/0/1
given "$SEL" "$MATCH" '{}' 0 100 20
rm -f "$KSM/run"
spin "$MEM_P"
expect "no KSM (no run file): not eligible, nothing written" "<absent>" 100 20 false false 0/0/0/1
given "$SEL" "$MATCH" '{}' 0 100 20
printf ' 1 \n' >"$KSM/run"
spin "$MEM_P"
expect "run \" 1 \": running (boost from 100)" 1 400 27 true true 1/1/1/1

# ---- upstream: "should adapt to memory pressure" -----------------------------------------------
given "$SEL" "$MATCH" '{}' 0 100 20
spin "$MEM_N" 2
expect "adapt: no pressure, two passes: KSM stays off" 0 100 20 true false 2/0/0/2
spin "$MEM_P"
expect "adapt: pressure: KSM starts with init 100, sleep 27" 1 100 27 true true 1/1/1/1
spin "$MEM_P"
expect "adapt: pressure: pages + boost 300" 1 400 27 true true
spin "$MEM_P" 3
expect "adapt: three more passes: pages capped at max 1250" 1 1250 27 true true
spin "$MEM_N"
expect "adapt: pressure gone: pages + decay -50, sleep 63" 1 1200 63 true true
spin "$MEM_N" 15
expect "adapt: 15 more passes: 1250 - 16 x 50" 1 450 63 true true
spin "$MEM_N" 30
expect "adapt: 30 more passes: below min 64 it stops (pages_to_scan keeps its last value)" 0 100 63 true false 30/7/7/30

# ---- upstream: "should use override values if provided" ----------------------------------------
OVR="{$(ov pages-boost 123),$(ov pages-decay 45),$(ov pages-min 166),$(ov pages-max 789),$(ov pages-init 1011),$(ov sleep-ms-baseline 1213),$(ov free-percent 1.0)}"
given "$SEL" "$MATCH" "$OVR" 0 100 20
spin "$MEM_N"
expect "overrides: free-percent 1.0 is pressure; init 1011 out of [166,789] gives min 166; sleep 1213 x 16Gi/used" 1 166 768 true true
check "overrides: the out-of-bounds decay and init are logged" \
        eval 'log_says "pages-decay-override override value out of bounds, using default (-50)" && log_says "pages-init-override override value out of bounds, using lowest possible value (166)"'
spin "$MEM_N"
expect "overrides: pages + boost 123" 1 289 768 true true
spin "$MEM_N" 5
expect "overrides: capped at max 789" 1 789 768 true true
annotate kubevirt.io/ksm-free-percent-override 0.1
spin "$MEM_N"
expect "overrides: free-percent 0.1, no pressure: decay is the default -50 (45 is out of bounds)" 1 739 768 true true
spin "$MEM_N" 16
expect "overrides: below min 166 it stops" 0 189 768 true false

# ---- every override's bound checks -------------------------------------------------------------
# bound DESCRIPTION ANNOTATIONS RUN PAGES MEMINFO WANT_RUN WANT_PAGES WANT_SLEEP: one pass.
bound() {
        local ann='{}' annlabel=false
        [ -n "$2" ] && ann="{$2}"
        given "$SEL" "$MATCH" "$ann" "$3" "$4" 20
        spin "$5"
        [ "$6" = 1 ] && annlabel=true
        expect "bounds: $1" "$6" "$7" "$8" true "$annlabel"
}
bound "boost 123" "$(ov pages-boost 123)" 1 100 "$MEM_P" 1 223 27
bound "boost 0" "$(ov pages-boost 0)" 1 100 "$MEM_P" 1 100 27
bound "boost -1 (below 0): default 300" "$(ov pages-boost -1)" 1 100 "$MEM_P" 1 400 27
bound "boost abc (unparsable): default" "$(ov pages-boost abc)" 1 100 "$MEM_P" 1 400 27
bound "boost 1.5 (not an integer): default" "$(ov pages-boost 1.5)" 1 100 "$MEM_P" 1 400 27
bound "boost ' 5' (Atoi takes no spaces): default" "$(ov pages-boost ' 5')" 1 100 "$MEM_P" 1 400 27
bound "boost +5 (Atoi takes a sign)" "$(ov pages-boost +5)" 1 100 "$MEM_P" 1 105 27
bound "boost 2^63 (out of int64): default" "$(ov pages-boost 9223372036854775808)" 1 100 "$MEM_P" 1 400 27
bound "decay -100" "$(ov pages-decay -100)" 1 1000 "$MEM_N" 1 900 63
bound "decay 0" "$(ov pages-decay 0)" 1 1000 "$MEM_N" 1 1000 63
bound "decay 45 (above 0): default -50" "$(ov pages-decay 45)" 1 1000 "$MEM_N" 1 950 63
bound "decay x: default" "$(ov pages-decay x)" 1 1000 "$MEM_N" 1 950 63
bound "min 30: 100 - 50 stays above it" "$(ov pages-min 30)" 1 100 "$MEM_N" 1 50 63
bound "min -5 (below 0): default 64, so 50 stops KSM" "$(ov pages-min -5)" 1 100 "$MEM_N" 0 100 20
bound "min 200 without an init override: init stays 100, unchecked" "$(ov pages-min 200)" 0 100 "$MEM_P" 1 100 27
bound "max 1300" "$(ov pages-max 1300)" 1 1200 "$MEM_P" 1 1300 27
bound "max 10 (below min 64): default 1250" "$(ov pages-max 10)" 1 1200 "$MEM_P" 1 1250 27
bound "max 1500 below min 2000: default 1250 is no better, so the lower bound 2000" \
        "$(ov pages-min 2000),$(ov pages-max 1500)" 1 1900 "$MEM_P" 1 2000 27
bound "min 2000 without a max override: max stays 1250, unchecked" "$(ov pages-min 2000)" 1 1200 "$MEM_P" 1 1250 27
bound "init 500" "$(ov pages-init 500)" 0 100 "$MEM_P" 1 500 27
bound "init 1011 within [166,1250]" "$(ov pages-min 166),$(ov pages-init 1011)" 0 100 "$MEM_P" 1 1011 27
bound "init 50 (below min 64): default 100" "$(ov pages-init 50)" 0 100 "$MEM_P" 1 100 27
bound "init 2000 (above max 1250): default 100" "$(ov pages-init 2000)" 0 100 "$MEM_P" 1 100 27
bound "init 150 above max 120: default 100 lies inside [64,120]" "$(ov pages-max 120),$(ov pages-init 150)" 0 100 "$MEM_P" 1 100 27
bound "init 150 above max 100: the default 100 is a bound, not strictly inside, so the lower bound 64" \
        "$(ov pages-max 100),$(ov pages-init 150)" 0 100 "$MEM_P" 1 64 27
bound "init x: default" "$(ov pages-init x)" 0 100 "$MEM_P" 1 100 27
bound "sleep baseline 1213" "$(ov sleep-ms-baseline 1213)" 0 100 "$MEM_P" 1 100 336
bound "sleep baseline 0 (below 1): default 100" "$(ov sleep-ms-baseline 0)" 0 100 "$MEM_P" 1 100 27
bound "sleep baseline -3: default" "$(ov sleep-ms-baseline -3)" 0 100 "$MEM_P" 1 100 27
bound "sleep baseline 1: 16Mi/used rounds to 0, and so does the floor 1/10" "$(ov sleep-ms-baseline 1)" 0 100 "$MEM_P" 1 100 0
bound "sleep baseline x: default" "$(ov sleep-ms-baseline x)" 0 100 "$MEM_P" 1 100 27
bound "free-percent 1.0 (the upper bound itself): always pressure" "$(ov free-percent 1.0)" 0 100 "$MEM_N" 1 100 63
bound "free-percent 0.1: no pressure" "$(ov free-percent 0.1)" 0 100 "$MEM_N" 0 100 20
bound "free-percent 0.7: pressure" "$(ov free-percent 0.7)" 0 100 "$MEM_N" 1 100 63
bound "free-percent 0 (the lower bound): no pressure" "$(ov free-percent 0)" 0 100 "$MEM_N" 0 100 20
bound "free-percent 1.5 (above 1): default 0.2" "$(ov free-percent 1.5)" 0 100 "$MEM_N" 0 100 20
bound "free-percent -0.1: default" "$(ov free-percent -0.1)" 0 100 "$MEM_N" 0 100 20
bound "free-percent abc: default" "$(ov free-percent abc)" 0 100 "$MEM_N" 0 100 20
bound "free-percent 1e39 (out of float32 range): default" "$(ov free-percent 1e39)" 0 100 "$MEM_N" 0 100 20
bound "free-percent 0x1.8p-1 (a hex float, 0.75): pressure" "$(ov free-percent 0x1.8p-1)" 0 100 "$MEM_N" 1 100 63
bound "free-percent NaN passes the bound check and means pressure" "$(ov free-percent NaN)" 0 100 "$MEM_N" 1 100 63
printf 'MemTotal:       1073741824 kB\nMemAvailable:      1048576 kB\n' >"$T/meminfo-1t"
bound "sleep floored at baseline/10 on a big busy host" "" 0 100 "$T/meminfo-1t" 1 100 10
printf 'MemTotal:           1000 kB\nMemAvailable:        200 kB\n' >"$T/meminfo-200"
printf 'MemTotal:           1000 kB\nMemAvailable:        201 kB\n' >"$T/meminfo-201"
bound "MemAvailable exactly 20 % of MemTotal is pressure" "" 0 100 "$T/meminfo-200" 1 100 2097152
bound "MemAvailable just above 20 % is not" "" 0 100 "$T/meminfo-201" 0 100 20

# ---- errors ------------------------------------------------------------------------------------
given "$SEL" "$MATCH" '{}' 0 100 20
printf 'MemTotal:           1000 kB\nMemAvailable:       1000 kB\n' >"$T/meminfo-idle"
spin "$T/meminfo-idle"
check "MemTotal == MemAvailable divides by zero: virt-handler panics, the model exits 2 before any write or patch" \
        eval '[ "$VH_RC" = 2 ] && [ "$(writes)" = 0/0/0/0 ] && log_says "panic: runtime error: integer divide by zero" && [ "$(node_state)" = "<absent> <absent> <nobody>" ]'
given "$SEL" "$MATCH" '{}' 0 abc 20
spin "$MEM_P"
expect "pages_to_scan unreadable: no write, not ours" 0 abc 20 true false 0/0/0/1
given "$SEL" "$MATCH" '{}' 0 100 20
spin "$T/no-such-meminfo"
expect "meminfo unreadable: no write, not ours" 0 100 20 true false 0/0/0/1
given "$SEL" "$MATCH" '{}' 1 1000 20
spin "$MEM_N"
expect "eligible, KSM switched on by someone else: virt-handler decays it and claims it" 1 950 63 true true 1/1/1/1
given "$SEL" "$MATCH" '{}' 1 100 20
spin "$MEM_N"
expect "eligible, KSM on by someone else at 100 pages, no pressure: virt-handler switches it off" 0 100 20 true false 1/0/0/1
given "$SEL" "$MATCH" '{}' 0 100 20
kapi DELETE "/api/v1/nodes/$NODE" >/dev/null
spin "$MEM_P"
check "no Node: nothing written, nothing patched" \
        eval '[ "$VH_RC" = 0 ] && [ "$(writes)" = 0/0/0/0 ] && [ "$(vh_stat "$STATS" node_gets)" = 1 ] && sysfs_is_k run 0'
given "$SEL" "$MATCH" '{}' 0 100 20
fault '{"type":"status","code":503,"count":1,"method":"PATCH"}'
spin "$MEM_P"
ktest DELETE /_test/fault
check "a failed PATCH: KSM written all the same, the failure counted and logged" \
        eval '[ "$(writes)" = 1/1/1/0 ] && [ "$(vh_stat "$STATS" patch_errors)" = 1 ] && log_says "can.t patch node" && [ "$(node_state)" = "<absent> <absent> <nobody>" ]'
given "$SEL" "$MATCH" '{}' 0 100 20
spin "$MEM_P" 1 --no-field-manager
expect "without ?fieldManager the server names the manager virt-handler from the user agent" 1 100 27 true true
check "... and so does the annotation it changed" \
        test "$(knode_owner "$NODE" annotations kubevirt.io/ksm-handler-managed)" = virt-handler
check "the model's requests carry virt-handler's user agent" \
        grep -q "^PATCH /api/v1/nodes/$NODE 200 virt-handler/" "$KDIR/requests.log"

# ---- the loop ----------------------------------------------------------------------------------
LSTATS=$T/vh-loop-stats.json
lstat() { vh_stat "$LSTATS" "$1"; }
lstat_ge() { local v; v=$(lstat "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
lstat_is() { [ "$(lstat "$1")" = "$2" ]; }
kv_patch() { kapi PATCH /apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt --ctype application/merge-patch+json --data "$1" >/dev/null; }
given "$SEL" "$MATCH" '{}' 0 100 20
vh_start loop --node "$NODE" --ksm-dir "$KSM" --meminfo "$MEM_P" --stats-file "$LSTATS" --interval 2
eventually "loop: started" 15 eval 'lstat_ge spins 3 && lstat_is callbacks 1'
passes() { grep -oE '(spin|config callback) \([a-z ]+\)|pages=[0-9]+;' "$T/vh-loop.log" | head -n "$1" | tr '\n' ' '; }
check "loop: at start it spins, the loop spins, the registration callback spins (pages 100, 400, 700)" \
        test "$(passes 7)" = "spin (start) pages=100; spin (loop start) pages=400; config callback (callback registered) spin (config change) pages=700; "
eventually "loop: the ticker spins every --interval" 10 lstat_ge spins 5
kv_patch "{\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{\"matchLabels\":{\"wake\":\"yes\"}}}}}}"
eventually "loop: a KubeVirt CR change is a callback: not eligible, KSM (ours) off, patched" 10 \
        eval 'lstat_is callbacks 2 && sysfs_is_k run 0 && [ "$(node_state)" = "false false virt-handler" ]'
s0=$(lstat spins)
stays "loop: not eligible, the loop is stopped: no more spins" 5 eval '[ "$(lstat spins)" = "$s0" ] && lstat_is callbacks 2'
kapi PATCH "/api/v1/nodes/$NODE" --ctype application/merge-patch+json --data '{"metadata":{"labels":{"wake":"yes"}}}' >/dev/null
stays "loop: the node now matches, but a Node change wakes nothing" 3 eval '[ "$(lstat spins)" = "$s0" ] && knode_label_is "$NODE" false'
kv_patch '{"metadata":{"annotations":{"touched":"1"}}}'
eventually "loop: any KubeVirt CR change (even metadata) calls back, but it judges the Node cached at the last spin: still not eligible" 10 \
        eval 'lstat_is callbacks 3 && [ "$(lstat spins)" = "$s0" ] && knode_label_is "$NODE" false && sysfs_is_k run 0'
kv_patch '{"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{"matchLabels":{"wake":null}}}}}}'
eventually "loop: a selector the cached Node matches: eligible, the loop restarts with a spin" 10 \
        eval 'lstat_is callbacks 4 && lstat_ge spins $((s0 + 1)) && knode_label_is "$NODE" true && sysfs_is_k run 1'
eventually "loop: ticks again" 10 lstat_ge spins $((s0 + 3))
kapi DELETE /apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt >/dev/null
s1=$(lstat spins)
eventually "loop: the CR deleted: no callback, the last configuration stays, ticks go on" 10 \
        eval 'lstat_ge spins $((s1 + 2)) && lstat_is callbacks 4 && knode_label_is "$NODE" true'
pid=${VH_PID[loop]}
kill -TERM "$pid"; wait "$pid"; rc=$?; VH_PID[loop]=
check "loop: SIGTERM ends it with status 0" test "$rc" = 0

finish
