#!/usr/bin/env bash
# Server-level behaviour that pg_regress cannot exercise: each case starts its own scratch
# cluster (own data directory, socket directory and port; never the system cluster).
#
#   startup_rejects_invalid_page_size     pg_fusion.page_size = 100 stops startup, naming it; so does
#                                         a page_count below the smallest query's need
#   create_extension_without_preload      a clear ERROR naming shared_preload_libraries
#   worker_restarts_after_kill_9          crash recovery, then a working worker again
#   worker_restarts_after_sigterm         pg_terminate_backend(worker) -> back within seconds
#   backend_exit_releases_slots           a terminated backend's slot is reclaimed
#   concurrent_backends_share_the_worker  more backends than control slots: all served, none lost
#   cancel_while_waiting_for_worker       statement_timeout interrupts a wait (57014), slot returned
#   drop_database_does_not_wait_for_the_worker  the worker absorbs ProcSignalBarriers
#   query_timeout_stops_the_worker_task   statement_timeout mid-query: 57014, task gone within 1 s
#   query_cancel_stops_the_worker_task    pg_cancel_backend mid-query: 57014, task gone within 1 s
#   backend_exit_mid_query                pg_terminate_backend mid-query: slots, pages, task freed
#   worker_restart_mid_query              the worker is terminated mid-query: a clean ERROR, no hang
#   worker_down_with_enable_on            a worker that cannot start: queries fail cleanly (08006)
#   datafusion_error_keeps_its_sqlstate   DataFusion's memory limit: 53200, pages returned; a shared
#                                         scan's queues count against the limit (53200 past it)
#   joins_under_a_small_pool              16 pages, two large leaves: credits and backpressure, no deadlock;
#                                         a self join reads one shared scan, its lagging reader
#                                         holds copies, never pages
#   scan_slot_reused_after_producer_error a producer's ERROR frees its slot for the next query
#   one_snapshot_under_concurrent_updates  a total invariant under concurrent transfers between two
#                                         tables (two leaves with parallel producers, two blocks)
#   statements_attributed_to_the_user_query  pg_stat_statements: one entry with every producer's
#                                         buffers; auto_explain: one plan, the leaf plans inside
#   backend_log_level_writes_the_server_log  level 2: a planned and an executed line per statement
#   scan_slots_all_at_once                3 scan slots: a 4-table join is refused at plan time
#                                         (0A000 naming scan_slot_count; fallback: PostgreSQL's
#                                         answer); 6 clients of 2-table joins all finish (a query
#                                         claims its leaves' slots all at once or waits holding none)
#   worker_files_under_the_data_directory  by default the worker log is pg_fusion.log in
#                                         log_directory (0600) and spill files go under
#                                         pg_fusion/spill in the data directory (0700); a crashed
#                                         worker's spill directories are removed at startup
#   role_share_of_control_slots           4 control slots, role_slot_share 50: a third session of one
#                                         role waits (57014 on its timeout) while another role's
#                                         query runs; once the role's cursors close it runs
#   pages_reserved_at_admission           8 pages: a 2-table join alone and three at once finish
#                                         (each reserves its pages before it starts, or waits); a
#                                         query waiting behind an open cursor times out and leaves
#                                         the queue; a 3-table join is refused at plan time naming
#                                         page_count;
#                                         16 pages: 8 clients mixing 2- and 3-table joins finish
#   hot_standby_runs_queries              a streaming standby: the primary's answers, replayed rows
#                                         included; a recovery-conflict cancel returns
#                                         every page and slot
#   shared_scan_spills_in_runs            under a 200-descriptor limit and 128 MB, a shared scan's
#                                         lagging reader spills hundreds of batches in runs (a file per
#                                         run, not per batch): PostgreSQL's answer, no EMFILE
#   driver_portals_fetch_in_parts         a portal executed with a row limit (JDBC's fetchSize):
#                                         the rows in 101 parts, pg_fusion queries between them;
#                                         cursors of one session fill the pool: the next fails at
#                                         once with 53000 instead of waiting on itself
#
# Prints one line per case and, last, "N passed, N failed". Exits non-zero on any failure.
# Arguments name cases to run (default: all); PG_FUSION_KEEP=1 leaves their clusters running.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
. "$top/tests/lib.sh"

port=${PG_FUSION_CLUSTER_TEST_PORT:-55440}
passed=0
failed=0
# Every cluster directory a case creates, one per line. A file, not an array: cases and
# new_cluster_dir run in $(...) subshells, whose variables the EXIT trap would never see.
registry=$(mktemp)

cleanup() {
    if [ -z "${PG_FUSION_KEEP:-}" ]; then
        while IFS= read -r d; do
            stop_cluster "$d"
            rm -rf "$d"
        done <"$registry"
    fi
    rm -f "$registry"
}
trap cleanup EXIT

new_cluster_dir() {
    local d
    d=$(pg_owned_tmpdir cluster)
    printf '%s\n' "$d" >>"$registry"
    printf '%s\n' "$d"
}

# Run one case: a function that returns 0 on success and prints why it failed otherwise.
run_case() {
    local name=$1 out
    if out=$("$name" 2>&1); then
        echo "ok   - $name"
        passed=$((passed + 1))
    else
        echo "FAIL - $name"
        printf '%s\n' "$out" | sed 's/^/       /' | tail -20
        failed=$((failed + 1))
    fi
}

# A cluster in a new directory on port $2 with the postgresql.conf line $1 does not start, and its
# log names the setting and its value ($3).
startup_rejects() {
    local d
    d=$(new_cluster_dir)
    echo "$1" | init_cluster "$d" "$2"
    if start_cluster "$d" 2>/dev/null; then
        echo "server started with $1"
        return 1
    fi
    grep -q "invalid value for parameter $3" "$d/server.log" || {
        echo "server log lacks the message:"; cat "$d/server.log"; return 1; }
    grep -q 'outside the valid range' "$d/server.log" || { cat "$d/server.log"; return 1; }
}

startup_rejects_invalid_page_size() {
    local p=$((port + 1))
    startup_rejects "pg_fusion.page_size = 100" "$p" '"pg_fusion.page_size": "100"' || return 1
    # Fewer pages than the smallest query needs: it would wait forever.
    startup_rejects "pg_fusion.page_count = 4" "$p" '"pg_fusion.page_count": "4"'
}

create_extension_without_preload() {
    local d p=$((port + 2)) out
    d=$(new_cluster_dir)
    init_cluster "$d" "$p" nopreload </dev/null
    start_cluster "$d" || { cat "$d/server.log"; return 1; }
    out=$(psql_at "$d" "$p" -c "CREATE EXTENSION pg_fusion" 2>&1) && {
        echo "CREATE EXTENSION succeeded without the preload"; return 1; }
    printf '%s\n' "$out" | grep -q "pg_fusion: must be loaded via shared_preload_libraries" || {
        echo "unexpected error: $out"; return 1; }
    printf '%s\n' "$out" | grep -q "HINT:.*shared_preload_libraries" || { echo "no hint: $out"; return 1; }
    # The server is still up and answering.
    [ "$(psql_at "$d" "$p" -Atc 'SELECT 1')" = 1 ] || { echo "server not answering"; return 1; }
}

worker_restarts_after_kill_9() {
    local d p=$((port + 3)) pid1 pid2
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    pid1=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    kill -9 "$pid1"
    # The postmaster reinitialises shared memory and restarts everything, worker included.
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w WHERE pid <> $pid1" 1 60 || {
        tail -20 "$d/server.log"; return 1; }
    grep -q "terminated by signal 9" "$d/server.log" || { echo "no crash recovery in the log"; return 1; }
    pid2=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    [ "$(psql_at "$d" "$p" -Atc 'SELECT pg_fusion_ping()')" = "$pid2" ] || { echo "ping failed after restart"; return 1; }
    [ "$(psql_at "$d" "$p" -Atc "SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use'")" = 0 ] || return 1
}

worker_restarts_after_sigterm() {
    local d p=$((port + 4)) pid1 out
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    pid1=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    psql_at "$d" "$p" -Atc "SELECT pg_terminate_backend($pid1)" >/dev/null
    # While it is away a ping fails cleanly (or already reaches the new worker), never hangs.
    out=$(as_pg timeout 15 "$(pg_bindir)/psql" -X -h "$d" -p "$p" -U postgres -d postgres \
        -Atc "SELECT pg_fusion_ping()" 2>&1)
    case "$out" in
        *"pg_fusion: worker is not running"*|[0-9]*) ;;
        *) echo "unexpected answer while the worker restarts: $out"; return 1 ;;
    esac
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w WHERE pid <> $pid1" 1 30 || return 1
    psql_at "$d" "$p" -Atc "SELECT pg_fusion_ping() > 0" | grep -q t
}

backend_exit_releases_slots() {
    local d p=$((port + 5))
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    # A backend that pings in a loop is terminated mid-way; its slot must come back.
    as_pg "$(pg_bindir)/psql" -X -q -h "$d" -p "$p" -U postgres -d postgres \
        -c "SELECT pg_fusion_ping() FROM generate_series(1, 10000000)" >/dev/null 2>&1 &
    sleep 1
    psql_at "$d" "$p" -Atc "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE query LIKE 'SELECT pg_fusion_ping() FROM generate_series%'
                              AND pid <> pg_backend_pid()" >/dev/null
    wait
    wait_for "$d" "$p" "SELECT value FROM pg_fusion_metrics() WHERE metric = 'control_slots_in_use'" 0 10 || return 1
    wait_for "$d" "$p" "SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use'" 0 10
}

concurrent_backends_share_the_worker() {
    local d p=$((port + 6)) i
    d=$(new_cluster_dir)
    echo "pg_fusion.control_slot_count = 4" | start_preloaded "$d" "$p" || return 1
    # Eight backends over four slots: the extra ones wait for a slot, none fails.
    for i in $(seq 1 8); do
        psql_at "$d" "$p" -Atc "SELECT count(DISTINCT pg_fusion_ping()) FROM generate_series(1, 3000)" \
            >"$d/ping.$i.out" 2>&1 &
    done
    wait
    for i in $(seq 1 8); do
        [ "$(cat "$d/ping.$i.out")" = 1 ] || { echo "backend $i: $(cat "$d/ping.$i.out")"; return 1; }
    done
    [ "$(psql_at "$d" "$p" -Atc "SELECT value FROM pg_fusion_metrics() WHERE metric = 'worker_pings_total'")" = 24000 ] || return 1
    [ "$(psql_at "$d" "$p" -Atc "SELECT value FROM pg_fusion_metrics() WHERE metric = 'control_slots_in_use'")" = 0 ]
}

cancel_while_waiting_for_worker() {
    local d p=$((port + 7)) pid out rc=0
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    pid=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    # A stopped worker never answers: the backend must honour statement_timeout while it waits,
    # give its slot back, and report PostgreSQL's own cancel error (57014).
    kill -STOP "$pid"
    out=$(psql_at "$d" "$p" -v VERBOSITY=verbose -Atc "SET statement_timeout = '500ms'; SELECT pg_fusion_ping()" 2>&1) || rc=$?
    kill -CONT "$pid"
    [ "$rc" != 0 ] || { echo "ping succeeded against a stopped worker: $out"; return 1; }
    printf '%s\n' "$out" | grep -q "57014: canceling statement due to statement timeout" || { echo "$out"; return 1; }
    wait_for "$d" "$p" "SELECT value FROM pg_fusion_metrics() WHERE metric = 'control_slots_in_use'" 0 5 || return 1
    # The worker drops the cancelled session's request and serves the next one.
    [ "$(psql_at "$d" "$p" -Atc 'SELECT pg_fusion_ping()')" = "$pid" ]
}

drop_database_does_not_wait_for_the_worker() {
    local d p=$((port + 8))
    d=$(new_cluster_dir)
    init_cluster "$d" "$p" </dev/null
    start_cluster "$d" || { cat "$d/server.log"; return 1; }
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w" 1 || return 1
    # DROP DATABASE emits a ProcSignalBarrier every process must absorb, the worker included.
    psql_at "$d" "$p" -c "CREATE DATABASE scratch" >/dev/null || return 1
    as_pg timeout 20 "$(pg_bindir)/psql" -X -q -h "$d" -p "$p" -U postgres -d postgres \
        -c "DROP DATABASE scratch" || { echo "DROP DATABASE did not finish in 20 s"; return 1; }
    # A cancel sent to the worker does not stop it: the same worker answers afterwards.
    local pid
    pid=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    psql_at "$d" "$p" -Atc "SELECT pg_cancel_backend($pid)" >/dev/null
    psql_at "$d" "$p" -c "CREATE EXTENSION pg_fusion" >/dev/null || return 1
    sleep 0.5
    [ "$(psql_at "$d" "$p" -Atc 'SELECT pg_fusion_ping()')" = "$pid" ] || { echo "worker changed after a cancel"; return 1; }
}

# --- queries -------------------------------------------------------------------------------

# A table whose pg_fusion query runs for seconds: the scan SQL does real work per row.
slow_table_sql="CREATE TABLE big AS SELECT g AS a, g % 1000 AS b, (g * 7) % 1000003 AS c
                FROM generate_series(1, 2000000) g"
slow_query="SELECT b, count(DISTINCT c) FROM big WHERE md5(repeat(a::text, 40)) <> '' GROUP BY b"

# Start $slow_query with pg_fusion on in the background (output in $1/slow.out); return once it
# is running in the worker.
start_slow_query() {
    local d=$1 p=$2
    as_pg "$(pg_bindir)/psql" -X -h "$d" -p "$p" -U postgres -d postgres -v VERBOSITY=verbose \
        -c "SET pg_fusion.enable = on" -c "$slow_query" >"$d/slow.out" 2>&1 &
    wait_for "$d" "$p" "$(metric_sql worker_queries_running)" 1 10
}

slow_query_pid_sql="SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT b, count(DISTINCT c)%'
                    AND pid <> pg_backend_pid()"

# The query still works afterwards, and gives PostgreSQL's answer.
query_still_works() {
    local d=$1 p=$2 on off
    on=$(psql_at "$d" "$p" -Atc "SET pg_fusion.enable = on; SELECT count(*), sum(c) FROM big WHERE b < 10")
    off=$(psql_at "$d" "$p" -Atc "SELECT count(*), sum(c) FROM big WHERE b < 10")
    [ -n "$on" ] && [ "$on" = "$off" ] || { echo "after: on [$on] off [$off]"; return 1; }
}

query_timeout_stops_the_worker_task() {
    local d p=$((port + 9)) out rc=0
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "$slow_table_sql" >/dev/null || return 1
    out=$(psql_at "$d" "$p" -v VERBOSITY=verbose -c "SET pg_fusion.enable = on" \
        -c "SET statement_timeout = '700ms'" -c "$slow_query" 2>&1) || rc=$?
    [ "$rc" != 0 ] || { echo "the query finished before the timeout: $out"; return 1; }
    printf '%s\n' "$out" | grep -q "57014: canceling statement due to statement timeout" || { echo "$out"; return 1; }
    all_returned "$d" "$p" 1 || return 1
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql queries_canceled_total)")" = 1 ] || return 1
    query_still_works "$d" "$p"
}

query_cancel_stops_the_worker_task() {
    local d p=$((port + 10))
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "$slow_table_sql" >/dev/null || return 1
    start_slow_query "$d" "$p" || return 1
    psql_at "$d" "$p" -Atc "SELECT pg_cancel_backend(pid) FROM ($slow_query_pid_sql) q" >/dev/null
    wait
    grep -q "57014: canceling statement due to user request" "$d/slow.out" || { cat "$d/slow.out"; return 1; }
    all_returned "$d" "$p" 1 || return 1
    query_still_works "$d" "$p"
}

backend_exit_mid_query() {
    local d p=$((port + 11))
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "$slow_table_sql" >/dev/null || return 1
    start_slow_query "$d" "$p" || return 1
    psql_at "$d" "$p" -Atc "SELECT pg_terminate_backend(pid) FROM ($slow_query_pid_sql) q" >/dev/null
    wait
    grep -q "terminating connection due to administrator command" "$d/slow.out" || { cat "$d/slow.out"; return 1; }
    all_returned "$d" "$p" 1 || return 1
    query_still_works "$d" "$p"
}

worker_restart_mid_query() {
    local d p=$((port + 12)) pid1
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "$slow_table_sql" >/dev/null || return 1
    pid1=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    start_slow_query "$d" "$p" || return 1
    psql_at "$d" "$p" -Atc "SELECT pg_terminate_backend($pid1)" >/dev/null
    # The backend notices within its wait slice; it must not wait for the new worker.
    local t0=$SECONDS
    wait
    [ $((SECONDS - t0)) -le 10 ] || { echo "the query took $((SECONDS - t0)) s to notice"; return 1; }
    grep -qE "08006: pg_fusion: worker (is not running|restarted during the query)" "$d/slow.out" || {
        cat "$d/slow.out"; return 1; }
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w WHERE pid <> $pid1" 1 30 || return 1
    all_returned "$d" "$p" 5 || return 1
    query_still_works "$d" "$p"
}

worker_down_with_enable_on() {
    local d p=$((port + 13)) out rc=0
    d=$(new_cluster_dir)
    # A spill directory the worker cannot create: it fails at start, again and again.
    printf '%s\n' "pg_fusion.worker_memory_limit_mb = 64" \
        "pg_fusion.worker_spill_directory = '/proc/pg_fusion_cannot_create'" | init_cluster "$d" "$p"
    start_cluster "$d" || { cat "$d/server.log"; return 1; }
    psql_at "$d" "$p" -c "CREATE EXTENSION pg_fusion" -c "CREATE TABLE t AS SELECT 1 AS x" >/dev/null || return 1
    out=$(as_pg timeout 15 "$(pg_bindir)/psql" -X -h "$d" -p "$p" -U postgres -d postgres -v VERBOSITY=verbose \
        -c "SET pg_fusion.enable = on" -c "SELECT count(*) FROM t" 2>&1) || rc=$?
    [ "$rc" = 1 ] || { echo "rc $rc: $out"; return 1; }
    printf '%s\n' "$out" | grep -q "08006: pg_fusion: worker is not running" || { echo "$out"; return 1; }
    grep -q 'cannot create the spill directory "/proc/pg_fusion_cannot_create' "$d/server.log" || {
        echo "the server log does not say why the worker stopped"; tail "$d/server.log"; return 1; }
    # With pg_fusion off the same query runs natively.
    [ "$(psql_at "$d" "$p" -Atc "SELECT count(*) FROM t")" = 1 ] || return 1
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql pages_in_use)")" = 0 ] || return 1
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql control_slots_in_use)")" = 0 ]
}

datafusion_error_keeps_its_sqlstate() {
    local d p=$((port + 14)) out rc=0
    d=$(new_cluster_dir)
    echo "pg_fusion.worker_memory_limit_mb = 1" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "$slow_table_sql" >/dev/null || return 1
    # count(DISTINCT) over two million values cannot spill: DataFusion's pool refuses.
    out=$(psql_at "$d" "$p" -v VERBOSITY=verbose -c "SET pg_fusion.enable = on" \
        -c "SELECT count(DISTINCT c) FROM big" 2>&1) || rc=$?
    [ "$rc" != 0 ] || { echo "the query succeeded under a 1 MB limit: $out"; return 1; }
    printf '%s\n' "$out" | grep -q "ERROR:  53200: pg_fusion: Resources exhausted" || { echo "$out"; return 1; }
    all_returned "$d" "$p" 2 || return 1
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql queries_failed_total)")" = 1 ] || return 1
    # A self join reads one shared scan under the limit too: its lagging reader's queue counts
    # against the pool, and past it the query fails with 53200, everything returned.
    out=$(psql_at "$d" "$p" -Atc "SET pg_fusion.enable = on" \
        -c "EXPLAIN SELECT count(*) FROM big x JOIN big y ON x.a = y.a" 2>&1)
    grep -q "Reads Shared Scan" <<<"$out" || { echo "no shared scan under a memory limit: $out"; return 1; }
    out=$(psql_at "$d" "$p" -v VERBOSITY=verbose -c "SET pg_fusion.enable = on" \
        -c "SELECT count(*) FROM big x JOIN big y ON x.a = y.a" 2>&1) && {
        echo "a 2M-row self join ran under a 1 MB limit: $out"; return 1; }
    printf '%s\n' "$out" | grep -q "ERROR:  53200: pg_fusion: Resources exhausted" || { echo "$out"; return 1; }
    all_returned "$d" "$p" 2 || return 1
    query_still_works "$d" "$p"
}

joins_under_a_small_pool() {
    local d p=$((port + 15)) q on off
    d=$(new_cluster_dir)
    # 16 pages of 64 kB for two leaves of ~400k rows each: producers must wait for credits and
    # pages (the probe side while the build side loads) without deadlocking.
    echo "pg_fusion.page_count = 16" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE ja AS SELECT g AS id, g % 97 AS k, md5(g::text) AS pad FROM generate_series(1, 400000) g" \
        -c "CREATE TABLE jb AS SELECT g AS id, g % 13 AS k FROM generate_series(1, 400000) g" -c "ANALYZE ja, jb" >/dev/null || return 1
    for q in "SELECT jb.k, count(*), sum(ja.k), count(DISTINCT ja.pad) FROM ja JOIN jb ON ja.id = jb.id GROUP BY jb.k ORDER BY 1" \
             "SELECT count(*), count(jb.id) FROM ja LEFT JOIN jb ON jb.id = ja.id + 200000" \
             "SELECT count(*), sum(a2.k), count(DISTINCT a1.pad) FROM ja a1 JOIN ja a2 ON a2.id = a1.id + 1 WHERE a1.k < 50"; do
        on=$(psql_at "$d" "$p" -Atc "SET statement_timeout = '120s'; SET pg_fusion.enable = on; $q" 2>&1)
        off=$(psql_at "$d" "$p" -Atc "$q")
        [ -n "$on" ] && [ "$on" = "$off" ] || { echo "[$q] on [$on] off [$off]"; return 1; }
    done
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql scan_credit_wait_total)")" -gt 0 ] || {
        echo "no producer ever waited for credit"; return 1; }
    all_returned "$d" "$p" 2
}

scan_slot_reused_after_producer_error() {
    local d p=$((port + 15)) out
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE t AS SELECT g AS id, g::numeric(10,2) AS n FROM generate_series(1, 1000) g" \
        -c "CREATE TABLE wide AS SELECT string_agg(md5(g::text), '') AS w FROM generate_series(1, 3000) g" >/dev/null || return 1
    # A producer failing at its first row (54000) frees its scan slot while the worker's leaf
    # still polls it; the next query takes the same slot at once. Its frames belong to it alone
    # (a stale leaf once consumed them and the query waited forever: about one run in fifteen).
    out=$( { echo "SET statement_timeout = '10s'"; echo "SET pg_fusion.enable = on"
             for _ in $(seq 1 60); do echo "SELECT count(w) FROM wide;"; echo "SELECT count(*), sum(n) FROM t;"; done
           } | psql_at "$d" "$p" -At -v ON_ERROR_STOP=0 2>&1)
    [ "$(printf '%s\n' "$out" | grep -c '^1000|500500.00$')" = 60 ] || {
        printf '%s\n' "$out" | grep -v "54000\|does not fit\|page_size" | head; return 1; }
    all_returned "$d" "$p" 5
}

one_snapshot_under_concurrent_updates() {
    local d p=$((port + 16)) i out bad=0 mix
    d=$(new_cluster_dir)
    printf 'min_parallel_table_scan_size = 0\nmax_parallel_workers_per_gather = 2\n' | start_preloaded "$d" "$p" || return 1
    # Transfers between two tables keep their total; full pages make the updated rows move.
    psql_at "$d" "$p" -c "CREATE TABLE acct_a (id int PRIMARY KEY, bal int NOT NULL, pad text) WITH (fillfactor = 100)" \
        -c "CREATE TABLE acct_b (LIKE acct_a INCLUDING ALL)" \
        -c "INSERT INTO acct_a SELECT i, 100, repeat('p', 200) FROM generate_series(1, 20000) i" \
        -c "INSERT INTO acct_b SELECT * FROM acct_a" -c "VACUUM ANALYZE acct_a, acct_b" >/dev/null || return 1
    printf '%s\n' '\set a random(1, 20000)' '\set b random(1, 20000)' '\set m random(-9, 9)' 'BEGIN;' \
        'UPDATE acct_a SET bal = bal - :m, pad = pad WHERE id = :a;' 'UPDATE acct_b SET bal = bal + :m WHERE id = :b;' 'END;' \
        | as_pg tee "$d/transfer.sql" >/dev/null
    as_pg "$(pg_bindir)/pgbench" -n -h "$d" -p "$p" -U postgres -c 2 -T 10 -f "$d/transfer.sql" postgres \
        >"$d/pgbench.out" 2>&1 &
    sleep 1
    # Every leaf and every producer of a statement read one snapshot: the total stays the same
    # over two leaves of one block (a join, parallel workers on both) and two blocks (UNION ALL).
    for i in $(seq 1 10); do
        out=$(psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" \
            -c "SELECT sum(x.bal) + sum(y.bal) FROM acct_a x JOIN acct_b y ON x.id = y.id" \
            -c "SELECT sum(s) FROM (SELECT sum(bal) AS s FROM acct_a UNION ALL SELECT sum(bal) FROM acct_b) u" 2>&1)
        [ "$out" = "$(printf '4000000\n4000000')" ] || { echo "round $i: $out"; bad=1; }
    done
    mix=$(psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" \
        -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) SELECT sum(x.bal) + sum(y.bal) FROM acct_a x JOIN acct_b y ON x.id = y.id" \
        | grep -c 'Scan Producers Actual: 3')
    wait
    grep -q "number of transactions actually processed" "$d/pgbench.out" || { cat "$d/pgbench.out"; return 1; }
    [ "$mix" = 2 ] || { echo "leaves read by 3 producers: $mix of 2"; return 1; }
    [ "$bad" = 0 ] && all_returned "$d" "$p" 5
}

statements_attributed_to_the_user_query() {
    local d p=$((port + 17)) n blocks hits
    d=$(new_cluster_dir)
    printf '%s\n' "shared_preload_libraries = 'pg_fusion,pg_stat_statements,auto_explain'" \
        "pg_stat_statements.track = 'all'" "auto_explain.log_min_duration = 0" "auto_explain.log_analyze = on" \
        "auto_explain.log_buffers = on" "min_parallel_table_scan_size = 0" "max_parallel_workers_per_gather = 2" \
        | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE EXTENSION pg_stat_statements" \
        -c "CREATE TABLE t AS SELECT i AS id, i % 10 AS g, repeat('x', 100) AS pad FROM generate_series(1, 50000) i" \
        -c "VACUUM ANALYZE t" -c "SELECT pg_stat_statements_reset()" >/dev/null || return 1
    psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" \
        -c "SELECT /* pgf_marker */ g, count(*) FROM t GROUP BY g ORDER BY g" >/dev/null || return 1
    # One entry, the user's statement; the leaves carry no query id and are never entries.
    n=$(psql_at "$d" "$p" -Atc "SELECT count(*) || ':' || sum(calls) FROM pg_stat_statements WHERE query LIKE '%pgf_marker%' AND query NOT LIKE '%pg_stat_statements%'")
    [ "$n" = "1:1" ] || { echo "statements for the query: $n"; psql_at "$d" "$p" -c "SELECT query, calls FROM pg_stat_statements"; return 1; }
    n=$(psql_at "$d" "$p" -Atc "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%AS c1%'")
    [ "$n" = 0 ] || { echo "a leaf has an entry of its own"; return 1; }
    # Its buffers are every producer's, the parallel workers' included: the table at least once.
    blocks=$(psql_at "$d" "$p" -Atc "SELECT pg_relation_size('t') / 8192")
    hits=$(psql_at "$d" "$p" -Atc "SELECT shared_blks_hit + shared_blks_read FROM pg_stat_statements WHERE query LIKE '%pgf_marker%' AND query NOT LIKE '%pg_stat_statements%'")
    [ "$hits" -ge "$blocks" ] || { echo "buffers $hits for a table of $blocks blocks"; return 1; }
    # auto_explain logs the statement once, its leaf plan inside the PgFusionScan.
    n=$(grep -c 'Custom Scan (PgFusionScan)' "$d/server.log")
    [ "$n" = 1 ] || { echo "auto_explain logged $n PgFusionScan plans"; return 1; }
    grep -q 'PostgreSQL Plan:' "$d/server.log" || { echo "no leaf plan in the auto_explain output"; return 1; }
    all_returned "$d" "$p" 5
}

backend_log_level_writes_the_server_log() {
    local d p=$((port + 18)) n
    d=$(new_cluster_dir)
    start_preloaded "$d" "$p" </dev/null || return 1
    psql_at "$d" "$p" -c "CREATE TABLE t AS SELECT i AS id FROM generate_series(1, 1000) i" >/dev/null || return 1
    n=$(psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "SET pg_fusion.backend_log_level = 2" \
        -c "SELECT count(*) FROM t WHERE id % 2 = 0") || return 1
    [ "$n" = 500 ] || { echo "count: $n"; return 1; }
    grep -q 'LOG:  pg_fusion: planned: 1 scan leaf (1 planned by PostgreSQL, 0 shared)' "$d/server.log" || { echo "no planned line"; tail -5 "$d/server.log"; return 1; }
    grep -q 'LOG:  pg_fusion: executed: 1 rows in [0-9.]* ms, 1 scan leaf, producers [0-9]* of [0-9]* started$' "$d/server.log" \
        || { echo "no executed line"; tail -5 "$d/server.log"; return 1; }
    # Level 0 (the default) writes nothing.
    psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "SELECT count(*) FROM t /* quiet */" >/dev/null || return 1
    n=$(grep -c 'LOG:  pg_fusion: \(planned\|executed\)' "$d/server.log")
    [ "$n" = 2 ] || { echo "$n diagnostic lines, want 2"; return 1; }
}

scan_slots_all_at_once() {
    local d p=$((port + 19)) out i pids=() want got q
    d=$(new_cluster_dir)
    echo "pg_fusion.scan_slot_count = 3" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE s1 AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 200000) g" \
        -c "CREATE TABLE s2 AS SELECT * FROM s1" -c "CREATE TABLE s3 AS SELECT * FROM s1" \
        -c "CREATE TABLE s4 AS SELECT * FROM s1" -c "ANALYZE" >/dev/null || return 1
    q="SELECT count(*) FROM s1 JOIN s2 USING (id) JOIN s3 USING (id) JOIN s4 USING (id)"
    out=$(psql_at "$d" "$p" -Atc "SET statement_timeout = '30s'" -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
    # More leaves than slots: PostgreSQL's plan runs it (never a wait for itself).
    [ "$out" = 200000 ] || { echo "4-table join: $out"; return 1; }
    out=$(psql_at "$d" "$p" -Atc "SET statement_timeout = '30s'" -c "SET pg_fusion.enable = on" \
        -c "SET pg_fusion.on_unsupported = fallback" -c "$q" 2>&1)
    [ "$out" = 200000 ] || { echo "4-table join under fallback: $out"; return 1; }
    # Two leaves each, six clients, three slots: without claiming all at once, three queries
    # holding one slot each would wait for each other forever.
    q="SELECT count(*), sum(s2.k) FROM s1 JOIN s2 ON s1.id = s2.id WHERE s1.k < 5"
    want=$(psql_at "$d" "$p" -Atc "$q") || return 1
    for i in 1 2 3 4 5 6; do
        psql_at "$d" "$p" -At -c "SET statement_timeout = '60s'" -c "SET pg_fusion.enable = on" \
            -c "$q" -c "$q" -c "$q" >"$d/client$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in 1 2 3 4 5 6; do
        got=$(sort -u "$d/client$i.out")
        [ "$got" = "$want" ] || { echo "client $i: $(head -3 "$d/client$i.out") (want $want)"; return 1; }
    done
    all_returned "$d" "$p" 2
}

# On cluster $1 (port $2), run query $4 in $5 clients at once, each $6 times; every client's
# distinct answers must be $7 (one line). $3 names the clients' output files.
clients_agree() {
    local d=$1 p=$2 tag=$3 q=$4 n=$5 times=$6 want=$7 i pids=() got
    for i in $(seq 1 "$n"); do
        { echo "SET statement_timeout = '90s';"; echo "SET pg_fusion.enable = on;"
          for _ in $(seq 1 "$times"); do echo "$q;"; done
        } | psql_at "$d" "$p" -At >"$d/$tag$i.out" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    for i in $(seq 1 "$n"); do
        got=$(sort -u "$d/$tag$i.out")
        [ "$got" = "$want" ] || { echo "[$q] client $i: $(head -3 "$d/$tag$i.out") (want $want)"; return 1; }
    done
}

worker_files_under_the_data_directory() {
    local d p=$((port + 21)) data
    d=$(new_cluster_dir)
    data=$d/data
    printf '%s\n' "pg_fusion.log_path = ''" "pg_fusion.worker_memory_limit_mb = 64" "pg_fusion.worker_log_filter = info" \
        | init_cluster "$d" "$p"
    start_cluster "$d" || { cat "$d/server.log"; return 1; }
    psql_at "$d" "$p" -c "CREATE EXTENSION pg_fusion" >/dev/null || return 1
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w" 1 || return 1
    [ -f "$data/log/pg_fusion.log" ] || { echo "no worker log in $data/log: $(ls -la "$data/log" 2>&1)"; return 1; }
    [ "$(stat -c %a "$data/log/pg_fusion.log")" = 600 ] || { echo "log mode $(stat -c %a "$data/log/pg_fusion.log")"; return 1; }
    grep -q "pg_fusion worker ready" "$data/log/pg_fusion.log" || { echo "log: $(cat "$data/log/pg_fusion.log")"; return 1; }
    [ "$(stat -c %a "$data/pg_fusion/spill")" = 700 ] || { echo "spill mode $(stat -c %a "$data/pg_fusion/spill")"; return 1; }
    # What a crashed worker left: removed at the next start, and only that.
    stop_cluster "$d"
    as_pg mkdir "$data/pg_fusion/spill/datafusion-left0ver" || return 1
    as_pg touch "$data/pg_fusion/spill/datafusion-left0ver/spill.arrow" "$data/pg_fusion/spill/keep.me" || return 1
    start_cluster "$d" || { cat "$d/server.log"; return 1; }
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w" 1 || return 1
    [ ! -e "$data/pg_fusion/spill/datafusion-left0ver" ] || { echo "a leftover spill directory survived startup"; return 1; }
    [ -e "$data/pg_fusion/spill/keep.me" ] || { echo "startup removed a file that is not DataFusion's"; return 1; }
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql worker_spill_leaked_files_total)")" = 1 ] || {
        echo "worker_spill_leaked_files_total is not 1"; return 1; }
}

role_share_of_control_slots() {
    local d p=$((port + 22)) q want out pids=()
    d=$(new_cluster_dir)
    printf '%s\n' "pg_fusion.control_slot_count = 4" "pg_fusion.role_slot_share = 50" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE rs AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 100000) g" \
        -c "CREATE ROLE alice LOGIN" -c "GRANT SELECT ON rs TO alice" >/dev/null || return 1
    q="SELECT k, count(*) FROM rs GROUP BY k ORDER BY k"
    want=$(psql_at "$d" "$p" -Atc "$q") || return 1
    # Two of alice's sessions hold a control slot each (an open cursor), her share of four.
    for _ in 1 2; do
        psql_at "$d" "$p" -U alice -At -c "SET pg_fusion.enable = on" -c "BEGIN" -c "DECLARE c NO SCROLL CURSOR FOR $q" \
            -c "FETCH 1 FROM c" -c "SELECT pg_sleep(4)" -c "COMMIT" >/dev/null 2>&1 &
        pids+=($!)
    done
    wait_for "$d" "$p" "$(metric_sql control_slots_in_use)" 2 10 || return 1
    out=$(psql_at "$d" "$p" -U alice -Atc "SET statement_timeout = '1s'" -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
    grep -q 'canceling statement due to statement timeout' <<<"$out" || { echo "alice's third query: $out"; return 1; }
    out=$(psql_at "$d" "$p" -Atc "SET statement_timeout = '10s'" -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
    [ "$out" = "$want" ] || { echo "another role's query: $out"; return 1; }
    for i in "${pids[@]}"; do wait "$i"; done
    out=$(psql_at "$d" "$p" -U alice -Atc "SET statement_timeout = '10s'" -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
    [ "$out" = "$want" ] || { echo "alice after her cursors closed: $out"; return 1; }
    all_returned "$d" "$p" 2
}

pages_reserved_at_admission() {
    local d p=$((port + 20)) out two three want2 want3 pids=()
    d=$(new_cluster_dir)
    echo "pg_fusion.page_count = 8" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE r1 AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 300000) g" \
        -c "CREATE TABLE r2 AS SELECT * FROM r1" -c "CREATE TABLE r3 AS SELECT * FROM r1" -c "ANALYZE" >/dev/null || return 1
    two="SELECT count(*), sum(r2.k) FROM r1 JOIN r2 ON r1.id = r2.id WHERE r1.k < 5"
    three="SELECT count(*), sum(r3.k) FROM r1 JOIN r2 USING (id) JOIN r3 USING (id)"
    want2=$(psql_at "$d" "$p" -Atc "$two") && want3=$(psql_at "$d" "$p" -Atc "$three") || return 1
    # Three joins at once on 8 pages: without a reservation per query, their probe sides (which
    # filled their credits while the build side loaded, before credits came on the first read)
    # took every page and all waited.
    clients_agree "$d" "$p" alone "$two" 1 1 "$want2" || return 1
    clients_agree "$d" "$p" three "$two" 3 2 "$want2" || return 1
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql admission_wait_total)")" -gt 0 ] || {
        echo "no query ever waited for admission"; return 1; }
    # An open cursor keeps its query's pages reserved: another query waits in the admission
    # queue until its statement_timeout, leaves the queue, and the next one runs once the
    # cursor is closed.
    psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "BEGIN" -c "DECLARE c NO SCROLL CURSOR FOR $two" \
        -c "FETCH 1 FROM c" -c "SELECT pg_sleep(4)" -c "COMMIT" >"$d/cursor.out" 2>&1 &
    pids+=($!)
    wait_for "$d" "$p" "$(metric_sql pages_reserved)" 8 10 || return 1
    psql_at "$d" "$p" -Atc "SET statement_timeout = '2s'" -c "SET pg_fusion.enable = on" -c "$two" >"$d/waiter.out" 2>&1 &
    # The waiter shows in pg_stat_activity, waiting in the PgFusionAdmission wait event
    # (Extension before PostgreSQL 17).
    local event=PgFusionAdmission
    [ "$(psql_at "$d" "$p" -Atc "SHOW server_version_num")" -lt 170000 ] && event=Extension
    wait_for "$d" "$p" "SELECT wait_event_type || ':' || wait_event FROM pg_stat_activity WHERE query = '$two' AND state = 'active'" \
        "Extension:$event" 5 || return 1
    wait "$!"
    grep -q 'canceling statement due to statement timeout' "$d/waiter.out" || { echo "waiting query: $(cat "$d/waiter.out")"; return 1; }
    wait "${pids[0]}" || { cat "$d/cursor.out"; return 1; }
    pids=()
    clients_agree "$d" "$p" after "$two" 1 1 "$want2" || return 1
    out=$(psql_at "$d" "$p" -Atc "SET statement_timeout = '30s'" -c "SET pg_fusion.enable = on" -c "$three" 2>&1)
    # Its minimum budget (11 pages) exceeds the pool: PostgreSQL's plan runs it.
    [ "$out" = "$want3" ] || { echo "3-table join: $out (want $want3)"; return 1; }
    out=$(psql_at "$d" "$p" -Atc "SET statement_timeout = '30s'" -c "SET pg_fusion.enable = on" \
        -c "SET pg_fusion.on_unsupported = fallback" -c "$three" 2>&1)
    [ "$out" = "$want3" ] || { echo "3-table join under fallback: $out (want $want3)"; return 1; }
    all_returned "$d" "$p" 2 || return 1
    stop_cluster "$d"
    d=$(new_cluster_dir)
    echo "pg_fusion.page_count = 16" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE r1 AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 300000) g" \
        -c "CREATE TABLE r2 AS SELECT * FROM r1" -c "CREATE TABLE r3 AS SELECT * FROM r1" -c "ANALYZE" >/dev/null || return 1
    clients_agree "$d" "$p" two "$two" 4 3 "$want2" &
    pids+=($!)
    clients_agree "$d" "$p" three "$three" 4 3 "$want3" &
    pids+=($!)
    for i in "${pids[@]}"; do wait "$i" || return 1; done
    all_returned "$d" "$p" 2
}

# max_fusion_tasks = 1: a second query waits at admission while the first holds the worker's one
# task (an open cursor), holding no scan slot and no page; it runs once the first ends.
max_fusion_tasks_queues_at_admission() {
    local d p=$((port + 24)) q want out cursor
    d=$(new_cluster_dir)
    echo "pg_fusion.max_fusion_tasks = 1" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE mt AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 100000) g" -c "ANALYZE mt" >/dev/null || return 1
    q="SELECT k, count(*) FROM mt GROUP BY k ORDER BY k"
    want=$(psql_at "$d" "$p" -Atc "$q") || return 1
    psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "BEGIN" -c "DECLARE c NO SCROLL CURSOR FOR $q" \
        -c "FETCH 1 FROM c" -c "SELECT pg_sleep(3)" -c "COMMIT" >"$d/cursor.out" 2>&1 &
    cursor=$!
    wait_for "$d" "$p" "$(metric_sql scan_slots_in_use)" 1 10 || return 1
    psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "$q" >"$d/waiter.out" 2>&1 &
    wait_for "$d" "$p" "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Extension' AND query = '$q'" 1 10 || return 1
    # The waiter holds nothing: one query's scan slot in use.
    [ "$(psql_at "$d" "$p" -Atc "$(metric_sql scan_slots_in_use)")" = 1 ] || { echo "the waiter holds a scan slot"; return 1; }
    wait "$cursor" || { cat "$d/cursor.out"; return 1; }
    wait || true
    out=$(cat "$d/waiter.out")
    [ "$out" = "$want" ] || { echo "waiter: [$out] want [$want]"; return 1; }
    all_returned "$d" "$p" 2
}

# A 64 MB worker: a 1M-group text aggregate, a 1M-row self join and a sort past a 1M-row OFFSET
# give PostgreSQL's answers by spilling (hash join -> sort-merge join, TopK -> full sort; see
# src/plan/memory.rs), and the worker's anonymous memory stays under the limit plus the stated
# overhead (docs/reliability.md: 96 MB).
memory_bounded_under_64mb() {
    local d p=$((port + 23)) wpid q want got peak sampler spilled
    d=$(new_cluster_dir)
    printf '%s\n' "pg_fusion.worker_memory_limit_mb = 64" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE m AS SELECT g AS id, md5(g::text) AS t, (g % 1000)::int AS k FROM generate_series(1, 1000000) g" \
        -c "ANALYZE m" >/dev/null || return 1
    wpid=$(psql_at "$d" "$p" -Atc "$worker_pid_sql")
    ( while sleep 0.05; do awk '/RssAnon/ {print $2}' "/proc/$wpid/status" 2>/dev/null; done ) >"$d/rss.log" &
    sampler=$!
    for q in "SELECT count(*), sum(c), min(c) FROM (SELECT t, count(*) AS c FROM m GROUP BY t) x" \
             "SELECT count(*), sum(a.k + b.k) FROM m a JOIN m b ON a.id = b.id" \
             "SELECT id, t FROM m ORDER BY t COLLATE \"C\", id OFFSET 999995" \
             "SELECT count(DISTINCT t) FROM m"; do
        want=$(psql_at "$d" "$p" -Atc "$q") || { kill "$sampler"; return 1; }
        got=$(psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
        [ "$got" = "$want" ] || { kill "$sampler"; echo "[$q] gave [$got], PostgreSQL [$want]"; return 1; }
    done
    kill "$sampler"
    spilled=$(psql_at "$d" "$p" -Atc "$(metric_sql worker_spilled_bytes_total)")
    [ "$spilled" -gt 0 ] || { echo "worker_spilled_bytes_total is $spilled"; return 1; }
    peak=$(sort -n "$d/rss.log" | tail -1)
    echo "RssAnon peak ${peak} kB, spilled ${spilled} bytes" >"$d/memory.txt"
    [ -n "$peak" ] && [ "$peak" -lt $(((64 + 96) * 1024)) ] || { echo "RssAnon peak ${peak} kB over 160 MB"; return 1; }
    all_returned "$d" "$p" 2
}

# A shared scan's lagging reader spills runs of batches, a file each, not a file per batch:
# the worker holds a descriptor per open spill file, and under a 200-descriptor limit the
# batches of `w` queued for the probe side behind a GROUP BY (TPC-H Q18's shape; 128 MB: a 64 MB
# share per query) failed with EMFILE ("Too many open files") before.
shared_scan_spills_in_runs() {
    local d p=$((port + 27)) q want got plan
    d=$(new_cluster_dir)
    printf '%s\n' "pg_fusion.worker_memory_limit_mb = 128" | init_cluster "$d" "$p"
    as_pg bash -c 'ulimit -n 200 && exec "$0" -D "$1" -l "$2" -w -t 60 start' \
        "$(pg_bindir)/pg_ctl" "$d/data" "$d/server.log" >/dev/null || { cat "$d/server.log"; return 1; }
    psql_at "$d" "$p" -c "CREATE EXTENSION pg_fusion" >/dev/null || return 1
    wait_for "$d" "$p" "SELECT count(*) FROM ($worker_pid_sql) w" 1 || return 1
    [ "$(awk '/Max open files/ { print $4 }' "/proc/$(psql_at "$d" "$p" -Atc "$worker_pid_sql")/limits")" = 200 ] || {
        echo "the worker's descriptor limit is not 200"; return 1; }
    psql_at "$d" "$p" -c "CREATE TABLE w AS SELECT g AS a, g % 1000 AS b, md5(g::text) AS t FROM generate_series(1, 2000000) g" \
        -c "ANALYZE w" >/dev/null || return 1
    q="SELECT count(*), max(x.t) FROM w x WHERE x.b >= (SELECT min(b) FROM w)"
    plan=$(psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "EXPLAIN (ANALYZE, TIMING ON) $q" 2>&1)
    grep -q "Reads Shared Scan" <<<"$plan" || { echo "no shared scan: $plan"; return 1; }
    grep -q "spilled_bytes=[1-9]" <<<"$plan" || { echo "the shared scan did not spill: $plan"; return 1; }
    want=$(psql_at "$d" "$p" -Atc "$q") || return 1
    got=$(psql_at "$d" "$p" -At -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
    [ "$got" = "$want" ] || { echo "[$q] gave [$got], PostgreSQL [$want]"; return 1; }
    all_returned "$d" "$p" 2
}

# Rows fetched in parts, as drivers fetch them (tests/pgwire.py: a named portal executed with a
# row limit inside a transaction, JDBC's fetchSize): PostgreSQL's rows in order, 101 parts, with
# another pg_fusion query of the same connection between every two parts. A session holding an
# open pg_fusion query never waits for slots or pages (what it waits for could be its own):
# cursors opened one after another in one transaction run while the pool has room, then the
# next fails at once with 53000 naming the setting, and the transaction's end returns all.
driver_portals_fetch_in_parts() {
    local d p=$((port + 26)) q want got before after out
    d=$(new_cluster_dir)
    echo "pg_fusion.page_count = 64" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "CREATE TABLE dp AS SELECT g AS id, g % 100 AS k, md5(g::text) AS t FROM generate_series(1, 100000) g" \
        -c "CREATE TABLE dk AS SELECT g AS k, 'k' || g AS name FROM generate_series(0, 99) g" -c "ANALYZE dp, dk" >/dev/null || return 1
    q="SELECT dp.id, dk.name, dp.t FROM dp JOIN dk USING (k) ORDER BY dp.id"
    want=$(psql_at "$d" "$p" -Atc "$q") || return 1
    before=$(psql_at "$d" "$p" -Atc "$(metric_sql queries_total)")
    got=$(timeout 120 python3 "$top/tests/pgwire.py" --host "$d" --port "$p" --setup "SET pg_fusion.enable = on" \
        --between "SELECT count(*), max(name) FROM dk JOIN dp USING (k) WHERE dp.id < 50" --fetch 1000 "$q" 2>"$d/parts.txt")
    [ "$got" = "$want" ] || { echo "fetched in parts: $(printf '%s\n' "$got" | head -3) ($(printf '%s\n' "$got" | wc -l) rows)"; return 1; }
    grep -q "^parts: 101, rows between: 100$" "$d/parts.txt" || { cat "$d/parts.txt"; return 1; }
    # The portal's query and the 100 between the parts ran through pg_fusion.
    after=$(psql_at "$d" "$p" -Atc "$(metric_sql queries_total)")
    [ $((after - before)) = 101 ] || { echo "queries_total grew by $((after - before)), not 101"; return 1; }
    all_returned "$d" "$p" 2 || return 1
    # Cursors of one session until the pool is full: 53000 at once, not a wait on itself.
    out=$( { echo "SET pg_fusion.enable = on;"; echo "BEGIN;"
             for i in $(seq 1 40); do echo "DECLARE c$i NO SCROLL CURSOR FOR $q; FETCH 1 FROM c$i;"; done
             echo "COMMIT;"; } | as_pg timeout 60 "$(pg_bindir)/psql" -X -At -h "$d" -p "$p" -U postgres -d postgres 2>&1)
    printf '%s\n' "$out" | grep -q "ERROR:  pg_fusion: cannot start a query while this session holds an open pg_fusion query: its open queries hold pages this query needs" \
        || { echo "no 53000 from the session's own cursors: $(printf '%s\n' "$out" | grep -v '^[0-9]' | head -5)"; return 1; }
    [ "$(printf '%s\n' "$out" | grep -c '^1|k1|')" -ge 2 ] || { echo "fewer than two cursors ran: $(printf '%s\n' "$out" | head -5)"; return 1; }
    all_returned "$d" "$p" 2
}

# A hot standby streaming from a primary: its worker starts once the standby is consistent and
# runs pg_fusion queries with the primary's answers, rows replayed since included; a query that
# a replayed DROP TABLE cancels (a recovery conflict, max_standby_streaming_delay = 0) fails with
# PostgreSQL's own error and gives every page, slot and task back; the standby answers afterwards.
hot_standby_runs_queries() {
    local d s p=$((port + 24)) ps=$((port + 25)) q want got lsn
    d=$(new_cluster_dir)
    s=$(new_cluster_dir)
    printf '%s\n' "wal_level = replica" "max_wal_senders = 4" | start_preloaded "$d" "$p" || return 1
    psql_at "$d" "$p" -c "$slow_table_sql" -c "CREATE TABLE dim AS SELECT g AS b, 'n' || g AS name FROM generate_series(0, 999) g" \
        -c "ANALYZE big, dim" >/dev/null || return 1
    as_pg "$(pg_bindir)/pg_basebackup" -h "$d" -p "$p" -U postgres -D "$s/data" -R -X stream --no-sync \
        >"$s/basebackup.log" 2>&1 || { cat "$s/basebackup.log"; return 1; }
    # The copied configuration names the primary's port and directories: later lines win.
    printf '%s\n' "port = $ps" "unix_socket_directories = '$s'" "pg_fusion.log_path = '$s/pg_fusion.log'" \
        "hot_standby = on" "max_standby_streaming_delay = 0" | as_pg tee -a "$s/data/postgresql.conf" >/dev/null
    start_cluster "$s" || { cat "$s/server.log"; return 1; }
    [ "$(psql_at "$s" "$ps" -Atc "SELECT pg_is_in_recovery()")" = t ] || { echo "not a standby"; return 1; }
    wait_for "$s" "$ps" "SELECT count(*) FROM ($worker_pid_sql) w" 1 || return 1
    # Rows written after the base backup, replayed before the queries run.
    psql_at "$d" "$p" -c "INSERT INTO big SELECT g, g % 1000, g FROM generate_series(2000001, 2100000) g" >/dev/null || return 1
    lsn=$(psql_at "$d" "$p" -Atc "SELECT pg_current_wal_lsn()")
    wait_for "$s" "$ps" "SELECT pg_last_wal_replay_lsn() >= '$lsn'" t 30 || return 1
    for q in "SELECT count(*), sum(c), count(DISTINCT b) FROM big" \
             "SELECT d.name, count(*), max(c) FROM big JOIN dim d USING (b) WHERE a % 7 = 0 GROUP BY d.name ORDER BY 2 DESC, 1 LIMIT 5"; do
        want=$(psql_at "$d" "$p" -Atc "$q") || return 1
        got=$(psql_at "$s" "$ps" -At -c "SET pg_fusion.enable = on" -c "EXPLAIN (COSTS OFF) $q" 2>&1)
        printf '%s\n' "$got" | grep -q "Custom Scan (PgFusionScan)" || { echo "[$q] on the standby: $got"; return 1; }
        got=$(psql_at "$s" "$ps" -At -c "SET pg_fusion.enable = on" -c "$q" 2>&1)
        [ "$got" = "$want" ] || { echo "[$q] standby gave [$got], primary [$want]"; return 1; }
    done
    start_slow_query "$s" "$ps" || return 1
    psql_at "$d" "$p" -c "DROP TABLE big" >/dev/null || return 1
    wait
    grep -q "canceling statement due to conflict with recovery" "$s/slow.out" || { cat "$s/slow.out"; return 1; }
    all_returned "$s" "$ps" 2 || return 1
    lsn=$(psql_at "$d" "$p" -Atc "SELECT pg_current_wal_lsn()")
    wait_for "$s" "$ps" "SELECT pg_last_wal_replay_lsn() >= '$lsn'" t 30 || return 1
    want=$(psql_at "$d" "$p" -Atc "SELECT count(*), min(name) FROM dim")
    got=$(psql_at "$s" "$ps" -At -c "SET pg_fusion.enable = on" -c "SELECT count(*), min(name) FROM dim")
    [ "$got" = "$want" ] || { echo "after the conflict: standby [$got], primary [$want]"; return 1; }
}

if [ "${1:-}" != "" ]; then
    cases=("$@")
else
    cases=(startup_rejects_invalid_page_size create_extension_without_preload
           worker_restarts_after_kill_9 worker_restarts_after_sigterm backend_exit_releases_slots
           concurrent_backends_share_the_worker cancel_while_waiting_for_worker
           drop_database_does_not_wait_for_the_worker
           query_timeout_stops_the_worker_task query_cancel_stops_the_worker_task
           backend_exit_mid_query worker_restart_mid_query worker_down_with_enable_on
           datafusion_error_keeps_its_sqlstate joins_under_a_small_pool
           scan_slot_reused_after_producer_error one_snapshot_under_concurrent_updates
           statements_attributed_to_the_user_query backend_log_level_writes_the_server_log
           scan_slots_all_at_once pages_reserved_at_admission worker_files_under_the_data_directory
           role_share_of_control_slots max_fusion_tasks_queues_at_admission
           memory_bounded_under_64mb shared_scan_spills_in_runs hot_standby_runs_queries
           driver_portals_fetch_in_parts)
fi
for c in "${cases[@]}"; do
    run_case "$c"
done
echo "cluster: $passed passed, $failed failed"
[ "$failed" = 0 ]
