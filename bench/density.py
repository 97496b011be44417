#!/usr/bin/python3
"""bench/density.py — the KSM density benchmark: how fast and how cheaply each KSM tuning
policy saves memory on this machine's real /sys/kernel/mm/ksm.

Run as root on a quiet machine; see bench/README.md. It saves every writable KSM value first
and restores them all on exit, error, Ctrl-C or SIGTERM, and kills every process it started.

    bench/density.py --dry-run                 # the plan and how long it will take
    bench/density.py                           # every policy x every scenario
    bench/density.py --policies ksmd --scenarios burst --merge
    bench/density.py --smoke --policies kernel,ksmd      # a small run, results in /tmp
"""

import argparse
import csv
import datetime
import fcntl
import json
import os
import platform
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

KSM_DIR = "/sys/kernel/mm/ksm"
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
TOP_SRCDIR = os.path.dirname(BENCH_DIR)
DEFAULT_BUILD_DIR = "/tmp/b-bench"
LOCK_FILE = "/run/lock/kubevirt-ksmd-density.lock"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1 << 20

# Kernel defaults of the scan rate (mm/ksm.c); every run starts from them with KSM stopped.
KERNEL_PAGES_TO_SCAN = 100
KERNEL_SLEEP_MSECS = 20

# What is sampled, in this order, into the CSV. Missing files (older kernels) give empty cells.
SAMPLED = ["run", "pages_sharing", "pages_shared", "pages_unshared", "pages_volatile",
           "full_scans", "general_profit", "ksm_zero_pages", "pages_scanned", "pages_to_scan",
           "sleep_millisecs"]

POLICIES = {
    "kernel": "kernel defaults: run=1 at 100 pages / 20 ms",
    "ksmtuned": "Debian's ksmtuned package: ksm.service's `ksmctl start`, then ksmtuned's own loop",
    "advisor": "the kernel's scan-time advisor (advisor_mode=scan-time, its own defaults)",
    "kubevirt": "upstream KubeVirt's rule: kubevirt-ksmd Policy=pressure, node annotated "
                "kubevirt.io/ksm-free-percent-override: \"1.0\" (pressure condition met)",
    "ksmd": "kubevirt-ksmd's default configuration (no Policy= key)",
}
DAEMON_POLICIES = ("kubevirt", "ksmd")

# name: (processes, MiB per process); second-wave is burst followed by a second burst.
SCENARIOS = {"burst": (4, 512), "second-wave": (4, 512), "large": (8, 1024)}

# Rough costs for the up-front estimate, measured on the 2-vCPU VM (busy: page faults got 5x
# slower while others compiled): filling takes 0.3-1.7 s per GiB, a reset with the workload
# killed and everything unmerged a few seconds.
FILL_SECONDS_PER_GIB = 1.7
FILL_SECONDS_MIN = 3.0
RESET_SECONDS = 5.0
TEARDOWN_SECONDS = 5.0


class Interrupted(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def fmt_s(v, digits=1):
    return "—" if v is None else f"{v:.{digits}f}"


# --- KSM sysfs ------------------------------------------------------------------------------------

class Ksm:
    """The KSM directory: typed reads, writes, and the writable values."""

    def __init__(self, d=KSM_DIR):
        self.dir = d

    def path(self, name):
        return os.path.join(self.dir, name)

    def has(self, name):
        return os.path.exists(self.path(name))

    def read(self, name):
        with open(self.path(name)) as f:
            v = f.read().strip()
        # Choice files read "[none] scan-time": the bracketed word is the value.
        if "[" in v:
            v = v[v.index("[") + 1:v.index("]")]
        return v

    def read_int(self, name):
        try:
            return int(self.read(name))
        except (OSError, ValueError):
            return None

    def write(self, name, value):
        with open(self.path(name), "w") as f:
            f.write(f"{value}\n")

    def writable(self):
        # By mode bits: access(W_OK) is always true for root.
        return sorted(n for n in os.listdir(self.dir)
                      if os.stat(self.path(n)).st_mode & stat.S_IWUSR)

    def snapshot(self):
        return {n: self.read(n) for n in self.writable()}

    def apply(self, values, run="0"):
        """Unmerge everything, stop, write `values` where they differ, then set `run`.
        advisor_mode goes before pages_to_scan: writing it resets pages_to_scan.
        merge_across_nodes and max_page_sharing only change with nothing merged, hence after
        run=2. Returns the list of failures ("name=value: reason")."""
        errors = []
        for v in ("2", "0"):
            try:
                self.write("run", v)
            except OSError as e:
                errors.append(f"run={v}: {e.strerror}")
        first = [n for n in ("advisor_mode", "pages_to_scan", "sleep_millisecs") if n in values]
        rest = [n for n in sorted(values) if n not in first and n != "run"]
        for name in first + rest:
            try:
                if self.read(name) != values[name]:
                    self.write(name, values[name])
            except OSError as e:
                errors.append(f"{name}={values[name]}: {e.strerror}")
        if run != "0":
            try:
                self.write("run", run)
            except OSError as e:
                errors.append(f"run={run}: {e.strerror}")
        return errors


def find_ksmd_pid():
    """The pid of the kernel thread ksmd (a child of kthreadd, pid 2)."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if f.read().strip() != "ksmd":
                    continue
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] in ("2", "0"):
                return int(d)
        except OSError:
            continue
    return None


def make_cpu_reader(pid):
    """Seconds of CPU used by `pid` since it started: schedstat (ns) where present, else
    utime + stime (fields 14 and 15 of stat, clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    schedstat = f"/proc/{pid}/schedstat"

    def from_schedstat():
        with open(schedstat) as f:
            return int(f.read().split()[0]) / 1e9

    def from_stat():
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks     # stat fields 14 and 15

    try:
        from_schedstat()
        return from_schedstat
    except (OSError, ValueError, IndexError):
        return from_stat


# --- processes ------------------------------------------------------------------------------------

def set_child_subreaper():
    """Orphans of our children (ksmtuned's background loop) become ours, so we can reap them."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)      # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def group_alive(pgid):
    """Whether any process that is not a zombie is left in process group `pgid`."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


class Processes:
    """Every process the benchmark starts, each in its own session, so that stopping one stops
    everything it forked."""

    def __init__(self):
        self.items = []

    def start(self, name, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.items.append((name, p))
        return p

    def stop(self, p, timeout=10.0):
        pgid = p.pid
        for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                pass
            end = time.monotonic() + wait_s
            while time.monotonic() < end:
                reap()
                if p.poll() is not None and not group_alive(pgid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        try:
            p.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        reap()
        self.items = [(n, q) for (n, q) in self.items if q is not p]

    def stop_all(self):
        for _, p in reversed(list(self.items)):
            self.stop(p)


class Workload:
    """One ksm-workload instance (a wave): its plan, its maximum, and when its memory was ready."""

    def __init__(self, procs, binary, args, log_path, name):
        self.plan, self.maxima, self.ready_t, self.fill_s = {}, {}, None, None
        self.ready = threading.Event()
        self.log = open(log_path, "a")
        self.p = procs.start(name, [binary] + args, stdout=subprocess.PIPE, stderr=self.log,
                             text=True)
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.p.stdout:
            self.log.write(line)
            self.log.flush()
            kv = dict(t.split("=", 1) for t in line.split() if "=" in t)
            if line.startswith("plan "):
                self.plan = kv
            elif line.startswith("max_saved_bytes="):
                self.maxima = {k: int(v) for k, v in kv.items()}
            elif line.startswith("ready "):
                self.ready_t = float(kv["monotonic"])
                self.fill_s = float(kv["fill_seconds"])
                self.ready.set()

    def died(self):
        return self.p.poll() is not None


# --- the benchmark --------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.ksm = Ksm()
        self.procs = Processes()
        self.saved = None
        self.results = []
        self.samples = []
        self.invocation = None
        self.workdir = tempfile.mkdtemp(prefix="ksm-density.", dir="/tmp")
        self.workload_bin = None
        self.ksmd_cpu = None
        self.policy_handle = None
        self.started_run_ids = []

    # --- set-up ---

    def compile_workload(self):
        out = os.path.join(self.workdir, "ksm-workload")
        cc = os.environ.get("CC", "cc")
        subprocess.run([cc, "-O2", "-Wall", "-o", out, os.path.join(BENCH_DIR, "ksm-workload.c")],
                       check=True)
        self.workload_bin = out

    def ensure_daemon(self):
        binary = os.path.join(self.args.build_dir, "kubevirt-ksmd")
        if os.access(binary, os.X_OK):
            return
        if os.path.abspath(self.args.build_dir) != DEFAULT_BUILD_DIR:
            sys.exit(f"density: {binary} is missing: build it first, or leave --build-dir at "
                     f"{DEFAULT_BUILD_DIR} to have it built there")
        log(f"==> Building kubevirt-ksmd out of tree in {DEFAULT_BUILD_DIR}")
        os.makedirs(DEFAULT_BUILD_DIR, exist_ok=True)
        subprocess.run(f"{shlex.quote(os.path.join(TOP_SRCDIR, 'configure'))} -q --prefix=/usr "
                       "--sysconfdir=/etc --localstatedir=/var && make -j2 -s",
                       shell=True, cwd=DEFAULT_BUILD_DIR, check=True)

    def ensure_ksmtuned(self):
        if os.access("/usr/sbin/ksmtuned", os.X_OK):
            return
        log("==> Installing Debian's ksmtuned (apt-get install -y ksmtuned)")
        subprocess.run(["apt-get", "install", "-y", "-q", "ksmtuned"], check=True,
                       stdout=subprocess.DEVNULL)
        # Under systemd the package's postinst starts ksm.service and ksmtuned.service; they
        # would fight every policy. Stop them (the package leaves them enabled for next boot).
        if os.path.isdir("/run/systemd/system"):
            log("    systemd runs here: stopping the ksmtuned.service and ksm.service the package started")
            subprocess.run(["systemctl", "stop", "ksmtuned.service", "ksm.service"], check=False)

    def check_quiet(self):
        """Refuse to run over someone else's KSM use: the figures would be meaningless."""
        problems = []
        if self.ksm.read("run") != "0":
            problems.append(f"{KSM_DIR}/run is {self.ksm.read('run')}, not 0")
        for n in ("pages_shared", "pages_sharing"):
            if (self.ksm.read_int(n) or 0) > 0:
                problems.append(f"{n} is {self.ksm.read_int(n)}")
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) == os.getpid():
                continue
            try:
                with open(f"/proc/{d}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            if comm == "ksmtuned":
                problems.append(f"ksmtuned is running (pid {d})")
        if problems and not self.args.force:
            sys.exit("density: KSM is in use on this machine (" + "; ".join(problems) +
                     "); stop it first or pass --force")
        for p in problems:
            log(f"    warning (--force): {p}")

    # --- sampling ---

    def sample(self, ctx, scenario, ready_t):
        t = time.monotonic()
        row = {"run_id": ctx["run_id"], "policy": ctx["policy"], "scenario": scenario,
               "t_since_ready": round(t - ready_t, 3) if ready_t is not None else "",
               "t_mono": round(t, 3)}
        for name in SAMPLED:
            row[name] = self.ksm.read_int(name)
        try:
            row["advisor_mode"] = self.ksm.read("advisor_mode")
        except OSError:
            row["advisor_mode"] = ""
        row["ksmd_cpu_s"] = round(self.ksmd_cpu() - ctx["cpu_start"], 4)
        row["saved_bytes"] = ((row["pages_sharing"] or 0) + (row["ksm_zero_pages"] or 0)) * PAGE_SIZE
        self.samples.append(row)
        ctx["rows"].append(row)
        return row

    def tick(self, ctx, scenario, ready_t=None):
        """Sleeps until the next sample is due, then takes it."""
        ctx["next"] = max(ctx["next"] + self.args.interval, time.monotonic() - self.args.interval)
        delay = ctx["next"] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return self.sample(ctx, scenario, ready_t)

    # --- policies ---

    def start_policy(self, policy, rundir):
        if policy == "kernel":
            self.ksm.write("run", 1)
            return None
        if policy == "advisor":
            self.ksm.write("advisor_mode", "scan-time")
            self.ksm.write("run", 1)
            return None
        if policy == "ksmtuned":
            return self.start_ksmtuned(rundir)
        return self.start_daemon(policy, rundir)

    def start_ksmtuned(self, rundir):
        """What ksmtuned.service does (it Requires= ksm.service), without systemd: `ksmctl
        start` with /etc/default/ksm, then the ksmtuned script, which forks its loop and exits.
        Our environment only fills keys /etc/ksmtuned.conf leaves unset."""
        env = dict(os.environ)
        try:
            with open("/etc/default/ksm") as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#") and "=" in line:
                        k, v = line.split("=", 1)
                        env[k.strip()] = v.strip().strip('"')
        except OSError:
            pass
        subprocess.run(["/usr/sbin/ksmctl", "start"], env=env, check=True)
        env.update(PIDFILE=os.path.join(rundir, "ksmtuned.pid"), DEBUG="1",
                   LOGFILE=os.path.join(rundir, "ksmtuned.log"))
        if self.args.ksmtuned_thres_coef is not None:
            env["KSM_THRES_COEF"] = str(self.args.ksmtuned_thres_coef)
        if self.args.ksmtuned_interval is not None:
            env["KSM_MONITOR_INTERVAL"] = str(self.args.ksmtuned_interval)
        p = self.procs.start("ksmtuned", ["/usr/sbin/ksmtuned"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return {"kind": "ksmtuned", "proc": p}

    def start_daemon(self, policy, rundir):
        """kubevirt-ksmd on the file source (node selected by nodeLabelSelector: {}), the real
        KSM directory, a private dbus-daemon and a scratch state directory."""
        sock = os.path.join(rundir, "bus.sock")
        with open(os.path.join(rundir, "bus.conf"), "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" '
                    '"https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    f'<busconfig><type>system</type><listen>unix:path={sock}</listen>'
                    '<auth>EXTERNAL</auth><policy context="default"><allow user="*"/>'
                    '<allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>'
                    '</policy></busconfig>\n')
        buslog = open(os.path.join(rundir, "dbus.log"), "w")
        bus = self.procs.start("dbus-daemon", ["dbus-daemon", f"--config-file={rundir}/bus.conf",
                                               "--nofork", "--nopidfile"],
                               stdout=buslog, stderr=buslog)
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the private dbus-daemon did not come up")

        node = "bench-node"
        annotations = {}
        if policy == "kubevirt":
            annotations["kubevirt.io/ksm-free-percent-override"] = "1.0"
        kubevirt = {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
                    "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
                    "spec": {"configuration": {"ksmConfiguration": {"nodeLabelSelector": {}}}}}
        nodeobj = {"apiVersion": "v1", "kind": "Node",
                   "metadata": {"name": node, "labels": {"kubernetes.io/hostname": node},
                                "annotations": annotations}}
        with open(os.path.join(rundir, "kubevirt.json"), "w") as f:
            json.dump(kubevirt, f)
        with open(os.path.join(rundir, "node.json"), "w") as f:
            json.dump(nodeobj, f)
        conf = os.path.join(rundir, "kubevirt-ksmd.conf")
        with open(conf, "w") as f:
            f.write(f"[Source]\nType=file\nKubeVirtFile={rundir}/kubevirt.json\n"
                    f"NodeFile={rundir}/node.json\n[KSM]\nSysfsDir={KSM_DIR}\n")
            if policy == "kubevirt":
                f.write("Policy=pressure\n")
        state = os.path.join(rundir, "state")
        os.makedirs(state, exist_ok=True)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={sock}",
                   STATE_DIRECTORY=state, NODE_NAME=node)
        dlog = open(os.path.join(rundir, "kubevirt-ksmd.log"), "w")
        daemon = self.procs.start("kubevirt-ksmd",
                                  [os.path.join(self.args.build_dir, "kubevirt-ksmd"), "--config", conf],
                                  env=env, stdout=dlog, stderr=dlog)
        end = time.monotonic() + 15
        while self.ksm.read("run") != "1":
            if daemon.poll() is not None or time.monotonic() > end:
                with open(os.path.join(rundir, "kubevirt-ksmd.log")) as f:
                    tail = "".join(f.readlines()[-15:])
                raise RuntimeError(f"kubevirt-ksmd did not switch KSM on within 15 s; its log:\n{tail}")
            time.sleep(0.05)
        return {"kind": "daemon", "proc": daemon, "bus": bus, "env": env}

    def bus_record(self, handle):
        """The daemon's own view, for the record only: the figures come from sysfs and /proc."""
        if not handle or handle["kind"] != "daemon":
            return {}
        out = {}
        for prop in ("Policy", "PagesToScan", "SleepMillisecs"):
            try:
                r = subprocess.run(["busctl", "--system", "get-property", "org.kubevirt.KSM1",
                                    "/org/kubevirt/KSM1", "org.kubevirt.KSM1", prop],
                                   env=handle["env"], capture_output=True, text=True, timeout=5)
                if r.returncode == 0:
                    out[prop] = r.stdout.split(None, 1)[1].strip().strip('"')
            except (subprocess.TimeoutExpired, IndexError):
                pass
        return out

    def stop_policy(self, handle):
        if not handle:
            return
        for key in ("proc", "bus"):
            if key in handle:
                self.procs.stop(handle[key])

    # --- one run: a policy on a fresh KSM, one or two waves ---

    def start_wave(self, ctx, instance, procs_n, mib):
        a = self.args
        args = ["--procs", str(procs_n), "--mib", str(mib), "--dup", str(a.dup),
                "--zero", str(a.zero), "--volatile", str(a.volatile),
                "--volatile-ms", str(a.volatile_ms), "--repeat", str(a.repeat),
                "--instance", str(instance), "--seed", str(a.seed)]
        return Workload(self.procs, self.workload_bin, args,
                        os.path.join(ctx["rundir"], "workload.log"), f"workload-{instance}")

    def wait_ready(self, ctx, wl, label):
        end = time.monotonic() + self.args.fill_timeout
        while not wl.ready.is_set():
            if wl.died():
                wl.thread.join(timeout=2)
                if wl.ready.is_set():
                    break
                raise RuntimeError(f"the workload died before its memory was ready "
                                   f"(see {ctx['rundir']}/workload.log)")
            if time.monotonic() > end:
                raise RuntimeError(f"the workload was not ready within {self.args.fill_timeout} s")
            self.tick(ctx, label)

    def measure(self, ctx, scenario, wl, cap):
        """Samples from the wave's 'ready' until 90 % of what is left to save is saved plus the
        after-convergence window, or until the cap."""
        a = self.args
        ready = wl.ready_t
        before = [r for r in ctx["rows"] if r["t_mono"] <= ready] or ctx["rows"][-1:]
        s0 = before[-1]["saved_bytes"] if before else 0
        c0 = before[-1]["ksmd_cpu_s"] if before else 0.0
        target = wl.maxima["max_saved_bytes"]
        remaining = target - s0         # <= 0: all merged already (a tiny wave); done at once
        marks = {}
        rows = []
        last_print = time.monotonic()
        while True:
            r = self.tick(ctx, scenario, ready)
            rows.append(r)
            el = r["t_mono"] - ready
            progress = (r["saved_bytes"] - s0) / remaining if remaining > 0 else 1.0
            for x in (0.5, 0.9):
                if x not in marks and progress >= x:
                    marks[x] = (el, r["ksmd_cpu_s"] - c0, r["saved_bytes"])
            if wl.died():
                raise RuntimeError("the workload died during the measurement")
            if time.monotonic() - last_print >= 10:
                last_print = time.monotonic()
                cpu_pct = self.cpu_pct(rows[-41:])
                log(f"        t={el:5.0f} s  saved {r['saved_bytes'] / MIB:7.0f} MiB "
                    f"({100 * r['saved_bytes'] / max(target, 1):3.0f} % of {target / MIB:.0f})  "
                    f"pages_to_scan {r['pages_to_scan']} sleep {r['sleep_millisecs']} ms  "
                    f"ksmd {fmt_s(cpu_pct)} %")
            if 0.9 in marks and el - marks[0.9][0] >= a.window[1]:
                break
            if el >= cap:
                break

        end = rows[-1]
        el_end = end["t_mono"] - ready
        res = {
            "run_id": ctx["run_id"], "policy": ctx["policy"], "scenario": scenario,
            "procs": int(wl.plan.get("procs", 0)), "mib": int(wl.plan.get("mib", 0)),
            "ksmd_lifetime_cpu_s": round(ctx["cpu_start"], 2),
            "target_bytes": target, "saved_at_ready_bytes": s0,
            "saved_end_bytes": end["saved_bytes"], "duration_s": round(el_end, 1), "cap_s": cap,
            "fill_s": wl.fill_s, "pages_to_scan_end": end["pages_to_scan"],
            "sleep_millisecs_end": end["sleep_millisecs"], "cpu_end_s": round(end["ksmd_cpu_s"] - c0, 3),
        }
        for x, key in ((0.5, "50"), (0.9, "90")):
            m = marks.get(x)
            res[f"t{key}_s"] = round(m[0], 2) if m else None
            res[f"cpu{key}_s"] = round(m[1], 3) if m else None
        if 0.9 in marks:
            t90, cpu90, saved90 = marks[0.9]
            res["mib_per_cpu_s"] = round((saved90 - s0) / MIB / cpu90, 1) if cpu90 > 0 else None
            lo, hi = t90 + a.window[0], min(t90 + a.window[1], el_end)
            win = [r for r in rows if lo <= r["t_mono"] - ready <= hi]
            if len(win) >= 2 and win[-1]["t_mono"] - win[0]["t_mono"] >= a.min_window:
                res["cpu_after_pct"] = round(self.cpu_pct(win), 2)
                res["cpu_after_window_s"] = [round(win[0]["t_mono"] - ready, 1),
                                             round(win[-1]["t_mono"] - ready, 1)]
        else:
            cpu = end["ksmd_cpu_s"] - c0
            res["mib_per_cpu_s"] = (round((end["saved_bytes"] - s0) / MIB / cpu, 1)
                                    if cpu > 0 else None)
        res.setdefault("cpu_after_pct", None)
        return res

    @staticmethod
    def cpu_pct(rows):
        if len(rows) < 2:
            return None
        dt = rows[-1]["t_mono"] - rows[0]["t_mono"]
        return 100.0 * (rows[-1]["ksmd_cpu_s"] - rows[0]["ksmd_cpu_s"]) / dt if dt > 0 else None

    def run_group(self, index, total, policy, group):
        a = self.args
        scen = "large" if group == "large" else "burst"
        run_id = f"{policy}/{group}"
        # No "+" in it: the private bus's socket lives there, and D-Bus addresses must escape it.
        rundir = os.path.join(self.workdir, f"{index:02d}-{policy}-{group.replace('+', '-')}")
        os.makedirs(rundir, exist_ok=True)
        procs_n, mib = a.sizes[scen]
        log(f"\n==> [{index}/{total}] {policy} × {group}: {procs_n} × {mib} MiB, "
            f"{a.dup * 100:.0f} % duplicate")

        errors = self.ksm.apply(self.baseline())
        if errors:
            raise RuntimeError("could not reset KSM: " + "; ".join(errors))
        ctx = {"run_id": run_id, "policy": policy, "rundir": rundir, "rows": [],
               "cpu_start": self.ksmd_cpu(), "next": time.monotonic()}
        log(f"    ksmd CPU since boot: {ctx['cpu_start']:.2f} s")
        self.started_run_ids.append(run_id)
        try:
            self.policy_handle = self.start_policy(policy, rundir)
            end = time.monotonic() + a.preroll
            while time.monotonic() < end:
                self.tick(ctx, "pre")

            wl1 = self.start_wave(ctx, 0, procs_n, mib)
            self.wait_ready(ctx, wl1, "fill")
            log(f"    memory ready after {wl1.fill_s:.1f} s; attainable "
                f"{wl1.maxima['max_saved_bytes'] / MIB:.0f} MiB")
            res = self.measure(ctx, scen, wl1, a.cap)
            res["bus"] = self.bus_record(self.policy_handle)
            self.results.append(res)
            self.print_result(res)

            if group == "burst+second-wave":
                wl2 = self.start_wave(ctx, 1, procs_n, mib)
                self.wait_ready(ctx, wl2, "fill2")
                log(f"    second wave ready after {wl2.fill_s:.1f} s; attainable with both "
                    f"{wl2.maxima['max_saved_bytes'] / MIB:.0f} MiB")
                res = self.measure(ctx, "second-wave", wl2, a.wave2_cap)
                res["wave1_converged"] = self.results[-1]["t90_s"] is not None
                res["bus"] = self.bus_record(self.policy_handle)
                self.results.append(res)
                self.print_result(res)
        finally:
            handle, self.policy_handle = self.policy_handle, None
            self.stop_policy(handle)
            self.procs.stop_all()

    def baseline(self):
        """The machine's saved values, with the scan rate at the kernel defaults and no advisor."""
        v = dict(self.saved)
        if "advisor_mode" in v:
            v["advisor_mode"] = "none"
        v["pages_to_scan"] = str(KERNEL_PAGES_TO_SCAN)
        v["sleep_millisecs"] = str(KERNEL_SLEEP_MSECS)
        return v

    def print_result(self, r):
        cap = f"> {r['cap_s']:.0f}"
        t50 = fmt_s(r["t50_s"]) if r["t50_s"] is not None else cap
        t90 = fmt_s(r["t90_s"]) if r["t90_s"] is not None else cap
        log(f"    {r['scenario']}: t50 {t50} s, t90 {t90} s; ksmd CPU-s to 50 % {fmt_s(r['cpu50_s'], 2)}, "
            f"to 90 % {fmt_s(r['cpu90_s'], 2)}; after 90 %: {fmt_s(r['cpu_after_pct'], 2)} % of a core; "
            f"{fmt_s(r['mib_per_cpu_s'])} MiB per CPU-s; saved {r['saved_end_bytes'] / MIB:.0f} of "
            f"{r['target_bytes'] / MIB:.0f} MiB")

    # --- output ---

    CSV_FIELDS = ["run_id", "policy", "scenario", "t_since_ready", "t_mono"] + SAMPLED + \
        ["advisor_mode", "ksmd_cpu_s", "saved_bytes"]

    def csv_path(self):
        return os.path.join(self.args.out, "density-samples.csv")

    def write_samples_csv(self, run_ids):
        """The samples of this invocation; with --merge, after the kept rows of runs not redone."""
        kept = []
        if self.args.merge and os.path.exists(self.csv_path()):
            with open(self.csv_path(), newline="") as f:
                kept = [r for r in csv.DictReader(f) if r["run_id"] not in run_ids]
        with open(self.csv_path(), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
            w.writeheader()
            w.writerows(kept)
            w.writerows(self.samples)

    def write_report(self, run_ids, status):
        a = self.args
        os.makedirs(a.out, exist_ok=True)
        self.write_samples_csv(run_ids)
        path = os.path.join(a.out, "density-runs.json")
        data = {"invocations": [], "results": []}
        if a.merge and os.path.exists(path):
            with open(path) as f:
                data = json.load(f)
            data["results"] = [r for r in data["results"] if r["run_id"] not in run_ids]
        self.invocation["status"] = status
        data["invocations"].append(self.invocation)
        data["results"].extend(self.results)
        with open(path, "w") as f:
            json.dump(data, f, indent=1)
        self.write_markdown(data)
        self.write_plots(data)

    def write_markdown(self, data):
        order_p = list(POLICIES)
        order_s = list(SCENARIOS)
        res = sorted(data["results"], key=lambda r: (order_s.index(r["scenario"]),
                                                     order_p.index(r["policy"])))
        L = ["# KSM density benchmark", ""]
        for inv in data["invocations"]:
            L += [f"- {inv['date']} on {inv['machine']}; kernel {inv['kernel']}; "
                  f"{inv['status']}:", f"  `{inv['command']}`"]
            L += [f"  - {x}" for x in inv["notes"]]
        L += ["", "| policy | scenario | ksmd CPU-s since boot at start | attainable MiB | "
              "saved at end MiB | t50 s | t90 s | ksmd CPU-s to 50 % | ksmd CPU-s to 90 % | "
              "ksmd % of a core after 90 % | MiB saved per ksmd CPU-s | pages_to_scan / sleep ms at end |",
              "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
        for r in res:
            cap = f"> {r['cap_s']:.0f}"
            gain = r["target_bytes"] - r["saved_at_ready_bytes"]
            pct = 100 * (r["saved_end_bytes"] - r["saved_at_ready_bytes"]) / gain if gain > 0 else 0
            scen = r["scenario"] + ("" if r.get("wave1_converged", True) else " (wave 1 not converged)")
            after = "—"
            if r["cpu_after_pct"] is not None:
                w = r["cpu_after_window_s"]
                after = f"{r['cpu_after_pct']:.2f} ({w[0]:.0f}–{w[1]:.0f} s)"
            bus = r.get("bus") or {}
            pol = r["policy"] + (f" ({bus['Policy']})" if bus.get("Policy") else "")
            L.append("| " + " | ".join([
                pol, scen, f"{r['ksmd_lifetime_cpu_s']:.1f}", f"{r['target_bytes'] / MIB:.0f}",
                f"{r['saved_end_bytes'] / MIB:.0f} ({pct:.0f} %)",
                fmt_s(r["t50_s"]) if r["t50_s"] is not None else cap,
                fmt_s(r["t90_s"]) if r["t90_s"] is not None else cap,
                fmt_s(r["cpu50_s"], 2) if r["cpu50_s"] is not None else f"> {r['cpu_end_s']:.2f}",
                fmt_s(r["cpu90_s"], 2) if r["cpu90_s"] is not None else f"> {r['cpu_end_s']:.2f}",
                after, fmt_s(r["mib_per_cpu_s"]),
                f"{r['pages_to_scan_end']} / {r['sleep_millisecs_end']}"]) + " |")
        L += ["", "Policies:", ""] + [f"- `{k}`: {v}" for k, v in POLICIES.items()]
        L += ["", "Columns:", "",
              "- Times are seconds from the wave's `ready` (all its processes filled and "
              "`MADV_MERGEABLE`); \"> N\" means not reached within the cap of N s.",
              "- Saved = (pages_sharing + ksm_zero_pages) × page size. Attainable = the "
              "workload's theoretical maximum (all copies but one of each content, "
              "max_page_sharing respected); for second-wave, of both waves together.",
              "- t50/t90: first sample where what was saved since `ready` reached 50 %/90 % of "
              "what was left to save at `ready`.",
              "- ksmd CPU-s: CPU of the ksmd kernel thread (/proc/PID/schedstat) from `ready`. "
              "\"> N\": not reached; N is what it had used by the cap.",
              "- After 90 %: ksmd's CPU in % of one core over the window shown (seconds from "
              "`ready`), which starts a fixed time after t90; — when the run did not converge "
              "or the window did not fit in the cap.",
              "- MiB saved per ksmd CPU-s: up to t90, or up to the cap when not converged.",
              "- ksmd CPU-s since boot: the scan-time advisor sizes its rate from it.",
              "- Raw samples: density-samples.csv; all figures: density-runs.json; plots: "
              "density-SCENARIO.png."]
        with open(os.path.join(self.args.out, "density.md"), "w") as f:
            f.write("\n".join(L) + "\n")

    def write_plots(self, data):
        plt = import_matplotlib()
        if plt is None:
            log("    matplotlib missing: no plots")
            return
        rows_by = {}
        with open(self.csv_path(), newline="") as f:
            for r in csv.DictReader(f):
                if r["t_since_ready"] == "" or r["scenario"] not in SCENARIOS:
                    continue
                rows_by.setdefault((r["scenario"], r["policy"]), []).append(r)
        for scen in SCENARIOS:
            res = [r for r in data["results"] if r["scenario"] == scen]
            if not res:
                continue
            fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 7.5), sharex=True,
                                           gridspec_kw={"height_ratios": [3, 1.4]})
            for r in sorted(res, key=lambda x: list(POLICIES).index(x["policy"])):
                rows = rows_by.get((scen, r["policy"]), [])
                rows = [x for x in rows if float(x["t_since_ready"]) >= 0]
                if not rows:
                    continue
                t = [float(x["t_since_ready"]) for x in rows]
                saved = [int(x["saved_bytes"]) / MIB for x in rows]
                line, = ax1.plot(t, saved, label=r["policy"])
                cpu_t, cpu = [], []
                step = max(1, int(round(2.0 / self.args.interval)))     # 2-second average
                for i in range(step, len(rows), step):
                    dt = float(rows[i]["t_mono"]) - float(rows[i - step]["t_mono"])
                    if dt > 0:
                        cpu_t.append(t[i])
                        cpu.append(100 * (float(rows[i]["ksmd_cpu_s"]) -
                                          float(rows[i - step]["ksmd_cpu_s"])) / dt)
                ax2.plot(cpu_t, cpu, color=line.get_color())
            target = max(r["target_bytes"] for r in res) / MIB
            ax1.axhline(target, color="grey", linestyle="--", linewidth=1)
            ax1.annotate(f"attainable {target:.0f} MiB", (0, target), textcoords="offset points",
                         xytext=(4, -12), color="grey", fontsize=8)
            p, m = res[0]["procs"], res[0]["mib"]
            ax1.set_title(f"{scen}: {p} × {m} MiB, {self.args.dup * 100:.0f} % duplicate"
                          + (" (second wave; saved counts both waves)" if scen == "second-wave" else ""))
            ax1.set_ylabel("saved MiB")
            ax1.grid(alpha=0.3)
            ax1.legend(loc="best")
            ax2.set_ylabel("ksmd % of a core")
            ax2.set_xlabel("seconds since the memory was ready")
            ax2.grid(alpha=0.3)
            fig.tight_layout()
            fig.savefig(os.path.join(self.args.out, f"density-{scen}.png"), dpi=110)
            plt.close(fig)

    # --- whole benchmark ---

    def run(self, groups):
        a = self.args
        self.compile_workload()
        pid = find_ksmd_pid()
        if pid is None:
            sys.exit("density: no ksmd kernel thread found")
        self.ksmd_cpu = make_cpu_reader(pid)

        self.saved = self.ksm.snapshot()
        with open(os.path.join(self.workdir, "ksm-saved.json"), "w") as f:
            json.dump(self.saved, f, indent=1)
        log(f"==> Saved {len(self.saved)} writable KSM values ({self.workdir}/ksm-saved.json)")
        status = "interrupted"
        try:
            if "ksmtuned" in a.policies:
                self.ensure_ksmtuned()
            for i, (policy, group) in enumerate(groups, 1):
                self.run_group(i, len(groups), policy, group)
            status = "complete"
        except Interrupted as e:
            log(f"\n==> Interrupted by {e}; cleaning up")
        except Exception as e:
            status = f"failed: {e}"
            log(f"\n==> Failed: {e}")
            raise
        finally:
            for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(s, signal.SIG_IGN)
            self.stop_policy(self.policy_handle)
            self.procs.stop_all()
            errors = self.ksm.apply(self.saved, run=self.saved.get("run", "0"))
            now = self.ksm.snapshot()
            diff = [f"{k}: {self.saved[k]} -> {now.get(k)}" for k in self.saved if now.get(k) != self.saved[k]]
            if errors or diff:
                log("==> WARNING: KSM not fully restored: " + "; ".join(errors + diff))
            else:
                log(f"==> KSM restored: all {len(self.saved)} writable values as found")
            if self.results:
                self.write_report(self.started_run_ids, status)
                log(f"==> Results in {a.out}/ (density.md, density-*.png, density-samples.csv, "
                    f"density-runs.json)")
            log(f"==> Logs of this invocation: {self.workdir}")
        return status == "complete"


def import_matplotlib():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        return plt
    except ImportError:
        return None


def ensure_matplotlib():
    """Debian's python3-matplotlib is for /usr/bin/python3: under another interpreter without
    matplotlib, re-execute under that one; install the package if it lacks it too. Only called
    before KSM is touched."""
    if import_matplotlib():
        return
    debian = "/usr/bin/python3"
    if os.path.exists(debian) and os.path.realpath(sys.executable) != os.path.realpath(debian):
        os.execv(debian, [debian, os.path.abspath(__file__)] + sys.argv[1:])
    log("==> Installing python3-matplotlib (apt-get install -y python3-matplotlib)")
    subprocess.run(["apt-get", "install", "-y", "-q", "python3-matplotlib"], check=True,
                   stdout=subprocess.DEVNULL)
    if not import_matplotlib():
        sys.exit("density: matplotlib is still missing after installing python3-matplotlib")


def parse_size(s):
    try:
        name, nm = s.split("=", 1)
        n, m = nm.lower().split("x", 1)
        if name not in ("burst", "second-wave", "large"):
            raise ValueError
        return name, (int(n), int(m))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected burst=NxMIB or large=NxMIB, got '{s}'")


def parse_list(known):
    def parse(s):
        items = [x.strip() for x in s.split(",") if x.strip()]
        bad = [x for x in items if x not in known]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {', '.join(bad) or 'empty list'}; "
                                             f"choose from {', '.join(known)}")
        return items
    return parse


def parse_window(s):
    try:
        lo, hi = (float(x) for x in s.split(":"))
        if not 0 <= lo < hi:
            raise ValueError
        return lo, hi
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:END seconds after t90, got '{s}'")


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="KSM density benchmark on the real /sys/kernel/mm/ksm (run as root, on a quiet machine).")
    p.add_argument("--policies", type=parse_list(list(POLICIES)), default=list(POLICIES),
                   help="comma-separated, from: " + ", ".join(POLICIES) + " (default: all)")
    p.add_argument("--scenarios", type=parse_list(list(SCENARIOS)), default=list(SCENARIOS),
                   help="comma-separated, from: burst, second-wave, large (default: all); "
                        "second-wave continues the burst run, so it measures burst as well")
    p.add_argument("--cap", type=float, default=150,
                   help="seconds from a wave's ready after which a policy that has not saved 90 %% "
                        "ends with '> cap' (default 150)")
    p.add_argument("--wave2-cap", type=float, default=120, help="the same for the second wave (default 120)")
    p.add_argument("--window", type=parse_window, default=(30.0, 60.0),
                   help="ksmd CPU after convergence is measured from START to END seconds after "
                        "t90; the run then ends (default 30:60)")
    p.add_argument("--min-window", type=float, default=10,
                   help="shortest window (cut by the cap) still reported, seconds (default 10)")
    p.add_argument("--size", type=parse_size, action="append", default=[],
                   help="processes x MiB per process of a scenario, e.g. burst=4x512 (default) or large=8x1024")
    p.add_argument("--dup", type=float, default=0.75, help="duplicate fraction (default 0.75)")
    p.add_argument("--zero", type=float, default=0.0, help="zero-page fraction (default 0)")
    p.add_argument("--volatile", type=float, default=0.0, help="fraction of pages rewritten all the time (default 0)")
    p.add_argument("--volatile-ms", type=int, default=100, help="their rewrite period (default 100)")
    p.add_argument("--repeat", type=int, default=16, help="copies of each duplicated content per process (default 16)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--interval", type=float, default=0.25, help="sampling period, seconds (default 0.25, at most 0.5)")
    p.add_argument("--preroll", type=float, default=5,
                   help="seconds the policy runs before the workload starts (default 5)")
    p.add_argument("--fill-timeout", type=float, default=180)
    p.add_argument("--build-dir", default=DEFAULT_BUILD_DIR,
                   help=f"where kubevirt-ksmd was built (default {DEFAULT_BUILD_DIR}, built there if missing)")
    p.add_argument("--ksmtuned-thres-coef", type=int, default=100,
                   help="KSM_THRES_COEF for ksmtuned (default 100: its pressure condition is met, as "
                        "for the kubevirt policy; its own default 20 keeps KSM off on a node "
                        "with free memory)")
    p.add_argument("--ksmtuned-interval", type=int, default=None,
                   help="KSM_MONITOR_INTERVAL for ksmtuned (default: its own, 60 s)")
    p.add_argument("--out", default=None, help="results directory (default bench/results)")
    p.add_argument("--merge", action="store_true",
                   help="keep the results of the runs not redone in --out (to rerun single policies)")
    p.add_argument("--smoke", action="store_true",
                   help="a small run: burst=2x64, large=2x128, caps 60/45 s, window 10:30, preroll 3 s, "
                        "results in /tmp/ksm-density-smoke")
    p.add_argument("--force", action="store_true", help="run even though KSM seems in use")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the estimate, touch nothing")
    a = p.parse_args(argv)

    explicit = set(x.split("=", 1)[0].lstrip("-") for x in argv if x.startswith("--"))
    if a.smoke:
        smoke = {"cap": 60, "wave2_cap": 45, "window": (10.0, 30.0), "preroll": 3}
        for k, v in smoke.items():
            if k.replace("_", "-") not in explicit:
                setattr(a, k, v)
        a.size = [("burst", (2, 64)), ("large", (2, 128))] + a.size
        if a.out is None:
            a.out = "/tmp/ksm-density-smoke"
    if a.out is None:
        a.out = os.path.join(BENCH_DIR, "results")
    a.out = os.path.abspath(a.out)
    a.sizes = {k: v for k, v in SCENARIOS.items()}
    for name, nm in a.size:
        a.sizes["burst" if name == "second-wave" else name] = nm
    if not 0 < a.interval <= 0.5:
        p.error("--interval must be in (0, 0.5]")
    if a.dup + a.zero + a.volatile > 1:
        p.error("--dup + --zero + --volatile exceed 1")
    return a


def plan_groups(a):
    """(policy, group) pairs; group is burst, burst+second-wave or large."""
    groups = []
    for policy in a.policies:
        if "second-wave" in a.scenarios:
            groups.append((policy, "burst+second-wave"))
        elif "burst" in a.scenarios:
            groups.append((policy, "burst"))
        if "large" in a.scenarios:
            groups.append((policy, "large"))
    return groups


def estimate_seconds(a, groups):
    """An upper bound: every phase runs to its cap."""
    def fill(scen):
        n, m = a.sizes[scen]
        return max(FILL_SECONDS_MIN, n * m / 1024 * FILL_SECONDS_PER_GIB)
    total = 0.0
    for policy, group in groups:
        scen = "large" if group == "large" else "burst"
        total += RESET_SECONDS + a.preroll + fill(scen) + a.cap + TEARDOWN_SECONDS
        if group == "burst+second-wave":
            total += fill("burst") + a.wave2_cap
    return total


def main(argv):
    a = parse_args(argv)
    if not a.dry_run:
        if os.geteuid() != 0:
            sys.exit("density: must run as root (it drives the real KSM)")
        if not os.path.exists(os.path.join(KSM_DIR, "run")):
            sys.exit(f"density: {KSM_DIR} does not exist: no KSM in this kernel")
        ensure_matplotlib()
        if "advisor" in a.policies and not os.path.exists(os.path.join(KSM_DIR, "advisor_mode")):
            log("    this kernel has no advisor_mode: the advisor policy is left out")
            a.policies.remove("advisor")
    groups = plan_groups(a)
    est_min, est_s = divmod(int(round(estimate_seconds(a, groups))), 60)
    command = shlex.join([sys.argv[0]] + argv)
    log(f"==> KSM density benchmark: {len(a.policies)} policies ({', '.join(a.policies)}) × "
        f"scenarios {', '.join(a.scenarios)} in {len(groups)} runs")
    log(f"    sizes: burst/second-wave {a.sizes['burst'][0]} × {a.sizes['burst'][1]} MiB, "
        f"large {a.sizes['large'][0]} × {a.sizes['large'][1]} MiB, {a.dup * 100:.0f} % duplicate; "
        f"cap {a.cap:.0f} s (second wave {a.wave2_cap:.0f} s); after-90 % window "
        f"{a.window[0]:.0f}–{a.window[1]:.0f} s")
    log(f"    estimated duration: at most {est_min} min {est_s:02d} s (every phase to its cap); "
        f"policies that converge end their phases sooner")
    if a.dry_run:
        for policy, group in groups:
            log(f"    run: {policy} × {group}")
        return 0

    if any(p in DAEMON_POLICIES for p in a.policies):
        for tool in ("dbus-daemon", "busctl"):
            if not shutil.which(tool):
                sys.exit(f"density: {tool} is missing (apt-get install -y dbus systemd)")

    os.makedirs(os.path.dirname(LOCK_FILE), exist_ok=True)
    lock = open(LOCK_FILE, "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"density: another density benchmark holds {LOCK_FILE}: one at a time")

    bench = Bench(a)
    if any(p in DAEMON_POLICIES for p in a.policies):
        bench.ensure_daemon()
    bench.check_quiet()
    set_child_subreaper()

    def on_signal(sig, frame):
        raise Interrupted(signal.Signals(sig).name)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)

    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / (1 << 20)
    saved = bench.ksm.snapshot()
    keep = ("merge_across_nodes", "max_page_sharing", "smart_scan", "use_zero_pages",
            "advisor_target_scan_time", "advisor_max_cpu", "advisor_min_pages_to_scan",
            "advisor_max_pages_to_scan")
    notes = [
        "KSM values kept from the machine: " + ", ".join(f"{k}={saved[k]}" for k in keep if k in saved),
        f"every run starts with everything unmerged, run=0, advisor_mode=none, "
        f"pages_to_scan={KERNEL_PAGES_TO_SCAN}, sleep_millisecs={KERNEL_SLEEP_MSECS}; the policy "
        f"then runs {a.preroll:.0f} s before the workload starts",
        f"workload: burst/second-wave {a.sizes['burst'][0]} × {a.sizes['burst'][1]} MiB, large "
        f"{a.sizes['large'][0]} × {a.sizes['large'][1]} MiB; duplicate {a.dup}, zero {a.zero}, "
        f"volatile {a.volatile} (every {a.volatile_ms} ms), {a.repeat} copies of each duplicated "
        f"content per process, seed {a.seed}; the second wave shares the duplicated content, "
        f"not the unique pages",
        f"caps: {a.cap:.0f} s, second wave {a.wave2_cap:.0f} s; after-90 % window "
        f"{a.window[0]:.0f}–{a.window[1]:.0f} s after t90; samples every {a.interval} s",
        f"ksmtuned: KSM_THRES_COEF={a.ksmtuned_thres_coef}"
        + (f", KSM_MONITOR_INTERVAL={a.ksmtuned_interval}" if a.ksmtuned_interval else
           ", KSM_MONITOR_INTERVAL its default (60 s)") + ", run without systemd: `ksmctl start` then `ksmtuned`",
        f"daemon binary: {os.path.join(a.build_dir, 'kubevirt-ksmd')}" + daemon_version(a),
    ]
    bench.invocation = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{socket.gethostname()}, {os.cpu_count()} vCPUs, {mem_gib:.0f} GiB",
        "kernel": platform.release(), "command": command, "notes": notes,
    }
    try:
        return 0 if bench.run(groups) else 1
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"density: {e}", file=sys.stderr)
        return 1


def daemon_version(a):
    try:
        r = subprocess.run([os.path.join(a.build_dir, "kubevirt-ksmd"), "--version"],
                           capture_output=True, text=True, timeout=5)
        v = r.stdout.strip().splitlines()[0] if r.stdout.strip() else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""
    git = subprocess.run(["git", "-C", TOP_SRCDIR, "describe", "--always", "--dirty"],
                         capture_output=True, text=True).stdout.strip()
    return f" ({v}{', source ' + git if git else ''})"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
