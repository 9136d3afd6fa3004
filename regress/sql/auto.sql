-- pg_fusion.enable = auto: PostgreSQL plans the query too, and the plan with the lower estimated
-- cost runs (docs/configuration.md, "Choosing the engine"). EXPLAIN says which engine was chosen
-- (with both estimates unless COSTS OFF); the choices are counted. Answers are PostgreSQL's either
-- way.
CREATE TABLE auto_big (id int PRIMARY KEY, k int, v numeric, t text);
INSERT INTO auto_big SELECT g, g % 100, g, 't' || (g % 7) FROM generate_series(1, 20000) g;
CREATE TABLE auto_small (id int, name text);
INSERT INTO auto_small SELECT g * 1000, 'n' || g FROM generate_series(1, 20) g;
ANALYZE auto_big, auto_small;
CREATE FUNCTION auto_counts(OUT datafusion bigint, OUT postgresql bigint) LANGUAGE sql AS $$
    SELECT max(value) FILTER (WHERE metric = 'planner_auto_datafusion_total')::bigint,
           max(value) FILTER (WHERE metric = 'planner_auto_postgresql_total')::bigint
    FROM pg_fusion_metrics() $$;
SELECT pg_fusion_metrics_reset();

-- The setting keeps accepting what a boolean did, and shows its canonical name.
SET pg_fusion.enable = true;
SHOW pg_fusion.enable;
SET pg_fusion.enable = 0;
SHOW pg_fusion.enable;
SET pg_fusion.enable = yes;
SHOW pg_fusion.enable;
SET pg_fusion.enable = f;
SHOW pg_fusion.enable;
SET pg_fusion.enable = maybe;
\echo :LAST_ERROR_SQLSTATE
SET pg_fusion.enable = auto;
SHOW pg_fusion.enable;

-- A primary-key lookup costs PostgreSQL less than pg_fusion's setup alone: never translated.
EXPLAIN (COSTS OFF) SELECT v FROM auto_big WHERE id = 42;
SELECT v FROM auto_big WHERE id = 42;
SELECT * FROM auto_counts();

-- What pg_fusion cannot run goes to PostgreSQL, whatever on_unsupported says (and is counted as a
-- fallback too).
SET pg_fusion.on_unsupported = error;
SET pg_fusion.setup_cost = 0;
EXPLAIN (COSTS OFF) SELECT DISTINCT b.k + s.id FROM auto_big b JOIN auto_small s ON s.id = b.id ORDER BY 1;
SELECT DISTINCT b.k + s.id FROM auto_big b JOIN auto_small s ON s.id = b.id ORDER BY 1 LIMIT 3;
SELECT value FROM pg_fusion_metrics() WHERE metric = 'planner_fallback_total';
RESET pg_fusion.setup_cost;
RESET pg_fusion.on_unsupported;

-- The cost model's settings decide between the two estimates: rows handed to DataFusion for free,
-- then dear.
SET pg_fusion.setup_cost = 0;
SET pg_fusion.tuple_cost = 0;
SET pg_fusion.byte_cost = 0;
EXPLAIN (COSTS OFF) SELECT k, count(*), sum(v) FROM auto_big GROUP BY k ORDER BY k LIMIT 3;
SELECT k, count(*), sum(v) FROM auto_big GROUP BY k ORDER BY k LIMIT 3;
SET pg_fusion.tuple_cost = 100;
EXPLAIN (COSTS OFF) SELECT k, count(*), sum(v) FROM auto_big GROUP BY k ORDER BY k LIMIT 3;
SELECT k, count(*), sum(v) FROM auto_big GROUP BY k ORDER BY k LIMIT 3;
-- PostgreSQL's aggregates and sorts counted at none of their cost, then at a thousand times it.
SET pg_fusion.tuple_cost = 0.014;
SET pg_fusion.byte_cost = 0.0003;
SET pg_fusion.operator_cost_factor = 0;
EXPLAIN (COSTS OFF) SELECT k, count(*), sum(v) FROM auto_big GROUP BY k ORDER BY k LIMIT 3;
SET pg_fusion.operator_cost_factor = 1000;
EXPLAIN (COSTS OFF) SELECT k, count(*), sum(v) FROM auto_big GROUP BY k ORDER BY k LIMIT 3;
SET pg_fusion.operator_cost_factor = 1001;
\echo :LAST_ERROR_SQLSTATE
RESET pg_fusion.operator_cost_factor;
RESET pg_fusion.setup_cost;
RESET pg_fusion.tuple_cost;
RESET pg_fusion.byte_cost;

-- A correlated subquery PostgreSQL runs once per row: DataFusion decorrelates it.
EXPLAIN (COSTS OFF) SELECT count(*) FROM auto_big b WHERE v > (SELECT avg(v) FROM auto_big c WHERE c.k = b.k);
SELECT count(*) FROM auto_big b WHERE v > (SELECT avg(v) FROM auto_big c WHERE c.k = b.k);

-- The small side drives an index nested loop: PostgreSQL's plan.
EXPLAIN (COSTS OFF) SELECT s.name, b.v FROM auto_small s JOIN auto_big b ON b.id = s.id ORDER BY s.name;
SELECT s.name, b.v FROM auto_small s JOIN auto_big b ON b.id = s.id ORDER BY s.name LIMIT 3;

-- Runtime filters in the estimate: where the join order search orders a block, a scan probed by
-- a selective build side hands over only the rows its filter passes, so pg_fusion's estimate is
-- lower than without the search or without filters (then the two are the same). Rows handed over
-- are made dear so that PostgreSQL's plan is chosen each time, whatever the version's costs.
CREATE TABLE auto_kind (id int, name text);
INSERT INTO auto_kind SELECT g, 'k' || g FROM generate_series(0, 99) g;
ANALYZE auto_kind;
SET pg_fusion.setup_cost = 0;
SET pg_fusion.tuple_cost = 100;
\o /tmp/pg_fusion_regress_auto_filters.out
EXPLAIN SELECT count(*), sum(b.v) FROM auto_big b, auto_kind d, auto_small s
    WHERE b.k = d.id AND d.name = 'k0' AND s.id = b.id;
SET pg_fusion.join_reordering = off;
EXPLAIN SELECT count(*), sum(b.v) FROM auto_big b, auto_kind d, auto_small s
    WHERE b.k = d.id AND d.name = 'k0' AND s.id = b.id;
RESET pg_fusion.join_reordering;
SET pg_fusion.runtime_filter_enable = off;
EXPLAIN SELECT count(*), sum(b.v) FROM auto_big b, auto_kind d, auto_small s
    WHERE b.k = d.id AND d.name = 'k0' AND s.id = b.id;
RESET pg_fusion.runtime_filter_enable;
\o
-- pg_fusion's estimate from each Engine line: with filters, without the search, without filters.
\! sed -nE 's/.*Engine: PostgreSQL .*DataFusion ([0-9.]+)\).*/\1/p; s/.*Engine: DataFusion .*estimated cost ([0-9.]+),.*/\1/p' /tmp/pg_fusion_regress_auto_filters.out | awk 'NR == 1 { f = $1 } NR == 2 { n = $1 } NR == 3 { o = $1 } END { print "estimates:", NR, "lower with filters:", (f + 0 < n + 0) ? "yes" : "no", "same without search or filters:", (n == o) ? "yes" : "no" }'
SELECT count(*), sum(b.v) FROM auto_big b, auto_kind d, auto_small s
WHERE b.k = d.id AND d.name = 'k0' AND s.id = b.id;
RESET pg_fusion.setup_cost;
RESET pg_fusion.tuple_cost;
DROP TABLE auto_kind;

-- With costs, EXPLAIN shows both estimates (a one-row table: the same costs everywhere). The
-- PgFusionScan node's own cost is pg_fusion's estimate.
CREATE TABLE auto_one (a int);
INSERT INTO auto_one VALUES (1);
ANALYZE auto_one;
EXPLAIN SELECT count(*) FROM auto_one;
SET pg_fusion.setup_cost = 0;
SET pg_fusion.tuple_cost = 100;
EXPLAIN SELECT count(*) FROM auto_one;
SET pg_fusion.tuple_cost = 0;
SET pg_fusion.byte_cost = 0;
EXPLAIN SELECT count(*) FROM auto_one;
-- Other formats: in the PgFusionScan node (only: PostgreSQL's own plan has no place for it).
-- (PostgreSQL 18 adds "Disabled" to every node in these formats: left out to compare.)
\o /tmp/pg_fusion_regress_auto.out
EXPLAIN (FORMAT JSON, COSTS OFF) SELECT count(*) FROM auto_one;
\o
\! grep -vE '"?Disabled"?: false' /tmp/pg_fusion_regress_auto.out
SELECT count(*) FROM auto_one;
RESET pg_fusion.setup_cost;
RESET pg_fusion.tuple_cost;
RESET pg_fusion.byte_cost;

-- A query PostgreSQL runs while planning another (an immutable SQL function folded into a
-- constant) is planned by PostgreSQL alone: its choice is neither made nor shown.
CREATE FUNCTION auto_lookup(int) RETURNS int IMMUTABLE LANGUAGE sql
    AS $$ SELECT max(id) FROM auto_small WHERE id <= $1 $$;
SET pg_fusion.setup_cost = 0;
SET pg_fusion.tuple_cost = 0;
SET pg_fusion.byte_cost = 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM auto_big WHERE id < auto_lookup(5000);
SELECT count(*) FROM auto_big WHERE id < auto_lookup(5000);
RESET pg_fusion.setup_cost;
RESET pg_fusion.tuple_cost;
RESET pg_fusion.byte_cost;
DROP FUNCTION auto_lookup(int);

SELECT * FROM auto_counts();

RESET pg_fusion.enable;
DROP FUNCTION auto_counts();
DROP TABLE auto_big, auto_small, auto_one;
