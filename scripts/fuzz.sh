#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/fuzz.sh [SECONDS] : builds the libFuzzer targets (tests/fuzz/) with
# clang, ASan and UBSan, and runs each for SECONDS (default 60) from its seeds,
# the adapters' fixtures, every past crash and the corpus earlier runs kept
# (build/fuzz/corpus/). Prints executions per target and "N passed, N failed";
# exits non-zero if a target crashed, leaked or timed out, naming the input
# that did: once fixed, that file goes into tests/fuzz/regressions/<target>/,
# which the test build replays (ctest fuzz_replay_*).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

SECS=${1:-60}
ac_install_packages $AC_DEB_BUILD clang
BUILD=${AC_FUZZ_BUILD:-build/fuzz}
TARGETS="event alertmanager pagerduty k8s heartbeat matcher template schedule action config"
declare -A FIXTURES=([alertmanager]=tests/fixtures/prometheus [pagerduty]=tests/fixtures/pagerduty
                     [heartbeat]=tests/fixtures/heartbeats [k8s]=tests/fixtures/k8s)

echo "== build (clang, -fsanitize=fuzzer,address,undefined)"
CC=clang CXX=clang++ cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAC_FUZZ=ON \
    -DAC_TESTS=ON >/dev/null
cmake --build "$BUILD" --target fuzz_all -j"$(nproc)" >/dev/null

passed=0 failed=0
printf '%-14s %12s %8s  %s\n' target executions corpus result
for t in $TARGETS; do
    corpus="$BUILD/corpus/$t"
    crashes="$BUILD/crashes"
    mkdir -p "$corpus" "$crashes"
    seeds=(tests/fuzz/seeds/"$t")
    [ -d tests/fuzz/regressions/"$t" ] && seeds+=(tests/fuzz/regressions/"$t")
    [ -n "${FIXTURES[$t]:-}" ] && seeds+=("${FIXTURES[$t]}")
    log="$BUILD/fuzz_$t.log"
    if "$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/$t-" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1; then
        result=ok
        passed=$((passed + 1))
    else
        result="FAILED: $(grep -m1 -o 'Test unit written to .*' "$log" || tail -1 "$log")"
        failed=$((failed + 1))
    fi
    execs=$(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    printf '%-14s %12s %8s  %s\n' "$t" "$execs" "$(ls "$corpus" | wc -l)" "$result"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
