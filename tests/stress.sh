#!/usr/bin/env bash
# Bounded stress: many clients, cancels, terminations and a worker crash against scratch clusters
# (own data directory, socket directory and port each; never the system cluster). Every answer is
# compared with PostgreSQL's own (pg_fusion off); afterwards no page, reservation or slot is held.
#
#   mixed_clients_small_pool    16 pages, 6 scan slots, 8 control slots, parallel producers:
#                               16 clients, 8 queries each (2- and 3-table joins, an aggregate,
#                               UNION ALL, IN-subquery): every answer exact, none times out
#   cancels_and_timeouts        200 joins with a random statement_timeout (1..300 ms) from 4
#                               clients and 20 pg_cancel_backend: each the answer or 57014
#   terminate_and_kill_worker   5 pg_terminate_backend on looping clients, then kill -9 of the
#                               worker: crash recovery, the worker back, the right answer
#   union_all_100_tables        100 leaves > scan_slot_count 64, default settings: PostgreSQL's
#                               plan answers it (counted as a fallback), under either
#                               on_unsupported
#   memory_under_64mb           a 64 MB worker: 4 clients at once, each a 1M-group text aggregate
#                               and a 1M-row self join (spilling, sort-merge join): every answer
#                               exact, spill counted, the worker's RssAnon under 160 MB
#
# Prints one line per case and, last, "stress: N passed, N failed". Exits non-zero on any failure.
# Arguments name cases to run (default: all). The whole run is capped at PG_FUSION_STRESS_TIMEOUT
# seconds (default 235); PG_FUSION_KEEP=1 leaves the clusters running.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PG_FUSION_STRESS_CAPPED:-}" ]; then
    PG_FUSION_STRESS_CAPPED=1 exec timeout -k 60 "${PG_FUSION_STRESS_TIMEOUT:-235}" bash "$0" "$@"
fi
. "$top/scripts/lib.sh"
. "$top/tests/lib.sh"

port=${PG_FUSION_STRESS_PORT:-55470}
passed=0
failed=0
# Every cluster directory a case creates, one per line (cases run in $(...) subshells).
registry=$(mktemp)

stop_all() { while IFS= read -r d; do stop_cluster "$d"; done <"$registry"; }
cleanup() {
    if [ -z "${PG_FUSION_KEEP:-}" ]; then
        stop_all
        while IFS= read -r d; do rm -rf "$d"; done <"$registry"
    fi
    rm -f "$registry"
}
trap cleanup EXIT
# The cap (timeout's SIGTERM): count the run as failed; the EXIT trap stops the servers.
trap 'echo "FAIL - timed out after ${PG_FUSION_STRESS_TIMEOUT:-235} s"; echo "stress: $passed passed, $((failed + 1)) failed"; exit 1' TERM

new_cluster_dir() {
    local d
    d=$(pg_owned_tmpdir stress)
    printf '%s\n' "$d" >>"$registry"
    printf '%s\n' "$d"
}

run_case() {
    local name=$1 out t0=$SECONDS
    if out=$("$name" 2>&1); then
        echo "ok   - $name ($((SECONDS - t0)) s)"
        grep '^figures: ' <<<"$out" | sed 's/^/       /'
        passed=$((passed + 1))
    else
        echo "FAIL - $name ($((SECONDS - t0)) s)"
        printf '%s\n' "$out" | sed 's/^/       /' | tail -30
        failed=$((failed + 1))
    fi
    [ -n "${PG_FUSION_KEEP:-}" ] || stop_all
}

# A client: psql with verbose errors (their SQLSTATE), not stopping at an error, killed after
# $3 seconds (a hang).
client() {
    local d=$1 p=$2 secs=$3; shift 3
    as_pg timeout "$secs" "$(pg_bindir)/psql" -X -q -At -h "$d" -p "$p" -U postgres -d postgres \
        -v ON_ERROR_STOP=0 -v VERBOSITY=verbose "$@"
}

# Two tables for a join of ~50-300 ms with pg_fusion on, and that join.
join_tables="CREATE TABLE x AS SELECT g AS id, g % 97 AS k, md5(g::text) AS pad FROM generate_series(1, 300000) g;
             CREATE TABLE y AS SELECT g AS id, g % 13 AS k FROM generate_series(1, 300000) g; ANALYZE x, y"
join_query="SELECT count(*), sum(y.k), count(DISTINCT x.k) FROM x JOIN y ON x.id = y.id WHERE x.k < 60"

mixed_clients_small_pool() {
    local d p=$((port + 1)) i j n=16 qs order pids=() rc bad=0 total
    d=$(new_cluster_dir)
    printf '%s\n' "pg_fusion.page_count = 16" "pg_fusion.scan_slot_count = 6" "pg_fusion.control_slot_count = 8" \
        "max_parallel_workers_per_gather = 2" "min_parallel_table_scan_size = 0" "max_worker_processes = 16" \
        | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" \
        -c "CREATE TABLE a AS SELECT g AS id, g % 100 AS k, ((g % 10007) / 7.0)::numeric(12,2) AS n, 'a' || (g % 50) AS s FROM generate_series(1, 200000) g" \
        -c "CREATE TABLE b AS SELECT g AS id, g % 37 AS k, ((g * 3 % 10007) / 3.0)::numeric(12,2) AS n, 'b' || (g % 20) AS s FROM generate_series(1, 150000) g" \
        -c "CREATE TABLE c AS SELECT g * 2 AS id, g % 11 AS k, (g % 1000 + 0.25)::numeric(12,2) AS n, md5(g::text) AS s FROM generate_series(1, 120000) g" \
        -c "CREATE TABLE d AS SELECT g AS id, g % 7 AS k, (g / 100.0)::numeric(12,2) AS n, ('d' || (g % 30)) COLLATE \"C\" AS s FROM generate_series(1, 100000) g" \
        -c "ANALYZE" >/dev/null || return 1
    qs=("SELECT a.k, count(*), sum(b.n) FROM a JOIN b ON a.id = b.id GROUP BY a.k ORDER BY a.k"
        "SELECT count(*), sum(a.n), sum(c.k) FROM a JOIN b ON a.id = b.id JOIN c ON c.id = b.id WHERE a.k < 50"
        "SELECT s, count(*), sum(n), min(k), max(id) FROM d GROUP BY s ORDER BY s"
        "SELECT 'a' AS t, count(*), sum(n) FROM a WHERE k < 10 UNION ALL SELECT 'c', count(*), sum(n) FROM c ORDER BY 2"
        "SELECT count(*), sum(n) FROM b WHERE id IN (SELECT id FROM d WHERE k = 3)"
        "SELECT d.s, count(*), sum(c.n), max(c.k) FROM c JOIN d ON c.id = d.id GROUP BY d.s ORDER BY d.s")
    for j in "${!qs[@]}"; do
        psql_at "$d" "$p" -At -c "${qs[$j]}" >"$d/want.$j" 2>&1 || { echo "[${qs[$j]}] off: $(cat "$d/want.$j")"; return 1; }
    done
    total=$(psql_at "$d" "$p" -Atc "$(metric_sql queries_total)")
    for i in $(seq 1 $n); do
        # Every query once and four more picked at random, in a different order in each client.
        order=$( { seq 0 5; shuf -i 0-5 -n 4 -r; } | shuf)
        for j in $order; do echo "-- q$j"; cat "$d/want.$j"; done >"$d/client$i.want"
        { echo "SET pg_fusion.enable = on;"; echo "SET statement_timeout = '120s';"
          for j in $order; do echo "\\echo -- q$j"; echo "${qs[$j]};"; done
        } | client "$d" "$p" 150 >"$d/client$i.out" 2>&1 &
        pids+=($!)
    done
    for i in $(seq 1 $n); do
        wait "${pids[$((i - 1))]}"; rc=$?
        [ "$rc" = 0 ] || { echo "client $i: exit status $rc"; bad=1; }
        cmp -s "$d/client$i.want" "$d/client$i.out" || {
            echo "client $i: answers differ from PostgreSQL's (- want, + got):"
            diff "$d/client$i.want" "$d/client$i.out" | grep '^>' | head -4
            diff "$d/client$i.want" "$d/client$i.out" | grep '^<' | head -4; bad=1; }
    done
    for j in "${!qs[@]}"; do [ "$bad" = 0 ] || echo "q$j: ${qs[$j]}"; done
    [ "$bad" = 0 ] || { psql_at "$d" "$p" -Atc "SELECT metric, value FROM pg_fusion_metrics() WHERE kind = 'gauge'"; return 1; }
    # Every statement ran through pg_fusion (none fell back).
    total=$(( $(psql_at "$d" "$p" -Atc "$(metric_sql queries_total)") - total ))
    [ "$total" -ge $((n * 10)) ] || { echo "$total queries through pg_fusion, want at least $((n * 10))"; return 1; }
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql admission_wait_total)")" -gt 0 ] || {
        echo "no query ever waited for admission: the pool was never contended"; return 1; }
    all_returned "$d" "$p" 5
}

# Classify the lines of client outputs $3.. for answer $1 (grep -E pattern $2 of the errors
# allowed): prints "answers errors other", then the first other lines.
classify() {
    local want=$1 allowed=$2; shift 2
    cat "$@" | grep -v -E '^(-- |(DETAIL|HINT|LOCATION|CONTEXT):)' | awk -v want="$want" -v allowed="$allowed" '
        $0 == want { a++; next }
        $0 ~ allowed { e++; next }
        { o++; if (o <= 8) bad[o] = $0 }
        END { print a + 0, e + 0, o + 0; for (i = 1; i <= o && i <= 8; i++) print "  " bad[i] }'
}

cancels_and_timeouts() {
    local d p=$((port + 2)) want i j pids=() rc bad=0 res sent=0 got
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "$join_tables" >/dev/null || return 1
    want=$(psql_at "$d" "$p" -Atc "$join_query") || return 1
    for i in 1 2 3 4; do
        { echo "SET pg_fusion.enable = on;"
          for j in $(seq 1 50); do
              echo "SET statement_timeout = '$((RANDOM % 300 + 1))ms';"; echo "\\echo -- $j"; echo "$join_query;"
          done
        } | client "$d" "$p" 120 >"$d/client$i.out" 2>&1 &
        pids+=($!)
    done
    # Meanwhile, 20 cancels of a random running client backend.
    for i in $(seq 1 20); do
        got=$(psql_at "$d" "$p" -Atc "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                  WHERE backend_type = 'client backend' AND state = 'active' AND query LIKE 'SELECT count(*), sum(y.k)%'
                    AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1" 2>&1)
        [ "$got" = t ] && sent=$((sent + 1))
        sleep 0.$((RANDOM % 4 + 1))
    done
    for i in 1 2 3 4; do
        wait "${pids[$((i - 1))]}"; rc=$?
        [ "$rc" = 0 ] || { echo "client $i: exit status $rc (124: a statement hung)"; bad=1; }
        [ "$(grep -c '^-- ' "$d/client$i.out")" = 50 ] || { echo "client $i ran $(grep -c '^-- ' "$d/client$i.out") of 50 statements"; bad=1; }
    done
    res=$(classify "$want" '^ERROR:  57014: canceling statement due to (statement timeout|user request)$' "$d"/client?.out)
    echo "$res" | head -1 | { read -r a e o; echo "answers $a, canceled $e, other $o; $sent cancels sent"
        [ "$o" = 0 ] && [ $((a + e)) -ge 200 ] && [ "$a" -gt 0 ] && [ "$e" -gt 0 ]; } || {
        echo "$res" | tail -n +2; echo "query: $join_query (want $want)"; bad=1; }
    grep -q 'due to user request' "$d"/client?.out || echo "(no cancel landed on a running statement)"
    [ "$bad" = 0 ] || return 1
    all_returned "$d" "$p" 5 || return 1
    got=$(psql_at "$d" "$p" -Atc "SET pg_fusion.enable = on" -c "$join_query" 2>&1)
    [ "$got" = "$want" ] || { echo "after: [$got] want [$want]"; return 1; }
}

terminate_and_kill_worker() {
    local d p=$((port + 3)) want i pids=() pid1 res got n=0
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "$join_tables" >/dev/null || return 1
    want=$(psql_at "$d" "$p" -Atc "$join_query") || return 1
    # Four clients, a connection per query, until told to stop (at most 300 queries each).
    for i in 1 2 3 4; do
        ( for _ in $(seq 1 300); do
              [ -e "$d/stop" ] && break
              client "$d" "$p" 60 -c "SET pg_fusion.enable = on" -c "SET statement_timeout = '60s'" -c "$join_query"
              echo "-- exit $?"
          done >"$d/client$i.out" 2>&1 ) &
        pids+=($!)
    done
    # Five terminations of a random running client backend (each retried until one is running).
    for _ in $(seq 1 300); do
        [ "$n" = 5 ] && break
        got=$(psql_at "$d" "$p" -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE backend_type = 'client backend' AND state = 'active' AND query LIKE 'SELECT count(*), sum(y.k)%'
                    AND pid <> pg_backend_pid() ORDER BY random() LIMIT 1" 2>&1)
        if [ "$got" = t ]; then n=$((n + 1)); sleep 0.2; else sleep 0.05; fi
    done
    # Then the worker, mid-query: the postmaster restarts everything (crash recovery).
    wait_for "$d" "$p" "SELECT value > 0 FROM pg_fusion_metrics() WHERE metric = 'worker_queries_running'" t 20
    pid1=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    [ -n "$pid1" ] || { touch "$d/stop"; wait; echo "no pg_fusion worker"; return 1; }
    kill -9 "$pid1"
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w WHERE pid <> $pid1" 1 60 || {
        touch "$d/stop"; wait; tail -20 "$d/server.log"; return 1; }
    # Let the clients run a query or two against the new worker, then stop them.
    wait_for "$d" "$p" "SELECT value >= 4 FROM pg_fusion_metrics() WHERE metric = 'queries_total'" t 30 || {
        touch "$d/stop"; wait; return 1; }
    touch "$d/stop"
    for i in "${pids[@]}"; do wait "$i"; done
    grep -q "terminated by signal 9" "$d/server.log" || { echo "no crash recovery in the server log"; return 1; }
    [ "$n" = 5 ] || { echo "$n of 5 backends terminated"; return 1; }
    ! grep -q '^-- exit 124' "$d"/client?.out || { echo "a client hung (killed after 60 s)"; return 1; }
    res=$(classify "$want" '(server closed the connection unexpectedly|connection to server was lost|no connection to the server|This probably means the server terminated abnormally|before or while processing the request|[Tt]erminating connection|57P01|57014|the database system is (in recovery mode|starting up|not yet accepting connections)|pg_fusion: worker (is not running|restarted during the query))' \
        "$d"/client?.out)
    echo "$res" | head -1 | { read -r a e o; echo "answers $a, allowed errors $e, other $o"
        [ "$o" = 0 ] && [ "$a" -gt 0 ]; } || { echo "$res" | tail -n +2; echo "query: $join_query (want $want)"; return 1; }
    got=$(psql_at "$d" "$p" -Atc "SET pg_fusion.enable = on" -c "$join_query" 2>&1)
    [ "$got" = "$want" ] || { echo "after: [$got] want [$want]"; return 1; }
    all_returned "$d" "$p" 5
}

union_all_100_tables() {
    local d p=$((port + 4)) q want got
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "DO \$\$ BEGIN FOR i IN 1..100 LOOP
        EXECUTE format('CREATE TABLE u%s AS SELECT g * %s AS v FROM generate_series(1, 50) g', i, i);
        END LOOP; END \$\$" -c "ANALYZE" >/dev/null || return 1
    q="SELECT count(*), sum(v) FROM ($(for i in $(seq 1 100); do
        [ "$i" = 1 ] || printf ' UNION ALL '; printf 'SELECT v FROM u%s' "$i"; done)) s"
    want=$(psql_at "$d" "$p" -Atc "$q") || return 1
    got=$(client "$d" "$p" 40 -c "SET statement_timeout = '30s'" -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
    [ "$got" = "$want" ] || { echo "defaults: [$got] want [$want]"; return 1; }
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql planner_fallback_total)")" -ge 1 ] || { echo "no fallback counted"; return 1; }
    got=$(client "$d" "$p" 40 -c "SET statement_timeout = '30s'" -c "SET pg_fusion.enable = on" \
        -c "SET pg_fusion.on_unsupported = fallback" -c "$q" 2>&1)
    [ "$got" = "$want" ] || { echo "fallback: [$got] want [$want]"; return 1; }
    all_returned "$d" "$p" 5
}

memory_under_64mb() {
    local d p=$((port + 5)) i j wpid sampler peak spilled pids=() qs
    d=$(new_cluster_dir)
    echo "pg_fusion.worker_memory_limit_mb = 64" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE m AS SELECT g AS id, md5(g::text) AS t, (g % 1000)::int AS k FROM generate_series(1, 1000000) g" \
        -c "ANALYZE m" >/dev/null || return 1
    qs=("SELECT count(*), sum(c), min(c) FROM (SELECT t, count(*) AS c FROM m GROUP BY t) x"
        "SELECT count(*), sum(a.k + b.k) FROM m a JOIN m b ON a.id = b.id")
    for j in "${!qs[@]}"; do psql_at "$d" "$p" -Atc "${qs[$j]}" >"$d/want.$j" || return 1; done
    wpid=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    ( while sleep 0.05; do awk '/RssAnon/ {print $2}' "/proc/$wpid/status" 2>/dev/null; done ) >"$d/rss.log" &
    sampler=$!
    for i in 1 2 3 4; do
        { echo "SET pg_fusion.enable = on;"; echo "SET statement_timeout = '120s';"
          for j in "${!qs[@]}"; do echo "${qs[$j]};"; done
        } | client "$d" "$p" 150 >"$d/client$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    kill "$sampler"
    cat "$d/want.0" "$d/want.1" >"$d/want"
    for i in 1 2 3 4; do
        cmp -s "$d/want" "$d/client$i.out" || { echo "client $i: $(head -c 600 "$d/client$i.out") want $(cat "$d/want")"; return 1; }
    done
    spilled=$(psql_at "$d" "$p" -Atc "$(metric_sql worker_spilled_bytes_total)")
    peak=$(sort -n "$d/rss.log" | tail -1)
    echo "figures: RssAnon peak ${peak} kB, spilled ${spilled} bytes"
    [ "$spilled" -gt 0 ] || { echo "nothing spilled"; return 1; }
    [ -n "$peak" ] && [ "$peak" -lt $(((64 + 96) * 1024)) ] || { echo "RssAnon peak ${peak} kB over 160 MB"; return 1; }
    all_returned "$d" "$p" 5
}

if [ "${1:-}" != "" ]; then
    cases=("$@")
else
    cases=(mixed_clients_small_pool cancels_and_timeouts terminate_and_kill_worker union_all_100_tables
           memory_under_64mb)
fi
for c in "${cases[@]}"; do
    run_case "$c"
done
echo "stress: $passed passed, $failed failed"
[ "$failed" = 0 ]
