#!/bin/bash
# test-clock.sh — clocks: the daemon's wall clock (CLOCK_REALTIME) stepped a day forward and back
# mid-run (the LD_PRELOAD shim tests/clock-shift.so) neither stalls the recheck nor starts a
# reconcile storm, and LastReconcile follows it; the same with the daemon's CLOCK_MONOTONIC and
# CLOCK_BOOTTIME offset to near zero and to ten years (a time namespace). The host's clocks are
# never touched (bench/clock-jump.sh does that).
. "$(dirname "$0")/lib.sh"

RECHECK=2
# A drift must be noticed by the next recheck; the slack covers a reconcile's own time (and
# valgrind's, through SLOW).
DRIFT_WITHIN=$(( (RECHECK + 2) * SLOW ))
WINDOW=6        # seconds watched for a reconcile storm (or a stalled recheck)

SHIFT_LIB=$top_builddir/tests/clock-shift.so
[ -f "$SHIFT_LIB" ] || skip_all "tests/clock-shift.so not built (make check builds it)"

start_bus policy
make_sysfs
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
# Each drift below is a change by "someone else": corrected once, and quiet again after 1 s.
write_conf "ConflictQuietSec=1s"
sed -i "s/^RecheckSec=.*/RecheckSec=$RECHECK/" "$CONF"

# reconciles: how many reconciles the daemon logged so far (one "KSM configuration:" line each).
reconciles() { grep -c "KSM configuration: " "$LOG"; }
# drift LABEL: writes run=0 behind the daemon's back and checks that the next recheck puts it
# back; prints the latency.
drift() {
        local t0
        t0=$(date +%s%N)
        echo 0 >"$SYSFS/run"
        eventually "$1: run written to 0 by hand is back to 1 within ${DRIFT_WITHIN}s" "$DRIFT_WITHIN" sysfs_is run 1
        echo "# $1: drift corrected after $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
# window LABEL: over WINDOW seconds the recheck keeps running (at least WINDOW/RECHECK - 1
# reconciles) and nothing else does (at most WINDOW/RECHECK + 2).
window() {
        local n0 n1 lo=$(( WINDOW / RECHECK - 1 )) hi=$(( WINDOW / RECHECK + 2 ))
        n0=$(reconciles)
        stays "$1: no reconcile storm (at most $hi reconciles in ${WINDOW}s)" "$WINDOW" \
                eval '[ $(( $(reconciles) - n0 )) -le $hi ]'
        n1=$(reconciles)
        echo "# $1: $((n1 - n0)) reconciles in ${WINDOW}s (RecheckSec=$RECHECK)"
        if [ -z "${KSMD_VALGRIND:-}" ]; then
                check "$1: the recheck still runs (at least $lo reconciles in ${WINDOW}s)" test $((n1 - n0)) -ge "$lo"
        fi
}
last_reconcile_s() { echo $(( $(prop LastReconcile) / 1000000 )); }

# ---- 1. CLOCK_REALTIME stepped (tests/clock-shift.so) -----------------------------------------
# Every clock call reads the shift file, so a write is a step at once; MONOTONIC and BOOTTIME stay
# true. ASan must be told that it is not first in the preload list.
echo 0 >"$T/clock-shift"
LD_PRELOAD=$SHIFT_LIB CLOCK_SHIFT_FILE=$T/clock-shift \
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 start_daemon
eventually "selected: run 1" $((5 * SLOW)) sysfs_is run 1
wait_until $((5 * SLOW)) settled
t_true=$(last_reconcile_s)
check "before the step: LastReconcile is the true wall clock (±1 min)" \
        eval '[ $(( $(date +%s) - t_true )) -lt 60 ] && [ $(( t_true - $(date +%s) )) -lt 60 ]'
window "before the step"

echo 86400 >"$T/clock-shift"
drift "wall clock +1 day"
t_fwd=$(last_reconcile_s)
check "wall clock +1 day: LastReconcile is a day ahead (the daemon saw the step)" \
        eval '[ $(( t_fwd - t_true )) -ge 86000 ] && [ $(( t_fwd - t_true )) -le 87000 ]'
window "wall clock +1 day"

echo -86400 >"$T/clock-shift"
drift "wall clock back 2 days (1 day behind)"
t_back=$(last_reconcile_s)
check "wall clock 1 day behind: LastReconcile went back with it" \
        eval '[ $(( t_true - t_back )) -ge 86000 ] && [ $(( t_true - t_back )) -le 87000 ]'
window "wall clock 1 day behind"

echo 0 >"$T/clock-shift"
drift "wall clock true again"
window "wall clock true again"
check "the daemon stops cleanly (exit 0)" stop_daemon

# ---- 2. CLOCK_MONOTONIC and CLOCK_BOOTTIME offset (a time namespace) ---------------------------
if [ "$(id -u)" -eq 0 ] && unshare --time --boottime 1 true 2>/dev/null; then
        up=$(cut -d. -f1 /proc/uptime)
        for case in "near-zero:-$((up - 2))" "ten-years:315360000"; do
                name=${case%%:*} off=${case#*:}
                # lib.sh's start_daemon, inside a new time namespace: unshare execs the daemon (or
                # valgrind) in place, so $KSMD_PID is the daemon's.
                wrap=()
                if [ -n "${KSMD_VALGRIND:-}" ]; then
                        wrap=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
                              --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$T/valgrind.log")
                fi
                unshare --time --boottime "$off" --monotonic "$off" "${wrap[@]}" "$KSMD" --config "$CONF" \
                        --log-level=debug >>"$LOG" 2>&1 &
                KSMD_PID=$!
                wait_until $((20 * SLOW)) daemon_on_bus || { not_ok "$name: daemon did not appear on the bus"; finish; exit 1; }
                check "$name: the daemon's clocks are offset by $off s" \
                        eval 'grep -Eq "^boottime +$off " /proc/$KSMD_PID/timens_offsets && grep -Eq "^monotonic +$off " /proc/$KSMD_PID/timens_offsets'
                eventually "$name: run 1" $((5 * SLOW)) sysfs_is run 1
                drift "$name"
                window "$name"
                check "$name: the daemon stops cleanly (exit 0)" stop_daemon
        done
else
        echo "# time namespaces not available here (needs root and Linux 5.6): part 2 not run"
fi

# ---- 3. bench/clock-jump.sh, dry run (the real run steps the host's clock: run by hand) -------
out=$(env -u KSMD_VALGRIND bash "$top_srcdir/bench/clock-jump.sh" --dry-run --build-dir "$top_builddir" \
        --recheck 1 --window 2 2>&1)
rc=$?
check "bench/clock-jump.sh --dry-run: exit 0" test "$rc" -eq 0
check "bench/clock-jump.sh --dry-run: 4 phases measured, every check passed" \
        eval '[ "$(grep -c "^ok .*run=0 by hand corrected" <<<"$out")" -eq 4 ] && ! grep -q "^not ok" <<<"$out"'
check "bench/clock-jump.sh --dry-run: the results table" eval 'grep -q "^# | true time again " <<<"$out"'
check "bench/clock-jump.sh --dry-run: the clock was not touched" \
        eval 'grep -q "^# dry run: the clock was not touched" <<<"$out" && ! grep -q "CLOCK_REALTIME stepped" <<<"$out"'
check "bench/clock-jump.sh: a bad argument is a usage error (exit 2)" \
        eval 'bash "$top_srcdir/bench/clock-jump.sh" --window x >/dev/null 2>&1; [ $? -eq 2 ]'
[ "$rc" -eq 0 ] || sed 's/^/# clock-jump: /' <<<"$out" | tail -20

finish
