#!/usr/bin/env python3
# metrics-check.py — the client side of test-metrics.sh: parses scrapes with prometheus_client
# and plays misbehaving HTTP clients against the daemon's listener. Exits 0 when the check holds;
# says why on stderr otherwise.
import socket
import sys
import time


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def parse(path):
    from prometheus_client.parser import text_string_to_metric_families
    with open(path, encoding="utf-8") as f:
        text = f.read()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return samples


def cmd_values(path, *pairs):
    """values FILE NAME=VALUE...: each sample is there with that value (as a number)."""
    samples = parse(path)
    for pair in pairs:
        name, want = pair.rsplit("=", 1)
        if name not in samples:
            fail(f"{name}: not in the scrape")
        if samples[name] != float(want):
            fail(f"{name}: {samples[name]!r}, expected {want}")


def cmd_get(path, name):
    """get FILE NAME: prints the sample's value as an integer when it is one."""
    v = parse(path)[name]
    print(int(v) if v == int(v) else v)


def cmd_bus_string(path):
    """bus-string FILE: the string of a `busctl --json=short call` answer, printed as is."""
    import json
    with open(path, encoding="utf-8") as f:
        sys.stdout.write(json.load(f)["data"][0])


def connect(port):
    return socket.create_connection(("127.0.0.1", int(port)), timeout=10)


def read_all(s, limit_s):
    """Reads until the server closes; (bytes, seconds it took). Fails if it stays open."""
    start = time.monotonic()
    data = b""
    s.settimeout(limit_s)
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    except socket.timeout:
        fail(f"the server kept the connection open for more than {limit_s} s")
    return data, time.monotonic() - start


def cmd_oversized(port):
    """oversized PORT: a request past 8 KiB without its end is refused with 431 and closed."""
    s = connect(port)
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    try:
        for i in range(64):
            s.sendall(b"X-Filler-%d: %s\r\n" % (i, b"a" * 200))
    except (BrokenPipeError, ConnectionResetError):
        pass        # closed while still sending: that is the point
    data, _ = read_all(s, 5)
    if data and not data.startswith(b"HTTP/1.1 431 "):
        fail(f"expected 431, got {data[:40]!r}")
    if not data:
        print("# closed without an answer")


def cmd_garbage(port):
    """garbage PORT: bytes that are no HTTP request get 400 and a closed connection."""
    s = connect(port)
    s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n")
    data, _ = read_all(s, 5)
    if not data.startswith(b"HTTP/1.1 400 "):
        fail(f"expected 400, got {data[:40]!r}")


def scrape_ok(port):
    s = connect(port)
    s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
    data, _ = read_all(s, 5)
    return data.startswith(b"HTTP/1.1 200 ") and b"\nkubevirt_ksmd_build_info{" in data


def cmd_flood(port, n):
    """flood PORT N: N idle half-sent connections, then a scrape still answers 200."""
    idle = []
    for _ in range(int(n)):
        s = connect(port)
        s.sendall(b"GET /metr")
        idle.append(s)
    ok = scrape_ok(port)
    # The daemon accepts in order, so it took every idle one before the scrape, closing the
    # oldest to make room; those closes reached us before the answer did.
    closed = 0
    for s in idle:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed += 1
        s.close()
    if not ok:
        fail(f"no answer to a scrape with {n} idle connections open")
    if int(n) >= 16 and closed == 0:
        fail("no idle connection was closed to make room")
    print(f"# {closed} idle connections closed")


def cmd_slow(port, low, high):
    """slow PORT LOW HIGH: a client that never finishes its request is closed after LOW..HIGH s."""
    s = connect(port)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    data, took = read_all(s, float(high))
    if took < float(low):
        fail(f"closed after {took:.1f} s, before {low} s")
    if data:
        fail(f"expected no answer, got {data[:40]!r}")
    print(f"# closed after {took:.1f} s")


def cmd_exec_start(unit):
    """exec-start UNIT: the shell script of the unit's ExecStart=/bin/sh -c '...', as systemd
    would hand it to sh: continuation lines joined, $$ unescaped."""
    with open(unit, encoding="utf-8") as f:
        text = f.read().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ExecStart=/bin/sh -c '") and line.endswith("'"):
            sys.stdout.write(line[len("ExecStart=/bin/sh -c '"):-1].replace("$$", "$"))
            return
    fail("no ExecStart=/bin/sh -c '...' line")


def cmd_dashboard(path):
    """dashboard FILE: valid JSON with panels and a node/instance variable."""
    import json
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    names = [v["name"] for v in d["templating"]["list"]]
    if "instance" not in names:
        fail(f"no instance variable: {names}")
    if len(d["panels"]) < 4:
        fail("too few panels")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        fail("usage: metrics-check.py COMMAND ARGS...")
    globals()["cmd_" + sys.argv[1].replace("-", "_")](*sys.argv[2:])
