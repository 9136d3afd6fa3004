-- EXPLAIN with pg_fusion on: the Custom Scan (PgFusionScan) root, the DataFusion plan, and per
-- scan leaf the relation (VERBOSE: its scan SQL and PostgreSQL's plan for it); ANALYZE adds the scan producers used and the
-- executed DataFusion plan with its metrics. FORMAT JSON carries the same as structured properties.
CREATE TABLE ex (id int, g int, t text COLLATE "C", n numeric(10,2));
INSERT INTO ex SELECT i, i % 10, 't' || (i % 7), i * 0.5 FROM generate_series(1, 5000) i;
ANALYZE ex;
SET pg_fusion.enable = on;

EXPLAIN (COSTS OFF) SELECT g, count(*), sum(n) FROM ex WHERE id > 10 GROUP BY g ORDER BY g;
EXPLAIN (COSTS OFF, VERBOSE) SELECT id, t FROM ex WHERE id < 3 AND t LIKE 't%' ORDER BY id LIMIT 2;
-- (PostgreSQL 18 adds "Disabled" to every node in these formats: left out to compare.)
\o /tmp/pg_fusion_regress_explain.out
EXPLAIN (COSTS OFF, FORMAT JSON) SELECT DISTINCT t FROM ex ORDER BY t;
EXPLAIN (COSTS OFF, VERBOSE, FORMAT YAML) SELECT count(*) FROM ex WHERE g = 3;
\o
\! grep -vE '"?Disabled"?: false' /tmp/pg_fusion_regress_explain.out
-- An ORDER BY DataFusion cannot do as PostgreSQL does (a key computed above DataFusion, an
-- interval, text under a collation that is not byte order) is PostgreSQL's Sort, and its LIMIT
-- PostgreSQL's Limit, above the node; under C.UTF-8 (code point order) DataFusion sorts.
EXPLAIN (COSTS OFF) SELECT g, sum(n) FROM ex GROUP BY g ORDER BY sum(n) * 2 DESC LIMIT 3;
EXPLAIN (COSTS OFF) SELECT make_interval(days => g) AS iv, count(*) FROM ex GROUP BY g ORDER BY 1 OFFSET 2;
EXPLAIN (COSTS OFF) SELECT t COLLATE "C.utf8" AS u FROM ex ORDER BY u LIMIT 2;
-- Window functions DataFusion cannot compute as PostgreSQL does (here EXCLUDE) are PostgreSQL's
-- WindowAgg nodes above the node, a Sort below each unless the rows come in its order already,
-- the ORDER BY and LIMIT above them. (PostgreSQL 18 adds the "Window:" line and names the
-- windows: left out to compare.)
\t on
\o /tmp/pg_fusion_regress_explain.out
EXPLAIN (COSTS OFF) SELECT g, sum(id) OVER (PARTITION BY g ORDER BY id ROWS 2 PRECEDING EXCLUDE CURRENT ROW) AS s,
  rank() OVER (PARTITION BY g ORDER BY id) + count(*) OVER () AS r
FROM ex WHERE id < 100 ORDER BY s DESC LIMIT 3;
\o
\t off
\! grep -v ' Window: ' /tmp/pg_fusion_regress_explain.out | sed -E 's/OVER w[0-9]+/OVER (?)/'
SELECT g, sum(id) OVER (PARTITION BY g ORDER BY id ROWS 2 PRECEDING EXCLUDE CURRENT ROW) AS s,
  rank() OVER (PARTITION BY g ORDER BY id) + count(*) OVER () AS r
FROM ex WHERE id < 100 ORDER BY s DESC LIMIT 3;
-- Set-returning functions of a grouped query are PostgreSQL's ProjectSet above the node, the
-- ORDER BY its Sort below it (PostgreSQL sorts, then expands).
EXPLAIN (COSTS OFF, VERBOSE) SELECT g, count(*), generate_series(1, 2) AS s FROM ex WHERE id < 50 GROUP BY g ORDER BY g;
-- Aggregates DataFusion cannot compute as PostgreSQL does (here ORDER BY inside one, an
-- ordered-set aggregate) are PostgreSQL's Agg node above the node, a Sort by the GROUP BY keys
-- below it, the ORDER BY and LIMIT above.
EXPLAIN (COSTS OFF, VERBOSE) SELECT g, string_agg(t, ',' ORDER BY id), percentile_disc(0.5) WITHIN GROUP (ORDER BY id)
FROM ex WHERE id < 50 GROUP BY g HAVING count(*) > 1 ORDER BY 2 LIMIT 2;
-- A function in FROM is a leaf of its own: PostgreSQL's Function Scan, its rows joined by
-- DataFusion.
EXPLAIN (COSTS OFF) SELECT s.x, count(*) FROM ex JOIN generate_series(1, 3) s(x) ON ex.g = s.x GROUP BY s.x;
-- A value DataFusion only carries (numeric without a scale, an array) crosses as its bytes; its
-- ORDER BY is PostgreSQL's Sort above the node.
EXPLAIN (COSTS OFF) SELECT id, n / 3 AS m, ARRAY[g] AS a FROM ex ORDER BY m DESC, a LIMIT 2;
SELECT id, n / 3 AS m, ARRAY[g] AS a FROM ex ORDER BY m DESC, a, id LIMIT 2;
SELECT g, sum(n) FROM ex GROUP BY g ORDER BY sum(n) * 2 DESC LIMIT 3;
-- A partitioned table's leaf is PostgreSQL's plan of it: partitions pruned at plan time, and
-- with a parameter on the partition key at run time (a generic plan: "Subplans Removed").
CREATE TABLE ex_part (d int, v int) PARTITION BY RANGE (d);
CREATE TABLE ex_part_1 PARTITION OF ex_part FOR VALUES FROM (0) TO (100);
CREATE TABLE ex_part_2 PARTITION OF ex_part FOR VALUES FROM (100) TO (200);
CREATE TABLE ex_part_3 PARTITION OF ex_part FOR VALUES FROM (200) TO (300);
INSERT INTO ex_part SELECT i % 300, i FROM generate_series(1, 3000) i;
ANALYZE ex_part;
EXPLAIN (COSTS OFF, VERBOSE) SELECT count(*) FROM ex_part WHERE d >= 150;
PREPARE ex_pq(int) AS SELECT count(*), sum(v) FROM ex_part WHERE d >= $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF, VERBOSE) EXECUTE ex_pq(250);
EXECUTE ex_pq(250);
RESET plan_cache_mode;
DEALLOCATE ex_pq;
DROP TABLE ex_part;
-- count() of a NOT NULL column counts rows: the column is not in the scan SQL.
ALTER TABLE ex ALTER COLUMN t SET NOT NULL;
EXPLAIN (COSTS OFF, VERBOSE) SELECT count(t), sum(n) FROM ex;
ALTER TABLE ex ALTER COLUMN t DROP NOT NULL;

-- ANALYZE runs the query; with TIMING OFF the executed plan keeps only row counts (shown here
-- for the operators whose counts do not depend on the number of partitions; PostgreSQL 18
-- shows buffers by default and actual rows with two decimals).
\o /tmp/pg_fusion_regress_explain.out
EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM ex;
\o
\! grep -vE '(Partial|CoalescePartitions|Repartition)' /tmp/pg_fusion_regress_explain.out | sed -E 's/(actual rows=[0-9]+)\.[0-9]+/\1/'
-- With timings the figures vary: check the shape only.
\o /tmp/pg_fusion_regress_explain.out
EXPLAIN (ANALYZE, COSTS OFF) SELECT g, max(t) FROM ex GROUP BY g;
\o
\! grep -cE 'metrics=\[output_rows=[0-9]+, elapsed_compute=' /tmp/pg_fusion_regress_explain.out | sed 's/^[1-9][0-9]*$/operators with timings: yes/'
\! grep -E 'Custom Scan|Scan Producers' /tmp/pg_fusion_regress_explain.out | sed 's/(actual time=[^)]*)/(actual ...)/'
\o /tmp/pg_fusion_regress_explain.out
EXPLAIN (ANALYZE, COSTS OFF, FORMAT JSON) SELECT g, max(t) FROM ex GROUP BY g;
\o
\! grep -oE '"(Node Type|Custom Plan Provider|Relation|Scan Producers Planned|Scan Producers Actual|DataFusion Executed Plan)"' /tmp/pg_fusion_regress_explain.out
\! rm -f /tmp/pg_fusion_regress_explain.out

-- A hash join builds its hash table from the side PostgreSQL estimates smaller (leaf 1, the
-- three rows of exs), whichever side the query names first, once for all partitions
-- (CollectLeft); pg_fusion.join_reordering = off gives DataFusion no estimates: the query's
-- order (leaf 0, ex, is built).
CREATE TABLE exs (id int, name text);
INSERT INTO exs SELECT i, 'n' || i FROM generate_series(0, 9) i;
ANALYZE exs;
\set q 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT exs.id, count(*) FROM ex JOIN exs ON ex.g = exs.id WHERE exs.id < 3 GROUP BY exs.id ORDER BY 1'
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -E 'HashJoinExec|PgScanExec' /tmp/pg_fusion_regress_explain.out | sed -E 's/(join_type=[A-Za-z]+).*/\1/; s/, producers=.*//; s/^ +/  /'
SET pg_fusion.join_reordering = off;
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -E 'HashJoinExec|PgScanExec' /tmp/pg_fusion_regress_explain.out | sed -E 's/(join_type=[A-Za-z]+).*/\1/; s/, producers=.*//; s/^ +/  /'
RESET pg_fusion.join_reordering;
\! rm -f /tmp/pg_fusion_regress_explain.out
DROP TABLE exs;

-- An index probe: the build side's few keys go to the probe side's producer, which reads the
-- leaf through its primary key (EXPLAIN ANALYZE shows PostgreSQL's index scan; with timings,
-- `index_probe_keys` on the join's RuntimeFilterBuildExec); with pg_fusion.index_probe off it
-- reads the table whole.
CREATE TABLE exp_fact (id int8 PRIMARY KEY, v int4);
INSERT INTO exp_fact SELECT g, g % 7 FROM generate_series(1, 50000) g;
CREATE TABLE exp_dim (k int8);
INSERT INTO exp_dim VALUES (10), (20), (30), (40000), (NULL);
ANALYZE exp_fact, exp_dim;
\set q 'EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM exp_fact f JOIN exp_dim d ON f.id = d.k'
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -E 'Index Scan' /tmp/pg_fusion_regress_explain.out | sed -E 's/^ +//; s/(actual rows=[0-9]+)(\.[0-9]+)?/\1/'
\! grep -oE '(Seq Scan on [a-z_]+)' /tmp/pg_fusion_regress_explain.out | sort | uniq
SET pg_fusion.index_probe = off;
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -oE '(Index Scan using [a-z_]+ on [a-z_]+|Seq Scan on [a-z_]+)' /tmp/pg_fusion_regress_explain.out | sort | uniq
RESET pg_fusion.index_probe;
\! rm -f /tmp/pg_fusion_regress_explain.out
SELECT count(*), sum(v) FROM exp_fact f JOIN exp_dim d ON f.id = d.k;
DROP TABLE exp_fact, exp_dim;

-- The same number of keys into the same values, once stored in key order (ANALYZE's
-- correlation 1: a key's rows share a page, the probe pays) and once scattered (read whole).
CREATE TABLE exp_sorted (k int8, v int4);
INSERT INTO exp_sorted SELECT g / 10, g % 7 FROM generate_series(0, 19999) g;
CREATE TABLE exp_scattered (k int8, v int4);
INSERT INTO exp_scattered SELECT (g * 7919) % 20000 / 10, (g * 7919) % 20000 % 7 FROM generate_series(0, 19999) g;
CREATE INDEX exp_sorted_k ON exp_sorted (k);
CREATE INDEX exp_scattered_k ON exp_scattered (k);
CREATE TABLE exp_keys (k int8);
INSERT INTO exp_keys SELECT g * 3 FROM generate_series(0, 599) g;
ANALYZE exp_sorted, exp_scattered, exp_keys;
SELECT tablename, n_distinct, round(correlation::numeric, 1) AS correlation FROM pg_stats
WHERE tablename IN ('exp_sorted', 'exp_scattered') AND attname = 'k' ORDER BY 1;
\set q 'EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM exp_sorted f JOIN exp_keys d ON f.k = d.k'
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -oE '(Index Scan using [a-z_]+ on [a-z_]+|Seq Scan on [a-z_]+)' /tmp/pg_fusion_regress_explain.out | sort | uniq
\set q 'EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM exp_scattered f JOIN exp_keys d ON f.k = d.k'
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -oE '(Index Scan using [a-z_]+ on [a-z_]+|Seq Scan on [a-z_]+)' /tmp/pg_fusion_regress_explain.out | sort | uniq
\! rm -f /tmp/pg_fusion_regress_explain.out
SELECT count(*), sum(v) FROM exp_sorted f JOIN exp_keys d ON f.k = d.k;
SELECT count(*), sum(v) FROM exp_scattered f JOIN exp_keys d ON f.k = d.k;
DROP TABLE exp_sorted, exp_scattered, exp_keys;

-- With parallel workers the probe plan goes to them too: each producer runs the batches it
-- claims first (17 000 keys: two batches), the leaf is read by index only.
CREATE TABLE exp_par (id int8 PRIMARY KEY, v int4);
INSERT INTO exp_par SELECT g, g % 7 FROM generate_series(1, 400000) g;
CREATE TABLE exp_par_keys (k int8);
INSERT INTO exp_par_keys SELECT g * 11 FROM generate_series(1, 17000) g;
ANALYZE exp_par, exp_par_keys;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
\set q 'EXPLAIN (ANALYZE, BUFFERS OFF, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*), sum(v) FROM exp_par f JOIN exp_par_keys d ON f.id = d.k'
\o /tmp/pg_fusion_regress_explain.out
:q;
\o
\! grep -oE '(Relation: [a-z_.]+|Index Scan using [a-z_]+ on [a-z_]+|Seq Scan on [a-z_]+|Scan Producers Planned: [0-9]+)' /tmp/pg_fusion_regress_explain.out
\! rm -f /tmp/pg_fusion_regress_explain.out
SELECT count(*), sum(v) FROM exp_par f JOIN exp_par_keys d ON f.id = d.k;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE exp_par, exp_par_keys;

-- Numeric + - * inside an aggregate is computed by DataFusion from the scanned columns (exact
-- Decimal128 arithmetic); the scan ships n, not PostgreSQL's per-row result. Beyond 38 declared
-- digits PostgreSQL computes it in the scan.
EXPLAIN (COSTS OFF, VERBOSE) SELECT g, sum(n * (1 - n)), sum(n * 2.5 + 1) FROM ex GROUP BY g;
SELECT g, sum(n * (1 - n)), sum(n * 2.5 + 1) FROM ex GROUP BY g ORDER BY g;
SET pg_fusion.enable = off;
SELECT g, sum(n * (1 - n)), sum(n * 2.5 + 1) FROM ex GROUP BY g ORDER BY g;
SET pg_fusion.enable = on;
EXPLAIN (COSTS OFF, VERBOSE) SELECT sum(n * n * n * n * n) FROM ex;

-- EXPLAIN of a shape pg_fusion refuses is refused too (the plan would not be the one that runs).
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex a JOIN ex b ON a.id::float8 = b.id::float8;
-- ... and with pg_fusion off, or under fallback, it is PostgreSQL's own plan.
SET pg_fusion.on_unsupported = fallback;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex a JOIN ex b ON a.id::float8 = b.id::float8;
RESET pg_fusion.on_unsupported;

-- Two leaves of one table are read once when their conditions are equal, but not when a
-- condition samples without REPEATABLE (each copy is a sample of its own in PostgreSQL).
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex a JOIN ex b ON a.id = b.g
WHERE a.id IN (SELECT id FROM ex TABLESAMPLE BERNOULLI (50) REPEATABLE (2))
  AND b.id IN (SELECT id FROM ex TABLESAMPLE BERNOULLI (50) REPEATABLE (2));
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex a JOIN ex b ON a.id = b.g
WHERE a.id IN (SELECT id FROM ex TABLESAMPLE BERNOULLI (50))
  AND b.id IN (SELECT id FROM ex TABLESAMPLE BERNOULLI (50));

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
DROP TABLE ex;
