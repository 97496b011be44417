#!/bin/bash
# test-ksmctl-completion.sh — the bash and zsh completion of kubevirt-ksmctl: what bash offers for
# verbs, options, -p, --json= and --format=, and that both scripts list the verbs of --help and the
# properties of dbus/org.kubevirt.KSM1.xml. Needs neither root nor a bus.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${KSMCTL:=$top_builddir/kubevirt-ksmctl}"
BASH_COMP=$top_srcdir/shell-completion/bash/kubevirt-ksmctl
ZSH_COMP=$top_srcdir/shell-completion/zsh/_kubevirt-ksmctl
XML=$top_srcdir/dbus/org.kubevirt.KSM1.xml

TMP=$(mktemp -d /tmp/ksmctl-comp.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
N=0 FAILED=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
diag() { sed 's/^/# /'; }

# complete WORD...: what the bash completion offers for the last word, sorted, space-separated.
complete_words() {
        bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _kubevirt_ksmctl
                 printf "%s\n" "${COMPREPLY[@]}"' _ "$BASH_COMP" kubevirt-ksmctl "$@" 2>&1 | sort | tr '\n' ' ' | sed 's/ $//'
}
# offers EXPECTED WORD...: the completion is exactly EXPECTED (sorted, space-separated).
offers() {
        local want=$1 got; shift
        got=$(complete_words "$@")
        [ "$got" = "$want" ] || { echo "# want '$want'"; echo "# got  '$got'"; return 1; }
}

sed -nE 's/.*<property name="([A-Za-z]+)".*/\1/p' "$XML" | sort > "$TMP/xml-props"
PROPS=$(tr '\n' ' ' < "$TMP/xml-props" | sed 's/ $//')
"$KSMCTL" --help > "$TMP/help"
awk '/^Commands:/ { c = 1; next } /^[[:space:]]*$/ { c = 0 } c && /^  [a-z]/ { print $1 }' "$TMP/help" | sort > "$TMP/help-verbs"
awk '/^Options:/ { o = 1; next } /^[[:space:]]*$/ { o = 0 } o' "$TMP/help" |
        grep -oE -- '(^|[^A-Za-z0-9-])--?[A-Za-z][a-z-]*=?' | sed -E 's/^[^-]+//' | sort -u > "$TMP/help-opts"

# ---- bash ------------------------------------------------------------------------------------
check "bash: the script parses" bash -n "$BASH_COMP"
check "bash: sourcing defines _kubevirt_ksmctl and registers it" \
        bash -c "source '$BASH_COMP' && declare -F _kubevirt_ksmctl >/dev/null && complete -p kubevirt-ksmctl | grep -q _kubevirt_ksmctl"
check "bash: 'st' completes to status and stats" offers "stats status" st
check "bash: 'sh' completes to show" offers "show" sh
check "bash: an empty verb offers every verb of --help" offers "$(tr '\n' ' ' < "$TMP/help-verbs" | sed 's/ $//')" ""
check "bash: the verb after options and their arguments" offers "monitor" --json=short -p Running mo
check "bash: the verb after a split '--json = short'" offers "reconcile" --json = short rec
check "bash: nothing after a verb without arguments" offers "" status ""
check "bash: '-p ' offers every property of the XML" offers "$PROPS" -p ""
check "bash: '-p Pages' offers the Pages* properties" \
        offers "$(grep '^Pages' "$TMP/xml-props" | tr '\n' ' ' | sed 's/ $//')" -p Pages
check "bash: '-p Running,Sel' completes the second name of a list" offers "Running,Selected Running,Selection" -p Running,Sel
check "bash: '--property=Node' completes" offers "--property=NodeName" --property=Node
check "bash: 'show Conf' completes a property argument" offers "Conflict" show Conf
check "bash: 'monitor Run' completes a property argument" offers "Running" monitor Run
check "bash: '--json=' offers the three modes" offers "--json=off --json=pretty --json=short" --json=
check "bash: '--json = s' (split by COMP_WORDBREAKS) offers short" offers "short" --json = s
check "bash: '--format=' offers the three formats" offers "--format=json --format=prometheus --format=table" --format=
check "bash: '--format = p' offers prometheus" offers "prometheus" stats --format = p
check "bash: '--j' completes to --json=" offers "--json=" --j
check "bash: '--' offers exactly the long options of --help" \
        offers "$(grep -- '^--' "$TMP/help-opts" | sort | tr '\n' ' ' | sed 's/ $//')" --
check "bash: '-' offers every option of --help" \
        offers "$(sort "$TMP/help-opts" | tr '\n' ' ' | sed 's/ $//')" -
grep -E "^_kubevirt_ksmctl_props=" "$BASH_COMP" | sed -E "s/^[^']*'//; s/'.*//" | tr ' ' '\n' | sort > "$TMP/bash-props"
check "bash: the property list is the XML's" diff -u "$TMP/xml-props" "$TMP/bash-props"

# ---- zsh -------------------------------------------------------------------------------------
sed -nE '/props=\(/ { s/.*props=\( *//; s/ *\).*//; p }' "$ZSH_COMP" | tr ' ' '\n' | sort > "$TMP/zsh-props"
check "zsh: the property list is the XML's" diff -u "$TMP/xml-props" "$TMP/zsh-props"
sed -nE "s/^[[:space:]]*'([a-z]+):.*/\1/p" "$ZSH_COMP" | sort > "$TMP/zsh-verbs"
check "zsh: the verbs are those of --help" diff -u "$TMP/help-verbs" "$TMP/zsh-verbs"
for o in $(grep -- '^--' "$TMP/help-opts" | sed 's/=$//'); do
        check "zsh: offers $o" grep -qE -- "[^a-z-]$o([^a-z-]|\$)" "$ZSH_COMP"
done
check "zsh: first line is #compdef kubevirt-ksmctl" test "$(head -n 1 "$ZSH_COMP")" = "#compdef kubevirt-ksmctl"
if command -v zsh >/dev/null; then
        check "zsh: the script parses (zsh -n)" zsh -n "$ZSH_COMP"
        check "zsh: compinit loads it from an fpath directory" zsh -f -c "
                fpath=('$top_srcdir/shell-completion/zsh' \$fpath); autoload -Uz compinit; compinit -u -d '$TMP/zcompdump'
                [[ \${_comps[kubevirt-ksmctl]} == _kubevirt-ksmctl ]]"
        # What an interactive zsh puts on the screen after "kubevirt-ksmctl WORDS<Tab>", on a pty
        # (zsh/zpty); each case polls, bounded, for the expected text.
        cat > "$TMP/zcomp.zsh" <<'ZSH'
# zsh driver: zcomp.zsh FPATH_DIR WORDS WANT — types "kubevirt-ksmctl WORDS<Tab>" into an interactive zsh on a pty and
# succeeds once the screen shows WANT (bounded: 10 s), printing what it saw otherwise.
zmodload zsh/zpty zsh/datetime
setopt extendedglob
zpty z zsh -f -i
wait_for() {
        local want=$1 out= chunk end=$(( EPOCHREALTIME + 10 ))
        while (( EPOCHREALTIME < end )); do
                while zpty -r -t z chunk; do out+=$chunk; done
                out=${out//$'\r'/}; out=${out//$'\e'\[[0-9;?]#[a-zA-Z]/}
                [[ $out == *"$want"* ]] && return 0
                sleep 0.05
        done
        print -r -- "saw: ${(q)out}"
        return 1
}
zpty -w z "PS1='> '; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; LISTMAX=1000; print RE''ADY"
wait_for READY || exit 1
zpty -w -n z "kubevirt-ksmctl $2"$'\t'
wait_for "$3"; rc=$?
zpty -d z
exit $rc
ZSH
        zsh_offers() { timeout 30 zsh -f "$TMP/zcomp.zsh" "$top_srcdir/shell-completion/zsh" "$1" "$2" | diag; return "${PIPESTATUS[0]}"; }
        check "zsh: 'st' completes to the common prefix of status and stats" zsh_offers "st" "kubevirt-ksmctl stat"
        check "zsh: 'show Sel' completes a property argument" zsh_offers "show Sel" "show Select"
        check "zsh: 'monitor Runn' completes Running" zsh_offers "monitor Runn" "monitor Running"
        check "zsh: '-p Pa' completes to Pages" zsh_offers "-p Pa" "-p Pages"
        check "zsh: '--json=' lists the modes" zsh_offers "--json=" "pretty"
        check "zsh: '--format=p' completes prometheus" zsh_offers "--format=p" "--format=prometheus "
        check "zsh: '--ho' completes --host=" zsh_offers "--ho" "--host="
        check "zsh: the verb after --json=short" zsh_offers "--json=short sh" "--json=short show "
else
        ok "# SKIP zsh not installed: zsh -n not run"
fi

echo "1..$N"
[ "$FAILED" -eq 0 ]
