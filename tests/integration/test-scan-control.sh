#!/bin/bash
# test-scan-control.sh — Policy=always's scan controller end to end on a scratch KSM directory whose
# counters the test moves as ksmd would: fast rate at start, idle after a quiet pass, awake again
# when MemAvailable falls or on Reconcile(), and what the bus, ksmctl and the journal say.
. "$(dirname "$0")/lib.sh"

MEMINFO=$T/meminfo
# meminfo KB_AVAILABLE: a 16 GiB host with that much available.
meminfo() { printf 'MemTotal:       16777216 kB\nMemFree:        %s kB\nMemAvailable:   %s kB\n' "$1" "$1" > "$MEMINFO.new" && mv "$MEMINFO.new" "$MEMINFO"; }
# counters SHARING UNSHARED VOLATILE FULL_SCANS: what ksmd would show.
counters() {
        echo "$1" > "$SYSFS/pages_sharing"; echo $(( $1 / 3 )) > "$SYSFS/pages_shared"
        echo "$2" > "$SYSFS/pages_unshared"; echo "$3" > "$SYSFS/pages_volatile"; echo "$4" > "$SYSFS/full_scans"
}
rate_is() { sysfs_is pages_to_scan "$1" && sysfs_is sleep_millisecs "$2"; }

start_bus policy
make_sysfs
echo 100 > "$SYSFS/pages_to_scan"
echo 20 > "$SYSFS/sleep_millisecs"
counters 0 0 0 0
meminfo 12000000
write_conf "MeminfoFile=$MEMINFO"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon

# 1. Selected: KSM on at the fast rate, the controller waking.
eventually "start: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "start: fast rate 10000 pages / 10 ms written" $((5 * SLOW)) rate_is 10000 10
eventually "start: ScanState waking" $((5 * SLOW)) prop_is ScanState '"waking"'
check "start: ScanWakeReason start" prop_is ScanWakeReason '"start"'
check "start: ScanPagesPerSecond 1000000" prop_is ScanPagesPerSecond 1000000
check "start: the record keeps the rate from before" grep -qE '"pages_to_scan": *100' "$STATE/state.json"
check "start: journal says off -> waking" log_has "Scan controller: off -> waking (start)"

# 2. Merges grow: merging. A first pass that merged counts, then a quiet one: idle.
counters 5000 100 4000 1
eventually "merges grow: ScanState merging" $((5 * SLOW)) prop_is ScanState '"merging"'
counters 90000 100 200 2
eventually "second pass merged: PagesMergedLastPass 85000" $((5 * SLOW)) prop_is PagesMergedLastPass 85000
check "still fast while it merges" rate_is 10000 10
counters 90010 100 200 3
eventually "quiet pass: ScanState idle" $((5 * SLOW)) prop_is ScanState '"idle"'
eventually "idle: rate 100 pages / 200 ms written" $((5 * SLOW)) rate_is 100 200
check "idle: ScanPagesPerSecond 500" prop_is ScanPagesPerSecond 500
check "idle: journal says merging -> idle" log_has "Scan controller: merging -> idle"
check "idle: Managed still true" prop_is Managed true

# 3. New VMs: MemAvailable falls by 2 GiB (more than ScanWakeMemoryMiB=64): awake within a sample.
meminfo 9900000
eventually "memory fell: ScanState waking" $((5 * SLOW)) prop_is ScanState '"waking"'
check "memory fell: ScanWakeReason memory" prop_is ScanWakeReason '"memory"'
eventually "memory fell: fast rate again" $((5 * SLOW)) rate_is 10000 10
counters 150000 100 200 4
counters 150000 100 200 4
sleep 1.2
counters 150005 100 200 5
eventually "wave merged, quiet pass: idle again" $((5 * SLOW)) prop_is ScanState '"idle"'
eventually "idle again: slow rate" $((5 * SLOW)) rate_is 100 200

# 4. Reconcile() wakes it at once; ksmctl shows the controller.
busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
eventually "Reconcile(): ScanState waking" $((5 * SLOW)) prop_is ScanState '"waking"'
check "Reconcile(): ScanWakeReason request" prop_is ScanWakeReason '"request"'
check "ksmctl status shows the scan line" bash -c "'$KSMCTL' status | grep -q 'Scan: waking (woke on request), 1000000 pages/s'"
check "ksmctl status shows ksmd's CPU line" bash -c "'$KSMCTL' status | grep -q 'CPU (ksmd): '"
check "KsmdCPUPercent is a number" bash -c "busctl --system get-property $BUS $OBJ $IFACE KsmdCPUPercent | grep -qE '^d -?[0-9]'"

# 5. Someone else changes the rate while it is ours: the controller's rate comes back.
echo 777 > "$SYSFS/pages_to_scan"
eventually "rate changed by hand: written back within a sample" $((5 * SLOW)) rate_is 10000 10

# 6. Deselected: KSM off, the rate from before restored, the controller off.
write_kubevirt absent
eventually "deselected: run 0" $((5 * SLOW)) sysfs_is run 0
eventually "deselected: rate from before restored" $((5 * SLOW)) rate_is 100 20
eventually "deselected: ScanState off" $((5 * SLOW)) prop_is ScanState '"off"'
check "deselected: ScanPagesPerSecond 0" prop_is ScanPagesPerSecond 0

# 7. Policy=pressure: the controller stays off.
write_conf "MeminfoFile=$MEMINFO"$'\n'"Policy=pressure"
kill -HUP "$KSMD_PID"
write_kubevirt '{}'
eventually "pressure policy: reload applied" $((5 * SLOW)) prop_is Policy '"pressure"'
stays "pressure policy: ScanState stays off" 2 prop_is ScanState '"off"'

finish
