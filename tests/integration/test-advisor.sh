#!/bin/bash
# test-advisor.sh — Policy=advisor on a scratch KSM directory: the kernel's scan-time advisor gets the
# configured settings, pages_to_scan is never written while it is on, and everything it changed is
# put back when KSM is given back or the policy changes; a kernel without the advisor gets "always".
. "$(dirname "$0")/lib.sh"

advisor_is() { [ "$(cat "$SYSFS/advisor_mode")" = "$1" ]; }
advisor_conf() { printf 'Policy=advisor\nAdvisorTargetScanTimeSec=20\nAdvisorMaxCPU=30\nAdvisorMinPagesToScan=1000\nAdvisorMaxPagesToScan=20000\n'; }

start_bus policy
make_sysfs
echo 100 > "$SYSFS/pages_to_scan"
echo 20 > "$SYSFS/sleep_millisecs"
write_conf "$(advisor_conf)"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon

# 1. Selected: KSM on, the advisor on with the configured settings, the rate left to it.
eventually "advisor: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "advisor: advisor_mode scan-time" $((5 * SLOW)) advisor_is scan-time
check "advisor: advisor_target_scan_time 20" sysfs_is advisor_target_scan_time 20
check "advisor: advisor_max_cpu 30" sysfs_is advisor_max_cpu 30
check "advisor: advisor_min_pages_to_scan 1000" sysfs_is advisor_min_pages_to_scan 1000
check "advisor: advisor_max_pages_to_scan 20000" sysfs_is advisor_max_pages_to_scan 20000
check "advisor: pages_to_scan not written" sysfs_is pages_to_scan 100
check "advisor: sleep_millisecs not written" sysfs_is sleep_millisecs 20
check "advisor: the record keeps the advisor settings from before" \
        grep -q '"saved_advisor":{"mode":"none","target_scan_time":200,"max_cpu":70' "$STATE/state.json"
check "advisor: ScanState off (the kernel steers)" prop_is ScanState '"off"'
check "advisor: journal says advisor_mode set" log_has "advisor_mode set to scan-time"

# 2. The advisor moves pages_to_scan: the daemon never writes it back, reconcile or not.
echo 4321 > "$SYSFS/pages_to_scan"
busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
stays "advisor: pages_to_scan left as the advisor set it" 2 sysfs_is pages_to_scan 4321

# 3. Deselected: KSM off, the advisor back to none with its old settings, then the old rate.
write_kubevirt absent
eventually "deselected: run 0" $((5 * SLOW)) sysfs_is run 0
eventually "deselected: advisor_mode none again" $((5 * SLOW)) advisor_is none
check "deselected: advisor_target_scan_time 200 again" sysfs_is advisor_target_scan_time 200
check "deselected: advisor_max_cpu 70 again" sysfs_is advisor_max_cpu 70
check "deselected: advisor_min_pages_to_scan 500 again" sysfs_is advisor_min_pages_to_scan 500
check "deselected: advisor_max_pages_to_scan 30000 again" sysfs_is advisor_max_pages_to_scan 30000
eventually "deselected: pages_to_scan 100 again (written after advisor_mode)" $((5 * SLOW)) sysfs_is pages_to_scan 100
eventually "deselected: sleep_millisecs 20 again" $((5 * SLOW)) sysfs_is sleep_millisecs 20

# 4. Selected again, then the policy changes to always: the advisor is put back, the controller steers.
write_kubevirt '{}'
eventually "reselected: advisor_mode scan-time" $((5 * SLOW)) advisor_is scan-time
write_conf "Policy=always"
kill -HUP "$KSMD_PID"
eventually "always after advisor: advisor_mode none" $((5 * SLOW)) advisor_is none
eventually "always after advisor: the controller's fast rate" $((5 * SLOW)) sysfs_is pages_to_scan 10000
check "always after advisor: advisor_max_cpu 70 again" sysfs_is advisor_max_cpu 70
eventually "always after advisor: ScanState waking" $((5 * SLOW)) prop_is ScanState '"waking"'
check "always after advisor: still managed" prop_is Managed true
stop_daemon

# 5. A kernel without the advisor: Policy=advisor behaves like always.
rm -rf "$STATE"
make_sysfs ksm-old
echo 100 > "$SYSFS/pages_to_scan"
write_conf "Policy=advisor"
write_kubevirt '{}'
start_daemon
eventually "no advisor: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "no advisor: the controller's fast rate" $((5 * SLOW)) sysfs_is pages_to_scan 10000
check "no advisor: no advisor_mode file made" test ! -e "$SYSFS/advisor_mode"
eventually "no advisor: ScanState waking" $((5 * SLOW)) prop_is ScanState '"waking"'

finish
