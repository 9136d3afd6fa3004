-- Parallel scan producers: the leader backend plus PostgreSQL parallel workers read disjoint
-- block ranges of a table. min_parallel_table_scan_size = 0 gives this small table workers.
CREATE TABLE par (id int, g int, v numeric(12,2), t text);
INSERT INTO par SELECT i, i % 7, i / 100.0, 'row ' || i FROM generate_series(1, 100000) i;
VACUUM ANALYZE par;
CREATE TABLE par_small (id int);
INSERT INTO par_small SELECT i * 37 FROM generate_series(1, 500) i;
ANALYZE par_small;
SET pg_fusion.enable = on;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;

-- The leader and two workers (Planned counts them all, Actual those that started).
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT g, count(*) FROM par GROUP BY g;
\o
\! grep -E 'Scan Producers|PgScanExec' /tmp/pg_fusion_regress_parallel.out | sed 's/, metrics=.*//'

-- Every row once: the same answers as PostgreSQL's.
SELECT g, count(*), sum(v), sum(length(t)), max(id) FROM par GROUP BY g ORDER BY g;
SELECT count(*), sum(v), count(DISTINCT id) FROM par WHERE id % 3 = 0;
SELECT count(*), sum(a.v + b.v) FROM par a JOIN par b ON a.id = b.id WHERE b.g = 3;
SET pg_fusion.enable = off;
SELECT g, count(*), sum(v), sum(length(t)), max(id) FROM par GROUP BY g ORDER BY g;
SELECT count(*), sum(v), count(DISTINCT id) FROM par WHERE id % 3 = 0;
SELECT count(*), sum(a.v + b.v) FROM par a JOIN par b ON a.id = b.id WHERE b.g = 3;
SET pg_fusion.enable = on;

-- Two large tables: one set of workers for the query, each reading both (a worker moves to the
-- other table while the one it reads waits for DataFusion), so both leaves count the leader
-- and the two workers.
CREATE TABLE par2 (id int, w int);
INSERT INTO par2 SELECT i * 2, i % 5 FROM generate_series(1, 60000) i;
VACUUM ANALYZE par2;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT b.w, count(*), sum(a.v) FROM par a JOIN par2 b ON a.id = b.id GROUP BY b.w;
\o
\! grep -E 'Relation|Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT b.w, count(*), sum(a.v), sum(length(a.t)) FROM par a JOIN par2 b ON a.id = b.id GROUP BY b.w ORDER BY b.w;
SELECT count(*), sum(b.id) FROM par2 b WHERE NOT EXISTS (SELECT 1 FROM par a WHERE a.id = b.id);
SET pg_fusion.enable = off;
SELECT b.w, count(*), sum(a.v), sum(length(a.t)) FROM par a JOIN par2 b ON a.id = b.id GROUP BY b.w ORDER BY b.w;
SELECT count(*), sum(b.id) FROM par2 b WHERE NOT EXISTS (SELECT 1 FROM par a WHERE a.id = b.id);
SET pg_fusion.enable = on;
-- An error in either table's producers keeps its SQLSTATE.
\set VERBOSITY terse
SELECT count(*) FROM par a JOIN par2 b ON a.id = b.id WHERE 100 / (b.id - 30000) > 0;
\set VERBOSITY default

-- An error in the leader after the workers started (par_small, read by the leader alone, is
-- planned with the parameter and divides by zero): the workers stop first, every slot is back.
SET min_parallel_table_scan_size = '1MB';
SET plan_cache_mode = force_generic_plan;
PREPARE par_err(int) AS SELECT count(*) FROM par a JOIN par_small s ON a.id = s.id WHERE s.id > 1 / $1;
EXECUTE par_err(1);
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE par_err(1);
\o
\! grep -E 'Relation|Scan Producers' /tmp/pg_fusion_regress_parallel.out
\set VERBOSITY terse
EXECUTE par_err(0);
\set VERBOSITY default
EXECUTE par_err(1);
DEALLOCATE par_err;
RESET plan_cache_mode;
SET min_parallel_table_scan_size = 0;
SELECT metric, value FROM pg_fusion_metrics()
WHERE metric IN ('pages_in_use', 'scan_slots_in_use') ORDER BY metric;

-- A query with subqueries still gets workers for the leaves whose own scan SQL is parallel-safe
-- (the leader runs the rest): here both leaves of the decorrelated scalar subquery; a leaf with
-- a subquery inside it, or a parallel-restricted function, is read by the leader alone.
CREATE FUNCTION par_restricted(int) RETURNS int LANGUAGE plpgsql PARALLEL RESTRICTED AS 'BEGIN RETURN $1; END';
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM par WHERE v > (SELECT avg(v) FROM par WHERE g = 1);
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM par WHERE id IN (SELECT id FROM par_small);
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM par WHERE par_restricted(g) = 3;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT count(*), sum(v) FROM par WHERE v > (SELECT avg(v) FROM par WHERE g = 1);
SELECT count(*) FROM par WHERE id IN (SELECT id FROM par_small);
SELECT count(*) FROM par WHERE par_restricted(g) = 3;
SET pg_fusion.enable = off;
SELECT count(*), sum(v) FROM par WHERE v > (SELECT avg(v) FROM par WHERE g = 1);
SELECT count(*) FROM par WHERE id IN (SELECT id FROM par_small);
SELECT count(*) FROM par WHERE par_restricted(g) = 3;
SET pg_fusion.enable = on;

-- [NOT] EXISTS kept in a leaf's scan (an index leads with the inner key) and planned as an index
-- probe per row: every producer runs the whole statement on its own blocks, so the leaf gets
-- workers; not when the subquery reads a temporary table or calls a parallel-restricted function.
CREATE INDEX par_id ON par (id);
CREATE TEMP TABLE par_small_tmp AS SELECT * FROM par_small;
CREATE INDEX ON par_small_tmp (id);
SET enable_hashjoin = off;
SET enable_mergejoin = off;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*), sum(s.id) FROM par_small s WHERE EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND p.g < 5);
\o
\! grep -E 'Scan Producers|Nested Loop|Index Cond' /tmp/pg_fusion_regress_parallel.out | sed -E 's/(actual rows=[0-9]+)\.[0-9]+/\1/'
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*), sum(s.id) FROM par_small s WHERE NOT EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND p.g < 5);
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM par p WHERE g = 1 AND EXISTS (SELECT 1 FROM par_small_tmp s WHERE s.id = p.id);
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM par_small s WHERE EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND par_restricted(p.g) < 5);
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT count(*), sum(s.id) FROM par_small s WHERE EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND p.g < 5);
SELECT count(*), sum(s.id) FROM par_small s WHERE NOT EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND p.g < 5);
SELECT count(*) FROM par p WHERE g = 1 AND EXISTS (SELECT 1 FROM par_small_tmp s WHERE s.id = p.id);
SELECT count(*) FROM par_small s WHERE EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND par_restricted(p.g) < 5);
SET pg_fusion.enable = off;
SELECT count(*), sum(s.id) FROM par_small s WHERE EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND p.g < 5);
SELECT count(*), sum(s.id) FROM par_small s WHERE NOT EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND p.g < 5);
SELECT count(*) FROM par p WHERE g = 1 AND EXISTS (SELECT 1 FROM par_small_tmp s WHERE s.id = p.id);
SELECT count(*) FROM par_small s WHERE EXISTS (SELECT 1 FROM par p WHERE p.id = s.id AND par_restricted(p.g) < 5);
SET pg_fusion.enable = on;
RESET enable_hashjoin;
RESET enable_mergejoin;
DROP INDEX par_id;
DROP TABLE par_small_tmp;

-- count(*) alone: PostgreSQL may plan its constant column as a whole-index scan (forced here).
-- Block ranges limit a sequential scan of the heap, never an index: the leader reads it alone,
-- with the plan PostgreSQL made (no ctid conditions, no plan of pg_fusion's own).
CREATE INDEX par_id ON par (id);
VACUUM par;
SET enable_seqscan = off;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM par;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM par;
\o
\! grep -E 'Scan Producers|Index Only Scan' /tmp/pg_fusion_regress_parallel.out | sed -E 's/(actual rows=[0-9]+)\.[0-9]+/\1/'
SELECT count(*) FROM par;
RESET enable_seqscan;
DROP INDEX par_id;

-- Rows added and deleted in this transaction: the workers see them as the leader does.
BEGIN;
INSERT INTO par SELECT i, 99, 1, 'new' FROM generate_series(100001, 100100) i;
DELETE FROM par WHERE id <= 50;
SELECT count(*), sum(v) FILTER (WHERE g = 99) AS new_rows, min(id) FROM par;
ROLLBACK;

-- A LIMIT that stops reading early: the workers are stopped, nothing is left behind.
SELECT count(*) FROM (SELECT id FROM par LIMIT 10) s;

-- An error in a producer (the leader or a worker) keeps its SQLSTATE.
\set VERBOSITY terse
SELECT count(*) FROM par WHERE 100 / (id - 50000) > 0;
\set VERBOSITY default

-- The leader alone: no budget, a temporary table, a cursor (not run in parallel mode).
SET max_parallel_workers_per_gather = 0;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM par;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SET max_parallel_workers_per_gather = 2;
CREATE TEMP TABLE par_tmp AS SELECT * FROM par;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM par_tmp;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
\! rm -f /tmp/pg_fusion_regress_parallel.out
BEGIN;
DECLARE c CURSOR FOR SELECT count(*), sum(v) FROM par;
FETCH c;
CLOSE c;
COMMIT;

-- A partitioned table: its leaf is PostgreSQL's Append of the partitions pruning leaves, and the
-- producers share them as they share one table's blocks (a range is one partition's), small,
-- empty and unlogged partitions included; one partition left by pruning is read the same way.
-- An Append with a child that is not a sequential scan is read by the leader alone.
CREATE TABLE par_p (id int, g int, v numeric(12,2)) PARTITION BY RANGE (id);
CREATE TABLE par_p1 PARTITION OF par_p FOR VALUES FROM (0) TO (30000);
CREATE TABLE par_p2 PARTITION OF par_p FOR VALUES FROM (30000) TO (30010);
CREATE TABLE par_p3 PARTITION OF par_p FOR VALUES FROM (30010) TO (40000);
CREATE UNLOGGED TABLE par_p4 PARTITION OF par_p FOR VALUES FROM (40000) TO (90000);
CREATE TABLE par_pd PARTITION OF par_p DEFAULT;
INSERT INTO par_p SELECT id, g, v FROM par WHERE id NOT BETWEEN 30010 AND 39999;
INSERT INTO par_p SELECT -id, g, v FROM par WHERE id <= 100;
VACUUM ANALYZE par_p;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT g, count(*) FROM par_p GROUP BY g;
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM par_p WHERE id >= 40000 AND id < 90000;
\o
\! grep -E 'Scan Producers|Append|Seq Scan on par_p' /tmp/pg_fusion_regress_parallel.out | sed -E 's/ \(actual.*//'
SELECT g, count(*), sum(v), min(id), max(id) FROM par_p GROUP BY g ORDER BY g;
SELECT count(*), sum(v) FROM par_p WHERE id >= 40000 AND id < 90000;
SELECT count(*), sum(a.v) FROM par_p a JOIN par2 b ON a.id = b.id WHERE b.w < 3;
SET pg_fusion.enable = off;
SELECT g, count(*), sum(v), min(id), max(id) FROM par_p GROUP BY g ORDER BY g;
SELECT count(*), sum(v) FROM par_p WHERE id >= 40000 AND id < 90000;
SELECT count(*), sum(a.v) FROM par_p a JOIN par2 b ON a.id = b.id WHERE b.w < 3;
SET pg_fusion.enable = on;
-- Run-time pruning in a generic plan: the partitions left are shared the same way.
SET plan_cache_mode = force_generic_plan;
PREPARE par_pp(int) AS SELECT count(*), sum(v) FROM par_p WHERE id >= $1;
EXECUTE par_pp(35000);
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE par_pp(35000);
\o
\! grep -E 'Scan Producers|Subplans Removed' /tmp/pg_fusion_regress_parallel.out
SET pg_fusion.enable = off;
EXECUTE par_pp(35000);
SET pg_fusion.enable = on;
DEALLOCATE par_pp;
RESET plan_cache_mode;
-- Rows added and deleted in this transaction, in several partitions.
BEGIN;
INSERT INTO par_p SELECT i, 98, 2 FROM generate_series(29990, 30020) i;
DELETE FROM par_p WHERE id BETWEEN 50000 AND 50100 OR id < -90;
SELECT count(*), sum(v), count(*) FILTER (WHERE g = 98) FROM par_p;
SET pg_fusion.enable = off;
SELECT count(*), sum(v), count(*) FILTER (WHERE g = 98) FROM par_p;
SET pg_fusion.enable = on;
ROLLBACK;
-- An index scan among the children: the leader alone.
CREATE INDEX par_p_id ON par_p (id);
SET enable_seqscan = off;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM par_p WHERE id > 85000;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT count(*), sum(v) FROM par_p WHERE id > 85000;
RESET enable_seqscan;
-- Inheritance: the parent's own rows and its children's.
CREATE TABLE par_i (id int, v numeric(12,2));
CREATE TABLE par_i1 () INHERITS (par_i);
CREATE TABLE par_i2 () INHERITS (par_i);
INSERT INTO par_i SELECT id, v FROM par WHERE id % 3 = 0;
INSERT INTO par_i1 SELECT id, v FROM par WHERE id % 3 = 1;
INSERT INTO par_i2 SELECT id, v FROM par WHERE id % 3 = 2;
VACUUM ANALYZE par_i, par_i1, par_i2;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM par_i;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT count(*), sum(v), count(DISTINCT id) FROM par_i;
SELECT count(*), sum(v) FROM ONLY par_i;
SET pg_fusion.enable = off;
SELECT count(*), sum(v), count(DISTINCT id) FROM par_i;
SELECT count(*), sum(v) FROM ONLY par_i;
SET pg_fusion.enable = on;

-- A LATERAL group whose plan is a nested loop over the table's sequential scan (its inner side
-- runs per outer row, with that row's values): the producers share the outer table's blocks, so
-- each row's lateral rows (or its null-extended row) come once.
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*), sum(x) FROM par p, generate_series(1, p.g) x;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT count(*), sum(x), count(DISTINCT p.id) FROM par p, generate_series(1, p.g) x;
SELECT count(*), count(s.id), sum(s.id) FROM par p
  LEFT JOIN LATERAL (SELECT id FROM par_small s WHERE s.id = p.id * 3 LIMIT 1) s ON true WHERE p.id % 50 = 1;
-- Not when a part of the plan may not run in a parallel worker (a temporary table) or would draw
-- its own sample in each producer (TABLESAMPLE without REPEATABLE): one producer.
CREATE TEMP TABLE par_lat_tmp AS SELECT id FROM par_small;
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*), count(s.id) FROM par p LEFT JOIN LATERAL (SELECT id FROM par_lat_tmp t WHERE t.id = p.id LIMIT 1) s ON true;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
\o /tmp/pg_fusion_regress_parallel.out
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT count(*) FROM par p, LATERAL (SELECT s.id FROM par_small s TABLESAMPLE BERNOULLI (50) WHERE p.id = s.id LIMIT 1) s;
\o
\! grep -E 'Scan Producers' /tmp/pg_fusion_regress_parallel.out
SELECT count(*), count(s.id) FROM par p LEFT JOIN LATERAL (SELECT id FROM par_lat_tmp t WHERE t.id = p.id LIMIT 1) s ON true;
DROP TABLE par_lat_tmp;
SET pg_fusion.enable = off;
SELECT count(*), sum(x), count(DISTINCT p.id) FROM par p, generate_series(1, p.g) x;
SELECT count(*), count(s.id), sum(s.id) FROM par p
  LEFT JOIN LATERAL (SELECT id FROM par_small s WHERE s.id = p.id * 3 LIMIT 1) s ON true WHERE p.id % 50 = 1;
SET pg_fusion.enable = on;
\! rm -f /tmp/pg_fusion_regress_parallel.out
DROP TABLE par_p, par_i CASCADE;

-- Every page and slot is back.
SELECT metric, value FROM pg_fusion_metrics()
WHERE metric IN ('pages_in_use', 'scan_slots_in_use') ORDER BY metric;
DROP TABLE par, par2, par_tmp, par_small;
DROP FUNCTION par_restricted(int);
