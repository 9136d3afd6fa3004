#!/usr/bin/env bash
# Runtime filters on TPC-H: PostgreSQL alone, pg_fusion with runtime filters, pg_fusion without.
#
#   benches/tpch/runtime_filters.sh [--scale SF] [--runs N] [--queries "3 5 7 8 10 12 21"]
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories and the TPC-H cluster of
# benches/tpch/bench.sh (port $PG_FUSION_BENCH_PORT or 55490; kept in $PG_FUSION_BENCH_DIR when it
# is set, loaded on first use). Per query: one warm-up per mode (their rows must be identical),
# then RUNS interleaved rounds (benches/lib.sh `measure`), then one run of each pg_fusion mode
# after pg_fusion_metrics_reset() for the rows the scan producers encoded (every leaf, every
# producer) and the rows the runtime filters kept from being encoded. Prints a Markdown table.
#
# Modes: `off`  pg_fusion.enable = off;
#        `rf`   pg_fusion.enable = on, runtime_filter_enable = on;
#        `norf` pg_fusion.enable = on, runtime_filter_enable = off;
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
queries="3 5 7 8 10 12 21"
while [ $# -gt 0 ]; do
    case $1 in
        --scale) scale=${2:-}; shift 2 || usage ;;
        --runs) runs=${2:-}; shift 2 || usage ;;
        --queries) queries=${2:-}; shift 2 || usage ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make install"

port=${PG_FUSION_BENCH_PORT:-55490}
tpch_cluster "$scale" bench-tpch
# benches/lib.sh's `time_ms` and `same_rows` read database postgres: this data is in tpch.
time_ms() {
    as_pg "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d tpch \
        -c "${setup[$1]}" -c '\timing on' -c '\o /dev/null' -c "$2" \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
same_rows() {
    local q=$1 ref="" out m
    for m in "${modes[@]}"; do
        out=$(pq -At -c "${setup[$m]}" -c "${sql[$q]}" | md5sum)
        [ -z "$ref" ] && ref=$out
        [ "$out" = "$ref" ] || die "$q: mode $m returns different rows"
    done
}

modes=(off rf norf)
declare -A setup=(
    [off]="SET pg_fusion.enable = off; SET max_parallel_workers_per_gather = 2"
    [rf]="SET pg_fusion.enable = on; SET pg_fusion.runtime_filter_enable = on; SET max_parallel_workers_per_gather = 2"
    [norf]="SET pg_fusion.enable = on; SET pg_fusion.runtime_filter_enable = off; SET max_parallel_workers_per_gather = 2"
)
declare -A sql=() med=()

# Rows the producers encoded, and rows the filters rejected, in one run of query $1 in mode $2.
encoded() {
    pq -At -c "SELECT pg_fusion_metrics_reset()" -c "${setup[$2]}" -c '\o /dev/null' -c "${sql[$1]}" -c '\o' \
        -c "SELECT string_agg(value::text, ' ' ORDER BY metric DESC) FROM pg_fusion_metrics()
            WHERE metric IN ('scan_rows_encoded_total', 'runtime_filter_probe_rows_rejected_total')" | tail -1
}

table="| query | PostgreSQL ms | runtime filters ms | without ms | rows encoded with / without | rejected by filters |
|---|---:|---:|---:|---:|---:|"
for n in $queries; do
    f=$(printf '%s/queries/q%02d.sql' "$here" "$n")
    [ -f "$f" ] || f=$(printf '%s/queries/Q%02d.sql' "$here" "$n")
    [ -f "$f" ] || die "no query file for Q$n"
    q=Q$n
    sql[$q]=$(cat "$f")
    log "$q"
    same_rows "$q"
    measure "$q"
    read -r with rejected <<<"$(encoded "$q" rf)"
    read -r without _ <<<"$(encoded "$q" norf)"
    table+=$'\n'"| $q | ${med[$q,off]} | ${med[$q,rf]} | ${med[$q,norf]} | $with / $without | $rejected |"
done
printf '%s\n' "$table"
