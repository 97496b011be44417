#!/usr/bin/env python3
"""make-seeds.py — writes the hand-made seed inputs of tests/fuzz/corpus/ (seed-* files) from
tests/fixtures and the cases below. Run from anywhere; existing seed-* files are overwritten,
entries that libFuzzer added (other names) are left alone."""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures")


def fixture(*p):
    with open(os.path.join(FIX, *p), "rb") as f:
        return f.read()


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


kubevirt = json.loads(fixture("apiserver", "kubevirt.json"))
node01 = json.loads(fixture("apiserver", "node01.json"))
node02 = json.loads(fixture("apiserver", "node02.json"))

# --- LIST responses ---------------------------------------------------------------------------
put("kube-list", "kubevirt-list", json.dumps({"kind": "KubeVirtList", "apiVersion": "kubevirt.io/v1",
                                              "metadata": {"resourceVersion": "4711"}, "items": [kubevirt]}))
put("kube-list", "kubevirt-list-two", json.dumps({"kind": "KubeVirtList", "metadata": {"resourceVersion": "9"},
                                                  "items": [kubevirt, dict(kubevirt, metadata={"name": "b", "namespace": "x"})]}))
put("kube-list", "kubevirt-list-empty", '{"kind":"KubeVirtList","metadata":{"resourceVersion":"1"},"items":null}')
put("kube-list", "node-list", json.dumps({"kind": "NodeList", "apiVersion": "v1",
                                          "metadata": {"resourceVersion": "1201"}, "items": [node01, node02]}))
put("kube-list", "status-forbidden", '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
    '"message":"nodes is forbidden","reason":"Forbidden","code":403}')
put("kube-list", "node-list-field-selector", json.dumps({"kind": "NodeList", "metadata": {"resourceVersion": "77",
    "continue": ""}, "items": [{"metadata": {"name": "node01", "resourceVersion": "76",
    "labels": {"kubevirt.io/ksm-enabled": "true"}, "annotations": {"kubevirt.io/ksm-handler-managed": "true"},
    "managedFields": [{"manager": "kubevirt-ksmd", "operation": "Update", "time": "2024-05-01T10:00:00Z",
                       "fieldsV1": {"f:metadata": {"f:labels": {"f:kubevirt.io/ksm-enabled": {}}}}}]}}]}))

# --- file source: KubeVirt file NUL Node file -------------------------------------------------
put("kube-objects", "fixtures", fixture("apiserver", "kubevirt.json") + b"\0" + fixture("apiserver", "node01.json"))
put("kube-objects", "node02", fixture("apiserver", "kubevirt.json") + b"\0" + fixture("apiserver", "node02.json"))
put("kube-objects", "hand-written", '{"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":'
    '{"matchExpressions":[{"key":"kubevirt.io/ksm","operator":"In","values":["true","yes"]}]}}}}}\n\0'
    '{"metadata":{"name":"node01","labels":{"kubevirt.io/ksm":"yes","kubevirt.io/ksm-enabled":"false"}}}\n')
put("kube-objects", "empty-selector-annotated", '{"kind":"KubeVirt","metadata":{"name":"kv","namespace":"kubevirt",'
    '"annotations":{"ksm.example.com/selector":"{\\"matchLabels\\":{\\"a\\":\\"b\\"}}"}},'
    '"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":{}}}}}\0'
    '{"metadata":{"name":"n","uid":"1234","annotations":{"kubevirt.io/ksm-handler-managed":"true"},"labels":null}}')
put("kube-objects", "list-null-selector", '{"kind":"List","items":[{"kind":"KubeVirt","metadata":{"name":"a"},'
    '"spec":{"configuration":{"ksmConfiguration":{"nodeLabelSelector":null}}}}]}\0{"metadata":{"name":"x"}}')

# --- selectors (JSON text, also the SelectorAnnotation= string form) -------------------------
sel = {
    "match-labels": {"matchLabels": {"kubevirt.io/ksm": "true"}},
    "empty": {},
    "expressions": {"matchExpressions": [
        {"key": "node-role.kubernetes.io/worker", "operator": "Exists"},
        {"key": "kubevirt.io/ksm", "operator": "NotIn", "values": ["false", "off"]},
        {"key": "example.com/no-ksm", "operator": "DoesNotExist"},
        {"key": "zone", "operator": "In", "values": ["a", "b", "c"]}]},
    "both": {"matchLabels": {"a": "b", "x.y/z": ""}, "matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]},
    "bad-operator": {"matchExpressions": [{"key": "a", "operator": "Foo"}]},
    "bad-key": {"matchLabels": {"-a/b": "c"}},
    "long-value": {"matchLabels": {"a": "x" * 64}},
    "exists-with-values": {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
    "null-fields": {"matchLabels": None, "matchExpressions": None},
}
for k, v in sel.items():
    put("selector", k, json.dumps(v))
put("selector", "null", "null")
put("selector", "unicode", '{"matchLabels":{"a":"\\u00e9\\u0000"}}')

# --- kubeconfig -------------------------------------------------------------------------------
for f in sorted(os.listdir(FIX)):
    if f.startswith("kubeconfig-"):
        put("kubeconfig", f[len("kubeconfig-"):], fixture(f))
put("kubeconfig", "data-fields", """apiVersion: v1
kind: Config
current-context: ksmd
clusters:
- name: c
  cluster:
    server: https://10.0.0.1:6443//
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
users:
- name: u
  user:
    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
    client-key-data: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==
contexts:
- name: ksmd
  context: {cluster: c, user: u, namespace: kubevirt}
""")
put("kubeconfig", "insecure-anchors", """current-context: a
clusters:
- &c {name: c, cluster: {server: "http://127.0.0.1:8080", insecure-skip-tls-verify: true}}
users:
- {name: u, user: {token: abcdefghijklmnop, tokenFile: /run/token}}
contexts:
- {name: a, context: {cluster: c, user: u}}
- {name: ksmd, context: {cluster: c, user: nobody}}
---
second: document
""")

# The same target reads its input as a token file too.
put("kubeconfig", "token-file", "\n\n  eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.payload.sig  \r\nsecond line\n")

# --- configuration file and drop-ins (NUL separates the files) -------------------------------
with open(os.path.join(HERE, "..", "..", "src", "kubevirt-ksmd.conf.example"), "rb") as f:
    example = f.read()
put("conf", "example", example)
put("conf", "dropins", "[KSM]\nPolicy=pressure\nPagesMin=10\n\0[KSM]\nPagesMax=2000\nRecheckSec=1min 30s\n\0"
    "# comment\n; other comment\n[Daemon]\nLogLevel=debug\n\0[Source]\nType=file\nKubeVirtFile=/a.json\nNodeFile=/b.json\n")
put("conf", "kubernetes", "[Kubernetes]\nKubeconfig=/etc/kubevirt-ksmd/kubeconfig\nNodeName=node01\n"
    "WatchIdleTimeoutSec=90s\n\n[Source]\nType=kubernetes\nSelectorAnnotation=ksm.example.com/selector\n"
    "EnabledLabel=example.com/ksm\nManagedAnnotation=example.com/ksm-managed\n")
put("conf", "bad-line", "[KSM]\nPagesMin=abc\n")
put("conf", "unknown-and-reset", "[Nope]\nA=b\n[KSM]\nSysfsDir=\nFreePercent=0.2\nAdvisorMaxCPU=70\nUnknown=1\n")

# --- the record -------------------------------------------------------------------------------
put("record", "claimed", '{"version":1,"claimed":true,"saved":{"pages_to_scan":100,"sleep_millisecs":20}}\n')
put("record", "unclaimed", '{"version":1,"claimed":false}\n')
put("record", "advisor", '{"version":1,"claimed":true,"saved":{"pages_to_scan":0,"sleep_millisecs":4294967295},'
    '"saved_advisor":{"mode":"scan-time","target_scan_time":200,"max_cpu":70,"min_pages_to_scan":500,'
    '"max_pages_to_scan":30000}}\n')
put("record", "pretty", '{\n  "saved": { "sleep_millisecs": 20, "pages_to_scan": 100 },\n  "claimed": false,\n  "version": 1\n}\n')
put("record", "version-2", '{"version":2,"claimed":true}')

# --- /proc/meminfo ----------------------------------------------------------------------------
for f in sorted(os.listdir(FIX)):
    if f.startswith("meminfo-"):
        put("meminfo", f[len("meminfo-"):-len(".txt")], fixture(f))
put("meminfo", "minimal", "MemTotal: 1024 kB\nMemFree: 512 kB\nMemAvailable: 600 kB\n")

# --- KSM sysfs: the attribute files in fuzz-ksm-sysfs.c's order, NUL between ----------------
ATTRS = ["run", "pages_to_scan", "sleep_millisecs", "pages_sharing", "pages_shared", "pages_unshared",
         "pages_volatile", "full_scans", "ksm_zero_pages", "general_profit", "merge_across_nodes",
         "advisor_mode", "advisor_target_scan_time", "advisor_max_cpu", "advisor_min_pages_to_scan",
         "advisor_max_pages_to_scan"]
for tree in ("ksm-6.18", "ksm-old"):
    vals = []
    for a in ATTRS:
        p = os.path.join(FIX, tree, a)
        vals.append(fixture(tree, a) if os.path.exists(p) else b"")
    while vals and vals[-1] == b"":
        vals.pop()
    put("ksm-sysfs", tree, b"\0".join(vals))
put("ksm-sysfs", "negative-profit", b"\0".join([b"1\n", b"100\n", b"20\n", b"5\n", b"1\n", b"0\n", b"0\n", b"3\n",
                                               b"0\n", b"-123456\n", b"1\n", b"none [scan-time]\n"]))
put("ksm-sysfs", "run-only", b"2\n")
