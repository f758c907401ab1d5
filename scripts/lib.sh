#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers for scripts/run.sh, scripts/test.sh and bench/run.sh:
# installing Debian packages, and starting throwaway PostgreSQL and Redis
# servers on loopback. Source it; it defines functions only.

AC_DEB_BUILD="build-essential cmake pkg-config libmicrohttpd-dev libpq-dev libjansson-dev
  librdkafka-dev libhiredis-dev libcmocka-dev libcurl4-openssl-dev libssl-dev libre2-dev libgnutls28-dev
  postgresql redis-server curl python3 tzdata"

# ac_install_packages PKG... : apt-get install what is missing (apt-get update first).
ac_install_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages: ${missing[*]} (run as root to install them)" >&2
        return 1
    fi
    echo "installing: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# ac_stop_pid PID : SIGTERM, up to 20 s to exit, then SIGKILL (a process we started).
ac_stop_pid() {
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.2
    done
    kill -9 "$1" 2>/dev/null || true
}

# ac_free_port : prints a TCP port nobody listens on (loopback).
ac_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

ac_pg_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || { echo "PostgreSQL server binaries not found" >&2; return 1; }
    echo "$d"
}

# Runs a command as the PostgreSQL owner: initdb refuses root.
ac_pg_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# ac_pg_start DIR PORT : initdb into DIR (if new) and start on 127.0.0.1:PORT.
# AC_PG_FSYNC=off for throwaway test data; AC_PG_OPTS adds server options.
# Creates role and database "alertcenter" (trust auth on loopback only).
ac_pg_start() {
    local dir=$1 port=$2 bin
    bin=$(ac_pg_bindir) || return 1
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; chmod 700 "$dir"; fi
    if [ ! -f "$dir/PG_VERSION" ]; then
        ac_pg_as_owner "$bin/initdb" -D "$dir" -U postgres -A trust --no-sync -E UTF8 \
            --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 \
            || { cat "$dir.initdb.log" >&2; return 1; }
    fi
    ac_pg_as_owner "$bin/pg_ctl" -D "$dir" -w -t 60 -l "$dir/server.log" \
        -o "-h 127.0.0.1 -p $port -k '' -c max_connections=200 -c fsync=${AC_PG_FSYNC:-on} ${AC_PG_OPTS:-}" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE alertcenter LOGIN CREATEDB'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter') \gexec
SELECT 'CREATE ROLE alertcenter_app NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'alertcenter_app') \gexec
GRANT alertcenter_app TO alertcenter;
SELECT 'CREATE DATABASE alertcenter OWNER alertcenter'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'alertcenter') \gexec
SQL
}

# ac_pg_stop DIR
ac_pg_stop() {
    local bin
    bin=$(ac_pg_bindir) || return 0
    [ -f "$1/postmaster.pid" ] && ac_pg_as_owner "$bin/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1
    return 0
}

# ac_redis_start DIR PORT : starts redis-server on 127.0.0.1:PORT, no persistence.
ac_redis_start() {
    local dir=$1 port=$2
    mkdir -p "$dir"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
    for _ in $(seq 1 100); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.1
    done
    echo "redis-server did not start" >&2
    return 1
}

# ac_redis_stop DIR : stops the redis-server started with DIR (only that PID).
ac_redis_stop() {
    [ -f "$1/redis.pid" ] && kill "$(cat "$1/redis.pid")" 2>/dev/null
    return 0
}
