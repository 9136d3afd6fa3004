#!/usr/bin/env bash
# `pg_fusion.enable = auto` on TPC-H: PostgreSQL alone, pg_fusion forced, and auto, side by side.
#
#   benches/tpch/auto.sh [--scale SF] [--runs N] [--timeout SECS] [--queries "1 3 5"]
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories and the TPC-H cluster of
# benches/tpch/bench.sh (port $PG_FUSION_BENCH_PORT or 55490; kept in $PG_FUSION_BENCH_DIR when it
# is set, loaded on first use). Per query: the engine auto chooses (its EXPLAIN's `Engine` line),
# one warm-up per mode (their rows must be identical), then RUNS interleaved rounds, each in a
# fresh session. A statement that hits the timeout (default 300 s) counts at the timeout, and
# that mode's later runs of the query are skipped. Prints a Markdown table: medians, the ratios
# to PostgreSQL, and the geometric means over all queries and over those PostgreSQL finishes.
#
# Modes: `off`  pg_fusion.enable = off;
#        `on`   pg_fusion.enable = on;
#        `auto` pg_fusion.enable = auto (the settings' defaults);
#        all with max_parallel_workers_per_gather = 2.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -z "${PG_CONFIG:-}" ] && [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
. "$top/scripts/lib.sh"
. "$top/benches/lib.sh"

usage() { sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
scale=1
runs=3
timeout_s=300
queries="$(seq 1 22)"
while [ $# -gt 0 ]; do
    case $1 in
        --scale) scale=${2:-}; shift 2 || usage ;;
        --runs) runs=${2:-}; shift 2 || usage ;;
        --timeout) timeout_s=${2:-}; shift 2 || usage ;;
        --queries) queries=${2:-}; shift 2 || usage ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds"
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make install"

port=${PG_FUSION_BENCH_PORT:-55490}
tpch_cluster "$scale" bench-tpch

modes=(off on auto)
declare -A setup=(
    [off]="SET pg_fusion.enable = off; SET statement_timeout = '${timeout_s}s'"
    [on]="SET pg_fusion.enable = on; SET statement_timeout = '${timeout_s}s'"
    [auto]="SET pg_fusion.enable = auto; SET statement_timeout = '${timeout_s}s'"
)
timeout_ms=$((timeout_s * 1000))

declare -A med=() engine=()
for n in $queries; do
    f=$(printf '%s/queries/q%02d.sql' "$here" "$n")
    q=$(printf 'Q%02d' "$n")
    engine[$q]=$( (echo "${setup[auto]};"; echo "EXPLAIN"; cat "$f") | pq -At 2>&1 | sed -n 's/^ *Engine: \([A-Za-z]*\).*/\1/p' | head -1)
    log "$q: auto chooses ${engine[$q]:-?}"
    declare -A times=() done_mode=()
    ref=""
    for m in "${modes[@]}"; do
        read -r t rows_md5 < <(tpch_run_ms "$m" "$f")
        [ "$rows_md5" = error ] && die "$q failed in mode $m"
        if [ "$rows_md5" = timeout ]; then
            done_mode[$m]=1
            times[$m]=$t
            continue
        fi
        [ -z "$ref" ] && ref=$rows_md5
        [ "$rows_md5" = "$ref" ] || die "$q: mode $m returns different rows"
    done
    for r in $(seq 1 "$runs"); do
        order=("${modes[@]}")
        [ $((r % 2)) = 0 ] && order=(auto on off)
        for m in "${order[@]}"; do
            [ -n "${done_mode[$m]:-}" ] && continue
            read -r t rows_md5 < <(tpch_run_ms "$m" "$f")
            [ "$rows_md5" = error ] && die "$q failed in mode $m"
            times[$m]="${times[$m]:-} $t"
            [ "$rows_md5" = timeout ] && done_mode[$m]=1
        done
    done
    for m in "${modes[@]}"; do
        med[$q,$m]=$(echo "${times[$m]}" | tr ' ' '\n' | grep . | median)
    done
    log "$q: off ${med[$q,off]} ms, on ${med[$q,on]} ms, auto ${med[$q,auto]} ms"
    unset times done_mode
done

echo
echo "| query | auto chose | PostgreSQL | pg_fusion on | auto | on / PostgreSQL | auto / PostgreSQL |"
echo "|---|---|---:|---:|---:|---:|---:|"
for n in $queries; do
    q=$(printf 'Q%02d' "$n")
    fmt() { [ "$1" = "$timeout_ms" ] && echo "> ${timeout_s} s (timeout)" || echo "$(sec "$1") s"; }
    echo "| $q | ${engine[$q]} | $(fmt "${med[$q,off]}") | $(fmt "${med[$q,on]}") | $(fmt "${med[$q,auto]}") | $(ratio "${med[$q,off]}" "${med[$q,on]}")x | $(ratio "${med[$q,off]}" "${med[$q,auto]}")x |"
done
geo() {
    local m=$1 all=$2
    for n in $queries; do
        q=$(printf 'Q%02d' "$n")
        [ "$all" = 1 ] || [ "${med[$q,off]}" != "$timeout_ms" ] || continue
        echo "${med[$q,off]} ${med[$q,$m]}"
    done | awk '{ s += log($1 / $2); k++ } END { printf "%.2f", exp(s / k) }'
}
echo
echo "Geometric mean of the speedups: all queries (PostgreSQL's timeouts at $timeout_s s) on $(geo on 1)x,"
echo "auto $(geo auto 1)x; the queries PostgreSQL finishes: on $(geo on 0)x, auto $(geo auto 0)x."
