# sandbox.sh — a real systemd (PID 1) with the system bus and journald, booted with
# systemd-nspawn from a minimal Debian 12 root, on a host whose own PID 1 need not be systemd.
# Sourced by tests/e2e/run.sh; every wait in here is a bounded poll on a condition.
#
# Why these nspawn options (see tests/e2e/README.md):
#   --register=no --keep-unit  nspawn otherwise asks the host's systemd (machined, a scope
#                              unit) over the host's system bus; a host without systemd as
#                              PID 1 has neither, and nspawn exits "Failed to open system bus".
#   own cgroup                 with --keep-unit nspawn creates payload/ and supervisor/ below
#                              its *own* cgroup and leaves them behind: the launching subshell
#                              moves itself into a private parent that stop removes.
#   nsenter                    machinectl/systemd-run -M need machined; nsenter into the
#                              container's PID 1 namespaces drives it instead.
#   SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1   pure cgroup2 inside, like a Debian 12 host.
#
# Inputs (set by the caller): SB_WORK (work directory), SB_NAME (machine name, also names the
# cgroups), SB_CACHE (tarball cache directory), SB_MIRROR (optional Debian mirror).

SB_SUITE=bookworm
# procps: ExecReload=/bin/kill; the rest: the daemon's run-time libraries, systemd, the bus.
SB_PACKAGES=systemd,systemd-sysv,dbus,libsystemd0,libcurl4,libjson-c5,libudev1,libyaml-0-2,procps
SB_USER=ksmtest               # the unprivileged user of the bus-policy checks
SB_RECIPE=2                   # bump when the cached root's recipe changes
SB_BOOT_TIMEOUT=${SB_BOOT_TIMEOUT:-60}

SB_ROOT=$SB_WORK/rootfs
SB_LOG=$SB_WORK/nspawn.log
SB_NSPAWN_PID=
SB_LEADER=

sb_log() { printf '# %s\n' "$*"; }
sb_now() { date +%s%N; }
sb_secs_since() { awk -v a="$1" -v b="$(sb_now)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# The bookworm mirror the host's apt already uses (deb822 *.sources, or one-line lists).
sb_host_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
		{
			t = u = s = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:/) t = $i " "
				if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); sub(/[ \t].*/, "", u) }
				if ($i ~ /^Suites:/) s = $i " "
			}
			if (t ~ /[ \t]deb[ \t]/ && s ~ /[ \t]bookworm[ \t]/ && u != "") { print u; exit }
		}' "$f"
	done
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == "bookworm") print $i }'
	echo http://deb.debian.org/debian
}

sb_tarball() {
	local key
	key=$(printf '%s|%s|%s|%s' "$SB_SUITE" "$SB_PACKAGES" "$SB_USER" "$SB_RECIPE" | sha256sum | cut -c1-12)
	printf '%s/%s-minbase-%s.tar.zst' "$SB_CACHE" "$SB_SUITE" "$key"
}

# sb_rootfs: $SB_ROOT from the cached tarball; debootstrap it (about a minute) when the cache
# has none. A lock keeps two concurrent runs from debootstrapping the same tarball twice.
sb_rootfs() {
	local tarball tmp mirror t0 lockfd
	tarball=$(sb_tarball)
	mkdir -p "$SB_CACHE" "$SB_WORK" || return 1
	exec {lockfd}>"$SB_CACHE/.lock"
	flock -w 900 "$lockfd" || { sb_log "cache lock busy"; return 1; }
	if [ ! -s "$tarball" ]; then
		tmp=$SB_WORK/debootstrap
		mirror=${SB_MIRROR:-$(sb_host_mirror | head -n1)}
		t0=$(sb_now)
		sb_log "no cached root: debootstrap $SB_SUITE --variant=minbase from $mirror (1-4 minutes, the mirror decides)"
		if ! debootstrap --variant=minbase --include="$SB_PACKAGES" "$SB_SUITE" "$tmp" "$mirror" \
			>"$SB_WORK/debootstrap.log" 2>&1; then
			sed 's/^/#   /' "$SB_WORK/debootstrap.log" | tail -n 20
			exec {lockfd}>&-
			return 1
		fi
		chroot "$tmp" useradd --create-home --user-group --shell /bin/bash "$SB_USER" &&
		chroot "$tmp" apt-get clean &&
		rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/log/*.log "$tmp"/var/cache/debconf/*-old &&
		{ [ -s "$tmp/etc/machine-id" ] || chroot "$tmp" systemd-machine-id-setup >/dev/null; } || {
			exec {lockfd}>&-; return 1; }
		tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$tmp" -cf - . |
			zstd -q -T0 -3 -o "$tarball.part" && mv "$tarball.part" "$tarball" || {
			rm -f "$tarball.part"; exec {lockfd}>&-; return 1; }
		rm -rf "$tmp"
		sb_log "debootstrap and cache: $(sb_secs_since "$t0") s, $(du -h "$tarball" | cut -f1) in $tarball"
	fi
	exec {lockfd}>&-
	t0=$(sb_now)
	rm -rf "$SB_ROOT" && mkdir -p "$SB_ROOT" || return 1
	zstd -q -d -c "$tarball" | tar --numeric-owner --xattrs --xattrs-include='*' --acls -C "$SB_ROOT" -xpf - ||
		return 1
	sb_log "root restored from $tarball in $(sb_secs_since "$t0") s"
}

# The cgroup parents of this sandbox: name=systemd (v1) and the v2 tree on a hybrid host, the
# v2 root on a pure cgroup2 host.
sb_cgroups() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup/$SB_NAME"
	else
		[ -d /sys/fs/cgroup/systemd ] && echo "/sys/fs/cgroup/systemd/$SB_NAME"
		[ -d /sys/fs/cgroup/unified ] && echo "/sys/fs/cgroup/unified/$SB_NAME"
	fi
	return 0
}

# Every process still in this sandbox's cgroups (there should be none after a stop).
sb_cgroup_pids() {
	local d
	for d in $(sb_cgroups); do
		[ -d "$d" ] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
	done | sort -un
}

sb_cleanup_cgroups() {
	local d
	for d in $(sb_cgroups); do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[ -d "$d" ] && { sb_log "could not remove $d"; return 1; }
	done
	return 0
}

# sb_boot NSPAWN-ARG...: boots $SB_ROOT in the background and waits until the container's
# systemd reports "running" (or gives up after SB_BOOT_TIMEOUT seconds).
sb_boot() {
	local d c end state parents
	parents=$(sb_cgroups)
	for d in $parents; do mkdir -p "$d" || return 1; done
	: >"$SB_LOG"   # O_APPEND below: nspawn and the container console share the file
	(
		for d in $parents; do echo "$BASHPID" >"$d/cgroup.procs"; done
		exec env SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 systemd-nspawn --quiet --directory="$SB_ROOT" \
			--boot --machine="$SB_NAME" --register=no --keep-unit --console=passive \
			--link-journal=no "$@"
	) </dev/null >>"$SB_LOG" 2>&1 &
	SB_NSPAWN_PID=$!
	end=$(( $(date +%s) + SB_BOOT_TIMEOUT ))
	# The container's PID 1 is the nspawn child whose comm became "systemd".
	while :; do
		kill -0 "$SB_NSPAWN_PID" 2>/dev/null || { sb_log "systemd-nspawn exited during boot:"; sed 's/^/#   /' "$SB_LOG"; return 1; }
		if [ -z "$SB_LEADER" ]; then
			for c in $(cat /proc/"$SB_NSPAWN_PID"/task/*/children 2>/dev/null); do
				[ "$(cat /proc/"$c"/comm 2>/dev/null)" = systemd ] && SB_LEADER=$c
			done
		fi
		[ -n "$SB_LEADER" ] && [ -S "/proc/$SB_LEADER/root/run/systemd/private" ] && break
		[ "$(date +%s)" -lt "$end" ] || { sb_log "no manager socket in the container after ${SB_BOOT_TIMEOUT}s"; return 1; }
		sleep 0.05
	done
	state=$(timeout $(( end - $(date +%s) + 1 )) nsenter --target "$SB_LEADER" --all --root --wd \
		systemctl is-system-running --wait 2>/dev/null)
	[ "$state" = running ] && return 0
	sb_log "container state '$state'; failed units:"
	sb_exec systemctl --failed --no-legend --no-pager | sed 's/^/#   /'
	return 1
}

# sb_exec CMD...: runs CMD inside the container (all its namespaces, its root and cwd), with a
# clean environment so that no host variable (DBUS_*, XDG_*) leaks in.
sb_exec() {
	[ -n "$SB_LEADER" ] || { echo "container not booted" >&2; return 125; }
	nsenter --target "$SB_LEADER" --all --root --wd env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		LANG=C.UTF-8 TERM=dumb SYSTEMD_PAGER= SYSTEMD_COLORS=0 HOME=/root "$@"
}

# sb_stop: orderly shutdown (SIGTERM to nspawn = SIGRTMIN+3 to the container's systemd), bounded
# by 30 s, then SIGKILL; removes the cgroups and nspawn's leftover propagation directory.
# Idempotent. Returns non-zero if anything of the sandbox was left running.
sb_stop() {
	local i rc=0 pids
	if [ -n "$SB_NSPAWN_PID" ] && kill -0 "$SB_NSPAWN_PID" 2>/dev/null; then
		kill -TERM "$SB_NSPAWN_PID"
		for i in $(seq 300); do kill -0 "$SB_NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$SB_NSPAWN_PID" 2>/dev/null; then
			sb_log "container did not stop within 30 s: SIGKILL to nspawn $SB_NSPAWN_PID"
			kill -KILL "$SB_NSPAWN_PID" 2>/dev/null
			rc=1
		fi
		wait "$SB_NSPAWN_PID" 2>/dev/null
	fi
	SB_NSPAWN_PID='' SB_LEADER=''
	# Anything still in our cgroups was started by this sandbox: end it by its id.
	pids=$(sb_cgroup_pids)
	if [ -n "$pids" ]; then
		sb_log "processes left in the sandbox cgroups: $(echo $pids)"
		kill -KILL $pids 2>/dev/null
		for i in $(seq 50); do [ -z "$(sb_cgroup_pids)" ] && break; sleep 0.1; done
		rc=1
	fi
	sb_cleanup_cgroups || rc=1
	# nspawn cannot rm -rf below a /run that is not tmpfs; its directory is empty by now.
	rmdir "/run/systemd/nspawn/propagate/$SB_NAME" 2>/dev/null
	return $rc
}
