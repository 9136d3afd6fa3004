-- pg_fusion_metrics(): shape, naming convention, live pool and control-ring counters.
SELECT * FROM pg_fusion_metrics() LIMIT 0;

SELECT component, metric, kind, unit FROM pg_fusion_metrics() ORDER BY component, metric;

-- Naming: counters end in _total or _ns; *_ns are nanoseconds; *_bytes_total are bytes.
SELECT metric FROM pg_fusion_metrics()
WHERE (kind = 'counter' AND metric !~ '(_total|_ns)$')
   OR (metric ~ '_ns$' AND unit <> 'ns')
   OR (metric ~ '_bytes_total$' AND unit <> 'bytes')
   OR kind NOT IN ('counter', 'gauge');

-- The pool gauge matches the setting; nothing is leased while idle.
SELECT value = current_setting('pg_fusion.page_count')::bigint AS pages_total_is_page_count
FROM pg_fusion_metrics() WHERE metric = 'pages_total';
SELECT value AS pages_in_use FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
SELECT value = current_setting('pg_fusion.control_slot_count')::bigint AS control_slots_total_ok
FROM pg_fusion_metrics() WHERE metric = 'control_slots_total';

-- Reset zeroes counters and advances the epoch; ring traffic is counted live.
SELECT max(reset_epoch) AS epoch_before FROM pg_fusion_metrics() \gset
SELECT pg_fusion_metrics_reset();
SELECT count(*) FILTER (WHERE value <> 0) AS nonzero_counters,
       bool_and(reset_epoch = :epoch_before + 1) AS epoch_advanced
FROM pg_fusion_metrics() WHERE kind = 'counter';
SELECT pg_fusion_ping() > 0 AS pinged;
SELECT pg_fusion_ping() > 0 AS pinged;
SELECT metric, value FROM pg_fusion_metrics()
WHERE metric IN ('control_messages_to_worker_total', 'control_messages_to_backend_total', 'worker_pings_total')
ORDER BY metric;

-- Gauges are live values: never reset, epoch 0.
SELECT metric, reset_epoch FROM pg_fusion_metrics() WHERE kind = 'gauge' ORDER BY metric;

-- Only superusers may reset.
CREATE ROLE fusion_metrics_reader;
SET ROLE fusion_metrics_reader;
SELECT count(*) > 0 AS can_read FROM pg_fusion_metrics();
SELECT pg_fusion_metrics_reset();
RESET ROLE;
DROP ROLE fusion_metrics_reader;

-- Runtime filters: a selective hash join publishes one for its probe side's producers, which
-- count the rows it kept from being encoded; its slot is back once the query ends. With
-- runtime_filter_enable off none is taken. (How many rows a filter rejects depends on when it
-- reaches the producers: only that some were is shown.)
CREATE TABLE rfm_fact AS SELECT g AS id, g % 1000 AS k FROM generate_series(1, 1000000) g;
CREATE TABLE rfm_dim AS SELECT g AS k FROM generate_series(1, 10) g;
ANALYZE rfm_fact, rfm_dim;
SET pg_fusion.enable = on;
SELECT pg_fusion_metrics_reset();
SELECT count(*) FROM rfm_fact JOIN rfm_dim USING (k);
SELECT metric, value > 0 AS counted FROM pg_fusion_metrics()
WHERE metric IN ('runtime_filter_allocated_total', 'runtime_filter_probe_rows_rejected_total',
                 'runtime_filter_pool_exhausted_total', 'runtime_filters_in_use')
ORDER BY metric;
\o /tmp/pg_fusion_regress_rf.out
EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF) SELECT count(*) FROM rfm_fact JOIN rfm_dim USING (k);
\o
\! grep -oE 'RuntimeFilterBuildExec: keys=\[[^]]*\], leaves=[0-9]+|PgScanExec: leaf=[0-9]+|runtime_filters=[0-9]+|runtime_filter_rows_rejected' /tmp/pg_fusion_regress_rf.out
\! rm -f /tmp/pg_fusion_regress_rf.out
SET pg_fusion.runtime_filter_enable = off;
SELECT pg_fusion_metrics_reset();
SELECT count(*) FROM rfm_fact JOIN rfm_dim USING (k);
SELECT metric, value FROM pg_fusion_metrics()
WHERE metric IN ('runtime_filter_allocated_total', 'runtime_filter_probe_rows_rejected_total')
ORDER BY metric;
RESET pg_fusion.runtime_filter_enable;
RESET pg_fusion.enable;
DROP TABLE rfm_fact, rfm_dim;
