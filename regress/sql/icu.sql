-- ICU collations (a build without ICU skips this suite: expected/icu_1.out). DataFusion orders
-- text only under byte-order collations: under ICU the whole query's ORDER BY is PostgreSQL's
-- Sort above the node, a comparison between tables is PostgreSQL's (on the node, the count by its
-- Agg node), and a nondeterministic collation is refused, never wrong.
SELECT NOT EXISTS (SELECT FROM pg_collation WHERE collname = 'und-x-icu') AS skip_icu \gset
\if :skip_icu
\quit
\endif
CREATE TABLE icu_a (id int, t text COLLATE "C");
CREATE TABLE icu_b (id int, region text COLLATE "C");
INSERT INTO icu_a SELECT i, 'v' || i FROM generate_series(1, 1000) i;
INSERT INTO icu_b SELECT i, 'r' || (i % 4) FROM generate_series(1, 300) i;
ANALYZE icu_a, icu_b;
SET pg_fusion.enable = on;

SELECT t FROM icu_a ORDER BY t COLLATE "und-x-icu" LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*), min(a.t) FROM icu_a a JOIN icu_b b ON b.id = a.id WHERE a.t > b.region COLLATE "und-x-icu";
\echo :LAST_ERROR_SQLSTATE

-- Collations in DISTINCT and min/max.
CREATE COLLATION icu_nd (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE icu_t (id int, t text COLLATE "C", tn text COLLATE icu_nd);
INSERT INTO icu_t VALUES (1, 'abc', 'abc'), (2, 'ABC', 'ABC'), (3, 'b', 'b'), (4, 'B', 'B');
ANALYZE icu_t;
SELECT count(DISTINCT t), min(t), max(t) FROM icu_t;
SET pg_fusion.on_unsupported = fallback;
SELECT count(DISTINCT tn) FROM icu_t;
SELECT tn, count(*) FROM icu_t GROUP BY tn ORDER BY 2, tn::text COLLATE "C";
RESET pg_fusion.on_unsupported;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
DROP TABLE icu_a, icu_b, icu_t;
DROP COLLATION icu_nd;
