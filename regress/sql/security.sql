-- Security: with pg_fusion on, every statement gives exactly PostgreSQL's rows or PostgreSQL's
-- error. expected/security.out is PostgreSQL's own output: scripts/regress-temp.sh also runs
-- this file with the next line switched to `off` against the same expected file.
SET pg_fusion.enable = on;
SET client_min_messages = notice;
\set VERBOSITY terse
CREATE ROLE sec_alice;
CREATE ROLE sec_owner;
CREATE ROLE sec_eve;
CREATE TABLE sec_emp (id int, dept text COLLATE "C", salary numeric(10,2));
INSERT INTO sec_emp SELECT i, 'd' || (i % 4), i * 10 FROM generate_series(1, 200) i;
CREATE TABLE sec_dept (dept text COLLATE "C", region int);
INSERT INTO sec_dept VALUES ('d0', 1), ('d1', 2), ('d2', 3), ('d3', 4), ('d9', 5);
ANALYZE sec_emp, sec_dept;
GRANT SELECT ON sec_emp, sec_dept TO sec_alice;
CREATE VIEW sec_v_inv WITH (security_invoker) AS SELECT dept, count(*) AS n FROM sec_emp GROUP BY dept;
CREATE VIEW sec_v_plain AS SELECT id, dept, salary FROM sec_emp;

-- Views without GRANT, in every position: alice may read the tables, not the views.
SET ROLE sec_alice;
SELECT * FROM sec_v_inv ORDER BY dept;
SELECT count(*) FROM sec_v_plain;
SELECT count(*), sum(v.salary) FROM sec_dept d JOIN sec_v_plain v ON d.dept = v.dept;
SELECT count(*) FROM sec_dept WHERE dept IN (SELECT dept FROM sec_v_plain);
SELECT count(*) FROM sec_dept WHERE dept IN (SELECT dept FROM sec_v_inv);
SELECT count(*) FROM sec_dept d WHERE EXISTS (SELECT 1 FROM sec_v_plain v WHERE v.dept = d.dept);
SELECT count(*) FROM sec_dept d WHERE NOT EXISTS (SELECT 1 FROM sec_v_plain v WHERE v.dept = d.dept);
SELECT count(*) FROM sec_emp WHERE salary > (SELECT avg(salary) FROM sec_v_plain);
WITH w AS (SELECT * FROM sec_v_inv) SELECT count(*) FROM w;
WITH w AS (SELECT dept, sum(salary) AS s FROM sec_v_plain GROUP BY dept) SELECT count(*) FROM w;
-- A leaf that never starts is checked too.
SELECT count(*) FROM (SELECT * FROM sec_dept LIMIT 0) d JOIN sec_v_plain v ON d.dept = v.dept;
EXPLAIN (COSTS OFF) SELECT count(*) FROM sec_v_plain;
RESET ROLE;

-- With the GRANT, the same statements read the views.
GRANT SELECT ON sec_v_inv, sec_v_plain TO sec_alice;
SET ROLE sec_alice;
SELECT * FROM sec_v_inv ORDER BY dept;
SELECT count(*) FROM sec_v_plain;
SELECT count(*), sum(v.salary) FROM sec_dept d JOIN sec_v_plain v ON d.dept = v.dept;
SELECT count(*) FROM sec_dept WHERE dept IN (SELECT dept FROM sec_v_plain);
SELECT count(*) FROM sec_dept WHERE dept IN (SELECT dept FROM sec_v_inv);
SELECT count(*) FROM sec_dept d WHERE EXISTS (SELECT 1 FROM sec_v_plain v WHERE v.dept = d.dept);
SELECT count(*) FROM sec_dept d WHERE NOT EXISTS (SELECT 1 FROM sec_v_plain v WHERE v.dept = d.dept);
SELECT count(*) FROM sec_emp WHERE salary > (SELECT avg(salary) FROM sec_v_plain);
WITH w AS (SELECT * FROM sec_v_inv) SELECT count(*) FROM w;
WITH w AS (SELECT dept, sum(salary) AS s FROM sec_v_plain GROUP BY dept) SELECT count(*) FROM w;
RESET ROLE;

-- A security_invoker view reads its tables with the caller's rights: without a GRANT on the
-- table, the caller may not, even through a view it may read.
REVOKE SELECT ON sec_emp FROM sec_alice;
SET ROLE sec_alice;
SELECT * FROM sec_v_inv ORDER BY dept;
SELECT count(*) FROM sec_dept WHERE dept IN (SELECT dept FROM sec_v_inv);
-- An ordinary view reads them with its owner's rights.
SELECT count(*), sum(salary) FROM sec_v_plain;
SELECT count(*) FROM sec_dept WHERE dept IN (SELECT dept FROM sec_v_plain);
RESET ROLE;
GRANT SELECT ON sec_emp TO sec_alice;

-- Column privileges on a view: the columns the query names, no more.
CREATE VIEW sec_v_cols AS SELECT id, dept, salary FROM sec_emp;
GRANT SELECT (id, dept) ON sec_v_cols TO sec_alice;
SET ROLE sec_alice;
SELECT dept, count(*), max(id) FROM sec_v_cols GROUP BY dept ORDER BY dept;
SELECT dept, sum(salary) FROM sec_v_cols GROUP BY dept ORDER BY dept;
SELECT count(*) FROM sec_dept d WHERE EXISTS (SELECT 1 FROM sec_v_cols v WHERE v.dept = d.dept AND v.salary > 0);
RESET ROLE;

-- Another role's view over a table with row-level security: the owner's policies apply to
-- rows read through the view, the caller's to rows read directly; the two are different
-- accesses and never one shared scan.
CREATE TABLE sec_doc (id int, body text COLLATE "C");
INSERT INTO sec_doc SELECT i, 'b' || i FROM generate_series(1, 30) i;
ANALYZE sec_doc;
ALTER TABLE sec_doc ENABLE ROW LEVEL SECURITY;
CREATE POLICY doc_owner ON sec_doc FOR SELECT TO sec_owner USING (true);
CREATE POLICY doc_alice ON sec_doc FOR SELECT TO sec_alice USING (id % 3 = 0);
GRANT SELECT ON sec_doc TO sec_owner, sec_alice;
CREATE VIEW sec_doc_v AS SELECT id, body FROM sec_doc;
ALTER VIEW sec_doc_v OWNER TO sec_owner;
CREATE VIEW sec_doc_agg AS SELECT id % 5 AS k, count(*) AS n FROM sec_doc GROUP BY 1;
ALTER VIEW sec_doc_agg OWNER TO sec_owner;
GRANT SELECT ON sec_doc_v, sec_doc_agg TO sec_alice;
SET ROLE sec_alice;
SELECT count(*), sum(id) FROM sec_doc;
SELECT count(*), sum(id) FROM sec_doc_v;
SELECT * FROM sec_doc_agg ORDER BY k;
SELECT count(*) FROM sec_dept WHERE region IN (SELECT id FROM sec_doc_v);
SELECT count(*) FROM sec_dept d WHERE EXISTS (SELECT 1 FROM sec_doc_v v WHERE v.id = d.region);
SELECT count(*) FROM (SELECT id % 10 AS k, count(*) FROM sec_doc_v GROUP BY 1) s;
SELECT count(*), sum(d.id) FROM sec_doc d JOIN sec_doc_v v USING (id);
SELECT count(*) FROM sec_doc d WHERE d.id IN (SELECT id FROM sec_doc_v);
SELECT count(*) FROM sec_doc WHERE id < (SELECT count(*) FROM sec_doc_v);
SELECT count(*) FROM sec_doc_v WHERE id < (SELECT count(*) FROM sec_doc);
RESET ROLE;

-- A LATERAL item PostgreSQL runs together with the FROM items it reads (one leaf): each
-- relation with its own rights and row-level security (the view owner's through a view, the
-- caller's directly), column privileges as named, and an error where PostgreSQL errs.
CREATE VIEW sec_doc_lat AS SELECT d.dept, s.id FROM sec_dept d,
  LATERAL (SELECT id FROM sec_doc x WHERE x.id % 4 = d.region % 4 ORDER BY id DESC LIMIT 2) s;
ALTER VIEW sec_doc_lat OWNER TO sec_owner;
GRANT SELECT ON sec_dept TO sec_owner;
GRANT SELECT ON sec_doc_lat TO sec_alice, sec_eve;
SET ROLE sec_alice;
SELECT d.dept, s.id FROM sec_dept d,
  LATERAL (SELECT id FROM sec_doc x WHERE x.id % 4 = d.region % 4 ORDER BY id DESC LIMIT 2) s ORDER BY 1, 2;
SELECT * FROM sec_doc_lat ORDER BY 1, 2;
SELECT v.id, s.n FROM sec_doc_v v LEFT JOIN LATERAL (SELECT count(*) AS n FROM sec_doc x WHERE x.id < v.id) s
  ON true WHERE v.id < 8 ORDER BY 1;
SELECT v.dept, s.m FROM sec_v_cols v, LATERAL (SELECT max(v.id + x.id) AS m FROM sec_doc x LIMIT 1) s
  WHERE v.id < 4 ORDER BY 1, 2;
SELECT v.dept, s.m FROM sec_v_cols v, LATERAL (SELECT v.salary + x.id AS m FROM sec_doc x LIMIT 1) s;
SELECT d.id, g FROM sec_doc d, LATERAL generate_series(1, d.id % 4) g WHERE d.id < 10 ORDER BY 1, 2;
RESET ROLE;
SET ROLE sec_eve;
SELECT count(*) FROM sec_doc_lat;
SELECT count(*) FROM sec_dept d, LATERAL (SELECT id FROM sec_doc x WHERE x.id = d.region LIMIT 1) s;
RESET ROLE;
REVOKE SELECT ON sec_dept FROM sec_owner;
SET ROLE sec_alice;
SELECT count(*) FROM sec_doc_lat;
RESET ROLE;
DROP VIEW sec_doc_lat;
-- A cached plan follows the role: the policies depend on it.
PREPARE sec_docs AS SELECT count(*) FROM sec_doc;
SET ROLE sec_alice;
EXECUTE sec_docs;
RESET ROLE;
SET ROLE sec_owner;
EXECUTE sec_docs;
RESET ROLE;
EXECUTE sec_docs;
DEALLOCATE sec_docs;

-- Leaky functions never see rows a role may not: not below row-level security, not below a
-- security_barrier view (PostgreSQL evaluates them last there; pg_fusion computes them in the
-- leaf's plan, where PostgreSQL orders them, or refuses and runs natively).
SET pg_fusion.on_unsupported = fallback;
CREATE FUNCTION sec_leak(text) RETURNS bool LANGUAGE plpgsql COST 0.0000001
    AS $$ BEGIN RAISE NOTICE 'saw %', $1; RETURN true; END $$;
CREATE TABLE sec_card (id int, num text COLLATE "C", visible bool);
INSERT INTO sec_card SELECT i, 'n' || i, i % 10 = 0 FROM generate_series(1, 40) i;
CREATE VIEW sec_card_v WITH (security_barrier) AS SELECT id, num FROM sec_card WHERE visible;
GRANT SELECT ON sec_card_v TO sec_alice;
SET ROLE sec_alice;
SELECT count(*) FROM sec_doc WHERE sec_leak(body);
SELECT count(*) FROM sec_card_v WHERE sec_leak(num);
SELECT count(*) FROM sec_card_v WHERE num::int > 0;
SELECT count(*), max(id) FROM sec_card_v WHERE num = 'n10';
SELECT count(*) FROM sec_card_v v JOIN sec_dept d ON v.id = d.region * 10 WHERE sec_leak(v.num);
RESET ROLE;
RESET pg_fusion.on_unsupported;
-- A subquery in FROM DataFusion cannot compute (a window frame, DISTINCT ON) is PostgreSQL's own
-- leaf: row-level security, the view owner's rights and a security-barrier view's order of
-- evaluation (a leaky function never sees its hidden rows) are PostgreSQL's.
CREATE VIEW sec_card_w WITH (security_barrier) AS
  SELECT id, num, sum(id) OVER (ORDER BY id ROWS 1 PRECEDING EXCLUDE CURRENT ROW) AS s FROM sec_card WHERE visible;
CREATE VIEW sec_doc_w AS SELECT DISTINCT ON (id % 4) id % 4 AS k, id, body FROM sec_doc ORDER BY id % 4, id DESC;
ALTER VIEW sec_doc_w OWNER TO sec_owner;
GRANT SELECT ON sec_card_w, sec_doc_w TO sec_alice;
SET ROLE sec_alice;
SELECT v.id, v.s FROM sec_card_w v WHERE sec_leak(v.num) ORDER BY 1;
SELECT v.id, v.s, d.region FROM sec_card_w v LEFT JOIN sec_dept d ON v.id = d.region * 10 ORDER BY 1;
SELECT k, id, body FROM sec_doc_w ORDER BY k;
SELECT s.k, s.id, count(*) FROM (SELECT DISTINCT ON (id % 4) id % 4 AS k, id FROM sec_doc ORDER BY id % 4, id DESC) s
  JOIN sec_doc d ON d.id <= s.id GROUP BY 1, 2 ORDER BY 1;
SELECT count(*) FROM (SELECT id, lag(salary, id % 3) OVER (ORDER BY id) AS l FROM sec_v_cols) s JOIN sec_emp e USING (id);
RESET ROLE;
DROP VIEW sec_card_w, sec_doc_w;

-- A hostile schema first on the search_path. A table another role creates there after a
-- statement was prepared does not enter the cached plan (PostgreSQL keeps what it resolved, in
-- subqueries too); operators and functions it creates with signatures the statements do not
-- name never run: none of pg_fusion's own plans resolves a name.
CREATE TABLE sec_fact (id int, v int);
INSERT INTO sec_fact SELECT i, i % 7 FROM generate_series(1, 100) i;
CREATE TABLE sec_dim (id int, v int);
INSERT INTO sec_dim SELECT i, i % 5 FROM generate_series(1, 50) i;
ANALYZE sec_fact, sec_dim;
GRANT SELECT ON sec_fact, sec_dim TO sec_alice;
CREATE SCHEMA sec_eve AUTHORIZATION sec_eve;
GRANT USAGE ON SCHEMA sec_eve TO sec_alice;
SET ROLE sec_alice;
SET search_path = sec_eve, pg_catalog, public;
PREPARE sec_q AS SELECT count(*), sum(f.v) FROM sec_dim d JOIN sec_fact f ON d.id = f.id WHERE d.v >= 2;
PREPARE sec_q2 AS SELECT count(*) FROM sec_fact f WHERE f.id IN (SELECT id FROM sec_dim WHERE v >= 2);
PREPARE sec_q3 AS SELECT count(*) FROM sec_fact f
    WHERE f.v < (SELECT count(*) FROM sec_dim d WHERE d.id = f.id) + 3;
EXECUTE sec_q;
EXECUTE sec_q2;
EXECUTE sec_q3;
RESET ROLE;
SET ROLE sec_eve;
CREATE TABLE sec_eve.sec_dim (id int, v int);
INSERT INTO sec_eve.sec_dim SELECT i, 9 FROM generate_series(1, 3) i;
GRANT SELECT ON sec_eve.sec_dim TO sec_alice;
RESET ROLE;
SET ROLE sec_alice;
EXECUTE sec_q;
EXECUTE sec_q2;
EXECUTE sec_q3;
RESET ROLE;
SET ROLE sec_eve;
CREATE FUNCTION sec_eve.tidge(tid, tid) RETURNS bool LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'eve sees %', $1; RETURN $1 OPERATOR(pg_catalog.>=) $2; END $$;
CREATE OPERATOR sec_eve.>= (LEFTARG = tid, RIGHTARG = tid, FUNCTION = sec_eve.tidge);
CREATE FUNCTION sec_eve.tidlt(tid, tid) RETURNS bool LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'eve sees %', $1; RETURN $1 OPERATOR(pg_catalog.<) $2; END $$;
CREATE OPERATOR sec_eve.< (LEFTARG = tid, RIGHTARG = tid, FUNCTION = sec_eve.tidlt);
CREATE FUNCTION sec_eve.numeric_div(numeric, numeric) RETURNS numeric LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'eve sees %', $1; RETURN 0; END $$;
CREATE OPERATOR sec_eve./ (LEFTARG = numeric, RIGHTARG = numeric, FUNCTION = sec_eve.numeric_div);
CREATE FUNCTION sec_eve.numeric(bigint) RETURNS numeric LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'eve sees %', $1; RETURN 0; END $$;
CREATE FUNCTION sec_eve.round(numeric, int) RETURNS numeric LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'eve sees %', $1; RETURN 0; END $$;
CREATE FUNCTION sec_eve.scale(numeric) RETURNS int LANGUAGE plpgsql
    AS $$ BEGIN RAISE NOTICE 'eve sees %', $1; RETURN 0; END $$;
RESET ROLE;
SET ROLE sec_alice;
SELECT v, avg(id), avg(v::numeric(10,2)), sum(CASE WHEN id > 50 THEN 1.5 ELSE 2 END)
FROM sec_fact GROUP BY v ORDER BY v;
SELECT count(*), sum(f.v), avg(f.id) FROM public.sec_dim d JOIN sec_fact f ON d.id = f.id;
SELECT count(*) FROM sec_fact f WHERE f.id IN (SELECT id FROM public.sec_dim);
-- New functions and operators reset PostgreSQL's plan cache: the statements are analyzed
-- again, with eve's table first on the path (PostgreSQL's behaviour, followed).
EXECUTE sec_q;
EXECUTE sec_q2;
-- Prepared statements across a temporary table of the same name.
RESET search_path;
PREPARE sec_q4 AS SELECT count(*), sum(f.v) FROM sec_dim d JOIN sec_fact f ON d.id = f.id;
EXECUTE sec_q4;
CREATE TEMP TABLE sec_dim (id int, v int);
INSERT INTO sec_dim VALUES (1, 4);
EXECUTE sec_q4;
DROP TABLE pg_temp.sec_dim;
EXECUTE sec_q4;
DEALLOCATE sec_q;
DEALLOCATE sec_q2;
DEALLOCATE sec_q3;
DEALLOCATE sec_q4;
RESET ROLE;

-- Prepared statements across RENAME and DROP.
CREATE TABLE sec_ren (id int);
INSERT INTO sec_ren SELECT generate_series(1, 10);
PREPARE sec_r AS SELECT count(*), sum(id) FROM sec_ren;
EXECUTE sec_r;
ALTER TABLE sec_ren RENAME TO sec_ren2;
EXECUTE sec_r;
CREATE TABLE sec_ren (id int);
INSERT INTO sec_ren VALUES (100);
EXECUTE sec_r;
DROP TABLE sec_ren;
EXECUTE sec_r;
DEALLOCATE sec_r;
DROP TABLE sec_ren2;

-- Identifiers with dots, quotes, spaces and upper case.
CREATE SCHEMA "Sch.ema";
CREATE TABLE "Sch.ema"."We""ird Tab" ("Col A" int, "b.c" text COLLATE "C", "UP" numeric(8,2));
INSERT INTO "Sch.ema"."We""ird Tab" SELECT i, 'v' || (i % 3), i / 4.0 FROM generate_series(1, 40) i;
CREATE TABLE public."dot.tab" (id int, "x y" int);
INSERT INTO public."dot.tab" SELECT i, i * 3 FROM generate_series(1, 20) i;
SELECT "Col A" % 3 AS k, count(*), sum("UP") FROM "Sch.ema"."We""ird Tab" GROUP BY 1 ORDER BY 1;
SELECT "b.c", count(*), max("Col A") FROM "Sch.ema"."We""ird Tab" GROUP BY "b.c" ORDER BY "b.c";
SELECT count(*), sum(d."x y") FROM "Sch.ema"."We""ird Tab" w JOIN public."dot.tab" d ON w."Col A" = d.id;
SELECT w."b.c", sum(d."x y") FROM "Sch.ema"."We""ird Tab" w JOIN public."dot.tab" d ON w."Col A" = d.id
GROUP BY w."b.c" ORDER BY 1;
SELECT count(*) FROM "Sch.ema"."We""ird Tab" a JOIN "Sch.ema"."We""ird Tab" b ON a."Col A" = b."Col A" + 1;
DROP SCHEMA "Sch.ema" CASCADE;
DROP TABLE public."dot.tab";

-- EXECUTE on functions: the functions DataFusion evaluates (an operator's, an aggregate) are
-- checked for the current user as PostgreSQL's executor checks them, through views too.
REVOKE EXECUTE ON FUNCTION int4mul(int4, int4) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION max(int4) FROM PUBLIC;
SET ROLE sec_alice;
SELECT sum(id * 2) FROM sec_emp;
SELECT e.dept, sum(e.id * d.region) FROM sec_emp e JOIN sec_dept d ON d.dept = e.dept GROUP BY 1 ORDER BY 1;
SELECT sum(id * 2) FROM sec_v_plain;
SELECT max(id) FROM sec_emp;
SELECT dept, max(id) FROM sec_emp GROUP BY dept ORDER BY dept;
SELECT sum(id + 2), min(id) FROM sec_emp;
RESET ROLE;
SELECT sum(id * 2), max(id) FROM sec_emp;
GRANT EXECUTE ON FUNCTION int4mul(int4, int4) TO PUBLIC;
GRANT EXECUTE ON FUNCTION max(int4) TO PUBLIC;
SET ROLE sec_alice;
SELECT sum(id * 2), max(id) FROM sec_emp;
RESET ROLE;

-- FROM functions, VALUES and set-returning functions are leaves PostgreSQL plans and runs: a
-- function without EXECUTE fails as PostgreSQL fails (42501), through another role's view too
-- (functions in a view are checked for the current user); row-level security of a table joined
-- with them, and of a table whose SRF expands in its leaf, applies as in PostgreSQL's plan.
CREATE FUNCTION sec_srf(n int) RETURNS SETOF int LANGUAGE plpgsql
    AS $$ BEGIN RETURN QUERY SELECT generate_series(1, n); END $$;
REVOKE EXECUTE ON FUNCTION sec_srf(int) FROM PUBLIC;
CREATE VIEW sec_srf_v AS SELECT s FROM sec_srf(5) s;
ALTER VIEW sec_srf_v OWNER TO sec_owner;
GRANT SELECT ON sec_srf_v TO sec_alice;
CREATE TABLE sec_rls_doc (id int, owner name, payload jsonb, tags text[]);
INSERT INTO sec_rls_doc SELECT i, CASE WHEN i % 2 = 0 THEN 'sec_alice' ELSE 'sec_eve' END,
    jsonb_build_object('g', i), ARRAY['t' || i, 'u' || i] FROM generate_series(1, 20) i;
ALTER TABLE sec_rls_doc ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_rls_doc_own ON sec_rls_doc USING (owner = current_user);
GRANT SELECT ON sec_rls_doc TO sec_alice;
SET ROLE sec_alice;
SELECT count(*) FROM sec_srf(3) s JOIN sec_emp e ON e.id = s;
SELECT * FROM sec_srf_v v JOIN sec_emp e ON e.id = v.s ORDER BY 1;
SELECT d.id, d.payload FROM sec_rls_doc d JOIN generate_series(1, 20) g ON g = d.id ORDER BY d.id;
SELECT d.id, v.x FROM (VALUES (1), (2), (4), (5)) v(x) JOIN sec_rls_doc d ON d.id = v.x ORDER BY 1;
SELECT count(*), count(DISTINCT t), max(id) FROM (SELECT id, unnest(tags) t FROM sec_rls_doc) s;
SELECT count(*), count(payload) FROM sec_rls_doc;
RESET ROLE;
GRANT EXECUTE ON FUNCTION sec_srf(int) TO sec_alice;
SET ROLE sec_alice;
SELECT count(*) FROM sec_srf(3) s JOIN sec_emp e ON e.id = s;
SELECT * FROM sec_srf_v v JOIN sec_emp e ON e.id = v.s ORDER BY 1;
RESET ROLE;
DROP VIEW sec_srf_v;
DROP FUNCTION sec_srf(int);
DROP TABLE sec_rls_doc;

-- Window functions PostgreSQL computes above the node: the rows they see are the ones the role
-- may read (row-level security, the view owner's rights through a view), the columns it names
-- need their privileges, and a window aggregate needs EXECUTE on its function, as in PostgreSQL.
CREATE FUNCTION sec_w_add(bigint, int) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT coalesce($1, 0) + coalesce($2, 0)';
CREATE AGGREGATE sec_w_sum(int) (sfunc = sec_w_add, stype = bigint);
REVOKE EXECUTE ON FUNCTION sec_w_sum(int) FROM PUBLIC;
SET ROLE sec_alice;
SELECT id, sum(id) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) FROM sec_doc ORDER BY id;
SELECT id, count(*) OVER (ORDER BY id RANGE BETWEEN 3 PRECEDING AND 3 FOLLOWING EXCLUDE TIES) FROM sec_doc_v ORDER BY id LIMIT 5;
SELECT k, n, sum(n) OVER (ORDER BY k ROWS 1 PRECEDING EXCLUDE CURRENT ROW) FROM sec_doc_agg ORDER BY k;
SELECT id, lag(dept, id % 3) OVER (ORDER BY id) FROM sec_v_cols WHERE id < 6 ORDER BY id;
SELECT id, lag(salary, id % 3) OVER (ORDER BY id) FROM sec_v_cols WHERE id < 6 ORDER BY id;
SELECT id, sec_w_sum(id) OVER (ORDER BY id ROWS 1 PRECEDING) FROM sec_doc ORDER BY id;
RESET ROLE;
GRANT EXECUTE ON FUNCTION sec_w_sum(int) TO sec_alice;
SET ROLE sec_alice;
SELECT id, sec_w_sum(id) OVER (ORDER BY id ROWS 1 PRECEDING) FROM sec_doc ORDER BY id;
RESET ROLE;
-- Aggregates PostgreSQL computes above the node (here with ORDER BY inside, ordered-set,
-- user-defined): over the rows the role may read, through the view owner's rights, with
-- EXECUTE on the aggregate checked for the current user.
REVOKE EXECUTE ON FUNCTION sec_w_sum(int) FROM sec_alice;
SET ROLE sec_alice;
SELECT string_agg(id::text, ',' ORDER BY id DESC), percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM sec_doc;
SELECT k, string_agg(n::text, ',' ORDER BY n) FROM sec_doc_agg GROUP BY k ORDER BY k;
SELECT dept, string_agg(id::text, ',' ORDER BY id) FROM sec_v_cols GROUP BY dept ORDER BY dept;
SELECT dept, string_agg(salary::text, ',' ORDER BY id) FROM sec_v_cols GROUP BY dept ORDER BY dept;
SELECT sec_w_sum(id), string_agg(id::text, ',' ORDER BY id) FROM sec_doc;
RESET ROLE;
GRANT EXECUTE ON FUNCTION sec_w_sum(int) TO sec_alice;
SET ROLE sec_alice;
SELECT sec_w_sum(id), string_agg(id::text, ',' ORDER BY id) FROM sec_doc;
RESET ROLE;
DROP AGGREGATE sec_w_sum(int);
DROP FUNCTION sec_w_add(bigint, int);

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
DROP VIEW sec_v_inv, sec_v_plain, sec_v_cols, sec_doc_v, sec_doc_agg, sec_card_v;
DROP TABLE sec_emp, sec_dept, sec_doc, sec_card, sec_fact, sec_dim;
DROP FUNCTION sec_leak(text);
DROP SCHEMA sec_eve CASCADE;
DROP ROLE sec_alice;
DROP ROLE sec_owner;
DROP ROLE sec_eve;
