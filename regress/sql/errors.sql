-- Errors and SQLSTATEs with pg_fusion on. Row-level errors are raised by PostgreSQL itself (the
-- expressions run in the scan), so they keep PostgreSQL's SQLSTATE and message; shapes pg_fusion
-- does not run fail closed with 0A000 naming the construct. After every error the session and the
-- pool are clean: the next query runs, and no page stays in use.
CREATE TABLE er (id int, i2 smallint, t text COLLATE "C", f8 float8, n numeric(10,2));
INSERT INTO er SELECT i, (i % 100)::smallint, 'v' || i, i / 3.0, i FROM generate_series(1, 1000) i;
ANALYZE er;
SET pg_fusion.enable = on;

-- 22012 division by zero, 22003 out of range, 22P02 invalid input: PostgreSQL's own.
SELECT sum(id / (id - 5)) FROM er;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(i2 * 1000 * 1000 * 1000) FROM er;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM er WHERE i2 + 32700::smallint > 0;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(t::int) FROM er;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(f8 * 1e300 * 1e300) FROM er;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM er WHERE id = 1 / 0;
\echo :LAST_ERROR_SQLSTATE

-- A value wider than a page: 54000 with a hint.
CREATE TABLE er_wide AS SELECT string_agg(md5(i::text), '') AS w FROM generate_series(1, 3000) i;
SELECT count(w) FROM er_wide;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE er_wide;

-- The session goes on after each error.
SELECT count(*), sum(n) FROM er;

-- Unsupported shapes: 0A000, the construct named.
SELECT count(*) FROM er HAVING count(*) > (SELECT 1);
\echo :LAST_ERROR_SQLSTATE
-- (Aggregates over rows DataFusion cannot group or join by, float keys and conditions here, are
-- PostgreSQL's Agg node above it.)
SELECT count(*) FROM er a JOIN er b ON a.f8 = b.f8;
SELECT f8, count(*) FROM er GROUP BY f8 ORDER BY f8 LIMIT 3;
SELECT DISTINCT f8 FROM er;
SELECT e.id, c.n FROM er e, LATERAL (WITH RECURSIVE c (n) AS (SELECT e.id UNION ALL SELECT n + 1 FROM c WHERE n < 3) SELECT count(*) AS n FROM c) c WHERE e.id < 4 ORDER BY 1;
SELECT f8 FROM er UNION SELECT f8 FROM er;
SELECT count(*) FROM er GROUP BY ROLLUP (f8);
SELECT string_agg(t, ',') FROM er;
SELECT string_agg(DISTINCT t, ',' ORDER BY t) FROM er WHERE id < 5;
SELECT string_agg(t, ',' ORDER BY t), string_agg(t, ',' ORDER BY id) FROM er WHERE id < 12;
SELECT generate_series(1, 2) + 1, a.id FROM er a JOIN er b ON b.id = a.id WHERE a.id < 3;
SELECT count(*) FROM er GROUP BY generate_series(1, 2);
SELECT id, generate_series(1, 3) FROM er ORDER BY id LIMIT 2;
SELECT DISTINCT ON (i2) i2, id, generate_series(1, 3) AS g FROM er ORDER BY i2, id DESC;
-- A function in FROM whose plan reads tables (a subquery in its arguments, an inlined SQL
-- function): their locks would be missing from a cached plan.
SELECT count(*) FROM er JOIN generate_series(1, (SELECT max(id) FROM er)) g(x) ON g.x = er.id;
CREATE FUNCTION er_rows() RETURNS SETOF er LANGUAGE sql STABLE AS 'SELECT * FROM er';
SELECT count(*) FROM er JOIN er_rows() f ON f.id = er.id;
DROP FUNCTION er_rows();
SELECT count(*) FROM er TABLESAMPLE SYSTEM ((SELECT 50));
-- A WITH query used twice is one sample in PostgreSQL: without REPEATABLE, refused.
WITH s AS (SELECT id FROM er TABLESAMPLE BERNOULLI (50)) SELECT count(*) FROM s a JOIN s b USING (id);
SELECT count(*) FROM er, generate_series(1, er.id % 3) g;
SELECT count(*), sum(id) FROM er WHERE id < 20 AND id IN (SELECT e2.id + g FROM er e2, generate_series(1, e2.id % 4) g WHERE e2.id < 10 AND g <> er.id % 2);
-- A column depending on a grouped primary key of a table with inheritance children: their rows
-- may repeat the key, so grouping by the column too could split a group.
CREATE TABLE er_fd (id int PRIMARY KEY, name text);
CREATE TABLE er_fd_child () INHERITS (er_fd);
INSERT INTO er_fd VALUES (1, 'a');
INSERT INTO er_fd_child VALUES (1, 'b');
SELECT id, name, count(*) FROM er_fd GROUP BY id;
DROP TABLE er_fd CASCADE;
SELECT count(*) FROM er, XMLTABLE('/r' PASSING '<r/>' COLUMNS x int) t;
SELECT sum(f8::real) FROM er;
SELECT max(id * interval '1 day') FROM er;
SELECT stddev(f8) FROM er;
SELECT var_samp(DISTINCT n) FROM er;
SELECT variance(n::numeric(34,2)) FROM er;
SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM er;
SELECT max(n::numeric(40,2)) FROM er;
SELECT count(*) FROM er a JOIN er b ON ARRAY[a.id] = ARRAY[b.id];
SELECT max(to_json(id)::text) FROM er WHERE id = 1 GROUP BY to_json(id)::jsonb;
SELECT i2, count(*) FROM er GROUP BY i2 HAVING avg(n) > 5 ORDER BY i2 LIMIT 1;
-- Values DataFusion only carries (numeric without a scale, jsonb, arrays): equal bytes are not
-- equal values (1.0 = 1.00), so grouping, DISTINCT, joins and min/max over them are refused;
-- a numeric is compared by its value instead where only the value counts (count(DISTINCT n) is
-- 1, the join 4 rows).
CREATE TEMP TABLE er_c (id int, n numeric, jb jsonb, a text[]);
INSERT INTO er_c VALUES (1, 1.0, '{"a": 1.0}', '{a}'), (2, 1.00, '{"a": 1.00}', '{a}');
SELECT n, count(*) FROM er_c GROUP BY n;
SELECT DISTINCT jb FROM er_c;
SELECT count(DISTINCT n) FROM er_c;
SELECT count(*) FROM er_c x JOIN er_c y ON x.n = y.n;
SELECT max(n) FROM er_c;
SELECT a FROM er_c UNION SELECT a FROM er_c;
SELECT s.n, count(*) FROM (SELECT n FROM er_c) s GROUP BY s.n;
SELECT count(DISTINCT s.jb) FROM (SELECT jb FROM er_c) s;
SELECT n, n FROM er_c GROUP BY 1;
-- Carried for the output, then read by a window PostgreSQL computes above the node: its
-- partitions and peers are PostgreSQL's (1.0 and 1.00 are one).
SELECT n, row_number() OVER (PARTITION BY n) FROM er_c;
SELECT n, lag(n) OVER (ORDER BY id) FROM er_c;
SELECT jb, count(*) OVER (ORDER BY jb) FROM er_c;
-- A foreign partition (PostgreSQL's plan would run its foreign data wrapper in the scan).
CREATE EXTENSION file_fdw;
CREATE SERVER er_files FOREIGN DATA WRAPPER file_fdw;
CREATE TABLE er_part (id int) PARTITION BY RANGE (id);
CREATE TABLE er_part_1 PARTITION OF er_part FOR VALUES FROM (10) TO (20);
CREATE FOREIGN TABLE er_part_ft PARTITION OF er_part FOR VALUES FROM (0) TO (10)
    SERVER er_files OPTIONS (filename '/dev/null', format 'csv');
SELECT count(*) FROM er_part;
SELECT count(*) FROM er_part WHERE id >= 10;
DROP TABLE er_part;
DROP SERVER er_files;
DROP EXTENSION file_fdw;
BEGIN;
DECLARE er_cur SCROLL CURSOR FOR SELECT id FROM er;
ROLLBACK;
\echo :LAST_ERROR_SQLSTATE

-- Statements pg_fusion never takes run natively, without error.
SELECT id FROM er WHERE id < 3 ORDER BY id FOR UPDATE;
CREATE TEMP TABLE er_copy AS SELECT id FROM er WHERE id < 10;
SELECT count(*) FROM er_copy;
DO $$ BEGIN PERFORM count(*) FROM er; END $$;
SELECT count(*) > 0 FROM pg_class;

-- The counters saw the refusals; nothing is left in use.
SELECT value > 0 AS refused FROM pg_fusion_metrics() WHERE metric = 'planner_unsupported_total';
SELECT value FROM pg_fusion_metrics() WHERE metric IN ('pages_in_use', 'control_slots_in_use', 'scan_slots_in_use');
DROP TABLE er;
