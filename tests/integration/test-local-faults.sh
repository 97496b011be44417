#!/bin/bash
# test-local-faults.sh — local defects: hostile bytes on the bus, the Node file write-back (symlink,
# owner, hard links, compact), run=2 left alone, a failed run write that must not claim, FIFOs as
# inputs, a reload whose new source fails.
. "$(dirname "$0")/lib.sh"

W=$((5 * SLOW))
ESC=$'\033'
pid_alive() { kill -0 "$KSMD_PID" 2>/dev/null; }
last_error_has() { case "$(prop LastError)" in *"$1"*) return 0 ;; *) return 1 ;; esac; }
reason_has() { case "$(prop Reason)" in *"$1"*) return 0 ;; *) return 1 ;; esac; }
record_claimed() { grep -qE "\"claimed\": *$1" "$STATE/state.json"; }
# stops_within SECONDS: SIGTERM, and the daemon is gone within the bound (SIGKILL after it).
stops_within() {
        local end=$(( $(date +%s) + $1 )) rc
        kill -TERM "$KSMD_PID" 2>/dev/null
        while pid_alive; do
                if [ "$(date +%s)" -ge "$end" ]; then
                        kill -KILL "$KSMD_PID" 2>/dev/null; wait "$KSMD_PID" 2>/dev/null; KSMD_PID=; return 1
                fi
                sleep 0.05
        done
        wait "$KSMD_PID" 2>/dev/null; rc=$?; KSMD_PID=
        [ "$rc" -eq 0 ] || { echo "# exit status $rc"; [ -f "$T/valgrind.log" ] && sed 's/^/# /' "$T/valgrind.log"; }
        return "$rc"
}
# restart_fresh: stops the daemon (SIGTERM: exit 0, and under valgrind no leak or error) and
# starts over with a fresh state directory, sources and KSM directory.
restart_fresh() {
        local rc
        if [ -n "$KSMD_PID" ]; then
                stop_daemon; rc=$?
                check "exit status 0 on SIGTERM (valgrind clean when run under it)" test "$rc" -eq 0
        fi
        rm -rf "$STATE" "$T/src" "$T/real"
        make_sysfs
}

start_bus policy

# ---- 1. invalid UTF-8 and escape sequences in what goes onto the bus ----------------------------
make_sysfs
write_conf
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
eventually "utf8: a clean start first" "$W" prop_is LastError '""'
# PropertiesChanged must still be sent once LastError quotes hostile bytes.
dbus-monitor --system "type='signal',interface='org.freedesktop.DBus.Properties',path='$OBJ'" \
        > "$T/monitor.out" 2>&1 &
MON_PID=$!
busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile         # a first signal shows it listens
wait_until "$W" grep -aq PropertiesChanged "$T/monitor.out"
# A CR whose name carries a raw 0xff byte and an ESC, and a selector key that is refused with a
# message quoting it: both end up in Reason and LastError.
printf '{"apiVersion":"kubevirt.io/v1","kind":"KubeVirt","metadata":{"name":"kv\xff\\u001b[31mred","namespace":"kubevirt"},"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{"matchExpressions":[{"key":"a\xff\\u001b[2J","operator":"In","values":["x"]}]}}}}}\n' > "$KVFILE"
eventually "utf8: LastError set (selector refused)" "$W" last_error_has "invalid key"
eventually "utf8: PropertiesChanged with the new LastError was sent" "$W" \
        bash -c "grep -aA1 '\"LastError\"' '$T/monitor.out' | grep -aq 'invalid key'"
kill "$MON_PID" 2>/dev/null; wait "$MON_PID" 2>/dev/null
# prop_reads NAME: Get succeeds (sd-bus refuses a reply with invalid UTF-8, and so the whole call).
prop_reads() { busctl --system get-property "$BUS" "$OBJ" "$IFACE" "$1" >/dev/null; }
check "utf8: LastError property reads" prop_reads LastError
check "utf8: Reason property reads" prop_reads Reason
check "utf8: every property reads at once (GetAll)" bash -c "busctl --system introspect '$BUS' '$OBJ' '$IFACE' >/dev/null"
"$KSMCTL" status > "$T/status.out" 2>&1; rc=$?
check "utf8: ksmctl status exits 0" test "$rc" -eq 0
check "utf8: ksmctl status shows the error" grep -q "invalid key" "$T/status.out"
check "utf8: ksmctl status prints no ESC byte" bash -c "! grep -q \"$ESC\" '$T/status.out'"
check "utf8: ksmctl status prints no 0xff byte" bash -c "! LC_ALL=C grep -q $'\xff' '$T/status.out'"
check "utf8: the ESC became '?'" grep -q 'kv??\[31mred' "$T/status.out"
check "utf8: daemon alive" pid_alive

# ---- 2. the Node file write-back: symlink, owner and mode, hard links, compact ------------------
restart_fresh
write_conf
write_kubevirt absent
mkdir -p "$T/real"
NODEFILE_LINK=$NODEFILE
NODEFILE=$T/real/node.json write_node '{"kubernetes.io/hostname":"node01"}'
ln -s "$T/real/node.json" "$NODEFILE_LINK"
chown 1234:1234 "$T/real/node.json"
chmod 0640 "$T/real/node.json"
# A sentinel, hard-linked at every name a writer could predict beside the target and the link.
echo sentinel > "$T/sentinel"
chmod 0444 "$T/sentinel"
for d in "$T/real" "$T/src"; do
        for n in node.json.tmp .node.json.tmp node.json~ node.json.new .node.json.swp .#node.json \
                 node.json.lock .node.json node.json.bak; do
                ln "$T/sentinel" "$d/$n"
        done
done
links_before=$(stat -c %h "$T/sentinel")
start_daemon
eventually "write-back: label false written (not selected)" "$W" node_label_is false
write_kubevirt '{}'
eventually "write-back: selected, KSM on" "$W" sysfs_is run 1
eventually "write-back: label true in the link's target" "$W" node_label_is true
check "write-back: the Node file is still a symlink" test -L "$NODEFILE_LINK"
check "write-back: the link still points at the target" test "$(readlink "$NODEFILE_LINK")" = "$T/real/node.json"
check "write-back: target keeps owner 1234:1234" test "$(stat -c %u:%g "$T/real/node.json")" = 1234:1234
check "write-back: target keeps mode 0640" test "$(stat -c %a "$T/real/node.json")" = 640
check "write-back: compact JSON (one line)" test "$(wc -l < "$T/real/node.json")" -eq 1
check "write-back: unrelated label kept" test "$(node_get labels kubernetes.io/hostname)" = node01
check "write-back: sentinel content untouched" test "$(cat "$T/sentinel")" = sentinel
check "write-back: sentinel mode untouched" test "$(stat -c %a "$T/sentinel")" = 444
check "write-back: sentinel owner untouched" test "$(stat -c %u "$T/sentinel")" = 0
check "write-back: every hard link still there" test "$(stat -c %h "$T/sentinel")" -eq "$links_before"
check "write-back: no temporary file left" bash -c "! ls -A '$T/real' '$T/src' | grep -q '^\.#node.json\.'"

# ---- 3. run=2 written by someone else: left alone until it changes -----------------------------
restart_fresh
echo 333 > "$SYSFS/pages_to_scan"
echo 44 > "$SYSFS/sleep_millisecs"
RECHECK=30 write_conf
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
# A plain (not symlinked) Node file of another owner: the write-back keeps owner, group and mode.
chown 1234:1234 "$NODEFILE"
chmod 0640 "$NODEFILE"
start_daemon
eventually "run=2: selected and managed first" "$W" sysfs_is run 1
eventually "run=2: Managed" "$W" prop_is Managed true
eventually "write-back, plain file: label true" "$W" node_label_is true
check "write-back, plain file: owner 1234:1234 kept" test "$(stat -c %u:%g "$NODEFILE")" = 1234:1234
check "write-back, plain file: mode 0640 kept" test "$(stat -c %a "$NODEFILE")" = 640
pages=$(sysfs pages_to_scan); sleepms=$(sysfs sleep_millisecs)
# An unmerge under way: run reads 2 and merged pages are left.
echo 10 > "$SYSFS/pages_shared"; echo 40 > "$SYSFS/pages_sharing"
echo 2 > "$SYSFS/run"
busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
eventually "run=2: Reason says it is unmerging" "$W" reason_has "unmerging"
eventually "run=2: label false (KSM does not run)" "$W" node_label_is false
check "run=2: Running false" prop_is Running false
stays "run=2: run not written for 3 s (with reconciles and the 1 s poll)" 3 sysfs_is run 2
check "run=2: pages_to_scan not written" sysfs_is pages_to_scan "$pages"
check "run=2: sleep_millisecs not written" sysfs_is sleep_millisecs "$sleepms"
check "run=2: still claimed in the record" record_claimed true
check "record: state.json is mode 0600" test "$(stat -c %a "$STATE/state.json")" = 600
# The kernel leaves 2 in run once every page is copied back.
echo 0 > "$SYSFS/pages_shared"; echo 0 > "$SYSFS/pages_sharing"
eventually "unmerge done (run=2, nothing merged): switched on again within the poll, not RecheckSec=30" 3 sysfs_is run 1
eventually "run=2 ended: label true" "$W" node_label_is true
check "run=2 ended: no conflict held" prop_is Conflict '""'
# The daemon's own Unmerge() still works: run goes 2, then back to 1.
busctl --system call "$BUS" "$OBJ" "$IFACE" Unmerge
check "Unmerge(): returns, run back to 1" sysfs_is run 1
check "Unmerge(): still managed" prop_is Managed true
# Not selected and off: an Unmerge() leaves run at 0, not at 2.
write_kubevirt absent
eventually "deselected: run 0" "$W" sysfs_is run 0
busctl --system call "$BUS" "$OBJ" "$IFACE" Unmerge
check "Unmerge() while off: run back to 0, not left at 2" sysfs_is run 0

# ---- 4. a failed write of run at start: the record does not claim KSM -------------------------
restart_fresh
echo 333 > "$SYSFS/pages_to_scan"
echo 44 > "$SYSFS/sleep_millisecs"
# Reads 00000000 (run=0), refuses every write, even root's.
rm -f "$SYSFS/run"
ln -s /proc/self/personality "$SYSFS/run"
write_conf
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
eventually "failed start: LastError names run" "$W" last_error_has "/run:"
check "failed start: record does not claim KSM" record_claimed false
check "failed start: Managed false" prop_is Managed false
check "failed start: pages_to_scan put back" sysfs_is pages_to_scan 333
check "failed start: sleep_millisecs put back" sysfs_is sleep_millisecs 44
eventually "failed start: annotation false" "$W" node_annotation_is false
check "failed start: label false" node_label_is false
check "failed start: journal says so" log_has "Switching KSM on failed"

# ---- 5. FIFOs as inputs: a clear error, and SIGTERM still works --------------------------------
restart_fresh
mkfifo "$T/meminfo.fifo"
write_conf
sed -i "s|^MeminfoFile=.*|MeminfoFile=$T/meminfo.fifo|" "$CONF"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
eventually "FIFO meminfo: reconciled anyway" "$W" sysfs_is run 1
rm -f "$NODEFILE"; mkfifo "$NODEFILE"
eventually "FIFO node file: LastError says not a regular file" "$W" last_error_has "not a regular file"
check "FIFO node file: LastError names the file" last_error_has "$NODEFILE"
check "FIFO node file: still on the bus" daemon_on_bus
rm -f "$STATE/state.json"; mkfifo "$STATE/state.json"
t=$(prop LastReconcile)
busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
eventually "FIFO record: a reconcile still completes" "$W" reconciled_after "$t"
check "FIFO record: still answers on the bus" daemon_on_bus
check "FIFO inputs: SIGTERM stops the daemon within 5 s, exit 0" stops_within $((5 * SLOW))

# ---- 6. reload whose new source fails: the old one keeps working, a fixed config applies ------
restart_fresh
write_conf
write_kubevirt '{"matchLabels":{"ksm":"yes"}}'
write_node '{"kubernetes.io/hostname":"node01","ksm":"yes"}'
start_daemon
eventually "reload: selected via the file source" "$W" node_label_is true
cat > "$CONF" <<CONF
[Source]
Type=kubernetes
[Kubernetes]
Kubeconfig=$T/no-such-kubeconfig
[KSM]
SysfsDir=$SYSFS
MeminfoFile=$top_srcdir/tests/fixtures/meminfo-16g-idle.txt
CONF
kill -HUP "$KSMD_PID"
eventually "bad reload: LastError says the new source failed" "$W" last_error_has "Failed to start the kubernetes source"
check "bad reload: LastError says the old source was kept" last_error_has "kept the old source"
check "bad reload: journal record" log_has "kept the old source"
check "bad reload: still connected (old source)" prop_is Connected true
write_node '{"kubernetes.io/hostname":"node01","ksm":"no"}'
eventually "bad reload: old source still drives KSM (node change deselects)" "$W" sysfs_is run 0
eventually "bad reload: label still updated by the old source" "$W" node_label_is false
eventually "bad reload: retried with backoff" $((10 * SLOW)) bash -c "[ \$(grep -c 'Failed to start the kubernetes source' '$LOG') -ge 2 ]"
kill -HUP "$KSMD_PID"
eventually "bad reload twice: a later SIGHUP tries again" "$W" bash -c "[ \$(grep -c 'Failed to start the kubernetes source' '$LOG') -ge 3 ]"
# Fixed: a file source on another Node file.
NODEFILE=$T/src2/node.json
write_node '{"kubernetes.io/hostname":"node01","ksm":"yes"}'
write_conf
kill -HUP "$KSMD_PID"
eventually "fixed reload: the new Node file gets the label" "$W" node_label_is true
eventually "fixed reload: LastError cleared" "$W" prop_is LastError '""'
check "fixed reload: KSM on again" sysfs_is run 1
check "fixed reload: journal says it reloaded" log_has "Configuration reloaded from $CONF"
stop_daemon; rc=$?
check "exit status 0 on SIGTERM after the reloads (valgrind clean when run under it)" test "$rc" -eq 0

finish
