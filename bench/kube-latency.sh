#!/bin/bash
# bench/kube-latency.sh [RUNS] — label-to-KSM latency through the Kubernetes source: the real
# daemon against the API test server, a scratch KSM directory and a private bus. Each run
# labels the node with kubectl so that it is selected, measures from kubectl returning (the
# server applied the change) to run = 1 in sysfs, then removes the label and waits for run = 0.
# Prints every figure and min/median/max; exits 1 if any run missed the one-second target.
#   top_builddir=build bash bench/kube-latency.sh 20
RUNS=${1:-20}
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
: "${top_builddir:=$top_srcdir/build}"
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/kube-lib.sh"

node_json node01 >"$T/node01.json"
kubevirt_json '{"matchLabels":{"kubevirt.io/bench":"on"}}' >"$T/kubevirt.json"
start_apiserver --seed "$T/node01.json" "$T/kubevirt.json"
start_bus policy
make_sysfs
set_ksm "$SYSFS" 0 333 44
RECHECK=600 write_kube_conf            # no periodic recheck: only the watch event can do it
start_daemon
wait_until 10 prop_is Connected true || { echo "not connected"; finish; exit 1; }

run_is() { local v; read -r v <"$SYSFS/run" && [ "$v" = "$1" ]; }
poll_run() {    # poll_run VALUE: 10 ms polls, at most 10 s
        local end=$(( $(date +%s%N) + 10000000000 ))
        until run_is "$1"; do [ "$(date +%s%N)" -ge "$end" ] && return 1; sleep 0.01; done
}
figures=()
for i in $(seq "$RUNS"); do
        kc label node node01 kubevirt.io/bench=on --overwrite >/dev/null
        t=$(date +%s%N)
        poll_run 1 || { echo "run $i: not switched on within 10 s"; figures+=(99999); continue; }
        figures+=($(ms_since "$t"))
        kc label node node01 kubevirt.io/bench- >/dev/null
        poll_run 0 || echo "run $i: not switched off within 10 s"
done
finish >/dev/null
sorted=($(printf '%s\n' "${figures[@]}" | sort -n))
n=${#sorted[@]}
over=0; for f in "${sorted[@]}"; do [ "$f" -lt 1000 ] || over=$((over + 1)); done
echo "label-to-KSM latency (ms), $n runs: ${figures[*]}"
echo "min ${sorted[0]} ms, median ${sorted[$((n / 2))]} ms, max ${sorted[$((n - 1))]} ms; $over of $n over 1000 ms"
[ "$over" = 0 ]
