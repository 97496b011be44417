#!/bin/bash
# fuzz.sh — builds the libFuzzer targets of tests/fuzz/ with clang and runs each for a set time.
#
#   bench/fuzz.sh [SECONDS] [TARGET...]      (default: 60 s, every target)
#
# Prints per target: executions, exec/s, libFuzzer's cov:/ft:, new corpus entries, crashes, and the
# line coverage (llvm-cov) of the parser's source file reached by the seed corpus plus the new
# entries. Crashes are minimised into tests/fuzz/crashes/TARGET/ (make check replays them). With
# FUZZ_KEEP_CORPUS=1 the new entries that add coverage are merged into tests/fuzz/corpus/TARGET/.
#
# Environment: FUZZ_BUILD_DIR (clang+libFuzzer build), FUZZ_COV_BUILD_DIR (clang coverage build of
# the standalone replays), FUZZ_WORK_DIR (new corpora, artifacts, logs), CC (default clang),
# FUZZ_JOBS (make -j, default 2), FUZZ_NICE (default 10).
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
        targets=(kube-watch kube-list kube-objects selector kubeconfig conf record meminfo ksm-sysfs)
fi
case $seconds in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2;; esac

build=${FUZZ_BUILD_DIR:-/tmp/kubevirt-ksmd-fuzz/build}
covbuild=${FUZZ_COV_BUILD_DIR:-/tmp/kubevirt-ksmd-fuzz/cov-build}
work=${FUZZ_WORK_DIR:-/tmp/kubevirt-ksmd-fuzz/work}
cc=${CC:-clang}
jobs=${FUZZ_JOBS:-2}
nice=${FUZZ_NICE:-10}

# The parser's own file for each target: the one whose line coverage is reported.
declare -A parser_file=(
        [kube-watch]=src/kube-watch.c [kube-list]=src/kube-watch.c [kube-objects]=src/kube-objects.c
        [selector]=src/selector.c [kubeconfig]=src/kubeconfig.c [conf]=src/conf.c [record]=src/record.c
        [meminfo]=src/meminfo.c [ksm-sysfs]=src/ksm-sysfs.c
)

configure_build() {     # DIR CFLAGS [configure args...]
        local dir=$1 cflags=$2
        shift 2
        mkdir -p "$dir"
        if [ ! -f "$dir/Makefile" ] || [ "$srcdir/configure" -nt "$dir/Makefile" ]; then
                (cd "$dir" && CC=$cc CFLAGS=$cflags "$srcdir/configure" -q --disable-tests "$@")
        fi
        nice -n "$nice" make -s -C "$dir" -j"$jobs" fuzz-targets >"$dir/make.log" 2>&1 ||
                { tail -30 "$dir/make.log" >&2; exit 1; }
}

[ -x "$srcdir/configure" ] || (cd "$srcdir" && autoreconf -fi >/dev/null)
command -v "$cc" >/dev/null || { echo "$cc not found (Debian: apt-get install clang)" >&2; exit 1; }

echo "# building libFuzzer targets in $build"
configure_build "$build" "-g -O1" --enable-fuzzing
have_cov=
if command -v llvm-profdata >/dev/null && command -v llvm-cov >/dev/null; then
        echo "# building coverage replays in $covbuild"
        configure_build "$covbuild" "-g -O0 -fprofile-instr-generate -fcoverage-mapping"
        have_cov=1
fi

printf '%-13s %10s %8s %6s %6s %5s %8s %s\n' target execs exec/s cov ft new crashes "line coverage of the parser"
for t in "${targets[@]}"; do
        bin=$build/tests/fuzz/fuzz-$t
        corpus=$srcdir/tests/fuzz/corpus/$t
        crashes=$srcdir/tests/fuzz/crashes/$t
        [ -x "$bin" ] || { echo "no target $t" >&2; exit 1; }
        rm -rf "$work/$t"
        mkdir -p "$work/$t/new" "$work/$t/artifacts"

        # The first directory receives the new entries; the seeds and regression inputs start it.
        dirs=("$work/$t/new" "$corpus")
        [ -d "$crashes" ] && dirs+=("$crashes")
        set +e
        nice -n "$nice" "$bin" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
                -dict="$srcdir/tests/fuzz/dict/$t.dict" -artifact_prefix="$work/$t/artifacts/" \
                "${dirs[@]}" >"$work/$t/fuzz.log" 2>&1
        set -e

        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/fuzz.log" | tail -1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/$t/fuzz.log" | tail -1)
        cov=$(grep -oE 'cov: [0-9]+' "$work/$t/fuzz.log" | tail -1 | cut -d' ' -f2)
        ft=$(grep -oE 'ft: [0-9]+' "$work/$t/fuzz.log" | tail -1 | cut -d' ' -f2)
        new=$(find "$work/$t/new" -type f | wc -l)

        # Every artifact, minimised where it still reproduces, becomes a regression input.
        ncrash=0
        for a in "$work/$t/artifacts"/*; do
                [ -f "$a" ] || continue
                ncrash=$((ncrash + 1))
                mkdir -p "$crashes"
                name=$(basename "$a")
                nice -n "$nice" "$bin" -minimize_crash=1 -runs=20000 -timeout=10 \
                        -exact_artifact_path="$crashes/$name" "$a" >"$work/$t/minimize-$name.log" 2>&1 || true
                [ -s "$crashes/$name" ] || cp "$a" "$crashes/$name"
                echo "# $t: crash saved as tests/fuzz/crashes/$t/$name (log: $work/$t/fuzz.log)" >&2
        done

        if [ "${FUZZ_KEEP_CORPUS:-0}" = 1 ] && [ "$new" -gt 0 ]; then
                nice -n "$nice" "$bin" -merge=1 "$corpus" "$work/$t/new" >"$work/$t/merge.log" 2>&1 || true
        fi

        linecov=-
        if [ -n "$have_cov" ]; then
                (cd "$work/$t" && LLVM_PROFILE_FILE="$work/$t/replay.profraw" \
                        "$covbuild/tests/fuzz/fuzz-$t" "$corpus" "$work/$t/new" >"$work/$t/replay.log" 2>&1) || true
                if [ -f "$work/$t/replay.profraw" ]; then
                        llvm-profdata merge -sparse -o "$work/$t/replay.profdata" "$work/$t/replay.profraw"
                        linecov=$(llvm-cov report "$covbuild/tests/fuzz/fuzz-$t" -instr-profile="$work/$t/replay.profdata" \
                                "$srcdir/${parser_file[$t]}" 2>/dev/null | awk '$1 == "TOTAL" { print $(NF-3) }')
                        linecov="$linecov of ${parser_file[$t]}"
                fi
        fi

        printf '%-13s %10s %8s %6s %6s %5s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$new" "$ncrash" "$linecov"
done
