#!/usr/bin/env python3
"""kube-apiserver.py: a Kubernetes API test server for kubevirt-ksmd's test suite.

Python 3 standard library only, plus the `openssl` command-line tool for the certificates.
It stands in for a real kube-apiserver for everything kubevirt-ksmd and kubectl touch, and
its fidelity is checked by running real kubectl builds against it
(tests/integration/test-apiserver-kubectl.sh).

USAGE

    python3 tests/kube-apiserver.py --dir DIR [--port 0] [--host 127.0.0.1]
        [--token TOKEN | --token-file PATH] [--seed FILE.json ...]
        [--bookmark-interval 5] [--history-size 1000] [--min-request-timeout 1800]
        [--server-version v1.30.0] [--aggregated-discovery]

On start it creates (with openssl, reusing the files if they exist) DIR/ca.key, DIR/ca.crt,
DIR/server.key and DIR/server.crt (SAN IP:127.0.0.1, IP:::1, DNS:localhost and --host),
listens with TLS on --port (0: a free one), then writes DIR/port, DIR/token, DIR/pid,
DIR/kubeconfig (server https://127.0.0.1:PORT, certificate-authority-data, the token, or
`tokenFile:` with --token-file; cluster, user and context all named "test") and DIR/ready
last. Wait for DIR/ready. Each API request appends one line to DIR/requests.log:
`METHOD PATH?QUERY STATUS USER-AGENT` (status 0: closed without an answer by a fault; the
control API below is not logged). A watch is logged when its stream starts. SIGTERM and
SIGINT end open watches normally, close every connection and exit 0 (DIR/ready is removed).

--token-file PATH re-reads the valid token (first line, trimmed) from PATH on every
request, so a test can rotate it; if PATH does not exist it is created with --token or a
random token. Without a valid `Authorization: Bearer` header every API path answers 401
(a Status, reason Unauthorized); /healthz, /livez, /readyz and /_test/ need no token.

RESOURCES (all JSON; YAML and protobuf request bodies get 415)

  core/v1 nodes (cluster), namespaces (cluster; "default", "kube-system", "kube-public",
  "kubevirt" exist from the start), events (namespaced), kubevirt.io/v1 kubevirts
  (namespaced, kind KubeVirt, shortNames kv/kvs, status subresource).
  Verbs: list, watch, get, create (generateName supported), update (PUT), patch, delete,
  deletecollection; GET/PUT/PATCH on NAME/status. Patch types: merge-patch (RFC 7386),
  json-patch (RFC 6902), strategic-merge-patch (core types only, as for real: a CR answers
  415; maps merge, lists are replaced except status.conditions/addresses by type and
  finalizers as a set). Objects get metadata.uid, creationTimestamp, resourceVersion; CRs
  also metadata.generation (bumped when anything but metadata/status changes; real nodes,
  namespaces and events have no generation). One resourceVersion counter for all resources
  (like etcd), bumped by every write; a write that changes nothing is not a write (same RV,
  no watch event). Labels and annotations must be maps of strings: POST/PUT with other
  values get 400 BadRequest ("... cannot be handled as a Node: json: cannot unmarshal ..."),
  PATCH gets 422 Invalid (field "patch"), like the real server; bad label keys/values and
  annotation keys get 422 Invalid with causes. Status subresources: writes to the main
  resource keep the old status (and a CR create drops status), NAME/status writes only
  change status. Finalizers hold a DELETE (deletionTimestamp set, MODIFIED) until removed.
  Tables: an Accept with `as=Table;g=meta.k8s.io;v=v1` gets a meta.k8s.io Table with the
  real server's columns (rows carry PartialObjectMetadata, or the object with
  includeObject=Object); also `as=PartialObjectMetadata(List)`.
  Query: labelSelector (=, ==, !=, in, notin, exists, !key, gt, lt), fieldSelector
  (metadata.name, metadata.namespace and the real per-type fields; =, ==, !=), limit and
  continue (real token format; pages are served from current state), resourceVersion,
  resourceVersionMatch (ignored), watch, allowWatchBookmarks, sendInitialEvents,
  timeoutSeconds, dryRun=All, includeObject. /api/v1/watch/... paths work too.

MANAGED FIELDS

  Every create, update and patch records field ownership in metadata.managedFields as the
  real server does for Update operations: one entry per (manager, operation "Update",
  apiVersion, subresource) with time (RFC 3339, renewed when the entry takes fields),
  fieldsType "FieldsV1" and fieldsV1, the fields it set, e.g.
  {"f:metadata":{"f:labels":{"f:kubevirt.io/ksm-enabled":{}}}}. The manager is the
  fieldManager query parameter (at most 128 printable characters, else 422 Invalid), or the
  User-Agent up to its first '/' ("kubectl/v1.30.0 (...)" -> "kubectl"); the server's own
  namespaces are kube-apiserver's. A write takes the fields it adds or changes from every other
  manager; a removed field leaves everybody; empty entries are dropped; a write that changes
  nothing changes nothing. "." marks a map (or list item) owned as a whole by whoever created
  it: labels, annotations, status.capacity/allocatable, list-map items, and, for a custom
  resource (no schema: the real server's deduced type), every map below metadata. Lists are
  atomic except metadata.finalizers/ownerReferences, spec.podCIDRs and status.conditions of
  built-in types. Not modelled: server-side apply (415), managedFields sent by the client
  (ignored), a seeded object's history (it carries what the seed gives, usually none).

WATCH

  resourceVersion unset or "0": synthetic ADDED for every current (matching) object, then
  changes. resourceVersion=N: every change after N, in order, from a bounded history of the
  last --history-size events per resource; N older than that (or than /_test/compact) gets
  HTTP 200 then one event {"type":"ERROR","object":{Status code 410, reason "Expired",
  message "too old resource version: N (M)"}} and the end of the stream. A selector applies
  to events: an object that starts matching is ADDED, one that stops matching is DELETED.
  allowWatchBookmarks=true: a BOOKMARK (kind, apiVersion, metadata.resourceVersion only)
  every --bookmark-interval seconds; its RV is the global RV once every earlier event has
  been sent. sendInitialEvents=true ends the initial ADDED events with a BOOKMARK annotated
  k8s.io/initial-events-end: "true". timeoutSeconds ends the stream normally (else a random
  time between --min-request-timeout and twice that). Each event is one chunk: JSON + "\\n".

DISCOVERY

  /version (--server-version), /api, /api/v1, /apis, /apis/kubevirt.io, /apis/kubevirt.io/v1.
  A request for aggregated discovery (Accept ...as=APIGroupDiscoveryList) gets the plain
  APIVersions/APIGroupList (clients fall back), or with --aggregated-discovery the
  apidiscovery.k8s.io/v2 (or v2beta1) document. /openapi/v3 (JSON) and /openapi/v2 (JSON,
  or gnostic protobuf as kubectl asks) are minimal documents: no schemas, but every PATCH
  operation with x-kubernetes-group-version-kind and the fieldValidation parameter. kubectl
  create/apply need them (a 404 fails with "failed to download openapi"); with them kubectl
  1.27+ sends fieldValidation=Strict (accepted, unknown fields are kept: there are no
  schemas) and older ones skip client-side validation.

CONTROL API (same port, no auth, never logged nor counted). Bodies and answers are JSON.

  --log-bodies: every API request body goes to DIR/bodies.log ("METHOD PATH BODY"), every TLS
  server name a client sends (SNI; "-" for none) to DIR/sni.log.

  POST /_test/fault   one fault object or an array of them; answers {"faults": [active...]}
     {"type":"status","code":503,"count":3,"path_prefix":"/api/v1/nodes",
      "method":"GET","query_contains":"watch=true","reason":"...","message":"...",
      "retry_after":2}
        the next `count` matching requests (default 1, -1: until cleared) get that Status
        (reason/message default to the real server's for the code; 429 gets Retry-After
        (retry_after, default 1) and details.retryAfterSeconds). path_prefix, method and
        query_contains are optional filters; path_prefix matches the path without query.
     {"type":"stall","seconds":10,"count":1,"path_prefix":"...","then":"serve"}
        read the request, send nothing for `seconds`, then serve it ("then":"close": close
        the connection instead).
     {"type":"close","count":1,"path_prefix":"..."}
        read the request and close the connection without any answer.
     {"type":"drop_watches","path_prefix":"..."}
        at once: close every open watch (matching path_prefix) abruptly, no chunked end.
     {"type":"expire_watches","path_prefix":"..."}
        at once: send every open watch an ERROR 410 Expired event and end it normally.
     {"type":"down","seconds":5,"mode":"refuse"}
        for `seconds`: drop all open watches and connections, and
          "refuse"         close the listening socket (connection refused), reopen after;
          "reset"          accept new connections and reset them at once (before TLS);
          "request-close"  accept, read the request, close without answer (except /_test/).
     {"type":"hostile","mode":"...","count":1,"path_prefix":"...","query_contains":"..."}
        the next `count` matching requests (-1: until cleared) get a hostile answer:
          "huge_line"      200, chunked JSON: one watch line of `bytes` (default 100 MB)
                           of {} items, no newline, as fast as the client reads
          "empty_objects"  200, chunked JSON: one watch event of `items` (default 500000)
                           {} items in one array (1.5 MB), then the stream stays open
          "endless_chunk"  200, chunked JSON: "x" bytes forever (never a newline), `rate`
                           bytes/s (default 0: as fast as the client reads)
          "slow_drip"      200, chunked JSON: one byte of a valid event every `interval`
                           seconds (default 0.5), forever
          "big_list"       200: a NodeList of `items` (default 100000) nodes node-N
          "other_node"     200: a NodeList holding one node named `name` (default other)
          "garbage"        not HTTP at all: a line of junk, then the connection closes
          "redirect"       302 to https://localhost:PORT/same/path?redirected=1
          "wrong_ctype"    200 text/html (an HTML page of a proxy)
          "close_at_once"  200, chunked JSON, ended at once without an event
          "expire_at_once" 200, chunked JSON: an ERROR 410 Expired event, then the end
     {"type":"clear"}   forget every pending fault and end a "down" period.
  GET /_test/fault            {"faults": [...], "down_until": epoch-seconds|null}
  DELETE /_test/fault         same as {"type":"clear"}
  POST /_test/compact         forget all watch history: every RV older than the current
                              one gets 410 on watch. {"resourceVersion": "N"}
  GET /_test/requests         {"counts": {"GET /api/v1/nodes": 3, ...},
                               "requests": [{"method","path","query","status","time",
                                 "user_agent","watch"}, ...last 200],
                               "total": N}
  POST /_test/reset-counters  {} (empties counts and the list)
  GET /_test/objects[?resource=nodes]
                              {"resourceVersion": "N", "items": [full objects...]}
  POST /_test/seed            an object, an array or a {"kind":"List","items":[...]};
                              each is created or replaced as is (status included, no
                              validation, kind/apiVersion pick the resource), with watch
                              events. {"resourceVersion": "N", "items": [stored...]}
  GET /_test/watches          {"watches": [{"resource","namespace","path","query",
                               "user_agent","resourceVersion","since"}...]}
  GET /_test/state            {"resourceVersion","history":{res:{"start","events"}},
                               "open_watches","connections"}
"""

import argparse
import base64
import copy
import hashlib
import hmac
import http.server
import json
import os
import random
import re
import secrets
import select
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import deque

# --------------------------------------------------------------------------------------------
# Resource types

ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

NAME_DESC = ("Name must be unique within a namespace. Is required when creating resources, "
             "although some resources may allow a client to request the generation of an "
             "appropriate name automatically. Name is primarily intended for creation "
             "idempotence and configuration definition. Cannot be updated. More info: "
             "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names")
AGE_DESC = ("CreationTimestamp is a timestamp representing the server time when this object "
            "was created. It is not guaranteed to be set in happens-before order across "
            "separate operations. Clients may not set this value. It is represented in "
            "RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for "
            "lists. More info: https://git.k8s.io/community/contributors/devel/"
            "sig-architecture/api-conventions.md#metadata")


def col(name, desc="", typ="string", fmt="", priority=0):
    return {"name": name, "type": typ, "format": fmt, "description": desc, "priority": priority}


class Res:
    def __init__(self, *, group, version, plural, singular, kind, namespaced, short_names=(),
                 verbs=None, categories=(), custom=False, subresources=(), field_labels=(),
                 columns=(), allow_create_on_update=False):
        self.group, self.version, self.plural, self.singular = group, version, plural, singular
        self.kind, self.namespaced, self.short_names = kind, namespaced, list(short_names)
        self.verbs = list(verbs or ALL_VERBS)
        self.categories, self.custom = list(categories), custom
        self.subresources = list(subresources)
        self.field_labels = ["metadata.name"] + (["metadata.namespace"] if namespaced else []) \
            + list(field_labels)
        self.columns = list(columns)
        self.allow_create_on_update = allow_create_on_update

    @property
    def api_version(self):
        return self.version if not self.group else "%s/%s" % (self.group, self.version)

    @property
    def qualified(self):  # "nodes", "kubevirts.kubevirt.io"
        return self.plural if not self.group else "%s.%s" % (self.plural, self.group)

    @property
    def has_status(self):
        return "status" in self.subresources


NODES = Res(group="", version="v1", plural="nodes", singular="node", kind="Node",
            namespaced=False, short_names=["no"], subresources=["status", "proxy"],
            field_labels=["spec.unschedulable"],
            columns=[col("Name", NAME_DESC, fmt="name"),
                     col("Status", "The status of the node"),
                     col("Roles", "The roles of the node"),
                     col("Age", AGE_DESC),
                     col("Version", "Kubelet Version reported by the node."),
                     col("Internal-IP", "List of addresses reachable to the node. Queried from "
                         "cloud provider, if available.", priority=1),
                     col("External-IP", "List of addresses reachable to the node. Queried from "
                         "cloud provider, if available.", priority=1),
                     col("OS-Image", "OS Image reported by the node from /etc/os-release "
                         "(e.g. Debian GNU/Linux 7 (wheezy)).", priority=1),
                     col("Kernel-Version", "Kernel Version reported by the node from "
                         "'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", priority=1),
                     col("Container-Runtime", "ContainerRuntime Version reported by the node "
                         "through runtime remote API (e.g. containerd://1.4.2).", priority=1)])
NAMESPACES = Res(group="", version="v1", plural="namespaces", singular="namespace",
                 kind="Namespace", namespaced=False, short_names=["ns"],
                 verbs=["create", "delete", "get", "list", "patch", "update", "watch"],
                 subresources=["status", "finalize"], field_labels=["status.phase"],
                 columns=[col("Name", NAME_DESC, fmt="name"),
                          col("Status", "The status of the namespace"),
                          col("Age", AGE_DESC)])
EVENTS = Res(group="", version="v1", plural="events", singular="event", kind="Event",
             namespaced=True, short_names=["ev"], allow_create_on_update=True,
             field_labels=["involvedObject.kind", "involvedObject.namespace",
                           "involvedObject.name", "involvedObject.uid",
                           "involvedObject.apiVersion", "involvedObject.resourceVersion",
                           "involvedObject.fieldPath", "reason", "reportingComponent",
                           "source", "type"],
             columns=[col("Last Seen", "Time when this Event was last observed"),
                      col("Type", "Type of this event (Normal, Warning), new types could be "
                          "added in the future."),
                      col("Reason", "This should be a short, machine understandable string "
                          "that gives the reason for the transition into the object's current "
                          "status."),
                      col("Object", "The object that this event is about."),
                      col("Subobject", "The subobject (fieldPath) that this event is about.",
                          priority=1),
                      col("Source", "The component reporting this event. Should be a short "
                          "machine understandable string.", priority=1),
                      col("Message", "A human-readable description of the status of this "
                          "operation."),
                      col("First Seen", "The time at which the event was first recorded.",
                          priority=1),
                      col("Count", "The number of times this event has occurred.",
                          typ="integer", priority=1),
                      col("Name", NAME_DESC, fmt="name", priority=1)])
KUBEVIRTS = Res(group="kubevirt.io", version="v1", plural="kubevirts", singular="kubevirt",
                kind="KubeVirt", namespaced=True, short_names=["kv", "kvs"],
                categories=["all"], custom=True, subresources=["status"],
                columns=[col("Name", NAME_DESC, fmt="name"),
                         col("Age", "", typ="date"),
                         col("Phase", "")])

RESOURCES = [NAMESPACES, NODES, EVENTS, KUBEVIRTS]
BY_GVR = {(r.group, r.version, r.plural): r for r in RESOURCES}
BY_KIND = {(r.api_version, r.kind): r for r in RESOURCES}
GROUP_VERSIONS = {"": ["v1"], "kubevirt.io": ["v1"]}

# --------------------------------------------------------------------------------------------
# Errors and Status objects

REASON_FOR_CODE = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    406: ("NotAcceptable", "the server was unable to respond with a content type that the "
          "client supports"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Expired", "too old resource version"),
    413: ("RequestEntityTooLarge", "the request is too large"),
    415: ("UnsupportedMediaType", "the server does not support the media type"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected fault"),
    502: ("InternalError", "Internal error occurred: bad gateway"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "Timeout: request did not complete within requested timeout - context "
          "deadline exceeded"),
}


def status_body(code, reason, message, details=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
          "message": message, "reason": reason}
    if details:
        st["details"] = details
    st["code"] = code
    return st


class APIError(Exception):
    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.headers = details, headers or {}

    def status(self):
        return status_body(self.code, self.reason, self.message, self.details)


def res_details(res, name):
    d = {"name": name}
    if res.group:
        d["group"] = res.group
    d["kind"] = res.plural
    return d


def err_not_found(res, name):
    return APIError(404, "NotFound", '%s "%s" not found' % (res.qualified, name),
                    res_details(res, name))


def err_already_exists(res, name):
    return APIError(409, "AlreadyExists", '%s "%s" already exists' % (res.qualified, name),
                    res_details(res, name))


def err_conflict(res, name, why=None):
    msg = 'Operation cannot be fulfilled on %s "%s": %s' % (
        res.qualified, name, why or "the object has been modified; please apply your changes "
        "to the latest version and try again")
    return APIError(409, "Conflict", msg, res_details(res, name))


def err_bad_request(msg):
    return APIError(400, "BadRequest", msg)


def err_expired(msg):
    return APIError(410, "Expired", msg)


def go_quote(v):
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v)


class FieldError:
    def __init__(self, kind, field, value=None, detail=""):
        self.kind, self.field, self.value, self.detail = kind, field, value, detail

    def body(self):
        if self.kind == "FieldValueInvalid":
            s = "Invalid value: %s" % go_quote(self.value)
        elif self.kind == "FieldValueRequired":
            s = "Required value"
        elif self.kind == "FieldValueTooLong":
            s = "Too long"
        elif self.kind == "FieldValueNotSupported":
            s = "Unsupported value: %s" % go_quote(self.value)
        elif self.kind == "FieldValueForbidden":
            s = "Forbidden"
        else:
            s = "Invalid value"
        if self.detail:
            s += ": " + self.detail
        return s

    def __str__(self):
        return "%s: %s" % (self.field, self.body())


def err_invalid(kind, name, errors, group=""):
    if len(errors) == 1:
        agg = str(errors[0])
    else:
        agg = "[" + ", ".join(str(e) for e in errors) + "]"
    if kind or name:
        msg = '%s "%s" is invalid: %s' % (kind, name, agg)
    else:
        msg = ' "" is invalid: %s' % agg
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details["causes"] = [{"reason": e.kind, "message": e.body(), "field": e.field}
                         for e in errors]
    return APIError(422, "Invalid", msg, details)


# --------------------------------------------------------------------------------------------
# Validation (k8s.io/apimachinery/pkg/util/validation)

QNAME_CHAR = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QNAME_RE = re.compile("^" + QNAME_CHAR + "$")
LABEL_VALUE_RE = re.compile("^(" + QNAME_CHAR + ")?$")
DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_SUBDOMAIN_RE = re.compile("^" + DNS1123_LABEL + "(\\." + DNS1123_LABEL + ")*$")
DNS1123_LABEL_RE = re.compile("^" + DNS1123_LABEL + "$")

MSG_QNAME = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
             "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
             "'123-abc', regex used for validation is '%s')" % QNAME_CHAR)
MSG_QNAME_WHOLE = ("a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
                   "and must start and end with an alphanumeric character (e.g. 'MyName',  or "
                   "'my.name',  or '123-abc', regex used for validation is '%s') with an "
                   "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
                   % QNAME_CHAR)
MSG_DNS1123_SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case "
                         "alphanumeric characters, '-' or '.', and must start and end with an "
                         "alphanumeric character (e.g. 'example.com', regex used for validation"
                         " is '%s(\\.%s)*')" % (DNS1123_LABEL, DNS1123_LABEL))
MSG_DNS1123_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric "
                     "characters or '-', and must start and end with an alphanumeric character"
                     " (e.g. 'my-name',  or '123-abc', regex used for validation is '%s')"
                     % DNS1123_LABEL)
MSG_LABEL_VALUE = ("a valid label must be an empty string or consist of alphanumeric "
                   "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                   "character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
                   "validation is '(%s)?')" % QNAME_CHAR)


def bounded_match(v, limit, regex, msg):
    """The apiserver's two complaints about a name or value: too long, and not matching."""
    errs = []
    if len(v) > limit:
        errs.append("must be no more than %d characters" % limit)
    if not regex.match(v):
        errs.append(msg)
    return errs


def is_dns1123_subdomain(v):
    return bounded_match(v, 253, DNS1123_SUBDOMAIN_RE, MSG_DNS1123_SUBDOMAIN)


def is_dns1123_label(v):
    return bounded_match(v, 63, DNS1123_LABEL_RE, MSG_DNS1123_LABEL)


def is_qualified_name(v):
    errs = []
    parts = v.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs += ["prefix part " + m for m in is_dns1123_subdomain(prefix)]
    else:
        return [MSG_QNAME_WHOLE]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part must be no more than 63 characters")
    if name and not QNAME_RE.match(name):
        errs.append(MSG_QNAME)
    return errs


def is_label_value(v):
    return bounded_match(v, 63, LABEL_VALUE_RE, MSG_LABEL_VALUE)


def go_json_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def go_unstructured_type(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, list):
        return "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    if v is None:
        return "<nil>"
    return "string"


def decode_check(res, obj):
    """Type errors the real decoder reports; returns a message or None. Normalizes null
    label/annotation values to "" for typed objects, as encoding/json does."""
    md = obj.get("metadata")
    if md is None:
        return None
    if not isinstance(md, dict):
        if res.custom:
            return ".metadata accessor error: %s is of the type %s, expected " \
                   "map[string]interface{}" % (go_quote(md), go_unstructured_type(md))
        return "json: cannot unmarshal %s into Go struct field %s.metadata of type " \
               "v1.ObjectMeta" % (go_json_type(md), res.kind)
    for field in ("labels", "annotations"):
        m = md.get(field)
        if m is None:
            continue
        if not isinstance(m, dict):
            if res.custom:
                return ".metadata.%s accessor error: %s is of the type %s, expected " \
                       "map[string]interface{}" % (field, go_quote(m), go_unstructured_type(m))
            return "json: cannot unmarshal %s into Go struct field ObjectMeta.metadata.%s of " \
                   "type map[string]string" % (go_json_type(m), field)
        for k in list(m):
            v = m[k]
            if isinstance(v, str):
                continue
            if res.custom:
                return ".metadata.%s accessor error: contains non-string value in map under " \
                       "key %s: %s is of the type %s, expected string" % (
                           field, go_quote(k), json.dumps(v), go_unstructured_type(v))
            if v is None:
                m[k] = ""
                continue
            return "json: cannot unmarshal %s into Go struct field ObjectMeta.metadata.%s of " \
                   "type string" % (go_json_type(v), field)
    for field in ("finalizers",):
        f = md.get(field)
        if f is not None and (not isinstance(f, list) or
                              not all(isinstance(x, str) for x in f)):
            return "json: cannot unmarshal %s into Go struct field ObjectMeta.metadata.%s of " \
                   "type []string" % (go_json_type(f), field)
    for field in ("name", "namespace", "generateName", "resourceVersion", "uid"):
        v = md.get(field)
        if v is not None and not isinstance(v, str):
            return "json: cannot unmarshal %s into Go struct field ObjectMeta.metadata.%s of " \
                   "type string" % (go_json_type(v), field)
    return None


def validate_meta(res, obj, creating):
    md = obj["metadata"]
    errs = []
    name = md.get("name", "")
    if creating:
        if not name and not md.get("generateName"):
            errs.append(FieldError("FieldValueRequired", "metadata.name",
                                   detail="name or generateName is required"))
    if name:
        check = is_dns1123_label if res is NAMESPACES else is_dns1123_subdomain
        for m in check(name):
            errs.append(FieldError("FieldValueInvalid", "metadata.name", name, m))
    for k, v in (md.get("labels") or {}).items():
        for m in is_qualified_name(k):
            errs.append(FieldError("FieldValueInvalid", "metadata.labels", k, m))
        for m in is_label_value(v):
            errs.append(FieldError("FieldValueInvalid", "metadata.labels", v, m))
    total = 0
    for k, v in (md.get("annotations") or {}).items():
        for m in is_qualified_name(k.lower()):
            errs.append(FieldError("FieldValueInvalid", "metadata.annotations", k, m))
        total += len(k) + len(v)
    if total > 262144:
        errs.append(FieldError("FieldValueTooLong", "metadata.annotations",
                               detail="must have at most 262144 bytes"))
    seen = set()
    for f in md.get("finalizers") or []:
        for m in is_qualified_name(f):
            errs.append(FieldError("FieldValueInvalid", "metadata.finalizers", f, m))
        seen.add(f)
    if res is EVENTS:
        errs += validate_event(obj)
    return errs


def validate_event(ev):
    errs = []
    ns = ev["metadata"].get("namespace", "")
    io = ev.get("involvedObject") or {}
    ions = io.get("namespace", "") if isinstance(io, dict) else ""
    if not ev.get("eventTime"):
        if not ions:
            if ns not in ("", "default"):
                errs.append(FieldError("FieldValueInvalid", "involvedObject.namespace", ions,
                                       "does not match event.namespace"))
        elif ns != ions:
            errs.append(FieldError("FieldValueInvalid", "involvedObject.namespace", ions,
                                   "does not match event.namespace"))
    else:
        if not ions and ns not in ("default", "kube-system"):
            errs.append(FieldError("FieldValueInvalid", "involvedObject.namespace", ions,
                                   "does not match event.namespace"))
        rc = ev.get("reportingComponent", "")
        if not rc:
            errs.append(FieldError("FieldValueRequired", "reportingComponent"))
        else:
            for m in is_qualified_name(rc):
                errs.append(FieldError("FieldValueInvalid", "reportingComponent", rc, m))
        ri = ev.get("reportingInstance", "")
        if not ri:
            errs.append(FieldError("FieldValueRequired", "reportingInstance"))
        elif len(ri) > 128:
            errs.append(FieldError("FieldValueInvalid", "reportingInstance", "",
                                   "can have at most 128 characters"))
        if not ev.get("action"):
            errs.append(FieldError("FieldValueRequired", "action"))
        if ev.get("type") not in ("Normal", "Warning"):
            errs.append(FieldError("FieldValueInvalid", "type", ev.get("type", ""),
                                   "has invalid value: %s" % ev.get("type", "")))
        if len(ev.get("message", "")) > 1024:
            errs.append(FieldError("FieldValueTooLong", "message",
                                   detail="can have at most 1024 characters"))
    for m in is_dns1123_subdomain(ns):
        errs.append(FieldError("FieldValueInvalid", "namespace", ns, m))
    return errs


# --------------------------------------------------------------------------------------------
# Selectors


class SelectorError(Exception):
    pass


def _lex_selector(s):
    toks, i = [], 0
    while i < len(s):
        c = s[i]
        if c.isspace():
            i += 1
        elif s.startswith("!=", i):
            toks.append(("NEQ", "!="))
            i += 2
        elif s.startswith("==", i):
            toks.append(("EQ", "=="))
            i += 2
        elif c in "=!(),<>":
            toks.append(({"=": "EQ", "!": "NOT", "(": "LP", ")": "RP", ",": "COMMA",
                          "<": "LT", ">": "GT"}[c], c))
            i += 1
        else:
            j = i
            while j < len(s) and not s[j].isspace() and s[j] not in "=!(),<>":
                j += 1
            w = s[i:j]
            toks.append(("IN" if w == "in" else "NOTIN" if w == "notin" else "ID", w))
            i = j
    toks.append(("END", ""))
    return toks


def parse_label_selector(s):
    """k8s.io/apimachinery/pkg/labels.Parse: list of (key, op, values)."""
    reqs = []
    if not s.strip():
        return reqs
    toks = _lex_selector(s)
    p = 0

    def peek():
        return toks[p]

    while True:
        t = peek()
        if t[0] == "NOT":
            p += 1
            t = peek()
            if t[0] != "ID":
                raise SelectorError("unable to parse requirement: found '%s', expected: "
                                    "identifier" % t[1])
            p += 1
            reqs.append((t[1], "!", []))
        elif t[0] == "ID":
            key = t[1]
            p += 1
            t = peek()
            if t[0] in ("END", "COMMA"):
                reqs.append((key, "exists", []))
            elif t[0] in ("EQ", "NEQ"):
                p += 1
                v = peek()
                if v[0] == "ID":
                    p += 1
                    val = v[1]
                elif v[0] in ("END", "COMMA"):
                    val = ""
                else:
                    raise SelectorError("unable to parse requirement: found '%s', expected: "
                                        "identifier" % v[1])
                reqs.append((key, "=" if t[0] == "EQ" else "!=", [val]))
            elif t[0] in ("IN", "NOTIN"):
                p += 1
                if peek()[0] != "LP":
                    raise SelectorError("unable to parse requirement: found '%s', expected: "
                                        "'('" % peek()[1])
                p += 1
                vals = []
                while True:
                    v = peek()
                    if v[0] == "ID":
                        vals.append(v[1])
                        p += 1
                        v = peek()
                    elif v[0] in ("COMMA", "RP"):
                        vals.append("")
                    else:
                        raise SelectorError("unable to parse requirement: found '%s', "
                                            "expected: ',', ')' or identifier" % v[1])
                    if v[0] == "COMMA":
                        p += 1
                        continue
                    if v[0] == "RP":
                        p += 1
                        break
                    raise SelectorError("unable to parse requirement: found '%s', expected: "
                                        "',' or ')'" % v[1])
                if vals == [""]:
                    vals = []
                reqs.append((key, t[0].lower(), vals))
            elif t[0] in ("GT", "LT"):
                p += 1
                v = peek()
                if v[0] != "ID":
                    raise SelectorError("unable to parse requirement: found '%s', expected: "
                                        "identifier" % v[1])
                p += 1
                try:
                    int(v[1])
                except ValueError:
                    raise SelectorError("unable to parse requirement: for 'Gt', 'Lt' operators,"
                                        " the value must be an integer")
                reqs.append((key, "gt" if t[0] == "GT" else "lt", [v[1]]))
            else:
                raise SelectorError("unable to parse requirement: found '%s', expected: "
                                    "in, notin, =, ==, !=, gt, lt" % t[1])
        else:
            raise SelectorError("unable to parse requirement: found '%s', expected: !, "
                                "identifier" % t[1])
        t = peek()
        if t[0] == "END":
            break
        if t[0] != "COMMA":
            raise SelectorError("found '%s', expected: ',' or 'end of string'" % t[1])
        p += 1
    for key, op, vals in reqs:
        for m in is_qualified_name(key):
            raise SelectorError("unable to parse requirement: <nil>: Invalid value: %s: %s"
                                % (go_quote(key), m))
        if op in ("gt", "lt"):
            continue
        for v in vals:
            for m in is_label_value(v):
                raise SelectorError("unable to parse requirement: values[0][%s]: Invalid "
                                    "value: %s: %s" % (key, go_quote(v), m))
    return reqs


def label_match(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "=" and (not has or v != vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and (not has or v not in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op in ("gt", "lt"):
            if not has:
                return False
            try:
                n = int(v)
            except ValueError:
                return False
            if op == "gt" and not n > int(vals[0]):
                return False
            if op == "lt" and not n < int(vals[0]):
                return False
    return True


def _split_unescaped(s, sep):
    out, cur, i = [], "", 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            cur += s[i:i + 2]
            i += 2
        elif s[i] == sep:
            out.append(cur)
            cur = ""
            i += 1
        else:
            cur += s[i]
            i += 1
    out.append(cur)
    return out


def _unescape_field(v):
    return re.sub(r"\\(.)", r"\1", v)


def parse_field_selector(s, res):
    reqs = []
    if not s.strip():
        return reqs
    for part in _split_unescaped(s, ","):
        if not part:
            continue
        m = None
        for op in ("!=", "==", "="):
            idx = part.find(op)
            if idx >= 0:
                m = (part[:idx], "!=" if op == "!=" else "=", _unescape_field(part[idx + len(op):]))
                break
        if not m:
            raise SelectorError("invalid selector: '%s'; can't understand '%s'" % (s, part))
        field = m[0].strip()
        if field not in res.field_labels:
            if res.custom:
                raise SelectorError('"%s" is not a known field selector: only %s' % (
                    field, ", ".join('"%s"' % f for f in res.field_labels)))
            raise SelectorError("field label not supported: %s" % field)
        reqs.append((field, m[1], m[2]))
    return reqs


def field_value(obj, field):
    if field == "source":
        return str((obj.get("source") or {}).get("component", ""))
    if field == "spec.unschedulable":
        return "true" if (obj.get("spec") or {}).get("unschedulable") else "false"
    cur = obj
    for p in field.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_match(reqs, obj):
    for field, op, val in reqs:
        v = field_value(obj, field)
        if op == "=" and v != val:
            return False
        if op == "!=" and v == val:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Patches


class PatchError(Exception):
    def __init__(self, msg, code=422):
        super().__init__(msg)
        self.code = code


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = dict(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


SMP_MERGE_KEYS = {("status", "conditions"): "type", ("status", "addresses"): "type",
                  ("metadata", "ownerReferences"): "uid"}
SMP_SET_LISTS = {("metadata", "finalizers")}


def strategic_merge(target, patch, path=()):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if not k.startswith("$")}
    if directive == "delete":
        return None
    out = dict(target)
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k.startswith("$deleteFromPrimitiveList/"):
            if k.startswith("$deleteFromPrimitiveList/"):
                name = k.split("/", 1)[1]
                if isinstance(out.get(name), list) and isinstance(v, list):
                    out[name] = [x for x in out[name] if x not in v]
            continue
        if k.startswith("$"):
            continue
        sub = path + (k,)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, list) and sub in SMP_MERGE_KEYS and isinstance(out.get(k), list):
            mk = SMP_MERGE_KEYS[sub]
            cur = [copy.deepcopy(x) for x in out[k]]
            for item in v:
                if not isinstance(item, dict) or mk not in item:
                    raise PatchError("map: %s does not contain declared merge key: %s"
                                     % (item, mk), 400)
                idx = next((i for i, x in enumerate(cur)
                            if isinstance(x, dict) and x.get(mk) == item[mk]), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        del cur[idx]
                elif idx is None:
                    cur.append({a: b for a, b in item.items() if not a.startswith("$")})
                else:
                    cur[idx] = strategic_merge(cur[idx], item, sub)
            out[k] = cur
        elif isinstance(v, list) and sub in SMP_SET_LISTS and isinstance(out.get(k), list):
            cur = list(out[k])
            for x in v:
                if x not in cur:
                    cur.append(x)
            out[k] = cur
        elif isinstance(v, dict):
            r = strategic_merge(out.get(k), v, sub)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        else:
            out[k] = copy.deepcopy(v)
    return out


def _ptr(path):
    if path == "":
        return []
    if not isinstance(path, str) or not path.startswith("/"):
        raise PatchError("JSON pointer %s must start with '/'" % go_quote(path))
    return [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]


def _json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    return a == b


def _list_index(tok, n, allow_end, path):
    if tok == "-" and allow_end:
        return n
    if not re.match(r"^(0|[1-9][0-9]*)$", tok):
        raise PatchError("add operation does not apply: doc is missing path: %s: missing value"
                         % go_quote(path))
    i = int(tok)
    if i > n or (i == n and not allow_end):
        raise PatchError("Unable to access invalid index: %d: invalid index referenced" % i)
    return i


def _resolve_parent(doc, toks, op, path):
    cur = doc
    for t in toks[:-1]:
        if isinstance(cur, dict) and t in cur:
            cur = cur[t]
        elif isinstance(cur, list) and re.match(r"^(0|[1-9][0-9]*)$", t) and int(t) < len(cur):
            cur = cur[int(t)]
        else:
            raise PatchError("%s operation does not apply: doc is missing path: %s: missing value"
                             % (op, go_quote(path)))
    if not isinstance(cur, (dict, list)):
        raise PatchError("%s operation does not apply: doc is missing path: %s: missing value"
                         % (op, go_quote(path)))
    return cur


def _get(doc, path, op):
    toks = _ptr(path)
    if not toks:
        return doc
    parent = _resolve_parent(doc, toks, op, path)
    t = toks[-1]
    if isinstance(parent, dict):
        if t not in parent:
            raise PatchError("%s operation does not apply: doc is missing from path: %s: "
                             "missing value" % (op, go_quote(path)))
        return parent[t]
    i = _list_index(t, len(parent), False, path)
    return parent[i]


def _add(doc, path, value):
    toks = _ptr(path)
    if not toks:
        return copy.deepcopy(value)
    parent = _resolve_parent(doc, toks, "add", path)
    t = toks[-1]
    if isinstance(parent, dict):
        parent[t] = copy.deepcopy(value)
    else:
        parent.insert(_list_index(t, len(parent), True, path), copy.deepcopy(value))
    return doc


def _remove(doc, path, op="remove"):
    toks = _ptr(path)
    if not toks:
        raise PatchError("unable to remove the whole document")
    parent = _resolve_parent(doc, toks, op, path)
    t = toks[-1]
    if isinstance(parent, dict):
        if t not in parent:
            if op == "replace":
                raise PatchError("replace operation does not apply: doc is missing key: %s: "
                                 "missing value" % path)
            raise PatchError("unable to remove nonexistent key: %s: missing value" % t)
        return parent.pop(t)
    i = _list_index(t, len(parent), False, path)
    return parent.pop(i)


def json_patch(doc, ops):
    """RFC 6902 on a deep copy."""
    if not isinstance(ops, list):
        raise PatchError("json: cannot unmarshal %s into Go value of type jsonpatch.Patch"
                         % go_json_type(ops), 400)
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict):
            raise PatchError("json: cannot unmarshal %s into Go value of type jsonpatch.Operation"
                             % go_json_type(op), 400)
        kind = op.get("op")
        path = op.get("path")
        if path is None:
            raise PatchError("%s operation does not apply: doc is missing path: \"\": missing "
                             "value" % kind)
        if kind == "add":
            if "value" not in op:
                raise PatchError("add operation does not apply: doc is missing value: missing "
                                 "value")
            doc = _add(doc, path, op["value"])
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            if "value" not in op:
                raise PatchError("replace operation does not apply: doc is missing value")
            toks = _ptr(path)
            if not toks:
                doc = copy.deepcopy(op["value"])
            else:
                _remove(doc, path, "replace")
                doc = _add(doc, path, op["value"])
        elif kind == "move":
            frm = op.get("from")
            if frm is None:
                raise PatchError("move operation does not apply: doc is missing from path")
            if path != frm and path.startswith(frm + "/"):
                raise PatchError("move operation does not apply: path %s is a child of from %s"
                                 % (path, frm))
            v = _get(doc, frm, "move")
            _remove(doc, frm, "move")
            doc = _add(doc, path, v)
        elif kind == "copy":
            frm = op.get("from")
            if frm is None:
                raise PatchError("copy operation does not apply: doc is missing from path")
            doc = _add(doc, path, copy.deepcopy(_get(doc, frm, "copy")))
        elif kind == "test":
            try:
                v = _get(doc, path, "test")
            except PatchError:
                if op.get("value") is None:
                    continue
                raise PatchError("testing value %s failed: test failed" % path)
            if not _json_equal(v, op.get("value")):
                raise PatchError("testing value %s failed: test failed" % path)
        else:
            raise PatchError("Unexpected kind: %s" % kind)
    return doc


# --------------------------------------------------------------------------------------------
# Objects


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_ts(s):
    if not isinstance(s, str) or not s:
        return None
    try:
        s2 = re.sub(r"\.\d+", "", s).replace("Z", "+0000")
        return time.mktime(time.strptime(s2, "%Y-%m-%dT%H:%M:%S%z")) - time.timezone
    except (ValueError, OverflowError):
        return None


def human_duration(secs):
    """k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    seconds = int(secs)
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 120:
        return "%ds" % seconds
    minutes = seconds // 60
    if minutes < 10:
        s = seconds % 60
        return "%dm" % minutes if s == 0 else "%dm%ds" % (minutes, s)
    if minutes < 180:
        return "%dm" % minutes
    hours = seconds // 3600
    if hours < 8:
        m = minutes % 60
        return "%dh" % hours if m == 0 else "%dh%dm" % (hours, m)
    if hours < 48:
        return "%dh" % hours
    if hours < 24 * 8:
        h = hours % 24
        return "%dd" % (hours // 24) if h == 0 else "%dd%dh" % (hours // 24, h)
    if hours < 24 * 365 * 2:
        return "%dd" % (hours // 24)
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return "%dy" % (hours // 24 // 365) if dy == 0 else "%dy%dd" % (hours // 24 // 365, dy)
    return "%dy" % (hours // 24 // 365)


def since(ts):
    t = parse_ts(ts)
    if t is None:
        return "<unknown>"
    return human_duration(time.time() - t)


META_ORDER = ["name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
              "generation", "creationTimestamp", "deletionTimestamp",
              "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences",
              "finalizers", "managedFields"]


def sort_deep(v):
    if isinstance(v, dict):
        return {k: sort_deep(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sort_deep(x) for x in v]
    return v


def canonical(res, obj):
    """Field order as the real server writes it: struct order for built-in types, sorted
    keys for custom resources (unstructured maps)."""
    if res.custom:
        return sort_deep(obj)
    md = obj.get("metadata") or {}
    nmd = {k: md[k] for k in META_ORDER if k in md}
    nmd.update({k: v for k, v in md.items() if k not in nmd})
    out = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion"), "metadata": nmd}
    for k, v in obj.items():
        if k not in out:
            out[k] = v
    return out


# --------------------------------------------------------------------------------------------
# managedFields: who set which field, recorded the way the real server records Update
# operations (creates count as Update too). A field is a path of FieldsV1 keys, e.g.
# ("f:metadata", "f:labels", "f:kubevirt.io/ksm-enabled").

# Metadata the server fills in itself; nobody owns it (the real server strips these first).
UNOWNED_META = ("name", "namespace", "uid", "resourceVersion", "generation",
                "creationTimestamp", "selfLink", "managedFields", "clusterName")
# Lists of built-in types tracked item by item: a list-map (by these keys) or a set (None).
# Every other list is atomic: one field, whoever wrote it last owns the whole list.
GRANULAR_LISTS = {("metadata", "finalizers"): None, ("metadata", "ownerReferences"): ("uid",),
                  ("spec", "podCIDRs"): None, ("status", "conditions"): ("type",)}
# Maps of built-in types with free keys (the rest of a typed object is structs).
FREE_MAPS = {("metadata", "labels"), ("metadata", "annotations"), ("status", "capacity"),
             ("status", "allocatable")}
MAX_MANAGER_LEN = 128


def _compact(v):
    return json.dumps(v, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def field_members(res, obj):
    """Every field of an object as {path: kind}: kind is "struct" (a container of declared
    fields: never owned by itself), "map" (a map with free keys or a tracked list item, owned
    by whoever created it) or ("leaf", fingerprint). A custom resource has no schema here, so
    like the real server's deduced type everything below metadata is a free map and every
    list is atomic."""
    out = {}

    def walk(v, path, names):
        if isinstance(v, dict) and v:
            free = (names in FREE_MAPS) if not res.custom else \
                (names[0] != "metadata" or names in FREE_MAPS)
            out[path] = "map" if free else "struct"
            for k, c in v.items():
                if names == ("metadata",) and k in UNOWNED_META:
                    continue
                walk(c, path + ("f:" + k,), names + (k,))
        elif isinstance(v, list) and names in GRANULAR_LISTS and \
                (not res.custom or names[0] == "metadata"):
            keys = GRANULAR_LISTS[names]
            out[path] = "map"
            for item in v:
                if keys is None or not isinstance(item, dict):
                    out[path + ("v:" + _compact(item),)] = ("leaf", _compact(item))
                    continue
                ip = path + ("k:" + _compact({k: item.get(k) for k in keys}),)
                out[ip] = "map"
                for k, c in item.items():
                    walk(c, ip + ("f:" + k,), names + ("*", k))
        else:
            out[path] = ("leaf", _compact(v))

    for k, v in obj.items():
        if k not in ("apiVersion", "kind"):
            walk(v, ("f:" + k,), (k,))
    return out


def fields_v1_paths(tree, prefix=()):
    """FieldsV1 JSON -> set of paths ("." marks the container itself as owned)."""
    out = set()
    if not isinstance(tree, dict):
        return out
    for k, v in tree.items():
        if k == ".":
            out.add(prefix)
        elif isinstance(v, dict) and v:
            out |= fields_v1_paths(v, prefix + (k,))
        else:
            out.add(prefix + (k,))
    return out


def fields_v1_json(paths):
    """Set of paths -> FieldsV1 JSON, keys in the real serializer's order ("." first, then
    f:, k:, v:, i: elements, each sorted)."""
    root = {}
    for p in paths:
        node = root
        for pe in p:
            node = node.setdefault(pe, {})
        node[None] = True

    def render(node):
        kids = sorted((k for k in node if k is not None),
                      key=lambda k: ("fkvi".find(k[0]) if k[1:2] == ":" else 9, k))
        out = {".": {}} if node.get(None) and kids else {}
        for k in kids:
            out[k] = render(node[k])
        return out
    return render(root)


def manager_from_user_agent(ua):
    """The real server's default field manager: the user agent up to its first '/', printable
    characters only, at most 128 of them."""
    return "".join(c for c in (ua or "").split("/")[0] if c.isprintable())[:MAX_MANAGER_LEN]


def check_field_manager(manager, options_kind):
    why = None
    if len(manager) > MAX_MANAGER_LEN:
        why = "must be no more than %d characters" % MAX_MANAGER_LEN
    elif not manager.isprintable():
        why = "invalid characters"
    if why:
        e = FieldError("FieldValueInvalid", "fieldManager", manager, why)
        raise APIError(422, "Invalid", '%s.meta.k8s.io "" is invalid: %s' % (options_kind, e),
                       {"group": "meta.k8s.io", "kind": options_kind,
                        "causes": [{"reason": e.kind, "message": e.body(),
                                    "field": e.field}]})


def record_managed_fields(res, old, new, manager, subresource=""):
    """Sets new.metadata.managedFields after an Update by `manager` turned old (None for a
    create) into new: the fields it added or changed become its own and leave every other
    manager; fields that are gone leave everybody; entries left empty are dropped. Its entry's
    time is renewed only when it took fields."""
    before = field_members(res, old) if old else {}
    after = field_members(res, new)
    took = set()
    for p, kind in after.items():
        if kind == "struct":
            continue
        was = before.get(p)
        if (was != "map") if kind == "map" else (was != kind):
            took.add(p)
    ownable = {p for p, kind in after.items() if kind != "struct"}
    me = (manager, "Update", res.api_version, subresource)
    entries, mine = [], None
    for e in (old["metadata"].get("managedFields") if old else None) or []:
        if not isinstance(e, dict):
            continue
        paths = fields_v1_paths(e.get("fieldsV1"))
        if (e.get("manager"), e.get("operation"), e.get("apiVersion"),
                e.get("subresource", "")) == me:
            mine = e
            continue
        paths = (paths - took) & ownable
        if paths:
            entries.append(dict(e, fieldsV1=fields_v1_json(paths)))
    if mine is not None or took:
        paths = (fields_v1_paths(mine.get("fieldsV1")) if mine else set()) | took
        paths &= ownable
        if paths:
            e = {"manager": manager, "operation": "Update", "apiVersion": res.api_version,
                 "time": now_rfc3339() if took or mine is None else mine.get("time"),
                 "fieldsType": "FieldsV1", "fieldsV1": fields_v1_json(paths)}
            if subresource:
                e["subresource"] = subresource
            entries.append(e)
    # The real server's order: Apply before Update, then by time, manager, subresource.
    entries.sort(key=lambda e: (e.get("operation", ""), parse_ts(e.get("time")) or 0,
                                e.get("manager", ""), e.get("subresource", "")))
    if entries:
        new["metadata"]["managedFields"] = entries
    else:
        new["metadata"].pop("managedFields", None)


def obj_key(res, obj):
    md = obj["metadata"]
    return (md.get("namespace", "") if res.namespaced else "", md["name"])


def key_str(k):
    return "%s/%s" % k if k[0] else k[1]


def strip_list_item(res, obj):
    """Items of a built-in List carry no kind/apiVersion (typed lists); CR items do."""
    if res.custom:
        return obj
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


def partial_meta(obj, api_version="meta.k8s.io/v1"):
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version,
            "metadata": copy.deepcopy(obj.get("metadata", {}))}


def node_row(o):
    md, spec, st = o.get("metadata", {}), o.get("spec") or {}, o.get("status") or {}
    conds = {c.get("type"): c for c in st.get("conditions") or [] if isinstance(c, dict)}
    status = []
    if "Ready" in conds:
        status.append("Ready" if conds["Ready"].get("status") == "True" else "NotReady")
    if not status:
        status.append("Unknown")
    if spec.get("unschedulable"):
        status.append("SchedulingDisabled")
    roles = set()
    for k, v in (md.get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            r = k[len("node-role.kubernetes.io/"):]
            if r:
                roles.add(r)
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    addrs = st.get("addresses") or []

    def addr(t):
        for a in addrs:
            if isinstance(a, dict) and a.get("type") == t:
                return a.get("address", "")
        return "<none>"
    ni = st.get("nodeInfo") or {}
    return [md.get("name", ""), ",".join(status), ",".join(sorted(roles)) or "<none>",
            since(md.get("creationTimestamp")), ni.get("kubeletVersion", ""),
            addr("InternalIP"), addr("ExternalIP"), ni.get("osImage") or "<unknown>",
            ni.get("kernelVersion") or "<unknown>",
            ni.get("containerRuntimeVersion") or "<unknown>"]


def namespace_row(o):
    md = o.get("metadata", {})
    return [md.get("name", ""), (o.get("status") or {}).get("phase", ""),
            since(md.get("creationTimestamp"))]


def event_row(o):
    md = o.get("metadata", {})
    first = since(o.get("firstTimestamp")) if o.get("firstTimestamp") else since(
        o.get("eventTime"))
    last = since(o.get("lastTimestamp")) if o.get("lastTimestamp") else first
    count = o.get("count") or 0
    series = o.get("series")
    if isinstance(series, dict):
        last = since(series.get("lastObservedTime"))
        count = series.get("count", 0)
    elif not count:
        count = 1
    io = o.get("involvedObject") or {}
    target = ("%s/%s" % (str(io.get("kind", "")).lower(), io["name"])) if io.get("name") \
        else str(io.get("kind", "")).lower()
    src = o.get("source") or {}
    comp = src.get("component") or o.get("reportingComponent", "")
    inst = src.get("host") or o.get("reportingInstance", "")
    source = "<unknown>" if not comp else comp if not inst else "%s, %s" % (comp, inst)
    return [last, o.get("type", ""), o.get("reason", ""), target, io.get("fieldPath", ""),
            source, str(o.get("message", "")).strip(), first, int(count), md.get("name", "")]


def kubevirt_row(o):
    md = o.get("metadata", {})
    ct = md.get("creationTimestamp")
    age = since(ct) if parse_ts(ct) is not None else ("<invalid>" if ct else None)
    phase = (o.get("status") or {}).get("phase")
    return [md.get("name", ""), age, phase if isinstance(phase, str) else
            (json.dumps(phase) if phase is not None else None)]


ROWS = {"nodes": node_row, "namespaces": namespace_row, "events": event_row,
        "kubevirts": kubevirt_row}


def gen_suffix():
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(random.choice(alphabet) for _ in range(5))


# --------------------------------------------------------------------------------------------
# The store: objects, one resourceVersion counter, per-resource bounded watch history


class Watcher:
    def __init__(self, res, namespace, path, query, user_agent, cursor):
        self.res, self.namespace, self.path, self.query = res, namespace, path, query
        self.user_agent, self.cursor = user_agent, cursor
        self.since = time.time()
        self.drop = False       # close abruptly
        self.expire = False     # send 410 and end


class Store:
    def __init__(self, history_size):
        self.cond = threading.Condition(threading.RLock())
        self.rv = 0
        self.objects = {r.plural: {} for r in RESOURCES}
        self.history = {r.plural: deque() for r in RESOURCES}
        self.start_rv = {r.plural: 0 for r in RESOURCES}
        self.history_size = max(1, history_size)
        self.watchers = set()
        self.closing = False

    # ---- low level, call with self.cond held

    def _commit(self, res, typ, key, new, old):
        self.rv += 1
        rv = self.rv
        if typ == "DELETED":
            final = copy.deepcopy(old)
            final["metadata"]["resourceVersion"] = str(rv)
            del self.objects[res.plural][key]
            evobj = final
        else:
            new["metadata"]["resourceVersion"] = str(rv)
            new = canonical(res, new)
            self.objects[res.plural][key] = new
            evobj = new
        h = self.history[res.plural]
        h.append((rv, typ, copy.deepcopy(evobj), copy.deepcopy(old) if old else None))
        while len(h) > self.history_size:
            ev = h.popleft()
            self.start_rv[res.plural] = ev[0]
        self.cond.notify_all()
        return copy.deepcopy(evobj)

    def get(self, res, key):
        with self.cond:
            o = self.objects[res.plural].get(key)
            return copy.deepcopy(o) if o is not None else None

    def compact(self):
        with self.cond:
            for r in RESOURCES:
                self.history[r.plural].clear()
                self.start_rv[r.plural] = self.rv
            self.cond.notify_all()
            return self.rv

    def events_since(self, res, cursor):
        """Events after cursor, or None when history no longer reaches back to it."""
        if cursor < self.start_rv[res.plural]:
            return None
        out = []
        for ev in reversed(self.history[res.plural]):
            if ev[0] <= cursor:
                break
            out.append(ev)
        out.reverse()
        return out


# --------------------------------------------------------------------------------------------
# Faults


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.pending = []
        self.down_until = 0.0
        self.down_mode = None

    def add(self, f):
        with self.lock:
            self.pending.append(f)

    def clear(self):
        with self.lock:
            self.pending = []
            self.down_until = 0.0
            self.down_mode = None

    def down(self):
        with self.lock:
            if self.down_mode and time.time() < self.down_until:
                return self.down_mode
            self.down_mode = None
            return None

    def take(self, method, path, query):
        with self.lock:
            for f in self.pending:
                if f.get("path_prefix") and not path.startswith(f["path_prefix"]):
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("query_contains") and f["query_contains"] not in query:
                    continue
                if f.get("count", 1) > 0:
                    f["count"] = f.get("count", 1) - 1
                    if f["count"] == 0:
                        self.pending.remove(f)
                return dict(f)
        return None

    def snapshot(self):
        with self.lock:
            return {"faults": [dict(f) for f in self.pending],
                    "down_until": self.down_until if self.down_mode else None,
                    "down_mode": self.down_mode}


# --------------------------------------------------------------------------------------------
# HTTP


def parse_media_types(header):
    out = []
    for part in (header or "").split(","):
        part = part.strip()
        if not part:
            continue
        items = [x.strip() for x in part.split(";")]
        params = {}
        for it in items[1:]:
            if "=" in it:
                k, v = it.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
        out.append((items[0].lower(), params))
    return out


class Route:
    def __init__(self):
        self.res = None
        self.namespace = None
        self.name = None
        self.sub = None
        self.watch_path = False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 300
    disable_nagle_algorithm = True

    # ---- plumbing

    def setup(self):
        super().setup()
        self.server.track(self, True)

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        self.server.track(self, False)

    def log_message(self, fmt, *args):
        pass

    def send_response(self, code, message=None):
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
        self._status = code
        self.server.record(self, code)

    def handle_one_request(self):
        self._status = None
        self._watch = False
        self._aborted = False
        self.req_path = None
        self.req_query = ""
        try:
            super().handle_one_request()
        except (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError):
            self.close_connection = True
        except OSError:
            self.close_connection = True
        if self._aborted:
            self.close_connection = True

    def abort(self):
        """Close the connection abruptly: no response, no TLS close_notify."""
        self._aborted = True
        self.close_connection = True
        if self._status is None:
            self._status = 0
            self.server.record(self, 0)     # logged and counted with status 0
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def read_body(self):
        if getattr(self, "_body", None) is not None:
            return self._body
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                data += self.rfile.read(size)
                self.rfile.readline(65537)
        else:
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n > 0 else b""
        self._body = data
        return data

    def send_bytes(self, code, body, ctype="application/json", headers=None):
        self.send_response(code)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, code, obj, ctype="application/json", headers=None):
        body = json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
        self.send_bytes(code, body, ctype, headers)

    def send_error_status(self, e):
        headers = dict(e.headers)
        self.send_json(e.code, e.status(), headers=headers)

    # ---- dispatch

    def dispatch(self, method):
        self._body = None
        url = urllib.parse.urlsplit(self.path)
        self.req_path, self.req_query = url.path, url.query
        self.q = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        srv = self.server
        try:
            if self.req_path.startswith("/_test/"):
                self.read_body()
                return self.control(method)
            if srv.faults.down() == "request-close":
                self.read_body()
                return self.abort()
            if self.req_path in ("/healthz", "/livez", "/readyz"):
                return self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
            body = self.read_body()
            if body and srv.bodies_log:
                with srv.stats_lock:
                    srv.bodies_log.write("%s %s %s\n" % (method, self.req_path,
                                                          body.decode(errors="replace")))
                    srv.bodies_log.flush()
            if not self.authorized():
                raise APIError(401, "Unauthorized", "Unauthorized")
            f = srv.faults.take(method, self.req_path, self.req_query)
            if f is not None and self.apply_fault(f):
                return
            self.route(method)
        except APIError as e:
            self.send_error_status(e)
        except (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError):
            self.close_connection = True
        except Exception as e:  # noqa: BLE001 - answer 500 like the real server
            traceback.print_exc(file=sys.stderr)
            try:
                self.send_error_status(APIError(500, "InternalError",
                                                "Internal error occurred: %s" % e,
                                                {"causes": [{"message": str(e)}]}))
            except OSError:
                self.close_connection = True

    def authorized(self):
        want = self.server.current_token()
        h = self.headers.get("Authorization") or ""
        if not h.startswith("Bearer ") or not want:
            return False
        return hmac.compare_digest(h[7:].strip().encode(), want.encode())

    def apply_fault(self, f):
        t = f.get("type")
        if t == "status":
            code = int(f.get("code", 500))
            reason, message = REASON_FOR_CODE.get(code, ("", "injected fault"))
            reason = f.get("reason", reason)
            message = f.get("message", message)
            details = None
            headers = {}
            if code == 403 and "message" not in f:
                message = self.forbidden_message()
            if code in (429, 503, 504) or "retry_after" in f:
                ra = f.get("retry_after", 1 if code == 429 else None)
                if ra is not None:
                    headers["Retry-After"] = str(int(ra))
                    details = {"retryAfterSeconds": int(ra)}
            if code == 500 and "message" not in f:
                details = {"causes": [{"message": "injected fault"}]}
            if code == 410 and "message" not in f:
                message = "too old resource version: %s (%d)" % (
                    self.q.get("resourceVersion", ["0"])[0], self.server.store.rv)
            self.send_json(code, status_body(code, reason, message, details), headers=headers)
            return True
        if t == "stall":
            self.server.stop_event.wait(float(f.get("seconds", 10)))
            if f.get("then") == "close" or self.server.stop_event.is_set():
                self.abort()
                return True
            return False
        if t == "close":
            self.abort()
            return True
        if t == "hostile":
            self.hostile(f)
            return True
        return False

    def forbidden_message(self):
        try:
            r = self.parse_route()
        except APIError:
            r = None
        verb = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(self.command, "get")
        if r is None or r.res is None:
            return 'forbidden: User "system:serviceaccount:kubevirt:kubevirt-ksmd" cannot %s ' \
                   'path "%s"' % (verb, self.req_path)
        if self.command == "GET" and not r.name:
            verb = "watch" if self.is_watch(r) else "list"
        what = r.res.plural + ("/" + r.sub if r.sub else "")
        subject = '%s "%s"' % (r.res.qualified, r.name) if r.name else r.res.qualified
        scope = 'in the namespace "%s"' % r.namespace if r.namespace else "at the cluster scope"
        return '%s is forbidden: User "system:serviceaccount:kubevirt:kubevirt-ksmd" cannot %s ' \
               'resource "%s" in API group "%s" %s' % (subject, verb, what, r.res.group, scope)

    # ---- routing

    def parse_route(self):
        p = self.req_path.rstrip("/") if self.req_path != "/" else "/"
        segs = [s for s in p.split("/") if s != ""]
        if len(segs) >= 2 and segs[0] == "api":
            group, version, rest = "", segs[1], segs[2:]
        elif len(segs) >= 3 and segs[0] == "apis":
            group, version, rest = segs[1], segs[2], segs[3:]
        else:
            return None
        if version not in GROUP_VERSIONS.get(group, []):
            return None
        if not rest:
            return None
        r = Route()
        if rest[0] == "watch":
            r.watch_path = True
            rest = rest[1:]
        if not rest:
            return None
        if rest[0] == "namespaces" and len(rest) >= 3 and not (
                len(rest) == 3 and rest[2] in ("status", "finalize")):
            r.namespace = rest[1]
            rest = rest[2:]
            res = BY_GVR.get((group, version, rest[0]))
            if res is None or not res.namespaced:
                raise APIError(404, "NotFound", "the server could not find the requested "
                               "resource", {})
        else:
            res = BY_GVR.get((group, version, rest[0]))
            if res is None:
                raise APIError(404, "NotFound", "the server could not find the requested "
                               "resource", {})
        r.res = res
        if len(rest) >= 2:
            r.name = rest[1]
            if res.namespaced and r.namespace is None:
                raise APIError(404, "NotFound", "the server could not find the requested "
                               "resource", {})
        if len(rest) >= 3:
            r.sub = rest[2]
            if r.sub not in res.subresources or r.sub in ("proxy",) or len(rest) > 3:
                raise APIError(404, "NotFound", "the server could not find the requested "
                               "resource", {})
        return r

    def is_watch(self, r):
        w = self.q.get("watch", [""])[-1].lower()
        return r.watch_path or w in ("true", "1")

    def route(self, method):
        p = self.req_path
        srv = self.server
        if method in ("GET", "HEAD"):
            if p == "/version" or p == "/version/":
                return self.send_json(200, srv.version_info())
            disc = srv.discovery(p, self.headers.get("Accept", ""))
            if disc is not None:
                return self.send_json(200, disc[0], ctype=disc[1])
            if p.startswith("/openapi/"):
                doc = srv.openapi(p, self.headers.get("Accept", ""))
                if doc is None:
                    return self.send_bytes(404, b"404 page not found\n",
                                           "text/plain; charset=utf-8")
                return self.send_bytes(200, doc[0], doc[1], {"Etag": '"%s"' % hashlib.sha512(
                    doc[0]).hexdigest().upper()[:64], "Vary": "Accept"})
        r = self.parse_route()
        if r is None:
            return self.send_bytes(404, b"404 page not found\n", "text/plain; charset=utf-8")
        if r.sub == "finalize":
            if method != "PUT":
                raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
        if method in ("GET", "HEAD"):
            if r.name is None:
                if self.is_watch(r):
                    return self.serve_watch(r)
                return self.serve_list(r)
            if r.watch_path:
                # /watch/.../NAME: a watch with fieldSelector metadata.name
                self.q["fieldSelector"] = ["metadata.name=%s" % r.name]
                r.name = None
                return self.serve_watch(r)
            return self.serve_get(r)
        if r.watch_path:
            raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
        if method == "POST":
            if r.res.namespaced and r.namespace is None:
                raise APIError(404, "NotFound", "the server could not find the requested "
                               "resource", {})
            if r.name is not None:
                raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
            return self.serve_create(r)
        if method == "PUT":
            if r.name is None:
                raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
            return self.serve_update(r)
        if method == "PATCH":
            if r.name is None:
                raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
            return self.serve_patch(r)
        if method == "DELETE":
            if r.sub:
                raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
            if r.name is None:
                return self.serve_deletecollection(r)
            return self.serve_delete(r)
        raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])

    # ---- output formats

    def output_format(self):
        """("json"|"table"|"partial"|"partiallist", api_version) from Accept."""
        for mt, params in parse_media_types(self.headers.get("Accept", "")):
            if mt in ("application/json", "*/*", "application/*") and "as" not in params:
                return ("json", None)
            if mt == "application/json" and params.get("g") == "meta.k8s.io" and \
                    params.get("v") in ("v1", "v1beta1"):
                asv = params.get("as")
                if asv == "Table":
                    return ("table", params["v"])
                if asv == "PartialObjectMetadata":
                    return ("partial", params["v"])
                if asv == "PartialObjectMetadataList":
                    return ("partiallist", params["v"])
            if mt == "application/vnd.kubernetes.protobuf":
                continue
        accept = self.headers.get("Accept", "")
        if accept and "json" not in accept and "*/*" not in accept:
            raise APIError(406, "NotAcceptable", "only the following media types are accepted:"
                           " application/json, application/yaml, "
                           "application/vnd.kubernetes.protobuf")
        return ("json", None)

    def table(self, res, objs, ver, list_meta, headers=True):
        include = self.q.get("includeObject", ["PartialObjectMetadata"])[-1]
        rows = []
        for o in objs:
            row = {"cells": ROWS[res.plural](o)}
            if include == "Object":
                row["object"] = o
            elif include != "None":
                row["object"] = partial_meta(o, "meta.k8s.io/" + ver)
            rows.append(row)
        t = {"kind": "Table", "apiVersion": "meta.k8s.io/" + ver, "metadata": list_meta}
        if headers:
            t["columnDefinitions"] = res.columns
        t["rows"] = rows
        return t

    def table_ctype(self, ver):
        return "application/json;as=Table;v=%s;g=meta.k8s.io" % ver

    # ---- read

    def selectors(self, res):
        try:
            ls = parse_label_selector(self.q.get("labelSelector", [""])[-1])
            fs = parse_field_selector(self.q.get("fieldSelector", [""])[-1], res)
        except SelectorError as e:
            raise err_bad_request(str(e))
        return ls, fs

    def matcher(self, r):
        ls, fs = self.selectors(r.res)
        ns = r.namespace

        def match(o):
            if o is None:
                return False
            md = o.get("metadata", {})
            if ns is not None and md.get("namespace") != ns:
                return False
            return label_match(ls, md.get("labels")) and field_match(fs, o)
        return match

    def parse_rv(self, value, what="resourceVersion"):
        try:
            n = int(value)
            if n < 0:
                raise ValueError
            return n
        except ValueError:
            raise err_bad_request("invalid %s: %s" % (what, go_quote(value)))

    def serve_get(self, r):
        res = r.res
        o = self.server.store.get(res, (r.namespace or "", r.name))
        if o is None:
            raise err_not_found(res, r.name)
        fmt, ver = self.output_format()
        if fmt == "table":
            t = self.table(res, [o], ver, {"resourceVersion": o["metadata"]["resourceVersion"]})
            return self.send_json(200, t, ctype=self.table_ctype(ver))
        if fmt in ("partial", "partiallist"):
            return self.send_json(200, partial_meta(o, "meta.k8s.io/" + ver))
        return self.send_json(200, o)

    def serve_list(self, r):
        res = r.res
        store = self.server.store
        match = self.matcher(r)
        limit = self.q.get("limit", ["0"])[-1]
        try:
            limit = int(limit or 0)
        except ValueError:
            raise err_bad_request("invalid limit: %s" % go_quote(limit))
        cont = self.q.get("continue", [""])[-1]
        rv_param = self.q.get("resourceVersion", [""])[-1]
        start_key = None
        with store.cond:
            if cont:
                if rv_param:
                    raise err_bad_request("specifying resource version is not allowed when "
                                          "using continue")
                try:
                    tok = json.loads(base64.b64decode(cont + "=" * (-len(cont) % 4)))
                    list_rv = int(tok["rv"])
                    start_key = tok["start"]
                    if tok.get("v") != "meta.k8s.io/v1" or list_rv <= 0:
                        raise ValueError
                except (ValueError, KeyError, TypeError):
                    raise err_bad_request("continue key is not valid: invalid continue token")
                if list_rv < store.start_rv[res.plural]:
                    raise err_expired(
                        "The provided continue parameter is too old to display a consistent "
                        "list result. You can start a new list without the continue parameter,"
                        " or use the continue token in this response to retrieve the "
                        "remainder of the results. Continuing with the provided token results "
                        "in an inconsistent list - objects that were created, modified, or "
                        "deleted between the time the first chunk was returned and now may "
                        "show up in the list.")
            else:
                list_rv = store.rv
                if rv_param and rv_param != "0":
                    want = self.parse_rv(rv_param)
                    deadline = time.time() + 3
                    while store.rv < want and time.time() < deadline:
                        store.cond.wait(deadline - time.time())
                    if store.rv < want:
                        raise APIError(504, "Timeout", "Too large resource version: %d, current:"
                                       " %d" % (want, store.rv),
                                       {"causes": [{"reason": "ResourceVersionTooLarge",
                                                    "message": "Too large resource version"}],
                                        "retryAfterSeconds": 1},
                                       headers={"Retry-After": "1"})
                    list_rv = store.rv
            items = sorted(store.objects[res.plural].items(), key=lambda kv: key_str(kv[0]))
            items = [copy.deepcopy(o) for k, o in items
                     if (start_key is None or key_str(k) >= start_key) and match(o)]
        meta = {"resourceVersion": str(list_rv)}
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            last = obj_key(res, items[-1])
            tok = {"v": "meta.k8s.io/v1", "rv": list_rv, "start": key_str(last) + "\x00"}
            meta["continue"] = base64.b64encode(
                json.dumps(tok, separators=(",", ":")).encode()).decode()
            if not self.q.get("labelSelector", [""])[-1] and \
                    not self.q.get("fieldSelector", [""])[-1]:
                meta["remainingItemCount"] = rest
        fmt, ver = self.output_format()
        if fmt == "table":
            return self.send_json(200, self.table(res, items, ver, meta),
                                  ctype=self.table_ctype(ver))
        if fmt in ("partial", "partiallist"):
            return self.send_json(200, {"kind": "PartialObjectMetadataList",
                                        "apiVersion": "meta.k8s.io/" + ver, "metadata": meta,
                                        "items": [partial_meta(o, "meta.k8s.io/" + ver)
                                                  for o in items]})
        body = {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": meta,
                "items": [strip_list_item(res, o) for o in items]}
        if res.custom:
            body = {"apiVersion": res.api_version, "items": body["items"],
                    "kind": res.kind + "List", "metadata": meta}
        return self.send_json(200, body)

    # ---- hostile answers (fault type "hostile")

    def hostile_start(self, ctype="application/json", watch=True):
        self._watch = watch
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def hostile(self, f):
        mode = f.get("mode")
        stop = self.server.stop_event
        self.close_connection = True
        try:
            if mode == "huge_line":
                self.hostile_start()
                left = int(f.get("bytes", 100 * 1000 * 1000))
                self.write_chunk(b'{"type":"ADDED","object":{"x":[')
                block = b"{}," * 21845
                while left > 0 and not stop.is_set():
                    self.write_chunk(block[:left])
                    left -= len(block)
                self.write_chunk(b"")
            elif mode == "empty_objects":
                self.hostile_start()
                n = int(f.get("items", 500000))
                self.write_chunk(b'{"type":"ADDED","object":{"metadata":{"name":"' +
                                 self.hostile_name().encode() + b'"},"x":[' +
                                 b",".join([b"{}"] * n) + b"]}}\n")
                while not stop.wait(0.5) and not self.client_gone():
                    pass
            elif mode == "endless_chunk":
                self.hostile_start()
                rate = float(f.get("rate", 0))
                block = b"x" * (65536 if rate <= 0 else max(1, int(rate / 10)))
                while not stop.is_set():
                    self.write_chunk(block)
                    if rate > 0 and stop.wait(0.1):
                        break
            elif mode == "slow_drip":
                self.hostile_start()
                ev = json.dumps({"type": "BOOKMARK", "object": {"kind": "Node", "apiVersion": "v1",
                                 "metadata": {"resourceVersion": str(self.server.store.rv)}}}) + "\n"
                i = 0
                while not stop.wait(float(f.get("interval", 0.5))):
                    self.write_chunk(ev[i % len(ev)].encode())
                    self.wfile.flush()
                    i += 1
            elif mode == "big_list":
                n = int(f.get("items", 100000))
                items = ",".join('{"kind":"Node","apiVersion":"v1","metadata":{"name":"node-%d",'
                                 '"labels":{"kubevirt.io/ksm":"true"}}}' % i for i in range(n))
                body = ('{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"%d"},'
                        '"items":[%s]}\n' % (self.server.store.rv, items)).encode()
                self.send_bytes(200, body)
            elif mode == "other_node":
                body = {"kind": "NodeList", "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(self.server.store.rv)},
                        "items": [{"kind": "Node", "apiVersion": "v1",
                                   "metadata": {"name": f.get("name", "other"),
                                                "labels": {"kubevirt.io/ksm": "true"}}}]}
                self.send_json(200, body)
            elif mode == "garbage":
                self._status = 0
                self.server.record(self, 0)
                self.wfile.write(b"\x16\x03GARBAGE \x00\xff not HTTP at all\r\n\r\n")
                self.wfile.flush()
                self.abort()
            elif mode == "redirect":
                port = self.server.port
                loc = "https://localhost:%d%s?%s" % (port, self.req_path,
                                                     (self.req_query + "&" if self.req_query else "") + "redirected=1")
                self.close_connection = False
                self.send_bytes(302, b"", "text/html", {"Location": loc})
            elif mode == "wrong_ctype":
                self.close_connection = False
                self.send_bytes(200, b"<html><body>Welcome to the proxy</body></html>\n", "text/html")
            elif mode == "close_at_once":
                self.hostile_start()
                self.write_chunk(b"")
            elif mode == "expire_at_once":
                self.hostile_start()
                st = status_body(410, "Expired", "too old resource version: %s (%d)" % (
                    self.q.get("resourceVersion", ["0"])[0], self.server.store.rv))
                self.write_chunk(json.dumps({"type": "ERROR", "object": st}).encode() + b"\n")
                self.write_chunk(b"")
            else:
                self.send_error_status(APIError(500, "InternalError", "unknown hostile mode %s" % mode))
        except (OSError, ValueError):
            self.close_connection = True

    def hostile_name(self):
        sel = self.q.get("fieldSelector", [""])[-1]
        return sel.split("=", 1)[1] if sel.startswith("metadata.name=") else "x"

    # ---- watch

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def client_gone(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            self.connection.settimeout(0.05)
            try:
                data = self.connection.recv(1)
            finally:
                self.connection.settimeout(self.timeout)
            return not data
        except (ssl.SSLWantReadError, socket.timeout, TimeoutError):
            return False
        except (OSError, ValueError):
            return True

    def serve_watch(self, r):
        res = r.res
        srv = self.server
        store = srv.store
        match = self.matcher(r)
        q = self.q
        rv_param = q.get("resourceVersion", [""])[-1]
        bookmarks = q.get("allowWatchBookmarks", [""])[-1].lower() in ("true", "1")
        send_initial = q.get("sendInitialEvents", [""])[-1].lower() in ("true", "1")
        if send_initial and not bookmarks:
            raise err_invalid("", "", [FieldError(
                "FieldValueForbidden", "allowWatchBookmarks",
                detail="sendInitialEvents requires setting allowWatchBookmarks to true")])
        ts = q.get("timeoutSeconds", [""])[-1]
        if ts:
            try:
                timeout = float(int(ts))
            except ValueError:
                raise err_bad_request("invalid timeoutSeconds: %s" % go_quote(ts))
        else:
            timeout = srv.min_request_timeout * (1 + random.random())
        fmt, ver = self.output_format()
        want_rv = None if rv_param in ("", "0") or send_initial else self.parse_rv(rv_param)
        initial = []
        expired_msg = None
        w = Watcher(res, r.namespace, self.req_path, self.req_query,
                    self.headers.get("User-Agent", ""), 0)
        with store.cond:
            if want_rv is None:
                w.cursor = store.rv
                items = sorted(store.objects[res.plural].items(), key=lambda kv: key_str(kv[0]))
                initial = [copy.deepcopy(o) for _, o in items if match(o)]
            else:
                w.cursor = want_rv
                if want_rv < store.start_rv[res.plural]:
                    expired_msg = "too old resource version: %d (%d)" % (
                        want_rv, store.start_rv[res.plural])
            if expired_msg is None:
                store.watchers.add(w)
        self._watch = True
        self.send_response(200)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", self.table_ctype(ver) if fmt == "table"
                         else "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        state = {"headers": True}

        def encode(typ, obj):
            if typ in ("ADDED", "MODIFIED", "DELETED"):
                if fmt == "table":
                    obj = self.table(res, [obj], ver,
                                     {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                     headers=state["headers"])
                    state["headers"] = False
                elif fmt in ("partial", "partiallist"):
                    obj = partial_meta(obj, "meta.k8s.io/" + ver)
            return json.dumps({"type": typ, "object": obj}, separators=(",", ":"),
                              ensure_ascii=False).encode() + b"\n"

        def bookmark(rv, annotations=None):
            md = {"resourceVersion": str(rv)}
            if not res.custom:
                md["creationTimestamp"] = None
            if annotations:
                md["annotations"] = annotations
            return {"kind": res.kind, "apiVersion": res.api_version, "metadata": md}

        def expired(msg):
            return status_body(410, "Expired", msg)

        try:
            if expired_msg is not None:
                self.write_chunk(encode("ERROR", expired(expired_msg)))
                self.write_chunk(b"")
                return
            for o in initial:
                self.write_chunk(encode("ADDED", o))
            if send_initial:
                self.write_chunk(encode("BOOKMARK", bookmark(
                    w.cursor, {"k8s.io/initial-events-end": "true"})))
            deadline = time.time() + timeout
            next_bm = time.time() + srv.bookmark_interval
            last_probe = time.time()
            while True:
                out = []
                end = None
                with store.cond:
                    while True:
                        if w.drop:
                            end = "drop"
                            break
                        if w.expire:
                            end = "expire"
                            break
                        if store.closing:
                            end = "normal"
                            break
                        evs = store.events_since(res, w.cursor)
                        if evs is None:
                            end = "expire"
                            break
                        if evs:
                            out = evs
                            break
                        now = time.time()
                        if now >= deadline:
                            end = "normal"
                            break
                        if bookmarks and now >= next_bm:
                            out = [(store.rv, "BOOKMARK", None, None)]
                            break
                        if now - last_probe >= 1.0:
                            break
                        wait = min(deadline, next_bm if bookmarks else deadline,
                                   last_probe + 1.0) - now
                        store.cond.wait(max(0.01, wait))
                if end == "drop":
                    self.abort()
                    return
                if end == "expire":
                    self.write_chunk(encode("ERROR", expired(
                        "too old resource version: %d (%d)" % (
                            w.cursor, max(store.start_rv[res.plural], store.rv)))))
                    self.write_chunk(b"")
                    return
                if end == "normal":
                    self.write_chunk(b"")
                    return
                for rv, typ, obj, old in out:
                    if typ == "BOOKMARK":
                        self.write_chunk(encode("BOOKMARK", bookmark(rv)))
                        next_bm = time.time() + srv.bookmark_interval
                    else:
                        now_m, old_m = match(obj), match(old) if old is not None else False
                        etype = None
                        if typ == "ADDED" and now_m:
                            etype = "ADDED"
                        elif typ == "MODIFIED":
                            if now_m and old_m:
                                etype = "MODIFIED"
                            elif now_m:
                                etype = "ADDED"
                            elif old_m:
                                etype = "DELETED"
                        elif typ == "DELETED" and (old_m or now_m):
                            etype = "DELETED"
                        if etype:
                            self.write_chunk(encode(etype, obj))
                    w.cursor = max(w.cursor, rv)
                if time.time() - last_probe >= 1.0:
                    last_probe = time.time()
                    if self.client_gone():
                        self.close_connection = True
                        return
        except (ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, OSError):
            self.close_connection = True
        finally:
            with store.cond:
                store.watchers.discard(w)

    # ---- write helpers

    def body_json(self, what="object"):
        ctype = (self.headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if ctype not in ("application/json", "") and not ctype.endswith("+json"):
            raise APIError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media "
                           "types include: application/json, application/yaml, "
                           "application/vnd.kubernetes.protobuf, application/cbor")
        try:
            return json.loads(self.read_body().decode() or "null")
        except (ValueError, UnicodeDecodeError) as e:
            raise err_bad_request("error decoding %s: %s" % (what, e))

    def dry_run(self):
        dr = self.q.get("dryRun", [])
        for v in dr:
            if v not in ("All",):
                raise err_bad_request("dryRun: Unsupported value: %s: supported values: \"All\""
                                      % go_quote(v))
        return bool(dr)

    def field_manager(self, options_kind):
        """The fieldManager query parameter, else the user agent's product name."""
        m = (self.q.get("fieldManager") or [""])[-1]
        if m:
            check_field_manager(m, options_kind)
            return m
        return manager_from_user_agent(self.headers.get("User-Agent", ""))

    def check_kind(self, res, body):
        if not isinstance(body, dict):
            raise err_bad_request("%s in version \"%s\" cannot be handled as a %s: json: cannot "
                                  "unmarshal %s into Go value of type map[string]interface {}"
                                  % (res.kind, res.version, res.kind, go_json_type(body)))
        kind = body.get("kind")
        av = body.get("apiVersion")
        if kind not in (None, "") and kind != res.kind:
            raise err_bad_request("%s in version \"%s\" cannot be handled as a %s: no kind "
                                  "\"%s\" is registered for version \"%s\"" % (
                                      kind, res.version, res.kind, kind, av or res.api_version))
        if av not in (None, "") and av != res.api_version:
            raise err_bad_request("the API version in the data (%s) does not match the expected "
                                  "API version (%s)" % (av, res.api_version))
        body["kind"], body["apiVersion"] = res.kind, res.api_version
        if "metadata" not in body or body["metadata"] is None:
            body["metadata"] = {}
        msg = decode_check(res, body)
        if msg:
            raise err_bad_request("%s in version \"%s\" cannot be handled as a %s: %s"
                                  % (res.kind, res.version, res.kind, msg))

    # ---- create

    def serve_create(self, r):
        res = r.res
        body = self.body_json()
        self.check_kind(res, body)
        obj, created = self.server.create(res, r.namespace, body, self.dry_run(),
                                          self.field_manager("CreateOptions"))
        self.send_json(201, obj)

    # ---- update

    def serve_update(self, r):
        res = r.res
        body = self.body_json()
        self.check_kind(res, body)
        obj, code = self.server.update(res, r.namespace, r.name, body, r.sub, self.dry_run(),
                                       self.field_manager("UpdateOptions"))
        self.send_json(code, obj)

    # ---- patch

    def serve_patch(self, r):
        res = r.res
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        accepted = ["application/json-patch+json", "application/merge-patch+json",
                    "application/apply-patch+yaml"]
        if not res.custom:
            accepted.insert(2, "application/strategic-merge-patch+json")
        if ctype == "application/apply-patch+yaml":
            raise APIError(415, "UnsupportedMediaType", "server-side apply (application/apply-"
                           "patch+yaml) is not implemented by this test server")
        if ctype not in accepted:
            # The real server's answer, also to a strategic merge patch of a custom resource.
            raise APIError(415, "UnsupportedMediaType", "the body of the request was in an "
                           "unknown format - accepted media types include: %s"
                           % ", ".join(accepted))
        try:
            patch = json.loads(self.read_body().decode() or "null")
        except (ValueError, UnicodeDecodeError) as e:
            raise err_bad_request("error decoding patch: %s" % e)
        if ctype != "application/json-patch+json" and not isinstance(patch, dict):
            raise err_bad_request("json: cannot unmarshal %s into Go value of type "
                                  "map[string]interface {}" % go_json_type(patch))
        obj = self.server.patch(res, r.namespace, r.name, r.sub, ctype, patch, self.dry_run(),
                                self.field_manager("PatchOptions"))
        self.send_json(200, obj)

    # ---- delete

    def serve_delete(self, r):
        res = r.res
        raw = self.read_body()
        opts = {}
        if raw.strip():
            try:
                opts = json.loads(raw.decode())
            except (ValueError, UnicodeDecodeError) as e:
                raise err_bad_request("error decoding DeleteOptions: %s" % e)
            if not isinstance(opts, dict):
                raise err_bad_request("DeleteOptions must be an object")
        for k in ("propagationPolicy",):
            if k in self.q:
                opts[k] = self.q[k][-1]
        code, obj = self.server.delete(res, r.namespace, r.name, opts, self.dry_run())
        self.send_json(code, obj)

    def serve_deletecollection(self, r):
        res = r.res
        if "deletecollection" not in res.verbs:
            raise APIError(405, "MethodNotAllowed", REASON_FOR_CODE[405][1])
        match = self.matcher(r)
        store = self.server.store
        with store.cond:
            keys = [k for k, o in store.objects[res.plural].items() if match(o)]
        for k in keys:
            try:
                self.server.delete(res, k[0] or None, k[1], {}, self.dry_run())
            except APIError:
                pass
        self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                             "status": "Success"})

    # ---- control API

    def control(self, method):
        srv = self.server
        p = self.req_path.rstrip("/")

        def body():
            raw = self.read_body().decode() or "null"
            try:
                return json.loads(raw)
            except ValueError as e:
                raise APIError(400, "BadRequest", "bad JSON: %s" % e)
        try:
            if p == "/_test/fault" and method == "POST":
                b = body()
                for f in (b if isinstance(b, list) else [b]):
                    srv.add_fault(f, self)
                return self.send_json(200, srv.faults.snapshot())
            if p == "/_test/fault" and method == "GET":
                return self.send_json(200, srv.faults.snapshot())
            if p == "/_test/fault" and method == "DELETE":
                srv.faults.clear()
                return self.send_json(200, srv.faults.snapshot())
            if p == "/_test/compact" and method == "POST":
                return self.send_json(200, {"resourceVersion": str(srv.store.compact())})
            if p == "/_test/requests" and method == "GET":
                return self.send_json(200, srv.request_stats())
            if p == "/_test/reset-counters" and method == "POST":
                srv.reset_stats()
                return self.send_json(200, {})
            if p == "/_test/objects" and method == "GET":
                want = self.q.get("resource", [None])[-1]
                with srv.store.cond:
                    items = [copy.deepcopy(o) for r in RESOURCES
                             if want in (None, r.plural, r.qualified)
                             for _, o in sorted(srv.store.objects[r.plural].items(),
                                                key=lambda kv: key_str(kv[0]))]
                    rv = srv.store.rv
                return self.send_json(200, {"resourceVersion": str(rv), "items": items})
            if p == "/_test/seed" and method == "POST":
                stored = srv.seed(body())
                return self.send_json(200, {"resourceVersion": str(srv.store.rv),
                                            "items": stored})
            if p == "/_test/watches" and method == "GET":
                return self.send_json(200, {"watches": srv.watch_list()})
            if p == "/_test/state" and method == "GET":
                st = srv.store
                with st.cond:
                    hist = {r.plural: {"start": str(st.start_rv[r.plural]),
                                       "events": len(st.history[r.plural])} for r in RESOURCES}
                    out = {"resourceVersion": str(st.rv), "history": hist,
                           "open_watches": len(st.watchers)}
                out["connections"] = len(srv.conns)
                out.update(srv.faults.snapshot())
                return self.send_json(200, out)
        except APIError as e:
            return self.send_json(e.code, e.status())
        except (ValueError, TypeError, KeyError) as e:
            return self.send_json(400, status_body(400, "BadRequest", str(e)))
        self.send_json(404, status_body(404, "NotFound", "no such control endpoint"))


# --------------------------------------------------------------------------------------------
# The server


class APIServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, args, ssl_ctx):
        self.args = args
        self.ssl_ctx = ssl_ctx
        self.store = Store(args.history_size)
        self.faults = Faults()
        self.stop_event = threading.Event()
        self.listener_closed = threading.Event()
        self.wake_r, self.wake_w = os.pipe()
        self.bookmark_interval = args.bookmark_interval
        self.min_request_timeout = args.min_request_timeout
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.threads = set()
        self.stats_lock = threading.Lock()
        self.counts = {}
        self.recent = deque(maxlen=200)
        self.total = 0
        self.log = open(os.path.join(args.dir, "requests.log"), "a", buffering=1)
        self.static_token = args.token
        self.token_file = args.token_file
        super().__init__((args.host, args.port), Handler)
        self.port = self.server_address[1]
        for ns in ("default", "kube-system", "kube-public", "kubevirt"):
            self.create(NAMESPACES, None, {"kind": "Namespace", "apiVersion": "v1",
                                           "metadata": {"name": ns}}, False)

    # ---- connections

    def process_request(self, request, client_address):
        t = threading.Thread(target=self._conn_thread, args=(request, client_address),
                             daemon=True)
        with self.conns_lock:
            self.threads.add(t)
        t.start()

    def _conn_thread(self, sock, addr):
        ssock = None
        try:
            sock.settimeout(10)
            ssock = self.ssl_ctx.wrap_socket(sock, server_side=True)
            ssock.settimeout(None)
            self.finish_request(ssock, addr)
        except (OSError, ssl.SSLError, ValueError):
            pass
        except Exception:  # noqa: BLE001
            traceback.print_exc(file=sys.stderr)
        finally:
            if ssock is not None:
                try:
                    ssock.close()
                except OSError:
                    pass
            else:
                try:
                    sock.close()
                except OSError:
                    pass
            with self.conns_lock:
                self.threads.discard(threading.current_thread())

    def verify_request(self, request, client_address):
        mode = self.faults.down()
        if mode == "reset":
            try:
                request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            return False
        return not self.stop_event.is_set()

    def track(self, handler, add):
        with self.conns_lock:
            if add:
                self.conns.add(handler)
            else:
                self.conns.discard(handler)

    def kill_connections(self, except_handler=None):
        with self.conns_lock:
            conns = list(self.conns)
        for h in conns:
            if h is except_handler:
                continue
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def wake(self):
        try:
            os.write(self.wake_w, b"x")
        except OSError:
            pass

    def serve(self):
        while not self.stop_event.is_set():
            if self.faults.down() == "refuse":
                if self.socket is not None:
                    self.socket.close()
                    self.socket = None
                self.listener_closed.set()
                self.stop_event.wait(0.05)
                continue
            if self.socket is None:
                try:
                    s = socket.socket(self.address_family, socket.SOCK_STREAM)
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    s.bind((self.args.host, self.port))
                    s.listen(self.request_queue_size)
                    self.socket = s
                except OSError:
                    s.close()
                    self.stop_event.wait(0.1)
                    continue
            try:
                r, _, _ = select.select([self.socket, self.wake_r], [], [], 0.2)
            except (OSError, ValueError):
                continue
            if self.wake_r in r:
                os.read(self.wake_r, 512)
            if self.socket in r:
                self._handle_request_noblock()

    def stop(self):
        st = self.store
        with st.cond:
            st.closing = True
            st.cond.notify_all()
        deadline = time.time() + 2
        while time.time() < deadline:
            with st.cond:
                if not st.watchers:
                    break
            time.sleep(0.02)
        self.kill_connections()
        with self.conns_lock:
            threads = list(self.threads)
        for t in threads:
            t.join(timeout=2)
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        os.close(self.wake_r)
        os.close(self.wake_w)
        self.log.close()

    # ---- auth

    def current_token(self):
        if self.token_file:
            try:
                with open(self.token_file) as f:
                    return (f.readline() or "").strip()
            except OSError:
                return None
        return self.static_token

    # ---- stats

    def record(self, handler, code):
        path = getattr(handler, "req_path", None) or getattr(handler, "path", "") or ""
        if path.startswith("/_test/"):
            return
        query = getattr(handler, "req_query", "") if getattr(handler, "req_path", None) else ""
        headers = getattr(handler, "headers", None)
        ua = headers.get("User-Agent", "") if headers else ""
        line = "%s %s%s %d %s\n" % (handler.command, path, "?" + query if query else "", code, ua)
        with self.stats_lock:
            try:
                self.log.write(line)
            except ValueError:
                pass
            key = "%s %s" % (handler.command, path)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.total += 1
            self.recent.append({"method": handler.command, "path": path, "query": query,
                                "status": code, "time": time.time(), "user_agent": ua,
                                "watch": bool(getattr(handler, "_watch", False))})

    def request_stats(self):
        with self.stats_lock:
            return {"counts": dict(self.counts), "requests": list(self.recent),
                    "total": self.total}

    def reset_stats(self):
        with self.stats_lock:
            self.counts = {}
            self.recent.clear()
            self.total = 0

    def watch_list(self):
        with self.store.cond:
            return [{"resource": w.res.plural, "namespace": w.namespace, "path": w.path,
                     "query": w.query, "user_agent": w.user_agent,
                     "resourceVersion": str(w.cursor), "since": w.since}
                    for w in self.store.watchers]

    # ---- faults

    def add_fault(self, f, handler):
        if not isinstance(f, dict) or "type" not in f:
            raise ValueError("a fault is an object with a \"type\"")
        t = f["type"]
        if t in ("status", "stall", "close", "hostile"):
            f.setdefault("count", 1)
            if t == "status" and "code" not in f:
                raise ValueError("status fault needs \"code\"")
            self.faults.add(dict(f))
        elif t in ("drop_watches", "expire_watches"):
            self._mark_watches(f.get("path_prefix", ""), "drop" if t == "drop_watches"
                               else "expire")
        elif t == "down":
            mode = f.get("mode", "refuse")
            if mode not in ("refuse", "reset", "request-close"):
                raise ValueError("down mode must be refuse, reset or request-close")
            self.listener_closed.clear()
            with self.faults.lock:
                self.faults.down_until = time.time() + float(f.get("seconds", 5))
                self.faults.down_mode = mode
            if mode == "refuse":
                self.wake()     # the accept loop closes the listening socket before we answer
                self.listener_closed.wait(2)
            self._mark_watches("", "drop")
            self.kill_connections(except_handler=handler)
        elif t == "clear":
            self.faults.clear()
        else:
            raise ValueError("unknown fault type %s" % go_quote(t))

    def _mark_watches(self, prefix, what):
        with self.store.cond:
            for w in self.store.watchers:
                if w.path.startswith(prefix or ""):
                    if what == "drop":
                        w.drop = True
                    else:
                        w.expire = True
            self.store.cond.notify_all()

    # ---- OpenAPI: just enough for kubectl (the fieldValidation query parameter on every
    # PATCH, which makes kubectl 1.25+ validate on the server side), in JSON (v2 and v3)
    # and in the protobuf encoding kubectl asks for v2 (gnostic openapi_v2.Document).

    @staticmethod
    def _item_path(r):
        base = "/api/%s" % r.version if not r.group else "/apis/%s/%s" % (r.group, r.version)
        return base + ("/namespaces/{namespace}" if r.namespaced else "") + \
            "/%s/{name}" % r.plural

    @staticmethod
    def _definition_name(r):
        return ("io.k8s.api.core.v1.%s" % r.kind) if not r.group else \
            "io.kubevirt.v1.%s" % r.kind

    def openapi(self, path, accept):
        gvs = {("api/" + v) if not g else "apis/%s/%s" % (g, v): (g, v)
               for g, vs in GROUP_VERSIONS.items() for v in vs}
        info = {"title": "Kubernetes", "version": self.args.server_version}
        query_params = ["dryRun", "fieldManager", "fieldValidation", "force"]
        if path == "/openapi/v2":
            if "protobuf" in accept:
                return (self._openapi_v2_pb(), "application/com.github.proto-openapi.spec.v2"
                        ".v1.0+protobuf")
            paths, defs = {}, {}
            for r in RESOURCES:
                gvk = {"group": r.group, "kind": r.kind, "version": r.version}
                paths[self._item_path(r)] = {"patch": {
                    "consumes": ["application/json-patch+json", "application/merge-patch+json"]
                    + ([] if r.custom else ["application/strategic-merge-patch+json"]),
                    "produces": ["application/json"],
                    "operationId": "patch%s" % r.kind,
                    "parameters": [{"uniqueItems": True, "type": "string", "name": n,
                                    "in": "query"} for n in query_params],
                    "responses": {"200": {"description": "OK"}},
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": gvk}}
                defs[self._definition_name(r)] = {
                    "type": "object", "x-kubernetes-group-version-kind": [gvk]}
            doc = {"swagger": "2.0", "info": info, "paths": paths, "definitions": defs}
            return (json.dumps(doc).encode(), "application/json")
        if path == "/openapi/v3":
            out = {}
            for name in gvs:
                body = self._openapi_v3(*gvs[name])
                h = hashlib.sha512(body).hexdigest().upper()
                out[name] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (name, h)}
            return (json.dumps({"paths": out}).encode(), "application/json")
        if path.startswith("/openapi/v3/") and path[len("/openapi/v3/"):] in gvs:
            return (self._openapi_v3(*gvs[path[len("/openapi/v3/"):]]), "application/json")
        return None

    def _openapi_v3(self, group, version):
        paths, schemas = {}, {}
        for r in RESOURCES:
            if r.group != group or r.version != version:
                continue
            gvk = {"group": r.group, "kind": r.kind, "version": r.version}
            ref = {"$ref": "#/components/schemas/%s" % self._definition_name(r)}
            paths[self._item_path(r)] = {
                "get": {"operationId": "read%s" % r.kind, "responses": {"200": {
                    "description": "OK", "content": {"application/json": {"schema": ref}}}},
                    "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk},
                "patch": {"operationId": "patch%s" % r.kind,
                          "parameters": [{"name": n, "in": "query", "schema": {
                              "type": "string", "uniqueItems": True}}
                              for n in ("dryRun", "fieldManager", "fieldValidation", "force")],
                          "requestBody": {"content": {
                              "application/merge-patch+json": {"schema": {"type": "object"}}},
                              "required": True},
                          "responses": {"200": {"description": "OK", "content": {
                              "application/json": {"schema": ref}}}},
                          "x-kubernetes-action": "patch",
                          "x-kubernetes-group-version-kind": gvk},
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string", "uniqueItems": True}}]}
            schemas[self._definition_name(r)] = {
                "type": "object",
                "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                               "metadata": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True},
                               "spec": {"type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True},
                               "status": {"type": "object",
                                          "x-kubernetes-preserve-unknown-fields": True}},
                "x-kubernetes-group-version-kind": [gvk]}
        doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes",
                                            "version": self.args.server_version},
               "paths": paths, "components": {"schemas": schemas}}
        return json.dumps(doc, sort_keys=True).encode()

    def _openapi_v2_pb(self):
        def varint(n):
            out = b""
            while True:
                b = n & 0x7f
                n >>= 7
                if n:
                    out += bytes([b | 0x80])
                else:
                    return out + bytes([b])

        def ld(field, payload):
            if isinstance(payload, str):
                payload = payload.encode()
            return varint(field << 3 | 2) + varint(len(payload)) + payload
        doc = ld(1, "2.0") + ld(2, ld(1, "Kubernetes") + ld(2, self.args.server_version))
        path_items = b""
        for r in RESOURCES:
            params = b""
            for n in ("dryRun", "fieldManager", "fieldValidation", "force"):
                qp = ld(2, "query") + ld(4, n) + ld(6, "string")   # QueryParameterSubSchema
                params += ld(8, ld(1, ld(2, ld(3, qp))))   # ParametersItem.parameter.non_body
            gvk_yaml = "group: %s\nkind: %s\nversion: %s\n" % (
                json.dumps(r.group), r.kind, r.version)
            ext = ld(13, ld(1, "x-kubernetes-group-version-kind") + ld(2, ld(2, gvk_yaml)))
            op = ld(5, "patch%s" % r.kind) + params + ext
            path_items += ld(2, ld(1, self._item_path(r)) + ld(2, ld(8, op)))
        doc += ld(8, path_items) + ld(9, b"")
        return doc

    # ---- discovery

    def version_info(self):
        v = self.args.server_version
        m = re.match(r"v(\d+)\.(\d+)", v)
        major, minor = (m.group(1), m.group(2)) if m else ("1", "30")
        return {"major": major, "minor": minor, "emulationMajor": major,
                "emulationMinor": minor, "minCompatibilityMajor": major,
                "minCompatibilityMinor": str(max(0, int(minor) - 1)), "gitVersion": v,
                "gitCommit": "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
                "gitTreeState": "clean", "buildDate": "2024-04-17T17:27:03Z",
                "goVersion": "go1.22.2", "compiler": "gc", "platform": "linux/amd64"}

    @staticmethod
    def storage_hash(res):
        h = hashlib.sha256(("%s/%s" % (res.api_version, res.kind)).encode()).digest()
        return base64.b64encode(h[:8]).decode()

    def resource_list(self, group, version):
        out = []
        for r in RESOURCES:
            if r.group != group or r.version != version:
                continue
            e = {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": r.verbs}
            if r.short_names:
                e["shortNames"] = r.short_names
            if r.categories:
                e["categories"] = r.categories
            e["storageVersionHash"] = self.storage_hash(r)
            out.append(e)
            for s in r.subresources:
                verbs = {"status": ["get", "patch", "update"], "finalize": ["update"],
                         "proxy": ["create", "delete", "get", "patch", "update"]}[s]
                kind = "NodeProxyOptions" if s == "proxy" else r.kind
                out.append({"name": "%s/%s" % (r.plural, s), "singularName": "",
                            "namespaced": r.namespaced, "kind": kind, "verbs": verbs})
        out.sort(key=lambda e: e["name"])
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": version if not group else "%s/%s" % (group, version),
                "resources": out}

    def aggregated(self, core, ver):
        items = []
        for group, versions in GROUP_VERSIONS.items():
            if (group == "") != core:
                continue
            vlist = []
            for v in versions:
                resources = []
                for r in RESOURCES:
                    if r.group != group or r.version != v:
                        continue
                    e = {"resource": r.plural,
                         "responseKind": {"group": group, "version": v, "kind": r.kind},
                         "scope": "Namespaced" if r.namespaced else "Cluster",
                         "singularResource": r.singular, "verbs": r.verbs}
                    if r.short_names:
                        e["shortNames"] = r.short_names
                    if r.categories:
                        e["categories"] = r.categories
                    subs = []
                    for s in r.subresources:
                        verbs = {"status": ["get", "patch", "update"], "finalize": ["update"],
                                 "proxy": ["create", "delete", "get", "patch", "update"]}[s]
                        kind = "NodeProxyOptions" if s == "proxy" else r.kind
                        subs.append({"subresource": s, "responseKind": {
                            "group": group, "version": v, "kind": kind}, "verbs": verbs})
                    if subs:
                        e["subresources"] = subs
                    resources.append(e)
                resources.sort(key=lambda e: e["resource"])
                vlist.append({"version": v, "resources": resources, "freshness": "Current"})
            md = {"creationTimestamp": None}
            if group:
                md = {"name": group, "creationTimestamp": None}
            items.append({"metadata": md, "versions": vlist})
        return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/" + ver,
                "metadata": {}, "items": items}

    def discovery(self, path, accept):
        p = path.rstrip("/") or "/"
        if p in ("/api", "/apis") and self.args.aggregated_discovery:
            for mt, params in parse_media_types(accept):
                if mt == "application/json" and params.get("g") == "apidiscovery.k8s.io" and \
                        params.get("as") == "APIGroupDiscoveryList" and \
                        params.get("v") in ("v2", "v2beta1"):
                    return (self.aggregated(p == "/api", params["v"]),
                            "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList"
                            % params["v"])
        if p == "/api":
            return ({"kind": "APIVersions", "versions": ["v1"],
                     "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                     "serverAddress": "%s:%d" % (
                                                         self.args.host, self.port)}]},
                    "application/json")
        if p == "/api/v1":
            return (self.resource_list("", "v1"), "application/json")

        def group_entry(g):
            vs = [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in GROUP_VERSIONS[g]]
            return {"name": g, "versions": vs, "preferredVersion": vs[0]}
        if p == "/apis":
            return ({"kind": "APIGroupList", "apiVersion": "v1",
                     "groups": [group_entry(g) for g in GROUP_VERSIONS if g]},
                    "application/json")
        segs = p.split("/")
        if len(segs) == 3 and segs[1] == "apis" and segs[2] in GROUP_VERSIONS and segs[2]:
            e = group_entry(segs[2])
            e.update({"kind": "APIGroup", "apiVersion": "v1"})
            return (e, "application/json")
        if len(segs) == 4 and segs[1] == "apis" and segs[3] in GROUP_VERSIONS.get(segs[2], []) \
                and segs[2]:
            return (self.resource_list(segs[2], segs[3]), "application/json")
        return None

    # ---- writes (all under store.cond)

    def _finish_meta(self, res, obj):
        md = obj["metadata"]
        for k in ("labels", "annotations"):
            if k in md and (md[k] is None or md[k] == {}):
                del md[k]
        if "finalizers" in md and not md["finalizers"]:
            del md["finalizers"]
        if res is NAMESPACES:
            md.setdefault("labels", {})["kubernetes.io/metadata.name"] = md["name"]

    def create(self, res, namespace, body, dry_run, manager="kube-apiserver"):
        st = self.store
        obj = copy.deepcopy(body)
        md = obj["metadata"]
        if res.namespaced:
            ns = md.get("namespace") or ""
            if ns and namespace and ns != namespace:
                raise err_bad_request("the namespace of the provided object does not match the "
                                      "namespace sent on the request")
            md["namespace"] = namespace or ns
        else:
            md.pop("namespace", None)
        for k in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "selfLink", "managedFields", "generation"):
            md.pop(k, None)
        if res.custom and res.has_status:
            obj.pop("status", None)
        if res is NAMESPACES:
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
            obj["status"] = {"phase": "Active"}
        with st.cond:
            if not md.get("name") and md.get("generateName"):
                for _ in range(10):
                    cand = md["generateName"] + gen_suffix()
                    if (md.get("namespace", ""), cand) not in st.objects[res.plural]:
                        break
                md["name"] = cand
            self._finish_meta(res, obj)
            errs = validate_meta(res, obj, True)
            if errs:
                raise err_invalid(res.kind, md.get("name", ""), errs, res.group)
            if res.namespaced and ("", md["namespace"]) not in st.objects["namespaces"]:
                raise err_not_found(NAMESPACES, md["namespace"])
            key = obj_key(res, obj)
            if key in st.objects[res.plural]:
                raise err_already_exists(res, md["name"])
            md["uid"] = str(uuid.uuid4())
            md["creationTimestamp"] = now_rfc3339()
            if res.custom:
                md["generation"] = 1
            record_managed_fields(res, None, obj, manager)
            if dry_run:
                return canonical(res, obj), True
            return st._commit(res, "ADDED", key, obj, None), True

    def _apply_update(self, res, old, new, sub, dry_run, manager):
        """Common end of PUT and PATCH: system fields, status subresource, generation,
        validation, no-op detection, finalizer-held deletion. Call with store.cond held."""
        st = self.store
        omd, nmd = old["metadata"], new["metadata"]
        name = omd["name"]
        if nmd.get("name", name) != name:
            raise err_bad_request("the name of the object (%s) does not match the name on the URL"
                                  " (%s)" % (nmd.get("name"), name))
        if res.namespaced and nmd.get("namespace", omd.get("namespace")) != omd.get("namespace"):
            raise err_bad_request("the namespace of the provided object does not match the "
                                  "namespace sent on the request")
        if nmd.get("uid") and nmd["uid"] != omd["uid"]:
            raise err_conflict(res, name, "Precondition failed: UID in precondition: %s, UID in "
                               "object meta: %s" % (omd["uid"], nmd["uid"]))
        rv = nmd.get("resourceVersion")
        if rv and rv != omd["resourceVersion"]:
            raise err_conflict(res, name)
        if sub == "status":
            status = new.get("status")
            new = copy.deepcopy(old)
            if status is None:
                new.pop("status", None)
            else:
                new["status"] = status
            nmd = new["metadata"]
        elif res.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        if sub == "finalize":
            fin = (new.get("spec") or {}).get("finalizers")
            new = copy.deepcopy(old)
            new.setdefault("spec", {})["finalizers"] = fin or []
            nmd = new["metadata"]
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "generation"):
            if k in omd:
                nmd[k] = omd[k]
            else:
                nmd.pop(k, None)
        nmd["name"] = name
        if res.namespaced:
            nmd["namespace"] = omd["namespace"]
        else:
            nmd.pop("namespace", None)
        nmd.pop("selfLink", None)
        nmd["resourceVersion"] = omd["resourceVersion"]
        # Field ownership is the server's record: what the client sent there is ignored.
        if "managedFields" in omd:
            nmd["managedFields"] = copy.deepcopy(omd["managedFields"])
        else:
            nmd.pop("managedFields", None)
        if res.custom:
            strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}
            if strip(old) != strip(new):
                nmd["generation"] = omd.get("generation", 1) + 1
        self._finish_meta(res, new)
        errs = validate_meta(res, new, False)
        if errs:
            raise err_invalid(res.kind, name, errs, res.group)
        key = obj_key(res, old)
        if canonical(res, new) == canonical(res, old):
            return copy.deepcopy(old)
        record_managed_fields(res, old, new, manager, sub or "")
        if dry_run:
            return canonical(res, new)
        if "deletionTimestamp" in nmd and not nmd.get("finalizers"):
            return st._commit(res, "DELETED", key, None, new)
        return st._commit(res, "MODIFIED", key, new, old)

    def update(self, res, namespace, name, body, sub, dry_run, manager):
        st = self.store
        with st.cond:
            key = (namespace or "", name)
            old = st.objects[res.plural].get(key)
            if old is None:
                if res.allow_create_on_update and not sub:
                    body["metadata"].setdefault("name", name)
                    if body["metadata"]["name"] != name:
                        raise err_bad_request("the name of the object (%s) does not match the "
                                              "name on the URL (%s)"
                                              % (body["metadata"]["name"], name))
                    return self.create(res, namespace, body, dry_run, manager)[0], 201
                raise err_not_found(res, name)
            return self._apply_update(res, copy.deepcopy(old), copy.deepcopy(body), sub,
                                      dry_run, manager), 200

    def patch(self, res, namespace, name, sub, ctype, patch, dry_run, manager):
        st = self.store
        with st.cond:
            key = (namespace or "", name)
            old = st.objects[res.plural].get(key)
            if old is None:
                raise err_not_found(res, name)
            old = copy.deepcopy(old)
            try:
                if ctype == "application/merge-patch+json":
                    new = merge_patch(old, patch)
                elif ctype == "application/strategic-merge-patch+json":
                    new = strategic_merge(old, patch)
                else:
                    new = json_patch(old, patch)
            except PatchError as e:
                if e.code == 400:
                    raise err_bad_request(str(e))
                # errors.NewGenericServerResponse(422, ...): the real server keeps the
                # json-patch error to itself.
                raise APIError(422, "Invalid", REASON_FOR_CODE[422][1], {})
            if not isinstance(new, dict):
                raise err_invalid("", "", [FieldError("FieldValueInvalid", "patch",
                                                      json.dumps(new), "not an object")])
            if new.get("kind") != res.kind or new.get("apiVersion") != res.api_version:
                raise err_bad_request("the API version in the data (%s) does not match the "
                                      "expected API version (%s)"
                                      % (new.get("apiVersion"), res.api_version))
            if not isinstance(new.get("metadata"), dict):
                new["metadata"] = {} if new.get("metadata") is None else new["metadata"]
            msg = decode_check(res, new)
            if msg:
                raise err_invalid("", "", [FieldError(
                    "FieldValueInvalid", "patch",
                    json.dumps(new, separators=(",", ":"), sort_keys=True), msg)])
            return self._apply_update(res, old, new, sub, dry_run, manager)

    def delete(self, res, namespace, name, opts, dry_run):
        st = self.store
        with st.cond:
            key = (namespace or "", name)
            old = st.objects[res.plural].get(key)
            if old is None:
                raise err_not_found(res, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise err_conflict(res, name, "Precondition failed: UID in precondition: %s, UID"
                                   " in object meta: %s" % (pre["uid"], old["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != \
                    old["metadata"]["resourceVersion"]:
                raise err_conflict(res, name, "Precondition failed: ResourceVersion in "
                                   "precondition: %s, ResourceVersion in object meta: %s"
                                   % (pre["resourceVersion"], old["metadata"]["resourceVersion"]))
            if dry_run:
                return 200, copy.deepcopy(old)
            if old["metadata"].get("finalizers"):
                if "deletionTimestamp" in old["metadata"]:
                    return 202, copy.deepcopy(old)
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = now_rfc3339()
                new["metadata"]["deletionGracePeriodSeconds"] = 0
                if res.custom and new["metadata"].get("generation"):
                    new["metadata"]["generation"] += 1
                return 202, st._commit(res, "MODIFIED", key, new, old)
            if res is NAMESPACES:
                for r in RESOURCES:
                    if r.namespaced:
                        for k in [k for k in st.objects[r.plural] if k[0] == name]:
                            st._commit(r, "DELETED", k, None, st.objects[r.plural][k])
            final = st._commit(res, "DELETED", key, None, old)
            if res is NAMESPACES:
                return 200, final
            details = res_details(res, name)
            details["uid"] = old["metadata"]["uid"]
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success", "details": details}

    def seed(self, body):
        if isinstance(body, dict) and isinstance(body.get("items"), list) and \
                str(body.get("kind", "")).endswith("List"):
            objs = body["items"]
        elif isinstance(body, list):
            objs = body
        else:
            objs = [body]
        out = []
        st = self.store
        with st.cond:
            for o in objs:
                if not isinstance(o, dict):
                    raise ValueError("seed objects must be JSON objects")
                res = BY_KIND.get((o.get("apiVersion"), o.get("kind")))
                if res is None:
                    raise ValueError("unknown apiVersion/kind %s/%s" % (o.get("apiVersion"),
                                                                        o.get("kind")))
                o = copy.deepcopy(o)
                md = o.setdefault("metadata", {})
                if not md.get("name"):
                    raise ValueError("seed object without metadata.name")
                if res.namespaced:
                    md.setdefault("namespace", "default")
                    if ("", md["namespace"]) not in st.objects["namespaces"]:
                        self.seed({"kind": "Namespace", "apiVersion": "v1",
                                   "metadata": {"name": md["namespace"]}})
                else:
                    md.pop("namespace", None)
                if res is NAMESPACES:
                    o.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
                    o.setdefault("status", {"phase": "Active"})
                key = obj_key(res, o)
                old = st.objects[res.plural].get(key)
                md.setdefault("uid", old["metadata"]["uid"] if old else str(uuid.uuid4()))
                md.setdefault("creationTimestamp", old["metadata"]["creationTimestamp"]
                              if old else now_rfc3339())
                if res.custom:
                    md.setdefault("generation", old["metadata"].get("generation", 1)
                                  if old else 1)
                self._finish_meta(res, o)
                out.append(st._commit(res, "MODIFIED" if old else "ADDED", key, o,
                                      copy.deepcopy(old) if old else None))
        return out


# --------------------------------------------------------------------------------------------
# Certificates, files, main


def run_openssl(args, cwd):
    try:
        r = subprocess.run(["openssl"] + args, cwd=cwd, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise SystemExit("kube-apiserver.py: the openssl command is needed for the certificates")
    if r.returncode != 0:
        sys.stderr.write("openssl %s failed:\n%s" % (" ".join(args), r.stderr))
        raise SystemExit(1)


def ensure_certs(d, host):
    ca_key, ca_crt = os.path.join(d, "ca.key"), os.path.join(d, "ca.crt")
    key, crt = os.path.join(d, "server.key"), os.path.join(d, "server.crt")
    if not (os.path.exists(ca_key) and os.path.exists(ca_crt)):
        run_openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
                     "-subj", "/CN=kube-apiserver-test-ca",
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"], d)
        for f in (key, crt):
            if os.path.exists(f):
                os.unlink(f)
    if not (os.path.exists(key) and os.path.exists(crt)):
        sans = ["IP:127.0.0.1", "IP:::1", "DNS:localhost"]
        if host not in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::", ""):
            sans.append(("IP:" if re.match(r"^[0-9.:]+$", host) else "DNS:") + host)
        ext = os.path.join(d, "server-ext.cnf")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=%s\n" % ",".join(sans))
        run_openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", "server.key", "-out", "server.csr",
                     "-subj", "/CN=kube-apiserver"], d)
        run_openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                     "-set_serial", str(random.randint(1, 2 ** 62)), "-days", "3650",
                     "-extfile", "server-ext.cnf", "-out", "server.crt"], d)
        for f in ("server.csr", "server-ext.cnf"):
            try:
                os.unlink(os.path.join(d, f))
            except OSError:
                pass
    for f in (ca_key, key):
        os.chmod(f, 0o600)
    return ca_crt, crt, key


def write_atomic(path, text, mode=0o644):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def yq(s):
    return json.dumps(s)


def load_seed(path):
    with open(path) as f:
        text = f.read()
    try:
        return json.loads(text)
    except ValueError as e:
        raise SystemExit("%s: seed files must be JSON (%s)" % (path, e))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--token")
    ap.add_argument("--token-file")
    ap.add_argument("--seed", action="extend", nargs="+", default=[])
    ap.add_argument("--bookmark-interval", type=float, default=5.0)
    ap.add_argument("--history-size", type=int, default=1000)
    ap.add_argument("--min-request-timeout", type=float, default=1800.0)
    ap.add_argument("--server-version", default="v1.30.0")
    ap.add_argument("--aggregated-discovery", action="store_true")
    ap.add_argument("--log-bodies", action="store_true",
                    help="append every API request body to DIR/bodies.log and every TLS "
                         "server name (SNI) a client sent to DIR/sni.log")
    args = ap.parse_args()

    d = os.path.abspath(args.dir)
    args.dir = d
    os.makedirs(d, exist_ok=True)
    for f in ("ready", "port"):
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass
    if args.token_file:
        args.token_file = os.path.abspath(args.token_file)
        if not os.path.exists(args.token_file):
            write_atomic(args.token_file, (args.token or secrets.token_hex(16)) + "\n", 0o600)
    elif not args.token:
        args.token = secrets.token_hex(16)

    ca_crt, crt, key = ensure_certs(d, args.host)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.set_alpn_protocols(["http/1.1"])

    srv = APIServer(args, ctx)
    srv.bodies_log = None
    if args.log_bodies:
        srv.bodies_log = open(os.path.join(d, "bodies.log"), "a")
        sni_log = open(os.path.join(d, "sni.log"), "a")

        def on_sni(sock, name, c):
            sni_log.write("%s\n" % (name or "-"))
            sni_log.flush()
        ctx.sni_callback = on_sni
    for path in args.seed:
        srv.seed(load_seed(path))

    stop = srv.stop_event

    def on_signal(signum, frame):
        stop.set()
        srv.wake()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    with open(ca_crt, "rb") as f:
        ca_b64 = base64.b64encode(f.read()).decode()
    token = srv.current_token() or ""
    user = ("    tokenFile: %s\n" % yq(args.token_file)) if args.token_file else \
        ("    token: %s\n" % yq(token))
    host = args.host if args.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    hostport = "[%s]:%d" % (host, srv.port) if ":" in host else "%s:%d" % (host, srv.port)
    kubeconfig = ("apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster:\n"
                  "    server: %s\n    certificate-authority-data: %s\n"
                  "users:\n- name: test\n  user:\n%s"
                  "contexts:\n- name: test\n  context:\n    cluster: test\n    user: test\n"
                  "current-context: test\npreferences: {}\n"
                  % (yq("https://" + hostport), ca_b64, user))
    write_atomic(os.path.join(d, "port"), "%d\n" % srv.port)
    write_atomic(os.path.join(d, "token"), token + "\n", 0o600)
    write_atomic(os.path.join(d, "pid"), "%d\n" % os.getpid())
    write_atomic(os.path.join(d, "kubeconfig"), kubeconfig, 0o600)
    write_atomic(os.path.join(d, "ready"), "%d\n" % srv.port)
    try:
        srv.serve()
    finally:
        try:
            os.unlink(os.path.join(d, "ready"))
        except OSError:
            pass
        srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
