#!/bin/bash
# test-record-damage.sh — the daemon starts on a damaged ownership record (truncated, corrupt,
# empty, another format, binary, saved settings out of range), an older record, and a state
# directory that is read-only or full: it says what it found (journal, LastError), keeps a damaged
# record as state.json.corrupt, never switches off a KSM it did not switch on, and never writes
# back a nonsense setting.
. "$(dirname "$0")/lib.sh"

start_bus policy
RATES="ScanFastPages=1111
ScanFastSleepMsec=11
ScanIdlePages=1111
ScanIdleSleepMsec=11
ScanWakeMemoryMiB=0"

ksm_is() { sysfs_is run "$1" && sysfs_is pages_to_scan "$2" && sysfs_is sleep_millisecs "$3"; }
keys_are() { node_label_is "$1" && node_annotation_is "$2"; }
last_error_has() { prop LastError | grep -q -- "$1"; }
record_is() { [ "$(cat "$STATE/state.json" 2>/dev/null)" = "$1" ]; }
# restart_clean: a restart on the record the last run wrote reports no damage.
restart_clean() {
        local rc=0
        : >"$LOG"
        start_daemon
        wait_until $((5 * SLOW)) settled
        last_error_has damaged && rc=1
        log_has "is damaged" && rc=1
        stop_daemon
        return $rc
}
# same_bytes FILE EXPECTED_FILE
same_bytes() { cmp -s "$1" "$2"; }

# setup RUN PAGES SLEEP ANNOTATION: KSM as someone left it, the node's annotation, not selected.
setup() {
        : >"$LOG"
        rm -rf "$STATE"; mkdir -p "$STATE"
        make_sysfs
        echo "$1" >"$SYSFS/run"; echo "$2" >"$SYSFS/pages_to_scan"; echo "$3" >"$SYSFS/sleep_millisecs"
        local label=false; [ "$1" = 1 ] && label=true
        write_node "{\"kubernetes.io/hostname\":\"node01\",\"kubevirt.io/ksm-enabled\":\"$label\"}" \
                "{\"kubevirt.io/ksm-handler-managed\":\"$4\"}"
        write_kubevirt absent
        write_conf "$RATES"
}

# ---- 1. damaged records ------------------------------------------------------------------------
# Each is written as the record, byte for byte; the name says what it is.
declare -A DAMAGED=(
        [truncated]='{"version":1,"claimed":true,"saved":{"pages_to_sc'
        [corrupt]='{"version":1,"claimed":true,"saved":{"pages_to_scan":100,,"sleep_millisecs":20}}'
        [empty]=''
        [foreign JSON]='{"apiVersion":"v1","kind":"Node","metadata":{"name":"node01"}}'
        [older unversioned format]='{"claimed":true,"pages_to_scan":100,"sleep_millisecs":20}'
        [saved pages_to_scan 0]='{"version":1,"claimed":true,"saved":{"pages_to_scan":0,"sleep_millisecs":20}}'
        [saved pages_to_scan 2^40]='{"version":1,"claimed":true,"saved":{"pages_to_scan":1099511627776,"sleep_millisecs":20}}'
        [saved sleep_millisecs negative]='{"version":1,"claimed":true,"saved":{"pages_to_scan":100,"sleep_millisecs":-20}}'
)
write_damaged() {
        if [ "$1" = binary ]; then printf '\177ELF\002\001\001\000\000\000\377\376{"version":1}\000' >"$STATE/state.json"
        else printf '%s' "${DAMAGED[$1]}" >"$STATE/state.json"; fi
}

for kind in truncated corrupt empty "foreign JSON" "older unversioned format" binary \
            "saved pages_to_scan 0" "saved pages_to_scan 2^40" "saved sleep_millisecs negative"; do
        # a. KSM switched on by someone else (annotation false): the damaged record claims it,
        #    but nothing proves the daemon switched it on; not selected: KSM stays on, untouched.
        setup 1 1111 11 false
        write_damaged "$kind"; cp "$STATE/state.json" "$T/damaged"
        start_daemon
        eventually "$kind, not ours: LastError says the record is damaged and where it is kept" $((5 * SLOW)) \
                eval 'last_error_has "is damaged" && last_error_has "state.json.corrupt"'
        check "$kind, not ours: the journal says so" log_has "Ownership record $STATE/state.json is damaged"
        check "$kind, not ours: the damaged record is kept as state.json.corrupt, byte for byte" \
                same_bytes "$STATE/state.json.corrupt" "$T/damaged"
        eventually "$kind, not ours: a new record, not claimed" $((5 * SLOW)) record_is '{"version":1,"claimed":false}'
        stays "$kind, not ours: KSM left on at 1111/11" 1 ksm_is 1 1111 11
        check "$kind, not ours: label true, annotation false" keys_are true false
        check "$kind, not ours: Managed false" prop_is Managed false
        stop_daemon
        check "$kind, not ours: the restart finds a good record and says nothing" restart_clean

        # b. The annotation says the daemon switched KSM on: it is switched off, but no saved
        #    setting from the damaged record is written back.
        setup 1 1111 11 true
        write_damaged "$kind"
        start_daemon
        eventually "$kind, ours by the annotation: KSM switched off" $((5 * SLOW)) sysfs_is run 0
        stays "$kind, ours by the annotation: pages_to_scan and sleep_millisecs left at 1111/11" 1 ksm_is 0 1111 11
        eventually "$kind, ours by the annotation: label false, annotation false" $((5 * SLOW)) keys_are false false
        check "$kind, ours by the annotation: LastError names state.json.corrupt" last_error_has "state.json.corrupt"
        check "$kind, ours by the annotation: released record" record_is '{"version":1,"claimed":false}'
        stop_daemon
done

# ---- 2. an older record (before the advisor's settings were kept) is honoured -------------------
setup 1 1111 11 true
echo '{"version":1,"claimed":true,"saved":{"pages_to_scan":333,"sleep_millisecs":44}}' >"$STATE/state.json"
start_daemon
eventually "older record: KSM switched off" $((5 * SLOW)) sysfs_is run 0
eventually "older record: 333/44 restored from it" $((5 * SLOW)) ksm_is 0 333 44
eventually "older record: released" $((5 * SLOW)) record_is '{"version":1,"claimed":false}'
check "older record: not set aside" test ! -e "$STATE/state.json.corrupt"
check "older record: LastError empty" prop_is LastError '""'
stop_daemon

# ---- 3. the kernel held a nonsense rate before the claim: it is not saved, so never put back ----
setup 0 0 44 false
write_kubevirt '{}'
start_daemon
eventually "pages_to_scan 0 before the claim: KSM switched on at 1111/11" $((5 * SLOW)) ksm_is 1 1111 11
check "pages_to_scan 0 before the claim: the record claims without a saved rate" \
        grep -q '^{"version":1,"claimed":true,"saved_advisor":' "$STATE/state.json"
write_kubevirt absent
eventually "pages_to_scan 0 before the claim: deselected: KSM off, 1111/11 left, 0 not written back" $((5 * SLOW)) \
        ksm_is 0 1111 11
eventually "pages_to_scan 0 before the claim: released" $((5 * SLOW)) record_is '{"version":1,"claimed":false}'
check "pages_to_scan 0 before the claim: no damage reported" eval '! log_has "is damaged"'
check "pages_to_scan 0 before the claim: LastError empty" prop_is LastError '""'
stop_daemon

# ---- 4. a state directory that is read-only or full (a private mount namespace) ------------------
REAL_KSMD=$KSMD
cat >"$T/ksmd-ns" <<'EOF'
#!/bin/bash
# The daemon in a private mount namespace, its state directory mounted as NS_MODE says.
exec unshare -m --propagation private bash -c '
        set -e
        case "$NS_MODE" in
        ro)   mount --bind "$STATE_DIRECTORY" "$STATE_DIRECTORY"
              mount -o remount,bind,ro "$STATE_DIRECTORY" ;;
        full) mount -t tmpfs -o size=64k,nr_inodes=16,mode=0700 tmpfs "$STATE_DIRECTORY"
              dd if=/dev/zero of="$STATE_DIRECTORY/filler" bs=4k 2>/dev/null || true ;;
        esac
        exec "$REAL_KSMD" "$@"' ksmd-ns "$@"
EOF
chmod +x "$T/ksmd-ns"
export REAL_KSMD
mkdir -p "$T/probe"
if ! unshare -m --propagation private sh -c 'mount -t tmpfs -o size=64k tmpfs "$0" && mount --bind "$0" "$0" &&
                mount -o remount,bind,ro "$0"' "$T/probe" 2>"$T/probe.err"; then
        for w in "read-only state directory" "full state directory" "damaged record in a read-only state directory"; do
                TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $w: no mount namespace here ($(head -n1 "$T/probe.err"))"
        done
        finish
        exit
fi
KSMD=$T/ksmd-ns

for mode in ro full; do
        what="read-only state directory"; [ "$mode" = full ] && what="full state directory"
        # Selected, KSM off, no record: the claim cannot be written, so KSM is not switched on.
        setup 0 333 44 false
        write_kubevirt '{}'
        NS_MODE=$mode start_daemon
        eventually "$what: LastError says the record could not be written and KSM was left" $((5 * SLOW)) \
                last_error_has "Failed to write the ownership record; KSM left unchanged"
        check "$what: the journal says why" log_has "Failed to write ownership record to $STATE"
        stays "$what: KSM left off at 333/44" 1 ksm_is 0 333 44
        check "$what: label false, annotation false" keys_are false false
        check "$what: Managed false" prop_is Managed false
        stop_daemon
done

# A damaged record that cannot be moved aside: said, used for nothing, KSM of someone else kept on.
setup 1 1111 11 false
printf '%s' "${DAMAGED[corrupt]}" >"$STATE/state.json"
NS_MODE=ro start_daemon
eventually "damaged record, read-only directory: LastError says the record cannot be rewritten" $((5 * SLOW)) \
        last_error_has "Failed to write the ownership record"
check "damaged record, read-only directory: the journal says it could not be kept aside" \
        log_has "is damaged .* could not be kept aside as state.json.corrupt: Read-only file system"
stays "damaged record, read-only directory: KSM left on at 1111/11" 1 ksm_is 1 1111 11
check "damaged record, read-only directory: label true, annotation false" keys_are true false
check "damaged record, read-only directory: said once in the journal" \
        test "$(grep -c "Ownership record $STATE/state.json is damaged" "$LOG")" = 1
stop_daemon
KSMD=$REAL_KSMD

finish
