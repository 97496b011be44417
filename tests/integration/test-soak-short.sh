#!/bin/bash
# test-soak-short.sh — bench/soak.py for 15 s per source: a few hundred KubeVirt CR and Node
# edits in bursts, after each of which run, the label and the annotation converge on the last
# selection; the daemon writes the Node only when something changes, repeated lines are capped,
# no fd is left behind, and it stops cleanly (under valgrind too).
. "$(dirname "$0")/lib.sh"
sk() { rm -rf "$T"; skip_all "$@"; }
[ "$(id -u)" -eq 0 ] || sk "needs root: the bus policy lets only root own org.kubevirt.KSM1"
command -v dbus-daemon >/dev/null || sk "dbus-daemon not installed"
command -v python3 >/dev/null || sk "python3 not installed"
command -v openssl >/dev/null || sk "openssl not installed (the API test server's certificates)"
PY=$(python3 -c 'import sys; print(sys.executable)')

MINUTES=0.25
"$PY" "$top_srcdir/bench/soak.py" --build-dir "$top_builddir" --source both \
        --kube-minutes $MINUTES --file-minutes $MINUTES \
        --burst-max 20 --sample-sec 5 --converge-timeout $((15 * SLOW)) --json "$T/soak.json" >"$T/soak.out" 2>&1
rc=$?
sed 's/^/# /' "$T/soak.out" | grep -v "^# #  " | head -40

# res SOURCE PY-EXPR: the expression over r (that source's figures) is true.
res() { "$PY" -c 'import json, sys
r = {x["source"]: x for x in json.load(open(sys.argv[1]))}[sys.argv[2]]
sys.exit(0 if eval(sys.argv[3]) else 1)' "$T/soak.json" "$1" "$2"; }

check "bench/soak.py: exit 0" test "$rc" -eq 0
for s in kube file; do
        check "$s: at least 20 bursts of edits" res $s 'r["bursts"] >= 20'
        check "$s: every burst converged (run, label and annotation)" res $s 'r["bursts_not_converged"] == 0'
        check "$s: the Node written only for real changes" \
                res $s 'r["node_writes"] <= r["real_changes"] + r.get("corrections", 0)'
        check "$s: no fd left behind" res $s 'r["end"]["fds"] <= r["start"]["fds"] + 4'
        # Action records are never held back; any other text at most 5 times per 30 s.
        check "$s: no other line repeated more than 5 times" \
                res $s 'all(c <= 5 for m, c in r["top_messages"] if "[action=" not in m)'
        check "$s: the daemon ran to the end and stopped with exit 0" \
                res $s 'r["daemon_alive_at_end"] and r["exit_status"] == 0'
done

finish
