-- Differential corpus over the TPC-H schema (tests/tpch.sh loads it): shapes pg_fusion runs and
-- shapes it refuses. Each statement runs with pg_fusion off and on (tests/differential.sh); a
-- supported one must return PostgreSQL's rows, an unsupported one must fail with 0A000.
-- Grow it with every shape added.

-- Single table: projection, WHERE, expressions, ORDER BY, LIMIT/OFFSET, DISTINCT.
SELECT l_orderkey, l_linenumber, l_quantity * 2, l_extendedprice - l_discount FROM lineitem WHERE l_orderkey < 50 ORDER BY l_orderkey, l_linenumber;
SELECT DISTINCT l_returnflag, l_linestatus FROM lineitem ORDER BY 1, 2;
SELECT o_orderkey, o_totalprice FROM orders ORDER BY o_totalprice DESC, o_orderkey LIMIT 10 OFFSET 5;
SELECT c_custkey, c_name, c_acctbal FROM customer WHERE c_acctbal BETWEEN 1000 AND 1100 AND c_mktsegment IN ('BUILDING', 'MACHINERY') ORDER BY c_custkey;
SELECT p_partkey, p_name FROM part WHERE p_name LIKE '%green%' AND p_size > 40 ORDER BY p_partkey;
SELECT s_suppkey, coalesce(nullif(s_nationkey, 3), -1), CASE WHEN s_acctbal < 0 THEN 'neg' ELSE 'pos' END FROM supplier ORDER BY 1;
SELECT count(*) FROM orders WHERE o_comment ILIKE '%special%requests%';
SELECT o_orderdate, o_orderpriority FROM orders WHERE o_orderdate IS NOT DISTINCT FROM date '1995-03-15' ORDER BY 1, 2;

-- Single table: aggregates, GROUP BY, HAVING, FILTER, DISTINCT aggregates.
SELECT l_returnflag, count(*), sum(l_quantity), avg(l_discount), min(l_shipdate), max(l_commitdate) FROM lineitem GROUP BY l_returnflag ORDER BY 1;
SELECT l_shipmode, count(DISTINCT l_suppkey), sum(l_extendedprice) FILTER (WHERE l_discount > 0.05) FROM lineitem GROUP BY l_shipmode ORDER BY 1;
SELECT o_custkey, count(*) FROM orders GROUP BY o_custkey HAVING count(*) > 25 ORDER BY 2 DESC, 1;
SELECT sum(l_extendedprice * (1 - l_discount) * (1 + l_tax)), avg(l_quantity) FROM lineitem;
SELECT n_regionkey, min(n_name), max(n_name), count(*) FROM nation GROUP BY n_regionkey ORDER BY 1;
SELECT sum(ps_supplycost * ps_availqty) FROM partsupp WHERE ps_availqty > 5000;

-- Inner joins: JOIN ... ON, USING, WHERE equalities, multi-way, self joins, non-equi conditions.
SELECT n_name, count(*) FROM customer JOIN nation ON c_nationkey = n_nationkey GROUP BY n_name ORDER BY n_name;
SELECT r_name, n_name, count(*) FROM region, nation, supplier WHERE r_regionkey = n_regionkey AND s_nationkey = n_nationkey GROUP BY r_name, n_name ORDER BY 1, 2;
SELECT o_orderpriority, count(*), sum(l_quantity) FROM orders JOIN lineitem ON l_orderkey = o_orderkey WHERE o_orderdate >= date '1994-01-01' AND o_orderdate < date '1994-04-01' GROUP BY o_orderpriority ORDER BY 1;
SELECT c_custkey, o_orderkey, o_totalprice + c_acctbal FROM customer JOIN orders ON o_custkey = c_custkey WHERE c_custkey < 20 ORDER BY c_custkey, o_orderkey;
SELECT a.n_name, b.n_name FROM nation a JOIN nation b ON a.n_regionkey = b.n_regionkey AND a.n_nationkey < b.n_nationkey ORDER BY 1, 2;
SELECT count(*) FROM supplier s JOIN customer c ON s.s_nationkey = c.c_nationkey AND s.s_acctbal > c.c_acctbal;
SELECT p_brand, count(*) FROM part JOIN partsupp ON ps_partkey = p_partkey JOIN supplier ON s_suppkey = ps_suppkey WHERE p_size = 15 GROUP BY p_brand ORDER BY 2 DESC, 1 LIMIT 5;
SELECT DISTINCT n_name, c_mktsegment FROM nation JOIN customer ON c_nationkey = n_nationkey ORDER BY 1, 2;
SELECT count(*) FROM nation CROSS JOIN region;

-- Outer joins, and subqueries in FROM that flatten.
SELECT count(*), count(o_orderkey) FROM customer LEFT JOIN orders ON o_custkey = c_custkey AND o_orderstatus = 'F';
SELECT c_custkey FROM customer LEFT JOIN orders ON o_custkey = c_custkey WHERE o_orderkey IS NULL ORDER BY c_custkey;
SELECT n_name, count(s_suppkey) FROM supplier RIGHT JOIN nation ON s_nationkey = n_nationkey AND s_acctbal > 5000 GROUP BY n_name ORDER BY n_name;
SELECT count(*), count(r_regionkey), count(n_nationkey) FROM (SELECT * FROM region WHERE r_regionkey < 3) r FULL JOIN (SELECT * FROM nation WHERE n_nationkey > 10) n ON n_regionkey = r_regionkey;
SELECT c_mktsegment, sum(coalesce(o_totalprice, 0)), count(*) FILTER (WHERE o_orderkey IS NULL) FROM customer LEFT JOIN orders ON o_custkey = c_custkey AND o_orderdate < date '1992-03-01' GROUP BY 1 ORDER BY 1;
SELECT c_custkey, coalesce(s.n, 0) FROM customer LEFT JOIN (SELECT o_custkey, count(*) AS n FROM orders GROUP BY o_custkey) s ON s.o_custkey = c_custkey WHERE coalesce(s.n, 0) < 3 ORDER BY 1 LIMIT 20;
SELECT count(*) FROM supplier FULL JOIN nation ON s_nationkey = n_nationkey AND s_acctbal > 9000 WHERE coalesce(s_nationkey, n_nationkey) > 20;
SELECT nation, sum(amount) FROM (SELECT n_name AS nation, l_extendedprice * (1 - l_discount) AS amount FROM lineitem, supplier, nation WHERE l_suppkey = s_suppkey AND s_nationkey = n_nationkey) t GROUP BY nation ORDER BY nation;

-- Aggregates over arithmetic of several tables.
SELECT n_name, sum(l_extendedprice * (1 - l_discount) - ps_supplycost * l_quantity) FROM lineitem, partsupp, supplier, nation WHERE ps_partkey = l_partkey AND ps_suppkey = l_suppkey AND s_suppkey = l_suppkey AND s_nationkey = n_nationkey GROUP BY n_name ORDER BY n_name;

-- Subqueries in one table's conditions or select-list expressions (run inside its scan).
SELECT count(*) FROM orders WHERE o_custkey IN (SELECT c_custkey FROM customer WHERE c_acctbal > 9000);
SELECT o_orderstatus, count(*) FROM orders WHERE NOT EXISTS (SELECT 1 FROM lineitem WHERE l_orderkey = o_orderkey AND l_returnflag = 'R') GROUP BY o_orderstatus ORDER BY 1;
SELECT count(*) FROM supplier WHERE s_nationkey NOT IN (SELECT n_nationkey FROM nation WHERE n_regionkey = 1);
SELECT n_name, count(*) FROM supplier JOIN nation ON n_nationkey = s_nationkey WHERE s_suppkey NOT IN (SELECT DISTINCT ps_suppkey FROM partsupp WHERE ps_availqty < 100) GROUP BY n_name ORDER BY n_name;
SELECT count(*) FROM customer LEFT JOIN orders ON o_custkey = c_custkey AND o_orderstatus = 'F' WHERE c_custkey NOT IN (SELECT o_custkey FROM orders WHERE o_totalprice > 400000);
SELECT c_custkey, (SELECT max(o_totalprice) FROM orders WHERE o_custkey = c_custkey) FROM customer WHERE c_custkey < 30 ORDER BY 1;
SELECT n_name, count(*) FROM supplier JOIN nation ON s_nationkey = n_nationkey WHERE s_acctbal > (SELECT avg(s_acctbal) FROM supplier) GROUP BY n_name ORDER BY 1;
SELECT p_partkey, ps_suppkey FROM part JOIN partsupp ON ps_partkey = p_partkey WHERE p_size = 3 AND ps_supplycost = (SELECT min(ps_supplycost) FROM partsupp WHERE ps_partkey = p_partkey) ORDER BY 1, 2;
SELECT o_orderstatus, count(*) FROM orders GROUP BY o_orderstatus HAVING count(*) > (SELECT count(*) / 3 FROM orders);
SELECT c_mktsegment, count(*) FROM customer WHERE NOT EXISTS (SELECT 1 FROM orders WHERE o_custkey = c_custkey) GROUP BY 1 ORDER BY 1;
SELECT k, count(*) FROM (SELECT substring(c_phone from 1 for 2) AS k, c_custkey FROM customer WHERE c_acctbal > 0) s WHERE EXISTS (SELECT 1 FROM orders WHERE o_custkey = s.c_custkey AND o_totalprice > 300000) GROUP BY k ORDER BY k;
SELECT ps_suppkey, sum(ps_availqty * ps_supplycost) FROM partsupp GROUP BY ps_suppkey HAVING sum(ps_availqty * ps_supplycost) > (SELECT sum(ps_availqty * ps_supplycost) * 0.001 FROM partsupp) ORDER BY 2 DESC, 1;
SELECT o_orderpriority, max(o_totalprice) FROM orders GROUP BY o_orderpriority HAVING (SELECT avg(o_totalprice) FROM orders WHERE o_orderstatus = 'F') * 2 < max(o_totalprice) ORDER BY 1;
SELECT o_orderstatus, count(*) FROM orders GROUP BY o_orderstatus HAVING count(*) > (SELECT sum(o_totalprice) * 0.5 FROM orders WHERE o_custkey < 0);

-- sum/avg of a numeric CASE with branches of different scales, in a scan and after a join.
SELECT o_orderpriority, sum(CASE WHEN o_orderstatus = 'F' THEN o_totalprice * 1.5 ELSE 0 END), avg(CASE WHEN o_shippriority = 0 THEN o_totalprice END) FROM orders GROUP BY 1 ORDER BY 1;
SELECT n_name, sum(CASE WHEN c_mktsegment = 'BUILDING' THEN c_acctbal * n_regionkey WHEN n_regionkey = 2 THEN c_acctbal ELSE 0 END) FROM customer JOIN nation ON c_nationkey = n_nationkey GROUP BY n_name ORDER BY n_name;

-- Refused today (0A000): correlated subqueries over aggregates or between tables, CTEs, set operations,
-- windows, grouping sets.
SELECT sum(coalesce(o_totalprice, 0)) FROM customer LEFT JOIN orders ON o_custkey = c_custkey;
SELECT count(*) FROM orders JOIN customer ON o_custkey = c_custkey WHERE EXISTS (SELECT 1 FROM nation WHERE n_nationkey = c_nationkey AND n_regionkey = o_shippriority);
WITH t AS (SELECT o_custkey FROM orders) SELECT count(*) FROM t;
SELECT n_name FROM nation UNION SELECT r_name FROM region ORDER BY 1;
SELECT o_orderkey, row_number() OVER (ORDER BY o_orderkey) FROM orders LIMIT 3;
SELECT l_returnflag, l_linestatus, count(*) FROM lineitem GROUP BY ROLLUP (l_returnflag, l_linestatus);
SELECT sum(l_extendedprice / ps_supplycost) FROM lineitem JOIN partsupp ON ps_partkey = l_partkey AND ps_suppkey = l_suppkey;
SELECT n_name, x.cnt, x.bal FROM nation LEFT JOIN (SELECT s_nationkey, count(*) AS cnt, sum(s_acctbal) AS bal FROM supplier WHERE s_acctbal > 5000 GROUP BY s_nationkey) x ON x.s_nationkey = n_nationkey ORDER BY n_name;
WITH a AS (SELECT o_custkey, sum(o_totalprice) AS t FROM orders GROUP BY o_custkey), b AS (SELECT max(t) AS m FROM a) SELECT a.o_custkey, a.t FROM a, b WHERE a.t = b.m;
SELECT k, count(*) FROM (SELECT l_orderkey, count(*) AS k FROM lineitem GROUP BY l_orderkey) x WHERE k >= 3 GROUP BY k ORDER BY k;
SELECT t.o_orderkey, t.o_totalprice, c_name FROM (SELECT o_orderkey, o_custkey, o_totalprice FROM orders ORDER BY o_totalprice DESC, o_orderkey LIMIT 20) t JOIN customer ON c_custkey = t.o_custkey ORDER BY t.o_orderkey;
WITH big AS (SELECT c_custkey FROM customer WHERE c_acctbal > 9000) SELECT o_orderstatus, count(*) FROM orders WHERE o_custkey IN (SELECT c_custkey FROM big) GROUP BY o_orderstatus ORDER BY 1;
SELECT count(*), sum(d.p) FROM (SELECT DISTINCT p_brand, p_size AS p FROM part WHERE p_size < 10) d;
SELECT count(*), sum(l_extendedprice) FROM lineitem, part WHERE p_partkey = l_partkey AND p_size < 3 AND l_quantity < (SELECT 0.5 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey);
SELECT o_orderstatus, count(*) FROM orders o WHERE o_totalprice > (SELECT avg(o2.o_totalprice) FROM orders o2 WHERE o2.o_custkey = o.o_custkey) GROUP BY o_orderstatus ORDER BY 1;
SELECT l_returnflag, sum(l_quantity) FROM lineitem GROUP BY l_returnflag HAVING sum(l_quantity) > 1000.5 ORDER BY 1 LIMIT 2;
SELECT c_mktsegment, count(*) FROM customer GROUP BY c_mktsegment UNION ALL SELECT 'ALL', count(*) FROM customer ORDER BY 1;
SELECT o_custkey FROM orders WHERE o_totalprice > 300000 INTERSECT SELECT c_custkey FROM customer WHERE c_acctbal > 5000 ORDER BY 1;
SELECT s_nationkey FROM supplier EXCEPT SELECT c_nationkey FROM customer WHERE c_acctbal > 9900 ORDER BY 1;
SELECT count(*) FROM (SELECT l_orderkey FROM lineitem WHERE l_quantity > 49 UNION SELECT o_orderkey FROM orders WHERE o_totalprice > 400000) u;
SELECT l_returnflag, l_linestatus, sum(l_quantity), GROUPING(l_returnflag, l_linestatus) FROM lineitem GROUP BY CUBE (l_returnflag, l_linestatus) ORDER BY 4, 1, 2;
SELECT o_orderpriority, bool_and(o_totalprice > 1000), bool_or(o_orderstatus = 'F') FROM orders GROUP BY o_orderpriority ORDER BY 1;
SELECT o_custkey, o_orderkey, o_totalprice, rank() OVER (PARTITION BY o_custkey ORDER BY o_totalprice DESC, o_orderkey) AS r, sum(o_totalprice) OVER (PARTITION BY o_custkey) FROM orders WHERE o_custkey < 50 ORDER BY o_custkey, r;
SELECT n_name, sum(l_extendedprice) AS revenue, rank() OVER (ORDER BY sum(l_extendedprice) DESC) FROM lineitem JOIN supplier ON s_suppkey = l_suppkey JOIN nation ON n_nationkey = s_nationkey GROUP BY n_name ORDER BY 3, 1;
SELECT o_orderkey, o_custkey, lag(o_totalprice) OVER w, first_value(o_orderdate) OVER w, avg(o_totalprice) OVER (PARTITION BY o_custkey) FROM orders WHERE o_custkey < 30 WINDOW w AS (PARTITION BY o_custkey ORDER BY o_orderkey) ORDER BY o_orderkey;
SELECT o_orderpriority, count(*) FROM orders JOIN customer ON o_custkey = c_custkey WHERE NOT EXISTS (SELECT 1 FROM lineitem WHERE l_orderkey = o_orderkey AND l_suppkey = c_nationkey) GROUP BY o_orderpriority ORDER BY 1;
SELECT r_name, string_agg(n_name, ', ' ORDER BY n_name) FROM region JOIN nation ON n_regionkey = r_regionkey GROUP BY r_name ORDER BY 1;
SELECT o_orderkey, lag(o_orderdate, 1, DATE '1990-01-01') OVER w, lead(o_orderkey, 2, 0) OVER w, lag(o_orderstatus::text, 1, 'none') OVER w FROM orders WHERE o_custkey < 40 WINDOW w AS (PARTITION BY o_custkey ORDER BY o_orderkey) ORDER BY o_orderkey;
SELECT l_returnflag, variance(l_quantity), stddev(l_extendedprice), var_pop(l_discount), stddev_pop(l_extendedprice * (1 - l_discount)), var_samp(l_linenumber) FROM lineitem GROUP BY l_returnflag ORDER BY 1;
SELECT o_orderpriority, stddev_samp(o_totalprice), var_pop(o_custkey) FILTER (WHERE o_orderstatus = 'F') FROM orders GROUP BY ROLLUP (o_orderpriority) ORDER BY 1;
SELECT o_orderkey, sum(o_totalprice) OVER (PARTITION BY o_orderpriority ORDER BY o_totalprice RANGE BETWEEN 1000.00 PRECEDING AND 500 FOLLOWING), count(*) OVER (ORDER BY o_custkey GROUPS BETWEEN 2 PRECEDING AND 1 FOLLOWING) FROM orders WHERE o_custkey < 60 ORDER BY o_orderkey;

-- Integer + - * after the join (several tables, a subquery's columns), with PostgreSQL's overflow check.
SELECT n_name, sum(s_nationkey * n_regionkey), count(*) FILTER (WHERE s_suppkey + n_nationkey > 100) FROM supplier JOIN nation ON s_nationkey = n_nationkey GROUP BY 1 ORDER BY 1;
SELECT o_orderpriority, sum(l_linenumber * o_shippriority + l_linenumber), min(o_custkey - l_suppkey) FROM orders JOIN lineitem ON l_orderkey = o_orderkey WHERE o_orderkey < 3000 GROUP BY 1 ORDER BY 1;

-- A WITH query referenced twice: computed once, both references read its rows.
WITH r AS (SELECT l_suppkey, sum(l_quantity) AS q FROM lineitem GROUP BY l_suppkey) SELECT count(*), max(a.q), min(b.q) FROM r a JOIN r b ON a.l_suppkey = b.l_suppkey + 1;
WITH t AS (SELECT o_custkey, count(*) AS n FROM orders GROUP BY o_custkey) SELECT c_mktsegment, sum(t1.n) FROM customer JOIN t t1 ON t1.o_custkey = c_custkey WHERE t1.n * 2 > (SELECT max(n) FROM t) GROUP BY 1 ORDER BY 1;
SELECT c_mktsegment, sum(x.n * c_acctbal), sum(x.n + c_acctbal) FROM customer JOIN (SELECT o_custkey, count(*) AS n FROM orders GROUP BY o_custkey) x ON x.o_custkey = c_custkey GROUP BY 1 ORDER BY 1;

-- INTERSECT ALL / EXCEPT ALL as multisets.
SELECT l_returnflag, l_linestatus FROM lineitem WHERE l_orderkey < 2000 INTERSECT ALL SELECT l_returnflag, l_linestatus FROM lineitem WHERE l_quantity < 10 ORDER BY 1, 2;
SELECT count(*), count(DISTINCT k) FROM (SELECT o_custkey AS k FROM orders EXCEPT ALL SELECT c_custkey FROM customer WHERE c_acctbal > 0) x;
