-- Partitioned tables and inheritance, with PostgreSQL's answers (the oracle pass runs this
-- suite with pg_fusion off against the same expected output). A table's leaf is PostgreSQL's
-- plan of it: partitions pruned at plan time and at run time, ONLY respected, the parent's
-- privileges and row-level security applied, as in PostgreSQL's own plan.
CREATE TABLE pt_sales (id int, day date, region text COLLATE "C", amount numeric(10,2)) PARTITION BY RANGE (day);
CREATE TABLE pt_sales_2023 PARTITION OF pt_sales FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE pt_sales_2024 PARTITION OF pt_sales FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')
    PARTITION BY LIST (region);
CREATE TABLE pt_sales_2024_ns PARTITION OF pt_sales_2024 FOR VALUES IN ('north', 'south');
CREATE TABLE pt_sales_2024_other PARTITION OF pt_sales_2024 DEFAULT;
CREATE TABLE pt_sales_other PARTITION OF pt_sales DEFAULT;
INSERT INTO pt_sales
SELECT i, date '2022-12-01' + (i % 800), (ARRAY['north', 'south', 'east', 'west'])[1 + i % 4], (i % 97) * 1.25
FROM generate_series(1, 6000) i;
CREATE TABLE pt_regions (region text COLLATE "C", manager text COLLATE "C");
INSERT INTO pt_regions VALUES ('north', 'ann'), ('south', 'bob'), ('east', 'cy'), ('west', 'dee');
CREATE TABLE pt_hash (k int, v int) PARTITION BY HASH (k);
CREATE TABLE pt_hash_0 PARTITION OF pt_hash FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE pt_hash_1 PARTITION OF pt_hash FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE pt_hash_2 PARTITION OF pt_hash FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO pt_hash SELECT i, i % 10 FROM generate_series(1, 3000) i;
-- Inheritance: the parent's own rows and its children's (a child with an extra column).
CREATE TABLE pt_parent (id int, v int);
CREATE TABLE pt_child1 () INHERITS (pt_parent);
CREATE TABLE pt_child2 (extra text) INHERITS (pt_parent);
INSERT INTO pt_parent SELECT i, i % 5 FROM generate_series(1, 100) i;
INSERT INTO pt_child1 SELECT i, i % 7 FROM generate_series(101, 300) i;
INSERT INTO pt_child2 SELECT i, i % 3, 'x' FROM generate_series(301, 450) i;
ANALYZE pt_sales, pt_regions, pt_hash, pt_parent, pt_child1, pt_child2;
SET pg_fusion.enable = on;

SELECT count(*), sum(amount) FROM pt_sales;
SELECT region, count(*), sum(amount) FROM pt_sales GROUP BY region ORDER BY region;
SELECT extract(year FROM day) AS y, count(*) FROM pt_sales GROUP BY 1 ORDER BY 1;
-- Pruned at plan time.
SELECT count(*), min(day), max(day) FROM pt_sales WHERE day >= '2024-03-01' AND day < '2024-04-01';
SELECT count(*) FROM pt_sales WHERE day >= '2024-01-01' AND region = 'east';
SELECT count(*) FROM pt_sales WHERE day < '2020-01-01';
-- Joined, grouped, in a subquery and a UNION ALL.
SELECT r.manager, count(*), sum(s.amount) FROM pt_sales s JOIN pt_regions r USING (region)
WHERE s.day BETWEEN '2023-06-01' AND '2024-06-30' GROUP BY r.manager ORDER BY r.manager;
SELECT count(*) FROM pt_sales a JOIN pt_sales b ON a.id = b.id + 1 WHERE a.region = 'north';
SELECT region, n FROM (SELECT region, count(*) AS n FROM pt_sales GROUP BY region) s WHERE n > 1000 ORDER BY 1;
SELECT count(*) FROM (SELECT id FROM pt_sales WHERE day < '2023-02-01' UNION ALL SELECT k FROM pt_hash) u;
SELECT v, count(*) FROM pt_hash WHERE k IN (1, 2, 3, 500) GROUP BY v ORDER BY v;
SELECT count(*) FROM pt_hash h JOIN pt_sales s ON s.id = h.k;
-- ONLY: the partitioned table itself has no rows; an inheritance parent has its own.
SELECT count(*) FROM ONLY pt_sales;
SELECT count(*), sum(v) FROM pt_parent;
SELECT count(*), sum(v) FROM ONLY pt_parent;
SELECT p.v, count(*) FROM pt_parent p JOIN pt_hash h ON h.k = p.id GROUP BY p.v ORDER BY p.v;
-- A partition read directly, and a parameter on the partition key (a generic plan prunes at
-- run time).
SELECT count(*) FROM pt_sales_2024_ns;
PREPARE pt_q(date) AS SELECT count(*), sum(amount) FROM pt_sales WHERE day >= $1 AND day < $1 + 30;
SET plan_cache_mode = force_generic_plan;
EXECUTE pt_q('2024-02-01');
EXECUTE pt_q('2022-12-01');
RESET plan_cache_mode;
EXECUTE pt_q('2024-02-01');
DEALLOCATE pt_q;
-- A partition added and one detached after a plan was cached: the plan follows.
PREPARE pt_all AS SELECT count(*) FROM pt_sales;
EXECUTE pt_all;
CREATE TABLE pt_sales_2026 PARTITION OF pt_sales FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO pt_sales VALUES (9001, '2026-05-05', 'north', 1.00);
EXECUTE pt_all;
ALTER TABLE pt_sales DETACH PARTITION pt_sales_2026;
EXECUTE pt_all;
DEALLOCATE pt_all;
DROP TABLE pt_sales_2026;

-- Rights: the parent's GRANT and row-level security apply to its partitions; a partition's own
-- policy does not (PostgreSQL checks the table the query names).
CREATE ROLE pt_reader;
GRANT SELECT ON pt_sales, pt_regions TO pt_reader;
ALTER TABLE pt_sales ENABLE ROW LEVEL SECURITY;
CREATE POLICY pt_north ON pt_sales FOR SELECT TO pt_reader USING (region = 'north');
ALTER TABLE pt_sales_2023 ENABLE ROW LEVEL SECURITY;
SET ROLE pt_reader;
SELECT region, count(*) FROM pt_sales GROUP BY region ORDER BY region;
SELECT count(*) FROM pt_sales s JOIN pt_regions r USING (region);
SELECT count(*) FROM pt_sales_2023;
RESET ROLE;
DROP POLICY pt_north ON pt_sales;
ALTER TABLE pt_sales DISABLE ROW LEVEL SECURITY;
ALTER TABLE pt_sales_2023 DISABLE ROW LEVEL SECURITY;
REVOKE ALL ON pt_sales, pt_regions FROM pt_reader;
DROP ROLE pt_reader;

-- A foreign partition: pg_fusion does not run foreign data wrappers in its scans (PostgreSQL's
-- plan answers here; the refusal is in the errors suite).
CREATE EXTENSION file_fdw;
CREATE SERVER pt_files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE pt_sales_ft PARTITION OF pt_sales FOR VALUES FROM ('1990-01-01') TO ('1991-01-01')
    SERVER pt_files OPTIONS (filename '/dev/null', format 'csv');
SET pg_fusion.on_unsupported = fallback;
SELECT count(*) FROM pt_sales;
SELECT count(*) FROM pt_sales WHERE day >= '2023-01-01';
RESET pg_fusion.on_unsupported;
DROP FOREIGN TABLE pt_sales_ft;
DROP SERVER pt_files;
DROP EXTENSION file_fdw;

-- An inheritance parent's NOT NULL does not bind its children (before 18 a child may drop it):
-- count(a) counts only values, NOT IN meets the NULL. Compared with PostgreSQL's own answers.
CREATE TABLE pt_nn (a int NOT NULL);
CREATE TABLE pt_nn_c () INHERITS (pt_nn);
INSERT INTO pt_nn VALUES (1), (2);
DO $$ BEGIN ALTER TABLE pt_nn_c ALTER a DROP NOT NULL; INSERT INTO pt_nn_c VALUES (NULL);
EXCEPTION WHEN others THEN INSERT INTO pt_nn_c VALUES (3); END $$;
SELECT count(a) AS n_a, count(*) AS n_rows FROM pt_nn \gset fusion_
SELECT count(*) AS n_not_in FROM pt_hash WHERE v NOT IN (SELECT a FROM pt_nn) \gset fusion_
SET pg_fusion.enable = off;
SELECT count(a) AS n_a, count(*) AS n_rows FROM pt_nn \gset pg_
SELECT count(*) AS n_not_in FROM pt_hash WHERE v NOT IN (SELECT a FROM pt_nn) \gset pg_
SET pg_fusion.enable = on;
SELECT :fusion_n_a = :pg_n_a AND :fusion_n_rows = :pg_n_rows AND :fusion_n_not_in = :pg_n_not_in AS same_answers;
DROP TABLE pt_nn CASCADE;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
DROP TABLE pt_sales, pt_regions, pt_hash, pt_parent CASCADE;
