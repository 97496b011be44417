#!/bin/bash
# test-access.sh — who may do what on org.kubevirt.KSM1: the bus policy and the daemon's own root check.
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || skip_all "setpriv not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root to switch to the nobody user"

OUT=$T/out
RC=0
# call ARGS...: runs a command, keeping its combined output in $OUT and its status in $RC.
call() { "$@" >"$OUT" 2>&1; RC=$?; }
refused() { [ "$RC" -ne 0 ]; }
succeeded() { [ "$RC" -eq 0 ]; }
out_has() { grep -qF -- "$1" "$OUT"; }
out_has_i() { grep -qiF -- "$1" "$OUT"; }
lr_is() { prop_is LastReconcile "$1"; }

make_sysfs
write_conf                        # RecheckSec=30: no reconcile happens unless something asks
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'

# prepare: KSM selected, on and ours; then someone switches it off by hand. Only a reconcile
# (or an unmerge, which reconciles afterwards) would switch it back on: a refused call must not.
prepare() {
        eventually "$1: selected, run 1" 5 sysfs_is run 1
        eventually "$1: annotation managed true" $((5 * SLOW)) node_annotation_is true
        echo 0 > "$SYSFS/run"
        wait_until 5 settled
        LR0=$(prop LastReconcile)
}

# ==== 1. System-like bus with the daemon's policy file ============================================
start_bus policy
start_daemon
prepare "policy bus"

call as_nobody busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
check "policy: nobody's busctl Reconcile fails" refused
check "policy: busctl says access denied" out_has_i "access denied"
call as_nobody dbus-send --system --print-reply --dest="$BUS" "$OBJ" "$IFACE.Reconcile"
check "policy: nobody's Reconcile fails with AccessDenied" out_has "org.freedesktop.DBus.Error.AccessDenied"
check "policy: the bus rejected it (Rejected send message)" out_has "Rejected send message"
call as_nobody dbus-send --system --print-reply --dest="$BUS" "$OBJ" "$IFACE.Unmerge"
check "policy: nobody's Unmerge fails" refused
check "policy: Unmerge refused with AccessDenied by the bus" out_has "Error.AccessDenied: Rejected send message"
call as_nobody "$KSMCTL" reconcile
check "policy: nobody's 'ksmctl reconcile' exits 1" test "$RC" -eq 1
check "policy: ksmctl reconcile says access denied" out_has "access denied"
call as_nobody "$KSMCTL" unmerge
check "policy: nobody's 'ksmctl unmerge' exits 1" test "$RC" -eq 1
check "policy: ksmctl unmerge says access denied" out_has "access denied"

# Nothing reached the daemon: no reconcile, no unmerge, KSM left as the hand put it.
check "policy: LastReconcile did not move" lr_is "$LR0"
stays "policy: run stays 0 after the refused calls" 1 sysfs_is run 0
check "policy: LastReconcile still unchanged" lr_is "$LR0"
check "policy: no unmerge in the journal" bash -c "! grep -q 'Unmerge requested' '$LOG'"
check "policy: no reconcile request in the journal" bash -c "! grep -q 'Reconcile requested' '$LOG'"

# Reading is open to everyone.
call as_nobody busctl --system call "$BUS" "$OBJ" "$IFACE" GetStatistics
check "policy: nobody's GetStatistics succeeds" succeeded
check "policy: GetStatistics has pages_sharing 40" out_has '"pages_sharing" 40'
call as_nobody busctl --system get-property "$BUS" "$OBJ" "$IFACE" Running
check "policy: nobody reads Running" succeeded
check "policy: Running is a boolean" grep -qE '^b (true|false)$' "$OUT"
call as_nobody busctl --system get-property "$BUS" "$OBJ" "$IFACE" NodeName
check "policy: nobody reads NodeName node01" out_has 's "node01"'
call as_nobody "$KSMCTL" status
check "policy: nobody's 'ksmctl status' exits 0" succeeded
check "policy: status shows the node" out_has "Node: node01"
call as_nobody "$KSMCTL" stats
check "policy: nobody's 'ksmctl stats' exits 0" succeeded
check "policy: stats lists pages_sharing" grep -qE '^pages_sharing +40$' "$OUT"
call as_nobody busctl --system introspect "$BUS" "$OBJ"
check "policy: nobody may introspect" out_has ".Reconcile"
# Nobody may not take the daemon's name either.
call as_nobody busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus RequestName su "$BUS" 0
check "policy: nobody cannot own $BUS" refused
check "policy: the daemon keeps its name" daemon_on_bus

# Root may: Reconcile moves LastReconcile and corrects the hand-made drift.
call busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
check "policy: root's Reconcile succeeds" succeeded
eventually "policy: root's Reconcile moves LastReconcile" $((5 * SLOW)) reconciled_after "$LR0"
eventually "policy: root's Reconcile switches KSM back on" $((5 * SLOW)) sysfs_is run 1
check "policy: reconcile request logged" log_has "Reconcile requested over D-Bus"
wait_until 5 settled
LR1=$(prop LastReconcile)
call "$KSMCTL" reconcile
check "policy: root's 'ksmctl reconcile' exits 0" succeeded
eventually "policy: 'ksmctl reconcile' moves LastReconcile" $((5 * SLOW)) reconciled_after "$LR1"

check "policy: SIGTERM exits 0" stop_daemon TERM
stop_bus

# ==== 2. A bus with no policy at all: the daemon's own check ======================================
: > "$LOG"
make_sysfs
rm -rf "$STATE"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_bus open
start_daemon
prepare "open bus"

call as_nobody dbus-send --system --print-reply --dest="$BUS" "$OBJ" "$IFACE.Reconcile"
check "open: nobody's Reconcile fails" refused
check "open: the daemon answers AccessDenied" out_has "org.freedesktop.DBus.Error.AccessDenied"
check "open: the daemon says 'Only root may call Reconcile()'" out_has "Only root may call Reconcile()"
call as_nobody dbus-send --system --print-reply --dest="$BUS" "$OBJ" "$IFACE.Unmerge"
check "open: nobody's Unmerge fails" refused
check "open: the daemon says 'Only root may call Unmerge()'" out_has "Only root may call Unmerge()"
call as_nobody busctl --system call "$BUS" "$OBJ" "$IFACE" Unmerge
check "open: nobody's busctl Unmerge fails" refused
check "open: busctl says access denied" out_has_i "access denied"
call as_nobody "$KSMCTL" reconcile
check "open: nobody's 'ksmctl reconcile' exits 1" test "$RC" -eq 1
check "open: ksmctl passes on 'Only root may call'" out_has "Only root may call"
call as_nobody "$KSMCTL" unmerge
check "open: nobody's 'ksmctl unmerge' exits 1" test "$RC" -eq 1
check "open: ksmctl unmerge says access denied" out_has "access denied"
# Nobody can write a property either.
call as_nobody busctl --system set-property "$BUS" "$OBJ" "$IFACE" Policy s pressure
check "open: nobody cannot set Policy" refused
check "open: Policy unchanged" prop_is Policy '"always"'

check "open: LastReconcile did not move" lr_is "$LR0"
stays "open: run stays 0 after the refused calls" 1 sysfs_is run 0
check "open: LastReconcile still unchanged" lr_is "$LR0"
check "open: no unmerge in the journal" bash -c "! grep -q 'Unmerge requested' '$LOG'"

call as_nobody "$KSMCTL" status
check "open: nobody's 'ksmctl status' exits 0" succeeded
call as_nobody busctl --system call "$BUS" "$OBJ" "$IFACE" GetStatistics
check "open: nobody's GetStatistics succeeds" succeeded

call busctl --system call "$BUS" "$OBJ" "$IFACE" Reconcile
check "open: root's Reconcile succeeds" succeeded
eventually "open: root's Reconcile moves LastReconcile" $((5 * SLOW)) reconciled_after "$LR0"
eventually "open: root's Reconcile switches KSM back on" $((5 * SLOW)) sysfs_is run 1
wait_until 5 settled
LR1=$(prop LastReconcile)
call timeout $((20 * ${SLOW:-1})) "$KSMCTL" unmerge
check "open: root's 'ksmctl unmerge' exits 0" succeeded
check "open: root's Unmerge is logged" log_has "Unmerged all KSM pages"
eventually "open: Unmerge reconciles afterwards" $((5 * SLOW)) reconciled_after "$LR1"
eventually "open: KSM running again after the unmerge" $((5 * SLOW)) sysfs_is run 1

check "open: SIGTERM exits 0" stop_daemon TERM
finish
