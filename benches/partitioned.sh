#!/usr/bin/env bash
# A fact table partitioned by month (24 partitions), aggregated and joined with pruning,
# pg_fusion on and auto vs off.
#
#   benches/partitioned.sh [ROWS [RUNS]]      (defaults: 10000000 rows, 5 timed runs per mode)
#   make bench-partitioned                    builds the fully optimised extension, then runs this
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories; starts its own scratch cluster
# (data directory under /tmp, port $PG_FUSION_BENCH_PORT or 55481, never the system cluster),
# loads `sales` (range-partitioned by `day`, one partition per month of 2023 and 2024) with two
# dimension tables, and for every query runs the modes interleaved (one warm-up each, then RUNS
# rounds whose order alternates), checks that both modes return the same rows and that EXPLAIN
# names only the partitions the query's range keeps (plan-time pruning; run-time pruning for the
# prepared statement's generic plan, `Subplans Removed`), and writes the medians into the
# generated block of docs/benchmarks.md (PG_FUSION_BENCH_DOC to write elsewhere).
#
# Modes: `off`  PostgreSQL alone, max_parallel_workers_per_gather = 2 (its default);
#        `on`   pg_fusion.enable = on (its scan producers: the leader and up to 2 parallel
#               workers, sharing the partitions' blocks);
#        `auto` pg_fusion.enable = auto (the settings' defaults: the engine whose estimate is
#               lower; the table names the one EXPLAIN shows).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
. "$top/benches/lib.sh"

rows=${1:-10000000}
runs=${2:-5}
port=${PG_FUSION_BENCH_PORT:-55481}
doc=${PG_FUSION_BENCH_DOC:-$top/docs/benchmarks.md}

ensure_packages
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make bench-partitioned (or make install)"

bench_cluster <<'CONF'
shared_buffers = '2GB'
jit = off
max_parallel_workers_per_gather = 2
max_worker_processes = 8
work_mem = '256MB'
CONF

# Exact aggregates only (numeric amounts, integer quantities): both modes agree to the last digit.
log "loading $rows rows into sales (24 monthly partitions)"
t0=$SECONDS
psql_at "$dir" "$port" -q <<SQL
CREATE TABLE stores (store_id int4 PRIMARY KEY, region text NOT NULL, opened date NOT NULL);
INSERT INTO stores SELECT s, 'region-' || (s % 12), DATE '2015-01-01' + (s * 3) FROM generate_series(0, 999) s;
CREATE TABLE products (product_id int4 PRIMARY KEY, category text NOT NULL, list_price numeric(10,2) NOT NULL);
INSERT INTO products SELECT p, 'category-' || (p % 40), 1 + (p % 500) / 4.0 FROM generate_series(0, 9999) p;
CREATE TABLE sales (
    sale_id    int8 NOT NULL,
    day        date NOT NULL,
    store_id   int4 NOT NULL,
    product_id int4 NOT NULL,
    qty        int4 NOT NULL,
    amount     numeric(12,2) NOT NULL
) PARTITION BY RANGE (day);
SELECT format('CREATE TABLE %I PARTITION OF sales FOR VALUES FROM (%L) TO (%L)',
              'sales_' || to_char(m, 'YYYY_MM'), m::date, (m + interval '1 month')::date)
FROM generate_series(DATE '2023-01-01', DATE '2024-12-01', interval '1 month') m \gexec
INSERT INTO sales
SELECT g,
       DATE '2023-01-01' + (g % 731)::int,
       ((g * 7919) % 1000)::int4,
       ((g * 104729) % 10000)::int4,
       1 + ((g * 31) % 20)::int4,
       ((g * 7907) % 100000) / 100.0
FROM generate_series(1::int8, $rows) g;
VACUUM (FREEZE, ANALYZE) sales, stores, products;
SQL
load_s=$((SECONDS - t0))
table_size=$(psql_at "$dir" "$port" -Atc "SELECT pg_size_pretty(sum(pg_table_size(inhrelid))) FROM pg_inherits WHERE inhparent = 'sales'::regclass")
nparts=$(psql_at "$dir" "$port" -Atc "SELECT count(*) FROM pg_inherits WHERE inhparent = 'sales'::regclass")

names=(all_months quarter_by_region month_top_categories year_stores generic_quarter)
declare -A sql=(
    [all_months]="SELECT date_trunc('month', day) AS month, count(*), sum(qty), sum(amount) FROM sales GROUP BY 1 ORDER BY 1"
    [quarter_by_region]="SELECT st.region, count(*), sum(s.amount), avg(s.qty) FROM sales s JOIN stores st ON st.store_id = s.store_id WHERE s.day >= DATE '2024-04-01' AND s.day < DATE '2024-07-01' GROUP BY st.region ORDER BY st.region"
    [month_top_categories]="SELECT p.category, sum(s.qty) AS units, sum(s.amount) AS revenue FROM sales s JOIN products p ON p.product_id = s.product_id WHERE s.day >= DATE '2023-11-01' AND s.day < DATE '2023-12-01' GROUP BY p.category ORDER BY revenue DESC, p.category LIMIT 10"
    [year_stores]="SELECT st.region, p.category, count(*), sum(s.amount) FROM sales s JOIN stores st ON st.store_id = s.store_id JOIN products p ON p.product_id = s.product_id WHERE s.day >= DATE '2024-01-01' AND st.opened < DATE '2020-01-01' GROUP BY st.region, p.category ORDER BY 1, 2"
    [generic_quarter]="EXECUTE q(DATE '2023-07-01', DATE '2023-10-01')"
)
# The partitions each query's range keeps.
declare -A keep=([all_months]=24 [quarter_by_region]=3 [month_top_categories]=1 [year_stores]=12 [generic_quarter]=3)
prepare="SET plan_cache_mode = force_generic_plan; PREPARE q(date, date) AS SELECT count(*), sum(amount), min(day), max(day) FROM sales WHERE day >= \$1 AND day < \$2"
modes=(off on auto)
declare -A setup=(
    [off]="SET pg_fusion.enable = off; $prepare"
    [on]="SET pg_fusion.enable = on; $prepare"
    [auto]="SET pg_fusion.enable = auto; $prepare"
)

declare -A med read_parts removed producers engine
for q in "${names[@]}"; do
    log "$q: checking the rows and the pruning"
    same_rows "$q"
    plan=$(psql_at "$dir" "$port" -At -c "${setup[on]}" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${sql[$q]}")
    grep -q 'PgFusionScan' <<<"$plan" || die "$q: not run by pg_fusion: $plan"
    read_parts[$q]=$(grep -oE 'Seq Scan on sales_[0-9_]+' <<<"$plan" | sort -u | wc -l)
    removed[$q]=$(sed -n 's/.*Subplans Removed: \([0-9]*\).*/\1/p' <<<"$plan" | head -1)
    producers[$q]=$(sed -n 's/.*Scan Producers Actual: \([0-9]*\).*/\1/p' <<<"$plan" | head -1)
    [ "${read_parts[$q]}" = "${keep[$q]}" ] ||
        die "$q: EXPLAIN reads ${read_parts[$q]} partitions, the range keeps ${keep[$q]}: $plan"
    # The engine auto runs: its Engine line (EXPLAIN EXECUTE shows none: then the plan's root).
    plan=$(psql_at "$dir" "$port" -At -c "${setup[auto]}" -c "EXPLAIN ${sql[$q]}")
    engine[$q]=$(sed -n 's/.*Engine: \([A-Za-z]*\).*/\1/p' <<<"$plan" | head -1)
    if [ -z "${engine[$q]}" ]; then
        if grep -q PgFusionScan <<<"$plan"; then engine[$q]=DataFusion; else engine[$q]=PostgreSQL; fi
    fi
    measure "$q"
done

block=$(
    echo "<!-- generated by benches/partitioned.sh: begin -->"
    echo "Run on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
    echo "$("$PG_CONFIG" --version), \`sales\`: $rows rows in $nparts monthly partitions, $table_size (loaded in ${load_s} s),"
    echo "joined with \`stores\` (1000 rows) and \`products\` (10 000 rows). Settings: shared_buffers 2GB,"
    echo "jit off, work_mem 256MB, max_parallel_workers_per_gather 2, pg_fusion defaults. Medians of"
    echo "$runs interleaved runs after one warm-up each; the modes returned identical rows, and each"
    echo "pg_fusion plan read exactly the partitions its range keeps."
    echo
    echo "| query | partitions read (pruned) | off (PostgreSQL, 2 parallel workers) | on (pg_fusion) | speedup | pg_fusion producers | auto (engine) | auto speedup |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for q in "${names[@]}"; do
        pruned=$((nparts - read_parts[$q]))
        note="$pruned at plan time"
        [ -n "${removed[$q]}" ] && note="${removed[$q]} at run time"
        echo "| \`$q\` | ${read_parts[$q]} of $nparts ($note) | $(sec "${med[$q,off]}") s | $(sec "${med[$q,on]}") s | $(ratio "${med[$q,off]}" "${med[$q,on]}")x | ${producers[$q]:-1} | $(sec "${med[$q,auto]}") s (${engine[$q]}) | $(ratio "${med[$q,off]}" "${med[$q,auto]}")x |"
    done
    echo
    echo "Queries (\`generic_quarter\` is \`EXECUTE q('2023-07-01', '2023-10-01')\` of a prepared"
    echo "statement under \`plan_cache_mode = force_generic_plan\`: \`$(sed 's/.*PREPARE //' <<<"$prepare")\`):"
    echo
    for q in "${names[@]}"; do
        [ "$q" = generic_quarter ] && continue
        echo "- \`$q\`: \`${sql[$q]}\`"
    done
    echo "<!-- generated by benches/partitioned.sh: end -->"
)
write_block partitioned.sh "$block" "$doc"
