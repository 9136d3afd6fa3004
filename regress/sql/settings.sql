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
