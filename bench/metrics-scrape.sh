#!/bin/bash
# bench/metrics-scrape.sh [SCRAPES] — the cost of the [Metrics] Listen= listener: the real daemon
# on a scratch KSM directory and a private bus, scraped SCRAPES times in a row by one Python
# client (one connection per scrape, as Prometheus does), then with 16 idle connections held
# open; prints the latency per scrape (min/median/p99/max), the body size, the daemon's CPU time
# per scrape and its resident memory before and after. Figures only: no assertion on time.
#   top_builddir=build bash bench/metrics-scrape.sh 5000
SCRAPES=${1:-5000}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
make_sysfs
write_conf "
[Metrics]
Listen=127.0.0.1:$PORT"
write_kubevirt '{}'
write_node '{"kubernetes.io/hostname":"node01"}'
start_bus policy
start_daemon
wait_until 5 sysfs_is run 1
wait_until 5 settled

rss() { awk '/^VmRSS/ { print $2 " kB" }' "/proc/$KSMD_PID/status"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$KSMD_PID/stat"; }
echo "# kubevirt-ksmd $("$KSMD" --version | awk '{print $NF}'), $(uname -r), $(nproc) CPUs, $SCRAPES scrapes"
echo "RSS before: $(rss)"
t0=$(cpu_ticks)
python3 - "$PORT" "$SCRAPES" <<'PY'
import socket, statistics, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])

def scrape():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 200 "), data[:40]
    return len(data)

def run(label):
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        size = scrape()
        lat.append((time.perf_counter() - t) * 1e6)
    lat.sort()
    print(f"{label}: {n} scrapes, {size} bytes each; latency us: min {lat[0]:.0f}, "
          f"median {statistics.median(lat):.0f}, p99 {lat[int(n * 0.99) - 1]:.0f}, max {lat[-1]:.0f}")

run("plain")
idle = []
for _ in range(16):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /metr")
    idle.append(s)
run("with 16 idle connections opened first")
PY
t1=$(cpu_ticks)
echo "daemon CPU: $(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / (2 * SCRAPES) )) us per scrape (utime+stime over both runs)"
echo "RSS after: $(rss)"
stop_daemon
finish >/dev/null
