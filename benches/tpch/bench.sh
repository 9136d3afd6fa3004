#!/usr/bin/env bash
# TPC-H: the 22 queries with pg_fusion off (vanilla PostgreSQL) and on, side by side.
#
#   benches/tpch/bench.sh [--scale SF] [--runs N] [--timeout SECS] [--queries "1 6 17"] [--no-doc]
#   make bench SF=1                       the fully optimised build, installed, then this
#
# Defaults: SF 1, 3 timed runs, 300 s per statement, all 22 queries, results written into the
# generated block of docs/benchmarks.md (PG_FUSION_BENCH_DOC to write elsewhere) and the chart
# docs/tpch-speedup.svg. --scale 0.1 is the quick mode (a minute or two).
#
# Uses whatever pg_fusion is installed in $PG_CONFIG's directories. The scratch cluster (port
# $PG_FUSION_BENCH_PORT or 55490, never the system cluster) lives in $PG_FUSION_BENCH_DIR when it
# is set -- created and loaded on first use, reused afterwards (loading SF 1 takes minutes) -- and
# in a throwaway directory under /tmp otherwise. The data is the standard schema loaded by
# benches/tpch/load.sh (tpchgen-cli), then VACUUM (FREEZE, ANALYZE).
#
# Per query:
#   1. one warm-up run per mode, whose outputs must be identical (a mismatch fails the harness);
#   2. RUNS timed rounds, the modes interleaved (off on, then on off, ...), each run in a fresh
#      session, timed by psql's \timing; a run that hits the timeout counts at the timeout and the
#      mode's later runs are skipped;
#   3. the scan floor: EXPLAIN VERBOSE (pg_fusion on) names the PostgreSQL scan behind each leaf of
#      the DataFusion plan; each runs as `SELECT count(c1), ..., count(cn) FROM (<scan>) s` with
#      pg_fusion off and the same parallel budget as pg_fusion's producers (the leader and up to
#      2 workers: PostgreSQL reading and deforming exactly what crosses the boundary, without
#      encoding it); the floor is the sum of their medians;
#   4. DataFusion's own time: the sum of `elapsed_compute` over the operators of one EXPLAIN
#      ANALYZE run (CPU time inside DataFusion's operators, scan leaves excluded).
# Then the scan boundary micro-benchmark on lineitem's Q1 columns: PostgreSQL's bare scan
# (counts: deforms every value, no arithmetic) against pg_fusion's sums, both with the leader and
# 2 parallel workers, interleaved, at least 7 runs each (half a second a run: the ratio is a
# headline figure, and 3 runs moved it by a tenth on this shared machine).
#
# Modes: `off` pg_fusion.enable = off, max_parallel_workers_per_gather = 2;
#        `on`  pg_fusion.enable = on,  max_parallel_workers_per_gather = 2.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib.sh"

usage() { sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
scale=1
runs=3
timeout_s=300
queries=""
write_doc=1
while [ $# -gt 0 ]; do
    case $1 in
        --scale) scale=${2:-}; shift 2 || usage ;;
        --runs) runs=${2:-}; shift 2 || usage ;;
        --timeout) timeout_s=${2:-}; shift 2 || usage ;;
        --queries) queries=${2:-}; shift 2 || usage ;;
        --no-doc) write_doc=0; shift ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive number"
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || die "--timeout wants seconds"
[ -n "$queries" ] || queries=$(seq 1 22)
port=${PG_FUSION_BENCH_PORT:-55490}
doc=${PG_FUSION_BENCH_DOC:-$top/docs/benchmarks.md}
svg=$(dirname "$doc")/tpch-speedup.svg

ensure_packages
[ -f "$("$PG_CONFIG" --pkglibdir)/pg_fusion.so" ] || die "pg_fusion is not installed: run make bench (or make install)"

# The cluster.
if [ -n "${PG_FUSION_BENCH_DIR:-}" ]; then
    dir=$PG_FUSION_BENCH_DIR
    mkdir -p "$dir"
    chmod 755 "$dir"
    is_root && chown postgres:postgres "$dir"
    keep=1
else
    dir=$(pg_owned_tmpdir bench-tpch)
    keep=0
fi
cleanup() {
    stop_cluster "$dir"
    [ "$keep" = 1 ] || rm -rf "$dir"
}
trap cleanup EXIT
if [ ! -f "$dir/data/PG_VERSION" ]; then
    log "scratch cluster in $dir, port $port"
    init_cluster "$dir" "$port" <<'CONF'
shared_buffers = '4GB'
jit = off
max_parallel_workers_per_gather = 2
max_worker_processes = 16
work_mem = '256MB'
CONF
fi
stop_cluster "$dir"
start_cluster "$dir" || { tail -20 "$dir/server.log" >&2; die "the server did not start"; }
pq() { as_pg "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d tpch "$@"; }
if [ ! -f "$dir/loaded-sf$scale" ]; then
    rm -f "$dir"/loaded-sf*
    psql_at "$dir" "$port" -c 'DROP DATABASE IF EXISTS tpch' -c 'CREATE DATABASE tpch' >/dev/null
    pq -c 'CREATE EXTENSION pg_fusion'
    "$here/load.sh" --scale "$scale" --host "$dir" --port "$port" --dbname tpch || die "TPC-H load failed"
    log "VACUUM (FREEZE, ANALYZE)"
    pq -c 'VACUUM (FREEZE, ANALYZE)'
    touch "$dir/loaded-sf$scale"
else
    log "reusing the SF $scale data in $dir"
    pq -c 'ALTER EXTENSION pg_fusion UPDATE' >/dev/null 2>&1 || true
fi

declare -A setup=(
    [off]="SET pg_fusion.enable = off; SET max_parallel_workers_per_gather = 2"
    [on]="SET pg_fusion.enable = on; SET max_parallel_workers_per_gather = 2"
    [floor]="SET pg_fusion.enable = off; SET max_parallel_workers_per_gather = 2"
)

# Run $2 (a file or a statement) in mode $1 in a fresh session: prints the rows on stdout ($3 =
# rows) or the milliseconds of the statement ($3 = time, "timeout" when it was canceled by
# statement_timeout). Other errors fail.
run() {
    local mode=$1 stmt=$2 what=$3 out rc
    local src=(-c "$stmt")
    [ -f "$stmt" ] && src=(-f "$stmt")
    if [ "$what" = rows ]; then
        pq -At -c "SET statement_timeout = '${timeout_s}s'" -c "${setup[$mode]}" "${src[@]}"
        return
    fi
    out=$(pq -c "SET statement_timeout = '${timeout_s}s'" -c "${setup[$mode]}" -c '\timing on' \
        -c '\o /dev/null' "${src[@]}" 2>&1) && rc=0 || rc=$?
    if [ $rc != 0 ]; then
        if grep -q 'canceling statement due to statement timeout' <<<"$out"; then echo timeout; return; fi
        printf '%s\n' "$out" >&2
        return 1
    fi
    sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' <<<"$out" | tail -1
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Times in ms, a timed-out run counting at the timeout.
ms_of() { if [ "$1" = timeout ]; then echo $((timeout_s * 1000)); else echo "$1"; fi; }
sec() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# The scan floor of a query: the scans behind the leaves of pg_fusion's plan, as count queries.
floor_queries() {
    local file=$1 sql
    { cat "$file" | sed 's/;[[:space:]]*$//' | { printf 'EXPLAIN (VERBOSE, COSTS OFF) '; cat; }; } >"$work/explain.sql"
    pq -At -c "${setup[on]}" -f "$work/explain.sql" | sed -n 's/^ *Scan SQL: //p' | while IFS= read -r sql; do
        # The scan's columns, from its header line (no rows read).
        local n
        n=$(pq -A -F $'\x1f' -c "SELECT * FROM ($sql) s LIMIT 0" | head -1 | awk -F $'\x1f' '{ print NF }')
        echo "SELECT $(seq 1 "$n" | sed 's/.*/count(c&)/' | paste -sd,) FROM ($sql) s($(seq 1 "$n" | sed 's/^/c/' | paste -sd,))"
    done
}

# DataFusion's CPU time in one EXPLAIN ANALYZE run: the sum of elapsed_compute over its operators
# (the scan leaves' own time is the producers', measured by the floor).
df_compute_ms() {
    { printf 'EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) '; sed 's/;[[:space:]]*$//' "$1"; } >"$work/analyze.sql"
    pq -At -c "SET statement_timeout = '${timeout_s}s'" -c "${setup[on]}" -f "$work/analyze.sql" \
        | awk '/DataFusion Executed Plan:/ { on = 1; next }
               on && /PgScanExec|PgFusionScanExec|ScanExec:/ { next }
               on {
                   while (match($0, /elapsed_compute=[0-9.]+(ns|µs|us|ms|s)/)) {
                       m = substr($0, RSTART + 16, RLENGTH - 16); $0 = substr($0, RSTART + RLENGTH)
                       v = m + 0; u = m; sub(/^[0-9.]+/, "", u)
                       if (u == "ns") v /= 1e6; else if (u == "µs" || u == "us") v /= 1e3; else if (u == "s") v *= 1e3
                       total += v
                   }
               }
               END { printf "%.1f\n", total }'
}

work=$(mktemp -d)
trap 'cleanup; rm -rf "$work"' EXIT
chmod 755 "$work"

declare -A med floor dfms status
ok_queries=()
for n in $queries; do
    q=$(printf 'q%02d' "$n")
    file="$here/queries/$q.sql"
    [ -f "$file" ] || die "no $file"
    log "$q: warm-up and row check"
    cp "$file" "$work/$q.sql"
    chmod 644 "$work/$q.sql"
    file="$work/$q.sql"
    declare -A skip=()
    for m in off on; do
        t0=$(date +%s%N)
        if ! run "$m" "$file" rows >"$work/$q.$m.out" 2>"$work/$q.$m.err"; then
            if grep -q 'statement timeout' "$work/$q.$m.err"; then
                skip[$m]=1
                log "  $m: timed out after ${timeout_s} s (counts at the timeout)"
            else
                cat "$work/$q.$m.err" >&2
                die "$q: mode $m failed"
            fi
        else
            log "  $m: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
        fi
    done
    if [ -z "${skip[off]:-}" ] && [ -z "${skip[on]:-}" ]; then
        cmp -s "$work/$q.off.out" "$work/$q.on.out" \
            || { diff "$work/$q.off.out" "$work/$q.on.out" | head -20 >&2; die "$q: pg_fusion returns different rows"; }
    fi
    declare -A times=()
    for r in $(seq 1 "$runs"); do
        order=(off on)
        [ $((r % 2)) = 0 ] && order=(on off)
        line=""
        for m in "${order[@]}"; do
            if [ -n "${skip[$m]:-}" ]; then t=timeout; else t=$(run "$m" "$file" time); fi
            [ "$t" = timeout ] && skip[$m]=1
            times[$m]="${times[$m]:-} $(ms_of "$t")"
            line="$line $m $t"
        done
        log "  run $r/$runs:$line"
    done
    for m in off on; do
        med[$q,$m]=$(echo "${times[$m]}" | tr ' ' '\n' | grep . | median)
        [ -n "${skip[$m]:-}" ] && status[$q,$m]=timeout || status[$q,$m]=ok
    done
    unset times skip
    # The floor and DataFusion's own time (only when pg_fusion finishes).
    floor[$q]=0
    dfms[$q]=0
    if [ "${status[$q,on]}" = ok ]; then
        floor_queries "$file" >"$work/$q.floor"
        while IFS= read -r fq; do
            run floor "$fq" time >/dev/null
            ts=""
            for r in $(seq 1 "$runs"); do ts="$ts $(ms_of "$(run floor "$fq" time)")"; done
            floor[$q]=$(awk -v a="${floor[$q]}" -v b="$(echo "$ts" | tr ' ' '\n' | grep . | median)" 'BEGIN { print a + b }')
        done <"$work/$q.floor"
        dfms[$q]=$(df_compute_ms "$file")
        log "  scan floor $(sec "${floor[$q]}") s over $(wc -l <"$work/$q.floor") scans; DataFusion compute $(sec "${dfms[$q]}") s"
    fi
    log "  $q: off $(sec "${med[$q,off]}") s, on $(sec "${med[$q,on]}") s, speedup $(ratio "${med[$q,off]}" "${med[$q,on]}")x"
    ok_queries+=("$q")
done

# The scan boundary: lineitem's Q1 columns, PostgreSQL's bare scan against pg_fusion's sums, with
# the same processes (the leader and 2 parallel workers each).
log "scan boundary: lineitem's Q1 columns"
bare="SELECT count(l_quantity), count(l_extendedprice), count(l_discount), count(l_tax), count(l_returnflag), count(l_linestatus), count(l_shipdate) FROM lineitem"
sums="SELECT sum(l_quantity), sum(l_extendedprice), sum(l_discount), sum(l_tax), count(l_returnflag), count(l_linestatus), max(l_shipdate) FROM lineitem"
metric() { pq -Atc "SELECT value FROM pg_fusion_metrics() WHERE metric = '$1'"; }
run floor "$bare" time >/dev/null
run on "$sums" time >/dev/null
bt=""; st=""
boundary_runs=$(( runs < 7 ? 7 : runs ))
for r in $(seq 1 "$boundary_runs"); do
    bt="$bt $(run floor "$bare" time)"
    st="$st $(run on "$sums" time)"
done
bare_ms=$(echo "$bt" | tr ' ' '\n' | grep . | median)
sums_ms=$(echo "$st" | tr ' ' '\n' | grep . | median)
li_rows=$(pq -Atc 'SELECT count(*) FROM lineitem')
fill0=$(metric scan_page_fill_ns); wait0=$(metric page_acquire_wait_ns); credit0=$(metric scan_credit_wait_total)
pages0=$(metric scan_pages_sent_total)
run on "$sums" time >/dev/null
fill_ms=$(( ($(metric scan_page_fill_ns) - fill0) / 1000000 ))
wait_ms=$(( ($(metric page_acquire_wait_ns) - wait0) / 1000000 ))
pages=$(( $(metric scan_pages_sent_total) - pages0 ))

# Summary figures.
geo() { awk '{ s += log($1); n++ } END { if (n) printf "%.2f", exp(s / n); else print "-" }'; }
speedups=$(for q in "${ok_queries[@]}"; do ratio "${med[$q,off]}" "${med[$q,on]}"; echo; done)
geomean=$(echo "$speedups" | grep . | geo)
geo_off=$(for q in "${ok_queries[@]}"; do echo "${med[$q,off]}"; done | geo)
geo_on=$(for q in "${ok_queries[@]}"; do echo "${med[$q,on]}"; done | geo)
cell() { # a median with its status
    if [ "${status[$1,$2]}" = timeout ]; then echo "> ${timeout_s} s (timeout)"; else echo "$(sec "${med[$1,$2]}") s"; fi
}

# The chart: one bar per query, the speedup on a log scale (1x marked).
chart() {
    local n=${#ok_queries[@]}
    for q in "${ok_queries[@]}"; do echo "$q $(ratio "${med[$q,off]}" "${med[$q,on]}")"; done | awk -v n="$n" -v geo="$geomean" '
        BEGIN { w = 760; bar = 22; top = 40; left = 60; plot = 600; lo = log(0.1); hi = log(100)
                h = top + (n + 1) * bar + 40
                printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n", w, h
                printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                printf "<text x=\"%d\" y=\"20\" font-size=\"14\">TPC-H: pg_fusion speedup over PostgreSQL (2 parallel workers), log scale</text>\n", left }
        function x(v) { if (v < 0.1) v = 0.1; if (v > 100) v = 100; return left + plot * (log(v) - lo) / (hi - lo) }
        { y = top + (NR - 1) * bar
          color = ($2 >= 1) ? "#2b7bb9" : "#d9534f"
          x1 = x(1); x2 = x($2)
          if (x2 >= x1) { bx = x1; bw = x2 - x1 } else { bx = x2; bw = x1 - x2 }
          printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n", left - 8, y + 15, toupper(substr($1, 1, 1)) substr($1, 2)
          printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", bx, y + 3, (bw < 1 ? 1 : bw), bar - 6, color
          printf "<text x=\"%.1f\" y=\"%d\">%.2fx</text>\n", (x2 >= x1 ? x2 : x1) + 4, y + 15, $2 }
        END { y = top + n * bar
              printf "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-weight=\"bold\">geomean</text>\n", left - 8, y + 15
              x1 = x(1); x2 = x(geo)
              if (x2 >= x1) { bx = x1; bw = x2 - x1 } else { bx = x2; bw = x1 - x2 }
              printf "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#555\"/>\n", bx, y + 3, (bw < 1 ? 1 : bw), bar - 6
              printf "<text x=\"%.1f\" y=\"%d\" font-weight=\"bold\">%.2fx</text>\n", (x2 >= x1 ? x2 : x1) + 4, y + 15, geo
              yb = top + (n + 1) * bar + 5
              split("0.1 0.3 1 3 10 30 100", t, " ")
              for (i = 1; i <= 7; i++) {
                  printf "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n", x(t[i]), top, x(t[i]), yb, (t[i] == 1 ? "#000" : "#ddd")
                  printf "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%sx</text>\n", x(t[i]), yb + 15, t[i] }
              print "</svg>" }'
}

block=$(
    echo "<!-- generated by benches/tpch/bench.sh: begin -->"
    echo "Run on $(date -u +%Y-%m-%d): $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo),"
    echo "$("$PG_CONFIG" --version), TPC-H SF $scale (tpchgen-cli, standard schema, primary keys only, VACUUM (FREEZE, ANALYZE))."
    echo "Settings: shared_buffers 4GB, jit off, work_mem 256MB, max_parallel_workers_per_gather 2 in both"
    echo "modes, pg_fusion defaults. Medians of $runs interleaved runs after one warm-up each, statement"
    echo "timeout ${timeout_s} s (a query that does not finish counts at the timeout); both modes returned"
    echo "identical rows for every query that finished in both."
    echo
    echo "| query | PostgreSQL | pg_fusion | speedup | scan floor | DataFusion compute | pg_fusion / (floor + compute) |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for q in "${ok_queries[@]}"; do
        fl="-"; dc="-"; fr="-"
        if [ "${status[$q,on]}" = ok ]; then
            fl="$(sec "${floor[$q]}") s"; dc="$(sec "${dfms[$q]}") s"
            fr="$(ratio "${med[$q,on]}" "$(awk -v a="${floor[$q]}" -v b="${dfms[$q]}" 'BEGIN { print a + b }')")"
        fi
        echo "| ${q^} | $(cell "$q" off) | $(cell "$q" on) | $(ratio "${med[$q,off]}" "${med[$q,on]}")x | $fl | $dc | $fr |"
    done
    echo "| **geomean** | $(sec "$geo_off") s | $(sec "$geo_on") s | **${geomean}x** | | | |"
    echo
    echo "![pg_fusion speedup per TPC-H query](tpch-speedup.svg)"
    echo
    echo "Scan boundary, lineitem's Q1 columns ($li_rows rows), the leader and 2 parallel workers each,"
    echo "medians of $boundary_runs interleaved runs:"
    echo
    echo "| figure | time | rows/s |"
    echo "|---|---:|---:|"
    echo "| PostgreSQL reads and deforms them (\`SELECT count(l_quantity), ... FROM lineitem\`) | $(sec "$bare_ms") s | $(awk -v n="$li_rows" -v ms="$bare_ms" 'BEGIN { printf "%.1f M", n / ms / 1e3 }') |"
    echo "| pg_fusion sums them (\`SELECT sum(l_quantity), ... FROM lineitem\`: read, deform, encode, transport, aggregate) | $(sec "$sums_ms") s | $(awk -v n="$li_rows" -v ms="$sums_ms" 'BEGIN { printf "%.1f M", n / ms / 1e3 }') |"
    echo
    echo "pg_fusion / bare scan: **$(ratio "$sums_ms" "$bare_ms")x**. One pg_fusion run sent $pages pages; its producers had pages"
    echo "open for $fill_ms ms in total (reading, deforming and encoding, summed over the processes) and waited $wait_ms ms for free pages."
    echo "<!-- generated by benches/tpch/bench.sh: end -->"
)
printf '%s\n' "$block"

if [ "$write_doc" = 1 ]; then
    chart >"$svg"
    if [ -f "$doc" ] && grep -q 'generated by benches/tpch/bench.sh: begin' "$doc"; then
        tmp=$(mktemp)
        awk -v block="$block" '
            /generated by benches\/tpch\/bench.sh: begin/ { print block; skip = 1; next }
            /generated by benches\/tpch\/bench.sh: end/ { skip = 0; next }
            !skip { print }' "$doc" >"$tmp"
        cat "$tmp" >"$doc"
        rm -f "$tmp"
        log "results written to $doc and $svg"
    else
        log "no generated block in $doc: results printed above only (chart in $svg)"
    fi
fi
