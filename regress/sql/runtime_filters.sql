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

DROP TABLE rf_fact, rf_dim, rf_more, rf_more_dim;
