-- The pg_fusion worker runs, is visible in pg_stat_activity, and answers on a control slot.
-- (The server may have just started: give the worker up to 30 s to appear.)
DO $$
BEGIN
  FOR i IN 1..300 LOOP
    EXIT WHEN EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_fusion worker');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT backend_type, datname IS NULL AS no_database
FROM pg_stat_activity
WHERE backend_type = 'pg_fusion worker';

-- A round trip through a control slot returns the worker's pid.
SELECT pg_fusion_ping() = (SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_fusion worker')
    AS ping_reaches_worker;

-- Many round trips in a row reuse slots and leave none behind.
SELECT count(DISTINCT pg_fusion_ping()) AS distinct_workers FROM generate_series(1, 200);
SELECT value AS control_slots_in_use FROM pg_fusion_metrics() WHERE metric = 'control_slots_in_use';
SELECT value AS pages_in_use FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
