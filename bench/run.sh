#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingest benchmark: builds a release binary, starts PostgreSQL (fsync on: the
# durability the server promises) and Redis on free loopback ports, serves, and
# runs ac_loadgen for batch sizes 1 and 100 at each duplicate ratio in DUPS,
# interleaved, RUNS times each; prints every run and the medians. Everything is
# bounded by BENCH_SECONDS.
#   BENCH_SECONDS (8)  RUNS (3)  CONNS_1 (32)  CONNS_100 (8)  DUPS ("0.1 0.9")
#   BENCH_PG_LOG_MS: also report the statements slower than this many ms
#   BENCH_TMPFS=1: PostgreSQL's data in /dev/shm (fsync stays on but costs
#     nothing): measures the server and PostgreSQL's CPU, not the disk
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ac_install_packages $AC_DEB_BUILD

SECONDS_PER_RUN=${BENCH_SECONDS:-8}
RUNS=${RUNS:-3}
CONNS_1=${CONNS_1:-32}
CONNS_100=${CONNS_100:-8}
DUPS=${DUPS:-0.1 0.9}

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_loadgen >/dev/null

if [ "${BENCH_TMPFS:-0}" = 1 ]; then
    TMP=$(mktemp -d /dev/shm/ac-bench.XXXXXX)
    STORAGE="PostgreSQL data in /dev/shm"
else
    TMP=$(mktemp -d /tmp/ac-bench.XXXXXX)
    STORAGE="PostgreSQL data on disk, fsync on"
fi
chmod 755 "$TMP"
SERVER_PID=
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    ac_pg_stop "$TMP/pg"
    ac_redis_stop "$TMP/redis"
    rm -rf "$TMP"
}
trap cleanup EXIT

PG_PORT=$(ac_free_port)
REDIS_PORT=$(ac_free_port)
HTTP_PORT=$(ac_free_port)
AC_PG_OPTS=${BENCH_PG_LOG_MS:+-c log_min_duration_statement=$BENCH_PG_LOG_MS} \
    ac_pg_start "$TMP/pg" "$PG_PORT"
ac_redis_start "$TMP/redis" "$REDIS_PORT"
TOKEN=bench-token-0123456789abcdef
AC_ADMIN_TOKEN=$TOKEN AC_LISTEN=127.0.0.1:$HTTP_PORT AC_LOG_LEVEL=warn \
AC_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter" \
AC_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    ./build/bench/alertcenter serve 2>"$TMP/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$HTTP_PORT/healthz" >/dev/null && break
    sleep 0.1
done

LG=./build/bench/ac_loadgen
# warm-up: connections, plans, caches
$LG --port "$HTTP_PORT" --token "$TOKEN" --conns 8 --batch 10 --seconds 2 >/dev/null

declare -A RES
for run in $(seq 1 "$RUNS"); do
    for dup in $DUPS; do
        for batch in 1 100; do
            conns=$CONNS_1
            [ "$batch" = 100 ] && conns=$CONNS_100
            out=$($LG --port "$HTTP_PORT" --token "$TOKEN" --conns "$conns" --batch "$batch" \
                  --dup "$dup" --seconds "$SECONDS_PER_RUN")
            echo "run $run: $out"
            RES["$batch/$dup"]+="$out"$'\n'
        done
    done
done

median() { # field, lines
    printf '%s' "$2" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | sort -g |
        awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
echo
echo "medians of $RUNS runs (${SECONDS_PER_RUN}s each, $STORAGE):"
printf '%-7s %-6s %-6s %12s %10s %10s\n' batch conns dup events/s p50_ms p99_ms
for dup in $DUPS; do
    for batch in 1 100; do
        conns=$CONNS_1
        [ "$batch" = 100 ] && conns=$CONNS_100
        lines=${RES["$batch/$dup"]}
        printf '%-7s %-6s %-6s %12s %10s %10s\n' "$batch" "$conns" "$dup" \
            "$(median events_per_s "$lines")" "$(median p50_ms "$lines")" \
            "$(median p99_ms "$lines")"
    done
done
grep -i "error" "$TMP/server.log" | head -5 || true
if [ -n "${BENCH_PG_LOG_MS:-}" ]; then
    echo
    echo "statements slower than ${BENCH_PG_LOG_MS} ms (count, average ms):"
    # "duration: 12.3 ms  execute ac_open: SELECT ..." or "execute <unnamed>: COMMIT"
    sed -n 's/.*duration: \([0-9.]*\) ms  \(execute <unnamed>: [A-Z]*\|execute [a-z_]*\|statement: [A-Za-z]*\).*/\1 \2/p' \
        "$TMP/pg/server.log" |
        awk '{ms=$1; $1=""; s[$0]+=ms; n[$0]++} END {for (k in s) printf "  %-30s %6d %8.1f\n", k, n[k], s[k]/n[k]}'
fi
