#!/bin/bash
# test-ksmctl-cli.sh — kubevirt-ksmctl on the systemd pattern: verb table and argument counts, "did you
# mean", --json=MODE, show -p/--value/--all, stats --format, -H, monitor, colour, unmerge progress.
. "$(dirname "$0")/lib.sh"

OUT=$T/out
ERR=$T/err
RC=0
# ctl ARGS...: runs the client with a time limit; stdout in $OUT, stderr in $ERR, status in $RC.
ctl() { timeout $((30 * SLOW)) "$KSMCTL" "$@" >"$OUT" 2>"$ERR" </dev/null; RC=$?; }
rc_is() { [ "$RC" -eq "$1" ]; }
out_has() { grep -qF -- "$1" "$OUT"; }
out_is() { [ "$(cat "$OUT")" = "$1" ]; }
err_has() { grep -qF -- "$1" "$ERR"; }
out_empty() { [ ! -s "$OUT" ]; }
# json_ok FILE [short]: FILE is one JSON object (short: on exactly one line).
json_ok() {
        python3 -c 'import json,sys
t=open(sys.argv[1]).read()
assert isinstance(json.loads(t), dict)
if len(sys.argv) > 2: assert t.count("\n") == 1, "not one line"' "$@"
}
# json_get FILE KEY: the member as JSON text.
json_get() { python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))[sys.argv[2]]))' "$1" "$2"; }
# The property names of the interface, from the introspection XML.
xml_props() { sed -nE 's/.*<property name="([A-Za-z]+)".*/\1/p' "$top_srcdir/dbus/org.kubevirt.KSM1.xml" | sort; }

# The bus first: it skips the whole test before any TAP line when not root.
start_bus policy

# ---- without a daemon: usage errors need no daemon ----------------------------------------------
ctl --help
check "--help: exit 0" rc_is 0
check "--help: ends with the man page pointer" test "$(tail -n 1 "$OUT")" = "See the kubevirt-ksmctl(1) man page for details."
cp "$OUT" "$T/help"
ctl help
check "help verb: the same text as --help" cmp -s "$OUT" "$T/help"
for v in status show stats reconcile unmerge monitor help; do
        check "--help lists the verb '$v'" grep -qE "^  $v( |\$)" "$T/help"
done
ctl --version
check "--version: exit 0 and a version" bash -c "[ $RC -eq 0 ] && grep -qE '^kubevirt-ksmctl [0-9]+\.[0-9]+\.[0-9]+' '$OUT'"

# Argument counts from the verb table.
for v in status stats reconcile unmerge help; do
        ctl "$v" extra
        check "'$v extra': exit 1" rc_is 1
        check "'$v extra': says the command takes no arguments" err_has "Command '$v' takes no arguments, got 'extra'."
done
ctl status a b
check "'status a b': exit 1" rc_is 1

# "Did you mean": the nearest verb within two edits.
ctl statsu
check "mistyped 'statsu': exit 1" rc_is 1
check "mistyped 'statsu': did you mean 'stats'?" err_has "Unknown command 'statsu'. Did you mean 'stats'?"
ctl reconcle
check "mistyped 'reconcle': did you mean 'reconcile'?" err_has "Did you mean 'reconcile'?"
ctl monitr
check "mistyped 'monitr': did you mean 'monitor'?" err_has "Did you mean 'monitor'?"
ctl frobnicate
check "unknown 'frobnicate': exit 1" rc_is 1
check "unknown 'frobnicate': no guess, points to --help" bash -c "grep -qF \"Unknown command 'frobnicate'. See 'kubevirt-ksmctl --help'.\" '$ERR' && ! grep -q 'Did you mean' '$ERR'"

# Option values.
ctl --json=yaml status
check "--json=yaml: exit 1 naming the modes" bash -c "[ $RC -eq 1 ] && grep -qF 'use pretty, short or off' '$ERR'"
ctl --format=csv stats
check "--format=csv: exit 1 naming the formats" bash -c "[ $RC -eq 1 ] && grep -qF 'use table, json or prometheus' '$ERR'"
ctl --json=help
check "--json=help: lists the modes, exit 0" bash -c "[ $RC -eq 0 ] && [ \"\$(tr '\n' ' ' < '$OUT')\" = 'off pretty short ' ]"
ctl --format=help
check "--format=help: lists the formats, exit 0" bash -c "[ $RC -eq 0 ] && [ \"\$(tr '\n' ' ' < '$OUT')\" = 'table json prometheus ' ]"
ctl -H root@h -M c status
check "-H with -M: exit 1" rc_is 1

# -H: a host that cannot be reached fails with the host in the message, exit 1 (ssh may be absent).
for v in status monitor unmerge; do
        ctl -H nobody@ksmctl-test.invalid "$v"
        check "-H unreachable, $v: exit 1" rc_is 1
        check "-H unreachable, $v: names the host and ssh" err_has "cannot reach the system bus of nobody@ksmctl-test.invalid over ssh"
done

# -M: a container that does not exist fails naming it, exit 1.
ctl -M ksmctl-no-such-container status
check "-M unknown container: exit 1" rc_is 1
check "-M unknown container: names it" err_has "system bus of container ksmctl-no-such-container"

# ---- with the daemon --------------------------------------------------------------------------
make_sysfs
write_conf
write_kubevirt absent
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon
eventually "startup: first reconcile labels the node" $((3 * SLOW)) node_label_is false

# monitor: started before the change, prints it, stops on SIGINT with 0.
"$KSMCTL" monitor >"$T/mon.out" 2>"$T/mon.err" </dev/null &
MON=$!
eventually "monitor: says it is monitoring (matches installed)" $((5 * SLOW)) grep -q "^Monitoring org.kubevirt.KSM1" "$T/mon.err"
write_kubevirt '{}'
eventually "selected: run 1" $((3 * SLOW)) sysfs_is run 1
eventually "monitor: prints 'TIMESTAMP Running=yes'" $((5 * SLOW)) \
        grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6} Running=yes$' "$T/mon.out"
eventually "monitor: prints 'Managed=yes'" $((5 * SLOW)) grep -qE ' Managed=yes$' "$T/mon.out"
kill -INT $MON
wait $MON; MRC=$?
check "monitor: SIGINT ends it with exit 0" test "$MRC" -eq 0
check "monitor: no escape codes into a file" bash -c "! grep -q $'\033' '$T/mon.out'"

# monitor --json=short NAME: one JSON object per line, only the property asked for; SIGTERM ends it.
"$KSMCTL" --json=short monitor Running >"$T/mon.out" 2>"$T/mon.err" </dev/null &
MON=$!
eventually "monitor --json=short: monitoring" $((5 * SLOW)) grep -q "^Monitoring" "$T/mon.err"
write_kubevirt absent
eventually "deselected: run 0" $((3 * SLOW)) sysfs_is run 0
eventually "monitor --json=short: a line for Running" $((5 * SLOW)) grep -q '"property":"Running"' "$T/mon.out"
sleep_until_settled() { wait_until $((5 * SLOW)) settled; }
sleep_until_settled
kill -TERM $MON
wait $MON; MRC=$?
check "monitor --json=short: SIGTERM ends it with exit 0" test "$MRC" -eq 0
check "monitor --json=short: every line a JSON object with timestamp, property, value; only Running" \
        python3 -c 'import json,sys
lines=open(sys.argv[1]).read().splitlines()
assert lines
for l in lines:
    o=json.loads(l)
    assert set(o) == {"timestamp","property","value"}, o
    assert o["property"] == "Running", o
    assert isinstance(o["timestamp"], int) and o["timestamp"] > 10**15
assert json.loads(lines[-1])["value"] is False' "$T/mon.out"

write_kubevirt '{}'
eventually "selected again: Managed true" $((3 * SLOW)) prop_is Managed true
wait_until $((5 * SLOW)) settled

# --json=MODE for status, show and stats.
ctl --json=pretty status
check "status --json=pretty: exit 0, a JSON object" bash -c "[ $RC -eq 0 ] && $(declare -f json_ok); json_ok '$OUT'"
check "status --json=pretty: several lines" test "$(wc -l < "$OUT")" -gt 5
ctl --json=short status
check "status --json=short: one line of JSON" json_ok "$OUT" short
check "status --json=short: NodeName node01" test "$(json_get "$OUT" NodeName)" = '"node01"'
ctl --json status
check "status --json (bare): pretty JSON" bash -c "$(declare -f json_ok); json_ok '$OUT' && [ \$(wc -l < '$OUT') -gt 5 ]"
ctl --json=off status
check "status --json=off: the text form" out_has "Node: node01"
ctl --json=short show
check "show --json=short: one line of JSON" json_ok "$OUT" short
check "show --json=short: Running true" test "$(json_get "$OUT" Running)" = true
ctl --json=short stats
check "stats --json=short: one line of JSON" json_ok "$OUT" short
check "stats --json=short: pages_sharing 40" test "$(json_get "$OUT" pages_sharing)" = 40

# show: every property, NAME=VALUE.
ctl show -a
check "show -a: exit 0" rc_is 0
check "show -a: a NAME=VALUE line for every property of the interface" \
        diff <(xml_props) <(cut -d= -f1 "$OUT" | sort)
check "show -a: Running=yes" grep -qx 'Running=yes' "$OUT"
check "show -a: NodeName=node01" grep -qx 'NodeName=node01' "$OUT"
check "show -a: PagesSharing=40" grep -qx 'PagesSharing=40' "$OUT"
check "show -a: empty LastError shown" grep -qx 'LastError=' "$OUT"
ctl show
check "show: exit 0" rc_is 0
check "show: empty LastError left out without --all" bash -c "! grep -q '^LastError=' '$OUT'"
check "show: Policy=always" grep -qx 'Policy=always' "$OUT"
ctl show -p Running
check "show -p Running: exactly 'Running=yes'" out_is "Running=yes"
ctl show -p Running,NodeName -p PagesShared
check "show -p A,B -p C: three lines in the interface's order" out_is $'NodeName=node01\nRunning=yes\nPagesShared=10'
ctl show -p NodeName --value
check "show -p NodeName --value: just node01" out_is "node01"
ctl show --value Managed SleepMillisecs
check "show NAME NAME --value: positional names" out_is $'yes\n'"$(sysfs sleep_millisecs)"
ctl show -p LastError
check "show -p LastError: asked for by name, shown although empty" out_is "LastError="
ctl show -p Nope
check "show -p Nope: exit 1" rc_is 1
check "show -p Nope: names the property" err_has "Unknown property 'Nope' of org.kubevirt.KSM1."
check "show -p Nope: prints nothing on stdout" out_empty
ctl --json=short show -p NodeName,Running
check "show --json=short -p: only those" out_is '{"NodeName":"node01","Running":true}'

# stats --format.
ctl stats --format=table
check "stats --format=table: pages_sharing 40" grep -qE '^pages_sharing +40$' "$OUT"
ctl stats --format=json
check "stats --format=json: JSON with full_scans 3" bash -c "$(declare -f json_ok json_get); json_ok '$OUT' && [ \$(json_get '$OUT' full_scans) = 3 ]"
ctl stats --format=prometheus
check "stats --format=prometheus: exit 0" rc_is 0
check "stats --format=prometheus: the text format's TYPE line" grep -qx '# TYPE kubevirt_ksmd_pages_sharing gauge' "$OUT"
check "stats --format=prometheus: pages_sharing 40" grep -qx 'kubevirt_ksmd_pages_sharing 40' "$OUT"
ctl status --no-pager
check "--no-pager: accepted" bash -c "[ $RC -eq 0 ] && grep -q 'Node: node01' '$OUT'"

# Colour: on a terminal (script(1) gives one), not into a file, not with NO_COLOR or SYSTEMD_COLORS=0.
if command -v script >/dev/null; then
        tty_ctl() { env TERM=xterm "$@" script -qec "$KSMCTL status" /dev/null >"$OUT" 2>&1 </dev/null; }
        tty_ctl
        check "colour on a TTY: escape codes present" grep -q $'\033\\[' "$OUT"
        check "colour on a TTY: 'Running' value in green" grep -qF $'\033[0;32myes' "$OUT"
        tty_ctl NO_COLOR=1
        check "NO_COLOR=1 on a TTY: no escape codes" bash -c "grep -q 'Node:' '$OUT' && ! grep -q $'\033' '$OUT'"
        tty_ctl NO_COLOR=
        check "NO_COLOR set but empty on a TTY: no escape codes" bash -c "grep -q 'Node:' '$OUT' && ! grep -q $'\033' '$OUT'"
        tty_ctl SYSTEMD_COLORS=0
        check "SYSTEMD_COLORS=0 on a TTY: no escape codes" bash -c "grep -q 'Node:' '$OUT' && ! grep -q $'\033' '$OUT'"
else
        ok "# SKIP script(1) not installed: no colour checks"
fi
TERM=xterm ctl status
check "not a TTY: no escape codes" bash -c "grep -q 'Node:' '$OUT' && ! grep -q $'\033' '$OUT'"
TERM=xterm SYSTEMD_COLORS=1 ctl status
check "SYSTEMD_COLORS=1 forces colour into a pipe" grep -q $'\033\\[' "$OUT"

# unmerge: progress on stderr while Unmerge() runs, then the verdict.
wait_until $((5 * SLOW)) settled
ctl unmerge
check "unmerge: exit 0" rc_is 0
check "unmerge: progress line with the pages still merged (not a TTY: a plain line)" \
        grep -qx "Unmerging: 40 pages sharing, 10 pages shared still merged." "$ERR"
check "unmerge: says it is done" out_is "Unmerged all KSM pages."
eventually "unmerge: run back to 1" $((3 * SLOW)) sysfs_is run 1
if command -v script >/dev/null; then
        wait_until $((5 * SLOW)) settled
        script -qec "$KSMCTL unmerge" /dev/null >"$OUT" 2>&1 </dev/null; RC=$?
        check "unmerge on a TTY: exit 0" rc_is 0
        check "unmerge on a TTY: one updating line (carriage return, clear to end of line)" \
                grep -qF $'\r\033[KUnmerging: 40 pages sharing, 10 pages shared still merged...' "$OUT"
        check "unmerge on a TTY: the line is cleared before the verdict" \
                grep -qF $'\r\033[KUnmerged all KSM pages.' "$OUT"
fi
if command -v setpriv >/dev/null; then
        as_nobody timeout 30 "$KSMCTL" unmerge >"$OUT" 2>"$ERR" </dev/null; RC=$?
        check "unmerge as nobody: exit 1, access denied" bash -c "[ $RC -eq 1 ] && grep -qF 'Run it as root.' '$ERR'"
fi

# The daemon gone: show exits 3 like status.
check "SIGTERM: exit 0" stop_daemon TERM
ctl show
check "daemon stopped: show exits 3" rc_is 3
check "daemon stopped: show says not running" err_has "not running"
ctl stats --format=prometheus
check "daemon stopped: stats --format=prometheus exits 3" rc_is 3

finish
