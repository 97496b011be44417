#!/bin/bash
# test-kube-hostile-files.sh — the JSON bound on the local inputs: a node file of the file source
# holding 600,000 {} (1.8 MB; a 16 MiB one took json-c to 13 GB) and a KubeVirt file of nested
# arrays are refused with a message, the daemon's RSS stays small, KSM stays as it was, and a
# sane file afterwards is taken.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

start_bus policy
make_sysfs
RECHECK=1 write_conf
write_kubevirt '{"matchLabels":{"ksm":"on"}}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
eventually "start: not selected, label false" $((5 * SLOW)) node_label_is false
check "start: run 0" sysfs_is run 0

python3 -c 'import sys; sys.stdout.write("{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"node01\",\"labels\":{\"ksm\":\"on\"}},\"x\":[" + ",".join(["{}"] * 600000) + "]}\n")' >"$NODEFILE.tmp"
mv -f "$NODEFILE.tmp" "$NODEFILE"
eventually "600,000 {} in the node file: refused as too many values" $((10 * SLOW)) \
        eval 'prop LastError | grep -q "more than 20000 JSON values"'
stays "600,000 {}: KSM stays off (the file's labels would select the node)" 2 sysfs_is run 0
hwm_below 49152
check "600,000 {}: the bus answers within 2 s" bus_answers_within $((2 * SLOW))

python3 -c 'import sys; sys.stdout.write("[" * 70 + "]" * 70 + "\n")' >"$KVFILE.tmp"
mv -f "$KVFILE.tmp" "$KVFILE"
eventually "70 nested arrays in the KubeVirt file: refused (too deep)" $((10 * SLOW)) \
        eval 'prop LastError | grep -q "nested too deeply"'

write_node '{"kubernetes.io/hostname":"node01","ksm":"on"}'
write_kubevirt '{"matchLabels":{"ksm":"on"}}'
eventually "sane files again: selected, run 1" $((10 * SLOW)) sysfs_is run 1
eventually "sane files again: LastError cleared" $((5 * SLOW)) prop_is LastError '""'
stops_cleanly
finish
