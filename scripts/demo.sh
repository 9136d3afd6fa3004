#!/usr/bin/env bash
# The README's main command. On a fresh Debian/Ubuntu machine (as root) it installs what is
# missing, builds and installs pg_fusion, starts a scratch cluster with pg_fusion preloaded (its
# own data directory and port, never the system cluster) and shows it working.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. "$top/scripts/lib.sh"

dir=${PG_FUSION_DEMO_DIR:-/tmp/pg_fusion_demo}
port=${PG_FUSION_DEMO_PORT:-55400}

ensure_packages
build_and_install

if [ -d "$dir/data" ]; then
    log "replacing the previous demo cluster in $dir"
    stop_cluster "$dir"
    rm -rf "$dir"
fi
mkdir -p "$dir"
if is_root; then chown postgres:postgres "$dir"; fi
log "starting a scratch cluster in $dir on port $port"
init_cluster "$dir" "$port" </dev/null
start_cluster "$dir" || { cat "$dir/server.log"; die "server did not start"; }

psql_at "$dir" "$port" -c "CREATE EXTENSION pg_fusion" >/dev/null
for _ in $(seq 1 100); do
    [ "$(psql_at "$dir" "$port" -Atc "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_fusion worker'")" = 1 ] && break
    sleep 0.1
done

psql_at "$dir" "$port" <<'SQL'
\echo
\echo '-- the pg_fusion worker (one per server, hosting Tokio + DataFusion)'
SELECT pid, backend_type, backend_start FROM pg_stat_activity WHERE backend_type = 'pg_fusion worker';
\echo '-- a round trip to the worker through a shared-memory control slot returns its pid'
SELECT pg_fusion_ping() AS worker_pid;
\echo '-- the shared segment as configured'
SELECT name, setting, unit FROM pg_settings
WHERE name IN ('pg_fusion.page_size', 'pg_fusion.page_count', 'pg_fusion.control_slot_count', 'pg_fusion.worker_threads')
ORDER BY name;
\echo '-- a query through DataFusion: same rows as PostgreSQL, and the plan that ran'
CREATE TABLE IF NOT EXISTS demo_sales AS
SELECT g AS id, (g % 5) AS region, ((g % 1000) / 4.0)::numeric(10,2) AS amount FROM generate_series(1, 100000) g;
SET pg_fusion.enable = on;
SELECT region, count(*), sum(amount), avg(amount) FROM demo_sales WHERE id > 10 GROUP BY region ORDER BY region;
EXPLAIN (COSTS OFF) SELECT region, count(*), sum(amount) FROM demo_sales WHERE id > 10 GROUP BY region ORDER BY region;
RESET pg_fusion.enable;
\echo '-- live metrics'
SELECT component, metric, kind, unit, value FROM pg_fusion_metrics()
WHERE component IN ('pool', 'control', 'worker', 'queries', 'scan') ORDER BY component, metric;
SQL

cat <<EOF
pg_fusion is running in a scratch cluster:
  connect:  $(is_root && echo "runuser -u postgres -- ")psql -h $dir -p $port -U postgres postgres
  logs:     $dir/server.log (server), $dir/pg_fusion.log (worker)
  stop:     $(is_root && echo "runuser -u postgres -- ")$(pg_bindir)/pg_ctl -D $dir/data stop
EOF
