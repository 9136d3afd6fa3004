-- pg_fusion's waits in pg_stat_activity: wait_event_type Extension, and from PostgreSQL 17 on
-- named (custom wait events, listed in pg_wait_events once the worker has started). Before 17
-- the wait event is Extension itself: expected/wait_events_1.out.
SELECT current_setting('server_version_num')::int < 170000 AS unnamed_waits \gset
\if :unnamed_waits
\quit
\endif
SELECT name FROM pg_wait_events WHERE type = 'Extension' AND name LIKE 'PgFusion%' ORDER BY name;
