#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# CPU per event of this tree against an earlier commit, side by side on the
# same machine: checks REV out into a worktree, gives it this tree's load
# generator and profile script (both sides get the same load and the same
# measure), then alternates bench/profile.sh runs, RUNS pairs (A B, B A, ...),
# and prints every run and the medians - server, PostgreSQL, Redis and all, in
# CPU microseconds per event - with the change.
#   bench/ab.sh REV    RUNS (3)  and profile.sh's ARGS, BENCH_SECONDS (10),
#                      EVENT_BYTES, PG_OPTS
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
source bench/lib.sh
REV=${1:?usage: bench/ab.sh REV (a commit to compare this tree with)}
RUNS=${RUNS:-3}
git rev-parse --verify -q "$REV^{commit}" >/dev/null || { echo "ab.sh: no commit $REV" >&2; exit 2; }
WT=$(mktemp -d /tmp/ac-ab.XXXXXX)
ab_cleanup() {
    git worktree remove --force "$WT" >/dev/null 2>&1 || rm -rf "$WT"
    git worktree prune
}
trap ab_cleanup EXIT
git worktree add -q --detach "$WT" "$REV"
cp bench/profile.sh bench/lib.sh bench/loadgen.c "$WT/bench/"
cp scripts/lib.sh "$WT/scripts/"
declare -A DIR=([base]="$WT" [this]="$PWD") RES=()
echo "== $REV ($(git log -1 --format=%h "$REV")) against this tree ($(git log -1 --format=%h)$(
    git diff --quiet HEAD || echo ', with changes')), $RUNS pairs"
for run in $(seq 1 "$RUNS"); do
    order="base this"
    [ $((run % 2)) = 0 ] && order="this base"
    for side in $order; do
        line=$(cd "${DIR[$side]}" && PERF=0 WAITS=0 TOP=1 bash bench/profile.sh 2>&1 |
            grep -E '^(batch=|CPU us per event)' | tr '\n' ' ')
        # "CPU us per event: server S, PostgreSQL P, Redis R, all A; ..." as fields
        fields=$(printf '%s' "$line" | sed -n \
            's/.*events_per_s=\([0-9]*\).*server \([0-9.]*\), PostgreSQL \([0-9.]*\), Redis \([0-9.]*\), all \([0-9.]*\).*/ events_per_s=\1 server=\2 pg=\3 redis=\4 all=\5/p')
        [ -n "$fields" ] || { echo "ab.sh: run $run $side gave no figures: $line" >&2; exit 1; }
        echo "run $run $side:$fields"
        RES[$side]+="$fields"$'\n'
    done
done
echo
printf '| %-22s | %10s | %10s | %7s |\n' "median of $RUNS" "$(git log -1 --format=%h "$REV")" this change
printf '|%s|\n' "------------------------|------------|------------|---------"
for f in events_per_s server pg redis all; do
    a=$(bench_median "$f" "${RES[base]}")
    b=$(bench_median "$f" "${RES[this]}")
    printf '| %-22s | %10s | %10s | %6s%% |\n' "$f" "$a" "$b" \
        "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%+.1f", (b - a) / a * 100 }')"
done
echo "(server, pg, redis, all: CPU us per event; ARGS: ${ARGS:-the default of profile.sh})"
