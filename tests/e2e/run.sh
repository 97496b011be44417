#!/bin/bash
# tests/e2e/run.sh — end-to-end test of kubevirt-ksmd under a real booted systemd.
#
#   bash tests/e2e/run.sh [--builddir DIR]
#
# Boots a minimal Debian 12 root (debootstrap, cached as a zstd tarball) with systemd-nspawn,
# installs the project into it (make install DESTDIR=, or the .deb named by $KSMD_E2E_DEB),
# binds a scratch copy of tests/fixtures/ksm-6.18 over /sys/kernel/mm/ksm, and drives the
# daemon inside with systemctl, busctl, journalctl, kubevirt-ksmctl and systemd-analyze, plus
# the project's Kubernetes API test server on the host's loopback. Output is TAP; the exit
# status is non-zero when a check failed. Where it cannot run at all (not root, no
# debootstrap/systemd-nspawn and no apt-get to install them, a container that forbids
# namespaces) it prints "1..0 # SKIP reason" and exits 0.
#
#   --builddir DIR   a build tree configured with --prefix=/usr --sysconfdir=/etc
#                    --localstatedir=/var (default: configure and build in a temporary one)
# Environment:
#   KSMD_E2E_CACHE   where the root tarball is kept (default /var/cache/kubevirt-ksmd-e2e)
#   KSMD_E2E_DEB     a kubevirt-ksmd .deb to install with dpkg inside instead of make install
#   KSMD_E2E_MIRROR  Debian mirror for debootstrap (default: the host's apt source)
#   KSMD_E2E_KEEP=1  keep the work directory (root, logs, journal) even when all passed
#   KSMD_E2E_KUBECTL the kubectl to use (default kubectl; a missing one: the REST API)
set -uo pipefail

T_START=$(date +%s)
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILDDIR=
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) BUILDDIR=${2:?--builddir needs a directory}; shift 2 ;;
	--builddir=*) BUILDDIR=${1#*=}; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--builddir DIR]" >&2; exit 2 ;;
	esac
done
[ -z "$BUILDDIR" ] || BUILDDIR=$(cd "$BUILDDIR" 2>/dev/null && pwd) || { echo "Bail out! no directory $BUILDDIR"; exit 1; }
DEB=${KSMD_E2E_DEB:-}
[ -z "$DEB" ] || DEB=$(readlink -f "$DEB")

SKIPPED=
skip_all() { echo "1..0 # SKIP $*"; SKIPPED=1; exit 0; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- can it run here? ---------------------------------------------------------------------------
[ "$(id -u)" -eq 0 ] || skip_all "needs root (debootstrap, systemd-nspawn, cgroups)"
[ -z "$DEB" ] || [ -r "$DEB" ] || { echo "Bail out! KSMD_E2E_DEB=$DEB is not readable"; exit 1; }

# Real root, namespaces and a writable cgroup tree are what systemd-nspawn needs; an
# unprivileged container (docker without --privileged, a user namespace, a restricted CI
# runner) lacks one of them.
virt=$( (systemd-detect-virt --container 2>/dev/null) || true)
if [ "$(awk '{ printf "%s %s %s", $1, $2, $3; exit }' /proc/self/uid_map 2>/dev/null)" != "0 0 4294967295" ]; then
	skip_all "running in a user namespace${virt:+ (a '$virt' container)}: debootstrap and systemd-nspawn need the host's root"
fi
capeff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status)
if (( (16#${capeff:-0} >> 21 & 1) == 0 || (16#${capeff:-0} >> 27 & 1) == 0 )); then
	skip_all "no CAP_SYS_ADMIN/CAP_MKNOD${virt:+ (inside a '$virt' container)}: systemd-nspawn cannot boot a container"
fi
if ! unshare --mount --uts --ipc --pid --fork true 2>/dev/null; then
	skip_all "cannot create mount/pid namespaces here${virt:+ (inside a '$virt' container)}, so systemd-nspawn cannot boot a container"
fi
probe_cg=/sys/fs/cgroup/ksmd-e2e-probe-$$
[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || probe_cg=/sys/fs/cgroup/systemd/ksmd-e2e-probe-$$
if ! mkdir "$probe_cg" 2>/dev/null; then
	skip_all "the cgroup tree is not writable${virt:+ (inside a '$virt' container)}, so systemd-nspawn cannot run a container"
fi
rmdir "$probe_cg"

# Host tools, installed with apt-get when missing.
pkgs=()
have systemd-nspawn || pkgs+=(systemd-container)
have debootstrap || pkgs+=(debootstrap)
have zstd || pkgs+=(zstd)
{ have nsenter && have unshare && have flock; } || pkgs+=(util-linux)
have python3 || pkgs+=(python3)
have openssl || pkgs+=(openssl)
if [ -z "$BUILDDIR" ] && [ -z "$DEB" ]; then
	{ have gcc && have make; } || pkgs+=(gcc make libc6-dev)
	have pkg-config || pkgs+=(pkg-config)
	if ! pkg-config --exists libsystemd libcurl json-c libudev yaml-0.1 2>/dev/null; then
		pkgs+=(libsystemd-dev libcurl4-openssl-dev libjson-c-dev libudev-dev libyaml-dev)
	fi
	[ -x "$SRC/configure" ] || pkgs+=(autoconf automake libtool)
fi
if [ ${#pkgs[@]} -gt 0 ]; then
	have apt-get || skip_all "missing ${pkgs[*]} and no apt-get to install them"
	echo "# apt-get install ${pkgs[*]}"
	{ DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } \
		>/tmp/kubevirt-ksmd-e2e-apt.log 2>&1 ||
		skip_all "apt-get install ${pkgs[*]} failed (see /tmp/kubevirt-ksmd-e2e-apt.log)"
fi
# kubectl drives the API test server like a user would; without it the server's REST API is
# used directly (tests/kube-apiserver.py, same objects, same patches).
if ! have kubectl && have apt-get; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client \
		>/dev/null 2>&1 || true
fi

# ---- work area, TAP, teardown -------------------------------------------------------------------
WORK=$(mktemp -d /tmp/kubevirt-ksmd-e2e.XXXXXX)
chmod 0755 "$WORK"
SB_WORK=$WORK
SB_NAME=ksmd-e2e-$$
SB_CACHE=${KSMD_E2E_CACHE:-/var/cache/kubevirt-ksmd-e2e}
SB_MIRROR=${KSMD_E2E_MIRROR:-}
# shellcheck source=tests/e2e/sandbox.sh
. "$SRC/tests/e2e/sandbox.sh"

KSM=$WORK/ksm                 # the scratch KSM directory, bound over /sys/kernel/mm/ksm
API=$WORK/apiserver           # the Kubernetes API test server's directory
API_PID=
NODE=node01                   # the container's host name, hence the daemon's node name
UNIT=kubevirt-ksmd.service
BUS=org.kubevirt.KSM1
OBJ=/org/kubevirt/KSM1
N=0
FAILED=0

ok() { N=$((N + 1)); echo "ok $N - $*"; }
not_ok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $*"; }
diag() { [ -n "$1" ] && printf '%s\n' "$1" | tail -n "${2:-15}" | sed 's/^/#   /'; return 0; }

# check DESCRIPTION COMMAND...: one TAP line from the command's status; its output on failure.
# (The helpers' locals start with "_" so that conditions given to eval never see them.)
check() {
	local _d=$1 _out _rc; shift
	_out=$("$@" 2>&1); _rc=$?
	if [ $_rc -eq 0 ]; then ok "$_d"; else not_ok "$_d"; diag "$_out"; echo "#   (exit status $_rc)"; fi
}
# wait_until SECONDS COMMAND...: polls every 100 ms until the command succeeds, at most SECONDS.
wait_until() {
	local _end=$(( $(date +%s%N) + $1 * 1000000000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$_end" ] || return 1
		sleep 0.1
	done
}
# eventually DESCRIPTION SECONDS COMMAND...: the condition holds within SECONDS.
eventually() {
	local _d=$1 _t=$2 _out; shift 2
	if wait_until "$_t" "$@"; then ok "$_d"; else
		not_ok "$_d (not within ${_t}s)"; _out=$("$@" 2>&1); diag "$_out"; unit_journal_tail
	fi
}
# stays DESCRIPTION SECONDS COMMAND...: the condition holds now and throughout SECONDS (polled).
stays() {
	local _d=$1 _t=$2 _end; shift 2
	_end=$(( $(date +%s%N) + _t * 1000000000 ))
	while [ "$(date +%s%N)" -lt "$_end" ]; do
		"$@" >/dev/null 2>&1 || { not_ok "$_d (stopped holding)"; unit_journal_tail; return; }
		sleep 0.1
	done
	ok "$_d"
}
unit_journal_tail() {
	[ -n "$SB_LEADER" ] || return 0
	echo "#   --- journalctl -u $UNIT (last 12)"
	diag "$(sb_exec journalctl -u "$UNIT" --no-pager -n 12 -o short-monotonic 2>&1)" 12
}

# Inside the container.
ct() { sb_exec "$@"; }
ct_sh() { sb_exec sh -c "$@"; }
# ct_write PATH: stdin to PATH inside, replaced atomically like an editor does.
ct_write() { sb_exec sh -c 'umask 022; mkdir -p "${1%/*}" && cat >"$1.e2e-tmp" && mv -f "$1.e2e-tmp" "$1"' sh "$1"; }
prop() { ct busctl get-property "$BUS" "$OBJ" "$BUS" "$1" 2>&1; }
prop_is() { [ "$(prop "$1")" = "$2" ]; }
unit_prop() { ct systemctl show -P "$1" "$UNIT" 2>/dev/null; }
unit_is() { [ "$(ct systemctl is-active "$UNIT" 2>/dev/null)" = "$1" ]; }
main_pid() { unit_prop MainPID; }
journal_has() { ct journalctl -u "$UNIT" --no-pager -o verbose "${@:2}" 2>/dev/null | grep -q -- "$1"; }
# On the host.
ksm_is() { [ "$(cat "$KSM/$1" 2>/dev/null)" = "$2" ]; }
json_get() { # json_get FILE labels|annotations KEY
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
print(d.get("metadata", {}).get(sys.argv[2], {}).get(sys.argv[3], "<absent>"))' "$@" 2>/dev/null
}
node_file_is() { [ "$(json_get "$SB_ROOT/etc/kubevirt-ksmd/node.json" "$1" "$2")" = "$3" ]; }
state_claimed() { grep -Eq '"claimed": *true' "$SB_ROOT/var/lib/kubevirt-ksmd/state.json"; }

finish() {
	local rc=0 pids
	trap - EXIT INT TERM
	if [ -n "$API_PID" ]; then kill "$API_PID" 2>/dev/null; wait "$API_PID" 2>/dev/null; API_PID=; fi
	sb_stop >/dev/null || echo "# warning: the container did not stop cleanly"
	pids=$(sb_cgroup_pids)
	[ -z "$pids" ] || echo "# warning: processes left: $pids"
	echo "# e2e duration: $(( $(date +%s) - T_START )) s"
	if [ -n "$SKIPPED" ] && [ "$N" -eq 0 ]; then
		# skip_all already printed the plan ("1..0 # SKIP reason").
		rm -rf "$WORK"
		exit 0
	fi
	echo "1..$N"
	if [ "$FAILED" -ne 0 ] || [ "$N" -eq 0 ]; then rc=1; fi
	if [ "$rc" -eq 0 ] && [ -z "${KSMD_E2E_KEEP:-}" ]; then
		rm -rf "$WORK"
	else
		echo "# kept $WORK"
		[ -d "$SB_ROOT/var/log/journal" ] &&
			echo "# the container's journal: journalctl -D $SB_ROOT/var/log/journal -u $UNIT"
	fi
	exit $rc
}
trap finish EXIT
trap 'echo "Bail out! interrupted"; exit 130' INT TERM
bail() { not_ok "$*"; echo "Bail out! $*"; exit 1; }

# ---- build ----------------------------------------------------------------------------------------
if [ -n "$DEB" ]; then
	echo "# installing $DEB with dpkg inside the container (no build)"
elif [ -n "$BUILDDIR" ]; then
	[ -f "$BUILDDIR/Makefile" ] || bail "--builddir $BUILDDIR is not a configured build tree (no Makefile)"
	for kv in prefix=/usr sysconfdir=/etc localstatedir=/var; do
		got=$(sed -n "s/^${kv%%=*} = //p" "$BUILDDIR/Makefile" | head -n1)
		[ "$got" = "${kv#*=}" ] || bail "--builddir $BUILDDIR has ${kv%%=*}=$got; configure it with --prefix=/usr --sysconfdir=/etc --localstatedir=/var"
	done
	t0=$(date +%s)
	make -C "$BUILDDIR" -s -j"$(nproc)" >"$WORK/build.log" 2>&1 || { diag "$(cat "$WORK/build.log")" 30; bail "make in $BUILDDIR failed"; }
	echo "# build: make in $BUILDDIR, $(( $(date +%s) - t0 )) s"
else
	BUILDDIR=$WORK/build
	t0=$(date +%s)
	if [ ! -x "$SRC/configure" ]; then
		(cd "$SRC" && autoreconf -fi) >"$WORK/build.log" 2>&1 || bail "autoreconf -fi in $SRC failed"
	fi
	mkdir -p "$BUILDDIR"
	(cd "$BUILDDIR" && "$SRC/configure" -q --prefix=/usr --sysconfdir=/etc --localstatedir=/var --disable-tests &&
		make -s -j"$(nproc)") >>"$WORK/build.log" 2>&1 || { diag "$(cat "$WORK/build.log")" 30; bail "configure/make failed"; }
	echo "# build: configure + make in $BUILDDIR, $(( $(date +%s) - t0 )) s"
fi

# ---- the root -------------------------------------------------------------------------------------
t0=$(date +%s)
if ! sb_rootfs; then
	# Nested containers (this test inside systemd-nspawn, say) often cannot create the device
	# nodes and mounts debootstrap needs: that is "cannot run here", not a failure.
	[ -z "$virt" ] || skip_all "debootstrap could not build a Debian root inside this '$virt' container (nested containers lack what it needs; see the log lines above)"
	bail "could not build or restore the Debian 12 root (debootstrap)"
fi
echo "$NODE" >"$SB_ROOT/etc/hostname"
if [ -n "$DEB" ]; then
	mkdir -p "$SB_ROOT/var/cache/ksmd-e2e" && cp "$DEB" "$SB_ROOT/var/cache/ksmd-e2e/" ||
		bail "cannot copy $DEB into the root"
else
	make -C "$BUILDDIR" -s install DESTDIR="$SB_ROOT" >"$WORK/install.log" 2>&1 ||
		{ diag "$(cat "$WORK/install.log")" 30; bail "make install DESTDIR=$SB_ROOT failed"; }
fi
echo "# root ready in $(( $(date +%s) - t0 )) s"

mkdir -p "$KSM" && cp "$SRC"/tests/fixtures/ksm-6.18/* "$KSM"/ || bail "cannot copy the KSM fixture"
echo 0 >"$KSM/run"

# ---- boot -----------------------------------------------------------------------------------------
t0=$(sb_now)
if sb_boot --bind="$KSM:/sys/kernel/mm/ksm"; then
	ok "container booted: systemd is PID 1, system running ($(sb_secs_since "$t0") s)"
else
	bail "container did not boot"
fi
check "the scratch KSM directory is bound over /sys/kernel/mm/ksm" \
	ct_sh 'grep -qx 0 /sys/kernel/mm/ksm/run && test "$(cat /sys/kernel/mm/ksm/pages_to_scan)" = 100'
check "container host name is $NODE" test "$(ct cat /proc/sys/kernel/hostname)" = "$NODE"
if [ -n "$DEB" ]; then
	check "dpkg -i $(basename "$DEB") inside" ct sh -c 'dpkg -i /var/cache/ksmd-e2e/*.deb && systemctl daemon-reload'
fi

FRAG=$(unit_prop FragmentPath)
check "the unit is installed ($FRAG)" test -n "$FRAG"

# ---- static analysis of the installed unit --------------------------------------------------------
out=$(ct systemd-analyze verify --man=no "$FRAG" 2>&1 >/dev/null); rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify: clean"; else
	not_ok "systemd-analyze verify: clean"; diag "$out"; fi
sec=$(ct systemd-analyze security --offline=yes --no-pager "$FRAG" 2>&1)
exposure=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
echo "# exposure: ${exposure:-?}"
if [ -n "$exposure" ] && awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }'; then
	ok "systemd-analyze security --offline=yes: exposure $exposure <= 2.0"
else
	not_ok "systemd-analyze security --offline=yes: exposure ${exposure:-?} <= 2.0"
	diag "$(printf '%s\n' "$sec" | grep '✗')" 40
fi

# ---- start ----------------------------------------------------------------------------------------
check "systemctl enable --now kubevirt-ksmd" ct systemctl enable --now "$UNIT"
check "unit active (Type=notify, READY=1 reached)" unit_is active
check "unit enabled" test "$(ct systemctl is-enabled "$UNIT")" = enabled
status_text=$(unit_prop StatusText)
echo "# StatusText=$status_text"
check "StatusText set by sd_notify and names the node" \
	eval '[[ $status_text == *"node $NODE"* && $status_text == *KSM* ]]'
check "systemctl status shows it running under its unit" \
	ct_sh "systemctl status --no-pager $UNIT | grep -q 'Active: active (running)'"
check "bus name $BUS is owned by $UNIT" \
	ct_sh "busctl list --no-pager | grep -Eq '^$BUS .* $UNIT '"
check "NodeName property is the host name" prop_is NodeName "s \"$NODE\""
pid=$(main_pid)
check "daemon sandbox: no capabilities, no_new_privs, seccomp filter" \
	ct_sh "grep -q '^CapEff:.*0000000000000000' /proc/$pid/status && grep -q '^NoNewPrivs:.*1' /proc/$pid/status && grep -q '^Seccomp:.*2' /proc/$pid/status"

# ---- the file source (the default) ----------------------------------------------------------------
python3 - "$SRC/tests/fixtures/apiserver/kubevirt.json" "$NODE" >"$WORK/kubevirt.json" <<'EOF'
import json, sys
kv = json.load(open(sys.argv[1]))
kv["spec"]["configuration"]["ksmConfiguration"] = {"nodeLabelSelector": {"matchExpressions": [
    {"key": "kubernetes.io/hostname", "operator": "In", "values": [sys.argv[2]]}]}}
json.dump(kv, sys.stdout, indent=2)
EOF
ct_write /etc/kubevirt-ksmd/node.json <"$SRC/tests/fixtures/apiserver/node01.json"
ct_write /etc/kubevirt-ksmd/kubevirt.json <"$WORK/kubevirt.json"
eventually "file source: selecting the node switches the bound run to 1 (host side)" 10 ksm_is run 1
eventually "file source: label kubevirt.io/ksm-enabled=true written into node.json" 10 \
	node_file_is labels kubevirt.io/ksm-enabled true
eventually "file source: annotation kubevirt.io/ksm-handler-managed=true in node.json" 5 \
	node_file_is annotations kubevirt.io/ksm-handler-managed true
check "file source: the node's other labels are kept" node_file_is labels kubernetes.io/os linux
check "Running, Selected, Managed are true" \
	eval 'prop_is Running "b true" && prop_is Selected "b true" && prop_is Managed "b true"'
check "ownership record written (state.json claimed, mode 0600)" \
	eval 'state_claimed && test "$(stat -c %a "$SB_ROOT/var/lib/kubevirt-ksmd/state.json")" = 600'
eventually "StatusText follows: KSM running (managed), node selected" 5 \
	eval 'unit_prop StatusText | grep -q "^KSM running (managed); node $NODE selected"'

# ---- the system bus -------------------------------------------------------------------------------
check "busctl introspect $BUS $OBJ" ct_sh "busctl introspect --no-pager $BUS $OBJ $BUS |
	grep -q '^\\.Running .*property' && busctl introspect --no-pager $BUS $OBJ $BUS | grep -q '^\\.Unmerge .*method'"
check "busctl get-property ... Running = b true" prop_is Running "b true"
check "kubevirt-ksmctl status" ct_sh "kubevirt-ksmctl status | grep -q $NODE"
t_rec=$(prop LastReconcile); t_rec=${t_rec#t }
check "root may call Reconcile()" ct busctl call "$BUS" "$OBJ" "$BUS" Reconcile
eventually "Reconcile() reconciled (LastReconcile moved)" 5 eval '[ "$(prop LastReconcile | cut -d" " -f2)" -gt "${t_rec:-0}" ]'
for m in Reconcile Unmerge; do
	out=$(ct runuser -u "$SB_USER" -- busctl call "$BUS" "$OBJ" "$BUS" "$m" 2>&1); rc=$?
	if [ $rc -ne 0 ] && [[ $out == *"Access denied"* || $out == *"Rejected send message"* ]]; then
		ok "non-root $m() refused by the bus policy (access denied)"
	else not_ok "non-root $m() refused by the bus policy (access denied)"; diag "$out"; fi
done
check "non-root may read properties" ct runuser -u "$SB_USER" -- busctl get-property "$BUS" "$OBJ" "$BUS" Running
check "non-root may call GetStatistics()" ct_sh "runuser -u $SB_USER -- busctl call $BUS $OBJ $BUS GetStatistics | grep -q pages_sharing"
check "non-root kubevirt-ksmctl unmerge fails" eval '! ct runuser -u "$SB_USER" -- kubevirt-ksmctl unmerge'

# ---- the journal ----------------------------------------------------------------------------------
eventually "journal: KSM_NODE=$NODE on the unit's records" 5 journal_has "KSM_NODE=$NODE"
eventually "journal: KSM_ACTION=start with KSM_RUN=merging" 5 \
	eval 'ct journalctl -u "$UNIT" --no-pager -o verbose KSM_ACTION=start | grep -q KSM_RUN=merging'
check "journal: records attributed to the unit (_SYSTEMD_UNIT)" \
	ct_sh "journalctl --no-pager -o verbose _SYSTEMD_UNIT=$UNIT KSM_ACTION=start | grep -q KSM_NODE=$NODE"

# ---- the journal catalog (catalog/kubevirt-ksmd.catalog, ids in src/message-id.h) -----------------
msgid() { sed -n "s/^#define KSMD_MESSAGE_$1 *\"\\([0-9a-f]*\\)\".*/\\1/p" "$SRC/src/message-id.h"; }
ID_STARTED=$(msgid STARTED) ID_ENABLED=$(msgid KSM_ENABLED) ID_UNMERGED=$(msgid UNMERGED)
ID_RELOADED=$(msgid RELOADED) ID_REFUSED=$(msgid RELOAD_REFUSED) ID_STOPPED=$(msgid STOPPED)
n_catalog=$(grep -c '^-- ' "$SRC/catalog/kubevirt-ksmd.catalog")
check "catalog installed in /usr/lib/systemd/catalog" ct test -f /usr/lib/systemd/catalog/kubevirt-ksmd.catalog
if [ -n "$DEB" ]; then
	# No postinst of ours: systemd's dpkg trigger on /usr/lib/systemd/catalog compiled it.
	check "dpkg -i: systemd's trigger compiled the catalog ($n_catalog entries listed)" \
		eval '[ "$(ct journalctl --list-catalog 2>/dev/null | grep -c " kubevirt-ksmd: ")" -eq "$n_catalog" ]'
fi
check "journalctl --update-catalog, then --list-catalog lists the $n_catalog kubevirt-ksmd entries" \
	eval 'ct journalctl --update-catalog && [ "$(ct journalctl --list-catalog 2>/dev/null | grep -c " kubevirt-ksmd: ")" -eq "$n_catalog" ]'
check "journal: the start record carries MESSAGE_ID=$ID_STARTED" \
	ct_sh "journalctl -u $UNIT --no-pager -o verbose MESSAGE_ID=$ID_STARTED | grep -q 'Started on node $NODE'"
check "journal: the KSM-enabled record carries MESSAGE_ID=$ID_ENABLED and KSM_ACTION=start" \
	ct_sh "journalctl -u $UNIT --no-pager -o verbose MESSAGE_ID=$ID_ENABLED | grep -q KSM_ACTION=start"
check "journal: the start record has one CODE_FUNC, the caller's (manager_start)" \
	eval '[ "$(ct journalctl -u "$UNIT" --no-pager -o verbose MESSAGE_ID=$ID_STARTED -n 1 | grep -c "^ *CODE_FUNC=")" = 1 ] &&
	      ct journalctl -u "$UNIT" --no-pager -o verbose MESSAGE_ID=$ID_STARTED -n 1 | grep -qx " *CODE_FUNC=manager_start"'
ct journalctl -x -u "$UNIT" --no-pager >"$WORK/journal-x.txt" 2>&1
check "journalctl -x -u $UNIT explains the start record (catalog Subject, node substituted)" \
	grep -q "Subject: kubevirt-ksmd started on node $NODE\$" "$WORK/journal-x.txt"
check "journalctl -x -u $UNIT explains the KSM-enabled record (catalog text)" \
	eval 'grep -q "Subject: kubevirt-ksmd switched KSM on for node $NODE\$" "$WORK/journal-x.txt" &&
	      grep -q "kubevirt.io/ksm-handler-managed=true" "$WORK/journal-x.txt"'
check "journalctl -x shows the catalog's Documentation: line" grep -q "Documentation: man:kubevirt-ksmd(8)" "$WORK/journal-x.txt"

# ---- unmerge: the hardened unit forks its child ---------------------------------------------------
check "kubevirt-ksmctl unmerge" ct kubevirt-ksmctl unmerge
eventually "unmerge: journal KSM_ACTION=unmerge KSM_RUN=unmerging" 5 \
	eval 'ct journalctl -u "$UNIT" --no-pager -o verbose KSM_ACTION=unmerge | grep -q KSM_RUN=unmerging'
eventually "unmerge: KSM back to run=1 afterwards" 5 ksm_is run 1
check "unmerge: the record carries MESSAGE_ID=$ID_UNMERGED" \
	ct_sh "journalctl -u $UNIT --no-pager -o verbose MESSAGE_ID=$ID_UNMERGED | grep -q KSM_ACTION=unmerge"

# ---- reload ---------------------------------------------------------------------------------------
pid=$(main_pid)
printf '[KSM]\nPolicy=pressure\n' | ct_write /etc/kubevirt-ksmd.conf.d/50-policy.conf
check "systemctl reload kubevirt-ksmd" ct systemctl reload "$UNIT"
eventually "reload: Policy is now \"pressure\"" 5 prop_is Policy 's "pressure"'
check "reload: same MainPID, still active" eval '[ "$(main_pid)" = "$pid" ] && unit_is active'
eventually "reload: the record carries MESSAGE_ID=$ID_RELOADED" 5 \
	ct_sh "journalctl -u $UNIT --no-pager -o verbose MESSAGE_ID=$ID_RELOADED | grep -q 'policy pressure'"
printf '[KSM]\nPolicy=bogus\n' | ct_write /etc/kubevirt-ksmd.conf.d/50-policy.conf
ct systemctl reload "$UNIT"
eventually "reload of an invalid drop-in is refused: LastError names it" 5 \
	eval 'prop LastError | grep -q 50-policy.conf'
check "refused reload keeps the old Policy and the process" \
	eval 'prop_is Policy "s \"pressure\"" && [ "$(main_pid)" = "$pid" ] && unit_is active'
check "refused reload: the record carries MESSAGE_ID=$ID_REFUSED" \
	ct_sh "journalctl -u $UNIT --no-pager -o verbose MESSAGE_ID=$ID_REFUSED | grep -q 50-policy.conf"
ct rm -f /etc/kubevirt-ksmd.conf.d/50-policy.conf
ct systemctl reload "$UNIT"
eventually "reload without the drop-in: Policy back to \"always\"" 5 prop_is Policy 's "always"'
eventually "policy always: KSM running and managed again" 10 eval 'ksm_is run 1 && prop_is Managed "b true"'

# ---- restart and stop keep the record -------------------------------------------------------------
pid=$(main_pid)
check "systemctl restart kubevirt-ksmd" ct systemctl restart "$UNIT"
check "restart: new MainPID, active" eval '[ "$(main_pid)" != "$pid" ] && unit_is active'
eventually "restart: Managed still true" 10 prop_is Managed "b true"
check "restart: state.json still claimed, KSM still on" eval 'state_claimed && ksm_is run 1'
check "systemctl stop kubevirt-ksmd" ct systemctl stop "$UNIT"
check "stop: unit inactive" unit_is inactive
check "stop: KSM left as it was (run still 1)" ksm_is run 1
check "stop: state.json kept (still claimed)" state_claimed
check "stop: the record carries MESSAGE_ID=$ID_STOPPED" \
	ct_sh "journalctl -u $UNIT --no-pager -o verbose MESSAGE_ID=$ID_STOPPED | grep -q 'KSM is left as it is'"
out=$(ct kubevirt-ksmctl status 2>&1); rc=$?
check "kubevirt-ksmctl status exits 3 while the daemon is stopped" test "$rc" -eq 3
check "systemctl start again" ct systemctl start "$UNIT"
eventually "start: Managed true from the record" 10 prop_is Managed "b true"

# ---- watchdog -------------------------------------------------------------------------------------
printf '[Service]\nWatchdogSec=3s\nRestartSec=1s\n' |
	ct_write /etc/systemd/system/kubevirt-ksmd.service.d/50-e2e-watchdog.conf
ct systemctl daemon-reload
check "watchdog drop-in: restart with WatchdogSec=3s" \
	eval 'ct systemctl restart "$UNIT" && [ "$(unit_prop WatchdogUSec)" = 3s ]'
n0=$(unit_prop NRestarts); pid=$(main_pid)
stays "the daemon keeps the 3 s watchdog fed (same MainPID, active for 5 s)" 5 \
	eval 'unit_is active && [ "$(main_pid)" = "$pid" ]'
check "kill -STOP \$MAINPID ($pid)" ct kill -STOP "$pid"
t0=$(date +%s)
eventually "watchdog: systemd restarts the hung daemon (NRestarts up, new MainPID, active)" 30 \
	eval '[ "$(unit_prop NRestarts)" -gt "$n0" ] && p=$(main_pid) && [ "$p" != 0 ] && [ "$p" != "$pid" ] && unit_is active'
echo "# watchdog restart after $(( $(date +%s) - t0 )) s"
check "watchdog: systemd logged the watchdog timeout" \
	ct_sh "journalctl -u $UNIT --no-pager | grep -q 'Watchdog timeout'"
eventually "watchdog: Managed still true, KSM still on" 10 eval 'prop_is Managed "b true" && ksm_is run 1'
ct rm -f /etc/systemd/system/kubevirt-ksmd.service.d/50-e2e-watchdog.conf
ct rmdir /etc/systemd/system/kubevirt-ksmd.service.d
ct systemctl daemon-reload
check "watchdog restored to the unit's 30s" \
	eval 'ct systemctl restart "$UNIT" && [ "$(unit_prop WatchdogUSec)" = 30s ] && unit_is active'

# ---- the Kubernetes source: API test server on the host's loopback ---------------------------------
mkdir -p "$API"
python3 "$SRC/tests/kube-apiserver.py" --dir "$API" >"$WORK/apiserver.log" 2>&1 &
API_PID=$!
if wait_until 30 test -f "$API/ready"; then ok "API test server ready on 127.0.0.1:$(cat "$API/port")"
else not_ok "API test server ready"; diag "$(cat "$WORK/apiserver.log")"; fi
KUBECONFIG_HOST=$API/kubeconfig
KUBECTL=${KSMD_E2E_KUBECTL:-kubectl}
# api METHOD PATH [BODY [CONTENT-TYPE]]: the REST API with the server's token and CA (no kubectl).
api() {
	python3 - "$API" "$@" <<'EOF'
import json, ssl, sys, urllib.request
d, method, path = sys.argv[1:4]
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
ctype = sys.argv[5] if len(sys.argv) > 5 else "application/json"
port = open(d + "/port").read().strip()
token = open(d + "/token").read().strip()
req = urllib.request.Request("https://127.0.0.1:%s%s" % (port, path), data=body, method=method,
                             headers={"Authorization": "Bearer " + token, "Content-Type": ctype})
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())
EOF
}
KV_PATH=/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt
k_create() { # k_create FILE.json COLLECTION-PATH
	if have "$KUBECTL"; then "$KUBECTL" --kubeconfig "$KUBECONFIG_HOST" --cache-dir "$WORK/kube-cache" create -f "$1"
	else api POST "$2" "$(cat "$1")" >/dev/null; fi
}
k_patch_kv() {
	if have "$KUBECTL"; then "$KUBECTL" --kubeconfig "$KUBECONFIG_HOST" --cache-dir "$WORK/kube-cache" -n kubevirt patch kubevirt kubevirt --type merge -p "$1"
	else api PATCH "$KV_PATH" "$1" application/merge-patch+json >/dev/null; fi
}
k_node_is() { # k_node_is labels|annotations KEY VALUE
	local j; j=$(api GET /api/v1/nodes/$NODE) || return 1
	[ "$(printf '%s' "$j" | python3 -c 'import json,sys
print(json.load(sys.stdin)["metadata"].get(sys.argv[1], {}).get(sys.argv[2], "<absent>"))' "$1" "$2")" = "$3" ]
}
echo "# kubectl: $(have "$KUBECTL" && "$KUBECTL" version --client 2>/dev/null | head -n1 || echo "no $KUBECTL, using the REST API")"
check "create Node $NODE and the KubeVirt CR on the server" \
	eval 'k_create "$SRC/tests/fixtures/apiserver/node01.json" /api/v1/nodes &&
	      k_create "$SRC/tests/fixtures/apiserver/kubevirt.json" /apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts'
install -m 0600 "$KUBECONFIG_HOST" "$SB_ROOT/etc/kubevirt-ksmd/kubeconfig"
printf '[Source]\nType=kubernetes\n\n[Kubernetes]\nKubeconfig=/etc/kubevirt-ksmd/kubeconfig\nNodeName=%s\n' "$NODE" |
	ct_write /etc/kubevirt-ksmd.conf.d/60-kubernetes.conf
check "switch to [Source] Type=kubernetes (drop-in) and restart" ct systemctl restart "$UNIT"
eventually "kubernetes: Connected (watches established over 127.0.0.1)" 15 prop_is Connected "b true"
# The fixture's selector (matchLabels kubevirt.io/ksm=true) does not select node01: the KSM this
# daemon switched on from the file source is switched off again.
eventually "kubernetes: node not selected yet: our KSM switched off (run 0)" 10 ksm_is run 0
eventually "kubernetes: Node label kubevirt.io/ksm-enabled=false on the server" 10 \
	k_node_is labels kubevirt.io/ksm-enabled false
# A JSON merge patch merges maps: "matchLabels": null drops the fixture's matchLabels, which
# would otherwise be ANDed with the new expression (and select nothing).
check "kubectl patch the KubeVirt CR: matchExpressions kubernetes.io/hostname In [$NODE]" \
	k_patch_kv "{\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{\"matchLabels\":null,\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[\"$NODE\"]}]}}}}}"
eventually "kubernetes: run becomes 1 (host side)" 10 ksm_is run 1
eventually "kubernetes: Node label kubevirt.io/ksm-enabled=true on the server" 10 \
	k_node_is labels kubevirt.io/ksm-enabled true
eventually "kubernetes: Node annotation kubevirt.io/ksm-handler-managed=true on the server" 10 \
	k_node_is annotations kubevirt.io/ksm-handler-managed true
check "kubernetes: the daemon watches nodes and kubevirts (no polling)" \
	eval 'grep -Eq "^GET /api/v1/nodes\?(.*&)?watch=(1|true)[& ]" "$API/requests.log" &&
	      grep -Eq "^GET /apis/kubevirt.io/v1/kubevirts\?(.*&)?watch=(1|true)[& ]" "$API/requests.log"'
check "kubernetes: at most 2 LISTs of each (the watches carry the rest)" \
	eval '[ "$(grep -Ec "^GET /api/v1/nodes\?[^ ]* 200 kubevirt-ksmd" "$API/requests.log")" -ge 1 ] &&
	      [ "$(grep -E "^GET /api/v1/nodes\?[^ ]* 200 kubevirt-ksmd" "$API/requests.log" | grep -Evc "watch=(1|true)")" -le 2 ] &&
	      [ "$(grep -E "^GET /apis/kubevirt.io/v1/kubevirts[? ][^ ]* ?200 kubevirt-ksmd" "$API/requests.log" | grep -Evc "watch=(1|true)")" -le 2 ]'
check "kubernetes: Node patched by the daemon (PATCH /api/v1/nodes/$NODE)" \
	grep -q "^PATCH /api/v1/nodes/$NODE" "$API/requests.log"
check "kubernetes: daemon still active, no error" eval 'unit_is active && prop_is LastError "s \"\""'

# ---- shutdown -------------------------------------------------------------------------------------
kill "$API_PID" 2>/dev/null; wait "$API_PID" 2>/dev/null; API_PID=
t0=$(sb_now)
if sb_stop; then ok "container stopped cleanly in $(sb_secs_since "$t0") s, cgroups removed"
else not_ok "container stopped cleanly, cgroups removed"; fi
check "no process of the sandbox left" test -z "$(sb_cgroup_pids)"
check "KSM left running by the daemon's stop at shutdown (run 1)" ksm_is run 1
