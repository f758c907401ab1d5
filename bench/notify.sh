#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Notification latency benchmark: new P1 alerts at a steady RATE events/s
# (each a new alert, and - by a route with group_by ["..."] - each its own
# incident, the planner's worst case; impact escalation off; group_wait 0)
# for BENCH_SECONDS; every incident is notified on a webhook channel to a
# local HTTP sink. Reports, from the outbox, the time from an incident's
# first event being received to its first notification being accepted by
# the sink (p50, p99, max), and how many were notified. PostgreSQL on disk
# with fsync on, Redis, the sink and the server on loopback; bounded in time.
#   RATE (1000)  BENCH_SECONDS (20)  POLL_MS (500: notify.poll_ms)  CONNS (16)
#   LEVEL (P1)  SINK (c: bench/sink.c; python)  BENCH_PG_STATS=1: also the statements by total time
#   (pg_stat_statements)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ac_install_packages $AC_DEB_BUILD

RATE=${RATE:-1000}
RUN_S=${BENCH_SECONDS:-20}
POLL_MS=${POLL_MS:-500}
CONNS=${CONNS:-16}
LEVEL=${LEVEL:-P1}

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_loadgen ac_sink >/dev/null

TMP=$(mktemp -d /tmp/ac-notify-bench.XXXXXX)
chmod 755 "$TMP"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        ac_stop_pid "$pid"
    done
    ac_pg_stop "$TMP/pg"
    ac_redis_stop "$TMP/redis"
    rm -rf "$TMP"
}
trap cleanup EXIT

PG_PORT=$(ac_free_port)
REDIS_PORT=$(ac_free_port)
SINK_PORT=$(ac_free_port)
PORT=$(ac_free_port)
if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
    export AC_PG_OPTS="${AC_PG_OPTS:-} -c shared_preload_libraries=pg_stat_statements"
fi
ac_pg_start "$TMP/pg" "$PG_PORT"
ac_redis_start "$TMP/redis" "$REDIS_PORT"

# the sink: answers every POST 200 at once (a gateway that keeps up);
# SINK=python for the Python one the figures before 2026-12-07 were taken with
if [ "${SINK:-c}" = python ]; then
python3 - "$SINK_PORT" 2>"$TMP/sink.log" <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
class S(ThreadingHTTPServer):
    request_queue_size = 1024  # the default 5 would stall concurrent connects
    daemon_threads = True
S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
else
    ./build/bench/ac_sink "$SINK_PORT" 2>"$TMP/sink.log" &
fi
PIDS+=($!)

cat >"$TMP/config.json" <<JSON
{"escalation": {"policies": {"control": [], "data": [], "runtime": []}},
 "notify": {"poll_ms": $POLL_MS, "group_wait_s": {"P1": 0, "P2": 0, "P3": 0},
  "channels": {"hook": {"kind": "webhook", "url": "http://127.0.0.1:$SINK_PORT/hook"}},
  "levels": {"P1": ["hook"], "P2": ["hook"], "P3": ["hook"], "P4": []}}}
JSON
TOKEN=bench-token-0123456789abcdef
AC_ADMIN_TOKEN=$TOKEN AC_LISTEN=127.0.0.1:$PORT AC_LOG_LEVEL=${LOG_LEVEL:-warn} \
AC_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter" \
AC_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
    ./build/bench/alertcenter serve -c "$TMP/config.json" 2>"$TMP/server.log" &
PIDS+=($!)
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" | grep -q '"ok"' && break
    sleep 0.1
done

# one incident per alert: a route for everything with group_by ["..."]
api() { curl -sf -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" "$@"; }
CONTACT=$(api -d '{"name":"bench"}' "http://127.0.0.1:$PORT/v1/contacts" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
TEAM=$(api -d "{\"name\":\"bench\",\"chain\":[{\"targets\":[{\"contact\":\"$CONTACT\"}]}]}" \
    "http://127.0.0.1:$PORT/v1/teams" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -d "{\"name\":\"each\",\"matchers\":[],\"team\":\"$TEAM\",\"group_by\":[\"...\"]}" \
    "http://127.0.0.1:$PORT/v1/routes" >/dev/null

./build/bench/ac_loadgen --port "$PORT" --token "$TOKEN" --conns "$CONNS" --batch 1 --dup 0 \
    --level "$LEVEL" --rate "$RATE" --seconds "$RUN_S"
SQL="psql -h 127.0.0.1 -p $PG_PORT -U alertcenter -d alertcenter -qAt"
# let the outbox drain (bounded)
for _ in $(seq 1 300); do
    left=$($SQL -c "SELECT (SELECT count(*) FROM notify_intents WHERE planned_at IS NULL)
                         + (SELECT count(*) FROM notifications
                             WHERE status IN ('pending', 'sending'))")
    [ "$left" = 0 ] && break
    sleep 0.1
done
echo
echo "event received -> first notification accepted by the sink (new $LEVEL alerts, one incident each, at $RATE/s for ${RUN_S}s, poll_ms=$POLL_MS):"
$SQL -F ' ' <<'Q'
WITH first AS (SELECT n.incident_id, min(n.sent_at) AS sent FROM notifications n
                WHERE n.reason = 'open' AND n.status = 'sent' GROUP BY n.incident_id),
     lat AS (SELECT extract(epoch FROM f.sent - e.received_at) * 1000 AS ms
               FROM first f JOIN LATERAL (SELECT min(e.id) AS id FROM alerts a
                                           JOIN events e ON e.alert_id = a.id
                                          WHERE a.incident_id = f.incident_id) o ON true
               JOIN events e ON e.id = o.id)
SELECT 'alerts=' || (SELECT count(*) FROM alerts),
       'incidents=' || (SELECT count(*) FROM incidents),
       'notified=' || count(*),
       'p50_ms=' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       'p99_ms=' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
       'max_ms=' || round(max(ms)::numeric, 1)
  FROM lat
Q
echo "where the time goes (medians, ms): intent written -> planned, planned -> sent:"
$SQL -F ' ' <<'Q'
SELECT 'plan_ms=' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY
         extract(epoch FROM n.created_at - i.created_at) * 1000)::numeric, 1),
       'send_ms=' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY
         extract(epoch FROM n.sent_at - n.created_at) * 1000)::numeric, 1)
  FROM notifications n JOIN notify_intents i ON i.id = n.intent_id WHERE n.status = 'sent'
Q
if [ "${BENCH_PG_STATS:-0}" = 1 ]; then
    echo "statements by total time (ms total, calls, ms mean):"
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d alertcenter -qAt -F ' | ' \
        -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "
        SELECT round(total_exec_time)::bigint, calls, round(mean_exec_time::numeric, 3),
               left(regexp_replace(query, '\s+', ' ', 'g'), 110)
          FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12"
fi
grep -i "error" "$TMP/server.log" | head -5 || true
if [ -n "${KEEP_LOG:-}" ]; then
    cp "$TMP/server.log" "$KEEP_LOG"
fi
