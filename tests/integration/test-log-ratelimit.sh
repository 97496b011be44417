#!/bin/bash
# test-log-ratelimit.sh — the same failure twelve times in a row: its line is logged five times,
# the other seven are told in one "Suppressed 7 similar messages" line (at exit here), and the
# state changes in between and after keep every line of theirs.
. "$(dirname "$0")/lib.sh"

start_bus policy
make_sysfs
write_kubevirt '{}'
NODE_LABELS='{"kubernetes.io/hostname":"node01"}'
write_node "$NODE_LABELS"
write_conf
start_daemon

WARN="Failed to read Node file $NODEFILE: invalid JSON"
warnings() { grep -c "^<warning> $WARN" "$LOG"; }
last_error_has() { prop LastError | grep -q "$1"; }

eventually "selected: run 1" $((5 * SLOW)) sysfs_is run 1

# Twelve times: the Node file turns invalid (the daemon says so, and LastError too), then valid
# again (LastError clears). Each round waits for the daemon to have seen both.
rounds=0
for i in $(seq 12); do
        atomic_write "$NODEFILE" '{"apiVersion": "v1", "kind": "Node", "metadata": {'
        wait_until $((5 * SLOW)) last_error_has "invalid JSON" || break
        write_node "$NODE_LABELS"
        wait_until $((5 * SLOW)) eval '! last_error_has "invalid JSON"' || break
        rounds=$i
done
check "the daemon saw all 12 rounds (LastError set and cleared each time)" test "$rounds" -eq 12
check "the first occurrence is logged" eval '[ "$(warnings)" -ge 1 ]'
check "the same line is logged 5 times, not 12 (got $(warnings))" eval '[ "$(warnings)" -eq 5 ]'
check "nothing suppressed is told before its interval ends" eval '! grep -q "Suppressed .* similar messages" "$LOG"'

# A state change after the storm still gets its line.
write_kubevirt '{"matchLabels":{"nope":"nope"}}'
eventually "deselected: run 0" $((5 * SLOW)) sysfs_is run 0
check "the state change is logged (KSM switched off)" grep -q "not selected any more, managed: switching KSM off" "$LOG"

check "the daemon stops (exit 0)" stop_daemon
check "at exit: one line tells the 7 held back, quoting the message" \
        grep -q "^<warning> Suppressed 7 similar messages in the last [0-9]* s: \"$WARN" "$LOG"
check "that summary is logged once" eval '[ "$(grep -c "Suppressed .* similar messages in the last [0-9]* s: \"$WARN" "$LOG")" -eq 1 ]'

finish
