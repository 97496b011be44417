#!/bin/bash
# test-secrets.sh — credentials never leak and are never weakened: with a distinctive token (static
# and from a token file) and client key data, the daemon at debug level meets 401, 403, 500 and a
# bad certificate, and neither its output, nor any D-Bus property, nor an Event or any request
# body the server received holds the token, the key or an Authorization header. Also: the token
# file falls back to the static token (with a warning), tls-server-name is used (SNI and the
# certificate check), insecure-skip-tls-verify warns, a user:password@ in the server URL is never
# logged, plain http:// with a token warns, and a kubeconfig or token file that group or others
# may write is refused by the daemon and --check-config.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/kube-lib.sh"

TOKEN=ksmd-test-secret-Zq7Vt2Lp9Xw4Rb8N
USERPASS=ksmd-test-password-Hk3Jd8
node_json node01 >"$T/node01.json"
kubevirt_json '{}' >"$T/kubevirt.json"
start_apiserver --token "$TOKEN" --log-bodies --seed "$T/node01.json" "$T/kubevirt.json"
PORT=$(cat "$KDIR/port")
CA64=$(base64 -w0 "$KDIR/ca.crt")

# A client key and certificate (the server does not ask for one; the daemon still loads it).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/client.key" -out "$T/client.crt" -days 2 \
        -subj /CN=system:node:node01 >/dev/null 2>&1 || { echo "Bail out! openssl failed"; exit 1; }
KEY_B64=$(base64 -w0 "$T/client.key")
# Distinctive pieces of the key: a line of the PEM body, and a stretch of its base64 as it
# stands in the kubeconfig.
KEY_LINE=$(sed -n 5p "$T/client.key")
KEY_B64_PART=${KEY_B64:200:48}

# kubeconfig FILE SERVER USER_LINES [CLUSTER_LINES]: a kubeconfig (mode 0600).
kubeconfig() {
        local f=$1 server=$2 user=$3 cluster=${4:-"    certificate-authority-data: $CA64"}
        cat >"$f" <<K
apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: $server
$cluster
users:
- name: test
  user:
$user
contexts:
- name: test
  context:
    cluster: test
    user: test
current-context: test
K
        chmod 0600 "$f"
}
SERVER=https://127.0.0.1:$PORT
kconf() { write_kube_conf && sed -i "s#^Kubeconfig=.*#Kubeconfig=$1#" "$CONF"; }

# ---- (a) static token and client key data; 401, 403, 500 ---------------------------------------
kubeconfig "$T/kc-static" "$SERVER" "    token: $TOKEN
    client-certificate-data: $(base64 -w0 "$T/client.crt")
    client-key-data: $KEY_B64"
start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 100 20
RECHECK=2 kconf "$T/kc-static"
start_daemon
eventually "a: Connected true with the static token and a client key" $((10 * SLOW)) prop_is Connected true
eventually "a: label true (a PATCH went through)" $((5 * SLOW)) knode_ksm_is node01 true true
fault '{"type":"status","code":401,"count":2}'
fault '{"type":"drop_watches"}'
eventually "a: a 401 reached the daemon" $((5 * SLOW)) log_has "HTTP 401"
fault '{"type":"status","code":500,"count":4,"query_contains":"watch=1"}'
fault '{"type":"drop_watches"}'
eventually "a: a 500 reached the daemon" $((5 * SLOW)) log_has "HTTP 500"
eventually "a: Connected true again" $((20 * SLOW)) prop_is Connected true
fault '{"type":"status","code":403,"count":-1,"method":"PATCH"}'
check "a: label removed (through the control API), so the daemon patches again" seed "$(node_json node01)"
eventually "a: a 403 on the PATCH reached the daemon" $((10 * SLOW)) log_has "Forbidden to patch node"
eventually "a: an Event was posted" $((10 * SLOW)) eval '[ "$(kapi GET "/_test/objects?resource=events" --no-token --print "len(b[\"items\"])")" -gt 0 ]'
ktest DELETE /_test/fault

# Everything the daemon said or published so far.
leak_check() {
        local what=$1 f=$2
        check "$what: no token" eval "! grep -aqF -- '$TOKEN' '$f'"
        check "$what: no Authorization header" eval "! grep -aqE -- 'Authorization:|Bearer ' '$f'"
        check "$what: no client key (PEM line or kubeconfig base64)" \
                eval "! grep -aqF -e '$KEY_LINE' -e '$KEY_B64_PART' '$f'"
        check "$what: no password of a server URL" eval "! grep -aqF -- '$USERPASS' '$f'"
}
collect_bus() {
        busctl --system call "$BUS" "$OBJ" org.freedesktop.DBus.Properties GetAll s "$IFACE" >"$1" 2>&1
        busctl --system introspect "$BUS" "$OBJ" >>"$1" 2>&1
}
collect_bus "$T/bus-a.txt"
check "a: D-Bus properties collected" grep -q Connected "$T/bus-a.txt"
leak_check "a: D-Bus properties" "$T/bus-a.txt"
kapi GET "/_test/objects?resource=events" --no-token --print 'json.dumps(b)' >"$T/events.json"
check "a: Events collected" grep -q '"reason"' "$T/events.json"
leak_check "a: Events on the server" "$T/events.json"
check "a: request bodies logged by the server" test -s "$KDIR/bodies.log"
leak_check "a: request bodies" "$KDIR/bodies.log"
stop_daemon

# ---- (b) a token file, a bad certificate, the fallback to the static token ---------------------
echo "$TOKEN" >"$T/token"; chmod 0600 "$T/token"
kubeconfig "$T/kc-file" "$SERVER" "    tokenFile: $T/token
    token: $TOKEN"
kubeconfig "$T/kc-badca" "$SERVER" "    tokenFile: $T/token" "    certificate-authority-data: $(base64 -w0 "$T/client.crt")"
RECHECK=2 kconf "$T/kc-badca"
start_daemon
eventually "b: a certificate from another CA: the TLS error is reported" $((10 * SLOW)) \
        eval 'prop LastError | grep -q "Not connected to the API server"'
check "b: Connected false" prop_is Connected false
collect_bus "$T/bus-b1.txt"
stop_daemon
RECHECK=2 kconf "$T/kc-file"
start_daemon
eventually "b: Connected true with the token file" $((10 * SLOW)) prop_is Connected true
rm -f "$T/token"
fault '{"type":"status","code":401,"count":1}'
fault '{"type":"drop_watches"}'
eventually "b: token file gone: the journal warns and uses the kubeconfig's token" $((10 * SLOW)) \
        log_has "using the kubeconfig's token instead"
eventually "b: Connected true again on the static token" $((20 * SLOW)) prop_is Connected true
collect_bus "$T/bus-b2.txt"
stop_daemon

# ---- (c) tls-server-name, insecure-skip-tls-verify, userinfo, plain http -------------------------
kubeconfig "$T/kc-sni" "$SERVER" "    token: $TOKEN" "    certificate-authority-data: $CA64
    tls-server-name: localhost"
: >"$KDIR/sni.log"
RECHECK=2 kconf "$T/kc-sni"
start_daemon
eventually "c: tls-server-name localhost: Connected true" $((10 * SLOW)) prop_is Connected true
check "c: the daemon sent SNI localhost (not the IP of the URL)" grep -qx localhost "$KDIR/sni.log"
stop_daemon
kubeconfig "$T/kc-sni-bad" "$SERVER" "    token: $TOKEN" "    certificate-authority-data: $CA64
    tls-server-name: wrong.example"
RECHECK=2 kconf "$T/kc-sni-bad"
mark=$(reqlog_mark)
start_daemon
eventually "c: tls-server-name not in the certificate: refused (LastError set)" $((10 * SLOW)) \
        eval 'prop LastError | grep -q "Not connected to the API server"'
check "c: ...and no request reached the server" eval '[ "$(reqlog_since "$mark" | wc -l)" -eq 0 ]'
check "c: the certificate check used the name (SNI wrong.example seen)" grep -qx wrong.example "$KDIR/sni.log"
stop_daemon
kubeconfig "$T/kc-insecure" "https://$USERPASS-user:$USERPASS@127.0.0.1:$PORT" "    token: $TOKEN" \
        "    insecure-skip-tls-verify: true"
RECHECK=2 kconf "$T/kc-insecure"
start_daemon
eventually "c: insecure-skip-tls-verify: Connected true" $((10 * SLOW)) prop_is Connected true
check "c: insecure-skip-tls-verify: the journal warns" log_has "TLS certificate verification of the API server at https://127.0.0.1:$PORT is off"
check "c: the URL's user:password is not in the journal (the server is named without it)" \
        eval '! grep -qF "$USERPASS" "$LOG"'
collect_bus "$T/bus-c.txt"
stop_daemon
kubeconfig "$T/kc-http" "http://127.0.0.1:1" "    token: $TOKEN" " "
RECHECK=2 kconf "$T/kc-http"
start_daemon
eventually "c: plain http:// with a token: the journal warns" $((5 * SLOW)) log_has "is plain http://: the bearer token goes over the network unencrypted"
stop_daemon

# ---- (d) everything the daemon ever printed --------------------------------------------------------
check "d: the daemon logged at debug level" log_has "<debug>"
leak_check "d: daemon output (every run, debug level)" "$LOG"
cat "$T"/bus-*.txt >"$T/bus-all.txt"
leak_check "d: D-Bus properties (every run)" "$T/bus-all.txt"
leak_check "d: request bodies (every run)" "$KDIR/bodies.log"

# ---- (e) kubeconfig and token file writable by others ------------------------------------------------
kconf "$T/kc-static"
chmod 0664 "$T/kc-static"
out=$("$KSMD" --config "$CONF" --check-config 2>&1); rc=$?
check "e: --check-config refuses a group-writable kubeconfig (exit $rc)" test "$rc" -ne 0
check "e: ...saying why" eval 'grep -q "writable by group or others" <<<"$out"'
"$KSMD" --config "$CONF" --log-level=debug >"$T/perm.log" 2>&1 & pid=$!
wait_until $((10 * SLOW)) eval '! kill -0 $pid 2>/dev/null'
wait "$pid"; rc=$?
check "e: the daemon refuses it too (exit $rc)" test "$rc" -ne 0
check "e: ...saying why" grep -q "writable by group or others" "$T/perm.log"
chmod 0600 "$T/kc-static"
out=$("$KSMD" --config "$CONF" --check-config 2>&1)
check "e: mode 0600: --check-config accepts it" test $? -eq 0
echo "$TOKEN" >"$T/token"; chmod 0666 "$T/token"
kconf "$T/kc-file"
out=$("$KSMD" --config "$CONF" --check-config 2>&1); rc=$?
check "e: --check-config refuses a world-writable token file (exit $rc)" test "$rc" -ne 0
check "e: ...naming it" eval 'grep -q "token file $T/token is writable by group or others" <<<"$out"'
leak_check "e: messages" "$T/perm.log"
check "no sanitizer report in any of the daemon's runs" eval '! grep -aqE "Sanitizer|runtime error:" "$LOG" "$T/perm.log"'
finish
