-- Values of types DataFusion has no type for, with PostgreSQL's answers (the oracle pass runs
-- this suite with pg_fusion off against the same expected output). Wherever DataFusion only
-- carries a value (select list, join outputs, subquery columns, UNION ALL, window and
-- projection inputs), it crosses as its bytes and comes back as PostgreSQL returns it: numeric
-- without a declared scale keeps each value's display scale, a big jsonb is detoasted, an enum
-- keeps its label. Sorting such a value is PostgreSQL's Sort above the node; comparing or
-- grouping it is refused (errors suite). Domains are their base types, constraints checked by
-- PostgreSQL where the values were made.
CREATE TYPE ca_mood AS ENUM ('sad', 'ok', 'happy');
-- An enum whose sort order is not its OIDs' order.
ALTER TYPE ca_mood ADD VALUE 'meh' BEFORE 'ok';
CREATE DOMAIN ca_posint AS int CHECK (VALUE > 0);
CREATE DOMAIN ca_short AS varchar(8) COLLATE "C";
CREATE DOMAIN ca_money AS numeric(12,2);
CREATE DOMAIN ca_name AS name;
CREATE DOMAIN ca_day AS date;
CREATE TABLE ca (
    id int PRIMARY KEY,
    n numeric,
    j json,
    jb jsonb,
    a int[],
    ta text[],
    tt timetz,
    bt bit(4),
    vb varbit,
    e ca_mood,
    ip inet,
    mac macaddr,
    pt point,
    r int4range,
    m money,
    ch "char",
    o oid,
    rc regclass,
    tv tsvector,
    p ca_posint,
    s ca_short,
    mn ca_money,
    dn ca_name,
    dd ca_day
);
-- Row 4's jsonb and array are stored out of line, uncompressed: the scan detoasts them.
ALTER TABLE ca ALTER jb SET STORAGE EXTERNAL, ALTER a SET STORAGE EXTERNAL;
INSERT INTO ca VALUES
  (1, 1.0, '{"k": 1, "k": 2}', '{"k": 1.50}', '{1,2,3}', '{a,NULL,"c d"}', '12:00+02', B'1010', B'1',
   'sad', '10.0.0.1/8', '08:00:2b:01:02:03', '(1.5,-2)', '[1,5)', 12.34, 'x', 42, 'pg_class', 'a fat cat',
   1, 'alpha', 10.50, 'first', '2024-02-29'),
  (2, 1.00, '[]', '[1, "two", null]', '{}', '{}', '00:00-11', B'0000', B'',
   'meh', '::1', 'ff:ff:ff:ff:ff:ff', '(0,0)', 'empty', -0.01, '', 0, 'pg_type', '',
   2, '', 0.00, '', '1999-12-31'),
  (3, -123456789012345678901234567890.123456789012345678901234567890, 'null', 'null',
   '[0:1]={7,8}', '{"x,y"}', '23:59:59.999999-15:59', B'1111', B'101010101010101010101', 'happy',
   '192.168.1.0/24', '00:00:00:00:00:00', '(-1e300,1e-300)', '(,)', 92233720368547758.07, 'z', 4294967295, 'ca', 'b:1A',
   3, 'omega', 9999999999.99, repeat('n', 63), '4713-01-01 BC'),
  (4, 'NaN', '"x"', (SELECT jsonb_object_agg('key' || i, repeat('v', 100)) FROM generate_series(1, 300) i),
   (SELECT array_agg(i) FROM generate_series(1, 5000) i), NULL, NULL, NULL, NULL, 'ok',
   NULL, NULL, NULL, '[-10,10]', NULL, NULL, NULL, NULL, NULL, 4, NULL, NULL, NULL, NULL),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   5, NULL, NULL, NULL, NULL);
ANALYZE ca;
SET pg_fusion.enable = on;

-- Every column of every row (the jsonb of row 4 and its array are stored out of line).
SELECT id, n, j, jb ->> 'key7' AS key7, length(jb::text) AS jblen, a[4999:5000] AS atail, cardinality(a), ta, tt,
       bt, vb, e, ip, mac, pt, r, m, ch, o, rc, tv, p, s, mn, dn, dd
FROM ca ORDER BY id;
SELECT * FROM ca WHERE id <> 4 ORDER BY id;
-- Expressions PostgreSQL computes in the scan, of any type.
SELECT id, n * 2 AS n2, jb -> 0 AS first, a || 0 AS a0, e::text AS label, r * '[2,3]'::int4range AS ri,
       tv @@ 'cat'::tsquery AS cat
FROM ca WHERE id <> 4 ORDER BY id;

-- Through a join, a subquery in FROM, an outer join's null-extended side and UNION ALL.
SELECT c.id, c.n, d.jb, d.e, c.tt FROM ca c JOIN ca d ON d.id = c.id WHERE c.id <> 4 ORDER BY c.id;
SELECT s.id, s.n, s.e FROM (SELECT id, n, e FROM ca WHERE id > 1) s JOIN ca c ON c.id = s.id ORDER BY s.id;
SELECT c.id, d.n, d.e FROM ca c LEFT JOIN ca d ON d.id = c.id + 1 ORDER BY c.id;
SELECT id, n FROM ca WHERE id < 3 UNION ALL SELECT id + 10, n FROM ca WHERE id >= 3 ORDER BY id;
-- A projection PostgreSQL computes above the node over carried columns of two tables.
SELECT c.id, c.a || d.a AS both_a, c.n + d.n AS nn FROM ca c JOIN ca d ON d.id = c.id WHERE c.id <> 4 ORDER BY c.id;
-- The out-of-line values themselves cross, both ways, through a join.
SELECT c.id, md5(c.jb::text) AS jb_md5, md5(d.a::text) AS a_md5, length(d.a::text) AS alen
FROM ca c JOIN ca d USING (id) WHERE c.id = 4;
-- Window functions over rows that carry them.
SELECT id, e, n, row_number() OVER (ORDER BY id DESC) FROM ca ORDER BY id;
-- count() counts them (the scan tests them for NULL: they do not cross); the grouped side is a
-- column DataFusion has.
SELECT count(n), count(jb), count(e), count(*) FROM ca;
SELECT count(n) FILTER (WHERE id > 1), count(e) FROM ca GROUP BY id > 2 ORDER BY 1;

-- Sorted by PostgreSQL above the node: the enum by its sort order ('meh' before 'ok'), numeric
-- by value, jsonb by its own order; LIMIT after the sort.
SELECT id, e FROM ca ORDER BY e, id;
SELECT id, n FROM ca ORDER BY n DESC, id;
SELECT id FROM ca ORDER BY jb NULLS FIRST, id LIMIT 3;
SELECT c.id, d.e FROM ca c JOIN ca d ON d.id = c.id ORDER BY d.e DESC NULLS LAST, c.id;

-- Domains are their base types: compared, summed and grouped in DataFusion.
SELECT p, s, mn, dn, dd FROM ca WHERE p > 1 AND s >= 'a' ORDER BY p;
SELECT s, sum(mn), min(dd), max(p), count(*) FROM ca GROUP BY s ORDER BY s NULLS FIRST;
SELECT c.p, d.mn FROM ca c JOIN ca d ON d.p = c.p AND d.dd = c.dd ORDER BY 1;
SELECT DISTINCT dd FROM ca WHERE dd > '2000-01-01' ORDER BY 1;
-- A domain over char(n) sorts without its trailing blanks, as char(n) does ('a' before 'a\t').
CREATE DOMAIN ca_c3 AS char(3) COLLATE "C";
CREATE TABLE ca_dc (id int, x ca_c3);
INSERT INTO ca_dc VALUES (1, 'a'), (2, E'a\t'), (3, 'b'), (4, NULL);
SELECT id, x FROM ca_dc ORDER BY x, id;
SELECT id, row_number() OVER (ORDER BY x NULLS FIRST) FROM ca_dc ORDER BY id;
SELECT string_agg(id::text, ',' ORDER BY x DESC, id) FROM ca_dc;
DROP TABLE ca_dc;
DROP DOMAIN ca_c3;

DROP TABLE ca;
DROP DOMAIN ca_posint, ca_short, ca_money, ca_name, ca_day;
DROP TYPE ca_mood;
