#!/bin/bash
# test-file-source-start.sh — a fresh start with neither JSON file: the files appear later, in either order, and are acted on.
. "$(dirname "$0")/lib.sh"

start_bus open
make_sysfs
RECHECK=30 write_conf
rm -f "$KVFILE" "$NODEFILE"; mkdir -p "$(dirname "$KVFILE")"
start_daemon
write_node '{"kubernetes.io/hostname":"node01"}'
eventually "node first: label false" $((5 * SLOW)) node_label_is false
write_kubevirt '{}'
eventually "then the CR: run 1" $((5 * SLOW)) sysfs_is run 1
write_kubevirt none
eventually "CR file removed: run 0" $((5 * SLOW)) sysfs_is run 0
write_kubevirt '{}'
eventually "CR back: run 1" $((5 * SLOW)) sysfs_is run 1
finish
