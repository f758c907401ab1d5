#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the CPU of one ingest scenario goes (bench/PROFILE.md): the release
# server on PostgreSQL (on disk, fsync on) and Redis, one ac_loadgen run of
# BENCH_SECONDS with ARGS, and around it
#   - CPU microseconds per event: server, PostgreSQL (all), Redis;
#   - PostgreSQL's statements by total time, nested ones (triggers,
#     functions) included (pg_stat_statements, track = all), per event;
#   - WAL bytes per event; rows written per table (HOT updates among them);
#   - the server's hottest functions (perf record -g, PERF=1).
#   BENCH_SECONDS (10)  ARGS ("--format prometheus --batch 100 --conns 8 --dup 0.1")
#   EVENT_BYTES (1024)  TOP (25)  PERF (1)  PERF_KEEP (a path: keep perf.data there)
#   PG_OPTS (more PostgreSQL settings; auto_explain is loaded, off unless set)
#   PG_LOG_KEEP (a path: keep PostgreSQL's log there)  PG_SQL (an experiment:
#   SQL run as the superuser once the schema is migrated)  AC_LOG_LEVEL (warn)
#   SERVER_LOG_KEEP (a path: keep the server's log there)  SERVER_ENV
#   ("NAME=value ...": the server's alone, e.g. GLIBC_TUNABLES)  WAITS (1: sample
#   pg_stat_activity every 0.1 s and print what the server's sessions were
#   doing or waiting for)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
ac_install_packages $AC_DEB_BUILD

SECS=${BENCH_SECONDS:-10}
ARGS=${ARGS:---format prometheus --batch 100 --conns 8 --dup 0.1}
EVB=${EVENT_BYTES:-1024}
TOP=${TOP:-25}

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF \
    -DCMAKE_C_FLAGS="-fno-omit-frame-pointer" >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_loadgen >/dev/null
bench_services_start profile "-c shared_preload_libraries=pg_stat_statements,auto_explain -c pg_stat_statements.track=all ${PG_OPTS:-}"
PORT=$(ac_free_port)
SQL="psql -h 127.0.0.1 -p $PG_PORT -U postgres -d alertcenter -qAt"
TOKEN=bench-token-0123456789abcdef
# shellcheck disable=SC2086
AC_ADMIN_TOKEN=$TOKEN AC_LISTEN=127.0.0.1:$PORT AC_LOG_LEVEL=${AC_LOG_LEVEL:-warn} \
AC_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter" \
AC_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" env ${SERVER_ENV:-} ./build/bench/alertcenter serve \
    2>"$TMP/server.log" &
SRV=$!
BENCH_PIDS+=("$SRV")
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' && break
    sleep 0.1
done
# an experiment: SQL run as the superuser once the schema is migrated
[ -n "${PG_SQL:-}" ] && $SQL -v ON_ERROR_STOP=1 -c "$PG_SQL" >/dev/null
# shellcheck disable=SC2086
./build/bench/ac_loadgen --port "$PORT" --token "$TOKEN" --event-bytes "$EVB" --seconds 2 $ARGS >/dev/null
$SQL -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" \
    -c "SELECT pg_stat_reset()" -c CHECKPOINT >/dev/null
REDIS_PID=$(cat "$TMP/redis/redis.pid")
HZ=$(getconf CLK_TCK)
wal0=$($SQL -c "SELECT pg_current_wal_lsn() - '0/0'")
c0=("$(bench_cpu_ticks "$SRV")" "$(bench_cpu_ticks $(bench_pg_pids "$TMP/pg"))" "$(bench_cpu_ticks "$REDIS_PID")")
if [ "${PERF:-1}" = 1 ] && command -v perf >/dev/null; then
    perf record ${PERF_CALLGRAPH:--g} -F 499 -p "$SRV" -o "$TMP/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
    PERFPID=$!
fi
if [ "${WAITS:-1}" = 1 ]; then
    $SQL -c "CREATE UNLOGGED TABLE bench_waits (state text, wait text, query text)"
    (for _ in $(seq 1 $((SECS * 10))); do
        $SQL -c "INSERT INTO bench_waits SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU'),
                        left(regexp_replace(query, '\s+', ' ', 'g'), 60)
                   FROM pg_stat_activity WHERE application_name = 'alertcenter' AND state <> 'idle'"
        sleep 0.1
    done) &
    WAITPID=$!
fi
# shellcheck disable=SC2086
out=$(./build/bench/ac_loadgen --port "$PORT" --token "$TOKEN" --event-bytes "$EVB" --seconds "$SECS" $ARGS)
[ -n "${WAITPID:-}" ] && wait "$WAITPID" || true
[ -n "${PERFPID:-}" ] && wait "$PERFPID" || true
c1=("$(bench_cpu_ticks "$SRV")" "$(bench_cpu_ticks $(bench_pg_pids "$TMP/pg"))" "$(bench_cpu_ticks "$REDIS_PID")")
wal1=$($SQL -c "SELECT pg_current_wal_lsn() - '0/0'")
[ -n "${PG_LOG_KEEP:-}" ] && cp "$TMP/pg/server.log" "$PG_LOG_KEEP"
[ -n "${SERVER_LOG_KEEP:-}" ] && cp "$TMP/server.log" "$SERVER_LOG_KEEP"
ev=$(printf '%s' "$out" | sed -n 's/.* events=\([0-9]*\).*/\1/p')
echo "$out"
awk -v hz="$HZ" -v ev="$ev" -v s="$((c1[0] - c0[0]))" -v p="$((c1[1] - c0[1]))" \
    -v r="$((c1[2] - c0[2]))" -v w="$((wal1 - wal0))" 'BEGIN {
    printf "CPU us per event: server %.1f, PostgreSQL %.1f, Redis %.1f, all %.1f; WAL %.0f bytes per event\n",
        s / hz / ev * 1e6, p / hz / ev * 1e6, r / hz / ev * 1e6, (s + p + r) / hz / ev * 1e6, w / ev }'
echo
echo "PostgreSQL statements by total time (us per event, calls per event, mean ms; nested included):"
$SQL -F ' | ' -c "SELECT round((total_exec_time * 1000 / $ev)::numeric, 1), round(calls::numeric / $ev, 3),
       round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 110)
  FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $TOP"
echo
echo "PostgreSQL tables by rows written (inserted, updated, of which HOT %, deleted; per event):"
$SQL -F ' | ' -c "SELECT relname, round(n_tup_ins::numeric / $ev, 3), round(n_tup_upd::numeric / $ev, 3),
       round(100.0 * n_tup_hot_upd / nullif(n_tup_upd, 0), 1), round(n_tup_del::numeric / $ev, 3)
  FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0
 ORDER BY n_tup_ins + n_tup_upd + n_tup_del DESC LIMIT 12"
if [ -n "${WAITPID:-}" ]; then
    echo
    echo "PostgreSQL: the server's busy sessions, sampled every 0.1 s (samples, state, CPU or wait, statement):"
    $SQL -F ' | ' -c "SELECT count(*), state, wait, query FROM bench_waits
                        GROUP BY 2, 3, 4 ORDER BY 1 DESC LIMIT $TOP"
fi
if [ -n "${PERFPID:-}" ]; then
    echo
    [ -n "${PERF_KEEP:-}" ] && cp "$TMP/perf.data" "$PERF_KEEP"
    echo "server: CPU by library (self %, perf):"
    perf report -i "$TMP/perf.data" --no-children --sort dso --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -12
    echo
    echo "server: hottest functions (self %, perf):"
    perf report -i "$TMP/perf.data" --no-children --sort symbol --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -"$TOP"
fi
