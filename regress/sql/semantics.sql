-- Semantics where the engines differ: with pg_fusion on, every statement gives exactly
-- PostgreSQL's rows or PostgreSQL's error. expected/semantics.out is PostgreSQL's own output:
-- scripts/regress-temp.sh also runs this file with the next line switched to `off`.
SET pg_fusion.enable = on;
SET extra_float_digits = 0;
\set VERBOSITY terse

-- Floats: NaN is equal to NaN and larger than every other value (Infinity included); -0 equals 0.
CREATE TABLE sem_f (g int, f4 real, f8 float8);
INSERT INTO sem_f VALUES
  (1, 'Infinity', 'Infinity'), (1, 1, 1),
  (2, '-Infinity', '-Infinity'), (2, 5, 5),
  (3, 'NaN', 'NaN'), (3, 'Infinity', 'Infinity'), (3, 2, 2),
  (4, '-0', '-0'),
  (5, 0, 0), (5, '-0', '-0'),
  (6, 'NaN', 'NaN'), (6, 'NaN', 'NaN'),
  (7, 'Infinity', 'Infinity'),
  (8, NULL, NULL), (8, 3, 3),
  (9, 'NaN', 'NaN'), (9, '-Infinity', '-Infinity');
INSERT INTO sem_f SELECT 10, 'NaN'::float8 * -1, 'NaN'::float8 * -1;
ANALYZE sem_f;
SELECT g, min(f4), max(f4), min(f8), max(f8) FROM sem_f WHERE g <> 5 GROUP BY g ORDER BY g;
SELECT min(f8), max(f8), min(f4), max(f4) FROM sem_f;
SELECT min(f8), max(f8) FROM sem_f WHERE g = 4;
SELECT min(f8), max(f8) FROM sem_f WHERE g IN (1, 2, 7);
SELECT count(DISTINCT f8), count(DISTINCT f4) FROM sem_f;
SELECT g, count(DISTINCT f8) FROM sem_f GROUP BY g ORDER BY g;
SELECT f8, g FROM sem_f WHERE g <> 5 ORDER BY f8, g;
SELECT f8, g FROM sem_f WHERE g <> 5 ORDER BY f8 DESC, g;
SELECT g, f8, rank() OVER (ORDER BY f8) FROM sem_f WHERE g <> 5 ORDER BY g, f8;

-- Intervals: '1 mon' equals '30 days' equals '720 hours'.
CREATE TABLE sem_i (g int, iv interval);
INSERT INTO sem_i VALUES (1, '1 mon'), (1, '30 days'), (1, '720 hours'), (2, '1 day'), (2, '24 hours'),
  (3, '1 year'), (3, '12 mons'), (3, '360 days'), (4, NULL);
ANALYZE sem_i;
SELECT count(DISTINCT iv) FROM sem_i;
SELECT g, count(DISTINCT iv) FROM sem_i GROUP BY g ORDER BY g;
SELECT g, count(*) FROM sem_i WHERE iv = '30 days' GROUP BY g ORDER BY g;

-- char(n): values compare without their trailing blanks (bpchar's comparison).
CREATE TABLE sem_c (id int, c char(3) COLLATE "C", c2 char(3) COLLATE "C");
INSERT INTO sem_c VALUES (1, 'a', 'a'), (2, E'a\n', E'a\t'), (3, 'a!', 'ab'), (4, ' a', 'b'),
  (5, '', E'\t'), (6, NULL, 'a'), (7, E'\t', '');
ANALYZE sem_c;
SELECT id, c FROM sem_c ORDER BY c, id;
SELECT id, c FROM sem_c ORDER BY c DESC, id;
SELECT min(c), max(c), count(DISTINCT c) FROM sem_c;
SELECT id, rank() OVER (ORDER BY c) FROM sem_c ORDER BY id;
SELECT id FROM sem_c WHERE c < c2 ORDER BY id;
SELECT c, count(*) FROM sem_c GROUP BY c ORDER BY c;
SELECT length(c), octet_length(c), c || '|' FROM sem_c ORDER BY id;


-- Expressions that can fail are evaluated only on the rows PostgreSQL evaluates them on: a
-- join that removes the rows of b = 0 (or of a text that is no number) means no error.
CREATE TABLE sem_z (id int, a int, b int, t text, n numeric(10,2), m numeric(10,2));
INSERT INTO sem_z SELECT i, i * 10, i % 4, CASE WHEN i % 4 = 0 THEN 'x' ELSE i::text END, i, i % 4
FROM generate_series(1, 40) i;
CREATE TABLE sem_k (id int);
INSERT INTO sem_k SELECT i FROM generate_series(1, 40) i WHERE i % 4 <> 0;
ANALYZE sem_z, sem_k;
SELECT sum(z.a / z.b) FROM sem_z z JOIN sem_k k ON z.id = k.id;
SELECT sum(z.a % z.b), count(*) FROM sem_z z JOIN sem_k k ON z.id = k.id;
SELECT z.id, z.a / z.b FROM sem_z z JOIN sem_k k ON z.id = k.id WHERE z.id < 8 ORDER BY z.id;
SELECT z.id, z.t::int FROM sem_z z JOIN sem_k k ON z.id = k.id WHERE z.id < 8 ORDER BY z.id;
SELECT count(*), sum(z.a / z.b) FROM sem_z z WHERE EXISTS (SELECT 1 FROM sem_k k WHERE k.id = z.id);
SELECT k.id, z.a / z.b FROM sem_k k LEFT JOIN sem_z z ON z.id = k.id AND z.b <> 0 WHERE k.id < 8 ORDER BY k.id;
-- (numeric division is PostgreSQL's alone, refused here: numeric without a fixed scale)
SET pg_fusion.on_unsupported = fallback;
SELECT sum(z.n / z.m) FROM sem_z z JOIN sem_k k ON z.id = k.id;
RESET pg_fusion.on_unsupported;
-- Where PostgreSQL does evaluate them, the error is PostgreSQL's.
SELECT sum(a / b) FROM sem_z;
SELECT sum(a / b) FROM sem_z WHERE b <> 0;
SELECT z.id, z.a / z.b FROM sem_z z JOIN sem_k k ON z.id = k.id + 1 WHERE z.id < 10 ORDER BY z.id;
-- What DataFusion cannot compute exactly after the join is refused (and runs natively here):
-- a cast from text aggregated, integer division under a join condition that is no equality.
SET pg_fusion.on_unsupported = fallback;
SELECT sum(z.t::int) FROM sem_z z JOIN sem_k k ON z.id = k.id;
SELECT sum(z.a / z.b) FROM sem_z z JOIN sem_k k ON z.id <= k.id;
SELECT sum(z.t::int) FROM sem_z z JOIN sem_k k ON z.id > k.id;
RESET pg_fusion.on_unsupported;

-- A subquery in a column the outer query does not read is not evaluated.
CREATE TABLE sem_m (x int);
INSERT INTO sem_m VALUES (1), (2);
SELECT count(*) FROM (SELECT id, (SELECT x FROM sem_m) AS s FROM sem_k) q;
SELECT q.id FROM (SELECT id, (SELECT x FROM sem_m) AS s FROM sem_k) q WHERE q.id < 3 ORDER BY 1;
SELECT q.g, q.c FROM (SELECT id % 3 AS g, count(*) AS c, (SELECT x FROM sem_m) AS s FROM sem_k GROUP BY 1) q
ORDER BY 1;
SELECT s FROM (SELECT id, (SELECT x FROM sem_m) AS s FROM sem_k) q;

-- Join aliases over a cross join with column names.
CREATE TABLE sem_j1 (ii int, jj int);
CREATE TABLE sem_j2 (tt int, ii int, kk int);
INSERT INTO sem_j1 VALUES (1, 2), (3, 4);
INSERT INTO sem_j2 VALUES (5, 6, 7), (8, 9, 10);
SELECT ii, tt, kk FROM (sem_j1 CROSS JOIN sem_j2) AS tx (ii, jj, tt, ii2, kk) ORDER BY 1, 2;
SELECT tx.ii2, sum(tx.kk) FROM (sem_j1 CROSS JOIN sem_j2) AS tx (ii, jj, tt, ii2, kk) GROUP BY 1 ORDER BY 1;

-- Deep plans: a 100-arm UNION ALL and a 200-term expression.
CREATE TABLE sem_u (v int);
INSERT INTO sem_u SELECT generate_series(1, 3);
SELECT format('SELECT count(*), sum(v) FROM (%s) s',
              string_agg(format('SELECT v + %s AS v FROM sem_u', i), ' UNION ALL '))
FROM generate_series(1, 100) i \gexec
SELECT format('SELECT sum(%s) FROM sem_u a JOIN sem_u b ON a.v = b.v',
              string_agg(CASE WHEN i % 2 = 0 THEN 'a.v' ELSE 'b.v' END, ' + '))
FROM generate_series(1, 200) i \gexec

-- Only a validated NOT NULL proves a column never NULL: PostgreSQL 18's NOT NULL NOT VALID
-- (a syntax error before 18, ignored) leaves NULLs that count(col) and NOT IN must see.
CREATE TABLE sem_nv (id int, v int);
INSERT INTO sem_nv VALUES (1, NULL), (2, 2), (3, 3);
DO $$ BEGIN
  EXECUTE 'ALTER TABLE sem_nv ADD CONSTRAINT sem_nv_v NOT NULL v NOT VALID';
EXCEPTION WHEN syntax_error THEN NULL;
END $$;
ANALYZE sem_nv;
SELECT count(v), count(*), count(DISTINCT v) FROM sem_nv;
SELECT count(*) FROM sem_u WHERE v NOT IN (SELECT v FROM sem_nv);
SELECT count(*) FROM sem_u WHERE v NOT IN (SELECT v FROM sem_nv WHERE v IS NOT NULL);
SELECT a.id, count(b.v) FROM sem_nv a LEFT JOIN sem_nv b ON b.id = a.id + 1 GROUP BY a.id ORDER BY a.id;

-- The final ordering PostgreSQL does above the node: DISTINCT ON (the first row of each group
-- in ORDER BY's order), FETCH ... WITH TIES, LIMIT and OFFSET as parameters, ORDER BY of an
-- expression over aggregates.
CREATE TABLE sem_o (id int, grp int, score numeric(6,2), iv interval);
INSERT INTO sem_o SELECT i, i % 7, (i * 37 % 101) / 4.0, make_interval(hours => i % 13)
FROM generate_series(1, 300) i;
INSERT INTO sem_o VALUES (301, NULL, 1.00, NULL), (302, 3, NULL, '1 day');
SELECT DISTINCT ON (grp) grp, id, score FROM sem_o ORDER BY grp, score DESC NULLS LAST, id;
SELECT DISTINCT ON (grp) grp, id FROM sem_o ORDER BY grp NULLS FIRST, id DESC;
SELECT DISTINCT ON (grp % 3) grp % 3 AS g3, count(*) OVER () FROM sem_o WHERE id < 50 ORDER BY grp % 3, id;
SELECT DISTINCT ON (grp) grp, id FROM sem_o WHERE id > 290 ORDER BY grp, id LIMIT 3 OFFSET 1;
-- An ORDER BY naming only some of the DISTINCT ON keys: PostgreSQL sorts by all of them.
SELECT DISTINCT ON (grp, id % 2) grp, id % 2 AS odd FROM sem_o WHERE id < 40 ORDER BY grp;
SELECT DISTINCT ON (grp, id % 2) grp, id % 2 AS odd FROM sem_o WHERE id < 40 ORDER BY id % 2, grp DESC;
SELECT DISTINCT ON (grp, id % 2) count(*) OVER () FROM sem_o WHERE id < 40 ORDER BY grp;
SELECT score FROM sem_o WHERE score IS NOT NULL ORDER BY score DESC OFFSET 1 FETCH FIRST 2 ROWS WITH TIES;
SELECT score FROM sem_o ORDER BY score DESC NULLS LAST FETCH FIRST 4 ROWS WITH TIES;
SELECT grp, count(*) FROM sem_o GROUP BY grp ORDER BY count(*) DESC, grp FETCH FIRST 2 ROWS WITH TIES;
SELECT id, iv FROM sem_o WHERE id <= 30 ORDER BY iv DESC, id LIMIT 5;
PREPARE sem_lim(bigint, bigint) AS SELECT id FROM sem_o WHERE id < 40 ORDER BY id LIMIT $1 OFFSET $2;
EXECUTE sem_lim(3, 5);
EXECUTE sem_lim(NULL, 35);
EXECUTE sem_lim(0, 0);
EXECUTE sem_lim(2, -1);
DEALLOCATE sem_lim;
SELECT grp, sum(score) FROM sem_o GROUP BY grp ORDER BY sum(score) * -1, grp LIMIT 3;
-- Expressions over aggregates on the node, prepared as PostgreSQL's planner prepares them (a NOT
-- over a comparison becomes the negated operator), and a cached plan that follows a domain's
-- new constraint.
SELECT grp, NOT (count(*) > 42) AS small, NOT (max(id) = ANY (ARRAY[294, 300])) AS other FROM sem_o GROUP BY grp ORDER BY grp;
CREATE DOMAIN sem_big AS bigint;
PREPARE sem_dom AS SELECT grp, sum(id)::sem_big AS s FROM sem_o WHERE grp IS NOT NULL GROUP BY grp ORDER BY grp;
EXECUTE sem_dom;
ALTER DOMAIN sem_big ADD CONSTRAINT sem_big_check CHECK (VALUE > 6500);
EXECUTE sem_dom;
DEALLOCATE sem_dom;
DROP DOMAIN sem_big;
-- PostgreSQL evaluates volatile select-list functions of a sorted query in the sorted order (and
-- only on the rows a LIMIT keeps): pg_fusion leaves such a query to PostgreSQL.
SET pg_fusion.on_unsupported = fallback;
CREATE SEQUENCE sem_seq;
SELECT id, nextval('sem_seq') FROM sem_o WHERE id <= 5 ORDER BY id DESC;
SELECT id, nextval('sem_seq') FROM sem_o WHERE id <= 50 ORDER BY id LIMIT 2;
SELECT currval('sem_seq');
RESET pg_fusion.on_unsupported;
DROP SEQUENCE sem_seq;

-- Dates and timestamps at -infinity and infinity: below and above every finite value, equal to
-- themselves, in comparisons between tables, sorting, grouping, DISTINCT, min/max, joins,
-- window ORDER BY (without a RANGE offset), set operations and results.
CREATE TABLE sem_inf (id int, d date, ts timestamp, tz timestamptz);
INSERT INTO sem_inf VALUES
  (1, 'infinity', 'infinity', 'infinity'), (2, '-infinity', '-infinity', '-infinity'),
  (3, '2020-01-01', '2020-01-01 10:00', '2020-01-01 10:00+00'), (4, NULL, NULL, NULL),
  (5, '1999-12-31', '1999-12-31 23:59:59', '1999-12-31 23:59:59+00'),
  (6, 'infinity', 'infinity', 'infinity'), (7, '4713-01-01 BC', '4713-01-01 00:00 BC', '4713-01-01 00:00+00 BC'),
  (8, '5874897-12-31', '294246-12-31 23:59:59', '294246-12-31 23:59:59+00');
CREATE TABLE sem_inf2 (id int, d date, ts timestamp);
INSERT INTO sem_inf2 VALUES (1, 'infinity', 'infinity'), (2, '-infinity', '2020-01-01 10:00'),
  (3, '2020-01-01', '-infinity'), (4, 'infinity', NULL);
ANALYZE sem_inf, sem_inf2;
SELECT * FROM sem_inf ORDER BY id;
SELECT d, count(*) FROM sem_inf GROUP BY d ORDER BY d;
SELECT ts, tz FROM sem_inf ORDER BY ts DESC NULLS LAST, id;
SELECT min(d), max(d), min(ts), max(ts), min(tz), max(tz) FROM sem_inf;
SELECT count(DISTINCT d), count(DISTINCT ts), count(*) FILTER (WHERE d = 'infinity') FROM sem_inf;
SELECT a.id, b.id FROM sem_inf a JOIN sem_inf2 b ON a.d = b.d ORDER BY 1, 2;
SELECT a.id, b.id FROM sem_inf a JOIN sem_inf2 b ON a.ts < b.ts ORDER BY 1, 2;
SELECT a.id, b.id FROM sem_inf a LEFT JOIN sem_inf2 b ON a.ts = b.ts ORDER BY 1, 2;
SELECT a.id, b.d FROM sem_inf a JOIN sem_inf2 b ON a.id = b.id AND a.d >= b.d ORDER BY 1;
SELECT id, rank() OVER (ORDER BY d), lag(d) OVER (ORDER BY id), max(ts) OVER (ORDER BY ts, id)
FROM sem_inf ORDER BY id;
SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM sem_inf ORDER BY id;
SELECT a.id, lag(a.d, 1, 'infinity'::date) OVER (ORDER BY a.id) FROM sem_inf a JOIN sem_inf2 b USING (id) ORDER BY 1;
SELECT d FROM sem_inf UNION SELECT d FROM sem_inf2 ORDER BY 1;
SELECT d, ts FROM sem_inf WHERE d = 'infinity' OR ts = '-infinity' ORDER BY id;
SELECT date_trunc('month', ts), d + 1 FROM sem_inf WHERE id <> 8 ORDER BY id;
SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN '1 hour' PRECEDING AND '1 hour' FOLLOWING)
FROM sem_inf WHERE ts BETWEEN '1990-01-01' AND '2030-01-01' ORDER BY id;
-- Constant join conditions (FULL JOIN needs a join condition: ON true, ON false).
SELECT count(*), count(a.id), count(b.id) FROM sem_inf a FULL JOIN sem_inf2 b ON true;
SELECT count(*), count(a.id), count(b.id) FROM sem_inf a FULL JOIN sem_inf2 b ON false;
SELECT count(*), count(b.id) FROM sem_inf a LEFT JOIN sem_inf2 b ON a.id = b.id AND NOT false;
DROP TABLE sem_inf, sem_inf2;

-- sum and avg of a numeric without a declared scale (a bare numeric column, numeric(p,s) past 38
-- digits, a function's numeric result): each value at 20 decimals with its own display scale
-- beside it, PostgreSQL's sum (display scale: the largest of its inputs'), avg its division;
-- grouped, filtered, over a join, over an outer join's NULLs, over no rows.
CREATE TABLE sem_bare (id int, g int, x numeric, w numeric(50,3));
INSERT INTO sem_bare VALUES (1, 1, 1.5, 10.125), (2, 1, 2.25, -3), (3, 1, NULL, NULL), (4, 2, -7, 1e17),
  (5, 2, 0.0000000001, 0.001), (6, 3, 123456789012345678.12345678901234567890, 2),
  (7, 3, -0.5, NULL), (8, 4, 3, 4), (9, 4, 3.000, 4.000);
ANALYZE sem_bare;
SELECT sum(x), avg(x), sum(w), avg(w), count(x), count(DISTINCT x), count(DISTINCT w) FROM sem_bare;
SELECT g, sum(x), avg(x), sum(w), avg(w) FROM sem_bare GROUP BY g ORDER BY g;
SELECT g, sum(x) FILTER (WHERE id > 1), avg(x) FILTER (WHERE x > 0) FROM sem_bare GROUP BY g ORDER BY g;
SELECT sum(x), avg(x) FROM sem_bare WHERE id > 100;
SELECT sum(x * 2), sum(round(x, 1)), avg(abs(x)) FROM sem_bare WHERE id <> 6;
SELECT a.g, sum(b.x), avg(b.w) FROM sem_bare a JOIN sem_bare b ON a.id = b.id + 1 GROUP BY a.g ORDER BY 1;
SELECT a.id, sum(b.x), avg(b.x) FROM sem_bare a LEFT JOIN sem_bare b ON a.id = b.id AND b.g = 1
GROUP BY a.id ORDER BY 1;
SELECT g, sum(x) + 1, avg(x) > 1 FROM sem_bare GROUP BY g HAVING sum(x) IS NOT NULL ORDER BY g;
-- Compared between tables by value (3 = 3.000), each shown with its own display scale.
SELECT a.id, b.id, a.x, b.x FROM sem_bare a JOIN sem_bare b ON a.x = b.x ORDER BY 1, 2;
SELECT a.id, b.id, a.x, b.w FROM sem_bare a JOIN sem_bare b ON a.x < b.w AND a.g = b.g ORDER BY 1, 2;
SELECT a.id, b.id FROM sem_bare a LEFT JOIN sem_z b ON a.x = b.n OR a.w = b.id ORDER BY 1, 2;

-- LATERAL subqueries PostgreSQL pulls up: their references to earlier FROM items are columns of
-- the query; the WHERE terms reading them join (a FROM list, an inner join) or move into the ON
-- of the LEFT JOIN whose right side they are (rows without a match keep their NULLs, a NULL key
-- matches nothing); the terms over the subquery's own tables filter them first.
CREATE TABLE sem_la (x int, y int);
CREATE TABLE sem_lb (x int, z int);
CREATE TABLE sem_lc (z int, w text);
INSERT INTO sem_la SELECT g, g % 3 FROM generate_series(1, 10) g;
INSERT INTO sem_la VALUES (NULL, 1);
INSERT INTO sem_lb SELECT g % 5, g FROM generate_series(1, 20) g;
INSERT INTO sem_lc SELECT g, 'w' || g FROM generate_series(1, 20, 2) g;
ANALYZE sem_la, sem_lb, sem_lc;
SELECT a.x, s.z FROM sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s ORDER BY 1, 2;
SELECT a.x, s.* FROM sem_la a CROSS JOIN LATERAL
  (SELECT b.z, a.y + b.z AS t FROM sem_lb b WHERE b.x = a.x AND b.z > a.y) s ORDER BY 1, 2, 3;
SELECT a.x, s.z FROM sem_la a JOIN LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s ON s.z > 5 ORDER BY 1, 2;
SELECT a.x, s.z FROM sem_la a LEFT JOIN LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s ON true ORDER BY 1, 2;
SELECT a.x, s.z FROM sem_la a LEFT JOIN LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x AND b.z > 10) s
  ON s.z < 19 ORDER BY 1, 2;
SELECT a.x, s.z, s.w FROM sem_la a LEFT JOIN LATERAL
  (SELECT b.z, c.w FROM sem_lb b, sem_lc c WHERE b.z = c.z AND b.x = a.x) s ON true ORDER BY 1, 2, 3;
SELECT count(*), sum(s.z), count(DISTINCT a.x) FROM sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s;
SELECT a.x, s.x2 FROM sem_la a, LATERAL (SELECT a.x * 2 AS x2) s ORDER BY 1;
SELECT a.x, t.q FROM sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s,
  LATERAL (SELECT s.z + a.y AS q) t ORDER BY 1, 2;
SELECT a.x, s.z FROM sem_lc c LEFT JOIN sem_la a ON a.x = c.z, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s
  ORDER BY 1, 2;
SELECT a.x, s.z FROM sem_lc c LEFT JOIN (sem_la a CROSS JOIN LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x) s)
  ON a.x = c.z ORDER BY 1, 2;
SELECT a.x, s.z FROM sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x AND b.z IN
  (SELECT z FROM sem_lc)) s ORDER BY 1, 2;
-- LATERAL items PostgreSQL does not pull up (LIMIT, aggregates, functions, VALUES, an outer
-- column in the select list on the nullable side): PostgreSQL runs each with the FROM items it
-- reads (its nested loop), DataFusion the rest of the query over those rows.
SELECT a.x, s.z FROM sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x ORDER BY z DESC LIMIT 2) s
  ORDER BY 1, 2;
SELECT a.y, count(*), sum(s.n), max(s.m) FROM sem_la a,
  LATERAL (SELECT count(*) AS n, max(z) AS m FROM sem_lb b WHERE b.x = a.x) s GROUP BY a.y ORDER BY 1;
SELECT a.x, s.z FROM sem_la a LEFT JOIN LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x ORDER BY z LIMIT 1) s
  ON s.z > 3 ORDER BY 1, 2;
SELECT a.x, s.ay, s.z FROM sem_la a LEFT JOIN LATERAL (SELECT a.y AS ay, z FROM sem_lb b WHERE b.x = a.x) s
  ON true ORDER BY 1, 2, 3;
SELECT a.x, s IS NULL AS missing FROM sem_la a LEFT JOIN LATERAL
  (SELECT z FROM sem_lb b WHERE b.x = a.x AND b.z > 15 LIMIT 1) s ON true ORDER BY 1, 2;
SELECT a.x, g, o FROM sem_la a, LATERAL generate_series(1, a.y) WITH ORDINALITY AS t(g, o) ORDER BY 1, 2;
SELECT count(*), sum(g) FROM sem_la a, generate_series(a.y, a.x) g;
SELECT a.x, v.k FROM sem_la a, LATERAL (VALUES (a.x), (a.y), (NULL)) v(k) WHERE v.k IS NOT NULL ORDER BY 1, 2;
SELECT a.x, u FROM sem_la a, LATERAL unnest(ARRAY[a.x, a.y * 10]) u WHERE a.x < 4 ORDER BY 1, 2;
SELECT c.w, a.x, s.z FROM sem_lc c, sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x LIMIT 1) s
  WHERE c.z = a.x ORDER BY 1, 2;
SELECT c.w, a.x, s.z FROM sem_lc c JOIN sem_la a ON c.z = a.x,
  LATERAL (SELECT max(z) AS z FROM sem_lb b WHERE b.x = a.x AND b.z > c.z) s ORDER BY 1, 2;
SELECT a.x, c.z, s.z FROM sem_la a, sem_lc c,
  LATERAL (SELECT min(z) AS z FROM sem_lb b WHERE b.x = a.x AND b.z > c.z) s WHERE a.x < 3 AND c.z < 6 ORDER BY 1, 2;
SELECT a.x, g, c.w, s.n FROM sem_la a, LATERAL generate_series(1, a.y) g, sem_lc c,
  LATERAL (SELECT count(*) AS n FROM sem_lb b WHERE b.z < c.z) s WHERE a.x = c.z ORDER BY 1, 2;
SELECT c.z, a.x, s.z FROM sem_lc c FULL JOIN
  (sem_la a CROSS JOIN LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x ORDER BY z LIMIT 1) s) ON c.z = a.x
  ORDER BY 1, 2, 3;
SELECT a.x, s.z, t.q FROM sem_la a, LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x ORDER BY z LIMIT 1) s,
  LATERAL (SELECT s.z * 2 + a.y AS q OFFSET 0) t ORDER BY 1;
SELECT x, n FROM (SELECT a.x, s.n FROM sem_la a, LATERAL (SELECT count(*) AS n FROM sem_lb b WHERE b.x = a.x) s) t
  WHERE n > 3 UNION ALL SELECT z, 0::bigint FROM sem_lc ORDER BY 1, 2;
SELECT count(*) FROM sem_lc c WHERE c.z IN (SELECT g FROM sem_la a, generate_series(a.x, a.x + 2) g);
SELECT a.x, s.q FROM sem_la a, LATERAL (SELECT 100 / (b.z - b.z) AS q FROM sem_lb b WHERE b.x = a.x LIMIT 1) s;
-- A condition of a join inside the pulled-up LATERAL subquery reads an outer FROM item: the
-- group takes that item too. A WHERE over a LEFT JOIN LATERAL's output columns filters after
-- the join (its null-extended rows included); an ON over the nullable side of a lower outer join.
SELECT a.x, s.i FROM sem_la a, LATERAL (SELECT b.x, g.i FROM sem_lb b JOIN LATERAL generate_series(1, b.x) g(i)
  ON g.i = a.y WHERE b.z < 6) s ORDER BY 1, 2;
SELECT j.x, j.z FROM (sem_la a LEFT JOIN LATERAL (SELECT b.z FROM sem_lb b WHERE b.x = a.x ORDER BY b.z LIMIT 1) s
  ON true) AS j WHERE j.z IS NULL ORDER BY 1;
SELECT a.x, c.w, s.z FROM sem_la a LEFT JOIN sem_lc c ON c.z = a.x
  LEFT JOIN LATERAL (SELECT b.z FROM sem_lb b WHERE b.x = c.z % 5 ORDER BY b.z LIMIT 1) s ON s.z > a.y
  ORDER BY 1, 2, 3;
SELECT a.x, s.z FROM sem_la a RIGHT JOIN LATERAL (SELECT b.z FROM sem_lb b WHERE b.x = 1 LIMIT 2) s ON s.z > a.x
  ORDER BY 1, 2;
CREATE VIEW sem_lv AS SELECT x, count(*) AS n FROM sem_lb GROUP BY x;
SELECT v.x, v.n, g FROM sem_lv v, LATERAL generate_series(1, v.x) g ORDER BY 1, 3;
DROP VIEW sem_lv;
PREPARE sem_lat(int) AS SELECT a.x, s.z FROM sem_la a,
  LATERAL (SELECT z FROM sem_lb b WHERE b.x = a.x AND b.z > $1 ORDER BY z LIMIT 1) s ORDER BY 1;
EXECUTE sem_lat(5);
EXECUTE sem_lat(12);
DEALLOCATE sem_lat;
DROP TABLE sem_la, sem_lb, sem_lc;

-- Columns PostgreSQL accepts ungrouped because they depend on a grouped primary key (GROUP BY
-- c.id, c.name in the select list): DataFusion groups by them too, which keeps the groups (a
-- float with NaN, text under en_US, the NULL key of null-extended rows included).
CREATE TABLE sem_fd_c (id int PRIMARY KEY, name text COLLATE "en_US.utf8", score float8);
CREATE TABLE sem_fd_o (id int, cid int, amt numeric(10,2));
CREATE TABLE sem_fd_k (a int, b int, v text, PRIMARY KEY (a, b));
INSERT INTO sem_fd_c VALUES (1, 'b', 1.5), (2, 'B', 'NaN'), (3, 'a', -0.0), (4, 'a', 2), (5, NULL, NULL);
INSERT INTO sem_fd_o SELECT g, g % 6, g * 1.25 FROM generate_series(1, 30) g;
INSERT INTO sem_fd_k SELECT g % 3, g, 'v' || (g % 4) FROM generate_series(1, 12) g;
ANALYZE sem_fd_c, sem_fd_o, sem_fd_k;
SELECT c.id, c.name, c.score, count(o.id), sum(o.amt) FROM sem_fd_c c LEFT JOIN sem_fd_o o ON o.cid = c.id
  GROUP BY c.id ORDER BY c.id;
SELECT c.name, sum(o.amt) * 2, c.score FROM sem_fd_c c JOIN sem_fd_o o ON o.cid = c.id GROUP BY c.id
  HAVING c.score > 1 OR c.name = 'a' ORDER BY 1, 2;
SELECT o.cid, c.name, count(*) FROM sem_fd_o o LEFT JOIN sem_fd_c c ON c.id = o.cid GROUP BY o.cid, c.id ORDER BY 1;
SELECT k.a, k.b, k.v, count(*) FROM sem_fd_k k JOIN sem_fd_o o ON o.cid = k.b GROUP BY k.a, k.b ORDER BY 1, 2;
SELECT k.v, count(*) FROM sem_fd_k k GROUP BY k.a, k.b, k.v ORDER BY 1, 2;
DROP TABLE sem_fd_c, sem_fd_o, sem_fd_k;

-- WITH RECURSIVE: each reference is a leaf PostgreSQL runs on its own (the recursion is its
-- own); DataFusion joins, groups and filters its rows. Read twice, it is one shared scan.
CREATE TABLE sem_tree (id int, parent int, name text);
INSERT INTO sem_tree VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 1, 'b'), (4, 2, 'a1'), (5, 4, 'a11'),
  (6, 3, 'b1'), (7, NULL, 'other');
CREATE TABLE sem_pay (id int, node int, amount numeric(10,2));
INSERT INTO sem_pay SELECT g, 1 + g % 7, 100 + g FROM generate_series(1, 50) g;
ANALYZE sem_tree, sem_pay;
WITH RECURSIVE sub AS (SELECT id, name, 1 AS lvl FROM sem_tree WHERE id = 2
  UNION ALL SELECT t.id, t.name, s.lvl + 1 FROM sem_tree t JOIN sub s ON t.parent = s.id)
SELECT * FROM sub ORDER BY id;
WITH RECURSIVE sub AS (SELECT id FROM sem_tree WHERE id = 1
  UNION ALL SELECT t.id FROM sem_tree t JOIN sub s ON t.parent = s.id)
SELECT s.id, count(*), sum(p.amount) FROM sub s JOIN sem_pay p ON p.node = s.id GROUP BY s.id ORDER BY 1;
WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 9)
SELECT r.n, count(p.id) FROM r LEFT JOIN sem_pay p ON p.node = r.n GROUP BY r.n ORDER BY 1;
WITH RECURSIVE sub AS (SELECT id FROM sem_tree WHERE id = 2
  UNION SELECT t.id FROM sem_tree t, sub s WHERE t.parent = s.id),
  big AS (SELECT * FROM sem_pay WHERE amount > 120)
SELECT count(*), sum(big.amount) FROM big JOIN sub ON big.node = sub.id;
WITH RECURSIVE sub AS (SELECT id FROM sem_tree WHERE id = 1
  UNION SELECT t.id FROM sem_tree t, sub s WHERE t.parent = s.id)
SELECT a.id, b.id FROM sub a JOIN sub b ON a.id < b.id ORDER BY 1, 2;
WITH RECURSIVE base AS (SELECT id FROM sem_tree WHERE parent IS NULL),
  sub AS (SELECT id FROM base UNION ALL SELECT t.id FROM sem_tree t JOIN sub s ON t.parent = s.id)
SELECT count(*), sum(sub.id), count(DISTINCT p.node) FROM sub LEFT JOIN sem_pay p ON p.node = sub.id AND p.id < 10;
SELECT p.id FROM sem_pay p WHERE p.node IN (WITH RECURSIVE sub AS (SELECT id FROM sem_tree WHERE id = 3
  UNION ALL SELECT t.id FROM sem_tree t JOIN sub s ON t.parent = s.id) SELECT id FROM sub) ORDER BY 1;
SELECT * FROM (WITH RECURSIVE sub AS (SELECT id FROM sem_tree WHERE id = 2
  UNION ALL SELECT t.id FROM sem_tree t JOIN sub s ON t.parent = s.id) SELECT id, count(*) AS c FROM sub GROUP BY id) x
  JOIN sem_tree t USING (id) ORDER BY 1;
WITH RECURSIVE t (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5), u AS (SELECT n * 2 AS m FROM t)
SELECT p.id, u.m FROM sem_pay p JOIN u ON p.id = u.m ORDER BY 1;
DROP TABLE sem_tree, sem_pay;

-- Conditions between tables that DataFusion cannot evaluate (geometric operators, floats,
-- intervals, a user's function, text ordered by a collation other than the byte order): PostgreSQL
-- evaluates them on the node over the joined rows, where those rows are the query's.
CREATE TABLE sem_box (id int, b box, x float8, d interval, t text);
INSERT INTO sem_box VALUES
  (1, '(2,2),(0,0)', 1.5, '1 day', 'b'), (2, '(3,3),(1,1)', -0.0, '24 hours', 'a'),
  (3, '(10,10),(8,8)', 'NaN', '1 mon', 'B'), (4, '(1,1),(0,0)', 0, '30 days', NULL),
  (5, NULL, 2, NULL, 'c');
CREATE TABLE sem_pt (id int, p point, y float8, k int);
INSERT INTO sem_pt VALUES
  (1, '(1,1)', 1.5, 1), (2, '(0.5,0.5)', 0, 2), (3, '(9,9)', 'NaN', 3), (4, '(20,20)', 'Infinity', 1),
  (5, NULL, NULL, 2), (6, '(2,2)', -1, 3);
CREATE FUNCTION sem_near(box, point) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT $2 <@ $1';
ANALYZE sem_box, sem_pt;
SELECT b.id, p.id FROM sem_box b, sem_pt p WHERE p.p <@ b.b ORDER BY 1, 2;
SELECT b.id, p.id, p.p FROM sem_box b JOIN sem_pt p ON b.b @> p.p AND b.id <> p.id ORDER BY 2 DESC, 1;
SELECT b.id, p.id FROM sem_box b, sem_pt p WHERE b.x = p.y ORDER BY 1, 2;
SELECT b.id, p.id FROM sem_box b, sem_pt p WHERE b.x < p.y AND p.k = 1 ORDER BY 1, 2;
SELECT b.id, p.id FROM sem_box b, sem_pt p WHERE b.id = p.k AND (b.x >= p.y OR p.p <@ b.b) ORDER BY 1, 2;
SELECT a.id, c.id FROM sem_box a, sem_box c WHERE a.d = c.d AND a.id < c.id ORDER BY 1, 2;
SELECT b.id, p.id FROM sem_box b, sem_pt p WHERE sem_near(b.b, p.p) AND NOT (b.x > p.y) ORDER BY 1, 2;
SELECT b.id, p.id, b.b # box(p.p, p.p) AS meet FROM sem_box b JOIN sem_pt p ON p.p <@ b.b ORDER BY 1, 2;
SELECT a.t, c.t FROM sem_box a JOIN sem_box c ON a.t COLLATE "en_US.utf8" < c.t COLLATE "en_US.utf8" ORDER BY 1, 2;
SELECT b.id, p.id, c.id FROM sem_box b, sem_pt p, sem_box c WHERE p.p <@ b.b AND c.id = p.k AND c.x <> p.y ORDER BY 1, 2, 3;
SELECT p.id FROM sem_pt p, sem_box b WHERE p.p <@ b.b ORDER BY p.id LIMIT 2;
SELECT p.id, b.id FROM sem_pt p, sem_box b WHERE p.p <@ b.b ORDER BY p.id, b.id OFFSET 1 FETCH FIRST 2 ROWS WITH TIES;
SELECT p.id, b.id FROM (SELECT id, p FROM sem_pt WHERE id < 5) p, (SELECT id, b, count(*) OVER () AS n FROM sem_box) b
WHERE p.id = b.id AND p.p <@ b.b ORDER BY 1, 2;
DROP FUNCTION sem_near(box, point);
DROP TABLE sem_box, sem_pt;

-- Window functions PostgreSQL computes above the node (frames DataFusion has not: EXCLUDE,
-- RANGE offsets over other types, GROUPS; arguments that vary; FILTER; user-defined window
-- aggregates; expressions over aggregates): DataFusion computes the rows, PostgreSQL's Sort and
-- WindowAgg nodes the windows, then the ORDER BY / LIMIT.
CREATE TABLE sem_w (id int, g int, x int, f float8, t text, d date, tm time);
INSERT INTO sem_w SELECT i, i % 3, (i * 7) % 11, i / 4.0, 'v' || (i % 5), date '2024-01-01' + i * 10,
  time '08:00' + i * interval '17 minutes' FROM generate_series(1, 24) i;
INSERT INTO sem_w VALUES (25, NULL, NULL, NULL, NULL, NULL, NULL), (26, 1, 3, 2.5, 'v3', '2024-02-01', '09:00');
ANALYZE sem_w;
SELECT id, x, sum(x) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND 2 FOLLOWING EXCLUDE CURRENT ROW),
  sum(x) OVER (PARTITION BY g ORDER BY x, id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE TIES)
FROM sem_w ORDER BY id;
SELECT id, g, x, count(*) OVER (PARTITION BY g ORDER BY x RANGE BETWEEN 2 PRECEDING AND 2 FOLLOWING EXCLUDE GROUP),
  first_value(id) OVER (ORDER BY x GROUPS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW)
FROM sem_w ORDER BY id;
SELECT id, f, sum(x) OVER (ORDER BY f RANGE BETWEEN 1.5 PRECEDING AND 0.5 FOLLOWING),
  max(id) OVER (ORDER BY tm RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW)
FROM sem_w ORDER BY id;
SELECT id, lag(x, g) OVER (ORDER BY id), lead(x, g, -1) OVER (PARTITION BY g ORDER BY id),
  ntile(g + 1) OVER (ORDER BY id), nth_value(x, g + 1) OVER (ORDER BY id)
FROM sem_w WHERE g IS NOT NULL ORDER BY id;
SELECT id, count(*) FILTER (WHERE x > 5) OVER (PARTITION BY g ORDER BY id),
  sum(x) FILTER (WHERE t <> 'v1') OVER w, string_agg(t, ',') OVER w
FROM sem_w WINDOW w AS (ORDER BY id ROWS 3 PRECEDING) ORDER BY id;
-- Several windows, an expression over two of them, CASE around them, windows only in ORDER BY.
SELECT id, row_number() OVER (PARTITION BY g ORDER BY id) * 100 + count(*) OVER (ORDER BY x, id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) AS v,
  CASE WHEN lag(x) OVER (ORDER BY id) > x THEN 'down' ELSE t END AS c,
  CASE lead(g) OVER (ORDER BY id) WHEN 0 THEN 'zero' WHEN 1 THEN 'one' END AS l
FROM sem_w ORDER BY id;
SELECT id, x FROM sem_w WHERE id < 12
ORDER BY sum(x) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) DESC, id;
-- Grouped: windows over aggregates and group keys, an expression of aggregates as window key.
SELECT g, sum(x) AS s, rank() OVER (ORDER BY sum(x) + count(*) DESC),
  sum(sum(x)) OVER (ORDER BY g ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW)
FROM sem_w GROUP BY g ORDER BY g;
SELECT g, count(*), lag(max(t), g) OVER (ORDER BY g) FROM sem_w WHERE g IS NOT NULL GROUP BY g HAVING count(*) > 1 ORDER BY g;
-- Over a join and an outer join's NULLs; LIMIT, WITH TIES and DISTINCT ON above the windows.
SELECT a.id, b.id, sum(b.x) OVER (ORDER BY a.id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE GROUP)
FROM sem_w a LEFT JOIN sem_w b ON b.id = a.id + 20 WHERE a.id > 15 ORDER BY a.id;
SELECT id, sum(x) OVER (ORDER BY id ROWS 2 PRECEDING EXCLUDE CURRENT ROW) AS s FROM sem_w ORDER BY s DESC NULLS LAST, id LIMIT 5;
SELECT id, x, sum(x) OVER (ORDER BY id GROUPS 1 PRECEDING EXCLUDE TIES) FROM sem_w ORDER BY x FETCH FIRST 3 ROWS WITH TIES;
SELECT DISTINCT ON (g) g, id, ntile(g + 2) OVER (ORDER BY id) FROM sem_w WHERE g IS NOT NULL ORDER BY g, id DESC;
-- A user-defined aggregate as a window function; a frame offset as a parameter; no rows.
CREATE FUNCTION sem_w_add(int, int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT coalesce($1, 0) + coalesce($2, 0) * 2';
CREATE AGGREGATE sem_w_twice(int) (sfunc = sem_w_add, stype = int);
SELECT id, sem_w_twice(x) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM sem_w WHERE id < 8 ORDER BY id;
PREPARE sem_w_p(int) AS SELECT id, sum(x) OVER (ORDER BY id ROWS BETWEEN $1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) FROM sem_w WHERE id < 8 ORDER BY id;
EXECUTE sem_w_p(2);
EXECUTE sem_w_p(0);
SELECT id, sum(x) OVER (ORDER BY id ROWS 1 PRECEDING EXCLUDE CURRENT ROW) FROM sem_w WHERE id < 0;
-- Subqueries in FROM DataFusion cannot compute (window frames, DISTINCT ON, WITH TIES, a column
-- that is an expression over aggregates DataFusion leaves to PostgreSQL) are leaves PostgreSQL
-- plans and runs on its own, joined and aggregated by DataFusion; windows DataFusion lacks
-- (bool_and, stddev, RANGE over time) are PostgreSQL's above the node.
SELECT s.g, count(*), sum(s.v) FROM (SELECT g, sum(x) OVER (PARTITION BY g ORDER BY id ROWS 1 PRECEDING EXCLUDE CURRENT ROW) AS v FROM sem_w) s
GROUP BY s.g ORDER BY 1;
SELECT count(*), sum(w.x) FROM (SELECT DISTINCT ON (g) g, id FROM sem_w ORDER BY g, id DESC) s JOIN sem_w w ON w.id = s.id;
SELECT sum(s.id) FROM (SELECT id FROM sem_w ORDER BY g FETCH FIRST 3 ROWS WITH TIES) s;
SELECT s.g, s.m, w.id FROM (SELECT g, max(x) / 2.0 AS m FROM sem_w GROUP BY g) s JOIN sem_w w ON w.g = s.g AND w.x > s.m ORDER BY 1, 3;
CREATE VIEW sem_w_v AS SELECT id, g, lag(x, g) OVER (ORDER BY id) AS l FROM sem_w;
SELECT v.id, v.l, w.t FROM sem_w_v v JOIN sem_w w USING (id) WHERE v.l > 5 ORDER BY 1;
SELECT v.g, count(*), count(w.id) FROM sem_w_v v LEFT JOIN sem_w w ON w.id = v.l GROUP BY v.g ORDER BY 1;
DROP VIEW sem_w_v;
SELECT id, bool_and(x > 2) OVER (ORDER BY id), stddev(x) OVER (ORDER BY id ROWS 3 PRECEDING)::numeric(10,4),
  sum(id) OVER (ORDER BY tm RANGE BETWEEN '1 hour' PRECEDING AND CURRENT ROW) FROM sem_w ORDER BY id LIMIT 6;
-- What PostgreSQL evaluates only on some rows stays so (a CASE branch, a FILTERed argument, a
-- lag default: x is 0 on some rows, no division by zero), and a volatile function in the
-- select list runs after the windows' sort, once per row.
SELECT id, CASE WHEN x <> 0 THEN 100 / x + sum(x) OVER (ORDER BY id ROWS 1 PRECEDING EXCLUDE CURRENT ROW) END FROM sem_w ORDER BY id;
SELECT id, CASE g WHEN 0 THEN 0 ELSE 100 / g END + sum(x) OVER (ORDER BY id ROWS 1 PRECEDING EXCLUDE CURRENT ROW) FROM sem_w WHERE g IS NOT NULL ORDER BY id LIMIT 6;
SELECT id, sum(100 / x) FILTER (WHERE x <> 0) OVER (ORDER BY id ROWS 2 PRECEDING EXCLUDE CURRENT ROW) FROM sem_w ORDER BY id;
SELECT id, lead(x, 1, 100 / x) OVER (ORDER BY id ROWS 1 PRECEDING EXCLUDE CURRENT ROW) FROM sem_w WHERE x IS NOT NULL ORDER BY id;
CREATE SEQUENCE sem_w_seq;
SELECT id, nextval('sem_w_seq') AS n, sum(x) OVER (ORDER BY id DESC ROWS 1 PRECEDING EXCLUDE CURRENT ROW) FROM sem_w WHERE id < 8;
DROP SEQUENCE sem_w_seq;
-- A WITH query PostgreSQL materializes (read twice) is computed once with every column, though
-- the references read different columns: both see the same rows where its ORDER BY leaves ties
-- open (all 5 rows meet, not fewer).
WITH c AS (SELECT g, id, x FROM sem_w ORDER BY g LIMIT 5) SELECT count(*) FROM c a JOIN c b ON a.id = b.id WHERE a.x >= 0;
WITH c AS (SELECT g, id, x, sum(x) OVER (ORDER BY g ROWS 1 PRECEDING EXCLUDE CURRENT ROW) AS s FROM sem_w ORDER BY g LIMIT 5)
SELECT count(*), count(a.s) FROM c a JOIN c b ON a.id = b.id;
-- Set-returning functions in the select list of a query with aggregates or over several tables:
-- PostgreSQL's ProjectSet expands them above the node (several in lockstep), the ORDER BY below
-- it (PostgreSQL sorts, then expands) unless a key is their result; a volatile function beside
-- them runs in the ProjectSet, as in PostgreSQL's plan (as often: the same currval).
SELECT g, count(*), generate_series(1, 2) AS s FROM sem_w WHERE g IS NOT NULL GROUP BY g ORDER BY g;
SELECT g, count(*), generate_series(1, 3) AS s FROM sem_w GROUP BY g ORDER BY s DESC, g;
SELECT g, x, unnest(ARRAY[g, x]) AS u, generate_series(1, g + 1) AS s, sum(id) FROM sem_w WHERE id < 6 GROUP BY g, x ORDER BY g, x;
SELECT a.id, b.id, generate_series(a.id, b.id) FROM sem_w a JOIN sem_w b ON b.id = a.id + 2 WHERE a.id < 4 ORDER BY 1;
SELECT max(id), generate_series(1, 2) FROM sem_w;
SELECT generate_series(1, 2) AS s FROM sem_w a JOIN sem_w b ON a.id = b.id WHERE a.id < 3 ORDER BY 1;
SELECT g % 2 AS h, generate_series(1, g % 2 + 1) AS s FROM sem_w GROUP BY g % 2 ORDER BY 1, 2;
SELECT g, count(*), generate_series(1, 2) AS s FROM sem_w GROUP BY ROLLUP (g) ORDER BY 1, 3, 2;
CREATE SEQUENCE sem_srf_seq;
SELECT g, nextval('sem_srf_seq') > 0 AS n, generate_series(1, 2) FROM sem_w WHERE g = 1 GROUP BY g;
SELECT currval('sem_srf_seq');
DROP SEQUENCE sem_srf_seq;
-- Aggregates PostgreSQL computes above the node (ORDER BY inside aggregates, ordered-set
-- aggregates, regr_*, json_object_agg, user-defined aggregates, HAVING over them):
-- DataFusion computes the rows, PostgreSQL's Sort and Agg nodes the groups, then the ORDER BY,
-- DISTINCT and LIMIT.
SELECT g, string_agg(t, ',' ORDER BY id DESC), array_agg(x ORDER BY x, id) FROM sem_w GROUP BY g ORDER BY g;
SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY f), percentile_disc(0.25) WITHIN GROUP (ORDER BY x),
  mode() WITHIN GROUP (ORDER BY t), rank(5) WITHIN GROUP (ORDER BY x) FROM sem_w GROUP BY g ORDER BY g NULLS FIRST;
SELECT percentile_cont(ARRAY[0.1, 0.9]) WITHIN GROUP (ORDER BY x), mode() WITHIN GROUP (ORDER BY d DESC) FROM sem_w;
SELECT g, regr_slope(x, id)::numeric(12,6), corr(x, f)::numeric(12,6), regr_count(x, f), regr_avgx(x, id)::numeric(12,6)
FROM sem_w GROUP BY g HAVING regr_count(x, f) > 0 ORDER BY 2 DESC;
SELECT g, json_object_agg(id, t ORDER BY id) FILTER (WHERE id < 10) FROM sem_w GROUP BY g ORDER BY g;
SELECT g, sem_w_twice(x), sem_w_twice(DISTINCT x) FROM sem_w GROUP BY g ORDER BY sem_w_twice(x) DESC LIMIT 2;
SELECT DISTINCT string_agg(DISTINCT t, '' ORDER BY t) FROM sem_w GROUP BY g % 2, x > 5 ORDER BY 1;
SELECT g, string_agg(t, '-' ORDER BY t) AS s FROM sem_w GROUP BY g ORDER BY s FETCH FIRST 1 ROWS WITH TIES;
SELECT DISTINCT ON (g % 2) g % 2, g, mode() WITHIN GROUP (ORDER BY x) FROM sem_w GROUP BY g ORDER BY g % 2, g DESC;
SELECT 1 AS one FROM sem_w HAVING min(id) < 2;
-- Over no rows: one row without GROUP BY, none with it; over a join and an outer join's NULLs.
SELECT count(*), string_agg(t, ',' ORDER BY id), percentile_disc(0.5) WITHIN GROUP (ORDER BY x) FROM sem_w WHERE id < 0;
SELECT g, string_agg(t, ',' ORDER BY id) FROM sem_w WHERE id < 0 GROUP BY g;
SELECT a.g, string_agg(b.t, ',' ORDER BY b.id NULLS FIRST), count(b.id) FROM sem_w a LEFT JOIN sem_w b ON b.id = a.id + 20
WHERE a.id > 15 GROUP BY a.g ORDER BY 1;
-- Evaluated only where PostgreSQL evaluates it: a FILTERed argument (x is 0 on some rows) and a
-- CASE over aggregates, once per group; a parameter as an argument; PostgreSQL's own error.
SELECT g, sum(100 / x ORDER BY id) FILTER (WHERE x <> 0), CASE WHEN min(x) <> 0 THEN 100 / min(x) END FROM sem_w GROUP BY g ORDER BY g;
PREPARE sem_a_p(text) AS SELECT g, string_agg(t, $1 ORDER BY id) FROM sem_w WHERE id < 7 GROUP BY g ORDER BY g;
EXECUTE sem_a_p('+');
EXECUTE sem_a_p('/');
DEALLOCATE sem_a_p;
SELECT percentile_cont(g + 1.0) WITHIN GROUP (ORDER BY x) FROM sem_w GROUP BY g ORDER BY g;
-- As PostgreSQL's planner: calls folded away (COALESCE, CASE WHEN false) leave no gap; a HAVING
-- term without aggregates filters the rows first (no row with x = 0 reaches the division); an
-- equal call is computed once (its transition function's NOTICE once per row).
SELECT g, COALESCE(1, max(x)), CASE WHEN false THEN corr(x, id) END, percentile_disc(0.5) WITHIN GROUP (ORDER BY x)
FROM sem_w GROUP BY g ORDER BY g;
SELECT g, x, string_agg((100 / x)::text, ',' ORDER BY id) FROM sem_w WHERE id < 14 GROUP BY g, x HAVING x <> 0 AND count(*) > 0 ORDER BY 1, 2;
SELECT g, sum(100 / (x - 1)), count(*) FROM sem_w WHERE id < 14 GROUP BY g HAVING g <> 2 AND g IS NOT NULL ORDER BY g;
SELECT g, grouping(g) FROM sem_w GROUP BY GROUPING SETS (g) HAVING grouping(g) >= 0 ORDER BY 1 NULLS FIRST;
SELECT sum(1 / (x - x)) FROM sem_w GROUP BY () HAVING false;
CREATE FUNCTION sem_a_note(int, int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
$$BEGIN RAISE NOTICE 'step %', $2; RETURN coalesce($1, 0) + $2; END$$;
CREATE AGGREGATE sem_a_noisy(int) (sfunc = sem_a_note, stype = int);
SELECT sem_a_noisy(x), sem_a_noisy(x) * 2 FROM sem_w WHERE id < 4 HAVING sem_a_noisy(x) > 0;
DROP AGGREGATE sem_a_noisy(int);
DROP FUNCTION sem_a_note(int, int);
-- PostgreSQL's own errors: a negative offset, ntile(0), nth_value(x, 0).
SELECT sum(x) OVER (ORDER BY id ROWS BETWEEN -1 PRECEDING AND CURRENT ROW EXCLUDE TIES) FROM sem_w;
SELECT ntile(g - 1) OVER (ORDER BY id) FROM sem_w;
SELECT nth_value(x, g) OVER (ORDER BY id) FROM sem_w;
DEALLOCATE sem_w_p;
DROP AGGREGATE sem_w_twice(int);
DROP FUNCTION sem_w_add(int, int);
DROP TABLE sem_w;

-- A window ORDER BY over bytea, uuid, time or boolean with a frame of peers (the default, or
-- RANGE without offsets): DataFusion frames their peer groups as GROUPS (its RANGE does not take
-- these keys; it failed with an internal error).
CREATE TABLE sem_wk (id int, b bytea, u uuid, t time, f bool);
INSERT INTO sem_wk SELECT g, decode(lpad(to_hex(g % 5), 2, '0'), 'hex'),
    ('00000000-0000-0000-0000-00000000000' || (g % 4))::uuid, make_time(g % 3, 0, 0), g % 2 = 0
FROM generate_series(1, 10) g;
SELECT id, rank() OVER (ORDER BY b), count(*) OVER (ORDER BY u), sum(id) OVER (ORDER BY t),
       sum(id) OVER (ORDER BY f RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)
FROM sem_wk ORDER BY id;
DROP TABLE sem_wk;

-- Session settings that change results travel with each query: PostgreSQL formats every value
-- the node returns (DateStyle, IntervalStyle, extra_float_digits, TimeZone for timestamptz),
-- and what depends on TimeZone (date_trunc, a cast to date, extract of a timestamptz) is
-- computed in the scans, under the session's zone at run time, a cached plan's too.
CREATE TABLE sem_tz (id int, ts timestamptz, d date, iv interval, f float8, r real);
INSERT INTO sem_tz SELECT i, timestamptz '2024-03-30 20:00:00+00' + i * interval '97 minutes',
    date '2024-02-27' + i, make_interval(days => i % 3, hours => i, secs => i / 7.0), i / 8.0 + 0.1, i / 4.0
FROM generate_series(1, 60) i;
ANALYZE sem_tz;
SET TimeZone = 'Asia/Kathmandu';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'postgres_verbose';
SET extra_float_digits = 3;
SELECT a.id, a.ts, a.ts::date AS day, b.d, b.iv, a.f * b.f AS ff, a.r FROM sem_tz a JOIN sem_tz b ON b.id = a.id + 1
WHERE a.id % 9 = 0 ORDER BY a.id;
SELECT date_trunc('day', a.ts) AS day, count(*), sum(a.r), avg(b.r), min(a.ts), max(b.iv)
FROM sem_tz a JOIN sem_tz b ON b.id = a.id GROUP BY 1 ORDER BY 1;
SELECT extract(hour FROM ts) AS h, count(*) FROM sem_tz GROUP BY 1 ORDER BY 1 LIMIT 4;
SELECT id, ts, count(*) OVER (ORDER BY ts RANGE BETWEEN '3 hours' PRECEDING AND CURRENT ROW)
FROM sem_tz WHERE id < 8 ORDER BY id;
PREPARE sem_tz_p AS SELECT date_trunc('day', ts) AS day, count(*) FROM sem_tz GROUP BY 1 ORDER BY 1 LIMIT 3;
SET plan_cache_mode = force_generic_plan;
EXECUTE sem_tz_p;
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'iso_8601';
SET extra_float_digits = 0;
EXECUTE sem_tz_p;
SELECT a.id, a.ts, a.ts::date AS day, b.iv, a.f * b.f AS ff FROM sem_tz a JOIN sem_tz b ON b.id = a.id + 1
WHERE a.id % 9 = 0 ORDER BY a.id;
DEALLOCATE sem_tz_p;
RESET plan_cache_mode;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
SET extra_float_digits = 0;
DROP TABLE sem_tz;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
DROP TABLE sem_f, sem_i, sem_c, sem_z, sem_k, sem_m, sem_j1, sem_j2, sem_u, sem_nv, sem_o, sem_bare;
