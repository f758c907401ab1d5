# SPDX-License-Identifier: Apache-2.0
# Shared by the benchmark scripts (source after scripts/lib.sh).

# bench_cpu_ticks PID... : user+system clock ticks of the processes and their
# reaped children (PostgreSQL's exited backends count in the postmaster's)
bench_cpu_ticks() {
    local t=0 p f
    for p in "$@"; do
        [ -r "/proc/$p/stat" ] || continue
        read -ra f < <(sed 's/^.*) //' "/proc/$p/stat")
        t=$((t + f[11] + f[12] + f[13] + f[14]))
    done
    echo "$t"
}

# bench_pg_pids PGDIR : the postmaster and its children (from /proc: procps is
# not in the base image)
bench_pg_pids() {
    local pm
    pm=$(head -1 "$1/postmaster.pid")
    echo "$pm"
    awk -v pm="$pm" '{sub(/^.*\) /, ""); if ($2 == pm) print FILENAME}' /proc/[0-9]*/stat \
        2>/dev/null | cut -d/ -f3
}

# bench_median FIELD LINES : the median of FIELD=value over the lines
bench_median() {
    printf '%s' "$2" | sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | sort -g |
        awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

# bench_rss_kb PID : resident set size
bench_rss_kb() {
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}

# bench_services_start NAME [PG_OPTS] : a fresh folder TMP (/tmp/ac-NAME.*;
# in /dev/shm with BENCH_TMPFS=1), PostgreSQL (fsync on, checkpoints kept out
# of runs, then PG_OPTS) on PG_PORT and Redis on REDIS_PORT, all stopped and
# removed at exit with every pid in BENCH_PIDS (the script adds its servers
# there; a script with more to stop traps its own cleanup, ending with
# bench_cleanup).
BENCH_PIDS=()
bench_cleanup() {
    local pid
    for pid in "${BENCH_PIDS[@]}"; do
        ac_stop_pid "$pid"
    done
    ac_pg_stop "$TMP/pg"
    ac_redis_stop "$TMP/redis"
    rm -rf "$TMP"
}
bench_services_start() {
    local base=/tmp
    [ "${BENCH_TMPFS:-0}" = 1 ] && base=/dev/shm
    TMP=$(mktemp -d "$base/ac-$1.XXXXXX")
    chmod 755 "$TMP"
    trap bench_cleanup EXIT
    PG_PORT=$(ac_free_port)
    REDIS_PORT=$(ac_free_port)
    AC_PG_OPTS="-c max_wal_size=32GB -c checkpoint_timeout=1h ${2:-}" ac_pg_start "$TMP/pg" "$PG_PORT"
    ac_redis_start "$TMP/redis" "$REDIS_PORT"
}
