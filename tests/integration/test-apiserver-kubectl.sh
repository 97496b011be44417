#!/bin/bash
# test-apiserver-kubectl.sh — proves the fidelity of the Kubernetes API test server
# (tests/kube-apiserver.py) by running real kubectl builds against it, then checks the
# watch, error, managedFields and fault-injection behaviour the daemon's tests rely on with a
# small HTTPS client. TAP output; every wait is a bounded poll on a condition.
#
# kubectl builds tried: $KUBECTL if set, /usr/bin/kubectl (Debian's 1.20 or the Cloud SDK
# dispatcher), and the oldest and newest /usr/lib/google-cloud-sdk/bin/kubectl.1.* (all of
# them with KUBECTL_ALL=1; only $KUBECTL with KUBECTL_ONLY=1). KEEP_TMP=1 keeps the scratch
# directory.

set -u

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
SERVER=$top_srcdir/tests/kube-apiserver.py
FIX=$top_srcdir/tests/fixtures/apiserver

TAP_N=0
TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
skip_all() { echo "1..0 # SKIP $*"; exit 0; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
wait_until() {
        local t=$1; shift
        local end=$(( $(date +%s%N) + t * 1000000000 ))
        while :; do
                "$@" 2>/dev/null && return 0
                [ "$(date +%s%N)" -ge "$end" ] && return 1
                sleep 0.05
        done
}
eventually() {
        local d=$1 t=$2; shift 2
        if wait_until "$t" "$@"; then ok "$d"; else not_ok "$d (not within ${t}s)"; fi
}

command -v python3 >/dev/null || skip_all "python3 not installed"
command -v openssl >/dev/null || skip_all "openssl not installed"
PY=$(python3 -c "import sys; print(sys.executable)")    # not a pyenv shim: 4x faster to start

# ---- the kubectl builds ----------------------------------------------------------------------
KUBECTLS=()
add_kubectl() {
        local k=$1 x
        [ -x "$k" ] || return 0
        for x in "${KUBECTLS[@]+"${KUBECTLS[@]}"}"; do [ "$x" = "$k" ] && return 0; done
        KUBECTLS+=("$k")
}
[ -n "${KUBECTL:-}" ] && add_kubectl "$(command -v "$KUBECTL" || echo "$KUBECTL")"
GCLOUD=()
if [ -z "${KUBECTL_ONLY:-}" ]; then
        add_kubectl /usr/bin/kubectl       # Debian's kubernetes-client, or the Cloud SDK dispatcher
        mapfile -t GCLOUD < <(ls /usr/lib/google-cloud-sdk/bin/kubectl.1.* 2>/dev/null | sort -t. -k3,3n)
fi
if [ "${#GCLOUD[@]}" -gt 0 ]; then
        if [ -n "${KUBECTL_ALL:-}" ]; then
                for k in "${GCLOUD[@]}"; do add_kubectl "$k"; done
        else
                add_kubectl "${GCLOUD[0]}"
                add_kubectl "${GCLOUD[${#GCLOUD[@]} - 1]}"
        fi
fi
[ "${#KUBECTLS[@]}" -gt 0 ] || skip_all "kubectl not installed"

# ---- scratch dir, servers, cleanup -----------------------------------------------------------
T=$(mktemp -d /tmp/kas-test.XXXXXX)
PIDS=()
cleanup() {
        local p
        for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null; done
        for p in "${PIDS[@]+"${PIDS[@]}"}"; do
                wait_until 5 eval "! kill -0 $p 2>/dev/null" || kill -KILL "$p" 2>/dev/null
                wait "$p" 2>/dev/null
        done
        if [ "$TAP_FAILED" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap cleanup EXIT

# start_server DIR ARGS...: runs the server in the background, waits for DIR/ready.
start_server() {
        local d=$1; shift
        mkdir -p "$d"
        "$PY" -X dev "$SERVER" --dir "$d" "$@" >"$d/server.out" 2>&1 &
        PIDS+=("$!")
        wait_until 15 test -f "$d/ready"
}

# A tiny HTTPS client: cli DIR METHOD PATH [--data JSON] [--ctype T] [--token T|--no-token]
# [--watch [--max-events N]] [--expect PY-EXPR] [--print PY-EXPR]. The expressions see s
# (status), h (headers, lower case), b (JSON body), ev (watch events), end (how the
# stream or connection ended: normal, abrupt, max, timeout, refused, error:...) and
# owners(obj, "f:metadata", "f:labels", "f:KEY"): the field managers owning that field.
cat >"$T/cli.py" <<'EOF'
import argparse, http.client, json, os, socket, ssl, sys
ap = argparse.ArgumentParser()
ap.add_argument("dir"); ap.add_argument("method"); ap.add_argument("path")
ap.add_argument("--data"); ap.add_argument("--ctype", default="application/json")
ap.add_argument("--token"); ap.add_argument("--no-token", action="store_true")
ap.add_argument("--accept", default="application/json")
ap.add_argument("--ua", default="test-apiserver-kubectl/cli", help="User-Agent")
ap.add_argument("--watch", action="store_true", help="read events until the stream ends")
ap.add_argument("--max-events", type=int, default=0)
ap.add_argument("--timeout", type=float, default=10)
ap.add_argument("--expect", help="Python expression over s, h, b, ev, end")
ap.add_argument("--print", dest="pr", help="Python expression to print")
a = ap.parse_args()
port = int(open(os.path.join(a.dir, "port")).read())
token = a.token or open(os.path.join(a.dir, "token")).read().strip()
ctx = ssl.create_default_context(cafile=os.path.join(a.dir, "ca.crt"))
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=a.timeout)
hdrs = {"Accept": a.accept, "User-Agent": a.ua}
if not a.no_token:
    hdrs["Authorization"] = "Bearer " + token
body = None
if a.data is not None:
    body = a.data.encode()
    hdrs["Content-Type"] = a.ctype
s, h, b, ev, end = None, {}, None, [], None
try:
    conn.request(a.method, a.path, body, hdrs)
    r = conn.getresponse()
    s, h = r.status, {k.lower(): v for k, v in r.getheaders()}
    if a.watch and s == 200:
        # Parse the chunked framing by hand: http.client hides whether the stream ended
        # with the terminating chunk ("normal") or the connection just closed ("abrupt").
        if h.get("transfer-encoding") != "chunked":
            raise SystemExit("# watch answer is not chunked")
        fp, buf = r.fp, b""
        try:
            while True:
                size_line = fp.readline()
                if not size_line.endswith(b"\n"):
                    end = "abrupt"
                    break
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    fp.readline()
                    end = "normal"
                    break
                data = fp.read(size + 2)
                if len(data) != size + 2:
                    end = "abrupt"
                    break
                buf += data[:-2]
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        ev.append(json.loads(line))
                if a.max_events and len(ev) >= a.max_events:
                    end = "max"
                    break
        except (socket.timeout, TimeoutError):
            end = "timeout"
        except (ConnectionError, ssl.SSLError, OSError):
            end = "abrupt"
    else:
        raw = r.read()
        try:
            b = json.loads(raw)
        except ValueError:
            b = raw.decode(errors="replace")
except ConnectionRefusedError:
    end = "refused"
except (ConnectionError, ssl.SSLError, http.client.RemoteDisconnected, OSError) as e:
    end = "error:" + type(e).__name__
finally:
    conn.close()
def owners(obj, *path):
    """The managers whose managedFields entry holds that FieldsV1 path, e.g.
    owners(b, "f:metadata", "f:labels", "f:x")."""
    out = []
    for e in (obj or {}).get("metadata", {}).get("managedFields") or []:
        n = e.get("fieldsV1")
        for k in path:
            n = n.get(k) if isinstance(n, dict) else None
        if n is not None:
            out.append(e["manager"])
    return out
env = {"s": s, "h": h, "b": b, "ev": ev, "end": end, "json": json, "owners": owners}
if a.pr:
    print(eval(a.pr, env))
if a.expect:
    try:
        res = eval(a.expect, env)
    except Exception as e:
        res = False
        print("# expect raised %r" % e, file=sys.stderr)
    if not res:
        print("# expected: %s" % a.expect, file=sys.stderr)
        print("# got: status=%s end=%s headers=%s" % (s, end, json.dumps(h)), file=sys.stderr)
        print("# body: %s" % json.dumps(b)[:2000], file=sys.stderr)
        print("# events: %s" % json.dumps(ev)[:2000], file=sys.stderr)
        sys.exit(1)
EOF
cli() { "$PY" "$T/cli.py" "$@"; }
# owner FILE FIELDSV1-KEY...: the managers (comma-separated) whose managedFields entry in the
# object saved in FILE (JSON) holds that path.
owner() {
        "$PY" -c 'import json, sys
o = json.load(open(sys.argv[1])); out = []
for e in o.get("metadata", {}).get("managedFields") or []:
    n = e.get("fieldsV1")
    for k in sys.argv[2:]:
        n = n.get(k) if isinstance(n, dict) else None
    if n is not None:
        out.append(e["manager"])
print(",".join(out))' "$@"
}

D=$T/srv
start_server "$D" --bookmark-interval 1 --history-size 50 || { not_ok "server starts"; exit 1; }
ok "server starts and writes DIR/ready"
check "kubeconfig, token, port and CA are written" \
        test -s "$D/kubeconfig" -a -s "$D/token" -a -s "$D/port" -a -s "$D/ca.crt"
control() { cli "$D" "$@" --no-token; }

# ---- kubectl, one round per build ------------------------------------------------------------
i=0
for K in "${KUBECTLS[@]}"; do
        i=$((i + 1))
        KV=$("$K" version --client 2>/dev/null | grep -o 'v1\.[0-9]*\.[0-9]*[^ ",]*' | head -n1)
        tag="kubectl $KV ($K)"
        CACHE=$T/cache-$i
        O=$T/out-$i
        kc() { timeout 20 "$K" --kubeconfig "$D/kubeconfig" --cache-dir "$CACHE" "$@"; }
        jp() { kc get "$@" 2>&1; }

        check "$tag: version shows the server's v1.30.0" \
                eval 'kc version >"$O" 2>&1 && grep -q "v1\.30\.0" "$O"'
        check "$tag: create -f node01.yaml" \
                eval 'kc create -f "$FIX/node01.yaml" >"$O" 2>&1 && grep -q "node/node01 created" "$O"'
        check "$tag: get nodes prints the server-side table" \
                eval 'kc get nodes >"$O" 2>&1 && grep -Eq "^node01 +Ready +worker +[0-9]+s +v1\.30\.0" "$O"'
        check "$tag: get node node01 -o json has the labels" \
                eval 'kc get node node01 -o json >"$O" 2>&1 && "$PY" -c "import json,sys; o=json.load(open(sys.argv[1])); l=o[\"metadata\"][\"labels\"]; sys.exit(not (l[\"kubernetes.io/hostname\"]==\"node01\" and o[\"kind\"]==\"Node\" and int(o[\"metadata\"][\"resourceVersion\"])>0 and o[\"metadata\"][\"uid\"]))" "$O"'
        check "$tag: label node node01 foo=bar" \
                eval 'kc label node node01 foo=bar >/dev/null 2>&1 && [ "$(jp node node01 -o jsonpath="{.metadata.labels.foo}")" = bar ]'
        check "$tag: label without --overwrite refuses to change a value" \
                eval '! kc label node node01 foo=baz >"$O" 2>&1 && grep -q "already has a value" "$O"'
        check "$tag: label --overwrite changes it" \
                eval 'kc label node node01 foo=baz --overwrite >/dev/null 2>&1 && [ "$(jp node node01 -o jsonpath="{.metadata.labels.foo}")" = baz ]'
        check "$tag: label foo- removes it" \
                eval 'kc label node node01 foo- >/dev/null 2>&1 && kc get node node01 -o json | "$PY" -c "import json,sys; sys.exit(\"foo\" in json.load(sys.stdin)[\"metadata\"][\"labels\"])"'
        check "$tag: annotate node node01 a=b" \
                eval 'kc annotate node node01 a=b >/dev/null 2>&1 && [ "$(jp node node01 -o jsonpath="{.metadata.annotations.a}")" = b ]'
        # managedFields: kubectl 1.21+ hides them unless asked (1.20 always shows them). Its
        # label and annotate commands name themselves kubectl-label and kubectl-annotate.
        SMF=
        if "$K" get --help 2>&1 | grep -q -- --show-managed-fields; then
                SMF=--show-managed-fields
                check "$tag: get -o json hides managedFields by default" \
                        eval 'kc get node node01 -o json >"$O" 2>&1 && ! grep -q managedFields "$O"'
        fi
        kc get node node01 -o json $SMF >"$O" 2>&1
        check "$tag: managedFields: kubectl create owns the labels it created" \
                eval '[[ "$(owner "$O" f:metadata f:labels f:kubernetes.io/hostname)" =~ ^kubectl(-create)?$ ]] && [[ "$(owner "$O" f:metadata f:labels .)" =~ ^kubectl(-create)?$ ]]'
        check "$tag: managedFields: a removed label is nobody's, kubectl annotate owns its annotation" \
                eval '[ -z "$(owner "$O" f:metadata f:labels f:foo)" ] && [[ "$(owner "$O" f:metadata f:annotations f:a)" =~ ^kubectl(-annotate)?$ ]]'
        check "$tag: managedFields entries: operation Update, apiVersion v1, FieldsV1, RFC 3339 time" \
                eval '"$PY" -c "import json,re,sys; m=json.load(open(sys.argv[1]))[\"metadata\"][\"managedFields\"]; sys.exit(not (m and all(e[\"operation\"]==\"Update\" and e[\"apiVersion\"]==\"v1\" and e[\"fieldsType\"]==\"FieldsV1\" and re.match(r\"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$\", e[\"time\"]) for e in m)))" "$O"'
        if [ -n "$SMF" ]; then
                check "$tag: get -o yaml --show-managed-fields prints them like the real server" \
                        eval 'kc get node node01 -o yaml $SMF >"$O" 2>&1 && grep -q "^  managedFields:" "$O" && grep -Eq "^    manager: kubectl-annotate" "$O" && grep -q "^    fieldsType: FieldsV1" "$O" && grep -q "^          f:a: {}" "$O"'
        fi
        check "$tag: patch node (strategic merge) sets a label" \
                eval 'kc patch node node01 -p "{\"metadata\":{\"labels\":{\"smp\":\"yes\"}}}" >/dev/null 2>&1 && [ "$(jp node node01 -o jsonpath="{.metadata.labels.smp}")" = yes ]'
        check "$tag: managedFields: kubectl patch owns the label it set" \
                eval 'kc get node node01 -o json $SMF >"$O" 2>&1 && [[ "$(owner "$O" f:metadata f:labels f:smp)" =~ ^kubectl(-patch)?$ ]]'
        check "$tag: managedFields: label --overwrite takes the field from kubectl patch" \
                eval 'kc label node node01 smp=moved --overwrite >/dev/null 2>&1 && kc get node node01 -o json $SMF >"$O" 2>&1 && [[ "$(owner "$O" f:metadata f:labels f:smp)" =~ ^kubectl(-label)?$ ]] && { [ "$(owner "$O" f:metadata f:labels f:smp)" = kubectl ] || ! grep -q "\"kubectl-patch\"" "$O"; }'
        check "$tag: create -f kubevirt.yaml" \
                eval 'kc create -f "$FIX/kubevirt.yaml" >"$O" 2>&1 && grep -q "kubevirt.kubevirt.io/kubevirt created" "$O"'
        check "$tag: managedFields of a CR: no schema, so every map below spec is owned as a whole too" \
                eval 'kc get kv -n kubevirt kubevirt -o json $SMF >"$O" 2>&1 && [[ "$(owner "$O" f:spec .)" =~ ^kubectl(-create)?$ ]] && [[ "$(owner "$O" f:spec f:configuration f:ksmConfiguration f:nodeLabelSelector f:matchLabels f:kubevirt.io/ksm)" =~ ^kubectl(-create)?$ ]] && [ -z "$(owner "$O" f:status)" ]'
        check "$tag: get kubevirts -A" \
                eval 'kc get kubevirts -A >"$O" 2>&1 && grep -Eq "^NAMESPACE +NAME +AGE +PHASE" "$O" && grep -Eq "^kubevirt +kubevirt +[0-9]+s" "$O"'
        check "$tag: get kv -n kubevirt kubevirt -o jsonpath" \
                eval '[ "$(jp kv -n kubevirt kubevirt -o jsonpath="{.spec.configuration.ksmConfiguration.nodeLabelSelector.matchLabels.kubevirt\.io/ksm}")" = true ]'
        check "$tag: patch --type=merge with an empty selector changes nothing" \
                eval 'kc patch kubevirt kubevirt -n kubevirt --type=merge -p "{\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{}}}}}" >"$O" 2>&1 && grep -q "(no change)" "$O" && [ "$(jp kv -n kubevirt kubevirt -o jsonpath="{.metadata.generation}")" = 1 ]'
        check "$tag: patch --type=merge null deletes matchLabels, bumps generation" \
                eval 'kc patch kubevirt kubevirt -n kubevirt --type=merge -p "{\"spec\":{\"configuration\":{\"ksmConfiguration\":{\"nodeLabelSelector\":{\"matchLabels\":null}}}}}" >/dev/null 2>&1 && [ "$(jp kv -n kubevirt kubevirt -o jsonpath="{.spec.configuration.ksmConfiguration.nodeLabelSelector}")" = "{}" ] && [ "$(jp kv -n kubevirt kubevirt -o jsonpath="{.metadata.generation}")" = 2 ]'
        check "$tag: patch --type=json adds matchLabels" \
                eval 'kc patch kubevirt kubevirt -n kubevirt --type=json -p "[{\"op\":\"add\",\"path\":\"/spec/configuration/ksmConfiguration/nodeLabelSelector/matchLabels\",\"value\":{\"a~b/c\":\"d\"}}]" >/dev/null 2>&1 && [ "$(jp kv -n kubevirt kubevirt -o jsonpath="{.spec.configuration.ksmConfiguration.nodeLabelSelector.matchLabels.a~b/c}")" = d ]'
        check "$tag: patch --type=json with a failing test op is refused" \
                eval '! kc patch kubevirt kubevirt -n kubevirt --type=json -p "[{\"op\":\"test\",\"path\":\"/spec/imagePullPolicy\",\"value\":\"Always\"}]" >"$O" 2>&1 && grep -q "The request is invalid" "$O"'
        check "$tag: strategic merge patch of a CR gets 415 like the real server" \
                eval '! kc patch kubevirt kubevirt -n kubevirt -p "{\"spec\":{}}" >"$O" 2>&1 && grep -q "accepted media types include: application/json-patch+json, application/merge-patch+json" "$O"'

        # get --watch in the background sees a label change made meanwhile.
        W=$T/watch-$i.out
        timeout 30 "$K" --kubeconfig "$D/kubeconfig" --cache-dir "$CACHE" get nodes --watch \
                --output-watch-events -L watched >"$W" 2>&1 &
        WPID=$!
        if wait_until 10 grep -q "node01" "$W"; then
                kc label node node01 watched=yes >/dev/null 2>&1
                eventually "$tag: get nodes --watch sees the label change" 10 \
                        grep -Eq "^MODIFIED +node01 .* yes *$" "$W"
        else
                not_ok "$tag: get nodes --watch lists node01 first"
        fi
        kill "$WPID" 2>/dev/null; wait "$WPID" 2>/dev/null

        check "$tag: create an Event about node01" \
                eval 'kc create -f "$FIX/event-node01.json" >/dev/null 2>&1'
        check "$tag: get events -A" \
                eval 'kc get events -A >"$O" 2>&1 && grep -Eq "^default +[0-9a-z<>]+ +Normal +KSMStarted +node/node01 +KSM started" "$O"'
        check "$tag: delete kubevirt" \
                eval 'kc delete kubevirt kubevirt -n kubevirt >"$O" 2>&1 && grep -q "deleted" "$O" && ! kc get kv -n kubevirt kubevirt >/dev/null 2>&1'
        check "$tag: get node nope fails with NotFound" \
                eval 'kc get node nope >"$O" 2>&1; [ $? -eq 1 ] && grep -q "(NotFound)" "$O" && grep -q "nodes \"nope\" not found" "$O"'
        check "$tag: delete the node and the event" \
                eval 'kc delete node node01 >/dev/null 2>&1 && kc delete event -n default node01.ksm-started >/dev/null 2>&1 && [ -z "$(kc get nodes -o name 2>/dev/null)" ]'
done

# ---- HTTP-level checks -----------------------------------------------------------------------
check "401 without a token" \
        cli "$D" GET /api/v1/nodes --no-token --expect 's==401 and b["kind"]=="Status" and b["reason"]=="Unauthorized" and b["code"]==401'
check "401 with a wrong token" \
        cli "$D" GET /api/v1/nodes --token wrong --expect 's==401'
check "seed node01 through the control API" \
        control POST /_test/seed --data "$(cat "$FIX/node01.json")" --expect 's==200 and b["items"][0]["metadata"]["name"]=="node01"'

RV0=$(cli "$D" GET /api/v1/nodes --print 'b["metadata"]["resourceVersion"]')
check "LIST items carry no kind (typed list), the list has a resourceVersion" \
        cli "$D" GET /api/v1/nodes --expect 'b["kind"]=="NodeList" and "kind" not in b["items"][0] and int(b["metadata"]["resourceVersion"])>0 and "continue" not in b["metadata"]'
check "merge patch: null deletes a key, other keys stay" \
        cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json \
        --data '{"metadata":{"labels":{"kubevirt.io/schedulable":null,"new":"x"}}}' \
        --expect 's==200 and "kubevirt.io/schedulable" not in b["metadata"]["labels"] and b["metadata"]["labels"]["new"]=="x" and b["metadata"]["labels"]["kubernetes.io/os"]=="linux"'
RV1=$(cli "$D" GET /api/v1/nodes/node01 --print 'b["metadata"]["resourceVersion"]')
check "a patch that changes nothing keeps the resourceVersion" \
        cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json \
        --data '{"metadata":{"labels":{"new":"x"}}}' --expect "s==200 and b['metadata']['resourceVersion']=='$RV1'"
check "resourceVersion increases monotonically across resources" \
        eval 'a=$(cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data "{\"metadata\":{\"labels\":{\"n\":\"1\"}}}" --print "b[\"metadata\"][\"resourceVersion\"]") &&
              b=$(cli "$D" POST /api/v1/namespaces/default/events --data "$(cat "$FIX/event-node01.json")" --print "b[\"metadata\"][\"resourceVersion\"]") &&
              c=$(cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data "{\"metadata\":{\"labels\":{\"n\":\"2\"}}}" --print "b[\"metadata\"][\"resourceVersion\"]") &&
              [ "$RV0" -lt "$RV1" ] && [ "$RV1" -lt "$a" ] && [ "$a" -lt "$b" ] && [ "$b" -lt "$c" ]'
check "create of an existing object: 409 AlreadyExists" \
        cli "$D" POST /api/v1/namespaces/default/events --data "$(cat "$FIX/event-node01.json")" \
        --expect 's==409 and b["reason"]=="AlreadyExists" and b["details"]["name"]=="node01.ksm-started"'
check "PUT with a stale resourceVersion: 409 Conflict" \
        cli "$D" PUT /api/v1/nodes/node01 --data "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"node01\",\"resourceVersion\":\"$RV1\"}}" \
        --expect 's==409 and b["reason"]=="Conflict" and "the object has been modified" in b["message"]'
check "patch with a non-string label value: 422 Invalid" \
        cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json \
        --data '{"metadata":{"labels":{"x":1}}}' \
        --expect 's==422 and b["reason"]=="Invalid" and "cannot unmarshal number" in b["message"]'
check "patch with a bad label value: 422 Invalid with causes" \
        cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json \
        --data '{"metadata":{"labels":{"x":"has space"}}}' \
        --expect 's==422 and b["details"]["causes"][0]["field"]=="metadata.labels" and b["details"]["kind"]=="Node"'
check "patch with an unknown content type: 415" \
        cli "$D" PATCH /api/v1/nodes/node01 --ctype application/x-yaml --data 'a: b' \
        --expect 's==415 and b["reason"]=="UnsupportedMediaType"'
check "json patch with ~1 escapes" \
        cli "$D" PATCH /api/v1/nodes/node01 --ctype application/json-patch+json \
        --data '[{"op":"add","path":"/metadata/annotations/kubevirt.io~1ksm-handler-managed","value":"true"},{"op":"test","path":"/metadata/annotations/kubevirt.io~1ksm-handler-managed","value":"true"}]' \
        --expect 's==200 and b["metadata"]["annotations"]["kubevirt.io/ksm-handler-managed"]=="true"'
check "404 is a NotFound Status" \
        cli "$D" GET /apis/kubevirt.io/v1/namespaces/kubevirt/kubevirts/nope \
        --expect 's==404 and b=={"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"kubevirts.kubevirt.io \"nope\" not found","reason":"NotFound","details":{"name":"nope","group":"kubevirt.io","kind":"kubevirts"},"code":404}'
check "label selectors: equality, set-based, existence" \
        cli "$D" GET '/api/v1/nodes?labelSelector=kubernetes.io/os%3Dlinux,n%20in%20(1,2),!absent,new' \
        --expect 's==200 and [i["metadata"]["name"] for i in b["items"]]==["node01"]'
check "label selector that matches nothing" \
        cli "$D" GET '/api/v1/nodes?labelSelector=kubernetes.io/os%20notin%20(linux)' --expect 's==200 and b["items"]==[]'
check "field selector metadata.name" \
        cli "$D" GET '/api/v1/nodes?fieldSelector=metadata.name%3Dnope' --expect 's==200 and b["items"]==[]'
check "limit/continue pages" \
        eval 'c=$(cli "$D" GET "/api/v1/namespaces?limit=2" --print "b[\"metadata\"][\"continue\"]") &&
              cli "$D" GET "/api/v1/namespaces?limit=2&continue=$c" --expect "s==200 and len(b[\"items\"])==2 and \"continue\" not in b[\"metadata\"]"'

# ---- managedFields ---------------------------------------------------------------------------
# "Who last wrote label X" is the manager whose managedFields entry holds it: fieldManager, or
# the user agent's product name. MP PATH JSON [ARGS...]: a merge patch by cli.
MF=/api/v1/nodes/mf01
VH_UA='virt-handler/v1.4.0 (linux/amd64) kubevirt/0123abcd'
mp() { local p=$1 d=$2; shift 2; cli "$D" PATCH "$p" --ctype application/merge-patch+json --data "$d" "$@"; }
check "managedFields: a seeded object carries none" \
        eval 'control POST /_test/seed --data "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"mf01\",\"labels\":{\"seeded\":\"1\"}}}" >/dev/null && cli "$D" GET $MF --expect "s==200 and \"managedFields\" not in b[\"metadata\"]"'
check "managedFields: ?fieldManager=virt-handler owns the label and annotation it set, not the rest" \
        mp "$MF?fieldManager=virt-handler" '{"metadata":{"labels":{"kubevirt.io/ksm-enabled":"true"},"annotations":{"kubevirt.io/ksm-handler-managed":"true"}}}' \
        --expect 's==200 and owners(b,"f:metadata","f:labels","f:kubevirt.io/ksm-enabled")==["virt-handler"] and owners(b,"f:metadata","f:annotations","f:kubevirt.io/ksm-handler-managed")==["virt-handler"] and owners(b,"f:metadata","f:labels","f:seeded")==[] and owners(b,"f:metadata","f:annotations",".")==["virt-handler"] and owners(b,"f:metadata","f:labels",".")==[]'
check "managedFields: the entry is manager, operation Update, apiVersion, time, FieldsV1" \
        cli "$D" GET $MF --expect 'len(b["metadata"]["managedFields"])==1 and list(b["metadata"]["managedFields"][0])==["manager","operation","apiVersion","time","fieldsType","fieldsV1"] and b["metadata"]["managedFields"][0]["operation"]=="Update" and b["metadata"]["managedFields"][0]["apiVersion"]=="v1" and b["metadata"]["managedFields"][0]["fieldsType"]=="FieldsV1" and b["metadata"]["managedFields"][0]["time"].endswith("Z") and list(b["metadata"])[-1]=="managedFields"'
check "managedFields: without fieldManager the manager is the user agent up to its first /" \
        mp $MF '{"metadata":{"labels":{"kubevirt.io/ksm-enabled":"false"}}}' --ua kubevirt-ksmd/0.1.0 \
        --expect 'owners(b,"f:metadata","f:labels","f:kubevirt.io/ksm-enabled")==["kubevirt-ksmd"] and owners(b,"f:metadata","f:annotations","f:kubevirt.io/ksm-handler-managed")==["virt-handler"]'
MFRV=$(cli "$D" GET $MF --print 'b["metadata"]["resourceVersion"]+" "+json.dumps(b["metadata"]["managedFields"])')
check "managedFields: a write that changes nothing changes neither them nor the resourceVersion" \
        eval 'mp $MF "{\"metadata\":{\"annotations\":{\"kubevirt.io/ksm-handler-managed\":\"true\"}}}" --ua "$VH_UA" --expect "s==200" && [ "$(cli "$D" GET $MF --print "b[\"metadata\"][\"resourceVersion\"]+\" \"+json.dumps(b[\"metadata\"][\"managedFields\"])")" = "$MFRV" ]'
check "managedFields: a field set by another manager moves to it; an emptied entry is dropped" \
        mp $MF '{"metadata":{"labels":{"kubevirt.io/ksm-enabled":"true"}}}' --ua "$VH_UA" \
        --expect 'owners(b,"f:metadata","f:labels","f:kubevirt.io/ksm-enabled")==["virt-handler"] and [e["manager"] for e in b["metadata"]["managedFields"]]==["virt-handler"]'
check "managedFields: a removed field is nobody's, the remover gets no entry for it" \
        mp "$MF?fieldManager=remover" '{"metadata":{"labels":{"kubevirt.io/ksm-enabled":null}}}' \
        --expect 'owners(b,"f:metadata","f:labels","f:kubevirt.io/ksm-enabled")==[] and [e["manager"] for e in b["metadata"]["managedFields"]]==["virt-handler"]'
check "managedFields: the manager that creates the labels map owns it too (\".\")" \
        eval 'control POST /_test/seed --data "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"mf02\"}}" >/dev/null && mp "/api/v1/nodes/mf02?fieldManager=virt-handler" "{\"metadata\":{\"labels\":{\"kubevirt.io/ksm-enabled\":\"false\"}}}" --expect "b[\"metadata\"][\"managedFields\"][0][\"fieldsV1\"]=={\"f:metadata\":{\"f:labels\":{\".\":{},\"f:kubevirt.io/ksm-enabled\":{}}}}"'
check "managedFields: dryRun=All answers with them and stores nothing" \
        eval 'mp "$MF?fieldManager=dry&dryRun=All" "{\"metadata\":{\"labels\":{\"d\":\"1\"}}}" --expect "owners(b,\"f:metadata\",\"f:labels\",\"f:d\")==[\"dry\"]" && cli "$D" GET $MF --expect "\"d\" not in b[\"metadata\"][\"labels\"] and [e[\"manager\"] for e in b[\"metadata\"][\"managedFields\"]]==[\"virt-handler\"]"'
check "managedFields: what a client sends in them is ignored" \
        eval 'cli "$D" GET $MF --print "json.dumps(dict(b, metadata=dict(b[\"metadata\"], labels=dict(b[\"metadata\"][\"labels\"], put=\"1\"), managedFields=[{\"manager\":\"forged\",\"operation\":\"Update\",\"apiVersion\":\"v1\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\"f:seeded\":{}}}}}])))" >"$T/mf01-put.json" && cli "$D" PUT "$MF?fieldManager=replacer" --data "$(cat "$T/mf01-put.json")" --expect "s==200 and owners(b,\"f:metadata\",\"f:labels\",\"f:put\")==[\"replacer\"] and owners(b,\"f:metadata\",\"f:labels\",\"f:seeded\")==[] and \"forged\" not in json.dumps(b)"'
check "managedFields: a write of the status subresource gets an entry of its own (subresource status)" \
        cli "$D" PATCH "$MF/status?fieldManager=virt-handler" --ctype application/merge-patch+json \
        --data '{"status":{"capacity":{"memory":"16Gi"}}}' \
        --expect 's==200 and [(e["manager"],e.get("subresource")) for e in b["metadata"]["managedFields"] if "f:status" in e["fieldsV1"]]==[("virt-handler","status")] and owners(b,"f:metadata","f:labels","f:kubevirt.io/ksm-enabled")==[]'
check "managedFields: a create is an Update by the creator" \
        cli "$D" POST "/api/v1/namespaces/default/events?fieldManager=recorder" --data '{"apiVersion":"v1","kind":"Event","metadata":{"name":"mf01.1"},"involvedObject":{"kind":"Node","name":"mf01"},"reason":"R","message":"m","type":"Normal"}' \
        --expect 's==201 and [(e["manager"],e["operation"]) for e in b["metadata"]["managedFields"]]==[("recorder","Update")] and owners(b,"f:reason")==["recorder"] and owners(b,"f:metadata","f:name")==[]'
check "managedFields: a fieldManager longer than 128 characters is 422 Invalid" \
        mp "$MF?fieldManager=$(printf 'm%.0s' {1..129})" '{}' \
        --expect 's==422 and b["reason"]=="Invalid" and b["details"]["kind"]=="PatchOptions" and b["details"]["causes"][0]["field"]=="fieldManager"'
cli "$D" DELETE /api/v1/nodes/mf01 >/dev/null; cli "$D" DELETE /api/v1/nodes/mf02 >/dev/null
cli "$D" DELETE /api/v1/namespaces/default/events/mf01.1 >/dev/null

# ---- watch -----------------------------------------------------------------------------------
check "watch without resourceVersion: synthetic ADDED first" \
        cli "$D" GET '/api/v1/nodes?watch=true&timeoutSeconds=5' --watch --max-events 1 \
        --expect 'end=="max" and ev[0]["type"]=="ADDED" and ev[0]["object"]["kind"]=="Node"'
RVW=$(cli "$D" GET /api/v1/nodes --print 'b["metadata"]["resourceVersion"]')
cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data '{"metadata":{"labels":{"w":"1"}}}' >/dev/null
cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data '{"metadata":{"labels":{"w":null}}}' >/dev/null
check "watch from an RV replays the changes after it, in order" \
        cli "$D" GET "/api/v1/nodes?watch=1&resourceVersion=$RVW&timeoutSeconds=5" --watch --max-events 2 \
        --expect 'end=="max" and [e["type"] for e in ev]==["MODIFIED","MODIFIED"] and ev[0]["object"]["metadata"]["labels"]["w"]=="1" and int(ev[0]["object"]["metadata"]["resourceVersion"])<int(ev[1]["object"]["metadata"]["resourceVersion"])'
check "a selector watch turns stop-matching into DELETED" \
        cli "$D" GET "/api/v1/nodes?watch=1&resourceVersion=$RVW&labelSelector=w&timeoutSeconds=5" --watch --max-events 2 \
        --expect 'end=="max" and [e["type"] for e in ev]==["ADDED","DELETED"]'
check "watch with allowWatchBookmarks gets a BOOKMARK within the interval" \
        cli "$D" GET "/api/v1/nodes?watch=1&resourceVersion=$RVW&allowWatchBookmarks=true&timeoutSeconds=5" --watch --max-events 3 \
        --expect 'end=="max" and ev[2]["type"]=="BOOKMARK" and set(ev[2]["object"])=={"kind","apiVersion","metadata"} and int(ev[2]["object"]["metadata"]["resourceVersion"])>=int(ev[1]["object"]["metadata"]["resourceVersion"])'
RVC=$(cli "$D" GET /api/v1/nodes --print 'b["metadata"]["resourceVersion"]')
cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data '{"metadata":{"labels":{"c":"x"}}}' >/dev/null
check "POST /_test/compact" control POST /_test/compact --expect 's==200 and int(b["resourceVersion"])>0'
check "watch from an old RV after compaction: ERROR 410 Expired, then the stream ends" \
        cli "$D" GET "/api/v1/nodes?watch=1&resourceVersion=$RVC&timeoutSeconds=5" --watch \
        --expect "s==200 and end=='normal' and len(ev)==1 and ev[0]['type']=='ERROR' and ev[0]['object']['code']==410 and ev[0]['object']['reason']=='Expired' and ev[0]['object']['message'].startswith('too old resource version: $RVC (')"

# ---- faults ----------------------------------------------------------------------------------
control POST /_test/fault --data '{"type":"status","code":429,"retry_after":7,"count":1,"path_prefix":"/api/v1/nodes"}' >/dev/null
check "fault 429 has Retry-After and a TooManyRequests Status" \
        cli "$D" GET /api/v1/nodes --expect 's==429 and h["retry-after"]=="7" and b["reason"]=="TooManyRequests" and b["details"]["retryAfterSeconds"]==7'
check "the fault is used up after count requests" cli "$D" GET /api/v1/nodes --expect 's==200'
control POST /_test/fault --data '{"type":"status","code":503,"count":2,"method":"PATCH"}' >/dev/null
check "fault filtered by method" \
        eval 'cli "$D" GET /api/v1/nodes --expect "s==200" && cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data "{}" --expect "s==503 and b[\"reason\"]==\"ServiceUnavailable\""'
check "DELETE /_test/fault clears pending faults" \
        eval 'control DELETE /_test/fault --expect "b[\"faults\"]==[]" && cli "$D" PATCH /api/v1/nodes/node01 --ctype application/merge-patch+json --data "{}" --expect "s==200"'
(cli "$D" GET '/api/v1/nodes?watch=1&timeoutSeconds=20' --watch --expect 'end=="abrupt" and ev[0]["type"]=="ADDED"' >"$T/drop.out" 2>&1; echo $? >"$T/drop.rc") &
DPID=$!
if wait_until 10 control GET /_test/watches --expect 'len(b["watches"])==1 and b["watches"][0]["resource"]=="nodes"'; then
        control POST /_test/fault --data '{"type":"drop_watches"}' >/dev/null
        eventually "drop_watches ends the watch abruptly (no chunked terminator)" 10 \
                eval '[ -f "$T/drop.rc" ] && [ "$(cat "$T/drop.rc")" = 0 ]'
else
        not_ok "drop_watches: the watch shows in /_test/watches"
fi
wait "$DPID" 2>/dev/null
control POST /_test/fault --data '{"type":"stall","seconds":1,"count":1,"path_prefix":"/api/v1/nodes/node01"}' >/dev/null
check "stall delays the answer, then serves it" \
        eval 's=$(date +%s%N); cli "$D" GET /api/v1/nodes/node01 --expect "s==200" && [ $(( ($(date +%s%N) - s) / 1000000 )) -ge 900 ]'
control POST /_test/fault --data '{"type":"down","seconds":2}' >/dev/null
check "down: connections are refused" cli "$D" GET /api/v1/nodes --expect 'end=="refused"'
eventually "down: the server is back after the period" 10 cli "$D" GET /api/v1/nodes --expect 's==200'
check "GET /_test/requests counts per method and path" \
        control GET /_test/requests --expect 'b["counts"]["GET /api/v1/nodes"]>5 and b["requests"][-1]["path"]=="/api/v1/nodes" and all(r["path"][:7]!="/_test/" for r in b["requests"])'
check "POST /_test/reset-counters" \
        eval 'control POST /_test/reset-counters --expect "s==200" && control GET /_test/requests --expect "b[\"counts\"]=={} and b[\"total\"]==0"'
control POST /_test/fault --data '{"type":"close","count":1,"path_prefix":"/api/v1/namespaces"}' >/dev/null
check "close fault: the connection closes without an answer" \
        cli "$D" GET /api/v1/namespaces --expect 's is None and end.startswith("error:")'
check "requests.log has one line per request" \
        eval 'grep -Eq "^GET /api/v1/nodes\?watch=1&resourceVersion=[0-9]+&timeoutSeconds=5 200 test-apiserver-kubectl/cli$" "$D/requests.log" && grep -q "^GET /api/v1/namespaces 0 test-apiserver-kubectl/cli$" "$D/requests.log" && ! grep -q " /_test/" "$D/requests.log"'

# ---- a second server: token file rotation ----------------------------------------------------
D2=$T/srv2
mkdir -p "$D2" && cp "$D"/ca.key "$D"/ca.crt "$D"/server.key "$D"/server.crt "$D2"/
echo old-token >"$T/token-file"
if start_server "$D2" --token-file "$T/token-file" --history-size 3 --aggregated-discovery --seed "$FIX/node01.json" "$FIX/node02.json"; then
        check "token file: the current token works" cli "$D2" GET /api/v1/nodes --token old-token --expect 's==200 and len(b["items"])==2'
        check "token file: kubeconfig uses tokenFile" grep -q "tokenFile:" "$D2/kubeconfig"
        echo new-token >"$T/token-file"
        check "token file: after rotation the old token gets 401" cli "$D2" GET /api/v1/nodes --token old-token --expect 's==401'
        check "token file: after rotation the new token works" cli "$D2" GET /api/v1/nodes --token new-token --expect 's==200'
        KN=${KUBECTLS[${#KUBECTLS[@]} - 1]}
        check "token file: kubectl with tokenFile works after rotation" \
                eval 'timeout 20 "$KN" --kubeconfig "$D2/kubeconfig" --cache-dir "$T/cache-srv2" get nodes >"$T/o2" 2>&1 && grep -Eq "^node02 +NotReady,SchedulingDisabled +control-plane" "$T/o2"'
        # kubectl 1.26+ takes the aggregated discovery documents and needs no /api/v1.
        minor=$("$KN" version --client 2>/dev/null | grep -o 'v1\.[0-9]*' | head -n1 | cut -d. -f2)
        if [ "${minor:-0}" -ge 26 ]; then
                check "--aggregated-discovery: kubectl 1.$minor uses it (no /api/v1 discovery request)" \
                        eval 'grep -q "^GET /apis?timeout" "$D2/requests.log" && ! grep -q "^GET /api/v1?timeout" "$D2/requests.log"'
        fi
        RVH=$(cli "$D2" GET /api/v1/nodes --token new-token --print 'b["metadata"]["resourceVersion"]')
        for n in 1 2 3 4; do
                cli "$D2" PATCH /api/v1/nodes/node01 --token new-token --ctype application/merge-patch+json \
                        --data "{\"metadata\":{\"labels\":{\"c\":\"$n\"}}}" >/dev/null
        done
        check "history-size 3: after 4 writes the RV before them is expired" \
                cli "$D2" GET "/api/v1/nodes?watch=1&resourceVersion=$RVH" --token new-token --watch \
                --expect 'end=="normal" and len(ev)==1 and ev[0]["type"]=="ERROR" and ev[0]["object"]["code"]==410'
        check "history-size 3: the last 3 writes are still there" \
                cli "$D2" GET "/api/v1/nodes?watch=1&resourceVersion=$((RVH + 1))&timeoutSeconds=5" --token new-token --watch --max-events 3 \
                --expect 'end=="max" and [e["object"]["metadata"]["labels"]["c"] for e in ev]==["2","3","4"]'
        PID2=${PIDS[${#PIDS[@]} - 1]}
        kill -TERM "$PID2"
        eventually "SIGTERM: the server exits" 10 eval '! kill -0 $PID2 2>/dev/null'
        wait "$PID2"; rc=$?
        check "SIGTERM: exit status 0, ready removed, no warnings on stderr" \
                eval '[ $rc -eq 0 ] && [ ! -e "$D2/ready" ] && [ ! -s "$D2/server.out" ]'
else
        not_ok "second server starts"
fi

check "the main server wrote nothing to stderr (python3 -X dev: no ResourceWarning)" \
        eval '[ ! -s "$D/server.out" ] || { sed "s/^/# /" "$D/server.out"; false; }'

echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
