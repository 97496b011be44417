#!/bin/bash
# test-man-check-config.sh — replays the --check-config example of kubevirt-ksmd.conf(5) (the
# .EX block after the comment naming this test) in a scratch root and compares every output line
# and exit status with what the binary really prints. The example's absolute paths are taken as
# paths in that root; the main file is the installed example configuration.
. "$(dirname "$0")/lib.sh"

MAN=$top_srcdir/man/kubevirt-ksmd.conf.5
ROOT=$T/root
# As after "make install" or the package: the file source's directory exists.
mkdir -p "$ROOT/etc/kubevirt-ksmd"
cp "$top_srcdir/src/kubevirt-ksmd.conf.example" "$ROOT/etc/kubevirt-ksmd.conf"

# The example, with the roff escapes it uses turned into plain text.
awk '/^\.\\" tests\/integration\/test-man-check-config\.sh/ { want = 1; next }
     want && /^\.EX/ { on = 1; next }
     on && /^\.EE/ { exit }
     on' "$MAN" | sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\e/\\/g' > "$T/example"
check "kubevirt-ksmd.conf(5) has the --check-config example" grep -q '^\$ kubevirt-ksmd --check-config$' "$T/example"

# Replays it: "$ cat FILE" writes the lines after it into FILE; "$ kubevirt-ksmd --check-config"
# runs the binary on the scratch root, and the lines after it are its expected output (stdout and
# stderr, paths shown without the root); "$ echo $?" expects its exit status; "$ sed -i ..."
# edits a file of the root.
# Under KSMD_VALGRIND=1 (make check-valgrind) the binary runs in valgrind; a leak or memory
# error fails the run of its own.
wrap=()
if [ -n "${KSMD_VALGRIND:-}" ]; then
        wrap=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect
              --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file="$T/valgrind.log")
fi
cmd= rc= n_runs=0
expected=()
flush() {
        case $cmd in
        "cat "*)
                f=$ROOT${cmd#cat }
                mkdir -p "$(dirname "$f")"
                printf '%s\n' "${expected[@]}" > "$f"
                ;;
        "kubevirt-ksmd --check-config")
                n_runs=$((n_runs + 1))
                out=$("${wrap[@]}" "$KSMD" --config "$ROOT/etc/kubevirt-ksmd.conf" --check-config 2>&1); rc=$?
                if [ -n "${KSMD_VALGRIND:-}" ] && { [ "$rc" -eq 99 ] || [ -s "$T/valgrind.log" ]; }; then
                        not_ok "example run $n_runs: valgrind clean"; sed 's/^/# /' "$T/valgrind.log"
                fi
                out=${out//$ROOT/}
                want=$(printf '%s\n' "${expected[@]}")
                if [ "$out" = "$want" ]; then
                        ok "example run $n_runs: the output is the man page's ($want)"
                else
                        not_ok "example run $n_runs: the output is the man page's"
                        echo "# man page: $want"; echo "# binary:   $out"
                fi
                ;;
        'echo $?')
                check "example run $n_runs: exit status ${expected[0]:-?} as the man page says (got $rc)" \
                        test "${expected[0]:-x}" = "$rc"
                ;;
        "sed -i "*)
                set -f; set -- ${cmd#sed -i }; set +f
                sed -i "$1" "$ROOT$2"
                ;;
        "") ;;
        *)      not_ok "the example uses only commands this test replays (not: $cmd)" ;;
        esac
}
while IFS= read -r line; do
        if [[ $line == '$ '* ]]; then
                flush
                cmd=${line#\$ }
                expected=()
        else
                expected+=("$line")
        fi
done < "$T/example"
flush
check "the example runs --check-config twice (an error, then valid)" test "$n_runs" -eq 2

finish
