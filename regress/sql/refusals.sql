-- Fail closed: one query per construct docs/compatibility.md lists as refused and no other
-- suite shows. Each is a clean ERROR naming the construct, SQLSTATE 0A000, and the session goes
-- on (no page stays in use).
CREATE TABLE rc (id int PRIMARY KEY, region text COLLATE "C", code char(3) COLLATE "C", ts timestamp);
CREATE TABLE ro (id bigint PRIMARY KEY, cust int, status char(1) COLLATE "C", total numeric(12,2), day date, f8 float8);
CREATE TABLE rl (order_id bigint, line int, qty numeric(10,2), price numeric(12,2), code char(5) COLLATE "C", note text COLLATE "C");
INSERT INTO rc SELECT i, 'r' || (i % 4), 'c' || (i % 9), timestamp '2020-01-01' + i * interval '7 hours' FROM generate_series(1, 300) i;
INSERT INTO ro SELECT i, CASE WHEN i % 17 = 0 THEN NULL ELSE 1 + i % 320 END,
                      CASE WHEN i % 3 = 0 THEN 'F' ELSE 'O' END, (i * 3.17) % 5000, date '2020-01-01' + i % 700, i / 7.0
FROM generate_series(1, 4000) i;
INSERT INTO rl SELECT 1 + i % 4100, i % 7, 1 + i % 50, (i * 1.37) % 900, 'c' || (i % 9), 'n' || (i % 13)
FROM generate_series(1, 20000) i;
ANALYZE rc, ro, rl;
SET pg_fusion.enable = on;

-- Expressions over several tables (or the nullable side of an outer join).
SELECT count(*) FROM ro o JOIN rc c ON o.cust = c.id WHERE o.id * interval '1 day' > c.id * interval '1 day';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM ro o JOIN rc c ON o.cust = c.id WHERE o.status || c.region = 'Fr1';
\echo :LAST_ERROR_SQLSTATE
SELECT DISTINCT o.total + c.id FROM ro o JOIN rc c ON c.id = o.cust;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(o.total * l.price * l.qty * l.qty) FROM ro o JOIN rl l ON l.order_id = o.id;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FILTER (WHERE o.total / l.qty > 1) FROM ro o JOIN rl l ON l.order_id = o.id;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(100 / l.line) FILTER (WHERE o.status = 'F') FROM ro o JOIN rl l ON l.order_id = o.id;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM rc c LEFT JOIN ro o ON o.cust = c.id WHERE CASE WHEN o.id IS NULL THEN current_date ELSE o.day END > date '2020-06-01';
\echo :LAST_ERROR_SQLSTATE
SELECT coalesce(o.total, 0), count(*) FROM rc c LEFT JOIN ro o ON o.cust = c.id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3;
\echo :LAST_ERROR_SQLSTATE
-- Integer arithmetic after the join where DataFusion could evaluate it on rows PostgreSQL does
-- not (a CASE branch; a projection moved below a condition between tables): an overflow
-- PostgreSQL would not raise.
SELECT count(*) FROM ro o JOIN rl l ON l.order_id = o.id WHERE CASE WHEN l.line > 3 THEN false ELSE o.cust * l.line > 5 END;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(o.cust * l.line) FROM ro o JOIN rl l ON l.order_id = o.id AND o.total > l.price;
\echo :LAST_ERROR_SQLSTATE

-- Set operations, WITH and subqueries in FROM.
SELECT code FROM rl UNION SELECT code FROM rc;
\echo :LAST_ERROR_SQLSTATE
-- A statement with a data-modifying WITH writes: PostgreSQL runs it natively, as any write.
WITH d AS (UPDATE rc SET region = region WHERE false RETURNING id) SELECT count(*) FROM d;

-- Aggregates.
SELECT corr(id, cust) FROM ro;
\echo :LAST_ERROR_SQLSTATE
SELECT covar_samp(id, cust), regr_slope(id, cust) FROM ro;
\echo :LAST_ERROR_SQLSTATE
SELECT array_agg(id) FROM rc;
\echo :LAST_ERROR_SQLSTATE
SELECT stddev(f8::real) FROM ro;
\echo :LAST_ERROR_SQLSTATE
SELECT max(total / 3) FROM ro;
\echo :LAST_ERROR_SQLSTATE

-- Functions and types.
SELECT extract(epoch FROM ts), count(*) FROM rc GROUP BY 1 ORDER BY 1 LIMIT 3;
\echo :LAST_ERROR_SQLSTATE
SELECT DISTINCT ts - timestamp '2020-01-01' FROM rc;
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM rc ORDER BY ts - timestamp '2020-01-01' LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT int4range(id, id + 1), count(*) FROM rc GROUP BY 1 ORDER BY 1 LIMIT 3;
\echo :LAST_ERROR_SQLSTATE

-- More relations read at once than scan slots exist (pg_fusion.scan_slot_count, 64): not an
-- unsupported shape but more than the box can give, so PostgreSQL's own plan runs it (instead
-- of waiting for a slot it holds itself), under either on_unsupported.
DO $$ BEGIN FOR i IN 1..65 LOOP EXECUTE format('CREATE TABLE ru%s AS SELECT %s AS v', i, i); END LOOP; END $$;
SELECT 'SELECT count(*), sum(v) FROM (' || string_agg(format('SELECT v FROM ru%s', i), ' UNION ALL ') || ') s' AS all_arms
FROM generate_series(1, 65) i \gset
:all_arms;
SET pg_fusion.on_unsupported = fallback;
:all_arms;
RESET pg_fusion.on_unsupported;
DO $$ BEGIN FOR i IN 1..65 LOOP EXECUTE format('DROP TABLE ru%s', i); END LOOP; END $$;

-- A condition between tables DataFusion cannot evaluate runs on the node (PostgreSQL's qual,
-- over the joined rows) only where those rows are the query's own; otherwise refused. Tables
-- that only such a condition joins meet as a cross product: refused past a million rows.
CREATE TABLE rg_box (id int, b box);
INSERT INTO rg_box SELECT i, box(point(i, i), point(i + 2, i + 2)) FROM generate_series(1, 2000) i;
CREATE TABLE rg_pt (id int, p point);
INSERT INTO rg_pt SELECT i, point(i + 0.5, i + 0.5) FROM generate_series(1, 2000) i;
ANALYZE rg_box, rg_pt;
SELECT count(*) FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b;
EXPLAIN (COSTS OFF) SELECT b.id FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b AND b.id < 3;
SELECT b.id FROM rg_box b, rg_pt p WHERE p.p <@ b.b;
\echo :LAST_ERROR_SQLSTATE
SELECT b.id FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b GROUP BY b.id ORDER BY b.id LIMIT 3;
\echo :LAST_ERROR_SQLSTATE
SELECT DISTINCT b.id FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b;
\echo :LAST_ERROR_SQLSTATE
-- (A window over those rows is PostgreSQL's, above the node's qual: it counts the query's rows.)
SELECT count(*) OVER (), max(b.id) OVER () FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b LIMIT 1;
SELECT b.id FROM rg_box b LEFT JOIN rg_pt p ON p.id = b.id AND p.p <@ b.b WHERE b.id < 3;
\echo :LAST_ERROR_SQLSTATE
SELECT b.id FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b OR EXISTS (SELECT 1 FROM rg_pt q WHERE q.p <@ b.b AND q.id = p.id + 1);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM (SELECT b.id FROM rg_box b JOIN rg_pt p ON p.id = b.id WHERE p.p <@ b.b) s;
\echo :LAST_ERROR_SQLSTATE
-- Beside a condition DataFusion computes that can fail: PostgreSQL evaluates the comparison
-- first (it is cheaper) and never divides for the pair it drops; DataFusion would.
CREATE TABLE rg_a (k int, f float8, i int);
INSERT INTO rg_a VALUES (1, 0, 1);
CREATE TABLE rg_b (k int, g float8, j int);
INSERT INTO rg_b VALUES (1, 1, 0);
SELECT * FROM rg_a a JOIN rg_b b ON a.k = b.k WHERE a.f > b.g AND a.i / b.j > 1;
\echo :LAST_ERROR_SQLSTATE
SET pg_fusion.on_unsupported = fallback;
SELECT * FROM rg_a a JOIN rg_b b ON a.k = b.k WHERE a.f > b.g AND a.i / b.j > 1;
RESET pg_fusion.on_unsupported;
SELECT a.k, b.k FROM rg_a a JOIN rg_b b ON a.k = b.k WHERE a.f < b.g;
DROP TABLE rg_a, rg_b;
DROP TABLE rg_box, rg_pt;

-- Aggregates PostgreSQL's Agg node above the node would compute, but not as PostgreSQL does:
-- HAVING without grouping or aggregates (PostgreSQL's plan reads no table: the WHERE's division
-- never runs), array_agg/string_agg without ORDER BY (their order would be the plan's), a
-- user-defined aggregate PostgreSQL may combine in parallel with a user's combine function,
-- grouping sets.
SELECT 1 AS one FROM rc WHERE 1 / (id - id) = 1 HAVING 1 < 2;
\echo :LAST_ERROR_SQLSTATE
SELECT array_agg(id), string_agg(region, ',') FROM rc WHERE id < 5;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION r_pick(int8, int8) RETURNS int8 LANGUAGE sql IMMUTABLE AS 'SELECT NULL::int8';
CREATE AGGREGATE r_sum(int4) (SFUNC = int4_sum, STYPE = int8, COMBINEFUNC = r_pick, INITCOND = '0');
SELECT r_sum(id) FROM rc;
\echo :LAST_ERROR_SQLSTATE
DROP AGGREGATE r_sum(int4);
DROP FUNCTION r_pick(int8, int8);
SELECT region, percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM rc GROUP BY ROLLUP (region);
\echo :LAST_ERROR_SQLSTATE

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
RESET pg_fusion.enable;
DROP TABLE rc, ro, rl;
