-- Runtime filters: a hash join's build-side keys, published for the producers of the probe
-- side's scan, which skip rows that cannot join before encoding them. Oracle suite: every answer
-- here is PostgreSQL's own (a filter only ever drops rows no join would keep), for each key type
-- the producers hash, joins where a filter must not apply (preserved sides, anti joins), NULL
-- keys, and keys the leaves do not take (expressions, char(n)).
SET pg_fusion.enable = on;
SET extra_float_digits = 0;
CREATE TABLE rf_fact (id int8, k4 int4, k8 int8, k2 int2, kt text, kv varchar(10), kc char(6),
                      kd date, kts timestamp, kn numeric(12,2), ku uuid, v int4);
INSERT INTO rf_fact
SELECT g, g % 1000, g % 1000, g % 1000, 'k' || (g % 1000), 'k' || (g % 1000), 'k' || (g % 1000),
       date '2020-01-01' + (g % 1000), timestamp '2020-01-01' + (g % 1000) * interval '1 hour',
       (g % 1000) / 4.0, md5((g % 1000)::text)::uuid, g % 7
FROM generate_series(1, 30000) g;
INSERT INTO rf_fact VALUES (0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0);
CREATE TABLE rf_dim (k4 int4, k8 int8, kt text, kc char(6), kd date, kts timestamp,
                     kn numeric(12,2), ku uuid, name text);
INSERT INTO rf_dim
SELECT g, g, 'k' || g, 'k' || g, date '2020-01-01' + g, timestamp '2020-01-01' + g * interval '1 hour',
       g / 4.0, md5(g::text)::uuid, 'n' || g
FROM generate_series(0, 999, 37) g;
INSERT INTO rf_dim VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'null keys');
ANALYZE rf_fact, rf_dim;

-- Inner joins, one key of each type the producers hash (int2/int4/int8 alike, across widths).
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k4 = d.k4;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k8 = d.k8;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k4 = d.k8;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k2 = d.k4;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.kt = d.kt;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.kv = d.kt;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.kd = d.kd;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.kts = d.kts;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.kn = d.kn;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.ku = d.ku;
-- Several keys: hashed together.
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k4 = d.k4 AND f.kt = d.kt AND f.kd = d.kd;
-- Keys the leaves do not take: an expression, char(n) (compared without trailing blanks).
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k4 + 1 = d.k4 + 1;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.kc = d.kc;
-- NULL keys: IS NOT DISTINCT FROM joins NULL to NULL.
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k4 IS NOT DISTINCT FROM d.k4;

-- Semi and anti joins.
SELECT count(*), sum(v) FROM rf_fact f WHERE f.k4 IN (SELECT k4 FROM rf_dim);
SELECT count(*), sum(v) FROM rf_fact f WHERE EXISTS (SELECT 1 FROM rf_dim d WHERE d.kt = f.kt);
SELECT count(*), sum(v) FROM rf_fact f WHERE NOT EXISTS (SELECT 1 FROM rf_dim d WHERE d.k4 = f.k4);
SELECT count(*), sum(v) FROM rf_fact f WHERE f.k4 NOT IN (SELECT k4 FROM rf_dim WHERE k4 IS NOT NULL);
SELECT count(*) FROM rf_dim d WHERE EXISTS (SELECT 1 FROM rf_fact f WHERE f.k4 = d.k4 AND f.v = 3);

-- Outer joins: the preserved side keeps every row.
SELECT count(*), count(d.name), sum(f.v) FROM rf_fact f LEFT JOIN rf_dim d ON f.k4 = d.k4;
SELECT count(*), count(f.id), count(d.name) FROM rf_dim d LEFT JOIN rf_fact f ON f.k4 = d.k4;
SELECT count(*), count(f.id), count(d.name) FROM rf_fact f RIGHT JOIN rf_dim d ON f.kt = d.kt;
SELECT count(*), count(f.id), count(d.name) FROM rf_fact f FULL JOIN rf_dim d ON f.k8 = d.k8;

-- An empty build side: nothing joins.
SELECT count(*) FROM rf_fact f JOIN rf_dim d ON f.k4 = d.k4 WHERE d.name = 'none';
SELECT count(*), count(d.name) FROM rf_fact f LEFT JOIN (SELECT * FROM rf_dim WHERE name = 'none') d
ON f.k4 = d.k4;

-- Through an aggregate, a union and a second join below the probe side.
SELECT count(*), sum(a.c) FROM (SELECT k4, count(*) AS c FROM rf_fact GROUP BY k4) a JOIN rf_dim d USING (k4);
SELECT count(*), sum(u.v) FROM (SELECT k4, v FROM rf_fact UNION ALL SELECT k4, v + 1 FROM rf_fact) u
JOIN rf_dim d USING (k4);
SELECT count(*), sum(f.v), count(DISTINCT g.id) FROM rf_fact f JOIN rf_fact g ON g.id = f.id
JOIN rf_dim d ON d.k4 = f.k4 WHERE g.v < 3;
-- The same table on both sides (a filter on one reader's rows only).
SELECT count(*), sum(a.v) FROM rf_fact a JOIN rf_fact b ON a.id = b.id AND b.k4 = 37;

-- Rows in order, with a filter in place.
SELECT d.name, count(*), min(f.id), max(f.id) FROM rf_fact f JOIN rf_dim d ON f.kt = d.kt
GROUP BY d.name ORDER BY d.name LIMIT 5;

-- Parallel producers (each gets the filter), and the same answers with filters off.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k8 = d.k4 WHERE d.k4 < 500;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET pg_fusion.runtime_filter_enable = off;
SELECT count(*), sum(f.v) FROM rf_fact f JOIN rf_dim d ON f.k4 = d.k4;
RESET pg_fusion.runtime_filter_enable;

-- More key types: time, timestamptz, name, bytea, oid.
CREATE TABLE rf_more (id int, kt time, ktz timestamptz, kn name, kb bytea, ko oid, v int);
INSERT INTO rf_more
SELECT g, time '00:00' + (g % 300) * interval '1 minute', timestamptz '2020-01-01 00:00+00' + (g % 300) * interval '1 day',
       ('n' || (g % 300))::name, convert_to('b' || (g % 300), 'UTF8'), (g % 300)::oid, g % 5
FROM generate_series(1, 20000) g;
CREATE TABLE rf_more_dim AS SELECT * FROM rf_more WHERE id <= 300 AND id % 11 = 0;
ANALYZE rf_more, rf_more_dim;
SELECT count(*), sum(f.v) FROM rf_more f JOIN rf_more_dim d ON f.kt = d.kt;
SELECT count(*), sum(f.v) FROM rf_more f JOIN rf_more_dim d ON f.ktz = d.ktz;
SELECT count(*), sum(f.v) FROM rf_more f JOIN rf_more_dim d ON f.kn = d.kn;
SELECT count(*), sum(f.v) FROM rf_more f JOIN rf_more_dim d ON f.kb = d.kb;
SELECT count(*), sum(f.v) FROM rf_more f JOIN rf_more_dim d ON f.ko = d.ko;
-- INTERSECT and EXCEPT (joins on every column, NULLs equal).
SELECT count(*) FROM (SELECT k4, kt FROM rf_fact INTERSECT SELECT k4, kt FROM rf_dim) s;
SELECT count(*) FROM (SELECT k4, kt FROM rf_fact EXCEPT SELECT k4, kt FROM rf_dim) s;
-- Without join reordering every hash join repartitions both sides: a filter is published
-- once every build partition has ended.
SET pg_fusion.join_reordering = off;
SELECT count(*), sum(f.v) FROM rf_dim d JOIN rf_fact f ON f.k4 = d.k4;
SELECT count(*), sum(f.v) FROM rf_dim d JOIN rf_fact f ON f.kt = d.kt AND f.kd = d.kd;
SELECT count(*), count(f.id) FROM rf_dim d LEFT JOIN rf_fact f ON f.k8 = d.k8;
RESET pg_fusion.join_reordering;

-- Join order (`join_reordering`): leaves joined in an order chosen from PostgreSQL's statistics,
-- joined through equalities derived from equivalence classes (a = b AND b = c joins a to c).
-- TPC-H Q5's shape, written in a poor order: customer reaches nation only through the class
-- c_nation = s_nation = n_id; a customer and a nation without a key (NULL) join nothing.
CREATE TABLE eq_region (r_id int4, r_name text);
INSERT INTO eq_region SELECT g, 'r' || g FROM generate_series(0, 4) g;
CREATE TABLE eq_nation (n_id int4, n_region int4, n_name text);
INSERT INTO eq_nation SELECT g, g % 5, 'n' || g FROM generate_series(0, 24) g;
INSERT INTO eq_nation VALUES (NULL, 1, 'no id');
CREATE TABLE eq_customer (c_id int8, c_nation int4, c_seg text);
INSERT INTO eq_customer
SELECT g, CASE WHEN g % 101 = 0 THEN NULL ELSE (g * 7 + g / 11) % 25 END, 's' || (g % 5)
FROM generate_series(1, 3000) g;
CREATE TABLE eq_supplier (s_id int8, s_nation int4, s_seg text);
INSERT INTO eq_supplier SELECT g, (g * 3 + g / 7) % 25, 's' || (g % 7) FROM generate_series(1, 200) g;
CREATE TABLE eq_orders (o_id int8, o_cust int8, o_day int4);
INSERT INTO eq_orders SELECT g, (g * 7 + g / 13) % 3000 + 1, g % 365 FROM generate_series(1, 20000) g;
CREATE TABLE eq_line (l_order int8, l_supp int8, l_price numeric(12,2), l_seg text);
INSERT INTO eq_line
SELECT (g % 20000) + 1, (g * 13 + g / 17) % 200 + 1, (g % 997) / 4.0, 's' || (g % 3)
FROM generate_series(1, 30000) g;
ANALYZE eq_region, eq_nation, eq_customer, eq_supplier, eq_orders, eq_line;
SELECT n_name, sum(l_price), count(*)
FROM eq_customer, eq_orders, eq_line, eq_supplier, eq_nation, eq_region
WHERE c_id = o_cust AND l_order = o_id AND l_supp = s_id AND c_nation = s_nation
  AND s_nation = n_id AND n_region = r_id AND r_name = 'r1' AND o_day < 100
GROUP BY n_name ORDER BY n_name;
-- The same with a text class across three leaves, and a residual condition between leaves.
SELECT count(*), sum(l_price)
FROM eq_line, eq_customer, eq_orders, eq_supplier
WHERE l_order = o_id AND o_cust = c_id AND l_supp = s_id
  AND c_seg = s_seg AND s_seg = l_seg AND l_price < c_id AND o_day < 50;
-- Two columns of one leaf in a class: its rows must hold one value in both.
CREATE TABLE eq_pair (x int4, y int4, v int4);
INSERT INTO eq_pair SELECT g % 25, (g * 3 + g / 7) % 25, g FROM generate_series(1, 500) g;
ANALYZE eq_pair;
SELECT count(*), sum(v), sum(s_id)
FROM eq_supplier, eq_pair, eq_nation
WHERE n_id = x AND n_id = y AND s_nation = n_id AND n_region = 2;
-- A condition between leaves that can fail (arithmetic): the written order.
SELECT count(*), sum(l_price)
FROM eq_line, eq_orders, eq_customer, eq_nation
WHERE l_order = o_id AND o_cust = c_id AND c_nation = n_id AND o_day < 20 AND c_id + o_id > 100;
-- Leaves PostgreSQL runs without statistics of their own (a function, a VALUES list, a WITH
-- RECURSIVE query), and varchar keys (read as text) in a class with text ones.
SELECT count(*), sum(v) FROM eq_pair, eq_supplier, generate_series(1::int8, 20) g
WHERE x = s_nation AND s_id = g;
SELECT count(*), sum(s_id) FROM eq_nation, eq_supplier, (VALUES (1), (2), (3)) AS v(k)
WHERE n_id = s_nation AND n_region = k;
WITH RECURSIVE r(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM r WHERE k < 24)
SELECT count(*), sum(s_id) FROM eq_nation, eq_supplier, r WHERE n_id = s_nation AND r.k = n_id;
-- A relation read twice (one shared scan, its readers estimated apart).
SELECT count(*), sum(s1.s_id) FROM eq_supplier s1, eq_supplier s2, eq_nation
WHERE s2.s_nation = n_id AND s1.s_id = s2.s_id AND n_region = 3;
CREATE TABLE eq_vc (vk varchar(10), w int4);
INSERT INTO eq_vc SELECT 's' || (g % 9), g FROM generate_series(1, 40) g;
ANALYZE eq_vc;
SELECT count(*), sum(w) FROM eq_customer, eq_supplier, eq_vc
WHERE c_seg = s_seg AND s_seg = vk AND c_id < 100;
-- Keys of different types (int8 = int4: a cast) are no class: nothing is derived through them.
SELECT count(*), sum(v)
FROM eq_pair, eq_supplier, eq_customer
WHERE x = s_id AND s_id = c_nation AND c_id < 500;
SET pg_fusion.join_reordering = off;
SELECT n_name, sum(l_price), count(*)
FROM eq_customer, eq_orders, eq_line, eq_supplier, eq_nation, eq_region
WHERE c_id = o_cust AND l_order = o_id AND l_supp = s_id AND c_nation = s_nation
  AND s_nation = n_id AND n_region = r_id AND r_name = 'r1' AND o_day < 100
GROUP BY n_name ORDER BY n_name;
RESET pg_fusion.join_reordering;
DROP TABLE eq_region, eq_nation, eq_customer, eq_supplier, eq_orders, eq_line, eq_pair, eq_vc;

-- Index probes: a large leaf whose join key leads an index is read through it by the build
-- side's distinct keys when they are few against the column's distinct values; the answers
-- are PostgreSQL's (a probe returns exactly the leaf's rows whose key the build side holds).
-- Keys of every integer width (a key out of the column's range matches nothing), NULL keys on
-- both sides, a build side without rows, more keys than one batch holds, semi joins, joins a
-- probe must not change (NOT IN over a NULL, outer joins), quals on the leaf, a prepared
-- statement's parameter in the leaf, row-level security, and the setting off.
CREATE TABLE ip_fact (id int8 PRIMARY KEY, k4 int4, k2 int2, v int4);
INSERT INTO ip_fact SELECT g, g % 40000, (g % 30000) - 15000, g % 7 FROM generate_series(1, 400000) g;
INSERT INTO ip_fact VALUES (0, NULL, NULL, 1);
CREATE INDEX ip_fact_k4 ON ip_fact (k4);
CREATE INDEX ip_fact_k2 ON ip_fact (k2);
CREATE TABLE ip_dim (d8 int8, d4 int4, d2 int2, name text);
INSERT INTO ip_dim SELECT g * 37, g * 37, (g * 37) - 15000, 'n' || g FROM generate_series(0, 200) g;
INSERT INTO ip_dim VALUES (NULL, NULL, NULL, 'null keys'), (5000000000, -7, -15000, 'wide');
CREATE TABLE ip_many (k int8);
INSERT INTO ip_many SELECT g * 11 FROM generate_series(1, 17000) g;
ANALYZE ip_fact, ip_dim, ip_many;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.id = d.d8;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d8;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d4;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k2 = d.d2;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k2 = d.d4;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.id = d.d8 AND d.name = 'none';
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_many m ON f.id = m.k;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d4 WHERE f.v < 3 AND d.d4 < 3000;
SELECT count(*), sum(v) FROM ip_fact WHERE k4 IN (SELECT d4 FROM ip_dim);
SELECT count(*), sum(v) FROM ip_fact f WHERE EXISTS (SELECT FROM ip_dim d WHERE d.d8 = f.id);
SELECT count(*), sum(v) FROM ip_fact WHERE k4 NOT IN (SELECT d4 FROM ip_dim);
SELECT count(*), sum(v) FROM ip_fact WHERE k4 NOT IN (SELECT d4 FROM ip_dim WHERE d4 IS NOT NULL);
SELECT count(*), sum(f.v), count(d.name) FROM ip_fact f LEFT JOIN ip_dim d ON f.k4 = d.d4;
SELECT count(*), sum(f.v), count(d.name) FROM ip_dim d LEFT JOIN ip_fact f ON f.k4 = d.d4;
SELECT d.name, count(f.id) FROM ip_dim d JOIN ip_fact f ON f.id = d.d8
GROUP BY d.name ORDER BY count(f.id) DESC, d.name LIMIT 3;
PREPARE ip_q(int) AS SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d4 WHERE f.v < $1;
EXECUTE ip_q(3);
EXECUTE ip_q(4);
EXECUTE ip_q(5);
EXECUTE ip_q(6);
EXECUTE ip_q(2);
EXECUTE ip_q(3);
DEALLOCATE ip_q;
CREATE ROLE ip_reader;
GRANT SELECT ON ip_fact, ip_dim TO ip_reader;
ALTER TABLE ip_fact ENABLE ROW LEVEL SECURITY;
CREATE POLICY ip_some ON ip_fact TO ip_reader USING (v < 3);
SET ROLE ip_reader;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d4;
RESET ROLE;
ALTER TABLE ip_fact DISABLE ROW LEVEL SECURITY;
-- With parallel workers: the leader and each worker get every batch of keys and run those
-- they claim first (two batches for ip_many's 17 000 keys, one for ip_dim's: a producer may
-- claim none; explain.sql shows the plans). Every row once, as PostgreSQL's answers.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_many m ON f.id = m.k;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d4;
SELECT count(*), sum(v) FROM ip_fact f WHERE EXISTS (SELECT FROM ip_many m WHERE m.k = f.id);
SELECT d.name, count(f.id) FROM ip_dim d JOIN ip_fact f ON f.id = d.d8
GROUP BY d.name ORDER BY count(f.id) DESC, d.name LIMIT 3;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SET pg_fusion.index_probe = off;
SELECT count(*), sum(f.v) FROM ip_fact f JOIN ip_dim d ON f.k4 = d.d4;
RESET pg_fusion.index_probe;
DROP POLICY ip_some ON ip_fact;
DROP TABLE ip_fact, ip_dim, ip_many;
DROP ROLE ip_reader;

DROP TABLE rf_fact, rf_dim, rf_more, rf_more_dim;
