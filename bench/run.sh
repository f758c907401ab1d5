#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingest benchmark: builds a release binary, starts PostgreSQL (fsync on: the
# durability the server promises) and Redis on free loopback ports, serves, and
# runs ac_loadgen for batch sizes 1 and 100 at each duplicate ratio in DUPS,
# interleaved, RUNS times each; prints every run and the medians. Everything is
# bounded by BENCH_SECONDS.
#   BENCH_SECONDS (8)  RUNS (3)  CONNS_1 (32)  CONNS_100 (8)  DUPS ("0.1 0.9")
#   BENCH_PG_LOG_MS: also report the statements slower than this many ms
#   BENCH_CPU=1: also report CPU time per event of the server, PostgreSQL (all,
#     and the variant's own client backends) and
#     Redis (runs are sequential, so each process's CPU belongs to the run)
#   BENCH_TMPFS=1: PostgreSQL's data in /dev/shm (fsync stays on but costs
#     nothing): measures the server and PostgreSQL's CPU, not the disk
#   BENCH_BASELINE=<git revision>: also build that revision and run it side by
#     side (its own database and Redis prefix on the same PostgreSQL and
#     Redis), interleaved run by run - baseline first in odd runs, current
#     first in even ones, so neither always follows the other's writes - and
#     print the ratio of the medians and the median of the runs' own ratios
# Checkpoints are kept out of the runs (max_wal_size, checkpoint_timeout): one
# landing in a single 8 s run would cost that run alone a burst of full-page
# writes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
ac_install_packages $AC_DEB_BUILD

SECONDS_PER_RUN=${BENCH_SECONDS:-8}
RUNS=${RUNS:-3}
CONNS_1=${CONNS_1:-32}
CONNS_100=${CONNS_100:-8}
DUPS=${DUPS:-0.1 0.9}

cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
cmake --build build/bench -j"$(nproc)" --target alertcenter ac_loadgen >/dev/null
VARIANTS=current
declare -A BIN=([current]=./build/bench/alertcenter)
if [ -n "${BENCH_BASELINE:-}" ]; then
    # A build folder per revision, made from scratch: git archive gives the
    # files their commit's time, so a folder built from another revision
    # would look newer than them and keep its old objects.
    BASE_REV=$(git rev-parse --short "$BENCH_BASELINE")
    BASE_SRC=build/bench-baseline-$BASE_REV-src
    BASE_BUILD=build/bench-baseline-$BASE_REV
    rm -rf "$BASE_SRC" "$BASE_BUILD"
    mkdir -p "$BASE_SRC"
    git archive "$BENCH_BASELINE" | tar -x -C "$BASE_SRC"
    cmake -S "$BASE_SRC" -B "$BASE_BUILD" -DCMAKE_BUILD_TYPE=Release -DAC_TESTS=OFF >/dev/null
    cmake --build "$BASE_BUILD" -j"$(nproc)" --target alertcenter >/dev/null
    BIN[baseline]=./$BASE_BUILD/alertcenter
    VARIANTS="baseline current"
fi

STORAGE="PostgreSQL data on disk, fsync on"
[ "${BENCH_TMPFS:-0}" = 1 ] && STORAGE="PostgreSQL data in /dev/shm"
bench_services_start bench "${BENCH_PG_LOG_MS:+-c log_min_duration_statement=$BENCH_PG_LOG_MS}"
TOKEN=bench-token-0123456789abcdef
LG=./build/bench/ac_loadgen
declare -A PORT
for v in $VARIANTS; do
    db=alertcenter
    if [ "$v" != current ]; then
        db=alertcenter_$v
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt \
            -c "CREATE DATABASE $db OWNER alertcenter" >/dev/null
    fi
    PORT[$v]=$(ac_free_port)
    AC_ADMIN_TOKEN=$TOKEN AC_LISTEN=127.0.0.1:${PORT[$v]} AC_LOG_LEVEL=warn \
    AC_PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=$db user=alertcenter" \
    AC_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" AC_REDIS_PREFIX="$v:" \
        "${BIN[$v]}" serve 2>"$TMP/server-$v.log" &
    BENCH_PIDS+=($!)
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:${PORT[$v]}/healthz" | grep -q '"ok"' && break
        sleep 0.1
    done
    # warm-up: connections, plans, caches
    $LG --port "${PORT[$v]}" --token "$TOKEN" --conns 8 --batch 10 --seconds 2 >/dev/null
done

# every run starts after the warm-ups' writes are checkpointed
psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt -c CHECKPOINT >/dev/null
cpu_ticks() { bench_cpu_ticks "$@"; }
pg_pids() { bench_pg_pids "$TMP/pg"; }
# the client backends of one variant's database: its server's own statements
db_pids() { # variant
    local db=alertcenter
    [ "$1" != current ] && db=alertcenter_$1
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qAt -c \
        "SELECT pid FROM pg_stat_activity WHERE datname = '$db' AND backend_type = 'client backend'"
}
declare -A SRVPID
i=0
for v in $VARIANTS; do SRVPID[$v]=${BENCH_PIDS[$i]}; i=$((i + 1)); done
REDIS_PID=$(cat "$TMP/redis/redis.pid")
HZ=$(getconf CLK_TCK)
declare -A CPU
declare -A RES
for run in $(seq 1 "$RUNS"); do
    for dup in $DUPS; do
        for batch in 1 100; do
            conns=$CONNS_1
            [ "$batch" = 100 ] && conns=$CONNS_100
            order=$VARIANTS
            if [ $((run % 2)) = 0 ]; then
                order=$(printf '%s\n' $VARIANTS | tac | tr '\n' ' ')
            fi
            for v in $order; do
                if [ "${BENCH_CPU:-0}" = 1 ]; then
                    dbp=$(db_pids "$v")
                    c0=("$(cpu_ticks "${SRVPID[$v]}")" "$(cpu_ticks $(pg_pids))" \
                        "$(cpu_ticks "$REDIS_PID")" "$(cpu_ticks $dbp)")
                fi
                out=$($LG --port "${PORT[$v]}" --token "$TOKEN" --conns "$conns" \
                      --batch "$batch" --dup "$dup" --seconds "$SECONDS_PER_RUN")
                if [ "${BENCH_CPU:-0}" = 1 ]; then
                    c1=("$(cpu_ticks "${SRVPID[$v]}")" "$(cpu_ticks $(pg_pids))" \
                        "$(cpu_ticks "$REDIS_PID")" "$(cpu_ticks $dbp)")
                    ev=$(printf '%s' "$out" | sed -n 's/.* events=\([0-9]*\).*/\1/p')
                    out+=$(awk -v hz="$HZ" -v ev="${ev:-0}" -v s="$((c1[0] - c0[0]))" \
                        -v p="$((c1[1] - c0[1]))" -v r="$((c1[2] - c0[2]))" -v d="$((c1[3] - c0[3]))" 'BEGIN {
                        if (ev > 0) printf " srv_us=%.1f pg_us=%.1f pgown_us=%.1f redis_us=%.1f",
                            s / hz / ev * 1e6, p / hz / ev * 1e6, d / hz / ev * 1e6,
                            r / hz / ev * 1e6 }')
                fi
                echo "run $run $v: $out"
                RES["$v/$batch/$dup"]+="$out"$'\n'
            done
        done
    done
done

median() { bench_median "$@"; }
# The median of the runs' own ratios (run k of current over run k of the
# baseline): pairs made side by side, so a slower stretch of the shared
# machine moves both sides of a pair rather than one side's median.
paired() { # current lines, baseline lines
    paste <(printf '%s' "$1" | sed -n 's/.* events_per_s=\([0-9.]*\).*/\1/p') \
        <(printf '%s' "$2" | sed -n 's/.* events_per_s=\([0-9.]*\).*/\1/p') |
        awk '{print ($1 / $2 - 1) * 100}' | sort -g |
        awk '{a[NR]=$1} END {printf "%+.1f%%", a[int((NR+1)/2)]}'
}
echo
echo "medians of $RUNS runs (${SECONDS_PER_RUN}s each, $STORAGE):"
printf '%-9s %-7s %-6s %-6s %12s %10s %10s %8s %8s\n' variant batch conns dup events/s p50_ms \
    p99_ms vs_base paired
for dup in $DUPS; do
    for batch in 1 100; do
        conns=$CONNS_1
        [ "$batch" = 100 ] && conns=$CONNS_100
        for v in $VARIANTS; do
            lines=${RES["$v/$batch/$dup"]}
            eps=$(median events_per_s "$lines")
            ratio=
            pair=
            if [ "$v" = current ] && [ -n "${RES["baseline/$batch/$dup"]:-}" ]; then
                base=$(median events_per_s "${RES["baseline/$batch/$dup"]}")
                ratio=$(awk -v a="$eps" -v b="$base" 'BEGIN {printf "%+.1f%%", (a / b - 1) * 100}')
                pair=$(paired "$lines" "${RES["baseline/$batch/$dup"]}")
            fi
            printf '%-9s %-7s %-6s %-6s %12s %10s %10s %8s %8s\n' "$v" "$batch" "$conns" "$dup" \
                "$eps" "$(median p50_ms "$lines")" "$(median p99_ms "$lines")" "$ratio" "$pair"
        done
    done
done
if [ "${BENCH_CPU:-0}" = 1 ]; then
    echo
    echo "CPU microseconds per event (medians): server, all of PostgreSQL, the"
    echo "variant's own PostgreSQL backends, Redis"
    for dup in $DUPS; do
        for batch in 1 100; do
            for v in $VARIANTS; do
                lines=${RES["$v/$batch/$dup"]}
                printf '%-9s batch %-4s dup %-4s srv %7s  pg %7s  own %7s  redis %6s\n' \
                    "$v" "$batch" "$dup" "$(median srv_us "$lines")" \
                    "$(median pg_us "$lines")" "$(median pgown_us "$lines")" \
                    "$(median redis_us "$lines")"
            done
        done
    done
fi
for v in $VARIANTS; do
    grep -i "error" "$TMP/server-$v.log" | head -5 || true
done
if [ -n "${BENCH_PG_LOG_MS:-}" ]; then
    echo
    echo "statements slower than ${BENCH_PG_LOG_MS} ms (count, average ms):"
    # "duration: 12.3 ms  execute ac_open: SELECT ..." or "execute <unnamed>: COMMIT"
    sed -n 's/.*duration: \([0-9.]*\) ms  \(execute <unnamed>: [A-Z]*\|execute [a-z_]*\|statement: [A-Za-z]*\).*/\1 \2/p' \
        "$TMP/pg/server.log" |
        awk '{ms=$1; $1=""; s[$0]+=ms; n[$0]++} END {for (k in s) printf "  %-30s %6d %8.1f\n", k, n[k], s[k]/n[k]}'
fi
