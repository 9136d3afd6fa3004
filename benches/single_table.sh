#!/usr/bin/env bash
# The first benchmark: single-table analytics over a wide table, pg_fusion on vs off.
#
#   benches/single_table.sh [ROWS [RUNS]]      (defaults: 10000000 rows, 5 timed runs per mode)
#   make bench                                 builds the fully optimised extension, then runs this
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories; starts its own scratch cluster
# (data directory under /tmp, port $PG_FUSION_BENCH_PORT or 55480, never the system cluster),
# loads `bench_rows`, and for every query runs the modes interleaved (one warm-up each, then RUNS
# rounds whose order alternates), checks that every mode returns the same rows, and writes the
# medians into the generated block of docs/benchmarks.md (PG_FUSION_BENCH_DOC to write elsewhere).
#
# Modes: `off`  PostgreSQL alone, max_parallel_workers_per_gather = 2 (its default);
#        `off1` PostgreSQL alone, max_parallel_workers_per_gather = 0 (one process);
#        `on`   pg_fusion.enable = on (its scan producers: the leader and up to
#               max_parallel_workers_per_gather = 2 parallel workers, as `off`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

rows=${1:-10000000}
runs=${2:-5}
port=${PG_FUSION_BENCH_PORT:-55480}
doc=${PG_FUSION_BENCH_DOC:-$top/docs/benchmarks.md}

ensure_packages
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make bench (or make install)"

dir=$(pg_owned_tmpdir bench)
cleanup() { stop_cluster "$dir"; rm -rf "$dir"; }
trap cleanup EXIT

log "scratch cluster in $dir, port $port"
init_cluster "$dir" "$port" <<'CONF'
shared_buffers = '4GB'
jit = off
max_parallel_workers_per_gather = 2
max_worker_processes = 8
work_mem = '256MB'
CONF
start_cluster "$dir" || { cat "$dir/server.log"; die "server did not start"; }
psql_at "$dir" "$port" -c "CREATE EXTENSION pg_fusion" >/dev/null

# Values chosen so that every aggregate is exact in any summation order (float8 prices are
# multiples of 0.25): the modes must agree to the last digit.
log "loading $rows rows into bench_rows"
t0=$SECONDS
psql_at "$dir" "$port" <<SQL
CREATE TABLE bench_rows (
    id     int8,
    k      int4,
    qty    int4,
    price  float8,
    amount numeric(12,2),
    tag    text,
    day    date
);
INSERT INTO bench_rows
SELECT g,
       (g % 1000)::int4,
       ((g * 7919) % 100)::int4,
       ((g * 104729) % 10000) / 4.0,
       ((g * 7907) % 1000000) / 100.0,
       'tag-' || (g % 97),
       DATE '2020-01-01' + (g % 1461)::int
FROM generate_series(1::int8, $rows) g;
VACUUM (FREEZE, ANALYZE) bench_rows;
SQL
load_s=$((SECONDS - t0))
table_size=$(psql_at "$dir" "$port" -Atc "SELECT pg_size_pretty(pg_table_size('bench_rows'))")

names=(grouped filtered scan_all)
declare -A sql=(
    [grouped]="SELECT k, count(*), sum(qty), avg(price), sum(amount), min(day), max(day) FROM bench_rows GROUP BY k ORDER BY k"
    [filtered]="SELECT count(*), sum(amount), avg(qty), max(price) FROM bench_rows WHERE day >= DATE '2023-01-01' AND qty < 50"
    [scan_all]="SELECT count(id), count(k), count(qty), count(price), count(amount), count(tag), count(day) FROM bench_rows"
)
modes=(off off1 on)
declare -A setup=(
    [off]="SET pg_fusion.enable = off"
    [off1]="SET pg_fusion.enable = off; SET max_parallel_workers_per_gather = 0"
    [on]="SET pg_fusion.enable = on"
)

# Milliseconds of one execution of $2 in mode $1 (a fresh connection; \timing measures only the
# statement, from psql's side).
time_ms() {
    as_pg "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres \
        -c "${setup[$1]}" -c '\timing on' -c '\o /dev/null' -c "$2" \
        | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}

metric() { psql_at "$dir" "$port" -Atc "SELECT value FROM pg_fusion_metrics() WHERE metric = '$1'"; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A med
for q in "${names[@]}"; do
    log "$q: checking that every mode returns the same rows"
    ref=""
    for m in "${modes[@]}"; do
        out=$(psql_at "$dir" "$port" -At -c "${setup[$m]}" -c "${sql[$q]}" | md5sum)
        [ -z "$ref" ] && ref=$out
        [ "$out" = "$ref" ] || die "$q: mode $m returns different rows"
    done
    for m in "${modes[@]}"; do time_ms "$m" "${sql[$q]}" >/dev/null; done   # warm-up
    declare -A times=()
    for r in $(seq 1 "$runs"); do
        order=("${modes[@]}")
        [ $((r % 2)) = 0 ] && order=(on off1 off)
        for m in "${order[@]}"; do
            t=$(time_ms "$m" "${sql[$q]}")
            times[$m]="${times[$m]:-} $t"
        done
        printf '  run %d/%d:%s\n' "$r" "$runs" "$(for m in "${modes[@]}"; do printf ' %s %s' "$m" "$(echo "${times[$m]}" | awk '{ print $NF }')"; done)" >&2
    done
    for m in "${modes[@]}"; do
        med[$q,$m]=$(echo "${times[$m]}" | tr ' ' '\n' | grep . | median)
    done
    unset times
done

# The scan boundary on its own: one pg_fusion execution of scan_all, read from the metrics.
rows0=$(metric scan_rows_encoded_total); fill0=$(metric scan_page_fill_ns)
wait0=$(metric page_acquire_wait_ns); bytes0=$(metric scan_bytes_sent_total); pages0=$(metric scan_pages_sent_total)
time_ms on "${sql[scan_all]}" >/dev/null
enc_rows=$(( $(metric scan_rows_encoded_total) - rows0 ))
fill_ns=$(( $(metric scan_page_fill_ns) - fill0 ))
wait_ns=$(( $(metric page_acquire_wait_ns) - wait0 ))
sent_bytes=$(( $(metric scan_bytes_sent_total) - bytes0 ))
sent_pages=$(( $(metric scan_pages_sent_total) - pages0 ))

rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.1f", n / (ms / 1000) / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
sec() { awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }'; }

block=$(
    echo "<!-- generated by benches/single_table.sh: begin -->"
    echo "Run on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
    echo "$("$PG_CONFIG" --version), \`bench_rows\`: $rows rows, $table_size (loaded in ${load_s} s)."
    echo "Settings: shared_buffers 4GB, jit off, work_mem 256MB, pg_fusion defaults (page_size 64 kB,"
    echo "page_count 256, worker_threads = cores). Medians of $runs interleaved runs after one warm-up each;"
    echo "every mode returned identical rows."
    echo
    echo "| query | off (2 parallel workers) | off1 (no parallel workers) | on (pg_fusion) | speedup over off | speedup over off1 |"
    echo "|---|---:|---:|---:|---:|---:|"
    for q in "${names[@]}"; do
        echo "| \`$q\` | $(sec "${med[$q,off]}") s | $(sec "${med[$q,off1]}") s | $(sec "${med[$q,on]}") s | $(ratio "${med[$q,off]}" "${med[$q,on]}")x | $(ratio "${med[$q,off1]}" "${med[$q,on]}")x |"
    done
    echo
    echo "Scan boundary (\`scan_all\`: all seven columns cross, DataFusion only counts):"
    echo
    echo "| figure | rows/s |"
    echo "|---|---:|"
    echo "| PostgreSQL reads and deforms them, 1 process (\`off1\`) | $(rate "$rows" "${med[scan_all,off1]}") M |"
    echo "| PostgreSQL reads and deforms them, 3 processes (\`off\`) | $(rate "$rows" "${med[scan_all,off]}") M |"
    echo "| pg_fusion end to end, 3 producers (\`on\`: read, deform, encode, transport, count) | $(rate "$rows" "${med[scan_all,on]}") M |"
    echo "| pg_fusion's producers while a page is open, per second of page-open time summed over them (read, deform, encode; \`scan_page_fill_ns\`) | $(rate "$enc_rows" "$(awk -v ns="$fill_ns" 'BEGIN { print ns / 1e6 }')") M |"
    echo
    echo "One \`on\` execution of \`scan_all\` encoded $enc_rows rows into $sent_pages pages"
    echo "of $((sent_bytes / (sent_pages > 0 ? sent_pages : 1) / 1024)) kB ($(awk -v p="$sent_pages" -v r="$enc_rows" 'BEGIN { printf "%.0f", r / (p > 0 ? p : 1) }') rows per page), had a page open for $(awk -v ns="$fill_ns" 'BEGIN { printf "%.0f", ns / 1e6 }') ms and spent"
    echo "$(awk -v ns="$wait_ns" 'BEGIN { printf "%.0f", ns / 1e6 }') ms waiting for free pages (backpressure from the worker)."
    echo "<!-- generated by benches/single_table.sh: end -->"
)
printf '%s\n' "$block"

if [ -f "$doc" ] && grep -q 'generated by benches/single_table.sh: begin' "$doc"; then
    tmp=$(mktemp)
    awk -v block="$block" '
        /generated by benches\/single_table.sh: begin/ { print block; skip = 1; next }
        /generated by benches\/single_table.sh: end/ { skip = 0; next }
        !skip { print }' "$doc" >"$tmp"
    cat "$tmp" >"$doc"
    rm -f "$tmp"
    log "results written to $doc"
else
    log "no generated block in $doc: results printed above only"
fi
