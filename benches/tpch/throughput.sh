#!/usr/bin/env bash
# TPC-H throughput: several clients at once, each running the queries in its own order, with
# PostgreSQL alone, pg_fusion forced and pg_fusion.enable = auto.
#
#   benches/tpch/throughput.sh [--scale SF] [--clients "4 8"] [--rounds N] [--timeout SECS] [--queries "1 3 5"] [--modes "off on auto"]
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories and the TPC-H cluster of
# benches/tpch/bench.sh (port $PG_FUSION_BENCH_PORT or 55490; kept in $PG_FUSION_BENCH_DIR when it
# is set, loaded on first use), with pg_fusion's default settings: one background worker, its
# page pool and slots shared by every client (what is short waits in the admission queue).
#
# After one warm-up pass (every query once per mode, one client), for each number of clients C
# and each round, every mode runs once (the modes' order reversed
# in even rounds): C streams start together, stream s running every query once in an order of
# its own (a shuffle seeded by s: the same orders in every mode and round), each query in a
# fresh session. The throughput is the queries finished per hour of wall time from the first
# start to the last finish; p95 is the nearest-rank 95th percentile of a query's times over
# every stream and round. A query's rows must be the same in every stream, mode and round (an
# md5 of its output); a query that fails or hits the timeout (default 300 s) is counted as a
# failure and the script exits non-zero after printing the tables.
#
# The default query set is the 20 queries vanilla PostgreSQL finishes on SF 1 within 300 s
# (all but Q17 and Q20, where its plans run for hours): the issue's measure. Pass
# `--queries "$(seq 1 22)" --modes "on auto"` for all 22 through pg_fusion.
#
# Modes: `off`  pg_fusion.enable = off;
#        `on`   pg_fusion.enable = on;
#        `auto` pg_fusion.enable = auto (the settings' defaults);
#        all with max_parallel_workers_per_gather = 2 (the cluster's setting).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -z "${PG_CONFIG:-}" ] && [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
. "$top/scripts/lib.sh"
. "$top/benches/lib.sh"

usage() { sed -n '5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
scale=1
clients="4 8"
rounds=2
timeout_s=300
queries="1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 18 19 21 22"
modes=(off on auto)
while [ $# -gt 0 ]; do
    case $1 in
        --scale) scale=${2:-}; shift 2 || usage ;;
        --clients) clients=${2:-}; shift 2 || usage ;;
        --rounds) rounds=${2:-}; shift 2 || usage ;;
        --timeout) timeout_s=${2:-}; shift 2 || usage ;;
        --queries) queries=${2:-}; shift 2 || usage ;;
        --modes) read -ra modes <<<"${2:-}"; shift 2 || usage ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds"
for c in $clients; do [[ $c =~ ^[1-9][0-9]*$ ]] || die "--clients wants positive numbers"; done
for m in "${modes[@]}"; do [[ $m =~ ^(off|on|auto)$ ]] || die "unknown mode $m"; done
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make install"

port=${PG_FUSION_BENCH_PORT:-55490}
tpch_cluster "$scale" bench-tpch

declare -A setup=(
    [off]="SET pg_fusion.enable = off; SET statement_timeout = '${timeout_s}s'"
    [on]="SET pg_fusion.enable = on; SET statement_timeout = '${timeout_s}s'"
    [auto]="SET pg_fusion.enable = auto; SET statement_timeout = '${timeout_s}s'"
)
timeout_ms=$((timeout_s * 1000))
work=$(mktemp -d)
trap 'rm -rf "$work"; tpch_cluster_stop' EXIT

query_file() { printf '%s/queries/q%02d.sql' "$here" "$1"; }
for n in $queries; do [ -f "$(query_file "$n")" ] || die "no query file for Q$n"; done

# Stream $1's order of the queries: a shuffle seeded by the stream's number.
stream_order() {
    tr ' ' '\n' <<<"$queries" | grep . | awk -v seed="$1" 'BEGIN { srand(seed + 1) } { print rand(), $1 }' \
        | sort -k1,1g | awk '{ printf "%s ", $2 }'
}

# One stream: mode $1, stream $2, its lines "query ms md5-or-status" into file $3.
run_stream() {
    local n t rows
    for n in $(stream_order "$2"); do
        read -r t rows < <(tpch_run_ms "$1" "$(query_file "$n")")
        echo "$n $t $rows" >>"$3"
    done
}

now_ms() { date +%s%3N; }

# Warm-up: every query once per mode, one client (the buffers and the page cache filled as they
# would be in a long-running server; the rows join the comparison below).
for m in "${modes[@]}"; do
    log "warm-up, $m"
    run_stream "$m" 0 "$work/warmup.$m"
done

declare -A elapsed=() finished=() failed=()
for c in $clients; do
    for r in $(seq 1 "$rounds"); do
        order=("${modes[@]}")
        if [ $((r % 2)) = 0 ]; then
            for ((i = 0, j = ${#modes[@]} - 1; i < ${#modes[@]}; i++, j--)); do order[i]=${modes[j]}; done
        fi
        for m in "${order[@]}"; do
            start=$(now_ms)
            for s in $(seq 1 "$c"); do
                run_stream "$m" "$s" "$work/$c.$m.$r.$s" &
            done
            wait
            t=$(($(now_ms) - start))
            elapsed[$c,$m]="${elapsed[$c,$m]:-} $t"
            cat "$work/$c.$m.$r".* >>"$work/$c.$m"
            log "$c clients, round $r, $m: $(sec "$t") s"
        done
    done
    for m in "${modes[@]}"; do
        finished[$c,$m]=$(awk '$3 != "timeout" && $3 != "error"' "$work/$c.$m" | wc -l)
        failed[$c,$m]=$(awk '$3 == "timeout" || $3 == "error"' "$work/$c.$m" | wc -l)
    done
done

# Every finished run of a query returned the same rows.
mismatch=0
for n in $queries; do
    k=$(cat "$work"/*.* 2>/dev/null | awk -v n="$n" '$1 == n && $3 != "timeout" && $3 != "error" { print $3 }' | sort -u | wc -l)
    if [ "$k" -gt 1 ]; then
        log "Q$n returned different rows in different runs"
        mismatch=1
    fi
done

# Queries per hour: finished queries over the summed wall time of the rounds.
qph() {
    local total
    total=$(tr ' ' '\n' <<<"${elapsed[$1,$2]}" | grep . | awk '{ s += $1 } END { print s }')
    awk -v q="${finished[$1,$2]}" -v ms="$total" 'BEGIN { printf "%.0f", q * 3600000 / ms }'
}
p95() {
    awk -v n="$3" '$1 == n && $3 != "error" { print $2 }' "$work/$1.$2" | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR == 0) { print "-"; exit } k = int(0.95 * NR); if (k < 0.95 * NR) k++; printf "%.3f", v[k] / 1000 }'
}

nq=$(wc -w <<<"$queries")
echo
echo "Throughput, SF $scale, $nq queries per stream, $rounds round(s), timeout $timeout_s s:"
echo
echo "| clients | mode | wall time per round (median) | queries per hour | vs PostgreSQL | failed |"
echo "|---:|---|---:|---:|---:|---:|"
for c in $clients; do
    for m in "${modes[@]}"; do
        w=$(tr ' ' '\n' <<<"${elapsed[$c,$m]}" | grep . | median)
        vs="-"
        if [ -n "${elapsed[$c,off]:-}" ]; then vs="$(ratio "$(qph "$c" "$m")" "$(qph "$c" off)")x"; fi
        echo "| $c | $m | $(sec "$w") s | $(qph "$c" "$m") | $vs | ${failed[$c,$m]} |"
    done
done
for c in $clients; do
    echo
    echo "p95 per query with $c clients (seconds):"
    echo
    printf '| query |'; for m in "${modes[@]}"; do printf ' %s |' "$m"; done; echo
    printf '|---|'; for m in "${modes[@]}"; do printf -- '---:|'; done; echo
    for n in $queries; do
        printf '| Q%02d |' "$n"
        for m in "${modes[@]}"; do printf ' %s |' "$(p95 "$c" "$m" "$n")"; done
        echo
    done
done

fails=$(cat "$work"/warmup.* | awk '$3 == "timeout" || $3 == "error"' | wc -l)
for c in $clients; do for m in "${modes[@]}"; do fails=$((fails + failed[$c,$m])); done; done
[ "$mismatch" = 0 ] || die "some query returned different rows"
[ "$fails" = 0 ] || die "$fails query run(s) failed or hit the timeout"
