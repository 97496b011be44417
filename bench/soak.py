#!/usr/bin/env python3
"""soak.py: a long run of kubevirt-ksmd under a stream of KubeVirt CR and Node edits.

One daemon on a private system bus and a scratch KSM directory; the Kubernetes source
against tests/kube-apiserver.py, or the file source (two JSON files). Edits come in bursts
of 1..--burst-max selector changes and node label flips sent back to back; after each burst
the script waits (bounded by --converge-timeout) until the daemon converged on the last
selection: `run` in the scratch sysfs, the label kubevirt.io/ksm-enabled and the annotation
kubevirt.io/ksm-handler-managed all match it. It prints, at the start, every --sample-sec
and at the end, the daemon's VmRSS, VmHWM and open fds, and at the end the number of edits,
the Node writes the daemon made against the real changes of its label/annotation, and the
lines it logged at the default level (info and above) with the most repeated ones.

Usage (root: the bus policy lets only root own org.kubevirt.KSM1):
    python3 bench/soak.py --build-dir BUILD [--source kube|file|both]
        [--kube-minutes 10] [--file-minutes 5] [--burst-max 30] [--seed 1]
        [--converge-timeout 15] [--sample-sec 60] [--keep]
Exit status 0 when every burst converged and the bounds held, 1 otherwise. With $KSMD_VALGRIND
set the daemon runs under valgrind (a memory error or a leak fails the run, exit status 99).
tests/integration/test-soak-short.sh runs it for a few seconds per source in make check.
"""

import argparse
import collections
import http.client
import json
import os
import random
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABEL = "kubevirt.io/ksm-enabled"
ANNOT = "kubevirt.io/ksm-handler-managed"
UA = "ksmd-soak/1"

# The selectors the soak cycles through, with their meaning over the node's soak labels.
# None: nodeLabelSelector absent (nothing selected); "bad": an operator Kubernetes rejects.
SELECTORS = [
    (None, lambda l: False),
    ({}, lambda l: True),
    ({"matchLabels": {"soak/a": "true"}}, lambda l: l.get("soak/a") == "true"),
    ({"matchExpressions": [{"key": "soak/b", "operator": "In", "values": ["x", "y"]}]},
     lambda l: l.get("soak/b") in ("x", "y")),
    ({"matchExpressions": [{"key": "soak/a", "operator": "DoesNotExist"}]},
     lambda l: "soak/a" not in l),
    ({"matchLabels": {"soak/a": "true"},
      "matchExpressions": [{"key": "soak/b", "operator": "NotIn", "values": ["z"]}]},
     lambda l: l.get("soak/a") == "true" and l.get("soak/b") != "z"),
    ({"matchExpressions": [{"key": "soak/a", "operator": "Bogus"}]}, lambda l: False),
]
LABEL_VALUES = {"soak/a": ["true", "false", None], "soak/b": ["x", "y", "z", None]}


def log(*a):
    print(*a, flush=True)


def proc_figures(pid):
    st = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                st[k] = int(v.split()[0])
    st["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return st


def fmt_fig(f):
    return "VmRSS %d kB, VmHWM %d kB, fds %d" % (f["VmRSS"], f["VmHWM"], f["fds"])


def wait_for(cond, timeout, step=0.02):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(step)


def read_text(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def atomic_write(path, obj):
    tmp = path + ".soak-tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


class Env:
    """Scratch directory, private bus, scratch sysfs; the daemon itself."""

    def __init__(self, args, name):
        self.args = args
        self.t = tempfile.mkdtemp(prefix="ksmd-soak-%s." % name)
        os.chmod(self.t, 0o755)
        self.sysfs = os.path.join(self.t, "ksm")
        shutil.copytree(os.path.join(SRC, "tests/fixtures/ksm-6.18"), self.sysfs)
        for k, v in (("run", "0"), ("pages_to_scan", "333"), ("sleep_millisecs", "44")):
            with open(os.path.join(self.sysfs, k), "w") as f:
                f.write(v + "\n")
        self.state = os.path.join(self.t, "state")
        os.mkdir(self.state)
        self.log = os.path.join(self.t, "ksmd.log")
        self.conf = os.path.join(self.t, "ksmd.conf")
        self.bus = None
        self.ksmd = None
        self.procs = []

    def start_bus(self):
        sock = os.path.join(self.t, "bus.sock")
        conf = os.path.join(self.t, "bus.conf")
        with open(conf, "w") as f:
            f.write('<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" '
                    '"https://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
                    '<busconfig><type>system</type><listen>unix:path=%s</listen><auth>EXTERNAL</auth>'
                    '<policy context="default"><allow user="*"/><allow own="*"/>'
                    '<allow send_type="method_call"/><allow send_destination="*"/>'
                    '<allow receive_sender="*"/></policy></busconfig>\n' % sock)
        self.bus = subprocess.Popen(["dbus-daemon", "--config-file=" + conf, "--nofork", "--nopidfile",
                                     "--nosyslog"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(self.bus)
        if not wait_for(lambda: os.path.exists(sock), 5):
            raise SystemExit("dbus-daemon did not start")
        self.bus_addr = "unix:path=" + sock

    def start_daemon(self, conf_text):
        with open(self.conf, "w") as f:
            f.write(conf_text)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=self.bus_addr, NODE_NAME="node01",
                   STATE_DIRECTORY=self.state)
        env.pop("JOURNAL_STREAM", None)
        self.logf = open(self.log, "ab")
        wrap = []
        if os.environ.get("KSMD_VALGRIND"):
            # As the integration tests do: a memory error or a leak is exit status 99.
            wrap = ["valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                    "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
                    "--log-file=" + os.path.join(self.t, "valgrind.log")]
        self.ksmd = subprocess.Popen(wrap + [os.path.join(self.args.build_dir, "kubevirt-ksmd"), "--config", self.conf,
                                             "--log-level=debug"], env=env, stdout=self.logf, stderr=self.logf)
        self.procs.append(self.ksmd)

    def run_is(self, v):
        return read_text(os.path.join(self.sysfs, "run")) == v

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        rc = self.ksmd.returncode if self.ksmd else None
        vg = os.path.join(self.t, "valgrind.log")
        if rc == 99 and os.path.exists(vg):
            with open(vg, errors="replace") as f:
                for line in f:
                    log("# valgrind: " + line.rstrip())
        if not self.args.keep:
            shutil.rmtree(self.t, ignore_errors=True)
        else:
            log("# kept", self.t)
        return rc

    def log_lines(self):
        """(lines at info level and above, Counter of their texts with numbers masked)."""
        n, c = 0, collections.Counter()
        with open(self.log, errors="replace") as f:
            for line in f:
                if line.startswith("<debug>"):
                    continue
                n += 1
                c[re.sub(r"\d+", "N", line.strip())[:160]] += 1
        return n, c

    def debug_count(self, needle):
        with open(self.log, errors="replace") as f:
            return sum(1 for line in f if needle in line)

    def file_writebacks(self, skip):
        """(write-backs after the first skip, how many of them changed the label/annotation pair).

        Only the daemon writes the pair (the soak's editor keeps it), so a write-back that
        brings the same pair as the one before it changes nothing real."""
        n = real = 0
        pair = None
        with open(self.log, errors="replace") as f:
            for line in f:
                if not line.startswith("<debug> Patched Node file "):
                    continue
                patch = json.loads(line.split(" with ", 1)[1])
                md = patch.get("metadata", {})
                new = ((md.get("labels") or {}).get(LABEL, pair[0] if pair else None),
                       (md.get("annotations") or {}).get(ANNOT, pair[1] if pair else None))
                if skip > 0:
                    skip -= 1
                else:
                    n += 1
                    real += new != pair
                pair = new
        return n, real


class Kube:
    """HTTPS client of the API test server (one kept-alive connection)."""

    def __init__(self, kdir):
        self.kdir = kdir
        self.port = int(open(os.path.join(kdir, "port")).read())
        self.token = open(os.path.join(kdir, "token")).readline().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(kdir, "ca.crt"))
        self.conn = None

    def request(self, method, path, body=None, ctype="application/merge-patch+json"):
        hdrs = {"Accept": "application/json", "User-Agent": UA, "Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = ctype
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
                self.conn.request(method, path, data, hdrs)
                r = self.conn.getresponse()
                raw = r.read()
                if r.status >= 300:
                    raise RuntimeError("%s %s: HTTP %d %s" % (method, path, r.status, raw[:200]))
                return json.loads(raw) if raw else None
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise


class NodeWatch(threading.Thread):
    """Follows node01 on the server; counts the real changes of the label/annotation pair."""

    def __init__(self, kube):
        super().__init__(daemon=True)
        self.kube = kube
        self.pair = None
        self.changes = 0
        self.lock = threading.Lock()
        self.stop = False

    def run(self):
        rv = "0"
        while not self.stop:
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", self.kube.port, context=self.kube.ctx, timeout=3600)
                conn.request("GET", "/api/v1/nodes?watch=true&fieldSelector=metadata.name%%3Dnode01&resourceVersion=%s"
                             % rv, headers={"Authorization": "Bearer " + self.kube.token, "User-Agent": UA})
                r = conn.getresponse()
                while not self.stop:
                    line = r.readline()
                    if not line:
                        break
                    ev = json.loads(line)
                    md = ev["object"].get("metadata", {})
                    if ev["type"] == "ERROR":
                        rv = "0"
                        break
                    rv = md.get("resourceVersion", rv)
                    pair = ((md.get("labels") or {}).get(LABEL), (md.get("annotations") or {}).get(ANNOT))
                    with self.lock:
                        if self.pair is not None and pair != self.pair:
                            self.changes += 1
                        self.pair = pair
            except (OSError, http.client.HTTPException, ValueError):
                time.sleep(0.2)

    def get(self):
        with self.lock:
            return self.pair, self.changes


def random_edit(rng, sel_idx, labels):
    """One edit: ("sel", index) or ("label", key, value or None)."""
    if rng.random() < 0.4:
        return ("sel", rng.randrange(len(SELECTORS)))
    k = rng.choice(sorted(LABEL_VALUES))
    return ("label", k, rng.choice(LABEL_VALUES[k]))


def kubevirt_obj(selector_idx):
    sel = SELECTORS[selector_idx][0]
    conf = {"developerConfiguration": {"featureGates": []}}
    if sel is not None:
        conf["ksmConfiguration"] = {"nodeLabelSelector": sel}
    return {"apiVersion": "kubevirt.io/v1", "kind": "KubeVirt",
            "metadata": {"name": "kubevirt", "namespace": "kubevirt"},
            "spec": {"configuration": conf}, "status": {"phase": "Deployed"}}


def node_obj():
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node01", "labels": {"kubernetes.io/hostname": "node01",
                                                      "kubernetes.io/os": "linux"},
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "status": {"capacity": {"cpu": "8", "memory": "16302148Ki", "pods": "110"}}}


class Stats:
    def __init__(self):
        self.edits = 0
        self.sel_edits = 0
        self.label_edits = 0
        self.bursts = 0
        self.failed = 0
        self.converge_ms = []
        self.transitions = 0
        self.retries = 0


def soak(args, source):
    rng = random.Random(args.seed)
    minutes = args.kube_minutes if source == "kube" else args.file_minutes
    env = Env(args, source)
    env.start_bus()
    stats = Stats()
    server = None
    watch = None
    try:
        meminfo = os.path.join(SRC, "tests/fixtures/meminfo-16g-idle.txt")
        if source == "kube":
            kdir = os.path.join(env.t, "apiserver")
            os.mkdir(kdir)
            seeds = []
            for name, obj in (("node01.json", node_obj()), ("kubevirt.json", kubevirt_obj(0))):
                p = os.path.join(env.t, name)
                with open(p, "w") as f:
                    json.dump(obj, f)
                seeds.append(p)
            server = subprocess.Popen([sys.executable, os.path.join(SRC, "tests/kube-apiserver.py"), "--dir", kdir,
                                       "--seed"] + seeds, stdout=open(os.path.join(kdir, "server.out"), "w"),
                                      stderr=subprocess.STDOUT)
            env.procs.insert(0, server)
            if not wait_for(lambda: os.path.exists(os.path.join(kdir, "ready")), 30, 0.1):
                raise SystemExit("the API test server did not start")
            kube = Kube(kdir)
            watch = NodeWatch(kube)
            watch.start()
            conf = ("[Source]\nType=kubernetes\n\n[Kubernetes]\nKubeconfig=%s\n\n"
                    "[KSM]\nSysfsDir=%s\nMeminfoFile=%s\nRecheckSec=30\n"
                    % (os.path.join(kdir, "kubeconfig"), env.sysfs, meminfo))
        else:
            srcdir = os.path.join(env.t, "src")
            os.mkdir(srcdir)
            kvfile = os.path.join(srcdir, "kubevirt.json")
            nodefile = os.path.join(srcdir, "node.json")
            atomic_write(kvfile, kubevirt_obj(0))
            atomic_write(nodefile, node_obj())
            conf = ("[Source]\nType=file\nKubeVirtFile=%s\nNodeFile=%s\n\n"
                    "[KSM]\nSysfsDir=%s\nMeminfoFile=%s\nRecheckSec=30\n" % (kvfile, nodefile, env.sysfs, meminfo))
        env.start_daemon(conf)
        pid = env.ksmd.pid

        def file_pair():
            try:
                with open(nodefile) as f:
                    md = json.load(f).get("metadata", {})
            except (OSError, ValueError):
                return None
            return ((md.get("labels") or {}).get(LABEL), (md.get("annotations") or {}).get(ANNOT))

        def server_pair():
            return watch.get()[0]

        def node_labels():
            if source == "kube":
                obj = kube.request("GET", "/api/v1/nodes/node01")
            else:
                try:
                    with open(nodefile) as f:
                        obj = json.load(f)
                except (OSError, ValueError) as e:
                    return str(e)
            return {k: v for k, v in (obj["metadata"].get("labels") or {}).items() if k.startswith("soak/")}

        pair_now = server_pair if source == "kube" else file_pair
        sel_idx = 0
        labels = {}

        def converged(expect):
            want = "true" if expect else "false"
            return env.run_is("1" if expect else "0") and pair_now() == (want, want)

        if not wait_for(lambda: converged(False), 60, 0.05):
            raise SystemExit("the daemon did not reach its first state: run %s, pair %s"
                             % (read_text(os.path.join(env.sysfs, "run")), pair_now()))
        patches0 = 0
        if source == "kube":
            patches0 = sum(1 for l in open(os.path.join(kdir, "requests.log"))
                           if l.startswith("PATCH /api/v1/nodes/node01") and " kubevirt-ksmd/" in l)
        changes0 = watch.get()[1] if watch else 0
        writes0 = env.debug_count("Patched Node file")
        fig_start = proc_figures(pid)
        fig_min = dict(fig_start)
        log("# %s source: daemon pid %d, %d min; start: %s" % (source, pid, minutes, fmt_fig(fig_start)))
        samples = [(0.0, fig_start)]
        t_start = time.monotonic()
        next_sample = t_start + args.sample_sec
        expect_prev = False
        file_node_writes = 0

        while time.monotonic() - t_start < minutes * 60:
            n = rng.randint(1, args.burst_max)
            for _ in range(n):
                e = random_edit(rng, sel_idx, labels)
                if e[0] == "sel":
                    sel_idx = e[1]
                    stats.sel_edits += 1
                    if source == "kube":
                        # A JSON patch replaces the whole ksmConfiguration (a merge patch would
                        # merge the new selector into the old one).
                        sel = SELECTORS[sel_idx][0]
                        kube.request("PATCH", "/apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/kubevirt",
                                     [{"op": "add", "path": "/spec/configuration/ksmConfiguration",
                                       "value": {} if sel is None else {"nodeLabelSelector": sel}}],
                                     ctype="application/json-patch+json")
                    else:
                        atomic_write(kvfile, kubevirt_obj(sel_idx))
                else:
                    _, k, v = e
                    if v is None:
                        labels.pop(k, None)
                    else:
                        labels[k] = v
                    stats.label_edits += 1
                    if source == "kube":
                        kube.request("PATCH", "/api/v1/nodes/node01", {"metadata": {"labels": {k: v}}})
                    else:
                        # Read, modify, write, as an editor does, keeping the daemon's label
                        # and annotation; start again when the daemon replaced the file in
                        # between (else this would undo its write: another writer).
                        for _ in range(100):
                            try:
                                ino = os.stat(nodefile).st_ino
                                with open(nodefile) as f:
                                    obj = json.load(f)
                            except (OSError, ValueError):
                                continue
                            lab = obj["metadata"].setdefault("labels", {})
                            if v is None:
                                lab.pop(k, None)
                            else:
                                lab[k] = v
                            tmp = nodefile + ".soak-tmp"
                            with open(tmp, "w") as f:
                                json.dump(obj, f)
                            if os.stat(nodefile).st_ino == ino:
                                os.rename(tmp, nodefile)
                                break
                            stats.retries += 1
                        file_node_writes += 1
                stats.edits += 1
                if args.edit_gap_ms:
                    time.sleep(rng.random() * args.edit_gap_ms / 1000)
            stats.bursts += 1
            expect = SELECTORS[sel_idx][1](labels)
            if expect != expect_prev:
                stats.transitions += 1
            expect_prev = expect
            t0 = time.monotonic()
            if wait_for(lambda: converged(expect), args.converge_timeout):
                stats.converge_ms.append((time.monotonic() - t0) * 1000)
            else:
                stats.failed += 1
                log("# burst %d did not converge within %ss: selector %d labels %s expect %s; run %s pair %s; "
                    "node labels now %s" % (stats.bursts, args.converge_timeout, sel_idx, labels, expect,
                                            read_text(os.path.join(env.sysfs, "run")), pair_now(), node_labels()))
                if stats.failed > 20:
                    break
            now = time.monotonic()
            if now >= next_sample:
                f = proc_figures(pid)
                samples.append((now - t_start, f))
                log("# %4.0fs: %d edits, %d bursts; %s" % (now - t_start, stats.edits, stats.bursts, fmt_fig(f)))
                next_sample += args.sample_sec

        # Let the last reconcile finish, then measure.
        wait_for(lambda: False, 1)
        fig_end = proc_figures(pid)
        samples.append((time.monotonic() - t_start, fig_end))
        elapsed = time.monotonic() - t_start
        if source == "kube":
            patches = sum(1 for l in open(os.path.join(kdir, "requests.log"))
                          if l.startswith("PATCH /api/v1/nodes/node01") and " kubevirt-ksmd/" in l) - patches0
            changes = watch.get()[1] - changes0
        else:
            patches, changes = env.file_writebacks(writes0)
            # The editor's read-modify-write can still lose a write-back of the daemon (the file
            # replaced between its last check and its rename): the daemon sees another writer and
            # corrects it once, which is a real change too.
            corrections = env.debug_count("Someone else changed what this daemon manages")
        lines, counter = env.log_lines()
        alive = env.ksmd.poll() is None
    finally:
        if watch:
            watch.stop = True
        rc = env.stop()

    cm = sorted(stats.converge_ms) or [0]
    res = {
        "source": source, "minutes": round(elapsed / 60, 1), "edits": stats.edits,
        "selector_edits": stats.sel_edits, "label_edits": stats.label_edits, "bursts": stats.bursts,
        "bursts_not_converged": stats.failed, "editor_retries": stats.retries, "selection_transitions": stats.transitions,
        "converge_ms_median": round(cm[len(cm) // 2], 1), "converge_ms_p99": round(cm[int(len(cm) * 0.99)], 1),
        "converge_ms_max": round(cm[-1], 1),
        "start": fig_start, "end": fig_end, "samples": [(round(t), f) for t, f in samples],
        "node_writes": patches, "real_changes": changes,
        "corrections": corrections if source == "file" else 0, "log_lines": lines,
        "top_messages": counter.most_common(8), "daemon_alive_at_end": alive, "exit_status": rc,
    }
    return res


def report(res):
    ok = True
    s = res["source"]
    log("# --- %s source, %.1f min" % (s, res["minutes"]))
    log("# edits %d (selector %d, node labels %d) in %d bursts; %d selection transitions"
        % (res["edits"], res["selector_edits"], res["label_edits"], res["bursts"], res["selection_transitions"]))
    if res.get("editor_retries"):
        log("# node file rewrites started again because the daemon replaced the file meanwhile: %d"
            % res["editor_retries"])
    log("# convergence after a burst: median %.0f ms, p99 %.0f ms, max %.0f ms; not converged: %d"
        % (res["converge_ms_median"], res["converge_ms_p99"], res["converge_ms_max"], res["bursts_not_converged"]))
    log("# start: %s" % fmt_fig(res["start"]))
    log("# end:   %s" % fmt_fig(res["end"]))
    if s == "kube":
        log("# Node PATCHes received by the server: %d; real label/annotation changes: %d"
            % (res["node_writes"], res["real_changes"]))
    else:
        log("# Node file write-backs: %d; real label/annotation changes among them: %d, "
            "corrections of an editor's lost update: %d" % (res["node_writes"], res["real_changes"], res["corrections"]))
    log("# lines logged at info and above: %d (%.2f per edit)" % (res["log_lines"], res["log_lines"] / max(1, res["edits"])))
    for m, c in res["top_messages"]:
        log("#   %6d  %s" % (c, m))
    if res["bursts_not_converged"]:
        ok = False
        log("not ok - %s: %d bursts did not converge" % (s, res["bursts_not_converged"]))
    bound = res["real_changes"] + res.get("corrections", 0)
    if res["node_writes"] > bound:
        ok = False
        log("not ok - %s: %d node writes > bound %d" % (s, res["node_writes"], bound))
    # The fds may differ by the watch/connection churn; a leak grows with the edits.
    if res["end"]["fds"] > res["start"]["fds"] + 4:
        ok = False
        log("not ok - %s: fds grew from %d to %d" % (s, res["start"]["fds"], res["end"]["fds"]))
    if not res["daemon_alive_at_end"]:
        ok = False
        log("not ok - %s: the daemon died (exit status %s)" % (s, res["exit_status"]))
    elif res["exit_status"] != 0:
        ok = False
        log("not ok - %s: the daemon exited %s on SIGTERM" % (s, res["exit_status"]))
    if ok:
        log("ok - %s soak" % s)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.environ.get("top_builddir", SRC))
    ap.add_argument("--source", choices=("kube", "file", "both"), default="both")
    ap.add_argument("--kube-minutes", type=float, default=10)
    ap.add_argument("--file-minutes", type=float, default=5)
    ap.add_argument("--burst-max", type=int, default=30)
    ap.add_argument("--edit-gap-ms", type=float, default=20, help="random pause up to this between edits")
    ap.add_argument("--converge-timeout", type=float, default=15)
    ap.add_argument("--sample-sec", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="write the figures here as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directories")
    args = ap.parse_args()
    if os.geteuid() != 0:
        log("# needs root: the private bus's daemon must own org.kubevirt.KSM1 as root")
    sources = ["kube", "file"] if args.source == "both" else [args.source]
    results, ok = [], True
    for s in sources:
        r = soak(args, s)
        results.append(r)
        ok = report(r) and ok
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
