#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One command from a fresh Debian 12 machine to a running server: installs what
# is missing, builds a release binary, starts a local PostgreSQL (initdb into
# .run/) and Redis, and serves on 127.0.0.1:8080 (migrations apply at start).
# Ctrl-C stops all of it. Ports: AC_RUN_PG_PORT (15432), AC_RUN_REDIS_PORT (16379),
# below the kernel's ephemeral range so that no outgoing connection holds them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# prometheus-alertmanager: amtool, for the tour (docs/cli.md)
ac_install_packages $AC_DEB_BUILD openssl jq prometheus-alertmanager

echo "== build (release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target alertcenter

RUN=$PWD/.run
PG_PORT=${AC_RUN_PG_PORT:-15432}
REDIS_PORT=${AC_RUN_REDIS_PORT:-16379}
mkdir -p "$RUN"
chmod 755 "$RUN"

SERVER_PID=
cleanup() {
    trap - EXIT INT TERM
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    ac_pg_stop "$RUN/pg"
    ac_redis_stop "$RUN/redis"
    echo "stopped"
}
trap cleanup EXIT INT TERM

echo "== PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"
ac_pg_start "$RUN/pg" "$PG_PORT"
ac_redis_start "$RUN/redis" "$REDIS_PORT"

if [ ! -s "$RUN/admin_token" ]; then
    (umask 077; openssl rand -hex 24 >"$RUN/admin_token")
fi
export AC_ADMIN_TOKEN=$(cat "$RUN/admin_token")
export AC_PG_DSN=${AC_PG_DSN:-"host=127.0.0.1 port=$PG_PORT dbname=alertcenter user=alertcenter"}
export AC_REDIS_URL=${AC_REDIS_URL:-"redis://127.0.0.1:$REDIS_PORT/0"}
export AC_LISTEN=${AC_LISTEN:-127.0.0.1:8080}

cat <<MSG
== serving on http://$AC_LISTEN  (admin token in .run/admin_token; Ctrl-C stops everything)
The console: open http://$AC_LISTEN/ and paste the token. The client: AC_TOKEN=\$(cat .run/admin_token) ./build/release/alertcenter ctl incidents list
Try:
  curl -s -H "Authorization: Bearer \$(cat .run/admin_token)" -H 'Content-Type: application/json' \\
       http://$AC_LISTEN/v1/events \\
       -d '{"source":"probe","type":"PodNotReady","title":"pod web-0 not ready","app_id":"shop"}'
  curl -s -H "Authorization: Bearer \$(cat .run/admin_token)" http://$AC_LISTEN/v1/alerts
MSG
./build/release/alertcenter serve ${AC_CONFIG:+-c "$AC_CONFIG"} &
SERVER_PID=$!
wait "$SERVER_PID" || true
SERVER_PID=
