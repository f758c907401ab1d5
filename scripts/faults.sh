#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# scripts/faults.sh [--short] [SCENARIO...] : the fault scripts
# (tests/helpers/faults.py) against the release binary, with throwaway
# PostgreSQL (fsync on) and Redis on free loopback ports: SIGKILL x10 under
# load, PostgreSQL stopped and started, Redis killed/restarted empty/flushed,
# the Kafka broker down for 30 s, a gateway down for 60 s, two instances with
# one killed mid-run over 10k notified alerts. Each prints sent, acknowledged,
# found, lost and doubled; the run ends with "N passed, N failed" and exits
# non-zero on any failure. --short (what scripts/test.sh runs): fewer kills,
# shorter outages, 1k alerts.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

ac_install_packages $AC_DEB_BUILD
BUILD=${AC_FAULTS_BUILD:-build/release}
echo "== build ($BUILD)"
[ -f "$BUILD/CMakeCache.txt" ] || cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" --target alertcenter ac_kafka_tool -j"$(nproc)" >/dev/null

TMP=$(mktemp -d /tmp/ac-faults.XXXXXX)
chmod 755 "$TMP"
cleanup() {
    ac_pg_stop "$TMP/pg"
    ac_redis_stop "$TMP/redis"
    rm -rf "$TMP"
}
trap cleanup EXIT
PG_PORT=$(ac_free_port)
REDIS_PORT=$(ac_free_port)
ac_pg_start "$TMP/pg" "$PG_PORT"
ac_redis_start "$TMP/redis" "$REDIS_PORT"
echo "PostgreSQL 127.0.0.1:$PG_PORT (fsync on), Redis 127.0.0.1:$REDIS_PORT"

AC_FAULTS_BINARY="$BUILD/alertcenter" AC_FAULTS_KAFKA_TOOL="$BUILD/ac_kafka_tool" \
AC_FAULTS_PG_DIR="$TMP/pg" AC_FAULTS_PG_PORT="$PG_PORT" \
AC_FAULTS_REDIS_DIR="$TMP/redis" AC_FAULTS_REDIS_PORT="$REDIS_PORT" AC_FAULTS_TMP="$TMP" \
    python3 tests/helpers/faults.py "$@"
