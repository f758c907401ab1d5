#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Source benchmark (issue 6): ingest through the adapters, on a release
# build, PostgreSQL on disk with fsync on, Redis, all on loopback.
#   1. Kafka: MESSAGES (100000) messages of BYTES (1000) bytes, native events
#      folding into FINGERPRINTS (1000) alerts, produced beforehand into a
#      24-partition topic of librdkafka's mock cluster; a fresh consumer
#      group reads them: events/s from the first event committed to the last.
#   2. HTTP: POST /api/v2/alerts (the Prometheus format) against POST
#      /v1/events (native) with the same load (ac_loadgen, DUP 0.5 repeats:
#      Prometheus re-sends for the one, folds for the other), batch sizes 1
#      and 100, interleaved, events/s.
# Each measured RUNS (3) times; every run and the medians are printed.
#   RUNS (3)  MESSAGES (100000)  BYTES (1000)  FINGERPRINTS (1000)
#   BENCH_SECONDS (8: per HTTP run)  DUP (0.5)  CONNS_1 (32)  CONNS_100 (8)
#   SOURCES_HTTP (1; 0: the Kafka part only)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
ac_install_packages $AC_DEB_BUILD

RUNS=${RUNS:-3}
MESSAGES=${MESSAGES:-100000}
BYTES=${BYTES:-1000}
FINGERPRINTS=${FINGERPRINTS:-1000}
SECONDS_PER_RUN=${BENCH_SECONDS:-8}
DUP=${DUP:-0.5}
CONNS_1=${CONNS_1:-32}
CONNS_100=${CONNS_100:-8}

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_loadgen ac_kafka_tool >/dev/null
BIN=./build/bench

bench_services_start sources-bench
SERVER=
cleanup() {
    [ -n "$SERVER" ] && ac_stop_pid "$SERVER"
    bench_cleanup
}
trap cleanup EXIT
PORT=$(ac_free_port)
TOKEN=bench-token-0123456789abcdef

# the mock cluster, one topic per run
TOPICS=()
for r in $(seq 1 "$RUNS"); do
    TOPICS+=("bench-$r" 24)
done
$BIN/ac_kafka_tool mock "${TOPICS[@]}" >"$TMP/mock.out" 2>"$TMP/mock.err" &
BENCH_PIDS+=($!)
for _ in $(seq 1 50); do
    [ -s "$TMP/mock.out" ] && break
    sleep 0.1
done
BOOTSTRAP=$(head -n 1 "$TMP/mock.out")

# serve CONFIG_JSON : (re)starts the server with that configuration
serve() {
    [ -n "$SERVER" ] && ac_stop_pid "$SERVER"
    echo "$1" >"$TMP/config.json"
    AC_ADMIN_TOKEN=$TOKEN AC_LISTEN=127.0.0.1:$PORT AC_LOG_LEVEL=warn \
    AC_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter" \
    AC_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        $BIN/alertcenter serve -c "$TMP/config.json" 2>>"$TMP/server.log" &
    SERVER=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' && return 0
        sleep 0.1
    done
    echo "the server did not start" >&2
    tail -20 "$TMP/server.log" >&2
    return 1
}
metric() {
    curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" |
        awk -v m="$1" '$1 == m {print $2}'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== Kafka: $MESSAGES messages of $BYTES bytes into $FINGERPRINTS alerts, $RUNS runs"
KAFKA=()
for r in $(seq 1 "$RUNS"); do
    $BIN/ac_kafka_tool produce "$BOOTSTRAP" "bench-$r" "$MESSAGES" "$BYTES" "$FINGERPRINTS" \
        $((r * 10000000)) "BenchKafka$r" >/dev/null
    serve "{\"kafka\": {\"brokers\": \"$BOOTSTRAP\", \"group_id\": \"bench-$r\",
            \"topics\": {\"bench-$r\": \"native\"}, \"batch_max\": 5000}}"
    start= end=
    deadline=$((SECONDS + 300))
    while [ $SECONDS -lt $deadline ]; do
        n=$(metric ac_kafka_events_total)
        n=${n:-0}
        now=$(date +%s.%N)
        if [ -z "$start" ] && [ "$n" != 0 ]; then start=$now n0=$n; fi
        if [ "$n" -ge "$MESSAGES" ]; then end=$now; break; fi
        sleep 0.05
    done
    [ -n "$end" ] || { echo "run $r: only $n of $MESSAGES consumed" >&2; exit 1; }
    eps=$(awk -v n="$MESSAGES" -v n0="$n0" -v a="$start" -v b="$end" \
        'BEGIN {printf "%d", (n - n0) / (b - a)}')
    counted=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d alertcenter -qAt \
        -c "SELECT sum(count) FROM alerts WHERE type = 'BenchKafka$r'")
    echo "run $r: events_per_s=$eps counted=$counted"
    KAFKA+=("$eps")
done
echo "Kafka median events_per_s=$(median "${KAFKA[@]}")"
# SOURCES_HTTP=0: the Kafka part only (bench/compare.sh)
[ "${SOURCES_HTTP:-1}" = 1 ] || exit 0

echo "== HTTP: /api/v2/alerts (Prometheus) vs /v1/events (native), dup $DUP, $RUNS runs of ${SECONDS_PER_RUN}s"
serve '{}'
$BIN/ac_loadgen --port "$PORT" --token "$TOKEN" --conns 8 --batch 10 --seconds 2 >/dev/null
declare -A RES
for r in $(seq 1 "$RUNS"); do
    for batch in 1 100; do
        conns=$CONNS_1
        [ "$batch" = 100 ] && conns=$CONNS_100
        order="native prometheus"
        [ $((r % 2)) = 0 ] && order="prometheus native"
        for fmt in $order; do
            out=$($BIN/ac_loadgen --port "$PORT" --token "$TOKEN" --conns "$conns" \
                --batch "$batch" --dup "$DUP" --seconds "$SECONDS_PER_RUN" --format "$fmt")
            eps=$(echo "$out" | sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p')
            echo "run $r batch=$batch format=$fmt: $out"
            RES[$fmt-$batch]+="$eps "
        done
    done
done
for batch in 1 100; do
    # shellcheck disable=SC2086
    n=$(median ${RES[native-$batch]})
    # shellcheck disable=SC2086
    p=$(median ${RES[prometheus-$batch]})
    echo "batch=$batch median events_per_s: native=$n prometheus=$p" \
        "($(awk -v a="$n" -v b="$p" 'BEGIN {printf "%+.1f%%", (b - a) * 100 / a}'))"
done
