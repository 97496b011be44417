#!/bin/bash
# test-introspect.sh — the bus object against the contract: the interface XML in dbus/, every
# property's name and type, LastReconcile as the deprecated alias of LastReconcileUSec,
# PropertiesChanged on state changes.
. "$(dirname "$0")/lib.sh"

start_bus open
make_sysfs
write_conf
write_kubevirt absent
write_node '{"kubernetes.io/hostname":"node01"}'
start_daemon

# 1. The shipped introspection file matches what the daemon exports.
busctl --system introspect --xml-interface "$BUS" "$OBJ" > "$T/live.xml"
check "introspection XML in dbus/ matches the running daemon" python3 - "$top_srcdir/dbus/org.kubevirt.KSM1.xml" "$T/live.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
def iface(path):
    root = ET.parse(path).getroot()
    for i in root.findall("interface"):
        if i.get("name") == "org.kubevirt.KSM1":
            return [(c.tag, tuple(sorted(c.attrib.items())),
                     tuple((g.tag, tuple(sorted(g.attrib.items()))) for g in c)) for c in i]
    sys.exit("no org.kubevirt.KSM1 interface in " + path)
a, b = iface(sys.argv[1]), iface(sys.argv[2])
if a != b:
    for x, y in zip(a, b):
        if x != y:
            print("# file:", x, "\n# live:", y)
    sys.exit(1)
PY

# 2. Every property of the contract, with its D-Bus type.
for p in NodeName:s Available:b Running:b Selected:b Managed:b Policy:s Connected:b PagesToScan:u \
         SleepMillisecs:u PagesShared:t PagesSharing:t PagesUnshared:t PagesVolatile:t FullScans:t \
         SavedBytes:t GeneralProfit:x LastReconcileUSec:t LastReconcile:t LastError:s; do
        name=${p%%:*} type=${p##*:}
        check "property $name has type $type" \
                bash -c "busctl --system get-property $BUS $OBJ $IFACE $name | grep -q '^$type '"
done

# 2b. LastReconcile is the deprecated old name of LastReconcileUSec: the same value, read from one
#     GetAll reply so that no reconcile can fall between the two, and only the alias is deprecated.
same_last_reconcile() {
        busctl --system --json=short call "$BUS" "$OBJ" org.freedesktop.DBus.Properties GetAll s "$IFACE" |
                python3 -c '
import json, sys
p = json.load(sys.stdin)["data"][0]
usec, alias = p["LastReconcileUSec"]["data"], p["LastReconcile"]["data"]
if usec != alias or usec <= 0:
    sys.exit("LastReconcileUSec=%s LastReconcile=%s" % (usec, alias))'
}
eventually "LastReconcileUSec equals LastReconcile after the first pass" $((5 * SLOW)) same_last_reconcile
busctl --system introspect "$BUS" "$OBJ" "$IFACE" > "$T/members.txt"
check "LastReconcile is marked deprecated" grep -qE '^\.LastReconcile +property +t .*deprecated' "$T/members.txt"
check "LastReconcileUSec is not deprecated" bash -c "! grep -E '^\.LastReconcileUSec +property' '$T/members.txt' | grep -q deprecated"

# 3. Methods of the contract.
for m in Reconcile: Unmerge: GetStatistics:a{sx}; do
        name=${m%%:*} out=${m#*:}
        check "method $name() returns '${out:-nothing}'" \
                bash -c "busctl --system introspect $BUS $OBJ $IFACE | grep -E '^\\.$name +method +- +${out:--}( |\$)' >/dev/null"
done

# 4. Values read through the bus.
check "NodeName is the node's name" prop_is NodeName '"node01"'
check "Available true on a kernel with KSM" prop_is Available true
check "SavedBytes = (pages_sharing + ksm_zero_pages) x page size" prop_is SavedBytes $(( (40 + 2) * $(getconf PAGESIZE) ))
check "GeneralProfit is the kernel's" prop_is GeneralProfit 150000
check "GetStatistics has every numeric sysfs file" \
        bash -c "busctl --system call $BUS $OBJ $IFACE GetStatistics | grep -q '\"pages_sharing\" 40' && busctl --system call $BUS $OBJ $IFACE GetStatistics | grep -q '\"run\" 0'"
check "GetStatistics leaves out non-numeric files" \
        bash -c "! busctl --system call $BUS $OBJ $IFACE GetStatistics | grep -q advisor_mode"

# 5. PropertiesChanged when the state changes.
busctl --system --match="type='signal',sender='$BUS',path='$OBJ',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged'" \
        monitor > "$T/signals.txt" 2>&1 &
MON=$!
wait_until $((5 * SLOW)) grep -q "Monitoring" "$T/signals.txt"   # the match is installed before this line is printed
write_kubevirt '{}'
eventually "selected: run 1" $((5 * SLOW)) sysfs_is run 1
eventually "PropertiesChanged carries Running" $((5 * SLOW)) grep -q '"Running"' "$T/signals.txt"
eventually "PropertiesChanged carries Managed" $((5 * SLOW)) grep -q '"Managed"' "$T/signals.txt"
eventually "PropertiesChanged carries Selected" $((5 * SLOW)) grep -q '"Selected"' "$T/signals.txt"
eventually "PropertiesChanged carries LastReconcileUSec" $((5 * SLOW)) grep -q '"LastReconcileUSec"' "$T/signals.txt"
eventually "PropertiesChanged carries LastReconcile (the alias)" $((5 * SLOW)) grep -q '"LastReconcile"' "$T/signals.txt"
check "LastReconcileUSec still equals LastReconcile" same_last_reconcile
kill "$MON" 2>/dev/null; wait "$MON" 2>/dev/null

# 6. A kernel without KSM: Available false, neither label nor annotation on the node.
check "SIGTERM exits 0" stop_daemon TERM
rm -rf "$SYSFS"
write_node '{"kubernetes.io/hostname":"node01","kubevirt.io/ksm-enabled":"true"}' '{"kubevirt.io/ksm-handler-managed":"false"}'
start_daemon
eventually "no KSM: label removed" $((5 * SLOW)) node_label_is "<absent>"
eventually "no KSM: annotation removed" $((5 * SLOW)) node_annotation_is "<absent>"
check "no KSM: Available false" prop_is Available false
check "no KSM: Running false" prop_is Running false
check "no KSM: GetStatistics fails with NotAvailable" \
        bash -c "busctl --system call $BUS $OBJ $IFACE GetStatistics 2>&1 | grep -q 'not available'"

finish
