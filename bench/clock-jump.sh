#!/bin/bash
# clock-jump.sh — steps the host's CLOCK_REALTIME forward (1 h) and back around a running
# kubevirt-ksmd (file source, scratch KSM directory, private bus), and prints, before and after
# each step, how long a hand-written run=0 takes to be corrected (the recheck latency), how many
# reconciles run in a window (a storm or a stalled recheck shows here), and LastReconcile.
#
# It really steps the clock (clock_settime): run it as root on a quiet machine, with NTP off
# (timedatectl set-ntp false), since every process sees the step. A trap puts the clock back
# (the time at the start plus the CLOCK_MONOTONIC time elapsed since) on any exit, failure and
# Ctrl-C included. --dry-run does everything else and never touches the clock (make check runs
# it that way, from tests/integration/test-clock.sh).
#
# Usage: bench/clock-jump.sh [--build-dir DIR] [--step-sec 3600] [--recheck 2] [--window 10]
#                            [--dry-run]
# Exit status: 0 when every drift was corrected within 2 x RecheckSec + 2 s and no window held
# more than WINDOW/RECHECK + 3 reconciles; 1 otherwise; 2 on a usage error.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=$(cd "$here/.." && pwd)
top_builddir=${top_builddir:-$top_srcdir}
STEP=3600
RECHECK=2
WINDOW=10
DRY=0

usage() { sed -n '2,/^set -u/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
        case "$1" in
        --build-dir) top_builddir=$(cd "$2" && pwd) || exit 2; shift 2 ;;
        --step-sec) STEP=$2; shift 2 ;;
        --recheck) RECHECK=$2; shift 2 ;;
        --window) WINDOW=$2; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "clock-jump.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
        esac
done
for v in STEP RECHECK WINDOW; do
        [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || { echo "clock-jump.sh: --${v,,} must be a positive integer" >&2; exit 2; }
done
if [ "$DRY" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then
        echo "clock-jump.sh: stepping the clock needs root (or use --dry-run)" >&2
        exit 2
fi
command -v python3 >/dev/null || { echo "clock-jump.sh: python3 is needed" >&2; exit 2; }

export top_srcdir top_builddir
KSMD=$top_builddir/kubevirt-ksmd
[ -x "$KSMD" ] || { echo "clock-jump.sh: no $KSMD (build first, or --build-dir)" >&2; exit 2; }
. "$top_srcdir/tests/integration/lib.sh"

# ---- the clock ------------------------------------------------------------------------------------
# The true wall clock at any moment: the one at the start plus the CLOCK_MONOTONIC time since
# (a step moves CLOCK_REALTIME only).
clock() { python3 -c 'import time, sys; print(time.clock_gettime_ns(getattr(time, sys.argv[1])))' "$1"; }
R0=$(clock CLOCK_REALTIME)
M0=$(clock CLOCK_MONOTONIC)
STEPPED=0
true_now_ns() { echo $(( R0 + $(clock CLOCK_MONOTONIC) - M0 )); }
set_clock_ns() {
        python3 -c 'import time, sys; time.clock_settime_ns(time.CLOCK_REALTIME, int(sys.argv[1]))' "$1"
}
# step SECONDS: the wall clock moves by SECONDS from the true time (0: back to the truth).
step() {
        local target=$(( $(true_now_ns) + $1 * 1000000000 ))
        if [ "$DRY" -eq 1 ]; then
                printf '# dry run: would set CLOCK_REALTIME to the true time %+d s (%d)\n' "$1" $(( target / 1000000000 ))
                return 0
        fi
        STEPPED=1
        set_clock_ns "$target" || { echo "# clock_settime failed"; return 1; }
        printf '# CLOCK_REALTIME stepped to the true time %+d s: %s\n' "$1" "$(date -u)"
}
restore_clock() {
        [ "$STEPPED" -eq 1 ] || return 0
        set_clock_ns "$(true_now_ns)" && STEPPED=0
        echo "# CLOCK_REALTIME restored: $(date -u) (off by $(( ($(clock CLOCK_REALTIME) - $(true_now_ns)) / 1000000 )) ms)"
}
# lib.sh's finish stops the daemon and the bus; the clock goes back first, whatever happens.
trap 'restore_clock; stop_daemon >/dev/null 2>&1; stop_bus' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- the daemon ----------------------------------------------------------------------------------
start_bus policy
make_sysfs
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
write_conf "ConflictQuietSec=1s"
sed -i "s/^RecheckSec=.*/RecheckSec=$RECHECK/" "$CONF"
start_daemon
eventually "selected: run 1" 10 sysfs_is run 1

reconciles() { grep -c "KSM configuration: " "$LOG"; }
DRIFT_BOUND_MS=$(( (2 * RECHECK + 2) * 1000 ))
STORM_BOUND=$(( WINDOW / RECHECK + 3 ))
declare -a ROWS=()

# measure PHASE: drift latency, reconciles in WINDOW seconds, LastReconcile against the true clock.
measure() {
        local phase=$1 t0 lat n0 n1 lr skew
        wait_until 5 settled
        t0=$(clock CLOCK_MONOTONIC)
        echo 0 >"$SYSFS/run"
        if wait_until $(( DRIFT_BOUND_MS / 1000 )) sysfs_is run 1; then
                lat=$(( ($(clock CLOCK_MONOTONIC) - t0) / 1000000 ))
                ok "$phase: run=0 by hand corrected in $lat ms (bound $DRIFT_BOUND_MS ms)"
        else
                lat=timeout
                not_ok "$phase: run=0 by hand not corrected within $DRIFT_BOUND_MS ms"
        fi
        n0=$(reconciles)
        t0=$(clock CLOCK_MONOTONIC)
        while [ $(( ($(clock CLOCK_MONOTONIC) - t0) / 1000000000 )) -lt "$WINDOW" ]; do sleep 0.2; done
        n1=$(reconciles)
        if [ $((n1 - n0)) -le "$STORM_BOUND" ] && [ $((n1 - n0)) -ge $(( WINDOW / RECHECK - 1 )) ]; then
                ok "$phase: $((n1 - n0)) reconciles in ${WINDOW}s"
        else
                not_ok "$phase: $((n1 - n0)) reconciles in ${WINDOW}s (expected $(( WINDOW / RECHECK - 1 ))..$STORM_BOUND)"
        fi
        lr=$(prop LastReconcile)
        skew=$(( (lr * 1000 - $(true_now_ns)) / 1000000000 ))
        ROWS+=("$(printf '| %-22s | %8s | %10s | %+9d |' "$phase" "$lat" "$((n1 - n0))" "$skew")")
}

echo "# RecheckSec=$RECHECK, window ${WINDOW}s, step ${STEP}s$([ "$DRY" -eq 1 ] && echo ', DRY RUN')"
measure "before"
step "$STEP" || { not_ok "stepping the clock forward"; exit 1; }
measure "+${STEP}s"
step "-$STEP" || { not_ok "stepping the clock back"; exit 1; }
measure "-${STEP}s (from +${STEP}s)"
step 0 && STEPPED=0
measure "true time again"
restore_clock

echo "#"
echo "# | phase                  | drift ms | reconciles | LR skew s |"
echo "# |------------------------|----------|------------|-----------|"
for r in "${ROWS[@]}"; do echo "# $r"; done
echo "# (drift ms: hand-written run=0 to run=1; reconciles in ${WINDOW}s; LR skew: LastReconcile minus the true time)"
[ "$DRY" -eq 1 ] && echo "# dry run: the clock was not touched"
trap - EXIT
finish
