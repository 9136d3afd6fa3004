-- Text under the collations users' databases have, in PostgreSQL's exact order (the oracle pass
-- runs this suite with pg_fusion off against the same expected output). Collations whose order
-- is the bytes' (C, POSIX, libc's C.UTF-8) are ordered by DataFusion everywhere; under the
-- others (libc's en_US.UTF-8 here) PostgreSQL sorts the result above the node, and what only
-- DataFusion could order (window ORDER BY, min/max, comparisons between tables) falls back.
-- Needs the operating system's en_US.UTF-8 locale (scripts/test.sh makes it; without it this
-- suite is skipped: expected/collations_1.out).
SELECT NOT EXISTS (SELECT FROM pg_collation WHERE collname = 'en_US.utf8') AS skip_en \gset
\if :skip_en
\quit
\endif
CREATE TABLE coll_t (id int, c text COLLATE "C", u text COLLATE "C.utf8", e text COLLATE "en_US.utf8",
                     b char(3) COLLATE "en_US.utf8", n numeric(10,2), iv interval);
CREATE TABLE coll_words (w text);
INSERT INTO coll_words VALUES ('a'), ('A'), ('b'), ('B'), ('ab'), ('a b'), ('a-b'), ('aB'), (''),
    ('ä'), ('Ä'), ('z'), ('Z'), ('é'), ('e'), ('f'), ('10'), ('9'), ('_x'), ('Ω'), ('ω'), ('𝔸'),
    ('日本'), ('ß'), ('ss'), ('co-op'), ('coop'), ('x y'), ('xy'), (' lead');
INSERT INTO coll_t
SELECT i, w, w, w, left(w, 3), (i % 13) * 1.5, make_interval(days => i % 9, hours => i % 5)
FROM generate_series(1, 600) i JOIN (SELECT w, row_number() OVER (ORDER BY w COLLATE "C") - 1 AS k FROM coll_words) x
  ON x.k = i % 30;
INSERT INTO coll_t VALUES (601, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE coll_r (e text COLLATE "en_US.utf8", u text COLLATE "C.utf8", tag int);
INSERT INTO coll_r SELECT w, w, length(w) FROM coll_words;
ANALYZE coll_t, coll_r, coll_words;
SET pg_fusion.enable = on;

-- C.UTF-8 sorts by code point: DataFusion orders, groups, compares and takes min/max.
SELECT u, count(*) FROM coll_t GROUP BY u ORDER BY u;
SELECT u FROM coll_t ORDER BY u DESC NULLS LAST, id LIMIT 5;
SELECT min(u), max(u), min(c), max(c) FROM coll_t;
SELECT DISTINCT u FROM coll_t WHERE u > 'a' ORDER BY u;
SELECT id, u, rank() OVER (ORDER BY u) FROM coll_t WHERE id <= 12 ORDER BY u, id;
SELECT count(*) FROM coll_t t JOIN coll_r r ON r.tag = length(t.u) WHERE t.u < r.u;

-- en_US.UTF-8: PostgreSQL sorts the result (with LIMIT and OFFSET: a bounded sort).
SELECT e, count(*) FROM coll_t GROUP BY e ORDER BY e;
SELECT e, count(*) FROM coll_t GROUP BY e ORDER BY e DESC NULLS LAST;
SELECT id, e FROM coll_t WHERE id BETWEEN 100 AND 160 ORDER BY e, id LIMIT 7 OFFSET 3;
SELECT DISTINCT e FROM coll_t ORDER BY e NULLS FIRST LIMIT 10;
SELECT b, sum(n) FROM coll_t GROUP BY b ORDER BY b;
SELECT c, e FROM coll_t WHERE id <= 30 ORDER BY c COLLATE "en_US.utf8", e COLLATE "C";
SELECT t.e, r.tag FROM coll_t t JOIN coll_r r ON r.e = t.e WHERE t.id <= 40 ORDER BY t.e, t.id;
SELECT e FROM coll_t WHERE id <= 30 UNION SELECT e FROM coll_r ORDER BY 1;
SELECT upper(e) AS ue, count(*) FROM coll_t GROUP BY upper(e) ORDER BY ue LIMIT 8;
-- An ORDER BY key computed above DataFusion, and types DataFusion does not order.
SELECT e, sum(n) * 2 AS s FROM coll_t GROUP BY e ORDER BY sum(n) * 2 DESC, e LIMIT 5;
SELECT id, iv FROM coll_t WHERE id <= 40 ORDER BY iv DESC, id LIMIT 4;
-- LIMIT and OFFSET as parameters (read by PostgreSQL's Limit at run time), and a cursor.
PREPARE coll_p(bigint, int) AS SELECT e FROM coll_t WHERE e IS NOT NULL GROUP BY e ORDER BY e LIMIT $1 OFFSET $2;
EXECUTE coll_p(3, 2);
SET plan_cache_mode = force_generic_plan;
EXECUTE coll_p(2, 0);
EXECUTE coll_p(NULL, 27);
EXECUTE coll_p(-1, 0);
RESET plan_cache_mode;
DEALLOCATE coll_p;
PREPARE coll_q(int) AS SELECT u, count(*) FROM coll_t GROUP BY u ORDER BY u LIMIT $1;
EXECUTE coll_q(2);
DEALLOCATE coll_q;
BEGIN;
DECLARE coll_c CURSOR FOR SELECT e, count(*) FROM coll_t WHERE e IS NOT NULL GROUP BY e ORDER BY e;
FETCH 3 FROM coll_c;
FETCH 2 FROM coll_c;
COMMIT;
-- In a subquery the order is DataFusion's to keep: under en_US.UTF-8 it falls back.
SET pg_fusion.on_unsupported = fallback;
SELECT * FROM (SELECT e FROM coll_t ORDER BY e LIMIT 3) s ORDER BY 1;
SELECT min(e), max(e) FROM coll_t;
SELECT id, rank() OVER (ORDER BY e) FROM coll_t WHERE id <= 10 ORDER BY id;
SELECT count(*) FROM coll_t t JOIN coll_r r ON r.tag = length(t.e) WHERE t.e < r.e;
RESET pg_fusion.on_unsupported;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
DROP TABLE coll_t, coll_r, coll_words;

-- A SQL_ASCII database takes any locale (en_US.UTF-8 here): its text crosses as bytes, which
-- DataFusion groups and joins by (a deterministic collation) but orders only under C; PostgreSQL
-- sorts above the node, and what only DataFusion could order falls back.
CREATE DATABASE pgf_coll_sql_ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'en_US.utf8';
\c pgf_coll_sql_ascii
CREATE EXTENSION pg_fusion;
CREATE TABLE coll_w (k text, n int);
INSERT INTO coll_w VALUES ('a', 1), ('B', 2), ('b', 3), ('A', 4), ('é', 5), ('e', 6), ('f', 7), (NULL, 8),
    ('a b', 9), ('ab', 10), ('a-b', 11), ('_x', 12), ('é', 13);
SET pg_fusion.enable = on;
SELECT k, count(*) FROM coll_w GROUP BY k ORDER BY k;
SELECT a.k, b.n FROM coll_w a JOIN coll_w b ON a.k = b.k ORDER BY a.k DESC, b.n;
SELECT DISTINCT k FROM coll_w ORDER BY k NULLS FIRST LIMIT 6;
SET pg_fusion.on_unsupported = fallback;
SELECT min(k), max(k) FROM coll_w;
SELECT n, rank() OVER (ORDER BY k) FROM coll_w ORDER BY n;
SELECT count(*) FROM coll_w a JOIN coll_w b ON a.n = b.n + 1 WHERE a.k < b.k;
RESET pg_fusion.on_unsupported;
\c regression
DROP DATABASE pgf_coll_sql_ascii;
