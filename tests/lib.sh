# Helpers of the cluster and stress tests (sourced after scripts/lib.sh): polling a scratch
# cluster, starting one with pg_fusion preloaded, and checking that everything came back.

# Poll `psql -Atc $3` on cluster $1/$2 until it prints $4, up to $5 seconds.
wait_for() {
    local dir=$1 p=$2 sql=$3 want=$4 secs=${5:-30} got=""
    for _ in $(seq 1 $((secs * 10))); do
        got=$(psql_at "$dir" "$p" -Atc "$sql" 2>/dev/null) || got=""
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    echo "waited ${secs}s for [$sql] = [$want], last got [$got]"
    return 1
}

worker_pid_sql="SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_fusion worker'"
metric_sql() { echo "SELECT value FROM pg_fusion_metrics() WHERE metric = '$1'"; }

# Start a preloaded cluster in $1 on port $2 (extra postgresql.conf lines on stdin), create the
# extension and wait for the worker.
start_preloaded() {
    init_cluster "$1" "$2"
    start_cluster "$1" || { cat "$1/server.log"; return 1; }
    psql_at "$1" "$2" -c "CREATE EXTENSION pg_fusion" >/dev/null || return 1
    wait_for "$1" "$2" "SELECT count(*) FROM ($worker_pid_sql) w" 1
}

# After queries ended in any way: the worker's query tasks are gone within $3 seconds (1 by
# default), and within as long (2 s at least) no page, page reservation or slot stays in use.
# Prints the gauges when one does.
all_returned() {
    local d=$1 p=$2 secs=${3:-1} m
    wait_for "$d" "$p" "$(metric_sql worker_queries_running)" 0 "$secs" || return 1
    for m in pages_in_use pages_reserved control_slots_in_use scan_slots_in_use runtime_filters_in_use; do
        wait_for "$d" "$p" "$(metric_sql "$m")" 0 $((secs > 2 ? secs : 2)) || {
            psql_at "$d" "$p" -Atc "SELECT metric, value FROM pg_fusion_metrics() WHERE kind = 'gauge'" 2>&1
            return 1; }
    done
}
