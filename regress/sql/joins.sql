-- Inner joins through DataFusion: each base relation is a scan leaf (its own conditions in its
-- scan SQL), conditions between relations run in DataFusion (equalities as hash-join keys).
-- Every query runs with pg_fusion off and on; the rows must be identical ("match").
CREATE TABLE jc (id int PRIMARY KEY, region text COLLATE "C", code char(3) COLLATE "C");
CREATE TABLE jo (id bigint PRIMARY KEY, cust int, status char(1) COLLATE "C", total numeric(12,2), day date);
CREATE TABLE jl (order_id bigint, line int, qty numeric(10,2), price numeric(12,2), code char(3) COLLATE "C", note text COLLATE "C");
INSERT INTO jc SELECT i, 'r' || (i % 4), 'c' || (i % 9) FROM generate_series(1, 300) i;
INSERT INTO jo SELECT i, CASE WHEN i % 17 = 0 THEN NULL ELSE 1 + i % 320 END,
                      CASE WHEN i % 3 = 0 THEN 'F' ELSE 'O' END, (i * 3.17) % 5000, date '2020-01-01' + i % 700
FROM generate_series(1, 4000) i;
INSERT INTO jl SELECT 1 + i % 4100, i % 7, 1 + i % 50, (i * 1.37) % 900,
                      CASE WHEN i % 11 = 0 THEN NULL ELSE 'c' || (i % 9) END, 'n' || (i % 13)
FROM generate_series(1, 20000) i;
ANALYZE jc, jo, jl;

\set same '\\! cmp -s /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out && echo match || diff /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out; rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out'

-- JOIN ... ON, with conditions of one relation pushed into its scan.
\set q 'SELECT c.region, count(*), sum(o.total) FROM jc c JOIN jo o ON o.cust = c.id WHERE o.status = ''F'' GROUP BY c.region ORDER BY c.region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Joins written as WHERE equalities, three relations, int4 = int8 keys.
\set q 'SELECT c.region, o.status, count(*), sum(l.qty), sum(l.price * l.qty), min(o.day), max(l.note) FROM jc c, jo o, jl l WHERE c.id = o.cust AND l.order_id = o.id AND l.line < 5 GROUP BY c.region, o.status ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Rows without grouping; an expression over two relations is computed by PostgreSQL's
-- projection on the node. USING and NATURAL joins.
\set q 'SELECT o.id, l.line, l.price * l.qty + o.total AS x, c.region || ''/'' || l.note AS y FROM jo o JOIN jl l ON l.order_id = o.id JOIN jc c ON c.id = o.cust WHERE o.id BETWEEN 100 AND 140 ORDER BY o.id, l.line'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id, a.region, b.code FROM jc a JOIN jc b USING (id) WHERE id % 50 = 1 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT code, count(*), sum(qty) FROM jc NATURAL JOIN jl GROUP BY code ORDER BY code'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*) FROM jc a NATURAL JOIN jc b'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Self join, char(n) keys of the same length, NULL keys never match.
\set q 'SELECT a.code, count(*) FROM jc a JOIN jc b ON a.code = b.code AND a.id < b.id GROUP BY a.code ORDER BY a.code'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*), count(l.code), count(c.code) FROM jl l JOIN jc c ON l.code = c.code'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Conditions that are not equalities, OR between relations, a cross join.
\set q 'SELECT count(*), sum(o.total) FROM jo o JOIN jc c ON o.cust > c.id AND c.id < 20 WHERE o.id < 500'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*) FROM jo o, jc c WHERE (o.cust = c.id OR c.region = ''r1'') AND NOT (o.status = ''F'' AND c.id > 200) AND o.id < 300'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT a.region, b.region, count(*) FROM jc a CROSS JOIN jc b WHERE a.id < 10 AND b.id < 7 GROUP BY 1, 2 ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- DISTINCT, ORDER BY and LIMIT over joined rows.
\set q 'SELECT DISTINCT c.region, o.status FROM jc c JOIN jo o ON o.cust = c.id ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.id, c.region, o.total FROM jo o JOIN jc c ON c.id = o.cust ORDER BY o.total DESC, o.id LIMIT 7 OFFSET 3'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Subqueries in FROM and views that PostgreSQL would flatten join the query.
\set q 'SELECT region, status, count(*), sum(amount) FROM (SELECT c.region, o.status, o.total * 2 AS amount FROM jc c JOIN jo o ON o.cust = c.id WHERE o.day > date ''2020-06-01'') AS s WHERE amount > 100 GROUP BY region, status ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
CREATE VIEW jv AS SELECT o.id, o.cust, l.qty, l.price FROM jo o JOIN jl l ON l.order_id = o.id WHERE l.line > 1;
\set q 'SELECT c.region, count(*), sum(v.qty * v.price) FROM jv v JOIN jc c ON c.id = v.cust GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- A view owned by another role reads its tables with the owner's rights: the reader may read
-- the view, not the tables under it.
CREATE ROLE pgf_join_reader;
GRANT SELECT ON jv, jc TO pgf_join_reader;
SET ROLE pgf_join_reader;
\set q 'SELECT c.region, count(*), sum(v.qty * v.price) FROM jv v JOIN jc c ON c.id = v.cust GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SELECT count(*) FROM jo;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DROP VIEW jv;
DROP OWNED BY pgf_join_reader;
DROP ROLE pgf_join_reader;

-- Outer joins: ON conditions of the nullable side go into its scan, the others stay in the
-- join; WHERE conditions on a nullable side run after the join (IS NULL finds the unmatched).
\set q 'SELECT c.id, c.region, o.id AS oid, o.total FROM jc c LEFT JOIN jo o ON o.cust = c.id AND o.status = ''F'' AND c.id < 200 WHERE c.id % 10 = 3 ORDER BY c.id, oid'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, count(*), count(o.id), sum(o.total) FROM jc c LEFT JOIN jo o ON o.cust = c.id GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.id FROM jc c LEFT JOIN jo o ON o.cust = c.id WHERE o.id IS NULL ORDER BY c.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.id, c.region, coalesce(c.code, ''--'') AS code FROM jc c RIGHT JOIN jo o ON o.cust = c.id WHERE o.id < 60 ORDER BY o.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*), count(c.id), count(o.id), count(o.cust) FROM (SELECT * FROM jc WHERE id > 250) c FULL JOIN (SELECT * FROM jo WHERE id < 40) o ON o.cust = c.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, o.status, count(l.qty), sum(l.qty) FROM jc c LEFT JOIN (jo o JOIN jl l ON l.order_id = o.id AND l.line = 2) ON o.cust = c.id WHERE c.id < 50 GROUP BY 1, 2 ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- An expression over the nullable side that is not NULL for NULL input (COALESCE, CASE,
-- IS NULL) cannot be computed in the scan: DataFusion computes it after the join. A numeric
-- COALESCE keeps the display scale of the argument that gave each value (sum: the largest).
\set q 'SELECT c.region, sum(coalesce(o.total, 0)), sum(coalesce(o.total * 2, c.id)), count(*) FILTER (WHERE o.id IS NULL), max(coalesce(o.day, date ''2000-01-01'')) FROM jc c LEFT JOIN jo o ON o.cust = c.id AND o.status = ''F'' GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT coalesce(o.status::text, ''none''), o.id IS NULL, count(*) FROM jc c LEFT JOIN jo o ON o.cust = c.id AND o.total < 500 GROUP BY 1, 2 ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- In WHERE and ON: the expression itself, over the joined row.
\set q 'SELECT c.id, o.id, o.total FROM jc c LEFT JOIN jo o ON o.cust = c.id AND coalesce(o.total, 0) < 900 WHERE coalesce(o.total, 0) >= 100 OR c.id % 40 = 0 ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*), sum(c.id) FROM jc c FULL JOIN jo o ON o.cust = c.id WHERE CASE WHEN o.id IS NULL THEN c.region = ''r1'' ELSE coalesce(c.id, o.cust) > 250 END'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- Over a subquery's columns.
\set q 'SELECT c.region, sum(coalesce(s.n, 0)), count(*) FROM jc c LEFT JOIN (SELECT cust, count(*) AS n FROM jo GROUP BY cust) s ON s.cust = c.id WHERE coalesce(s.n, 0) < 13 GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- A COALESCE of char(n) and an unpadded constant: refused (the values would differ in padding).
SELECT count(*) FROM jc c LEFT JOIN jo o ON o.cust = c.id WHERE coalesce(o.status, 'N') = 'N';
-- A CASE branch PostgreSQL evaluates only when reached, whose scan part could fail on rows the
-- CASE excludes (the scan computes it for every row): refused, never a division by zero that
-- PostgreSQL would not raise.
SELECT sum(CASE WHEN o.id % 5 <> 0 THEN o.cust / (o.id % 5) END) FROM jc c LEFT JOIN jo o ON o.cust = c.id;
SELECT sum(coalesce(o.cust, c.id / (c.id % 7))) FROM jc c LEFT JOIN jo o ON o.cust = c.id;
-- An aggregate's computed argument reused in a FILTER over several tables.
\set q 'SELECT sum(l.price * l.qty), count(*) FILTER (WHERE l.price * l.qty > o.total) FROM jl l JOIN jo o ON o.id = l.order_id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Aggregates over + - * of numerics from several tables: computed by DataFusion after the
-- join, exactly (the declared digits fit 38).
\set q 'SELECT c.region, sum(o.total * l.qty), sum(l.price * l.qty - o.total), avg(o.total + l.price), max(o.total - l.qty), sum(o.total * l.line) FROM jc c JOIN jo o ON o.cust = c.id JOIN jl l ON l.order_id = o.id GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Integer + - * over several tables or the nullable side: DataFusion computes them after the
-- join, checking the result type's range as PostgreSQL does (22003, never a wrapped value).
\set q 'SELECT c.region, sum(c.id * l.line), sum(o.cust - c.id), max(l.line + c.id * 2), count(*) FILTER (WHERE c.id * l.line > 500) FROM jc c JOIN jo o ON o.cust = c.id JOIN jl l ON l.order_id = o.id GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, count(*), sum(l.qty) FROM jc c JOIN jo o ON o.cust = c.id JOIN jl l ON l.order_id = o.id WHERE o.id + c.id * l.line > 1000 GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.id + o.cust AS k, count(*) FROM jc c LEFT JOIN jo o ON o.cust = c.id AND o.status = ''F'' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;
SELECT sum(c.id * 2147483 * l.line) FROM jc c JOIN jl l ON l.line = c.id % 7;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM jc c JOIN jo o ON o.cust = c.id WHERE (c.id::smallint * 200::smallint) * o.cust::smallint > 0;
\echo :LAST_ERROR_SQLSTATE

-- A numeric CASE over two tables with branches of different scales (TPC-H Q8, Q14): DataFusion
-- computes it after the join with each value's display scale; PostgreSQL rounds the sum to the
-- group's largest.
\set q 'SELECT c.region, sum(CASE WHEN c.code = ''c1'' THEN l.price * l.qty WHEN o.status = ''F'' THEN o.total ELSE 0 END), 100.00 * sum(CASE WHEN o.status = ''O'' THEN l.price * (1 - l.qty) ELSE 0 END) / sum(l.price), avg(CASE WHEN l.line > 3 THEN o.total * l.qty END), sum(CASE WHEN c.id < 0 THEN l.price * l.qty ELSE 0 END) FROM jc c JOIN jo o ON o.cust = c.id JOIN jl l ON l.order_id = o.id GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.status, sum(CASE WHEN c.region IS NULL THEN 1.5 ELSE l.qty END) FROM jl l JOIN jo o ON l.order_id = o.id LEFT JOIN jc c ON c.id = o.cust AND c.region = ''r2'' GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Prepared, six times (the generic plan too).
SET pg_fusion.enable = on;
PREPARE pj(int) AS SELECT count(*), sum(l.qty) FROM jo o JOIN jl l ON l.order_id = o.id WHERE o.cust = $1;
EXECUTE pj(5); EXECUTE pj(6); EXECUTE pj(7); EXECUTE pj(8); EXECUTE pj(9); EXECUTE pj(10);
SET pg_fusion.enable = off;
EXECUTE pj(10);
DEALLOCATE pj;

-- An OR over two relations (TPC-H Q19): each relation's scan keeps only the rows some arm can
-- accept (the OR of its own terms per arm, NULLs included), the OR itself runs after the join.
\set q 'SELECT count(*), sum(l.qty * l.price) FROM jl l JOIN jo o ON o.id = l.order_id WHERE (l.code = ''c1'' AND l.qty < 10 AND o.status = ''F'') OR (l.code = ''c2'' AND o.total > 100 AND o.status = ''O'') OR (l.code IS NULL AND o.cust IS NULL)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.status, count(*) FROM jl l JOIN jo o ON o.id = l.order_id WHERE (l.qty > 45 AND o.day > date ''2021-06-01'') OR o.total < 20 OR (l.line = 3 AND o.cust IS NULL) GROUP BY o.status ORDER BY o.status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;
EXPLAIN (COSTS OFF, VERBOSE) SELECT count(*) FROM jl l JOIN jo o ON o.id = l.order_id WHERE (l.code = 'c1' AND l.qty < 10 AND o.status = 'F') OR (l.code = 'c2' AND o.total > 100 AND o.status = 'O');
-- The same with IN lists (TPC-H Q19's shape): each one-table term is a column of its scan.
\set q 'SELECT count(*), sum(l.qty) FROM jl l JOIN jo o ON o.id = l.order_id WHERE (l.code IN (''c1'', ''c3'') AND l.qty BETWEEN 1 AND 1 + 10 AND o.status = ''F'') OR (l.code = ''c2'' AND o.total > 100 AND o.status IN (''O'', ''P''))'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;

-- EXPLAIN: one scan per relation, the join condition in DataFusion.
SET pg_fusion.enable = on;
EXPLAIN (COSTS OFF, VERBOSE) SELECT c.region, count(*) FROM jc c JOIN jo o ON o.cust = c.id WHERE o.status = 'F' GROUP BY c.region;

-- What DataFusion cannot compute over joined rows: the aggregates (and the grouping by an
-- expression of both tables) are PostgreSQL's Agg node above the node, a condition PostgreSQL's
-- qual on the node; the rest fails closed (0A000).
SELECT sum(o.total / l.qty) FROM jo o JOIN jl l ON l.order_id = o.id;
SELECT sum(CASE c.region WHEN 'r1' THEN o.total * 1.5 ELSE 0 END) FROM jc c JOIN jo o ON o.cust = c.id;
SELECT o.status || c.region, count(*) FROM jo o JOIN jc c ON c.id = o.cust GROUP BY o.status || c.region ORDER BY 1;
SELECT count(*) FROM jo o JOIN jc c ON o.cust = c.id WHERE o.total::float8 > c.id::float8;
SELECT count(*) FROM jo o JOIN jc c ON o.cust = c.id WHERE random() < 2;
SELECT count(*) FROM jl l JOIN jc c ON l.code = c.code::char(5);
SELECT o.id, c.region FROM jo o JOIN jc c ON c.id = o.cust ORDER BY o.total + c.id LIMIT 3;

-- Join order from PostgreSQL's statistics (`join_reordering`): the one nation first, then the
-- leaves it narrows, each joined to the ones before it; the 200 customers join nation through
-- the class c_nation = s_nation = n_id, by an equality derived from it (the filter's last term),
-- before the 3000 suppliers. Off: the written order, nothing derived.
CREATE TABLE eo_nation (n_id int4, n_name text);
INSERT INTO eo_nation SELECT g, 'n' || g FROM generate_series(0, 24) g;
CREATE TABLE eo_customer (c_id int8, c_nation int4);
INSERT INTO eo_customer SELECT g, (g * 7 + g / 11) % 25 FROM generate_series(1, 200) g;
CREATE TABLE eo_supplier (s_id int8, s_nation int4);
INSERT INTO eo_supplier SELECT g, (g * 3 + g / 7) % 25 FROM generate_series(1, 3000) g;
CREATE TABLE eo_orders (o_id int8, o_cust int8, o_supp int8);
INSERT INTO eo_orders SELECT g, (g * 7 + g / 13) % 200 + 1, (g * 13 + g / 17) % 3000 + 1 FROM generate_series(1, 20000) g;
ANALYZE eo_nation, eo_customer, eo_supplier, eo_orders;
EXPLAIN (COSTS OFF) SELECT count(*) FROM eo_orders, eo_customer, eo_supplier, eo_nation
WHERE o_cust = c_id AND o_supp = s_id AND c_nation = s_nation AND s_nation = n_id AND n_name = 'n3';
SELECT count(*) FROM eo_orders, eo_customer, eo_supplier, eo_nation
WHERE o_cust = c_id AND o_supp = s_id AND c_nation = s_nation AND s_nation = n_id AND n_name = 'n3';
SET pg_fusion.join_reordering = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM eo_orders, eo_customer, eo_supplier, eo_nation
WHERE o_cust = c_id AND o_supp = s_id AND c_nation = s_nation AND s_nation = n_id AND n_name = 'n3';
RESET pg_fusion.join_reordering;
DROP TABLE eo_nation, eo_customer, eo_supplier, eo_orders;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
RESET pg_fusion.enable;
\! rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out
DROP TABLE jc, jo, jl;
