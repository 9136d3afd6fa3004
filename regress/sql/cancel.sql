-- Cancel with pg_fusion on: statement_timeout and pg_cancel_backend stop the query with
-- PostgreSQL's 57014, the worker's task ends within a second, and every page and slot comes back.
-- (Cancel from another session, backend exit and worker restarts mid-query are in
-- tests/cluster.sh.)
CREATE TABLE cx AS SELECT g AS a, g % 1000 AS b FROM generate_series(1, 1000000) g;
ANALYZE cx;
SET pg_fusion.enable = on;

-- Wait (natively: DO blocks never run through pg_fusion) until the worker has no task left.
CREATE FUNCTION cx_settled() RETURNS TABLE (metric text, value bigint) LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..100 LOOP
        EXIT WHEN (SELECT m.value FROM pg_fusion_metrics() m WHERE m.metric = 'worker_queries_running') = 0;
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN QUERY SELECT m.metric, m.value FROM pg_fusion_metrics() m
        WHERE m.metric IN ('worker_queries_running', 'pages_in_use', 'control_slots_in_use', 'scan_slots_in_use')
        ORDER BY m.metric;
END $$;

SET statement_timeout = '300ms';
SELECT b, count(*) FROM cx WHERE md5(repeat(a::text, 40)) <> '' GROUP BY b;
\echo :LAST_ERROR_SQLSTATE
RESET statement_timeout;
SELECT * FROM cx_settled();

-- The backend cancels itself part-way through the scan (the WHERE clause runs in PostgreSQL).
SELECT count(*) FROM cx WHERE a < 500000 OR (a = 600000 AND pg_cancel_backend(pg_backend_pid()));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM cx_settled();

-- Both were counted as canceled, not failed; the next query runs.
SELECT value AS canceled FROM pg_fusion_metrics() WHERE metric = 'queries_canceled_total';
SELECT count(*), sum(a) FROM cx WHERE b = 7;
DROP FUNCTION cx_settled();
DROP TABLE cx;
