#!/usr/bin/env python3
"""virt-handler-ksm.py: a behavioural model of the KSM loop that KubeVirt's virt-handler runs on
every node (KubeVirt 1.1 and later, pkg/virt-handler/ksm), for kubevirt-ksmd's tests: what that
loop reads, decides and writes, pass by pass, against the API test server
(tests/kube-apiserver.py) and a scratch KSM directory. It is written from the observed
behaviour, not from the upstream code, and only ever touches the files it is given.

Python 3 standard library only.

USAGE

    python3 tests/virt-handler-ksm.py --server https://127.0.0.1:PORT --ca CA.crt
        (--token TOKEN | --token-file PATH) --node NAME --ksm-dir DIR --meminfo FILE
        [--namespace kubevirt] [--interval 600] [--once | --spins N] [--stats-file PATH]
        [--no-field-manager] [--user-agent UA]

--ksm-dir holds run, pages_to_scan and sleep_millisecs (a scratch copy: paths below /sys and
/proc are refused). --meminfo is read on every pass (MemTotal, MemAvailable).

--once: one pass (spin, below) and exit 0; the table tests use it (--spins N: N of them in a
row, cheaper than N runs). Without it the program runs
like virt-handler: spin at start, then the config callback once, then a callback per change of
a KubeVirt CR, and while KSM handling is on (the loop runs) a spin every --interval seconds
(upstream: 600 in current releases, 180 in older ones; tests use 1 to 3). SIGTERM/SIGINT end it, exit 0.

HOW IT NOTICES KUBEVIRT CR CHANGES: a list then a watch of kubevirts in --namespace, as
virt-handler's informer does (re-watching from the last resourceVersion when a stream ends, a
new list after 410 Expired or a connection error). Every ADDED or MODIFIED event is one config
callback, like the informer's add/update handlers; a deletion is none (upstream registers no
delete handler, and keeps using the last valid configuration). A relist calls back for objects
that are new or changed only. Why a watch and not polling: it is what upstream does (an informer
is a list and a watch), changes are seen at once instead of up to a poll period late, and it
costs the test server one request per change rather than five a second.

ONE PASS (spin)
  1. GET the Node (the node cache's forced update; on error: log, no write, no patch).
  2. eligible = KSM available (the run file reads) and the configuration has a
     ksmConfiguration whose nodeLabelSelector matches the Node's labels (none/null selects
     nothing, {} everything; an invalid selector selects nothing and is logged);
     running = the run file holds "1".
  3. Not eligible and running: write "0\\n" to run only if the Node's annotation
     kubevirt.io/ksm-handler-managed is "true".
  4. Eligible: the new state from meminfo, pages_to_scan and the Node's override annotations
     (below); when it runs, write sleep_millisecs then pages_to_scan; then write run (always).
     Any read error: log, write nothing, and count KSM as not enabled by us.
  5. Merge-patch the Node, whatever happened above:
     {"metadata":{"creationTimestamp":null,"labels":{"kubevirt.io/ksm-enabled":"<eligible>"},
      "annotations":{"kubevirt.io/ksm-handler-managed":"<running after step 4>"}}}
     (the bytes Go's encoder makes of that ObjectMeta), with ?fieldManager=virt-handler unless
     --no-field-manager (then the server derives "virt-handler" from the user agent, which is
     what upstream relies on: it sends no fieldManager).
  The config callback: if not eligible (node from the cache, not fetched again), stop the loop,
  write run=0 as in step 3, and patch false/false; if eligible, spin (starting the loop and its
  ticker if it was not running; otherwise resetting the ticker).

THE NEW STATE (step 4): parameters from annotations kubevirt.io/ksm-<name>-override, each with
its default and bounds; an unparsable value gives the default, one out of bounds gives the
default if the default lies strictly inside the bounds, else the lower bound:
  pages-boost 300 [0, MaxInt]    pages-decay -50 [MinInt, 0]   pages-min 64 [0, MaxInt]
  pages-max 1250 [min, MaxInt]   pages-init 100 [min, max]    sleep-ms-baseline 100 [1, MaxInt]
  free-percent 0.2 [0, 1] (a float32; "1.0" is in bounds)
  (an annotation that is absent gives the default unchecked: min 200 leaves init at 100.)
sleep = baseline * 16 GiB / (MemTotal - MemAvailable) in kB, unsigned 64-bit, at least
baseline / 10. Pressure iff MemAvailable <= MemTotal * free-percent (float32 arithmetic).
  no pressure, running:     pages += decay; below min: pages = min and stop
  no pressure, not running: stays off (only run=0 is written)
  pressure, running:        pages += boost, at most max
  pressure, not running:    start with pages = init
Go's integer semantics are kept (64-bit wrap-around); MemTotal == MemAvailable divides by zero,
where virt-handler panics: the model then exits with status 2, as a Go panic does.

THE CONFIGURATION: of the KubeVirt CRs in --namespace without deletionTimestamp and with a
status.phase, the last (by name; upstream takes the last of an unordered cache listing); a CR
whose resourceVersion was already parsed is not parsed again; none: the last valid
configuration (at start: no ksmConfiguration). Field names match as Go's JSON decoder matches
them (case-insensitively). Only spec.configuration.ksmConfiguration is decoded; a CR whose
ksmConfiguration does not decode (wrong JSON types) is logged and left out of the cache, which
keeps its previous version, as the informer cannot decode it either.

OUTPUT: one line per pass on stderr (what it read, decided, wrote and patched), plus upstream's
error messages on lines of their own. --stats-file PATH is rewritten (atomically) after every
pass: {"spins", "callbacks", "passes", "patches", "patch_errors", "node_gets", "run_writes",
"pages_writes", "sleep_writes", "eligible", "managed"} (writes that succeeded; passes = spins
plus callbacks that patched without a spin; eligible/managed: the last patch's values).
"""

import argparse
import http.client
import json
import math
import os
import queue
import random
import re
import signal
import ssl
import struct
import sys
import threading
import time
import urllib.parse

LABEL_ENABLED = "kubevirt.io/ksm-enabled"
ANNOTATION_MANAGED = "kubevirt.io/ksm-handler-managed"
MAX_INT = (1 << 63) - 1
MIN_INT = -(1 << 63)
U64 = (1 << 64) - 1

# (annotation, default, lower bound, upper bound); bounds naming another parameter are taken
# from it, in this order.
INT_PARAMS = [
    ("pages-boost", 300, 0, MAX_INT),
    ("pages-decay", -50, MIN_INT, 0),
    ("pages-min", 64, 0, MAX_INT),
    ("pages-max", 1250, "pages-min", MAX_INT),
    ("pages-init", 100, "pages-min", "pages-max"),
    ("sleep-ms-baseline", 100, 1, MAX_INT),
]
FREE_PERCENT = ("free-percent", 0.2, 0.0, 1.0)


class ModelPanic(Exception):
    """Where virt-handler would panic (a Go runtime error)."""


# ---- Go value semantics ---------------------------------------------------------------------

def wrap_int(v):
    """Go's int (64 bits) after an addition: two's complement wrap-around."""
    return (v - MIN_INT) % (1 << 64) + MIN_INT


def f32(x):
    """x rounded to a float32 (OverflowError when a finite x rounds to infinity: strconv's
    ErrRange)."""
    y = struct.unpack("f", struct.pack("f", x))[0]
    if math.isinf(y) and not math.isinf(x):
        raise OverflowError("%r out of float32 range" % x)
    return y


def go_print(v):
    """A number as Go's %v prints it (float32: the shortest decimal that reads back)."""
    if isinstance(v, float) and math.isfinite(v):
        for digits in range(1, 10):
            t = "%.*g" % (digits, v)
            if f32(float(t)) == v:
                return t
    return str(v)


INT_RE = re.compile(r"[+-]?[0-9]+\Z")
FLOAT_DEC_RE = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
FLOAT_HEX_RE = re.compile(r"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
                          r"[pP][+-]?[0-9]+\Z")
FLOAT_SPECIAL_RE = re.compile(r"([+-]?(inf|infinity)|nan)\Z", re.IGNORECASE)


def go_atoi(s):
    """strconv.Atoi: decimal digits with an optional sign, in int64 range; else ValueError."""
    if not INT_RE.match(s):
        raise ValueError("invalid syntax")
    v = int(s)
    if not MIN_INT <= v <= MAX_INT:
        raise ValueError("value out of range")
    return v


def go_parse_float32(s):
    """strconv.ParseFloat(s, 32): the value rounded to float32; ValueError for bad syntax or
    out of range. (Through float64, so a decimal exactly between two float32 values may round
    the other way; no override value a person writes comes near that.)"""
    if FLOAT_SPECIAL_RE.match(s):
        return float(s.lower().replace("infinity", "inf"))
    if not FLOAT_DEC_RE.match(s) and not FLOAT_HEX_RE.match(s):
        raise ValueError("invalid syntax")
    try:
        v = float(s) if FLOAT_DEC_RE.match(s) else float.fromhex(s)
        if math.isinf(v):
            raise OverflowError
        return f32(v)
    except OverflowError:
        raise ValueError("value out of range")


# ---- label selectors (metav1.LabelSelector, as LabelSelectorAsSelector reads them) -----------

QNAME_PART = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QNAME_RE = re.compile(QNAME_PART + r"\Z")
DNS_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
LABEL_VALUE_RE = re.compile("(" + QNAME_PART + r")?\Z")


def label_key_error(key):
    prefix, _, name = key.rpartition("/")
    if key.count("/") > 1:
        return "a qualified name must have at most one '/'"
    if "/" in key:
        if not prefix:
            return "prefix part must be non-empty"
        if len(prefix) > 253 or not DNS_SUBDOMAIN_RE.match(prefix):
            return "prefix part must be a lowercase RFC 1123 subdomain"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if not QNAME_RE.match(name):
        return "name part must consist of alphanumeric characters, '-', '_' or '.', and " \
               "must start and end with an alphanumeric character"
    return None


def label_value_error(v):
    if len(v) > 63:
        return "must be no more than 63 characters"
    if not LABEL_VALUE_RE.match(v):
        return "a valid label must be an empty string or consist of alphanumeric characters, " \
               "'-', '_' or '.', and must start and end with an alphanumeric character"
    return None


OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}


def selector_requirements(sel):
    """A decoded nodeLabelSelector -> None (selects nothing), [] (everything) or a list of
    (key, op, values); ValueError for what Kubernetes would refuse."""
    if sel is None:
        return None
    ml, me = sel.get("matchLabels") or {}, sel.get("matchExpressions") or []
    reqs = []
    for k, v in ml.items():
        reqs.append((k, "=", [v]))
    for e in me:
        op = OPERATORS.get(e["operator"])
        if op is None:
            raise ValueError('"%s" is not a valid label selector operator' % e["operator"])
        reqs.append((e["key"], op, list(e["values"] or [])))
    for key, op, vals in reqs:
        why = label_key_error(key)
        if why:
            raise ValueError("key: Invalid value: %s: %s" % (json.dumps(key), why))
        if op in ("in", "notin") and not vals:
            raise ValueError("values: Invalid value: []: for 'in', 'notin' operators, values "
                             "set can't be empty")
        if op in ("exists", "!") and vals:
            raise ValueError("values: Invalid value: %s: values set must be empty for exists "
                             "and does not exist" % json.dumps(vals))
        for v in vals:
            why = label_value_error(v)
            if why:
                raise ValueError("values: Invalid value: %s: %s" % (json.dumps(v), why))
    return reqs


def selector_matches(reqs, labels):
    if reqs is None:
        return False
    for key, op, vals in reqs:
        has = key in labels
        if op in ("=", "in") and not (has and labels[key] in vals):
            return False
        if op == "notin" and has and labels[key] in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
    return True


# ---- decoding ksmConfiguration as Go's encoding/json would ----------------------------------

class DecodeError(ValueError):
    pass


def go_field(obj, name):
    """The value of a struct field: keys match case-insensitively, the last match wins."""
    out = None
    for k, v in obj.items():
        if k.lower() == name.lower():
            out = v
    return out


def _want(v, typ, what):
    if v is not None and not isinstance(v, typ):
        raise DecodeError("json: cannot unmarshal %s into Go struct field %s"
                          % (type(v).__name__, what))
    return v


def decode_ksm_configuration(kv):
    """spec.configuration.ksmConfiguration of a KubeVirt CR -> None (absent or null) or
    {"nodeLabelSelector": None | {"matchLabels": {...}, "matchExpressions": [...]}}."""
    spec = _want(go_field(kv, "spec"), dict, "KubeVirt.spec") or {}
    conf = _want(go_field(spec, "configuration"), dict, "KubeVirtSpec.configuration") or {}
    ksm = _want(go_field(conf, "ksmConfiguration"), dict,
                "KubeVirtConfiguration.ksmConfiguration")
    if ksm is None:
        return None
    sel = _want(go_field(ksm, "nodeLabelSelector"), dict, "KSMConfiguration.nodeLabelSelector")
    if sel is None:
        return {"nodeLabelSelector": None}
    ml = _want(go_field(sel, "matchLabels"), dict, "LabelSelector.matchLabels")
    labels = {}
    for k, v in (ml or {}).items():
        labels[k] = _want(v, str, "LabelSelector.matchLabels") or ""  # null decodes as ""
    exprs = []
    for e in _want(go_field(sel, "matchExpressions"), list, "LabelSelector.matchExpressions") \
            or []:
        e = _want(e, dict, "LabelSelector.matchExpressions") or {}
        vals = _want(go_field(e, "values"), list, "LabelSelectorRequirement.values")
        exprs.append({
            "key": _want(go_field(e, "key"), str, "LabelSelectorRequirement.key") or "",
            "operator": _want(go_field(e, "operator"), str,
                              "LabelSelectorRequirement.operator") or "",
            "values": [_want(v, str, "LabelSelectorRequirement.values") or ""
                       for v in vals] if vals is not None else None})
    return {"nodeLabelSelector": {"matchLabels": labels, "matchExpressions": exprs}
            if labels or exprs else {}}


# ---- the API server -------------------------------------------------------------------------

class APIFailure(Exception):
    pass


class Client:
    def __init__(self, args):
        u = urllib.parse.urlsplit(args.server)
        if u.scheme != "https" or not u.hostname:
            raise SystemExit("--server must be https://HOST[:PORT]")
        self.host, self.port = u.hostname, u.port or 443
        self.ctx = ssl.create_default_context(cafile=args.ca)
        self.token, self.token_file = args.token, args.token_file
        self.user_agent = args.user_agent

    def headers(self, extra=None):
        token = self.token
        if self.token_file:
            with open(self.token_file) as f:
                token = f.readline().strip()
        h = {"Accept": "application/json", "User-Agent": self.user_agent,
             "Authorization": "Bearer " + token}
        h.update(extra or {})
        return h

    def connect(self, timeout):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx,
                                           timeout=timeout)

    def request(self, method, path, body=None, ctype=None, timeout=10):
        """One request on its own connection -> (status, JSON body); APIFailure when there
        is no answer."""
        conn = self.connect(timeout)
        try:
            conn.request(method, path, body,
                         self.headers({"Content-Type": ctype} if ctype else None))
            r = conn.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, raw.decode(errors="replace")
        except (OSError, http.client.HTTPException) as e:
            raise APIFailure("%s %s: %s" % (method, path, e))
        finally:
            conn.close()


def status_message(status, body):
    if isinstance(body, dict) and body.get("kind") == "Status":
        return "%s (%s %s)" % (body.get("message"), status, body.get("reason"))
    return "HTTP %s" % status


# ---- the informer of KubeVirt CRs -----------------------------------------------------------

class KubeVirtInformer(threading.Thread):
    """List and watch kubevirts in one namespace; keeps the decoded cache and puts one item on
    `events` per add or update (the config callback's trigger)."""

    def __init__(self, client, namespace, events, log):
        super().__init__(daemon=True)
        self.client, self.ns, self.events, self.log = client, namespace, events, log
        self.path = "/apis/kubevirt.io/v1/namespaces/%s/kubevirts" % urllib.parse.quote(namespace)
        self.lock = threading.Lock()
        self.store = {}          # name -> (object, decoded ksmConfiguration)
        self.synced = threading.Event()

    def snapshot(self):
        with self.lock:
            return dict(self.store)

    def _decode(self, obj):
        try:
            return decode_ksm_configuration(obj)
        except DecodeError as e:
            self.log("error: KubeVirt %s/%s (resourceVersion %s) cannot be decoded, the cache "
                     "keeps its previous version: %s" % (
                         self.ns, obj.get("metadata", {}).get("name"),
                         obj.get("metadata", {}).get("resourceVersion"), e))
            raise

    def _put(self, obj, why):
        name = obj.get("metadata", {}).get("name")
        try:
            dec = self._decode(obj)
        except DecodeError:
            return
        with self.lock:
            self.store[name] = (obj, dec)
        self.events.put(why)

    def relist(self):
        status, body = self.client.request("GET", self.path)
        if status != 200 or not isinstance(body, dict):
            raise APIFailure("list kubevirts: " + status_message(status, body))
        items = body.get("items") or []
        seen = set()
        for o in items:
            md = o.get("metadata", {})
            seen.add(md.get("name"))
            with self.lock:
                old = self.store.get(md.get("name"))
            if old is None or old[0].get("metadata", {}).get("resourceVersion") != \
                    md.get("resourceVersion"):
                if self.synced.is_set():
                    self._put(o, "kubevirt %s %s" % ("updated" if old else "added",
                                                    md.get("name")))
                else:
                    try:
                        with self.lock:
                            self.store[md.get("name")] = (o, self._decode(o))
                    except DecodeError:
                        pass
        with self.lock:
            for name in [n for n in self.store if n not in seen]:
                del self.store[name]
        self.synced.set()
        return body.get("metadata", {}).get("resourceVersion", "")

    def watch(self, rv):
        """One watch stream from rv -> the last resourceVersion seen, or None after 410."""
        q = urllib.parse.urlencode({"watch": "true", "resourceVersion": rv,
                                    "allowWatchBookmarks": "true",
                                    "timeoutSeconds": str(random.randint(300, 600))})
        conn = self.client.connect(timeout=660)
        try:
            conn.request("GET", self.path + "?" + q, headers=self.client.headers())
            r = conn.getresponse()
            if r.status != 200:
                body = r.read()
                if r.status == 410:
                    return None
                raise APIFailure("watch kubevirts: HTTP %s %s" % (r.status, body[:200]))
            while True:
                line = r.readline()
                if not line:
                    return rv
                if not line.strip():
                    continue
                ev = json.loads(line)
                typ, obj = ev.get("type"), ev.get("object") or {}
                if typ == "ERROR":
                    if obj.get("code") == 410:
                        return None
                    raise APIFailure("watch kubevirts: " + status_message(obj.get("code"), obj))
                rv = obj.get("metadata", {}).get("resourceVersion", rv)
                name = obj.get("metadata", {}).get("name")
                if typ in ("ADDED", "MODIFIED"):
                    self._put(obj, "kubevirt %s %s" % (typ.lower(), name))
                elif typ == "DELETED":
                    with self.lock:
                        self.store.pop(name, None)
        finally:
            conn.close()

    def run(self):
        rv = None
        while True:
            try:
                if rv is None:
                    rv = self.relist()
                rv = self.watch(rv)
            except (APIFailure, OSError, http.client.HTTPException, ValueError) as e:
                self.log("error: kubevirt informer: %s; retrying in 1 s" % e)
                rv = None
                time.sleep(1)


# ---- the handler ----------------------------------------------------------------------------

class Pass:
    """What one pass read, decided and wrote, for its log line."""

    def __init__(self, kind):
        self.kind, self.parts = kind, []

    def add(self, fmt, *a):
        self.parts.append(fmt % a if a else fmt)


class Handler:
    def __init__(self, args, client, informer, log):
        self.args, self.client, self.informer, self.log = args, client, informer, log
        self.node_cache = None
        self.config = {"ksmConfiguration": None}       # the last valid configuration
        self.config_rv = None
        self.loop_running = False
        self.stats = {"spins": 0, "callbacks": 0, "passes": 0, "patches": 0, "patch_errors": 0,
                      "node_gets": 0, "run_writes": 0, "pages_writes": 0, "sleep_writes": 0,
                      "eligible": None, "managed": None}
        self.ksm_path = lambda f: os.path.join(args.ksm_dir, f)

    # -- inputs

    def fetch_node(self):
        self.stats["node_gets"] += 1
        path = "/api/v1/nodes/" + urllib.parse.quote(self.args.node)
        status, body = self.client.request("GET", path)
        if status != 200 or not isinstance(body, dict):
            raise APIFailure("get node %s: %s" % (self.args.node, status_message(status, body)))
        return body

    def cached_node(self):
        if self.node_cache is None:
            self.node_cache = self.fetch_node()
        return self.node_cache

    def ksm_config(self):
        """The cluster configuration's ksmConfiguration, as virt-config picks it."""
        if self.informer is None:
            return self.config["ksmConfiguration"]
        chosen = None
        for name, (obj, dec) in sorted(self.informer.snapshot().items()):
            md, st = obj.get("metadata", {}), go_field(obj, "status") or {}
            if md.get("deletionTimestamp") is None and isinstance(st, dict) and \
                    go_field(st, "phase"):
                chosen = (obj, dec)
        if chosen is not None:
            rv = chosen[0].get("metadata", {}).get("resourceVersion")
            if rv != self.config_rv:
                self.config, self.config_rv = {"ksmConfiguration": chosen[1]}, rv
        return self.config["ksmConfiguration"]

    def load_ksm(self, p):
        """(available, running) from the run file."""
        try:
            with open(self.ksm_path("run"), "rb") as f:
                data = f.read()
        except OSError as e:
            self.log("warning: an error occurred while reading the ksm module file; maybe it is "
                     "not available: %s" % e)
            return False, False
        return True, data.strip() == b"1"

    def eligibility(self, p):
        """(eligible, running); logs why not when there is an error."""
        available, running = self.load_ksm(p)
        if not available:
            p.add("ksm unavailable")
            return False, False
        p.add("run=%d", running)
        ksm = self.ksm_config()
        if ksm is None:
            p.add("no ksmConfiguration")
            return False, running
        sel = ksm["nodeLabelSelector"]
        p.add("selector=%s", json.dumps(sel, separators=(",", ":"), sort_keys=True))
        try:
            reqs = selector_requirements(sel)
        except ValueError as e:
            p.add("invalid selector")
            self.log("error: an error occurred while converting the ksm selector: %s" % e)
            return False, running
        try:
            node = self.cached_node()
        except APIFailure as e:
            self.log("error: %s" % e)
            return False, running
        return selector_matches(reqs, node.get("metadata", {}).get("labels") or {}), running

    # -- outputs

    def write(self, name, data, counter, p):
        with open(self.ksm_path(name), "w") as f:
            f.write(data)
        self.stats[counter] += 1
        p.add("wrote %s=%s", name, data.strip())

    def disable(self, p):
        try:
            node = self.cached_node()
        except APIFailure:
            return
        annotations = node.get("metadata", {}).get("annotations") or {}
        if annotations.get(ANNOTATION_MANAGED) == "true":
            try:
                self.write("run", "0\n", "run_writes", p)
            except OSError as e:
                self.log("error: unable to write ksm: %s" % e)
        else:
            p.add("not ours, left on")

    def patch(self, eligible, managed, p):
        body = {"metadata": {"creationTimestamp": None,
                             "labels": {LABEL_ENABLED: "true" if eligible else "false"},
                             "annotations": {ANNOTATION_MANAGED: "true" if managed else "false"}}}
        path = "/api/v1/nodes/" + urllib.parse.quote(self.args.node)
        if not self.args.no_field_manager:
            path += "?fieldManager=virt-handler"
        self.stats["eligible"], self.stats["managed"] = eligible, managed
        try:
            status, answer = self.client.request(
                "PATCH", path, json.dumps(body, separators=(",", ":")).encode(),
                "application/merge-patch+json")
        except APIFailure as e:
            status, answer = None, str(e)
        if status is not None and 200 <= status < 300:
            self.stats["patches"] += 1
            p.add("patched %s=%s %s=%s", LABEL_ENABLED, eligible and "true" or "false",
                  ANNOTATION_MANAGED, managed and "true" or "false")
        else:
            self.stats["patch_errors"] += 1
            p.add("patch failed")
            self.log("error: can't patch node %s: %s" % (
                self.args.node, status_message(status, answer) if status else answer))

    # -- the new state

    def params(self, node, p):
        annotations = node.get("metadata", {}).get("annotations") or {}
        got = {}
        for name, default, lo, hi in INT_PARAMS:
            lo, hi = got.get(lo, lo), got.get(hi, hi)
            got[name] = self.override(annotations, name, default, lo, hi, go_atoi)
        name, default, lo, hi = FREE_PERCENT
        got[name] = self.override(annotations, name, f32(default), lo, hi, go_parse_float32)
        return got

    def override(self, annotations, name, default, lo, hi, parse):
        key = "kubevirt.io/ksm-%s-override" % name
        if key not in annotations:
            return default
        try:
            v = parse(annotations[key])
        except ValueError as e:
            self.log("error: failed to parse %s override value %s (%s), using default"
                     % (key, json.dumps(annotations[key]), e))
            return default
        if v < lo or v > hi:
            if lo < default < hi:
                self.log("error: %s override value out of bounds, using default (%s)"
                         % (key, go_print(default)))
                return default
            self.log("error: %s override value out of bounds, using lowest possible value (%s)"
                     % (key, go_print(lo)))
            return lo
        return v

    def meminfo(self):
        """(MemTotal, MemAvailable) in kB, scanning the lines as upstream does."""
        total = available = 0
        found = 0
        with open(self.args.meminfo, "rb") as f:
            lines = f.read().split(b"\n")
        for raw in lines:
            if found >= 2:
                break
            line = raw[:-1] if raw.endswith(b"\r") else raw
            for key in (b"MemTotal:", b"MemAvailable:"):
                if line.startswith(key):
                    # fmt.Sscanf's %d: spaces, then digits (an underscore fails ParseUint).
                    m = re.match(rb"[ \t\r\v\f]*([0-9_]+)", line[len(key):])
                    if not m or b"_" in m.group(1) or int(m.group(1)) > U64:
                        raise ValueError("bad %s line: %r" % (key.decode(), line))
                    if key == b"MemTotal:":
                        total = int(m.group(1))
                    else:
                        available = int(m.group(1))
                    found += 1
        if found != 2:
            raise ValueError("failed to find total and available memory")
        return total, available

    def new_state(self, node, running, p):
        """-> (running, sleep, pages) or raises OSError/ValueError (nothing is written)."""
        prm = self.params(node, p)
        total, available = self.meminfo()
        with open(self.ksm_path("pages_to_scan")) as f:
            pages = go_atoi(f.read().strip())
        base = prm["sleep-ms-baseline"]
        used = (total - available) & U64
        if used == 0:
            raise ModelPanic("runtime error: integer divide by zero (MemTotal %d == MemAvailable"
                             " %d)" % (total, available))
        sleep = ((base * 16 * 1024 * 1024) & U64) // used
        if sleep < base // 10:
            sleep = base // 10
        pressure = not f32(float(available)) > f32(f32(float(total)) * prm["free-percent"])
        p.add("mem total=%d avail=%d pressure=%s pages_to_scan=%d", total, available,
              "yes" if pressure else "no", pages)
        if not pressure:
            if not running:
                return False, 0, 0
            pages = wrap_int(pages + prm["pages-decay"])
            if pages < prm["pages-min"]:
                return False, sleep, prm["pages-min"]
            return True, sleep, pages
        if running:
            return True, sleep, min(wrap_int(pages + prm["pages-boost"]), prm["pages-max"])
        return True, sleep, prm["pages-init"]

    def handle_pressure(self, running, p):
        try:
            node = self.cached_node()
        except APIFailure:
            return False
        try:
            run, sleep, pages = self.new_state(node, running, p)
        except (OSError, ValueError) as e:
            self.log("error: an error occurred while calculating the new KSM values: %s" % e)
            p.add("no new state")
            return False
        p.add("decided run=%d sleep=%d pages=%d", run, sleep, pages)
        try:
            if run:
                self.write("sleep_millisecs", str(sleep), "sleep_writes", p)
                self.write("pages_to_scan", str(pages), "pages_writes", p)
            self.write("run", "1" if run else "0", "run_writes", p)
        except OSError as e:
            self.log("error: an error occurred while writing the new KSM values: %s" % e)
            return False
        return run

    # -- passes

    def spin(self, why):
        self.stats["spins"] += 1
        self.stats["passes"] += 1
        p = Pass("spin (%s)" % why)
        try:
            try:
                self.node_cache = self.fetch_node()
            except APIFailure as e:
                self.log("error: can't force update: %s" % e)
                p.add("node unreadable, nothing done")
                return False
            eligible, running = self.eligibility(p)
            p.add("eligible=%s", "yes" if eligible else "no")
            if not eligible and running:
                self.disable(p)
            ours = self.handle_pressure(running, p) if eligible else False
            self.patch(eligible, ours, p)
            return eligible
        finally:
            self.done(p)

    def config_callback(self, why):
        self.stats["callbacks"] += 1
        p = Pass("config callback (%s)" % why)
        eligible, running = self.eligibility(p)
        if not eligible:
            self.stats["passes"] += 1
            if self.loop_running:
                self.loop_running = False
                p.add("loop stopped")
            if running:
                self.disable(p)
            self.patch(False, False, p)
            self.done(p)
            return
        p.add("eligible, spinning")
        self.done(p)
        self.loop_running = True
        self.spin("config change")

    def done(self, p):
        self.log("%s: %s" % (p.kind, "; ".join(p.parts)))
        if self.args.stats_file:
            tmp = self.args.stats_file + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.stats, f)
            os.replace(tmp, self.args.stats_file)


def run_forever(handler, events, interval):
    next_tick = None
    if handler.spin("start"):
        handler.loop_running = True
        handler.spin("loop start")
        next_tick = time.monotonic() + interval
    events.put("callback registered")
    while True:
        timeout = None
        if handler.loop_running and next_tick is not None:
            timeout = max(0.0, next_tick - time.monotonic())
        try:
            why = events.get(timeout=timeout)
        except queue.Empty:
            handler.spin("tick")
            next_tick += interval
            if next_tick <= time.monotonic():
                next_tick = time.monotonic() + interval
            continue
        was_running = handler.loop_running
        handler.config_callback(why)
        if handler.loop_running:
            # A spin because of a config change resets the ticker; so does starting the loop.
            next_tick = time.monotonic() + interval
        elif was_running:
            next_tick = None


def main():
    ap = argparse.ArgumentParser(description="A model of virt-handler's KSM loop, for tests.")
    ap.add_argument("--server", required=True, help="https://HOST:PORT of the API server")
    ap.add_argument("--ca", required=True, help="CA certificate file of the server")
    tok = ap.add_mutually_exclusive_group(required=True)
    tok.add_argument("--token")
    tok.add_argument("--token-file", help="re-read before every request")
    ap.add_argument("--node", required=True)
    ap.add_argument("--namespace", default="kubevirt", help="where the KubeVirt CR lives")
    ap.add_argument("--ksm-dir", required=True, help="scratch dir: run, pages_to_scan, "
                    "sleep_millisecs")
    ap.add_argument("--meminfo", required=True)
    ap.add_argument("--interval", type=float, default=600, help="ticker period, seconds")
    ap.add_argument("--once", action="store_true", help="one spin, then exit")
    ap.add_argument("--spins", type=int, metavar="N",
                    help="like --once, N spins in a row (one process, one informer list)")
    ap.add_argument("--stats-file")
    ap.add_argument("--no-field-manager", action="store_true",
                    help="send no fieldManager (upstream's way: the server takes the user agent)")
    ap.add_argument("--user-agent", default="virt-handler/v1.6.0 (linux/amd64) kubevirt/model")
    args = ap.parse_args()
    real = os.path.realpath(args.ksm_dir)
    if real == "/sys" or real.startswith(("/sys/", "/proc/")) or real == "/proc":
        raise SystemExit("--ksm-dir %s: this model only writes scratch directories" % real)
    if args.interval <= 0:
        raise SystemExit("--interval must be positive")

    out_lock = threading.Lock()

    def log(msg):
        with out_lock:
            sys.stderr.write("virt-handler-ksm[%s]: %s\n" % (args.node, msg))
            sys.stderr.flush()

    client = Client(args)
    events = queue.Queue()
    informer = KubeVirtInformer(client, args.namespace, events, log)
    try:
        if args.once or args.spins:
            # No watch for single passes: the cache is one list.
            informer.relist()
            handler = Handler(args, client, informer, log)
            for _ in range(args.spins or 1):
                handler.spin("once")
            return 0
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        informer.start()
        informer.synced.wait()      # virt-handler waits for its informers' caches too
        handler = Handler(args, client, informer, log)
        run_forever(handler, events, args.interval)
    except ModelPanic as e:
        log("panic: %s (virt-handler exits here)" % e)
        return 2
    except APIFailure as e:
        log("error: %s" % e)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
