-- Every supported column type, with NULLs and edge values, crosses the boundary both ways and
-- comes back exactly as PostgreSQL returns it (each query runs with pg_fusion off and on; `same`
-- prints "match" or the diff). Values pg_fusion cannot carry exactly fail closed with 0A000.
CREATE TABLE ty (
    id int PRIMARY KEY,
    b boolean,
    i2 smallint,
    i4 int,
    i8 bigint,
    f4 real,
    f8 float8,
    n38 numeric(38,0),
    n38s numeric(38,10),
    n5 numeric(5,5),
    n12 numeric(12,2),
    t text COLLATE "C",
    v varchar(10) COLLATE "C",
    c char(5) COLLATE "C",
    nm name,
    by bytea,
    u uuid,
    d date,
    tm time,
    ts timestamp,
    tz timestamptz,
    iv interval
);
INSERT INTO ty VALUES
  (1, true, 32767, 2147483647, 9223372036854775807, 3.4e38, 1.7976931348623157e308,
   99999999999999999999999999999999999999, 9999999999999999999999999999.9999999999, 0.99999, 9999999999.99,
   'ascii', 'abc', 'ab', 'relname', '\x00ff00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '5874897-12-31', '23:59:59.999999', '200000-12-31 23:59:59.999999', '200000-12-31 23:59:59.999999+00',
   '178000000 years'),
  (2, false, -32768, -2147483648, -9223372036854775808, -3.4e38, -1.7976931348623157e308,
   -99999999999999999999999999999999999999, -9999999999999999999999999999.9999999999, -0.99999, -9999999999.99,
   'ünïcødé ✓ 日本', '', '', '', '\x', '00000000-0000-0000-0000-000000000000',
   '4713-01-01 BC', '00:00', '4713-01-01 00:00 BC', '4713-01-01 00:00+00 BC',
   '-178000000 years'),
  (3, NULL, 0, 0, 0, '-0', '-0', 0, 0.0000000001, 0.00001, -0.01,
   '', ' lead', 'x    ', 'x', '', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
   '2000-01-01', '12:00', '2000-01-01 00:00', '2000-01-01 00:00+00', '1 mon 2 days 03:04:05.678901'),
  (4, true, 1, 1, 1, 1.5, 0.1, 1, 1, 0.5, 0.5,
   repeat('long text ', 2000), 'trail  ', 'trail', repeat('n', 63),
   (SELECT decode(string_agg(md5(i::text), ''), 'hex') FROM generate_series(1, 300) i),
   '6ba7b810-9dad-11d1-80b4-00c04fd430c8', '1970-01-01', '00:00:00.000001', '1970-01-01 00:00:00.000001',
   '1969-12-31 23:59:59.999999+00', '-1 days +01:00'),
  (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
ANALYZE ty;

\set same '\\! cmp -s /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out && echo match || diff /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out; rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out'

-- Every column of every row (the long text is compressed and the long bytea stored out of line:
-- PostgreSQL detoasts both for the scan).
\set q 'SELECT id, b, i2, i4, i8, f4, f8, n38, n38s, n5, n12, length(t) AS tlen, md5(t) AS tmd5, v, c, nm, length(by) AS blen, md5(by) AS bmd5, u, d, tm, ts, tz, iv FROM ty ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- The wide values themselves cross too (whole row; by is printed as its hex text).
\set q 'SELECT * FROM ty ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- count ignores NULLs; min/max per ordered type.
\set q 'SELECT count(b), count(i2), count(f4), count(n38), count(t), count(nm), count(by), count(u), count(tm), count(iv), count(*) FROM ty'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT min(i2), max(i2), min(i4), max(i4), min(i8), max(i8), min(n38), max(n38), min(n38s), max(n38s), min(n5), max(n12), min(t), max(v), min(c), max(nm), min(d), max(d), min(tm), max(tm), min(ts), max(ts), min(tz), max(tz), min(f8), max(f4) FROM ty'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Sums with PostgreSQL's result types: sum(int2/int4) is int8, sum(int8) and sum(numeric) are
-- numeric (no overflow at the int8 limits), avg is numeric.
\set q 'SELECT sum(i2), sum(i4), sum(i8), sum(n38), sum(n38s), sum(n5), sum(n12), avg(i2), avg(i4), avg(i8), avg(n12), avg(n38) FROM ty'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Grouping and DISTINCT on every equality-safe type, NULL groups included.
\set q 'SELECT b, u, d, count(*) FROM ty GROUP BY b, u, d ORDER BY b NULLS FIRST, u, d'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT DISTINCT c, nm, tm, ts, tz, n12, md5(by) COLLATE "C" AS bmd5 FROM ty ORDER BY c, nm, tm, ts, tz, n12, bmd5'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- char(n) compares without its padding, as PostgreSQL's bpchar does.
\set q 'SELECT c, count(*) FROM ty WHERE c = ''x'' OR c = ''trail'' GROUP BY c ORDER BY c'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- ORDER BY with NULLS FIRST/LAST in both directions on several types.
\set q 'SELECT id FROM ty ORDER BY i8 DESC NULLS LAST, id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT id FROM ty ORDER BY tz NULLS FIRST, t DESC, id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- timestamptz output follows the session's TimeZone in both modes.
SET TimeZone = 'America/New_York';
\set q 'SELECT id, tz FROM ty ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
RESET TimeZone;

-- An empty input: aggregates over no rows, every type.
\set q 'SELECT count(*), count(u), max(nm), sum(i2), sum(n38), avg(i8), min(tz) FROM ty WHERE id < 0'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Floats order as PostgreSQL orders them: one zero (-0 = 0), and every NaN (also the negative
-- NaN that Infinity - Infinity yields) above all other values.
CREATE TABLE ty_f (id int, f float8, g real);
INSERT INTO ty_f VALUES (1, 0, 0), (2, '-0', '-0'), (3, 'NaN', 'NaN'), (4, 'Infinity', 'Infinity'),
    (5, '-Infinity', '-Infinity'), (6, NULL, NULL), (7, 1, 1), (8, -1, -1);
\set q 'SELECT id, f, f - f AS x, g - g AS y FROM ty_f ORDER BY f, id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id FROM ty_f ORDER BY f - f DESC NULLS LAST, g - g, id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT max(f - f), min(f - f), max(f - f) FILTER (WHERE id IN (4, 7)), min(g - g) FILTER (WHERE id IN (5, 7)), max(g), min(g) FROM ty_f'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
DROP TABLE ty_f;

-- Values and types pg_fusion cannot carry exactly fail closed.
SET pg_fusion.enable = on;
\set VERBOSITY sqlstate
CREATE TABLE ty_special (id int, d date, ts timestamp, n numeric(12,2), bare numeric, f4 real, tz timestamptz);
INSERT INTO ty_special VALUES (1, 'infinity', '-infinity', 'NaN', 1.5, 1, '294276-12-31 23:59:59.999999+00');
SELECT count(*) FROM ty_special;
SELECT d, ts FROM ty_special;
-- Arrow counts microseconds from 1970, PostgreSQL from 2000: the last 30 years of PostgreSQL's
-- range do not fit.
SELECT tz FROM ty_special;
-- A RANGE frame with an offset adds it to its ORDER BY key: a date or timestamp key refuses
-- infinities at run time (finite keys are exact: the semantics suite).
SELECT id, count(*) OVER (ORDER BY d RANGE BETWEEN '1 day' PRECEDING AND CURRENT ROW) FROM ty_special;
SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN CURRENT ROW AND '1 hour' FOLLOWING) FROM ty_special;
SELECT id, count(*) OVER (ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM ty_special;
-- So does a key whose bound leaves the calendar Arrow's date arithmetic covers (after
-- 262142 AD), where it would give other frames than PostgreSQL's.
CREATE TABLE ty_far (id int, d date, ts timestamp);
INSERT INTO ty_far VALUES (1, '270000-01-01', '270000-01-01'), (2, '270000-01-05', '270000-01-05'),
    (3, '2020-01-01', '2020-01-01'), (4, '2020-01-02', '2020-01-02 00:30');
SELECT id, count(*) OVER (ORDER BY d RANGE BETWEEN CURRENT ROW AND '1 day' FOLLOWING) FROM ty_far;
SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN '1 hour' PRECEDING AND '1 hour' FOLLOWING) FROM ty_far;
SELECT id, count(*) OVER (ORDER BY d DESC RANGE BETWEEN '1 day' PRECEDING AND CURRENT ROW) FROM ty_far
WHERE id >= 3 ORDER BY id;
SELECT id, count(*) OVER (ORDER BY ts RANGE BETWEEN '1 hour' PRECEDING AND '1 hour' FOLLOWING) FROM ty_far
WHERE id >= 3 ORDER BY id;
SELECT id, count(*) OVER (ORDER BY d RANGE BETWEEN '100000000 days' PRECEDING AND CURRENT ROW) FROM ty_far
WHERE id >= 3;
DROP TABLE ty_far;
SELECT n FROM ty_special;
-- numeric without a scale: carried as its bytes in the select list, summed at 20 decimals
-- (the semantics suite); a value that does not fit that shape (NaN, 19 integer digits, 21
-- decimals) fails at run time rather than round.
SELECT bare FROM ty_special;
SELECT sum(bare), avg(bare) FROM ty_special;
INSERT INTO ty_special (id, bare) VALUES (2, 'NaN');
SELECT sum(bare) FROM ty_special;
UPDATE ty_special SET bare = 1234567890123456789 WHERE id = 2;
SELECT sum(bare) FROM ty_special;
UPDATE ty_special SET bare = 0.123456789012345678901 WHERE id = 2;
SELECT avg(bare) FROM ty_special;
-- Only the rows a FILTER passes cross.
SELECT sum(bare) FILTER (WHERE id <> 2), count(bare) FILTER (WHERE id = 2) FROM ty_special;
-- Compared with a bigint (a numeric of 19 digits) or a wider scale: not by DataFusion (it could
-- fail at run time on wide values) but by PostgreSQL, on the node, the count by its Agg node.
SELECT count(*) FROM ty_special a JOIN ty_special b ON a.bare = b.id::bigint;
SELECT count(*) FROM ty_special a JOIN ty_special b ON a.bare < b.bare::numeric(30,25);
-- A volatile argument would be evaluated twice (value and display scale) by DataFusion:
-- PostgreSQL's Agg node evaluates it, once per row.
SELECT count(bare * random()::numeric), sum(bare * random()::numeric) < 1e30 FROM ty_special;
-- A sum past 18 integer digits: numeric field overflow (22003), never a wrapped value.
UPDATE ty_special SET bare = 900000000000000000 WHERE id = 2;
INSERT INTO ty_special (id, bare) VALUES (3, 900000000000000000);
SELECT sum(bare) FROM ty_special;
DELETE FROM ty_special WHERE id IN (2, 3);
SELECT sum(f4) FROM ty_special;
SELECT iv, count(*) FROM ty GROUP BY iv ORDER BY iv;
SELECT min(iv) FROM ty;
SELECT f8, count(*) FROM ty GROUP BY f8 ORDER BY f8;
\set VERBOSITY default
DROP TABLE ty_special;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
\! rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out
DROP TABLE ty;
