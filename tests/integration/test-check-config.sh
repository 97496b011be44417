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
printf '[KSM]\nFrobnicate=1\nPolicy=always\n' > "$UNK"
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

# 8. --version, --help, bad usage.
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
