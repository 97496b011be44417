#!/bin/bash
# test-man.sh — the manual pages: clean under groff and mandoc, and in step with the code: every
# configuration key (--list-config-keys, the example configuration), every option and verb of
# --help, the D-Bus interface of dbus/org.kubevirt.KSM1.xml, its error names, journal fields and
# Kubernetes Events. Needs groff and mandoc; no bus, no daemon.
set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${KSMD:=$top_builddir/kubevirt-ksmd}"
: "${KSMCTL:=$top_builddir/kubevirt-ksmctl}"

MAN=$top_srcdir/man
PAGES="kubevirt-ksmd.8 kubevirt-ksmd.conf.5 kubevirt-ksmctl.1 org.kubevirt.KSM1.5"
XML=$top_srcdir/dbus/org.kubevirt.KSM1.xml
EXAMPLE=$top_srcdir/src/kubevirt-ksmd.conf.example

for tool in groff mandoc; do
        command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool not installed"; exit 0; }
done

TMP=$(mktemp -d /tmp/ksmd-man.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# ---- TAP -------------------------------------------------------------------------------------
TAP_N=0
TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
diag() { sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: passes when COMMAND succeeds; its output is shown when it fails.
check() {
        local d=$1 out
        shift
        if out=$("$@" 2>&1); then
                ok "$d"
        else
                not_ok "$d"
                [ -n "$out" ] && printf '%s\n' "$out" | diag
        fi
}
# none: reads a list on stdin and fails (printing it) unless it is empty.
none() { local l; l=$(grep -v '^$'); [ -z "$l" ] || { printf '%s\n' "$l"; return 1; }; }

# ---- reading man(7) sources ------------------------------------------------------------------
# manparse FILE: one record per line, TAB-separated: "SH title", "SS title", "TAG text" (the line
# after .TP or .TQ), "TXT text", "EX line" (inside .EX/.EE), "EE". Font and alternating macros
# are rendered to their text (.BR a " (" b ) gives "a (b)"), other macros are dropped, and the
# common escapes are turned into the characters they print.
manparse() {
        awk '
        function render(line,    m, rest, i, c, inq, have, cur, n, parts, sep, out) {
                if (line !~ /^[.\047]/)
                        return line
                m = line
                sub(/^[.\047][ \t]*/, "", m)
                rest = m
                sub(/[ \t].*$/, "", m)
                if (!sub(/^[^ \t]+[ \t]+/, "", rest))
                        rest = ""
                if (m !~ /^(B|I|SM|SB|BR|RB|BI|IB|IR|RI)$/)
                        return ""
                n = 0; cur = ""; inq = 0; have = 0
                for (i = 1; i <= length(rest); i++) {
                        c = substr(rest, i, 1)
                        if (c == "\"") { inq = !inq; have = 1; continue }
                        if (!inq && (c == " " || c == "\t")) {
                                if (have) { parts[++n] = cur; cur = ""; have = 0 }
                                continue
                        }
                        cur = cur c; have = 1
                }
                if (have)
                        parts[++n] = cur
                sep = (m ~ /^(B|I|SM|SB)$/) ? " " : ""
                out = ""
                for (i = 1; i <= n; i++)
                        out = out (i > 1 ? sep : "") parts[i]
                return out
        }
        function heading(line) {
                sub(/^\.S[HS][ \t]*/, "", line)
                gsub(/"/, "", line)
                return line
        }
        /^\.SH([ \t]|$)/ { print "SH\t" heading($0); p = ""; next }
        /^\.SS([ \t]|$)/ { print "SS\t" heading($0); p = ""; next }
        /^\.EX([ \t]|$)/ { ex = 1; p = ""; next }
        /^\.EE([ \t]|$)/ { ex = 0; print "EE\t"; p = ""; next }
        ex { print "EX\t" $0; next }
        p == ".TP" || p == ".TQ" { print "TAG\t" render($0); p = $0; next }
        { r = render($0); if (r != "") print "TXT\t" r; p = $0 }
        ' "$1" | sed -e 's/\\-/-/g' -e 's/\\&//g' -e 's/\\f[BIRP]//g' -e 's/\\(dq/"/g' \
                     -e "s/\\\\(aq/'/g" -e 's/\\(->/->/g' -e 's/\\(em/--/g' -e 's/\\(en/-/g' \
                     -e 's/\\(mu/x/g' -e 's/\\(bu/*/g' -e 's/\\e/\\/g'
}
# in_sh TITLE, in_ss TITLE: the records of one .SH section / one .SS subsection (stdin).
in_sh() { awk -F'\t' -v t="$1" '$1 == "SH" { ins = ($2 == t); next } ins'; }
in_ss() { awk -F'\t' -v t="$1" '$1 == "SH" { ins = 0; next } $1 == "SS" { ins = ($2 == t); next } ins'; }
tags() { awk -F'\t' '$1 == "TAG" { print $2 }'; }
# option_tokens: the -x and --long[=ARG] tokens of text on stdin.
option_tokens() { grep -oE -- '(^|[^A-Za-z0-9-])--?[a-z][a-z-]*(=[A-Z]+)?' | sed -E 's/^[^-]+//' | sort -u; }

for p in $PAGES; do
        [ -f "$MAN/$p" ] && manparse "$MAN/$p" > "$TMP/$p.parsed"
done
parsed() { cat "$TMP/$1.parsed" 2>/dev/null; }

# ---- 1. lint ----------------------------------------------------------------------------------
for p in $PAGES; do
        if [ ! -f "$MAN/$p" ]; then
                not_ok "$p exists"
                continue
        fi
        out=$(groff -man -ww -z -Tutf8 "$MAN/$p" 2>&1)
        if [ -z "$out" ]; then ok "$p: groff -man -ww reports nothing"; else not_ok "$p: groff -man -ww reports nothing"; printf '%s\n' "$out" | diag; fi
        out=$(mandoc -Tlint -W warning "$MAN/$p" 2>&1)
        if [ -z "$out" ]; then ok "$p: mandoc -Tlint -W warning reports nothing"; else not_ok "$p: mandoc -Tlint -W warning reports nothing"; printf '%s\n' "$out" | diag; fi
done

# ---- 2. kubevirt-ksmd.conf(5) against the parser and the example ------------------------------
KEYS=$("$KSMD" --list-config-keys 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$KEYS" | grep -qE '^[A-Za-z]+\.[A-Za-z]+$' &&
   ! printf '%s\n' "$KEYS" | grep -vqE '^[A-Za-z]+\.[A-Za-z0-9]+$'; then
        ok "kubevirt-ksmd --list-config-keys prints Section.Key lines"
else
        not_ok "kubevirt-ksmd --list-config-keys prints Section.Key lines (exit $rc)"
        printf '%s\n' "$KEYS" | head -5 | diag
        KEYS=
fi

# conf_keys PARSED: "Section.Key" of every key entry (a tag "Key=...") under a "[Section] SECTION" heading.
conf_keys() {
        awk -F'\t' '
        $1 == "SH" { s = ""; if ($2 ~ /^\[[A-Za-z]+\] SECTION$/) { s = $2; sub(/^\[/, "", s); sub(/\].*$/, "", s) } next }
        s != "" && $1 == "TAG" && $2 ~ /^[A-Za-z][A-Za-z0-9]*=/ { k = $2; sub(/=.*$/, "", k); print s "." k }
        ' "$1" | sort
}
# conf_entries PARSED: "Section.Key<TAB>the entry's text on one line".
conf_entries() {
        awk -F'\t' '
        function flush() { if (key != "") print key "\t" text; key = ""; text = "" }
        $1 == "SH" || $1 == "SS" { flush(); s = ""; if ($1 == "SH" && $2 ~ /^\[[A-Za-z]+\] SECTION$/) { s = $2; sub(/^\[/, "", s); sub(/\].*$/, "", s) } next }
        $1 == "TAG" { flush(); if (s != "" && $2 ~ /^[A-Za-z][A-Za-z0-9]*=/) { k = $2; sub(/=.*$/, "", k); key = s "." k } next }
        key != "" && $1 == "TXT" { text = text " " $2 }
        END { flush() }
        ' "$1"
}
# example_keys FILE: "Section.Key VALUE" of every "Key=VALUE" or "#Key=VALUE" line of an INI file.
example_keys() {
        awk '
        /^\[[A-Za-z]+\][ \t]*$/ { s = $0; sub(/^\[/, "", s); sub(/\].*$/, "", s); next }
        s != "" && /^#?[A-Za-z][A-Za-z0-9]*=/ { l = $0; sub(/^#/, "", l); k = l; sub(/=.*$/, "", k); v = l; sub(/^[^=]*=/, "", v); print s "." k " " v }
        ' "$1"
}
# missing_keys DOCUMENTED_LIST: the known keys that the list (one per line, in $1) lacks.
missing_keys() { printf '%s\n' "$KEYS" | grep -v '^$' | grep -vxF -f "$1"; }

printf '%s\n' "$KEYS" > "$TMP/known"
CONF=$TMP/kubevirt-ksmd.conf.5.parsed
conf_keys "$CONF" > "$TMP/conf-keys"
for k in $KEYS; do
        section=${k%%.*}
        check "kubevirt-ksmd.conf.5 documents ${k#*.}= under [$section] SECTION" grep -qxF "$k" "$TMP/conf-keys"
done
check "kubevirt-ksmd.conf.5 documents no key the parser does not know" \
        none < <(grep -vxF -f "$TMP/known" "$TMP/conf-keys")
check "kubevirt-ksmd.conf.5 documents each key once" none < <(uniq -d "$TMP/conf-keys")

example_keys "$EXAMPLE" > "$TMP/example"
check "src/kubevirt-ksmd.conf.example mentions every key under its section" \
        none < <(missing_keys <(cut -d' ' -f1 "$TMP/example"))
check "src/kubevirt-ksmd.conf.example mentions no unknown key" \
        none < <(cut -d' ' -f1 "$TMP/example" | grep -vxF -f "$TMP/known")

# The defaults the example shows (#Key=VALUE) are the ones the page gives ("Defaults to VALUE.").
conf_entries "$CONF" > "$TMP/entries"
default_mismatches() {
        local k v text
        while read -r k v; do
                [ -n "$v" ] || continue
                text=$(awk -F'\t' -v k="$k" '$1 == k { print $2 }' "$TMP/entries")
                case "$text" in
                *"Defaults to $v."*) ;;
                *) echo "$k: the example says $v, the page does not say \"Defaults to $v.\"" ;;
                esac
        done < "$TMP/example"
}
check "kubevirt-ksmd.conf.5 gives the defaults of the example configuration" none < <(default_mismatches)

# Every Section/Key in the page's examples is one the parser knows.
example_blocks_keys() {
        awk -F'\t' '
        $1 == "EE" { s = ""; next }
        $1 != "EX" { next }
        $2 ~ /^\[[A-Za-z]+\][ \t]*$/ { s = $2; sub(/^\[/, "", s); sub(/\].*$/, "", s); next }
        s != "" && $2 ~ /^[A-Za-z][A-Za-z0-9]*=/ { k = $2; sub(/=.*$/, "", k); print s "." k }
        ' "$1"
}
check "kubevirt-ksmd.conf.5 examples use only known keys" \
        none < <(example_blocks_keys "$CONF" | grep -vxF -f "$TMP/known")
check "kubevirt-ksmd.conf.5 has an example drop-in with [Source] Type=kubernetes" \
        grep -qx $'EX\tType=kubernetes' "$CONF"

# The key check itself notices a key removed from the page.
victim=$(printf '%s\n' "$KEYS" | tail -n 1)
if [ -n "$victim" ]; then
        awk -v k="${victim#*.}" '$0 ~ ("^\\.BI? +" k "=") { next } { print }' "$MAN/kubevirt-ksmd.conf.5" > "$TMP/mutant.5"
        manparse "$TMP/mutant.5" > "$TMP/mutant.parsed"
        conf_keys "$TMP/mutant.parsed" > "$TMP/mutant-keys"
        check "the key check notices $victim removed from kubevirt-ksmd.conf.5" \
                bash -c "! grep -qxF '$victim' '$TMP/mutant-keys'"
else
        not_ok "the key check notices a key removed from kubevirt-ksmd.conf.5 (no keys)"
fi

# ---- 3. kubevirt-ksmd(8) against kubevirt-ksmd --help ------------------------------------------
help_tokens() {
        "$1" --help 2>/dev/null | grep -E '^[[:space:]]+-' | sed -E 's/^[[:space:]]+//; s/[[:space:]]{2,}.*$//' | option_tokens
}
help_tokens "$KSMD" > "$TMP/ksmd-help"
check "kubevirt-ksmd --help lists options" test -s "$TMP/ksmd-help"
parsed kubevirt-ksmd.8 | in_sh OPTIONS | tags | option_tokens > "$TMP/ksmd-page"
while read -r o; do
        check "kubevirt-ksmd.8 OPTIONS documents $o" grep -qxF -- "$o" "$TMP/ksmd-page"
done < "$TMP/ksmd-help"
check "kubevirt-ksmd.8 OPTIONS documents no option missing from --help" \
        none < <(grep -vxF -f "$TMP/ksmd-help" "$TMP/ksmd-page")

parsed kubevirt-ksmd.8 | in_sh "EXIT STATUS" | tags | sort -n | tr '\n' ' ' > "$TMP/ksmd-exit"
check "kubevirt-ksmd.8 EXIT STATUS lists 0 1 64 78" test "$(cat "$TMP/ksmd-exit")" = "0 1 64 78 "
exit_codes() {
        local rc
        "$KSMD" --no-such-option >/dev/null 2>&1; rc=$?
        [ "$rc" -eq 64 ] || { echo "unknown option: exit $rc, the page says 64"; return 1; }
        "$KSMD" --config="$TMP/no-such-file.conf" --check-config >/dev/null 2>&1; rc=$?
        [ "$rc" -eq 78 ] || { echo "missing --config file: exit $rc, the page says 78"; return 1; }
        "$KSMD" --list-config-keys >/dev/null 2>&1; rc=$?
        [ "$rc" -eq 0 ] || { echo "--list-config-keys: exit $rc, the page says 0"; return 1; }
}
check "kubevirt-ksmd exits with the documented 0, 64 and 78" exit_codes

# Journal fields: every KSM_ACTION= and KSM_RUN= value the code logs is in JOURNAL FIELDS.
journal_values() {
        local text v missing=0
        text=$(parsed kubevirt-ksmd.8 | in_sh "JOURNAL FIELDS" | cut -f2-)
        for v in $(sed -nE 's/^[[:space:]]*\[KSM_ACTION_[A-Z]+\] = "([a-z]+)",.*/\1/p' "$top_srcdir/src/reconcile.c" | grep -vx none) \
                 $(grep -oE 'log_action\([^,]+, "[a-z]+"' "$top_srcdir/src/manager.c" | sed -E 's/.*"([a-z]+)"/\1/') \
                 $(sed -nE 's/^[[:space:]]*\[KSM_RUN_[A-Z]+\] = "([a-z]+)",.*/\1/p' "$top_srcdir/src/ksm-types.c"); do
                printf '%s\n' "$text" | grep -qw -- "$v" || { echo "value $v is not documented"; missing=1; }
        done
        for v in KSM_NODE= KSM_ACTION= KSM_RUN=; do
                parsed kubevirt-ksmd.8 | in_sh "JOURNAL FIELDS" | tags | grep -qxF "$v" || { echo "field $v is not documented"; missing=1; }
        done
        return $missing
}
check "src/reconcile.c and src/ksm-types.c still hold the action and run tables read above" \
        bash -c "grep -q '\[KSM_ACTION_START\] = \"start\"' '$top_srcdir/src/reconcile.c' && grep -q '\[KSM_RUN_MERGING\] = \"merging\"' '$top_srcdir/src/ksm-types.c'"
check "kubevirt-ksmd.8 JOURNAL FIELDS documents every field and value the code logs" journal_values

# Kubernetes Events: every reason the daemon posts is documented.
event_reasons() {
        local r missing=0
        for r in $(grep -oE '"KSM[A-Z][a-z]+"' "$top_srcdir/src/manager.c" | tr -d '"' | sort -u); do
                parsed kubevirt-ksmd.8 | in_sh KUBERNETES | in_ss Events | tags | grep -qxF "$r" || { echo "Event reason $r is not documented"; missing=1; }
        done
        return $missing
}
check "kubevirt-ksmd.8 KUBERNETES documents every Event reason" event_reasons

# ---- 4. kubevirt-ksmctl(1) against kubevirt-ksmctl --help --------------------------------------
"$KSMCTL" --help 2>/dev/null > "$TMP/ksmctl-help-text"
awk '/^Commands:/ { c = 1; next } /^[[:space:]]*$/ { c = 0 } c && /^  [a-z]/ { print $1 }' "$TMP/ksmctl-help-text" | sort > "$TMP/ksmctl-verbs"
awk '/^Options:/ { o = 1; next } /^[[:space:]]*$/ { o = 0 } o' "$TMP/ksmctl-help-text" |
        sed -E 's/^[[:space:]]+//; s/[[:space:]]{2,}.*$//' | option_tokens > "$TMP/ksmctl-opts"
check "kubevirt-ksmctl --help lists commands and options" test -s "$TMP/ksmctl-verbs" -a -s "$TMP/ksmctl-opts"

# A command's tag is "name" or "name [NAME...]": its first word is the command.
parsed kubevirt-ksmctl.1 | in_sh COMMANDS | tags | awk '{ print $1 }' | sort > "$TMP/ksmctl-page-verbs"
parsed kubevirt-ksmctl.1 | in_sh OPTIONS | tags | option_tokens > "$TMP/ksmctl-page-opts"
while read -r v; do
        check "kubevirt-ksmctl.1 COMMANDS documents $v" grep -qxF -- "$v" "$TMP/ksmctl-page-verbs"
done < "$TMP/ksmctl-verbs"
while read -r o; do
        check "kubevirt-ksmctl.1 OPTIONS documents $o" grep -qxF -- "$o" "$TMP/ksmctl-page-opts"
done < "$TMP/ksmctl-opts"
check "kubevirt-ksmctl.1 documents no command missing from --help" \
        none < <(grep -vxF -f "$TMP/ksmctl-verbs" "$TMP/ksmctl-page-verbs")
check "kubevirt-ksmctl.1 documents no option missing from --help" \
        none < <(grep -vxF -f "$TMP/ksmctl-opts" "$TMP/ksmctl-page-opts")

help_exit=$(sed -n 's/^Exit status: //p' "$TMP/ksmctl-help-text" | grep -oE '[0-9]+' | sort -n | tr '\n' ' ')
page_exit=$(parsed kubevirt-ksmctl.1 | in_sh "EXIT STATUS" | tags | sort -n | tr '\n' ' ')
check "kubevirt-ksmctl.1 EXIT STATUS lists the codes of --help ($help_exit)" test -n "$help_exit" -a "$help_exit" = "$page_exit"

# The sample status output has the fields, order and alignment that kubevirt-ksmctl prints.
sed -nE 's/^[[:space:]]*field\(a, "( *[A-Z][A-Za-z ()]*)", .*/\1/p' "$top_srcdir/src/ksmctl-props.c" > "$TMP/status-code"
parsed kubevirt-ksmctl.1 | awk -F'\t' '
        $1 == "EX" && $2 ~ /^\$ kubevirt-ksmctl status$/ { s = 1; next }
        $1 != "EX" || $2 ~ /^\$ / { s = 0 }
        s && $2 ~ /^ *[A-Z][A-Za-z ()]*: / { l = $2; sub(/: .*$/, "", l); print l }' > "$TMP/status-page"
check "kubevirt-ksmctl.1 sample status output matches the fields of src/ksmctl-props.c" \
        bash -c "test -s '$TMP/status-code' && diff -u '$TMP/status-code' '$TMP/status-page'"

check "kubevirt-ksmctl --help ends with the man page pointer" \
        test "$(tail -n 1 "$TMP/ksmctl-help-text")" = "See the kubevirt-ksmctl(1) man page for details."
# Every environment variable the client reads is in ENVIRONMENT, and the page lists no other.
grep -ohE 'getenv\("[A-Z_]+"\)' "$top_srcdir"/src/ksmctl*.c | sed -E 's/getenv\("(.*)"\)/\1/' |
        { cat; echo DBUS_SYSTEM_BUS_ADDRESS; } | sort -u > "$TMP/ksmctl-env-code"
parsed kubevirt-ksmctl.1 | in_sh ENVIRONMENT | tags | sort -u > "$TMP/ksmctl-env-page"
check "kubevirt-ksmctl.1 ENVIRONMENT lists the variables src/ksmctl*.c reads (and sd-bus's)" \
        bash -c "test -s '$TMP/ksmctl-env-code' && diff -u '$TMP/ksmctl-env-code' '$TMP/ksmctl-env-page'"
# The values --json= and --format= accept are each named in the page's OPTIONS.
ksmctl_options_name() { parsed kubevirt-ksmctl.1 | in_sh OPTIONS | grep -qw -- "$1"; }
for v in pretty short off; do
        check "kubevirt-ksmctl.1 OPTIONS names --json=$v" ksmctl_options_name "$v"
done
for v in table json prometheus; do
        check "kubevirt-ksmctl.1 OPTIONS names --format=$v" ksmctl_options_name "$v"
done

# ---- 5. org.kubevirt.KSM1(5) against dbus/org.kubevirt.KSM1.xml ---------------------------------
# xml_members: "P Name type emits" and "M Name(dir type name, ...)" of the XML.
xml_members() {
        awk '
        function attr(s, k) {
                if (match(s, k "=\"[^\"]*\""))
                        return substr(s, RSTART + length(k) + 2, RLENGTH - length(k) - 3)
                return ""
        }
        /<property[ \t]/ { n = attr($0, "name"); t = attr($0, "type"); e = "true"; inp = 1
                           if ($0 ~ /\/>/) { print "P " n " " t " " e; inp = 0 } next }
        inp && /EmitsChangedSignal/ { e = attr($0, "value"); next }
        inp && /<\/property>/ { print "P " n " " t " " e; inp = 0; next }
        /<method[ \t]/ { m = attr($0, "name"); a = ""; inm = 1
                         if ($0 ~ /\/>/) { print "M " m "()"; inm = 0 } next }
        inm && /<arg[ \t]/ { d = attr($0, "direction"); if (d == "") d = "in"
                             a = a (a == "" ? "" : ", ") d " " attr($0, "type") " " attr($0, "name"); next }
        inm && /<\/method>/ { print "M " m "(" a ")"; inm = 0; next }
        ' "$XML" | sort
}
# page_members: the same, from the interface block of THE MANAGER OBJECT.
page_members() {
        parsed org.kubevirt.KSM1.5 | in_sh "THE MANAGER OBJECT" | awk -F'\t' '
        $1 != "EX" { next }
        $2 ~ /^[ \t]*interface org\.kubevirt\.KSM1 \{/ { inif = 1; next }
        inif && $2 ~ /^[ \t]*\};/ { inif = 0; next }
        !inif { next }
        $2 ~ /EmitsChangedSignal\("/ { e = $2; sub(/^.*EmitsChangedSignal\("/, "", e); sub(/".*$/, "", e); next }
        $2 ~ /^[ \t]*readonly / { l = $2; sub(/^[ \t]*readonly[ \t]+/, "", l); split(l, w, /[ \t]+/)
                                  print "P " w[2] " " w[1] " " (e == "" ? "true" : e); e = ""; next }
        $2 ~ /^[ \t]*[A-Za-z]+\(.*\);/ { l = $2; sub(/^[ \t]+/, "", l); sub(/;.*$/, "", l); print "M " l }
        ' | sort
}
# page_entries: "P Name type" of the Properties tags ("Name (t)") and "M Name -> outtypes" of the
# Methods tags ("Name()" or "Name() -> a{sx}").
page_entries() {
        parsed org.kubevirt.KSM1.5 | in_sh "THE MANAGER OBJECT" | awk -F'\t' '
        $1 == "SS" { ss = $2; next }
        $1 != "TAG" { next }
        ss == "Properties" && $2 ~ /^[A-Za-z]+ \([^)]*\)$/ { n = $2; sub(/ .*$/, "", n); t = $2; sub(/^[^(]*\(/, "", t); sub(/\)$/, "", t); print "P " n " " t; next }
        ss == "Methods" { n = $2; sub(/\(.*$/, "", n); o = ""; if ($2 ~ /->/) { o = $2; sub(/^.*-> */, "", o) } print "M " n " -> " o; next }
        ss == "Properties" || ss == "Methods" { print "? " $2 }
        ' | sort
}
xml_members > "$TMP/xml"
page_members > "$TMP/page-members"
page_entries > "$TMP/page-entries"
check "dbus/org.kubevirt.KSM1.xml declares properties and methods" grep -q '^P ' "$TMP/xml"

while read -r _ name type emits; do
        check "org.kubevirt.KSM1.5 declares property $name ($type, EmitsChangedSignal=$emits)" \
                grep -qxF "P $name $type $emits" "$TMP/page-members"
        check "org.kubevirt.KSM1.5 describes property $name ($type)" \
                grep -qxF "P $name $type" "$TMP/page-entries"
done < <(grep '^P ' "$TMP/xml")
while read -r _ sig; do
        name=${sig%%(*}
        outs=$(printf '%s\n' "$sig" | sed -E 's/^[^(]*\((.*)\)$/\1/' | tr ',' '\n' | sed -nE 's/^ *out ([^ ]+) .*/\1/p' | paste -sd, - | sed 's/,/, /g')
        check "org.kubevirt.KSM1.5 declares method $sig" grep -qxF "M $sig" "$TMP/page-members"
        check "org.kubevirt.KSM1.5 describes method $name()${outs:+ -> $outs}" grep -qxF "M $name -> $outs" "$TMP/page-entries"
done < <(grep '^M ' "$TMP/xml")
check "org.kubevirt.KSM1.5 declares nothing the XML lacks" none < <(grep -vxF -f "$TMP/xml" "$TMP/page-members")
xml_entries() { sed -E 's/^(P [^ ]+ [^ ]+) .*/\1/' "$TMP/xml" | awk '/^M / { n = $2; sub(/\(.*$/, "", n); o = ""; s = $0; while (match(s, /out [^ ]+ /)) { t = substr(s, RSTART + 4, RLENGTH - 5); o = o (o == "" ? "" : ", ") t; s = substr(s, RSTART + RLENGTH) } print "M " n " -> " o; next } { print }'; }
check "org.kubevirt.KSM1.5 describes nothing the XML lacks" none < <(grep -vxF -f <(xml_entries) "$TMP/page-entries")

# Deprecated members: the XML's org.freedesktop.DBus.Deprecated annotations, the page's
# @org.freedesktop.DBus.Deprecated("true") declarations, and the descriptions that start with
# "Deprecated" name the same members; today only LastReconcile, the old name of LastReconcileUSec.
awk '
/<(property|method)[ \t]/ { match($0, /name="[^"]*"/); n = substr($0, RSTART + 6, RLENGTH - 7) }
/name="org\.freedesktop\.DBus\.Deprecated"/ && /value="true"/ { print n }
' "$XML" | sort > "$TMP/deprecated-xml"
parsed org.kubevirt.KSM1.5 | in_sh "THE MANAGER OBJECT" | awk -F'\t' '
$1 != "EX" { next }
$2 ~ /@org\.freedesktop\.DBus\.Deprecated\("true"\)/ { d = 1; next }
d && $2 ~ /^[ \t]*readonly / { l = $2; sub(/^[ \t]*readonly[ \t]+/, "", l); split(l, w, /[ \t]+/); print w[2]; d = 0; next }
d && $2 ~ /^[ \t]*[A-Za-z]+\(/ { l = $2; sub(/^[ \t]+/, "", l); sub(/\(.*$/, "", l); print l; d = 0 }
' | sort > "$TMP/deprecated-decl"
parsed org.kubevirt.KSM1.5 | in_sh "THE MANAGER OBJECT" | awk -F'\t' '
$1 == "SS" { ss = $2; next }
$1 == "TAG" && (ss == "Properties" || ss == "Methods") { n = $2; sub(/[ (].*$/, "", n); first = 1; next }
$1 == "TXT" && first { if ($2 ~ /^Deprecated/) print n; first = 0 }
' | sort > "$TMP/deprecated-text"
check "dbus/org.kubevirt.KSM1.xml marks LastReconcile deprecated, and nothing else" \
        test "$(cat "$TMP/deprecated-xml")" = LastReconcile
check "org.kubevirt.KSM1.5 declares deprecated exactly what the XML marks" \
        diff -u "$TMP/deprecated-xml" "$TMP/deprecated-decl"
check "org.kubevirt.KSM1.5 describes as deprecated exactly what the XML marks" \
        diff -u "$TMP/deprecated-xml" "$TMP/deprecated-text"

# Errors: every error name the daemon returns is documented, and no other.
{ grep -oE '"org\.kubevirt\.KSM1\.Error\.[A-Za-z]+"' "$top_srcdir/src/ksm-bus.h" | tr -d '"'
  grep -q SD_BUS_ERROR_ACCESS_DENIED "$top_srcdir/src/bus-manager.c" && echo org.freedesktop.DBus.Error.AccessDenied
} | sort -u > "$TMP/errors-code"
parsed org.kubevirt.KSM1.5 | in_sh ERRORS | tags | grep -E '^org\.' | sort -u > "$TMP/errors-page"
check "org.kubevirt.KSM1.5 ERRORS lists exactly the error names of the code" \
        bash -c "test -s '$TMP/errors-code' && diff -u '$TMP/errors-code' '$TMP/errors-page'"

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
