#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, on a fresh Debian 12 machine as root or on a developer's:
# installs what is missing, builds Release (GCC, clang) and ASan+UBSan, fuzzes every target
# briefly (scripts/fuzz.sh), starts throwaway PostgreSQL and Redis on free loopback ports, runs
# every unit, integration and doc test through ctest, stops the services (only the ones it
# started), runs the short fault scripts (scripts/faults.sh --short), exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# prometheus: promtool checks /metrics, a real Prometheus sends alerts; kcat produces to Kafka;
# prometheus-alertmanager: the real amtool; chromium: the console's browser test
ac_install_packages $AC_DEB_BUILD clang clang-format prometheus prometheus-alertmanager kcat jq \
    openssl chromium fonts-dejavu-core
# Node.js for playwright-core (tests/browser): the machine's (>= 20), else Debian's
command -v node >/dev/null || ac_install_packages nodejs npm

echo "== browser test tooling (npm ci: playwright-core, driving Debian's chromium)"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

BUILD=${AC_BUILD_DIR:-build/test}
JOBS=$(nproc)

if command -v clang-format >/dev/null; then
    echo "== clang-format check"
    git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror
fi

echo "== build (Release with tests, GCC: -O2 and _FORTIFY_SOURCE find warnings a Debug build does not)"
cmake -S . -B "$BUILD-release" -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=ON -DAC_WERROR=ON >/dev/null
cmake --build "$BUILD-release" -j"$JOBS"
ctest --test-dir "$BUILD-release" -L unit --output-on-failure -j"$JOBS"
if command -v clang >/dev/null; then
    echo "== build (Release with tests, clang)"
    CC=clang CXX=clang++ cmake -S . -B "$BUILD-clang" -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=ON \
        -DAC_WERROR=ON >/dev/null
    cmake --build "$BUILD-clang" -j"$JOBS"
fi

echo "== fuzz (each libFuzzer target ${AC_FUZZ_SECONDS:-5} s; scripts/fuzz.sh SECONDS for longer)"
AC_FUZZ_BUILD="$BUILD-fuzz" scripts/fuzz.sh "${AC_FUZZ_SECONDS:-5}"

echo "== build (Debug, -fsanitize=address,undefined)"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DAC_SANITIZE=ON -DAC_WERROR=ON >/dev/null
cmake --build "$BUILD" -j"$JOBS"

TMP=$(mktemp -d /tmp/ac-test.XXXXXX)
chmod 755 "$TMP"
cleanup() {
    ac_pg_stop "$TMP/pg"
    ac_redis_stop "$TMP/redis"
    # redis-servers that a test started itself (it_redis), if it died early
    for d in "$TMP"/it-redis-*; do
        [ -d "$d" ] && ac_redis_stop "$d"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "== services"
PG_PORT=$(ac_free_port)
REDIS_PORT=$(ac_free_port)
AC_PG_FSYNC=off ac_pg_start "$TMP/pg" "$PG_PORT"
ac_redis_start "$TMP/redis" "$REDIS_PORT"
echo "PostgreSQL 127.0.0.1:$PG_PORT, Redis 127.0.0.1:$REDIS_PORT"

echo "== tests"
export AC_TEST_PG_PORT=$PG_PORT AC_TEST_REDIS_PORT=$REDIS_PORT AC_TEST_TMP=$TMP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD" --output-on-failure -j"$JOBS" --timeout 600

echo "== faults (short; scripts/faults.sh runs the full version)"
AC_FAULTS_BUILD="$BUILD-release" scripts/faults.sh --short
