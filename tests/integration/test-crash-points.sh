#!/bin/bash
# test-crash-points.sh — the daemon is killed (SIGKILL, KSMD_CRASH_AT) at every crash point of
# src/crash-point.c while it claims KSM, tunes it, gives it back, reloads and unmerges, on the file
# source and on the Kubernetes API test server; restarted without the hook, it must end exactly
# where an uninterrupted run ends: run, pages_to_scan, sleep_millisecs, the advisor, the record,
# the node's label and annotation.
. "$(dirname "$0")/lib.sh"

# ---- the list of points: the table in crash-point.c, checked against the calls in src/ ----------
mapfile -t POINTS < <(sed -n '/BEGIN crash points/,/END crash points/p' "$top_srcdir/src/crash-point.c" |
                      grep -o '^ *"[^"]*"' | tr -d ' "')
mapfile -t CALLED < <(cat "$top_srcdir"/src/*.c | grep -o 'crash_point("[^"]*")' | sed 's/crash_point("\(.*\)")/\1/' | sort -u)
in_points() { local p; for p in "${POINTS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }

# Without kubectl (or python3, openssl) only the file source runs; the other half is skipped.
KUBE=yes
for c in python3 openssl "${KUBECTL:-kubectl}"; do command -v "$c" >/dev/null || KUBE="no ($c not installed)"; done
if [ "$KUBE" = yes ]; then
        . "$(dirname "$0")/kube-lib.sh"
        kubevirt_json absent >"$T/kv.json"
        node_json node01 >"$T/node.json"
        start_apiserver --seed "$T/node.json" "$T/kv.json"
fi

start_bus policy

check "the table lists crash points" test "${#POINTS[@]}" -ge 10
for c in "${CALLED[@]}"; do
        check "crash_point(\"$c\") in the source is in the table" in_points "$c"
done

# ---- one case: prepare, kill at the point, restart, compare ------------------------------------
RATES="ScanFastPages=1111
ScanFastSleepMsec=11
ScanIdlePages=1111
ScanIdleSleepMsec=11
ScanWakeMemoryMiB=0"
RATES2=${RATES//1111/2222}; RATES2=${RATES2//=11/=22}
ADVISOR="Policy=advisor
AdvisorTargetScanTimeSec=20
AdvisorMaxCPU=30
AdvisorMinPagesToScan=1000
AdvisorMaxPagesToScan=20000"
SEL_YES='{"matchLabels":{"kubernetes.io/hostname":"node01"}}'

# conf LINES: the daemon's configuration for the current source.
conf() {
        if [ "$SRC" = file ]; then write_conf "$1"; else write_kube_conf "$1"; fi
}
# select yes|no: the KubeVirt CR selects node01 or has no ksmConfiguration.
select_node() {
        local sel=absent
        [ "$1" = yes ] && sel=$SEL_YES
        if [ "$SRC" = file ]; then write_kubevirt "$sel"; else seed "$(kubevirt_json "$sel")"; fi
}
# node_keys LABEL ANNOTATION: node01 with these KSM keys ("" for none).
node_keys() {
        local l='' a=''
        [ -n "$1" ] && l=",\"kubevirt.io/ksm-enabled\":\"$1\""
        [ -n "$2" ] && a="\"kubevirt.io/ksm-handler-managed\":\"$2\""
        if [ "$SRC" = file ]; then
                write_node "{\"kubernetes.io/hostname\":\"node01\"$l}" "{$a}"
        else
                seed "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\",\"labels\":{\"kubernetes.io/hostname\":\"node01\"$l},\"annotations\":{$a}},\"status\":{\"capacity\":{\"memory\":\"16302148Ki\"}}}"
        fi
}
keys_are() {
        if [ "$SRC" = file ]; then node_label_is "$1" && node_annotation_is "$2"
        else knode_ksm_is node01 "$1" "$2"; fi
}
# ksm RUN PAGES SLEEP [ADVISOR_MODE TARGET CPU MIN MAX]: the scratch KSM directory now.
set_sysfs() {
        make_sysfs
        echo "$1" >"$SYSFS/run"; echo "$2" >"$SYSFS/pages_to_scan"; echo "$3" >"$SYSFS/sleep_millisecs"
        if [ $# -gt 3 ]; then
                echo "$4" >"$SYSFS/advisor_mode"; echo "$5" >"$SYSFS/advisor_target_scan_time"
                echo "$6" >"$SYSFS/advisor_max_cpu"; echo "$7" >"$SYSFS/advisor_min_pages_to_scan"
                echo "$8" >"$SYSFS/advisor_max_pages_to_scan"
        fi
}
ksm_is() {
        sysfs_is run "$1" && sysfs_is pages_to_scan "$2" && sysfs_is sleep_millisecs "$3" || return 1
        [ $# -eq 3 ] || { sysfs_is advisor_mode "$4" && sysfs_is advisor_target_scan_time "$5" &&
                sysfs_is advisor_max_cpu "$6" && sysfs_is advisor_min_pages_to_scan "$7" &&
                sysfs_is advisor_max_pages_to_scan "$8"; }
}
# The records a claim of the fixture's KSM writes, and the one a release writes.
REC_CLAIMED='{"version":1,"claimed":true,"saved":{"pages_to_scan":333,"sleep_millisecs":44},"saved_advisor":{"mode":"none","target_scan_time":200,"max_cpu":70,"min_pages_to_scan":500,"max_pages_to_scan":30000}}'
REC_RELEASED='{"version":1,"claimed":false}'
record_is() { [ "$(cat "$STATE/state.json" 2>/dev/null)" = "$1" ]; }

# hooked_start POINT: the daemon with the hook armed, in the background. Never under valgrind: a
# process killed by SIGKILL has no leak report to give; the restart is where valgrind looks.
hooked_start() {
        KSMD_CRASH_AT=$1 "$KSMD" --config "$CONF" --log-level=debug >>"$LOG" 2>&1 &
        KSMD_PID=$!
}
alive() { kill -0 "$KSMD_PID" 2>/dev/null; }
up_and_settled() { daemon_on_bus && settled; }

declare -A COVERED=()
FINAL=
# run_case SCENARIO POINT: prepares the scenario, kills the daemon at POINT, restarts it without
# the hook and checks that it ends in the scenario's final state.
run_case() {
        local scen=$1 point=$2 what="$SRC, $1, killed at $2" rc
        [[ $point == *:* ]] || point=$point:1
        : >"$LOG"
        rm -rf "$STATE"
        "prep_$scen"
        hooked_start "$point"
        if [ -n "${TRIGGER:-}" ]; then
                # A change made once the daemon is up: the point is on its way.
                # (stderr here and below: bash's own "Killed" notice of the job is expected, not news)
                wait_until $((20 * SLOW)) up_and_settled 2>/dev/null ||
                        { not_ok "$what: the daemon did not come up"; stop_daemon KILL; return; }
                eval "$TRIGGER" 2>/dev/null
        fi
        if ! wait_until $((15 * SLOW)) eval '! alive' 2>/dev/null; then
                not_ok "$what: the daemon was not killed there"
                stop_daemon KILL >/dev/null 2>&1
                return
        fi
        wait "$KSMD_PID" 2>/dev/null; rc=$?; KSMD_PID=
        # An unmerge the kill interrupted goes on in the kernel, which leaves run at 2 with
        # nothing merged when it is done.
        [ "$(cat "$SYSFS/run")" = 2 ] && { echo 0 > "$SYSFS/pages_shared"; echo 0 > "$SYSFS/pages_sharing"; }
        if [ "$rc" -eq 137 ] && log_has "crash point ${point%%:*} reached (pass ${point#*:}"; then
                ok "$what: killed by SIGKILL there"
                COVERED[$SRC:${point%%:*}]=1
        else
                not_ok "$what: exit status $rc, want 137 (SIGKILL at the point)"
        fi
        start_daemon
        eventually "$what: restarted, KSM $FINAL" $((10 * SLOW)) eval "$CHECK_KSM"
        eventually "$what: the record" $((5 * SLOW)) record_is "$CHECK_RECORD"
        eventually "$what: label and annotation $CHECK_KEYS" $((10 * SLOW)) keys_are $CHECK_KEYS
        eventually "$what: LastError empty" $((5 * SLOW)) prop_is LastError '""'
        stop_daemon
}

# ---- the scenarios ------------------------------------------------------------------------------
# claim: selected, KSM off (pages 333, sleep 44): switched on at 1111/11 and claimed.
prep_claim() {
        set_sysfs 0 333 44; conf "$RATES"; node_keys "" ""; select_node yes; TRIGGER=
        FINAL="on at 1111/11"; CHECK_KSM='ksm_is 1 1111 11'; CHECK_RECORD=$REC_CLAIMED; CHECK_KEYS="true true"
}
# A claimed, running KSM as the claim leaves it.
prep_claimed_running() {
        set_sysfs 1 1111 11; mkdir -p "$STATE"; echo "$REC_CLAIMED" >"$STATE/state.json"; node_keys true true
}
# tune: claimed and running, new rates in the configuration: 2222/22, the saved 333/44 kept.
prep_tune() {
        prep_claimed_running; conf "$RATES2"; select_node yes; TRIGGER=
        FINAL="on at 2222/22"; CHECK_KSM='ksm_is 1 2222 22'; CHECK_RECORD=$REC_CLAIMED; CHECK_KEYS="true true"
}
# restore: claimed and running, deselected: off, 333/44 put back, released.
prep_restore() {
        prep_claimed_running; conf "$RATES"; select_node no; TRIGGER=
        FINAL="off, 333/44 restored"; CHECK_KSM='ksm_is 0 333 44'; CHECK_RECORD=$REC_RELEASED; CHECK_KEYS="false false"
}
# reload: claimed and running; new rates and SIGHUP while up: 2222/22.
prep_reload() {
        prep_claimed_running; conf "$RATES"; select_node yes; TRIGGER='conf "$RATES2"; kill -HUP $KSMD_PID'
        FINAL="on at 2222/22"; CHECK_KSM='ksm_is 1 2222 22'; CHECK_RECORD=$REC_CLAIMED; CHECK_KEYS="true true"
}
# unmerge: claimed and running; Unmerge while up: running again at the same rate. (write-run there
# is the daemon putting run back: the child writing run=2 is another process and passes inertly.)
prep_unmerge() {
        prep_claimed_running; conf "$RATES"; select_node yes
        TRIGGER='busctl --system --timeout=2 call $BUS $OBJ $IFACE Unmerge >/dev/null 2>&1 &'
        FINAL="on at 1111/11"; CHECK_KSM='ksm_is 1 1111 11'; CHECK_RECORD=$REC_CLAIMED; CHECK_KEYS="true true"
}
# claim-restore: the claim, then deselected while up: the second pass of a point is the restore's.
prep_claim_restore() {
        set_sysfs 0 333 44; conf "$RATES"; node_keys "" ""; select_node yes; TRIGGER='select_node no'
        FINAL="off, 333/44 restored"; CHECK_KSM='ksm_is 0 333 44'; CHECK_RECORD=$REC_RELEASED; CHECK_KEYS="false false"
}
# advisor-claim: Policy=advisor, selected, KSM off: the advisor set up, then run.
prep_advisor_claim() {
        set_sysfs 0 333 44 "[none] scan-time" 200 70 500 30000; conf "$ADVISOR"; node_keys "" ""; select_node yes; TRIGGER=
        FINAL="on under the advisor"; CHECK_KSM='ksm_is 1 333 44 scan-time 20 30 1000 20000'
        CHECK_RECORD=$REC_CLAIMED; CHECK_KEYS="true true"
}
# advisor-restore: claimed under the advisor (which moved pages_to_scan), deselected: everything back.
prep_advisor_restore() {
        set_sysfs 1 4321 44 "none [scan-time]" 20 30 1000 20000
        mkdir -p "$STATE"; echo "$REC_CLAIMED" >"$STATE/state.json"; node_keys true true
        conf "$ADVISOR"; select_node no; TRIGGER=
        FINAL="off, advisor and 333/44 restored"; CHECK_KSM='ksm_is 0 333 44 none 200 70 500 30000'
        CHECK_RECORD=$REC_RELEASED; CHECK_KEYS="false false"
}

# Which points each scenario passes (a point may be passed more than once: NAME:NTH).
declare -A SCEN_POINTS=(
        [claim]="record-written-before-sysfs write-pages_to_scan write-sleep_millisecs write-run node-patch-before node-patch-after"
        [tune]="write-pages_to_scan write-sleep_millisecs"
        [restore]="write-run write-pages_to_scan write-sleep_millisecs record-written-after-sysfs node-patch-before node-patch-after"
        [reload]="reload-mid"
        [unmerge]="unmerge-started unmerge-finished write-run"
        [claim_restore]="write-run:2 write-pages_to_scan:2 node-patch-before:2"
        [advisor_claim]="write-advisor_min_pages_to_scan write-advisor_max_pages_to_scan write-advisor_target_scan_time write-advisor_max_cpu write-advisor_mode write-run"
        [advisor_restore]="write-run write-advisor_min_pages_to_scan write-advisor_max_pages_to_scan write-advisor_target_scan_time write-advisor_max_cpu write-advisor_mode write-pages_to_scan record-written-after-sysfs"
)
SCENARIOS="claim tune restore reload unmerge claim_restore advisor_claim advisor_restore"

# A name that is not in the table, or a bad count, arms nothing: said, and the daemon carries on.
if [ -z "${ONLY_POINT:-}" ]; then
        SRC=file
        for bad in no-such-point write-run:0 write-run:x; do
                : >"$LOG"; rm -rf "$STATE"; prep_claim
                hooked_start "$bad"
                wait_until $((20 * SLOW)) up_and_settled
                check "KSMD_CRASH_AT=$bad: the daemon says it arms nothing" log_has "KSMD_CRASH_AT=$bad.*not armed"
                check "KSMD_CRASH_AT=$bad: and claims KSM as usual" eval 'alive && ksm_is 1 1111 11'
                stop_daemon
        done
fi

# ONLY_SOURCE=file|kube and ONLY_POINT=NAME narrow the run by hand.
for SRC in file kube; do
        [ -z "${ONLY_SOURCE:-}" ] || [ "$ONLY_SOURCE" = "$SRC" ] || continue
        if [ "$SRC" = kube ] && [ "$KUBE" != yes ]; then
                TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP Kubernetes source: $KUBE"
                continue
        fi
        for scen in $SCENARIOS; do
                for point in ${SCEN_POINTS[$scen]}; do
                        [ -z "${ONLY_POINT:-}" ] || [ "$ONLY_POINT" = "$point" ] || continue
                        run_case "$scen" "$point"
                done
        done
        if [ -z "${ONLY_POINT:-}" ]; then
                for p in "${POINTS[@]}"; do
                        check "$SRC: crash point $p was exercised" test -n "${COVERED[$SRC:$p]:-}"
                done
        fi
done

finish
