-- Subqueries (EXISTS, IN, NOT IN, scalar) in the conditions or select-list expressions of one
-- table run inside that table's scan: PostgreSQL plans and evaluates them there, with its own
-- semantics (three-valued NOT IN, "more than one row" 21000); the rows then join and aggregate
-- in DataFusion. Some shapes DataFusion runs instead (joins; see each section). A subquery
-- anywhere else (correlated over aggregates, between tables) fails closed.
-- Every query runs with pg_fusion off and on; the rows must be identical ("match").
CREATE TABLE sc (id int PRIMARY KEY, region text COLLATE "C", quota numeric(10,2));
CREATE TABLE so (id bigint PRIMARY KEY, cust int, status char(1) COLLATE "C", total numeric(12,2));
CREATE TABLE sl (order_id bigint, qty numeric(10,2), code int);
INSERT INTO sc SELECT i, 'r' || (i % 4), (i * 7) % 900 FROM generate_series(1, 300) i;
INSERT INTO so SELECT i, CASE WHEN i % 17 = 0 THEN NULL ELSE 1 + i % 320 END,
                      CASE WHEN i % 3 = 0 THEN 'F' ELSE 'O' END, (i * 3.17) % 5000
FROM generate_series(1, 4000) i;
INSERT INTO sl SELECT 1 + i % 4100, 1 + i % 50, CASE WHEN i % 13 = 0 THEN NULL ELSE i % 400 END
FROM generate_series(1, 20000) i;
ANALYZE sc, so, sl;

\set same '\\! cmp -s /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out && echo match || diff /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out; rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out'

-- Correlated EXISTS / NOT EXISTS (TPC-H Q4, Q21, Q22 shapes).
\set q 'SELECT status, count(*), sum(total) FROM so WHERE EXISTS (SELECT 1 FROM sl WHERE sl.order_id = so.id AND sl.qty > 45) GROUP BY status ORDER BY status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, count(*) FROM sc c JOIN so o ON o.cust = c.id WHERE NOT EXISTS (SELECT 1 FROM sl WHERE sl.order_id = o.id AND sl.code < 10) GROUP BY c.region ORDER BY c.region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- EXISTS / NOT EXISTS also correlated by one `<>` (Q21): the groups carry min and max of the
-- inner value; NULL codes on both sides (every 13th row), groups whose codes are all NULL, rows
-- without a group. The three reads of sl are one shared scan.
\set q 'SELECT l1.code, count(*) FROM sl l1 WHERE EXISTS (SELECT 1 FROM sl l2 WHERE l2.order_id = l1.order_id AND l2.code <> l1.code) AND NOT EXISTS (SELECT 1 FROM sl l3 WHERE l3.order_id = l1.order_id AND l3.code <> l1.code AND l3.qty > 40) GROUP BY l1.code ORDER BY l1.code'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*), count(l1.code), sum(l1.qty) FROM sl l1 WHERE NOT EXISTS (SELECT 1 FROM sl l2 WHERE l1.code <> l2.code AND l2.order_id = l1.order_id AND l2.qty < 3)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.status, count(*) FROM so o WHERE EXISTS (SELECT 1 FROM so o2 WHERE o2.cust = o.cust AND o2.id <> o.id AND o2.total > 4000) GROUP BY o.status ORDER BY o.status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sl l1 WHERE l1.qty > 40 AND NOT EXISTS (SELECT 1 FROM sl l2 WHERE l2.order_id = l1.order_id AND l2.code <> l1.code);
-- Two `<>` terms, or `<>` over text, stay in the scan, where PostgreSQL runs them.
\set q 'SELECT count(*) FROM sl l1 WHERE EXISTS (SELECT 1 FROM sl l2 WHERE l2.order_id = l1.order_id AND l2.code <> l1.code AND l2.qty <> l1.qty)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- IN over a grouped subquery with HAVING (Q18), nested IN (Q20).
\set q 'SELECT o.id, o.total, sum(l.qty) FROM so o JOIN sl l ON l.order_id = o.id WHERE o.id IN (SELECT order_id FROM sl GROUP BY order_id HAVING sum(qty) > 140) GROUP BY o.id, o.total ORDER BY o.total DESC, o.id LIMIT 20'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT region, count(*) FROM sc WHERE id IN (SELECT cust FROM so WHERE id IN (SELECT order_id FROM sl WHERE qty = 7)) GROUP BY region ORDER BY region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- IN whose subquery nests a correlated scalar subquery (Q20): the IN becomes a semi join, the
-- inner subquery a grouped join, all in DataFusion. A NULL group key (code) never matches.
\set q 'SELECT region, count(*) FROM sc WHERE id IN (SELECT cust FROM so WHERE so.total > (SELECT 0.5 * sum(qty) FROM sl WHERE sl.order_id = so.id AND sl.code > 100)) GROUP BY region ORDER BY region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT status, count(*), sum(total) FROM so WHERE cust IN (SELECT code FROM sl GROUP BY code HAVING count(*) > 40) GROUP BY status ORDER BY status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sc WHERE id IN (SELECT cust FROM so WHERE so.total > (SELECT 0.5 * sum(qty) FROM sl WHERE sl.order_id = so.id));

-- NOT IN is three-valued: a NULL in the subquery's rows leaves no row; NULL outer values never
-- qualify unless the subquery is empty.
SET pg_fusion.enable = on;
SELECT count(*) FROM sc WHERE id NOT IN (SELECT code FROM sl);
SELECT count(*) FROM sc WHERE id NOT IN (SELECT code FROM sl WHERE code IS NOT NULL);
SELECT count(*) FROM so WHERE cust NOT IN (SELECT code FROM sl WHERE code > 1000);
\set q 'SELECT status, count(*) FROM so WHERE cust NOT IN (SELECT code FROM sl WHERE code IS NOT NULL AND code < 200) GROUP BY status ORDER BY status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- NOT IN where neither side can be NULL (NOT NULL columns, not null-extended by an outer join)
-- is an anti join DataFusion runs (Q16): a left join to the subquery's distinct values, the key
-- NULL.
\set q 'SELECT region, count(*), sum(quota) FROM sc WHERE id NOT IN (SELECT id FROM sc x WHERE x.quota > 500) GROUP BY region ORDER BY region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
EXPLAIN (COSTS OFF) :q;
\set q 'SELECT c.region, count(*), count(o.id) FROM sc c JOIN so o ON o.cust = c.id WHERE o.id NOT IN (SELECT DISTINCT id FROM so WHERE total > 4000) AND c.id NOT IN (SELECT id FROM sc WHERE quota < 100) GROUP BY c.region ORDER BY c.region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- o.id is NOT NULL but NULL where the LEFT JOIN finds no order: NOT IN stays three-valued (a
-- condition above an outer join, refused).
SELECT count(*) FROM sc c LEFT JOIN so o ON o.cust = c.id WHERE o.id NOT IN (SELECT id FROM so WHERE total > 4000);

-- Scalar subqueries: in one table's condition, and as a select-list column; min()/max() of a
-- numeric(p,s) keeps its scale, so it may be compared with another table's column in DataFusion
-- (Q2).
\set q 'SELECT c.id, o.id, o.total FROM sc c JOIN so o ON o.cust = c.id WHERE o.total = (SELECT max(total) FROM so o2 WHERE o2.cust = c.id) AND c.id < 40 ORDER BY c.id, o.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id, quota, (SELECT count(*) FROM so WHERE so.cust = sc.id) AS orders, (SELECT min(total) FROM so WHERE so.cust = sc.id) AS smallest FROM sc WHERE quota > (SELECT avg(quota) FROM sc) ORDER BY id LIMIT 15'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- A FROM subquery with subqueries in its WHERE is pulled up (Q22).
\set q 'SELECT region, count(*), sum(quota) FROM (SELECT substr(region, 2) AS region, quota FROM sc WHERE quota > (SELECT avg(quota) FROM sc WHERE quota > 0) AND NOT EXISTS (SELECT 1 FROM so WHERE so.cust = sc.id AND so.status = ''F'')) AS s GROUP BY region ORDER BY region'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- The same table inside and outside the subquery, with and without aliases (the scan SQL names
-- them apart).
\set q 'SELECT count(*) FROM so WHERE EXISTS (SELECT 1 FROM so x WHERE x.id = so.id + 1 AND x.status = so.status)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*) FROM so o WHERE EXISTS (SELECT 1 FROM so WHERE so.id = o.id + 1 AND so.status = o.status)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- PostgreSQL's errors keep their SQLSTATE: a scalar subquery returning two rows is 21000.
SET pg_fusion.enable = on;
SELECT count(*) FROM sc WHERE id = (SELECT cust FROM so WHERE status = 'F' LIMIT 2);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM sc WHERE id = (SELECT cust FROM so WHERE id = 3);

-- [NOT] EXISTS correlated to one table stays in that table's scan when an index leads with
-- the inner key (PostgreSQL probes it per row; EXPLAIN VERBOSE shows the subquery in the
-- scan's own plan); without one, DataFusion joins the inner table's distinct keys, read by
-- parallel producers. NULL keys on both sides.
EXPLAIN (COSTS OFF, VERBOSE) SELECT count(*) FROM so WHERE EXISTS (SELECT 1 FROM sl WHERE sl.order_id = so.id);
CREATE INDEX sl_order_id ON sl (order_id);
EXPLAIN (COSTS OFF, VERBOSE) SELECT count(*) FROM so WHERE EXISTS (SELECT 1 FROM sl WHERE sl.order_id = so.id);
DROP INDEX sl_order_id;
\set q 'SELECT count(*), count(cust), sum(total) FROM so WHERE NOT EXISTS (SELECT 1 FROM sl WHERE sl.code = so.cust)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT s.status, count(*) FROM (SELECT status, cust FROM so WHERE total > 100) s WHERE EXISTS (SELECT 1 FROM sl WHERE sl.code = s.cust AND sl.qty < 5) GROUP BY s.status ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- An uncorrelated subquery over the groups (HAVING, select list; TPC-H Q11) is computed once in a
-- scan and carried along the group keys.
\set q 'SELECT o.cust, sum(l.qty * o.total) AS v, count(*) + (SELECT count(*) FROM sc) FROM so o JOIN sl l ON l.order_id = o.id GROUP BY o.cust HAVING sum(l.qty * o.total) > (SELECT sum(l2.qty * o2.total) * 0.0040000 FROM so o2 JOIN sl l2 ON l2.order_id = o2.id) ORDER BY v DESC, o.cust'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- An uncorrelated aggregate subquery compared in HAVING that DataFusion computes exactly (a
-- plain aggregate, times +-10^-k at most) joins FROM as one row and GROUP BY as a key: its
-- scans are shared with the outer query's (one read of so and of sl). Also over no rows (NULL:
-- no group qualifies), and on the left of the comparison.
\set q 'SELECT o.cust, sum(l.qty * o.total) AS v FROM so o JOIN sl l ON l.order_id = o.id GROUP BY o.cust HAVING sum(l.qty * o.total) > (SELECT sum(l2.qty * o2.total) * 0.001 FROM so o2 JOIN sl l2 ON l2.order_id = o2.id) ORDER BY v DESC, o.cust'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
EXPLAIN (COSTS OFF) SELECT o.cust, sum(l.qty * o.total) AS v FROM so o JOIN sl l ON l.order_id = o.id GROUP BY o.cust HAVING sum(l.qty * o.total) > (SELECT sum(l2.qty * o2.total) * 0.001 FROM so o2 JOIN sl l2 ON l2.order_id = o2.id);
\set q 'SELECT status, count(*) FROM so GROUP BY status HAVING count(*) > (SELECT sum(qty) FROM sl WHERE code = -1) ORDER BY status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT status, max(total), count(*) FROM so GROUP BY status HAVING (SELECT max(quota) FROM sc WHERE region = ''r1'') < max(total) AND count(*) > 10 ORDER BY status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Fail closed (0A000): correlated subqueries over aggregates, subqueries over aggregates
-- without GROUP BY, between two tables' rows, under the nullable side of an outer join.
SELECT status, count(*) FROM so GROUP BY status HAVING count(*) > (SELECT count(*) FROM sc WHERE sc.region = so.status);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM so HAVING count(*) > (SELECT count(*) FROM sc);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM sc c JOIN so o ON o.cust = c.id WHERE EXISTS (SELECT 1 FROM sl WHERE sl.order_id = o.id AND sl.code < c.id);
\echo :LAST_ERROR_SQLSTATE
SELECT c.id, (SELECT count(*) FROM sl WHERE sl.code = o.cust) FROM sc c LEFT JOIN so o ON o.cust = c.id WHERE c.id < 3;
\echo :LAST_ERROR_SQLSTATE

-- Subqueries in FROM that PostgreSQL would not flatten (aggregates, DISTINCT, LIMIT) are query
-- blocks of their own in DataFusion; their columns join the outer query like a table's. WITH
-- queries are inlined where they are referenced, as PostgreSQL does.
\set q 'SELECT n, count(*) FROM (SELECT c.id, count(o.id) AS n FROM sc c LEFT JOIN so o ON o.cust = c.id AND o.status = ''F'' GROUP BY c.id) x GROUP BY n ORDER BY count(*) DESC, n DESC'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'WITH rev (cust_no, total_rev) AS (SELECT cust, sum(total * 2) FROM so WHERE status = ''O'' GROUP BY cust) SELECT c.id, c.region, r.total_rev FROM sc c, rev r WHERE c.id = r.cust_no AND r.total_rev = (SELECT max(total_rev) FROM rev) ORDER BY c.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'WITH a AS (SELECT cust, count(*) AS n FROM so GROUP BY cust), b AS (SELECT max(n) AS m FROM a) SELECT a.cust, a.n FROM a, b WHERE a.n = b.m ORDER BY a.cust'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'WITH big AS (SELECT id FROM sc WHERE quota > 800) SELECT status, count(*) FROM so WHERE cust IN (SELECT id FROM big) GROUP BY status ORDER BY status'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- A WITH query referenced several times is computed once, as PostgreSQL materializes it: every
-- reference reads the same rows, also where they are not unique (LIMIT without a total order).
EXPLAIN (COSTS OFF) WITH rev AS (SELECT cust, sum(total) AS s FROM so GROUP BY cust) SELECT count(*) FROM rev a JOIN rev b ON a.s = b.s AND a.cust < b.cust WHERE a.s > (SELECT avg(s) FROM rev);
\set q 'WITH rev AS (SELECT cust, sum(total) AS s FROM so GROUP BY cust) SELECT a.cust, a.s, b.s FROM rev a JOIN rev b ON a.cust = b.cust WHERE a.s > (SELECT min(s) FROM rev) AND b.s < 20000 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- A block's integer columns in numeric and integer arithmetic (an exact cast to numeric, the
-- integer result type's overflow check).
\set q 'SELECT c.region, sum(x.n * c.quota), sum(x.n + c.quota), max(x.n * 2 + c.id) FROM sc c JOIN (SELECT cust, count(*) AS n FROM so GROUP BY cust) x ON x.cust = c.id GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, count(*) FROM sc c JOIN (SELECT cust, count(*) AS n FROM so GROUP BY cust) x ON x.cust = c.id WHERE x.n - 1 > 10 GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;
WITH t AS (SELECT id FROM so LIMIT 50) SELECT count(*) FROM t a JOIN t b ON a.id = b.id;
-- On the nullable side of an outer join: the block's columns, counts included, are NULL in
-- null-extended rows.
\set q 'SELECT c.id, x.n, x.s FROM sc c LEFT JOIN (SELECT cust, count(*) AS n, sum(total) AS s FROM so WHERE total > 4900 GROUP BY cust) x ON x.cust = c.id WHERE c.id < 40 ORDER BY c.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- DISTINCT and ORDER BY ... LIMIT inside; constants compared with a block's columns.
\set q 'SELECT count(*), sum(d.cust) FROM (SELECT DISTINCT cust FROM so WHERE status = ''F'') d'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT t.id, t.total, c.region FROM (SELECT id, cust, total FROM so ORDER BY total DESC, id LIMIT 15) t JOIN sc c ON c.id = t.cust ORDER BY t.id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT x.cust, x.n, x.s FROM (SELECT cust, count(*) AS n, sum(total) AS s FROM so GROUP BY cust) x WHERE x.n > 12 AND x.s >= 30000.5 AND x.cust <> 7 ORDER BY x.cust'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
EXPLAIN (COSTS OFF) SELECT n, count(*) FROM (SELECT cust, count(*) AS n FROM so GROUP BY cust) x GROUP BY n;
-- Integer arithmetic over a block's columns (PostgreSQL's `%`, computed by DataFusion).
\set q 'SELECT n % 2, n / 3, count(*) FROM (SELECT cust, count(*) AS n FROM so GROUP BY cust) x GROUP BY n % 2, n / 3 ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- Fail closed (0A000): a column PostgreSQL computes after DataFusion (avg's division), an
-- expression over a block's columns DataFusion does not compute as a group key, a volatile WITH
-- query, FOR UPDATE inside.
SELECT * FROM (SELECT cust, avg(total) AS a FROM so GROUP BY cust) x ORDER BY cust LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT length(n::text), count(*) FROM (SELECT cust, count(*) AS n FROM so GROUP BY cust) x GROUP BY 1 ORDER BY 1;
\echo :LAST_ERROR_SQLSTATE
-- A LATERAL item PostgreSQL does not pull up (aggregates, LIMIT, a function, VALUES, a whole row
-- or an outer column on the nullable side): PostgreSQL runs it with the FROM items it reads, as
-- one leaf (EXPLAIN VERBOSE shows its plan), DataFusion the rest.
EXPLAIN (COSTS OFF) SELECT c.region, count(*) FROM sc c, LATERAL (SELECT count(*) AS n FROM so WHERE so.cust = c.id) x
  WHERE x.n > 3 GROUP BY c.region;
\set q 'SELECT c.region, count(*), sum(x.n) FROM sc c, LATERAL (SELECT count(*) AS n FROM so WHERE so.cust = c.id) x WHERE x.n > 3 GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.id, x.id, x.total FROM sc c, LATERAL (SELECT so.id, so.total FROM so WHERE so.cust = c.id ORDER BY so.total DESC, so.id LIMIT 2) x ORDER BY 1, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.status, count(*), sum(g) FROM so o JOIN sc c ON c.id = o.cust, generate_series(1, o.id % 4) g GROUP BY o.status ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- A subquery's WHERE over an outer join inside it, the subquery joined to another table: that
-- WHERE has to run above its outer join, never as its ON (a row it drops would come back
-- null-extended); refused, LATERAL or not.
CREATE TABLE s_oz (id int);
CREATE TABLE s_oa (id int, k int);
CREATE TABLE s_ob (k int, v int);
SELECT z.id, t.aid FROM s_oz z LEFT JOIN LATERAL
  (SELECT a.id AS aid FROM s_oa a LEFT JOIN s_ob b ON b.v > 0 WHERE a.k = b.k AND a.id = z.id) t ON true;
\echo :LAST_ERROR_SQLSTATE
SELECT z.id, t.aid FROM s_oz z LEFT JOIN
  (SELECT a.id AS aid FROM s_oa a LEFT JOIN s_ob b ON b.v > 0 WHERE a.k = b.k) t ON t.aid = z.id;
\echo :LAST_ERROR_SQLSTATE
SELECT z.id, t.aid FROM s_oz z,
  (SELECT a.id AS aid FROM s_oa a LEFT JOIN s_ob b ON b.v > 0 WHERE a.k = b.k) t WHERE t.aid = z.id;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE s_oz, s_oa, s_ob;
-- A LATERAL subquery read as a whole row on the nullable side is not pulled up (the row must be
-- NULL in null-extended rows, not a row of NULLs), nor one with an outer column in its select
-- list there (it must read NULL in null-extended rows): PostgreSQL runs it with the FROM items
-- it reads.
\set q 'SELECT c.id % 7, count(*), count(x), max(x::text) FROM sc c LEFT JOIN LATERAL (SELECT so.id, so.total FROM so WHERE so.cust = c.id) x ON true GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.id % 7, count(*), count(x.r), max(x.r) FROM sc c LEFT JOIN LATERAL (SELECT c.region AS r FROM so WHERE so.cust = c.id) x ON true GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*), sum(v.a) FROM sc c, LATERAL (VALUES (c.id), (c.id * 2)) v (a)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- A LATERAL subquery pulled up below an outer join: a condition reading FROM items outside that
-- join has nowhere to run.
SELECT count(*) FROM sc c LEFT JOIN (so o CROSS JOIN LATERAL (SELECT l.code FROM sl l WHERE l.order_id = o.id AND l.code > c.id) x) ON o.cust = c.id;
\echo :LAST_ERROR_SQLSTATE
WITH v AS (SELECT id, random() AS x FROM sc) SELECT count(*) FROM v a JOIN v b ON a.id = b.id AND a.x = b.x;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM (SELECT id FROM sc FOR UPDATE) x;
\echo :LAST_ERROR_SQLSTATE

-- WITH RECURSIVE: each reference is a leaf PostgreSQL runs on its own (its plan in EXPLAIN).
\set q 'WITH RECURSIVE r (n) AS (SELECT id FROM sc WHERE id = 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT r.n, count(o.id) FROM r LEFT JOIN so o ON o.cust = r.n GROUP BY r.n ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
EXPLAIN (COSTS OFF) WITH RECURSIVE r (n) AS (SELECT id FROM sc WHERE id = 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT count(*) FROM r;
-- References under different aliases read one shared scan: PostgreSQL computes it once.
EXPLAIN (COSTS OFF) WITH RECURSIVE r (n) AS (SELECT id FROM sc WHERE id = 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT count(*) FROM r a JOIN r b ON a.n < b.n;
-- Fail closed: a volatile function or FOR UPDATE inside a subquery with a WITH RECURSIVE of its own.
SELECT count(*) FROM (WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT random() AS v FROM r JOIN sc ON sc.id = r.n) s;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM (WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sc.id FROM sc JOIN r ON sc.id = r.n FOR UPDATE OF sc) s;
\echo :LAST_ERROR_SQLSTATE

-- A correlated scalar subquery compared in WHERE (TPC-H Q17) becomes a grouped subquery in FROM
-- joined on its correlation keys. Its avg is PostgreSQL's own value (numeric_div, rounded at the
-- scale PostgreSQL picks), usable in comparisons only.
\set q 'SELECT count(*), sum(l.qty) FROM so o JOIN sl l ON l.order_id = o.id WHERE l.qty < (SELECT 0.8 * avg(l2.qty) FROM sl l2 WHERE l2.order_id = o.id AND l2.code > 10)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT o.status, count(*), sum(o.total) FROM so o WHERE o.total > (SELECT avg(o2.total) FROM so o2 WHERE o2.cust = o.cust AND o2.status = o.status) GROUP BY o.status ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, count(*) FROM sc c JOIN so o ON o.cust = c.id WHERE o.total >= (SELECT max(o2.total) - 100 FROM so o2 WHERE o2.cust = c.id) GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- Uncorrelated, it is a block of one row joined to every row (an empty input: a NULL value).
\set q 'SELECT status, count(*) FROM so WHERE total > (SELECT avg(total) FROM so WHERE status = ''F'') GROUP BY status ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*) FROM so o JOIN sc c ON c.id = o.cust WHERE o.total >= (SELECT max(total) FROM so WHERE total < 0)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
EXPLAIN (COSTS OFF) SELECT count(*) FROM so o JOIN sl l ON l.order_id = o.id WHERE l.qty < (SELECT 0.8 * avg(l2.qty) FROM sl l2 WHERE l2.order_id = o.id);
-- An avg whose PostgreSQL scale exceeds the fixed scale and is not exact there fails (0A000)
-- rather than round; count() (not NULL over no rows) is not rewritten.
CREATE TABLE stiny (k int, v numeric(30,20));
INSERT INTO stiny SELECT i % 5, 0.00000000000000000001 * (i % 3 + 1) FROM generate_series(1, 33) i;
SET pg_fusion.enable = on;
SELECT count(*) FROM stiny t, sc WHERE sc.id = t.k AND t.v >= (SELECT avg(t2.v) FROM stiny t2 WHERE t2.k = t.k);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM sc c JOIN so o ON o.cust = c.id WHERE c.quota > (SELECT count(*) FROM so o2 WHERE o2.cust = c.id AND o2.total > o.total);
\echo :LAST_ERROR_SQLSTATE
DROP TABLE stiny;

-- EXISTS / NOT EXISTS correlated to two tables of the query: a semi join (anti join) with the
-- subquery's distinct keys, in DataFusion. NULL keys never match.
\set q 'SELECT c.region, count(*) FROM sc c JOIN so o ON o.cust = c.id WHERE EXISTS (SELECT 1 FROM sl WHERE sl.order_id = o.id AND sl.code = c.id) GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c.region, count(*), sum(o.total) FROM sc c JOIN so o ON o.cust = c.id WHERE NOT EXISTS (SELECT 1 FROM sl WHERE sl.order_id = o.id AND sl.code = c.id AND sl.qty > 10) AND o.status = ''F'' GROUP BY c.region ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*) FROM so o, sc c WHERE NOT EXISTS (SELECT 1 FROM sl WHERE sl.code = o.cust AND sl.code = c.id) AND c.id < 20 AND o.id < 70'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- UNION / INTERSECT / EXCEPT: each arm a query block, the set operation in DataFusion (duplicates
-- removed with NULLs equal), then ORDER BY / LIMIT.
\set q 'SELECT region FROM sc WHERE id < 50 UNION SELECT ''x'' || status FROM so ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT region, count(*) FROM sc GROUP BY region UNION ALL SELECT ''all'', count(*) FROM sc UNION ALL SELECT ''none'', count(*) FROM sc WHERE quota < 0 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT cust FROM so WHERE total > 4000 INTERSECT SELECT cust FROM so WHERE status = ''F'' ORDER BY 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT cust FROM so EXCEPT SELECT id FROM sc WHERE quota > 100 ORDER BY 1 NULLS FIRST LIMIT 20'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT count(*), count(DISTINCT c) FROM (SELECT cust AS c FROM so UNION ALL SELECT id FROM sc UNION SELECT code FROM sl) u'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'WITH t AS (SELECT cust, sum(total) AS s FROM so GROUP BY cust) SELECT cust, s FROM t WHERE s > 40000 UNION SELECT cust, s FROM t WHERE cust < 5 ORDER BY 1 NULLS FIRST, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- INTERSECT ALL and EXCEPT ALL are multisets: a row m times on the left and n times on the
-- right is kept min(m, n) and max(m - n, 0) times (NULLs equal); chained, and in a subquery.
\set q 'SELECT cust, status FROM so WHERE id % 5 = 0 INTERSECT ALL SELECT cust, status FROM so WHERE id % 3 = 0 ORDER BY 1 NULLS FIRST, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT cust FROM so EXCEPT ALL SELECT id FROM sc WHERE quota > 100 EXCEPT ALL SELECT cust FROM so WHERE status = ''F'' ORDER BY 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT c, count(*) FROM (SELECT cust AS c FROM so EXCEPT ALL SELECT cust FROM so WHERE total > 2500 INTERSECT ALL SELECT code FROM sl) x GROUP BY c ORDER BY 2 DESC, 1 NULLS FIRST LIMIT 10'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- Fail closed (0A000): arms of different types, removing duplicates of floats.
SELECT id FROM sc UNION SELECT id FROM so;
\echo :LAST_ERROR_SQLSTATE
SELECT quota::float8 FROM sc UNION SELECT total::float8 FROM so;
\echo :LAST_ERROR_SQLSTATE

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
\! rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out
DROP TABLE sc, so, sl;
