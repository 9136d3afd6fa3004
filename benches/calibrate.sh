#!/usr/bin/env bash
# Calibrate the cost model of `pg_fusion.enable = auto` (src/plan/cost.rs; docs/configuration.md,
# "Choosing the engine") on this machine: `setup_cost`, `tuple_cost`, `byte_cost`.
#
#   benches/calibrate.sh [ROWS [RUNS]]      (defaults: 2000000 rows, 5 timed runs per mode)
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories and a scratch cluster of its
# own (port $PG_FUSION_BENCH_PORT or 55483). Synthetic tables: `cal_narrow` (two int4 columns),
# `cal_wide` (int8, int4, numeric, a 30-byte text, date) and `cal_tiny` (one row). Every query
# runs in both modes, interleaved, medians of RUNS.
#
# - kappa: milliseconds per cost unit of PostgreSQL's plans of whole-table scans (time / its
#   plan's total cost, both tables; their mean). pg_fusion's leaves are such scans, costed by
#   PostgreSQL, so the model counts everything in those units.
# - The boundary: pg_fusion's time for the same scans (every row of every column handed to
#   DataFusion, which counts them), in cost units (time / kappa), less the leaf's own cost as
#   the model divides it among the producers. Per row, that is a cost per row + width * byte_cost
#   (PostgreSQL's width estimate): two tables, two unknowns.
# - DataFusion's work: what its GROUP BY over cal_wide adds per row beyond the scan, and its join
#   of the two tables per row of either side; tuple_cost is the boundary's cost per row plus
#   their mean (the rows a scan hands over are typically joined or aggregated).
# - setup_cost: a one-row table through pg_fusion, less PostgreSQL's time for it, in cost units.
# - operator_cost_factor: PostgreSQL's own GROUP BY and join plans take longer per cost unit than
#   its scans. Counting its grouped aggregates', sorts' and hash joins' own costs (a node's cost less its
#   inputs', from EXPLAIN) f times makes kappa fit each plan's time: f from the GROUP BY plan and
#   from the join plan, the smaller of the two (when in doubt, PostgreSQL's plan).
#
# Prints the three settings and the figures behind them, and writes them into the generated block
# of docs/benchmarks.md (PG_FUSION_BENCH_DOC to write elsewhere).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
. "$top/benches/lib.sh"

rows=${1:-2000000}
runs=${2:-5}
port=${PG_FUSION_BENCH_PORT:-55483}
doc=${PG_FUSION_BENCH_DOC:-$top/docs/benchmarks.md}

ensure_packages
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make install first"

bench_cluster <<'CONF'
shared_buffers = '1GB'
jit = off
max_parallel_workers_per_gather = 2
max_worker_processes = 8
work_mem = '256MB'
CONF

log "loading $rows rows into cal_narrow and cal_wide"
psql_at "$dir" "$port" <<SQL
CREATE TABLE cal_narrow AS SELECT g::int4 AS a, (g % 1000)::int4 AS b FROM generate_series(1::int8, $rows) g;
CREATE TABLE cal_wide AS
SELECT g::int8 AS id, (g % 1000)::int4 AS k, ((g * 7907) % 1000000) / 100.0::numeric(12, 2) AS amount,
       'tag-' || lpad((g % 97)::text, 26, 'x') AS tag, DATE '2020-01-01' + (g % 1461)::int AS day
FROM generate_series(1::int8, $rows) g;
CREATE TABLE cal_tiny AS SELECT 1 AS a;
VACUUM (FREEZE, ANALYZE) cal_narrow, cal_wide, cal_tiny;
SQL

modes=(off on)
declare -A setup=(
    [off]="SET pg_fusion.enable = off"
    [on]="SET pg_fusion.enable = on"
)
names=(narrow wide tiny grouped joined)
declare -A sql=(
    [narrow]="SELECT count(a), count(b) FROM cal_narrow"
    [wide]="SELECT count(id), count(k), count(amount), count(tag), count(day) FROM cal_wide"
    [tiny]="SELECT count(a) FROM cal_tiny"
    [grouped]="SELECT k, count(*), sum(amount), max(day) FROM cal_wide GROUP BY k ORDER BY k"
    [joined]="SELECT count(*), sum(w.amount) FROM cal_wide w JOIN cal_narrow n ON n.a = w.id"
)
declare -A med=()
for q in "${names[@]}"; do
    log "$q: ${sql[$q]}"
    same_rows "$q"
    measure "$q"
done

# PostgreSQL's plan's total cost in mode $1 (the PgFusionScan node's is pg_fusion's estimate).
plan_cost() {
    psql_at "$dir" "$port" -At -c "${setup[$1]}" -c "EXPLAIN (FORMAT JSON) $2" \
        | sed -n 's/.*"Total Cost": \([0-9.]*\).*/\1/p' | head -1
}
# The cost and width of the first leaf plan pg_fusion's EXPLAIN VERBOSE shows for $1.
leaf_plan() {
    psql_at "$dir" "$port" -At -c "${setup[on]}" -c "EXPLAIN (VERBOSE) $1" \
        | grep -A1 'PostgreSQL Plan:' | sed -n 's/.*cost=[0-9.]*\.\.\([0-9.]*\) rows=[0-9]* width=\([0-9]*\)).*/\1 \2/p' | head -1
}

calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
# The own cost of the grouped aggregates, sorts and hash joins of PostgreSQL's plan of $1, as
# src/pg/auto_cost.rs counts them (InitPlans and SubPlans apart).
operator_cost() {
    psql_at "$dir" "$port" -At -c "${setup[off]}" -c "EXPLAIN (FORMAT JSON) $1" | python3 -c '
import json, sys
OPS = ("Aggregate", "Sort", "Incremental Sort", "Hash Join", "Hash")
def walk(p):
    kids = [k for k in p.get("Plans", []) if k.get("Parent Relationship") not in ("InitPlan", "SubPlan")]
    weighted = p["Node Type"] in OPS and p.get("Strategy") != "Plain"
    own = max(p["Total Cost"] - sum(k["Total Cost"] for k in kids), 0) if weighted else 0
    return own + sum(walk(k) for k in kids)
print("%.2f" % walk(json.load(sys.stdin)[0]["Plan"]))'
}
# Divisor of a leaf read by the leader and 2 parallel workers (PostgreSQL's get_parallel_divisor).
div=2.4
read -r narrow_leaf narrow_width <<<"$(leaf_plan "${sql[narrow]}")"
read -r wide_leaf wide_width <<<"$(leaf_plan "${sql[wide]}")"
narrow_pg=$(plan_cost off "${sql[narrow]}")
wide_pg=$(plan_cost off "${sql[wide]}")
kappa=$(calc "(${med[narrow,off]} / $narrow_pg + ${med[wide,off]} / $wide_pg) / 2")
# Per row, in cost units: what pg_fusion took beyond its leaf's share of the scan.
narrow_row=$(calc "(${med[narrow,on]} / $kappa - $narrow_leaf / $div) / $rows")
wide_row=$(calc "(${med[wide,on]} / $kappa - $wide_leaf / $div) / $rows")
byte_cost=$(calc "($wide_row - $narrow_row) / ($wide_width - $narrow_width)")
byte_cost=$(calc "$byte_cost < 0 ? 0 : $byte_cost")
boundary_row=$(calc "$narrow_row - $narrow_width * $byte_cost")
boundary_row=$(calc "$boundary_row < 0 ? 0 : $boundary_row")
setup_cost=$(calc "(${med[tiny,on]} - ${med[tiny,off]}) / $kappa")
setup_cost=$(calc "$setup_cost < 0 ? 0 : $setup_cost")
grouped_pg=$(plan_cost off "${sql[grouped]}")
joined_pg=$(plan_cost off "${sql[joined]}")
grouped_kappa=$(calc "${med[grouped,off]} / $grouped_pg")
joined_kappa=$(calc "${med[joined,off]} / $joined_pg")
grouped_ops=$(operator_cost "${sql[grouped]}")
joined_ops=$(operator_cost "${sql[joined]}")
grouped_factor=$(calc "1 + (${med[grouped,off]} / $kappa - $grouped_pg) / $grouped_ops")
joined_factor=$(calc "1 + (${med[joined,off]} / $kappa - $joined_pg) / $joined_ops")
factor=$(calc "$grouped_factor < $joined_factor ? $grouped_factor : $joined_factor")
factor=$(calc "$factor < 1 ? 1 : $factor")
grouped_extra=$(calc "(${med[grouped,on]} - ${med[wide,on]}) / $kappa / $rows")
joined_extra=$(calc "(${med[joined,on]} - ${med[wide,on]} - ${med[narrow,on]}) / $kappa / (2 * $rows)")
df_row=$(calc "($grouped_extra + $joined_extra) / 2")
df_row=$(calc "$df_row < 0 ? 0 : $df_row")
tuple_cost=$(calc "$boundary_row + $df_row")

line() { printf '| %s | %s | %s | %s |\n' "$@"; }
block=$(
    echo "<!-- generated by benches/calibrate.sh: begin -->"
    echo "Run on $(date +%F): $(nproc) cores, PostgreSQL $(psql_at "$dir" "$port" -Atc "SHOW server_version"), $rows rows per table,"
    echo "medians of $runs interleaved runs (ms)."
    echo
    echo "| query | PostgreSQL | pg_fusion | PostgreSQL's plan's cost |"
    echo "|---|---:|---:|---:|"
    for q in "${names[@]}"; do
        line "\`${sql[$q]}\`" "${med[$q,off]}" "${med[$q,on]}" "$(plan_cost off "${sql[$q]}")"
    done
    echo
    echo "kappa (ms per cost unit of PostgreSQL's scans): $kappa; of its GROUP BY plan $grouped_kappa, of its"
    echo "join plan $joined_kappa. Leaves: cal_narrow cost $narrow_leaf width $narrow_width, cal_wide cost $wide_leaf"
    echo "width $wide_width, divided by $div (the leader and 2 workers). Per row beyond the scan, in cost units:"
    echo "cal_narrow $narrow_row, cal_wide $wide_row: $boundary_row per row and $byte_cost per byte. DataFusion's"
    echo "GROUP BY adds $grouped_extra per row, its join $joined_extra per row of either side: $df_row on average."
    echo
    echo "PostgreSQL's aggregates, sorts and hash joins: own cost $grouped_ops in its GROUP BY plan, $joined_ops in"
    echo "its join plan; counted $grouped_factor and $joined_factor times they fit kappa."
    echo
    echo "Settings: \`pg_fusion.setup_cost = $setup_cost\`, \`pg_fusion.tuple_cost = $tuple_cost\`,"
    echo "\`pg_fusion.byte_cost = $byte_cost\`, \`pg_fusion.operator_cost_factor = $factor\`."
    echo "<!-- generated by benches/calibrate.sh: end -->"
)
write_block calibrate.sh "$block" "$doc"
