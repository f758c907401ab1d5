#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The floor under durable ingest on this machine (bench/PROFILE.md): what
# PostgreSQL alone spends per event to store the rows the contract asks for,
# with nothing of ours in the way. pgbench (prepared statements) runs
# transactions that generate their rows inside PostgreSQL (no parameters to
# send or parse, no server, no Redis) into the real schema (`alertcenter
# migrate`: the same tables, indexes and triggers), on disk with fsync and
# synchronous_commit=on:
#   events   each event's row (its ~1 KB document) - the least a durable
#            ingest can write (DESIGN §9: "durably stored in PostgreSQL");
#   +alerts  and, for 90 % of them, a new alert row with its first minute of
#            history (alert_folds), as the writer stores a new alert.
# (The audit entries are not a tier here: made this way, outside the writer,
# they measured ~5 times what the writer's own profile shows them costing,
# unexplained yet - bench/PROFILE.md.)
# Then the server's part of the floor: ac_decodebench, decoding the same
# size of event on one core (jansson's parse alone, the whole decode); and
# ac_arraybench, what PostgreSQL spends per element to take an array
# parameter as text or in binary.
# Each tier at three shapes: transactions of BATCH events over CLIENTS
# sessions (batch 100 requests); of GROUP events in one session (the group
# commit the writer forms from 32 connections sending one alert each); of 1
# event over CLIENTS1 sessions (a commit per one-alert request). Printed:
# events per second and PostgreSQL's CPU microseconds per event (all its
# processes, from /proc ticks).
#   BENCH_SECONDS (8)  BATCH (100)  CLIENTS (8)  GROUP (16)  CLIENTS1 (32)
#   EVENT_BYTES (1024)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
ac_install_packages $AC_DEB_BUILD

SECS=${BENCH_SECONDS:-8}
BATCH=${BATCH:-100}
CLIENTS=${CLIENTS:-8}
CLIENTS1=${CLIENTS1:-32}
GROUP=${GROUP:-16}
PAD=$((${EVENT_BYTES:-1024} - 200))

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF \
    -DCMAKE_C_FLAGS="-fno-omit-frame-pointer" >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_decodebench ac_arraybench >/dev/null
bench_services_start floor
DSN="host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter"
AC_PG_DSN=$DSN AC_LOG_LEVEL=warn ./build/bench/alertcenter migrate
SQL="psql -h 127.0.0.1 -p $PG_PORT -U alertcenter -d alertcenter -qAt"
incident=$($SQL -c "INSERT INTO incidents (group_key, type, grouping, title, level, initial_level,
                        status, alerts, open_alerts, first_seen)
                    VALUES ('BenchType', 'BenchType', '', 'BenchType', 'P3', 'P3', 'open', 0, 0, now())
                    RETURNING id")

# The statements, n events per transaction (:n), new alerts for 90 % of them.
EVENTS="INSERT INTO events (id, source, type, level, trace, status, fingerprint, occurred_at,
         received_at, region, app_id, instance, doc)
  SELECT nextval('events_id_seq'), 'prometheus', 'BenchType' || (g % 8), 'P3', 'runtime', 'firing',
         md5(random()::text), now(), now(), 'cn-hangzhou', 'app-' || (g % 50), 'host-' || g,
         ('{\"source\":\"prometheus\",\"type\":\"BenchType\",\"title\":\"benchmark event\",'
          '\"level\":\"P3\",\"message\":\"' || repeat('x', $PAD) || '\"}')::json
    FROM generate_series(1, :n) AS g;"
ALERTS="WITH n AS (INSERT INTO alerts (fingerprint, type, source, trace, level, initial_level, status,
         count, first_seen, last_seen, region, app_id, instance, last_event_id, created_at,
         updated_at, group_key, title, incident_id)
  SELECT md5(random()::text), 'BenchType' || (g % 8), 'prometheus', 'runtime', 'P3', 'P3', 'firing',
         1, now(), now(), 'cn-hangzhou', 'app-' || (g % 50), 'host-' || g, g, now(), now(), '',
         'benchmark event', $incident
    FROM generate_series(1, (:n * 9 + 9) / 10) AS g RETURNING id, first_seen)
  INSERT INTO alert_folds (alert_id, at, count) SELECT id, date_trunc('minute', first_seen), 1 FROM n;"

# floor_run NAME N CLIENTS STATEMENTS... : one pgbench run; prints its line
floor_run() {
    local name=$1 n=$2 clients=$3 script="$TMP/$1-$2.sql" out t0 t1 tx
    shift 3
    sleep 1
    { echo "\\set n $n"; echo "BEGIN;"; printf '%s\n' "$@"; echo "COMMIT;"; } >"$script"
    t0=$(bench_cpu_ticks $(bench_pg_pids "$TMP/pg"))
    out=$(pgbench -n -h 127.0.0.1 -p "$PG_PORT" -U alertcenter -M prepared -f "$script" \
        -c "$clients" -j 2 -T "$SECS" alertcenter 2>&1) || { echo "$out" >&2; return 1; }
    sleep 1 # the sessions' backends exit, their CPU moves to the postmaster's children
    t1=$(bench_cpu_ticks $(bench_pg_pids "$TMP/pg"))
    tx=$(printf '%s' "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
    awk -v name="$name" -v n="$n" -v c="$clients" -v tx="$tx" -v s="$SECS" -v t="$((t1 - t0))" \
        -v hz="$(getconf CLK_TCK)" 'BEGIN {
        printf "| %-8s | %5d | %4d | %9.0f | %8.1f |\n", name, n, c, tx * n / s, t / hz / (tx * n) * 1e6 }'
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc CHECKPOINT
}

echo "PostgreSQL alone, rows made inside it, $((PAD + 200))-byte documents, fsync on, $SECS s a run:"
echo
echo "| rows     | batch | sessions | events/s | PostgreSQL CPU µs/event |"
echo "|---|---:|---:|---:|---:|"
floor_run events "$BATCH" "$CLIENTS" "$EVENTS"
floor_run +alerts "$BATCH" "$CLIENTS" "$EVENTS" "$ALERTS"
floor_run events "$GROUP" 1 "$EVENTS"
floor_run +alerts "$GROUP" 1 "$EVENTS" "$ALERTS"
floor_run events 1 "$CLIENTS1" "$EVENTS"
floor_run +alerts 1 "$CLIENTS1" "$EVENTS" "$ALERTS"
echo
echo "The server's side of the floor: decoding a body on one core (ac_decodebench;"
echo "parse = jansson's json_loadb alone, decode = into the event model, document = its stored JSON):"
echo
./build/bench/ac_decodebench --batch "$BATCH" --event-bytes $((PAD + 200)) | tail -n +3
echo
echo "How PostgreSQL takes the writer's array parameters (ac_arraybench): as an array literal"
echo "(text) or in binary, per element; the writer sends its events' and alerts' rows in binary:"
echo
./build/bench/ac_arraybench "$DSN" --event-bytes $((PAD + 200)) | tail -n +3
