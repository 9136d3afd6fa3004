-- pg_fusion 0.1.0
\echo Use "CREATE EXTENSION pg_fusion" to load this file. \quit

-- One row per counter or gauge, cumulative since server start or the last reset.
CREATE FUNCTION pg_fusion_metrics(
    OUT component text,
    OUT metric text,
    OUT kind text,
    OUT unit text,
    OUT value bigint,
    OUT reset_epoch bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_fusion_metrics'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION pg_fusion_metrics() IS 'pg_fusion counters and gauges';

-- Zero every counter (gauges are live values) and advance reset_epoch.
CREATE FUNCTION pg_fusion_metrics_reset()
RETURNS void
AS 'MODULE_PATHNAME', 'pg_fusion_metrics_reset'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

REVOKE ALL ON FUNCTION pg_fusion_metrics_reset() FROM PUBLIC;

-- One round trip to the pg_fusion worker through a control slot; returns the worker's pid.
CREATE FUNCTION pg_fusion_ping()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_fusion_ping'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION pg_fusion_ping() IS 'round trip to the pg_fusion worker; returns its pid';
