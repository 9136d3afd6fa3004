-- Every pg_fusion setting is registered with its documented default, bounds, unit and level.
-- Errors show their SQLSTATE (not PostgreSQL's source location, which moves between releases).
SELECT name, unit, context, vartype, min_val, max_val, boot_val
FROM pg_settings
WHERE name LIKE 'pg_fusion.%'
ORDER BY name;

-- Every setting has a one-line description.
SELECT count(*) AS settings, count(*) FILTER (WHERE short_desc <> '') AS described
FROM pg_settings WHERE name LIKE 'pg_fusion.%';

SHOW pg_fusion.enable;
SHOW pg_fusion.page_count;
SHOW pg_fusion.page_size;
SHOW pg_fusion.control_slot_count;
SHOW pg_fusion.on_unsupported;

-- User-level settings can be changed in a session, within their bounds.
SET pg_fusion.enable = on;
SHOW pg_fusion.enable;
RESET pg_fusion.enable;
SET pg_fusion.on_unsupported = fallback;
SHOW pg_fusion.on_unsupported;
SET pg_fusion.on_unsupported = maybe;
\echo :LAST_ERROR_SQLSTATE
RESET pg_fusion.on_unsupported;
SET pg_fusion.backend_log_level = 3;
\echo :LAST_ERROR_SQLSTATE
SET pg_fusion.scan_batch_channel_capacity = 0;
\echo :LAST_ERROR_SQLSTATE

-- Postmaster-level settings cannot.
SET pg_fusion.page_size = 8192;
\echo :LAST_ERROR_SQLSTATE
SET pg_fusion.worker_threads = 2;
\echo :LAST_ERROR_SQLSTATE

-- The prefix is reserved: a misspelt setting is an error, not a silent placeholder.
SET pg_fusion.enabled = on;
\echo :LAST_ERROR_SQLSTATE

-- backend_log_level 1: one LOG line per statement pg_fusion plans or refuses (shown here with
-- client_min_messages = log; normally in the server log). Level 0 logs nothing.
CREATE TABLE settings_log (a int, t text COLLATE "C");
INSERT INTO settings_log SELECT i, 't' || i FROM generate_series(1, 10) i;
SET pg_fusion.enable = on;
SET client_min_messages = log;
SELECT count(*) FROM settings_log;
SET pg_fusion.backend_log_level = 1;
SELECT count(*) FROM settings_log;
SELECT DISTINCT a.t || b.t FROM settings_log a JOIN settings_log b ON a.a = b.a WHERE a.t || b.t = 't1t1';
\echo :LAST_ERROR_SQLSTATE
SET pg_fusion.on_unsupported = fallback;
SELECT DISTINCT a.t || b.t FROM settings_log a JOIN settings_log b ON a.a = b.a WHERE a.t || b.t = 't1t1';
-- An ERROR PostgreSQL raises while pg_fusion plans is the statement's ERROR, even with SQLSTATE
-- 0A000 under fallback: never taken for a refusal (no "running natively" line, no fallback).
CREATE FUNCTION settings_refuse() RETURNS int IMMUTABLE LANGUAGE plpgsql AS
$$BEGIN RAISE EXCEPTION 'not today' USING ERRCODE = 'feature_not_supported'; END$$;
SELECT count(*) FROM settings_log WHERE a = settings_refuse();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM settings_log a JOIN settings_log b ON a.a = b.a WHERE a.a + settings_refuse() > 0;
\echo :LAST_ERROR_SQLSTATE
DROP FUNCTION settings_refuse();
RESET pg_fusion.on_unsupported;
RESET pg_fusion.backend_log_level;
RESET client_min_messages;
RESET pg_fusion.enable;
DROP TABLE settings_log;
