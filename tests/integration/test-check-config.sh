#!/bin/bash
# test-check-config.sh — --check-config, --version, --help and bad options: exit codes and FILE:LINE messages.
. "$(dirname "$0")/lib.sh"

# No bus and no daemon here: every case is one run of the binary, which must not hang.
OUT=$T/out
ERR=$T/err
RC=0
# run ARGS...: runs the daemon binary with a time limit, keeping stdout, stderr and the exit status;
# under KSMD_VALGRIND=1 in valgrind too, and a leak or memory error is a failed assertion of its own.
run() {
        local wrap=()
        if [ -n "${KSMD_VALGRIND:-}" ]; then
                wrap=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
                      --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$T/valgrind.log")
        fi
        timeout $((10 * ${SLOW:-1})) "${wrap[@]}" "$KSMD" "$@" >"$OUT" 2>"$ERR"; RC=$?
        if [ -n "${KSMD_VALGRIND:-}" ]; then
                if [ "$RC" -eq 99 ] || [ -s "$T/valgrind.log" ]; then
                        not_ok "valgrind clean: $*"; sed 's/^/# /' "$T/valgrind.log"
                fi
        fi
}
rc_is() { [ "$RC" -eq "$1" ]; }
out_has() { grep -qF -- "$1" "$OUT"; }
err_has() { grep -qF -- "$1" "$ERR"; }

make_sysfs
mkdir -p "$T/src"                       # the file source's directory: start refuses a missing one
write_conf

# 1. A valid file: exit 0, says so on stdout, nothing on stderr.
run --config "$CONF" --check-config
check "valid: exit 0" rc_is 0
check "valid: stdout says the configuration is valid" out_has "$CONF: configuration is valid"
check "valid: stdout names the source and policy" out_has "source file, policy always"
check "valid: no error on stderr" test ! -s "$ERR"

# 2. A bad value on line 2 of the main file: exit 78 (EX_CONFIG), FILE:2: with the path.
BAD=$T/bad.conf
printf '[KSM]\nPagesMax=abc\n' > "$BAD"
run --config "$BAD" --check-config
check "bad value: exit 78" rc_is 78
check "bad value: stderr has FILE:2:" err_has "$BAD:2:"
check "bad value: stderr names the key and value" err_has "PagesMax= value 'abc'"
check "bad value: nothing claims it valid" test ! -s "$OUT"

# 3. A bad line in a drop-in: reported with the drop-in's own path and line.
mkdir -p "$CONF.d"
printf '# a drop-in\n\n[KSM]\nPagesMin=lots\n' > "$CONF.d/50-bad.conf"
run --config "$CONF" --check-config
check "bad drop-in: exit 78" rc_is 78
check "bad drop-in: stderr has the drop-in's FILE:4:" err_has "$CONF.d/50-bad.conf:4:"
check "bad drop-in: the main file is not blamed" bash -c "! grep -qF -- '$CONF:' '$ERR'"

# 4. A valid drop-in is read: its Policy= wins over the main file's default.
printf '[KSM]\nPolicy=pressure\n' > "$CONF.d/50-bad.conf"
run --config "$CONF" --check-config
check "valid drop-in: exit 0" rc_is 0
check "valid drop-in: its policy is in force" out_has "policy pressure"
# A file not ending in .conf is not a drop-in.
printf '[KSM]\nPagesMax=abc\n' > "$CONF.d/60-ignored.conf.bak"
run --config "$CONF" --check-config
check "non-.conf file in CONF.d: ignored, exit 0" rc_is 0
rm -rf "$CONF.d"

# 5. An unknown key only warns, naming the key and its place.
UNK=$T/unknown.conf
printf '[KSM]\nFrobnicate=1\nPolicy=always\n[Source]\nKubeVirtFile=%s\nNodeFile=%s\n' "$KVFILE" "$NODEFILE" > "$UNK"
run --config "$UNK" --check-config
check "unknown key: exit 0" rc_is 0
check "unknown key: stderr names the key" err_has "Frobnicate"
check "unknown key: stderr has FILE:2:" err_has "$UNK:2:"

# 6. Other invalid values and a malformed line: exit 78 with the line.
printf '[KSM]\nPolicy=bogus\n' > "$BAD"
run --config "$BAD" --check-config
check "unknown Policy=: exit 78" rc_is 78
check "unknown Policy=: FILE:2: names the value" err_has "$BAD:2: Invalid Policy= value 'bogus'"
printf '[KSM]\n# comment\nnoequals\n' > "$BAD"
run --config "$BAD" --check-config
check "line without '=': exit 78" rc_is 78
check "line without '=': FILE:3:" err_has "$BAD:3:"

# 7. An explicit --config path that does not exist: exit 78, the message names the path.
MISSING=$T/does-not-exist.conf
run --config "$MISSING" --check-config
check "missing --config: exit 78" rc_is 78
check "missing --config: stderr names the path" err_has "$MISSING"

# 8. What start would refuse, --check-config refuses, with the FILE:LINE of the key.
write_conf                                      # NodeFile= is on line 4
sed -i "s|^NodeFile=.*|NodeFile=$T/x/|" "$CONF"
run --config "$CONF" --check-config
check "NodeFile=DIR/: exit 78" rc_is 78
check "NodeFile=DIR/: FILE:4: and the reason" err_has "$CONF:4: NodeFile=$T/x/ names a directory"
sed -i "s|^NodeFile=.*|NodeFile=$T/no-such-dir/node.json|" "$CONF"
run --config "$CONF" --check-config
check "NodeFile= in a missing directory: exit 78" rc_is 78
check "NodeFile= in a missing directory: FILE:4: names the directory" err_has "$CONF:4: NodeFile=$T/no-such-dir/node.json: directory $T/no-such-dir: No such file or directory"
sed -i "s|^NodeFile=.*|NodeFile=$T|" "$CONF"
run --config "$CONF" --check-config
check "NodeFile= an existing directory: exit 78" rc_is 78
check "NodeFile= an existing directory: FILE:4:" err_has "$CONF:4: NodeFile=$T is a directory"
mkfifo "$T/node.fifo"
sed -i "s|^NodeFile=.*|NodeFile=$T/node.fifo|" "$CONF"
run --config "$CONF" --check-config
check "NodeFile= a FIFO: exit 78, not a hang" rc_is 78
check "NodeFile= a FIFO: FILE:4: not a regular file" err_has "$CONF:4: NodeFile=$T/node.fifo is not a regular file"
# The daemon refuses the same at start, with the same message and exit status, before the bus.
sed -i "s|^NodeFile=.*|NodeFile=$T/x/|" "$CONF"
run --config "$CONF"
check "start with NodeFile=DIR/: exit 78" rc_is 78
check "start with NodeFile=DIR/: same FILE:4: message" err_has "$CONF:4: NodeFile=$T/x/ names a directory"

# 9. A FIFO as the configuration file: a clear error, not a hang.
mkfifo "$T/conf.fifo"
run --config "$T/conf.fifo" --check-config
check "config a FIFO: exit 78" rc_is 78
check "config a FIFO: names the file, says why" err_has "$T/conf.fifo: is not a regular file"

# 10. Permissions: a configuration someone other than root could change is refused, by
#     --check-config and by the daemon, naming the file (exit 78).
write_conf
chmod 0664 "$CONF"
run --config "$CONF" --check-config
check "group-writable config: exit 78" rc_is 78
check "group-writable config: names the file and the mode" err_has "$CONF: is writable by its group (mode 0664)"
run --config "$CONF"
check "group-writable config: the daemon refuses to start (exit 78)" rc_is 78
check "group-writable config: the daemon names the file" err_has "$CONF: is writable by its group"
chmod 0646 "$CONF"
run --config "$CONF" --check-config
check "world-writable config: exit 78" rc_is 78
check "world-writable config: says everyone" err_has "$CONF: is writable by everyone (mode 0646)"
chmod 0644 "$CONF"
mkdir -p "$CONF.d"
printf '[KSM]\nPolicy=pressure\n' > "$CONF.d/50-x.conf"
chmod 0666 "$CONF.d/50-x.conf"
run --config "$CONF" --check-config
check "world-writable drop-in: exit 78" rc_is 78
check "world-writable drop-in: names the drop-in" err_has "$CONF.d/50-x.conf: is writable by everyone"
chmod 0644 "$CONF.d/50-x.conf"
if [ "$(id -u)" -eq 0 ]; then
        chown 1234:1234 "$CONF.d/50-x.conf"
        run --config "$CONF" --check-config
        check "drop-in owned by uid 1234: exit 78" rc_is 78
        check "drop-in owned by uid 1234: names the drop-in and the owner" err_has "$CONF.d/50-x.conf: is owned by uid 1234"
        run --config "$CONF"
        check "drop-in owned by uid 1234: the daemon refuses to start (exit 78)" rc_is 78
        chown 1234:1234 "$CONF"; rm -rf "$CONF.d"
        run --config "$CONF" --check-config
        check "config owned by uid 1234: exit 78" rc_is 78
        check "config owned by uid 1234: names the file" err_has "$CONF: is owned by uid 1234"
        chown 0:0 "$CONF"
else
        ok "owned by another user: (skipped, needs root)"
fi
rm -rf "$CONF.d"
run --config "$CONF" --check-config
check "back to 0644, owned by root: valid again" rc_is 0

# 11. --version, --help, bad usage.
run --version
check "--version: exit 0" rc_is 0
check "--version: prints 'kubevirt-ksmd X.Y.Z'" grep -qE '^kubevirt-ksmd [0-9]+\.[0-9]+\.[0-9]+' "$OUT"
run --help
check "--help: exit 0" rc_is 0
check "--help: mentions --check-config" out_has "--check-config"
check "--help: mentions --config" out_has "--config"
run --no-such-option
check "unknown option: exit 64 (EX_USAGE)" rc_is 64
check "unknown option: stderr names it" err_has "no-such-option"
run --config "$CONF" --check-config extra-argument
check "positional argument: exit 64 (EX_USAGE)" rc_is 64
run --config "$CONF" --check-config --log-level=loud
check "bad --log-level: exit 64 (EX_USAGE)" rc_is 64

finish
