-- The end-to-end query path: every query runs with pg_fusion off and on, and the two results
-- must be identical (the `same` helper prints "match", or the diff). Text ordering happens only
-- under the C collation, so text columns here are COLLATE "C".
CREATE TABLE fq (
    id int PRIMARY KEY,
    i2 smallint,
    i8 bigint,
    n numeric(12,2),
    f8 float8,
    t text COLLATE "C",
    v varchar(20) COLLATE "C",
    bp char(4) COLLATE "C",
    d date,
    ts timestamp,
    tz timestamptz,
    u uuid,
    by bytea,
    b boolean
);
INSERT INTO fq
SELECT i,
       CASE WHEN i % 11 = 0 THEN NULL ELSE (i % 300)::smallint END,
       CASE WHEN i % 13 = 0 THEN NULL ELSE i::bigint * 1000003 END,
       CASE WHEN i % 17 = 0 THEN NULL ELSE round((i * 7.31) % 10000, 2) END,
       CASE WHEN i % 19 = 0 THEN NULL ELSE (i % 1000) / 4.0 END,
       CASE WHEN i % 23 = 0 THEN NULL ELSE 'text value number ' || (i % 37) END,
       CASE WHEN i % 29 = 0 THEN NULL ELSE 'v' || (i % 5) END,
       CASE WHEN i % 31 = 0 THEN NULL ELSE 'c' || (i % 3) END,
       CASE WHEN i % 37 = 0 THEN NULL ELSE date '2000-01-01' + (i % 4000) END,
       CASE WHEN i % 41 = 0 THEN NULL ELSE timestamp '1999-12-31 12:00' + i * interval '37 minutes' END,
       CASE WHEN i % 43 = 0 THEN NULL ELSE timestamptz '2020-03-01 00:00+00' + i * interval '1 hour' END,
       CASE WHEN i % 47 = 0 THEN NULL ELSE md5(i::text)::uuid END,
       CASE WHEN i % 53 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
       CASE WHEN i % 59 = 0 THEN NULL ELSE i % 2 = 0 END
FROM generate_series(1, 20000) i;
ANALYZE fq;

\set same '\\! cmp -s /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out && echo match || diff /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out; rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out'

\set q 'SELECT count(*) FROM fq'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT * FROM fq WHERE id % 97 = 1 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT id, i8 * 2 AS x, n + 1 AS y, t || ''!'' AS z, coalesce(v, bp) AS w, CASE WHEN b THEN 1 ELSE 0 END AS c FROM fq WHERE n BETWEEN 100 AND 200 AND t LIKE ''%1%'' ORDER BY id LIMIT 50 OFFSET 5'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT v, count(*), count(n), sum(i2), sum(i8), sum(n), avg(i2), avg(i8), avg(n), min(t), max(t), min(d), max(ts), min(tz), max(n) FROM fq GROUP BY v ORDER BY v NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT bp, d IS NULL AS dn, count(DISTINCT v), sum(n) FILTER (WHERE b), count(*) FILTER (WHERE i2 > 100), sum(n * 2), sum(n * n) FROM fq GROUP BY bp, d IS NULL ORDER BY bp DESC NULLS LAST, dn'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- An argument PostgreSQL evaluates only where the FILTER passes: no division by zero on the
-- rows it excludes (the scan computes CASE WHEN filter THEN argument END).
\set q 'SELECT bp, sum(i8 / (i2 % 7)) FILTER (WHERE i2 % 7 <> 0), sum(n + 100 / (id % 5)) FILTER (WHERE id % 5 > 0), string_agg((100 / (id % 3))::text, '','' ORDER BY id) FILTER (WHERE id % 3 <> 0 AND id < 60) FROM fq GROUP BY bp ORDER BY 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT t, count(*) AS c FROM fq GROUP BY t HAVING count(*) > 530 ORDER BY c DESC, t LIMIT 5'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT t, sum(n) FROM fq GROUP BY t HAVING sum(n) > 2700000 ORDER BY t'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- bool_and / every / bool_or (DISTINCT and FILTER too): NULLs ignored, NULL over no values.
\set q 'SELECT bp, bool_and(b), every(i2 > 10), bool_or(b) FILTER (WHERE id % 7 = 0), bool_or(DISTINCT n > 9990) FROM fq GROUP BY bp ORDER BY 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT bool_and(b), bool_or(b) FROM fq WHERE id < 0'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- string_agg(text, delimiter ORDER BY ...): the values in the order asked for, NULLs skipped.
\set q 'SELECT bp, string_agg(t, '','' ORDER BY t DESC NULLS LAST, id), string_agg(v, ''|'' ORDER BY t DESC NULLS LAST, id) FILTER (WHERE id % 100 = 0) FROM fq WHERE id < 400 GROUP BY bp ORDER BY 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT string_agg(t, '', '' ORDER BY t) FROM fq WHERE id < 0'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- var_samp, var_pop, stddev_samp, stddev_pop (variance, stddev) of numeric and integer values:
-- exact, digit for digit at PostgreSQL's display scale (which depends on the values); NULL over
-- no rows and, for the sample forms, over one; 0 when every value is equal.
SET pg_fusion.enable = on;
SELECT variance(n), var_pop(n), stddev(n), stddev_pop(n), var_samp(id), stddev(id) FROM fq WHERE id <= 3;
\set q 'SELECT bp, variance(n), var_pop(n), stddev(n), stddev_pop(n), var_samp(i2), stddev_samp(i8), var_pop(id) FILTER (WHERE id % 7 = 0), stddev(n * n) FROM fq GROUP BY bp ORDER BY 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT i2 % 5, var_samp(n), stddev_pop(n) FROM fq WHERE id < 2000 GROUP BY ROLLUP (i2 % 5) ORDER BY GROUPING(i2 % 5), 1 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT variance(n), stddev_pop(i2), var_samp(n) FILTER (WHERE id = 5), var_pop(n) FILTER (WHERE id = 5), variance(n) FILTER (WHERE id IN (10, 20) AND false IS NOT TRUE AND n = 73.10) FROM fq WHERE id <= 20'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT variance(n), stddev(i8), var_pop(i2) FROM fq WHERE id < 0'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- GROUPING SETS, ROLLUP, CUBE and GROUPING(): DataFusion's grouping sets, expanded as PostgreSQL
-- expands them (a set repeated is grouped twice; GROUP BY DISTINCT drops repeats). A key outside
-- a row's set is NULL; an empty input still has its grand total.
\set q 'SELECT t, bp, count(*), sum(n), GROUPING(t, bp) FROM fq GROUP BY ROLLUP (t, bp) ORDER BY 5, 1 NULLS FIRST, 2 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT bp, b, count(*), max(d), GROUPING(bp), GROUPING(b) FROM fq GROUP BY CUBE (bp, b) ORDER BY 5, 6, 1 NULLS FIRST, 2 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT i2 % 3 AS m, bp, count(*), GROUPING(i2 % 3, bp) AS g FROM fq GROUP BY GROUPING SETS ((i2 % 3), (bp), ()) HAVING count(*) > 10 ORDER BY g, 1 NULLS FIRST, 2 NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT bp, count(*) FROM fq GROUP BY bp, ROLLUP (bp) ORDER BY 1 NULLS FIRST, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT bp, count(*) FROM fq GROUP BY DISTINCT bp, ROLLUP (bp) ORDER BY 1 NULLS FIRST, 2'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT bp, count(*), sum(n) FROM fq WHERE id < 0 GROUP BY ROLLUP (bp)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Window functions in DataFusion: over the rows without GROUP BY, over the groups (after HAVING)
-- with it. Default frames, ROWS and GROUPS frames with constant offsets, RANGE frames (offsets:
-- below).
\set q 'SELECT id, t, row_number() OVER (PARTITION BY t ORDER BY id), rank() OVER (ORDER BY i2 NULLS FIRST), dense_rank() OVER (PARTITION BY bp ORDER BY i2 DESC) FROM fq WHERE id < 300 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id, sum(n) OVER (PARTITION BY bp ORDER BY id), count(*) OVER (PARTITION BY bp), count(t) OVER w, min(d) OVER (ORDER BY id ROWS BETWEEN 2 PRECEDING AND 1 FOLLOWING), max(t) OVER (PARTITION BY bp ORDER BY id ROWS UNBOUNDED PRECEDING), sum(i2) OVER (ORDER BY i2 RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) FROM fq WHERE id < 200 WINDOW w AS (ORDER BY i2) ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id, percent_rank() OVER (ORDER BY i2), cume_dist() OVER (PARTITION BY bp ORDER BY i2), ntile(4) OVER (ORDER BY id), ntile(3) OVER (PARTITION BY b ORDER BY id) FROM fq WHERE id < 100 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT t, count(*), sum(n), rank() OVER (ORDER BY count(*) DESC, t), sum(sum(n)) OVER (ORDER BY t), row_number() OVER (PARTITION BY count(*) ORDER BY t) FROM fq GROUP BY t HAVING count(*) > 500 ORDER BY t NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id, lag(n) OVER w, lead(t, 2) OVER w, lag(d, 0) OVER w, first_value(i2) OVER w, last_value(v) OVER (PARTITION BY bp ORDER BY id ROWS BETWEEN CURRENT ROW AND 3 FOLLOWING), nth_value(id, 2) OVER (PARTITION BY bp ORDER BY id), avg(n) OVER (PARTITION BY bp ORDER BY id ROWS 2 PRECEDING), avg(i2) OVER (PARTITION BY bp), avg(f8) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING), NULL::int8 AS x FROM fq WHERE id < 150 WINDOW w AS (PARTITION BY b ORDER BY id) ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT t, avg(sum(n)) OVER (ORDER BY t ROWS 1 PRECEDING), lag(count(*)) OVER (ORDER BY t) FROM fq GROUP BY t ORDER BY t NULLS FIRST'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- lag/lead with a constant default: integers (also widened to a common type), booleans, dates,
-- text; NULL values inside the partition stay NULL, only rows beyond its edge get the default.
\set q 'SELECT id, lag(id, 1, 0) OVER w, lead(i2, 2, -1) OVER w, lag(i2, 1, 10000000000) OVER w, lead(b, 1, true) OVER w, lag(d, 3, DATE ''2000-01-01'') OVER w, lead(t, 1, ''(none)'') OVER w, lag(v, 2, ''-'') OVER w FROM fq WHERE id < 120 WINDOW w AS (PARTITION BY bp ORDER BY id) ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- GROUPS frames: offsets count peer groups (rows equal in the ORDER BY keys, NULLs one group).
\set q 'SELECT id, sum(id) OVER (ORDER BY i2 GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW), count(*) OVER (PARTITION BY bp ORDER BY i2 NULLS FIRST GROUPS BETWEEN CURRENT ROW AND 2 FOLLOWING), min(id) OVER (ORDER BY i2 DESC, t GROUPS 2 PRECEDING), max(id) OVER (ORDER BY f8 GROUPS BETWEEN UNBOUNDED PRECEDING AND 1 FOLLOWING), count(t) OVER (ORDER BY bp GROUPS BETWEEN 1 FOLLOWING AND 1 FOLLOWING), max(n) OVER (ORDER BY d GROUPS BETWEEN 2 FOLLOWING AND UNBOUNDED FOLLOWING) FROM fq WHERE id < 400 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- RANGE frames with offsets over one integer or numeric key: rows whose key is within the
-- offset of the current row's, ascending or descending; NULL keys are each other's peers; a
-- bound past the type's range reaches the partition's edge.
\set q 'SELECT id, sum(id) OVER (ORDER BY i2 RANGE BETWEEN 3 PRECEDING AND CURRENT ROW), count(*) OVER (PARTITION BY bp ORDER BY i2 DESC NULLS LAST RANGE BETWEEN 2 PRECEDING AND 5 FOLLOWING), max(id) OVER (ORDER BY n RANGE BETWEEN 10.5 PRECEDING AND 0.25 FOLLOWING), min(n) OVER (ORDER BY i8 RANGE BETWEEN CURRENT ROW AND 3000009 FOLLOWING), count(n) OVER (ORDER BY i2 NULLS FIRST RANGE BETWEEN 1 FOLLOWING AND 32767 FOLLOWING), sum(i2) OVER (ORDER BY id::smallint DESC RANGE BETWEEN 32767 PRECEDING AND 2 PRECEDING) FROM fq WHERE id < 400 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- RANGE frames with an interval offset over a date key (whole days), a timestamp key (days and
-- time) or a timestamptz key (time only).
\set q 'SELECT id, count(*) OVER (ORDER BY d RANGE BETWEEN interval ''3 days'' PRECEDING AND CURRENT ROW), sum(id) OVER (PARTITION BY bp ORDER BY d DESC NULLS FIRST RANGE BETWEEN interval ''1 day'' PRECEDING AND interval ''2 days'' FOLLOWING), max(id) OVER (ORDER BY ts RANGE BETWEEN interval ''1 day 6 hours'' PRECEDING AND CURRENT ROW), min(id) OVER (ORDER BY tz RANGE BETWEEN CURRENT ROW AND interval ''90 minutes'' FOLLOWING) FROM fq WHERE id < 400 ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT id, count(*) OVER (ORDER BY d RANGE BETWEEN interval ''2 days'' PRECEDING AND interval ''1 day'' FOLLOWING), sum(i2) OVER (PARTITION BY bp ORDER BY ts DESC RANGE BETWEEN interval ''2 hours'' PRECEDING AND interval ''30 minutes'' PRECEDING) FROM fq ORDER BY id'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- What DataFusion does not compute as PostgreSQL does is PostgreSQL's WindowAgg above the node:
-- lag/lead with a default of another type (numeric keeps its own display scale, char(n),
-- floats, ...) or a column offset, EXCLUDE frames, RANGE with an offset over a float key, an
-- interval with months (or with days over timestamptz, or a time part over a date), or an
-- offset finer than a numeric key's scale.
SELECT lag(n, 1, 0) OVER (ORDER BY id) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT lag(bp, 1, 'x') OVER (ORDER BY id) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT lag(id, 1, i2) OVER (ORDER BY id) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT lead(id, i2) OVER (ORDER BY id) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(id) OVER (ORDER BY f8 RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(id) OVER (ORDER BY d RANGE BETWEEN interval '1 month' PRECEDING AND CURRENT ROW) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(id) OVER (ORDER BY tz RANGE BETWEEN interval '1 day' PRECEDING AND CURRENT ROW) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(id) OVER (ORDER BY d RANGE BETWEEN interval '12 hours' PRECEDING AND CURRENT ROW) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT sum(id) OVER (ORDER BY n RANGE BETWEEN 0.001 PRECEDING AND CURRENT ROW) FROM fq LIMIT 1;
\echo :LAST_ERROR_SQLSTATE

-- HAVING comparing numerics or dates (sums, min/max, keys, constants) runs in DataFusion, so a
-- LIMIT may follow.
\set q 'SELECT t, sum(n) FROM fq GROUP BY t HAVING sum(n) > 2700000.5 AND min(n) <> 3 ORDER BY t LIMIT 3'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT d, count(*), max(n) FROM fq GROUP BY d HAVING d >= DATE ''2001-01-01'' AND max(n) >= 100.5 ORDER BY d DESC LIMIT 5'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT extract(year FROM d) AS y, extract(month FROM ts) AS m, extract(dow FROM tz) AS w, count(*), sum(extract(doy FROM d)) FROM fq GROUP BY 1, 2, 3 ORDER BY 1, 2, 3'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- extract of a field with fractions (seconds, epoch) has no scale known at plan time: summed as
-- a numeric without a scale (each value at 20 decimals with its display scale).
\set q 'SELECT sum(extract(second FROM ts)), avg(extract(epoch FROM ts)), sum(extract(epoch FROM tz)) FROM fq'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- sum/avg of a numeric CASE whose branches have different scales: PostgreSQL's sum takes the
-- largest display scale among the values summed (so a group where only the ELSE 0 branch ran
-- shows no decimals); DataFusion sums at the largest scale and carries each group's largest
-- display scale, and PostgreSQL rounds to it on the node.
\set q 'SELECT i2 % 3 AS g, sum(CASE WHEN id % 5 = 0 THEN n * 2.5 WHEN id % 7 = 0 THEN n ELSE 0 END), avg(CASE WHEN t < ''m'' THEN n END), sum(CASE WHEN i2 % 3 = 1 THEN n * n ELSE 1 END) FILTER (WHERE id > 10), sum(CASE WHEN id < 0 THEN n * n ELSE 0 END) FROM fq GROUP BY 1 ORDER BY 1'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
-- As a select-list value each value keeps its own scale: PostgreSQL computes it in the scan and
-- it crosses as its bytes (carried); as a GROUP BY key PostgreSQL's Agg node groups it above the
-- node (by its equality: 1.0 = 1.00).
SELECT CASE WHEN id % 5 = 0 THEN n * 2.5 ELSE 0 END FROM fq ORDER BY id LIMIT 1;
SELECT CASE WHEN id % 5 = 0 THEN n * 2.5 ELSE 0 END AS c, count(*) FROM fq WHERE id < 40 GROUP BY 1 ORDER BY 1;

\set q 'SELECT DISTINCT v, bp FROM fq ORDER BY v, bp'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

\set q 'SELECT count(*), sum(id), count(u), count(by) FROM fq WHERE u IS NOT NULL AND by IS NOT NULL AND id IN (1, 5, 77, 1000)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Empty input: one row of aggregates, no groups.
\set q 'SELECT count(*), sum(n), avg(i8), min(t) FROM fq WHERE id < 0'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- Large plans: a HAVING of 1500 OR terms makes a plan far larger than the control ring; it
-- travels through pages (control_paged_messages_total counts it), and so does the executed plan
-- EXPLAIN ANALYZE sends back. The same aggregate written 1500 times is computed once.
SELECT value AS paged_before FROM pg_fusion_metrics() WHERE metric = 'control_paged_messages_total' \gset
\set ors `seq 1 1500 | sed 's/.*/count(*) = &/' | paste -sd'|' | sed 's/|/ OR /g'`
\set q 'SELECT v, count(*) FROM fq GROUP BY v HAVING :ors ORDER BY v'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\o /dev/null
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) :q;
\o
SELECT value - :paged_before AS paged_messages FROM pg_fusion_metrics() WHERE metric = 'control_paged_messages_total';

-- Prepared statements: six executions, so the generic plan runs too.
SET pg_fusion.enable = on;
PREPARE p(int, text) AS SELECT count(*), sum(n) FROM fq WHERE id > $1 AND v = $2;
EXECUTE p(100, 'v1');
EXECUTE p(200, 'v1');
EXECUTE p(300, 'v2');
EXECUTE p(400, 'v2');
EXECUTE p(500, 'v3');
EXECUTE p(600, 'v3');
SET pg_fusion.enable = off;
EXECUTE p(600, 'v3');
DEALLOCATE p;

-- count() of a NOT NULL column counts rows (the column does not cross); on the nullable side of
-- an outer join it still counts the matched rows only; after DROP NOT NULL it counts values again.
CREATE TABLE nn (id int NOT NULL, k int NOT NULL, v text);
INSERT INTO nn SELECT i, i % 4, CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' END FROM generate_series(1, 400) i;
ANALYZE nn;
\set q 'SELECT k, count(id), count(v), count(id) FILTER (WHERE id > 100), count(DISTINCT id) FROM nn GROUP BY k ORDER BY k'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
\set q 'SELECT a.k, count(b.id), count(a.id) FROM nn a LEFT JOIN nn b ON a.id = b.k AND b.id < 9 GROUP BY a.k ORDER BY a.k'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
PREPARE c AS SELECT count(k) FROM nn;
EXECUTE c;
ALTER TABLE nn ALTER COLUMN k DROP NOT NULL;
UPDATE nn SET k = NULL WHERE id <= 10;
EXECUTE c;
DEALLOCATE c;
DROP TABLE nn;

-- Errors, refusals, EXPLAIN, types, permissions and cancel have their own suites.

-- Fallback: PostgreSQL's own plan, no error.
SET pg_fusion.on_unsupported = fallback;
SELECT count(*) FROM fq a JOIN fq b ON a.f8 = b.f8;
RESET pg_fusion.on_unsupported;

-- Catalog queries and pg_fusion's own functions run natively.
SELECT count(*) > 0 FROM pg_class;

-- Every page is back after all of the above.
SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
\! rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out
DROP TABLE fq;
