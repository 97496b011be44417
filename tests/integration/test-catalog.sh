#!/bin/bash
# test-catalog.sh — the journal catalog: every MESSAGE_ID of src/message-id.h is sent by the code
# and explained in catalog/kubevirt-ksmd.catalog and vice versa, and journalctl accepts the file.
. "$(dirname "$0")/lib.sh"

CATALOG=$top_srcdir/catalog/kubevirt-ksmd.catalog
IDS_H=$top_srcdir/src/message-id.h

command -v journalctl >/dev/null || skip_all "journalctl is not installed"
[ -f "$CATALOG" ] && [ -f "$IDS_H" ] || skip_all "no catalog or src/message-id.h in $top_srcdir"

# NAME ID lines of the header, and the ids of the catalog's "-- ID" lines.
sed -n 's/^#define \(KSMD_MESSAGE_[A-Z0-9_]*\) *"\([^"]*\)".*/\1 \2/p' "$IDS_H" | sort -k2 > "$T/defined"
awk '{ print $2 }' "$T/defined" > "$T/defined-ids"
sed -n 's/^-- \([^ ]*\) *$/\1/p' "$CATALOG" | sort > "$T/catalog-ids"

check "message-id.h defines message ids" test -s "$T/defined"
check "every id is 32 lowercase hex digits (sd_id128 format)" \
        bash -c "! grep -qvE '^[0-9a-f]{32}\$' '$T/defined-ids'"
check "no id is defined twice" bash -c "[ -z \"\$(uniq -d '$T/defined-ids')\" ]"
check "no name is defined twice" bash -c "[ -z \"\$(awk '{print \$1}' '$T/defined' | sort | uniq -d)\" ]"
check "no catalog entry is there twice" bash -c "[ -z \"\$(uniq -d '$T/catalog-ids')\" ]"

missing_in_catalog=$(comm -23 "$T/defined-ids" "$T/catalog-ids" | tr "\n" " ")
check "every MESSAGE_ID of the source has a catalog entry${missing_in_catalog:+ (missing: $missing_in_catalog)}" \
        test -z "$missing_in_catalog"
stale_in_catalog=$(comm -13 "$T/defined-ids" "$T/catalog-ids" | tr "\n" " ")
check "every catalog entry is a MESSAGE_ID of the source${stale_in_catalog:+ (unknown: $stale_in_catalog)}" \
        test -z "$stale_in_catalog"

# Each id is sent by some call: its name appears in a .c file. An unused id would be a catalog
# entry nobody ever sees.
unused=
while read -r name id; do
        grep -qw -- "$name" "$top_srcdir"/src/*.c || unused="$unused $name"
done < "$T/defined"
check "every defined MESSAGE_ID is used by a log call${unused:+ (unused:$unused)}" test -z "$unused"

# Ids are only sent through message-id.h: no literal MESSAGE_ID=<hex> elsewhere in the source.
literal=$(grep -lE 'MESSAGE_ID=[0-9a-f]{32}' "$top_srcdir"/src/*.[ch] || true)
check "no MESSAGE_ID literal outside message-id.h${literal:+ ($literal)}" test -z "$literal"

# The manual page's MESSAGE_ID= table and the README's Journal table name exactly these ids.
for doc in man/kubevirt-ksmd.8 README.md; do
        grep -oE '\b[0-9a-f]{32}\b' "$top_srcdir/$doc" | sort -u > "$T/doc-ids"
        diff=$(comm -3 "$T/defined-ids" "$T/doc-ids" | tr -d '\t' | tr '\n' ' ')
        check "$doc lists exactly the MESSAGE_IDs of the source${diff:+ (differ: $diff)}" test -z "$diff"
done

# Every entry carries the headers journalctl -x shows, and a body.
bad_headers=$(awk '
        function done_entry() {
                if (id != "" && !(subj && def && sup && doc && body)) print id
        }
        /^-- / { done_entry(); id = $2; subj = def = sup = doc = body = 0; hdr = 1; next }
        id == "" { next }
        hdr && /^Subject: ./ { subj = 1; next }
        hdr && /^Defined-By: kubevirt-ksmd$/ { def = 1; next }
        hdr && /^Support: ./ { sup = 1; next }
        hdr && /^Documentation: ./ { doc = 1; next }
        hdr && /^$/ { hdr = 0; next }
        !hdr && /[^ ]/ { body = 1 }
        END { done_entry() }' "$CATALOG")
check "every entry has Subject, Defined-By: kubevirt-ksmd, Support, Documentation and a body${bad_headers:+ (not: $bad_headers)}" \
        test -z "$bad_headers"

# @FIELD@ substitutions name fields the daemon's records carry (src/log.c sends them).
sent=$(grep -oE '"[A-Z_]+=' "$top_srcdir/src/log.c" | tr -d '"=' | sort -u)
unknown=
for f in $(grep -oE '@[A-Z_]+@' "$CATALOG" | tr -d @ | sort -u); do
        grep -qx -- "$f" <<<"$sent" || unknown="$unknown $f"
done
check "every @FIELD@ of the catalog is a field of the daemon's records${unknown:+ (unknown:$unknown)}" test -z "$unknown"
check "the catalog substitutes the node name (@KSM_NODE@)" grep -q '@KSM_NODE@' "$CATALOG"

# journalctl compiles the catalog into a root of its own and lists every entry with its Subject.
ROOT=$T/root
mkdir -p "$ROOT/usr/lib/systemd/catalog"
cp "$CATALOG" "$ROOT/usr/lib/systemd/catalog/"
journalctl --root="$ROOT" --update-catalog > "$T/update.out" 2>&1; rc=$?
check "journalctl --root --update-catalog accepts the catalog" test "$rc" -eq 0
check "journalctl --update-catalog says nothing (no parse warning)" test ! -s "$T/update.out"
[ -s "$T/update.out" ] && sed 's/^/# /' "$T/update.out"
check "the catalog database is written in the root" test -s "$ROOT/var/lib/systemd/catalog/database"
journalctl --root="$ROOT" --list-catalog > "$T/list" 2>&1
listed_wrong=
while read -r id; do
        subject=$(awk -v id="$id" '$1 == "--" { on = ($2 == id) } on && /^Subject: / { sub(/^Subject: /, ""); print; exit }' "$CATALOG")
        grep -qxF -- "$id kubevirt-ksmd: $subject" "$T/list" || listed_wrong="$listed_wrong $id"
done < "$T/defined-ids"
check "journalctl --list-catalog shows every id with its Subject${listed_wrong:+ (not:$listed_wrong)}" test -z "$listed_wrong"
check "journalctl --list-catalog shows as many kubevirt-ksmd entries as ids" \
        test "$(grep -c ' kubevirt-ksmd: ' "$T/list")" -eq "$(wc -l < "$T/defined-ids")"
enabled=$(sed -n 's/^#define KSMD_MESSAGE_KSM_ENABLED *"\(.*\)"/\1/p' "$IDS_H")
journalctl --root="$ROOT" --dump-catalog "$enabled" > "$T/dump" 2>&1
check "journalctl --dump-catalog shows the KSM-enabled entry's text" grep -q 'kubevirt.io/ksm-handler-managed=true' "$T/dump"

# The build installs it where journalctl looks (configure's catalogdir), when a build is at hand.
if [ -f "$top_builddir/Makefile" ]; then
        catalogdir=$(sed -n 's/^catalogdir = //p' "$top_builddir/Makefile")
        check "the build installs the catalog into a systemd catalog directory ($catalogdir)" \
                bash -c "case '$catalogdir' in */lib/systemd/catalog) exit 0 ;; *) exit 1 ;; esac"
fi

finish
