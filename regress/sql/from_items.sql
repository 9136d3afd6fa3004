-- Functions and VALUES lists in FROM, and object identifiers, with PostgreSQL's answers (the
-- oracle pass runs this suite with pg_fusion off against the same expected output). A function
-- or VALUES list in FROM is a leaf PostgreSQL plans and runs on its own (a Function Scan, a
-- Values Scan) and DataFusion joins and aggregates its rows; an oid (or regclass, regtype,
-- regproc) is an unsigned 32-bit integer, compared, grouped and joined by DataFusion.
CREATE TABLE fi (id int, g int, t text COLLATE "C");
INSERT INTO fi SELECT i, i % 5, 'v' || i FROM generate_series(1, 100) i;
INSERT INTO fi VALUES (-1, NULL, 'minus one');
ANALYZE fi;
SET pg_fusion.enable = on;

-- A set-returning function joined with a table, and on its own.
SELECT fi.g, count(*), min(s.x) FROM fi JOIN generate_series(0, 2) s(x) ON fi.g = s.x GROUP BY fi.g ORDER BY fi.g;
SELECT count(*), sum(x), min(x), max(x) FROM generate_series(1, 1000) x;
SELECT a.x, b.y FROM generate_series(1, 5) a(x) JOIN generate_series(3, 7) b(y) ON a.x = b.y ORDER BY 1;
-- WITH ORDINALITY, ROWS FROM (several functions, the shorter padded with NULLs).
SELECT * FROM unnest(ARRAY['c', 'a', 'b']) WITH ORDINALITY AS u(v, n) ORDER BY n;
SELECT x, y FROM ROWS FROM (generate_series(1, 3), generate_series(10, 11)) AS r(x, y) ORDER BY x;
-- VALUES as a table: joined, outer-joined, aggregated.
SELECT v.name, count(fi.id) FROM (VALUES (0, 'zero'), (1, 'one'), (9, 'nine')) v(k, name)
LEFT JOIN fi ON fi.g = v.k GROUP BY v.name ORDER BY v.name;
SELECT sum(k), count(*) FROM (VALUES (1), (2), (NULL::int)) v(k);
-- The same function twice: two leaves, each run.
SELECT count(*) FROM generate_series(1, 3) a, generate_series(1, 3) b;
-- A subquery without tables in a VALUES list or a function's arguments.
SELECT sum(x) FROM (VALUES (1), ((SELECT 10))) v(x);
SELECT count(*) FROM generate_series(1, (SELECT 5)) g;
-- A WITH query read twice over a VALUES list: its copies are one leaf, read once.
WITH c AS (SELECT fi.id, v.k FROM fi, (VALUES (1), (2)) v(k) ORDER BY v.k, fi.id LIMIT 3)
SELECT count(*) FROM c c1 JOIN c c2 USING (id, k);
-- Conditions on a function's columns are the leaf's WHERE.
SELECT fi.id, s.x FROM fi JOIN generate_series(1, 100, 7) s(x) ON s.x = fi.id WHERE s.x > 40 ORDER BY 1;

-- A set-returning function in the select list of a one-table query: the table's leaf expands
-- its rows (PostgreSQL's ProjectSet), DataFusion sorts, deduplicates and aggregates them.
SELECT id, generate_series(1, g) AS n FROM fi WHERE id <= 6 ORDER BY id, n;
SELECT id, unnest(ARRAY[t, upper(t)]) AS u FROM fi WHERE id < 3 ORDER BY 1, 2;
SELECT count(*), sum(n) FROM (SELECT generate_series(1, g) AS n FROM fi) s;
SELECT DISTINCT generate_series(1, 3) AS x, g FROM fi WHERE g < 2 ORDER BY 1, 2;
-- Two of them run in lockstep, the shorter padded with NULLs.
SELECT id, generate_series(1, 2) AS a, generate_series(1, 3) AS b FROM fi WHERE id = 1 ORDER BY b;

-- Object identifiers: grouped, ordered, joined, min/max, compared with constants; an int4
-- relabeled as an oid reads unsigned (-1 is 4294967295).
CREATE TABLE fi_o (id int, o oid, r regclass);
INSERT INTO fi_o VALUES (1, 4294967295, 'pg_class'), (2, 0, 'pg_type'), (3, 42, NULL), (4, 42, 'pg_class');
SELECT o, count(*) FROM fi_o GROUP BY o ORDER BY o;
SELECT max(o), min(o), count(DISTINCT o) FROM fi_o;
SELECT a.id, b.id FROM fi_o a JOIN fi_o b ON a.o = b.o AND a.id < b.id ORDER BY 1;
SELECT id FROM fi_o WHERE o > 100 OR o = 0 ORDER BY id;
SELECT r, count(*) FROM fi_o GROUP BY r ORDER BY r NULLS FIRST;
SELECT a.id, b.id FROM fi_o a JOIN fi b ON a.o = b.id ORDER BY 1, 2;
SELECT c.relname, f.id FROM pg_class c JOIN fi_o f ON f.r = c.oid ORDER BY 2;

-- TABLESAMPLE: the leaf's own plan samples (a Sample Scan). With REPEATABLE the sample is
-- PostgreSQL's own; equal clauses are read once, different ones (or none) apart; partitions,
-- views and parameters as PostgreSQL samples them.
CREATE TABLE fi_s (id int, k int);
INSERT INTO fi_s SELECT i, i % 7 FROM generate_series(1, 20000) i;
ANALYZE fi_s;
SELECT count(*), sum(id) FROM fi_s TABLESAMPLE SYSTEM (20) REPEATABLE (1);
SELECT k, count(*) FROM fi_s TABLESAMPLE BERNOULLI (5) REPEATABLE (7) GROUP BY k ORDER BY k;
SELECT count(*) FROM fi_s a TABLESAMPLE BERNOULLI (10) REPEATABLE (3) JOIN fi_s b ON a.id = b.id;
SELECT count(*) FROM fi_s a TABLESAMPLE BERNOULLI (10) REPEATABLE (3)
    JOIN fi_s b TABLESAMPLE BERNOULLI (10) REPEATABLE (3) ON a.id = b.id;
SELECT count(*) FROM fi_s a TABLESAMPLE BERNOULLI (10) REPEATABLE (3)
    JOIN fi_s b TABLESAMPLE BERNOULLI (10) REPEATABLE (4) ON a.id = b.id;
SELECT count(*) FROM fi_s TABLESAMPLE SYSTEM (100);
SELECT count(*) FROM fi_s a TABLESAMPLE BERNOULLI (100) JOIN fi_s b TABLESAMPLE BERNOULLI (100) ON a.id = b.id;
PREPARE fi_sq(float4, float8) AS SELECT count(*) FROM fi_s TABLESAMPLE BERNOULLI ($1) REPEATABLE ($2);
EXECUTE fi_sq(10, 2);
EXECUTE fi_sq(100, 0);
DEALLOCATE fi_sq;
CREATE TABLE fi_sp (id int, k int) PARTITION BY RANGE (id);
CREATE TABLE fi_sp1 PARTITION OF fi_sp FOR VALUES FROM (0) TO (5000);
CREATE TABLE fi_sp2 PARTITION OF fi_sp FOR VALUES FROM (5000) TO (20001);
INSERT INTO fi_sp SELECT * FROM fi_s;
SELECT count(*), sum(id) FROM fi_sp TABLESAMPLE BERNOULLI (10) REPEATABLE (5) WHERE id > 1000;
CREATE VIEW fi_sv AS SELECT id, k FROM fi_s TABLESAMPLE SYSTEM (50) REPEATABLE (9);
SELECT v.k, count(*) FROM fi_sv v JOIN fi_s s ON s.id = v.id GROUP BY v.k ORDER BY v.k;
DROP VIEW fi_sv;
DROP TABLE fi_s, fi_sp;

DROP TABLE fi, fi_o;
