#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The alert center against Alertmanager 0.25 (Debian's prometheus-alertmanager,
# in memory) on this machine, side by side, with the same load generator
# (ac_loadgen) and the same ~1 KB alerts (EVENT_BYTES). Builds the release
# binary; starts PostgreSQL on disk (fsync on, synchronous_commit on), Redis,
# the server and Alertmanager on loopback; runs each HTTP scenario RUNS times,
# alternating which side goes first (A B, then B A); prints every run, then a
# table of medians with both figures, the ratio against its target, and the
# server's CPU per event (server + PostgreSQL + Redis, from /proc ticks).
# Then, for the alert center alone: open-loop latency at a steady rate, open
# alerts held in memory (server RSS + Redis used_memory; Alertmanager's RSS
# for the same alerts), P1 event -> first notification (bench/notify.sh) and
# Kafka ingest (bench/sources.sh). Bounded: about 15 minutes with the
# defaults.
#   BENCH_SECONDS (6)  RUNS (3)  EVENT_BYTES (1024)
#   MEM_ALERTS (1000000; 0 skips)  MEM_SECONDS (330: the most each side may
#     take to receive them)  LAT_RATE (2000 requests/s)
#   COMPARE_NOTIFY (1), COMPARE_KAFKA (1): 0 skips that part
#   SCENARIOS ("am100 am1 am100d9 native100 lat"; "" runs none of them)
#   MEM_SIDES ("ac am")
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
ac_install_packages $AC_DEB_BUILD prometheus-alertmanager

SECS=${BENCH_SECONDS:-6}
RUNS=${RUNS:-3}
EVB=${EVENT_BYTES:-1024}
MEM_ALERTS=${MEM_ALERTS:-1000000}
MEM_SECONDS=${MEM_SECONDS:-330}
LAT_RATE=${LAT_RATE:-2000}
AM_BIN=/usr/bin/prometheus-alertmanager

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_loadgen >/dev/null
LG=./build/bench/ac_loadgen
AC=./build/bench/alertcenter

bench_services_start compare "-c synchronous_commit=on"
TOKEN=bench-token-0123456789abcdef
PSQL="psql -h 127.0.0.1 -p $PG_PORT -U postgres -d postgres -qAt"

# A ours, B Alertmanager; each (re)started by start_X so the memory figure
# begins from an empty store
declare -A PORT PID
start_ac() {
    PORT[ac]=$(ac_free_port)
    AC_ADMIN_TOKEN=$TOKEN AC_LISTEN=127.0.0.1:${PORT[ac]} AC_LOG_LEVEL=warn \
    AC_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter" \
    AC_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        "$AC" serve 2>>"$TMP/server.log" &
    PID[ac]=$!
    BENCH_PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:${PORT[ac]}/healthz" | grep -q '"ok"' && return 0
        sleep 0.1
    done
    echo "the server did not start" >&2
    exit 1
}
start_am() {
    PORT[am]=$(ac_free_port)
    rm -rf "$TMP/am"
    mkdir -p "$TMP/am"
    printf 'route:\n  receiver: none\nreceivers:\n- name: none\n' >"$TMP/am/am.yml"
    "$AM_BIN" --config.file="$TMP/am/am.yml" --storage.path="$TMP/am" \
        --web.listen-address="127.0.0.1:${PORT[am]}" --cluster.listen-address= \
        --log.level=warn 2>>"$TMP/am.log" &
    PID[am]=$!
    BENCH_PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:${PORT[am]}/-/ready" >/dev/null && return 0
        sleep 0.1
    done
    echo "Alertmanager did not start" >&2
    exit 1
}
stop() { # side
    kill "${PID[$1]}" 2>/dev/null && wait "${PID[$1]}" 2>/dev/null || true
}
start_ac
start_am
echo "alert center $(git rev-parse --short HEAD) vs $($AM_BIN --version 2>&1 | head -1)"
echo "$(nproc) cores; PostgreSQL on disk, fsync on, synchronous_commit on; events of ~$EVB bytes"
for s in ac am; do # warm-up
    $LG --port "${PORT[$s]}" --token "$TOKEN" --format prometheus --conns 8 --batch 10 \
        --seconds 2 >/dev/null
done
$PSQL -c CHECKPOINT >/dev/null

REDIS_PID=$(cat "$TMP/redis/redis.pid")
HZ=$(getconf CLK_TCK)
ticks() { # side
    if [ "$1" = ac ]; then
        bench_cpu_ticks "${PID[ac]}" $(bench_pg_pids "$TMP/pg") "$REDIS_PID"
    else
        bench_cpu_ticks "${PID[am]}"
    fi
}
srv_ticks() { bench_cpu_ticks "${PID[$1]}"; }
# Waits (at most 30 s) until the side is quiet - under a tenth of a core for
# half a second - so that a run is not charged for the work the one before
# left queued (the open-loop scenario ends seconds behind) or set off.
settle() { # side
    local t0 t1
    t1=$(ticks "$1")
    for _ in $(seq 1 60); do
        sleep 0.5
        t0=$t1
        t1=$(ticks "$1")
        [ $((t1 - t0)) -le $((HZ / 20)) ] && return 0
    done
    echo "compare.sh: $1 still busy after 30 s; measuring anyway" >&2
}

# scenario name -> loadgen arguments; sides that run it
declare -A ARGS=(
    [am100]="--format prometheus --batch 100 --conns 8 --dup 0.1"
    [am1]="--format prometheus --batch 1 --conns 32 --dup 0.1"
    [am100d9]="--format prometheus --batch 100 --conns 8 --dup 0.9"
    [native100]="--batch 100 --conns 8 --dup 0.1"
    [lat]="--format prometheus --batch 1 --conns 32 --dup 0.1 --rate $LAT_RATE"
)
declare -A SIDES=([am100]="ac am" [am1]="ac am" [am100d9]="ac am" [native100]="ac" [lat]="ac am")
SCENARIOS=${SCENARIOS-am100 am1 am100d9 native100 lat}
declare -A RES
for run in $(seq 1 "$RUNS"); do
    for sc in $SCENARIOS; do
        order=${SIDES[$sc]}
        [ $((run % 2)) = 0 ] && order=$(printf '%s\n' $order | tac | tr '\n' ' ')
        for s in $order; do
            settle "$s"
            c0=$(ticks "$s")
            k0=$(srv_ticks "$s")
            # shellcheck disable=SC2086
            out=$($LG --port "${PORT[$s]}" --token "$TOKEN" --event-bytes "$EVB" \
                  --seconds "$SECS" ${ARGS[$sc]})
            c1=$(ticks "$s")
            k1=$(srv_ticks "$s")
            ev=$(printf '%s' "$out" | sed -n 's/.* events=\([0-9]*\).*/\1/p')
            dup=$(printf '%s' "$out" | sed -n 's/.* dup=\([0-9.]*\).*/\1/p')
            out+=$(awk -v hz="$HZ" -v ev="${ev:-0}" -v d="${dup:-0}" -v c="$((c1 - c0))" \
                -v k="$((k1 - k0))" 'BEGIN { if (ev > 0)
                printf " cpu_us=%.1f srv_us=%.1f cpu_unique_us=%.1f", c / hz / ev * 1e6,
                    k / hz / ev * 1e6, c / hz / (ev * (1 - d)) * 1e6 }')
            echo "run $run $sc $s: $out"
            RES["$sc/$s"]+="$out"$'\n'
        done
    done
done
grep -i "error" "$TMP/server.log" | head -5 || true

med() { bench_median "$1" "${RES[$2]:-}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
met() { awk -v r="$1" -v t="$2" -v le="${3:-0}" 'BEGIN {
    if (r == "-" || r == "") print "?"; else if (le ? r <= t : r >= t) print "yes"; else print "NO" }'; }

# --- memory: MEM_ALERTS open alerts -----------------------------------------------------
MEMLINE=
if [ "$MEM_ALERTS" -gt 0 ]; then
    echo
    echo "== memory: $MEM_ALERTS open alerts, each side from empty"
    stop ac
    stop am
    $PSQL -c "DROP DATABASE alertcenter WITH (FORCE)" -c "CREATE DATABASE alertcenter OWNER alertcenter" >/dev/null
    redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
    start_ac
    start_am
    declare -A MEM
    for s in ${MEM_SIDES:-ac am}; do
        fmt=prometheus
        [ "$s" = ac ] && fmt=native # the native path is the faster way in for us
        # shellcheck disable=SC2046
        # batches of 500 ~1 KB alerts: under the 1 MiB body limit
        out=$($LG --port "${PORT[$s]}" --token "$TOKEN" --format $fmt --batch 500 --conns 4 \
              --dup 0 --event-bytes "$EVB" --requests $((MEM_ALERTS / 500)) \
              --seconds "$MEM_SECONDS") || true
        echo "$s: $out"
        sent=$(printf '%s' "$out" | sed -n 's/.* events=\([0-9]*\).*/\1/p')
        sleep 5 # caches settle
        if [ "$s" = ac ]; then
            open=$(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d alertcenter -qAt -c \
                   "SELECT count(*) FROM alerts WHERE status <> 'resolved'")
            rss=$(bench_rss_kb "${PID[ac]}")
            rmem=$(redis-cli -p "$REDIS_PORT" INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p')
            MEM[ac]="alerts=$open server_rss_mb=$((rss / 1024)) redis_used_mb=$((rmem / 1048576))"
        else
            # its own count (listing a million alerts would cost more than it tells)
            n=$(curl -s "http://127.0.0.1:${PORT[am]}/metrics" |
                awk '/^alertmanager_alerts\{state="active"\}/ {printf "%d", $2}')
            rss=$(bench_rss_kb "${PID[am]}")
            MEM[am]="alerts=$n sent=$sent rss_mb=$((rss / 1024))"
        fi
        echo "$s: ${MEM[$s]}"
    done
    MEMLINE="ac ${MEM[ac]:-} | alertmanager ${MEM[am]:-}"
fi
stop ac
stop am
# notify.sh and sources.sh start their own: this PostgreSQL (a million
# alerts, its autovacuum and checkpoints) must not run beside them
ac_pg_stop "$TMP/pg"
ac_redis_stop "$TMP/redis"

# --- P1 -> first notification, Kafka ---------------------------------------------------------
NOTIFY=
if [ "${COMPARE_NOTIFY:-1}" = 1 ]; then
    echo
    echo "== P1 event -> first notification at 1,000 events/s (bench/notify.sh)"
    RATE=1000 BENCH_SECONDS=20 bash bench/notify.sh >"$TMP/notify.out" 2>&1 || true
    cat "$TMP/notify.out"
    nout=$(grep '^alerts=.*p99_ms=' "$TMP/notify.out" | head -1)
    NOTIFY=$(printf '%s' "$nout" | sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p')
fi
KAFKA=
if [ "${COMPARE_KAFKA:-1}" = 1 ]; then
    echo
    echo "== Kafka ingest, 1 KB messages (bench/sources.sh, the Kafka part)"
    RUNS=3 MESSAGES=100000 BYTES=1000 SOURCES_HTTP=0 bash bench/sources.sh >"$TMP/kafka.out" 2>&1 ||
        true
    cat "$TMP/kafka.out"
    kout=$(grep 'Kafka median events_per_s=' "$TMP/kafka.out" | head -1)
    KAFKA=$(printf '%s' "$kout" | sed -n 's/.*events_per_s=\([0-9]*\).*/\1/p')
fi

# --- the table -----------------------------------------------------------------------------
A100=$(med events_per_s am100/ac)
echo
echo "medians of $RUNS runs, ${SECS}s each (alternating), ~$EVB-byte alerts, $(nproc) cores:"
printf '| %-44s | %12s | %12s | %6s | %8s | %4s | %10s | %10s |\n' figure "alert center" \
    Alertmanager ratio target met "CPU us/ev" "us/unique"
printf '|%s|\n' "----------------------------------------------|--------------|--------------|--------|----------|------|------------|-----------"
row() { # label scenario target
    local a b r
    a=$(med events_per_s "$2/ac")
    b=$(med events_per_s "$2/am")
    r=$(ratio "$a" "$b")
    printf '| %-44s | %12s | %12s | %6s | %8s | %4s | %10s | %10s |\n' "$1" "$a" "$b" "$r" \
        ">= $3" "$(met "$r" "$3")" "$(med cpu_us "$2/ac")" "$(med cpu_unique_us "$2/ac")"
}
row "/api/v2/alerts batch 100, 10% repeats, ev/s" am100 1.0
row "/api/v2/alerts 1 a request, 32 conns, ev/s" am1 0.9
row "/api/v2/alerts batch 100, 90% repeats, ev/s" am100d9 1.7
n100=$(med events_per_s native100/ac)
r=$(ratio "$n100" "$A100")
printf '| %-44s | %12s | %12s | %6s | %8s | %4s | %10s | %10s |\n' \
    "/v1/events native batch 100 vs /api/v2 ours" "$n100" "($A100 ours)" "$r" ">= 1.0" \
    "$(met "$r" 1.0)" "$(med cpu_us native100/ac)" "$(med cpu_unique_us native100/ac)"
la=$(med p99_ms lat/ac)
lb=$(med p99_ms lat/am)
printf '| %-44s | %12s | %12s | %6s | %8s | %4s | %10s | %10s |\n' \
    "p99 ms at $LAT_RATE single-event requests/s" "$la" "$lb" "" "<= 5" "$(met "$la" 5 1)" "" ""
if [ -n "$NOTIFY" ]; then
    n_s=$(awk -v m="$NOTIFY" 'BEGIN {printf "%.3f", m / 1000}')
    printf '| %-44s | %12s | %12s | %6s | %8s | %4s | %10s | %10s |\n' \
        "P1 -> first notification p99 s at 1k ev/s" "$n_s" "-" "" "<= 1" "$(met "$n_s" 1 1)" "" ""
fi
if [ -n "$KAFKA" ]; then
    r=$(ratio "$KAFKA" "$A100")
    printf '| %-44s | %12s | %12s | %6s | %8s | %4s | %10s | %10s |\n' \
        "Kafka ev/s vs /api/v2 batch 100 ours" "$KAFKA" "($A100 ours)" "$r" ">= 1.0" \
        "$(met "$r" 1.0)" "" ""
fi
[ -n "$MEMLINE" ] && echo "memory, $MEM_ALERTS alerts: $MEMLINE (target: server+Redis <= 500 MB, server <= 100 MB)"
echo "CPU us/ev: server + PostgreSQL + Redis per event sent; us/unique: per event that opened an alert"
