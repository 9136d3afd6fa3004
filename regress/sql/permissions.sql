-- PostgreSQL owns permissions: with pg_fusion on, GRANT, column privileges and row-level security
-- apply exactly as with it off, because every scan runs through PostgreSQL's executor as the
-- calling user. Each allowed query is compared off vs on (`same` prints "match" or the diff).
CREATE TABLE pm (id int, owner_name name, secret text COLLATE "C", amount numeric(10,2));
INSERT INTO pm SELECT i, CASE WHEN i % 3 = 0 THEN 'fusion_alice' ELSE 'fusion_bob' END, 's' || i, i * 1.25
FROM generate_series(1, 300) i;
ANALYZE pm;
CREATE ROLE fusion_alice;
CREATE ROLE fusion_bob;
CREATE ROLE fusion_nobody;
GRANT SELECT (id, owner_name, amount) ON pm TO fusion_alice;
GRANT SELECT ON pm TO fusion_bob;
ALTER TABLE pm ENABLE ROW LEVEL SECURITY;
CREATE POLICY pm_own ON pm FOR SELECT USING (owner_name = current_user);

\set same '\\! cmp -s /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out && echo match || diff /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out; rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out'

-- No privilege at all: PostgreSQL's 42501, with pg_fusion off and on.
SET ROLE fusion_nobody;
SET pg_fusion.enable = off;
SELECT count(*) FROM pm;
\echo :LAST_ERROR_SQLSTATE
SET pg_fusion.enable = on;
SELECT count(*) FROM pm;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Column privileges: the granted columns are readable, the others are not.
SET ROLE fusion_alice;
\set q 'SELECT owner_name, count(*), sum(amount), max(id) FROM pm GROUP BY owner_name ORDER BY owner_name'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SELECT max(secret) FROM pm;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pm WHERE secret = 's3';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- count() of a NOT NULL column does not read the column, but still needs the privilege on it.
ALTER TABLE pm ALTER COLUMN secret SET NOT NULL;
SET ROLE fusion_alice;
SELECT count(secret) FROM pm;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
ALTER TABLE pm ALTER COLUMN secret DROP NOT NULL;

-- Row-level security: each role sees its own rows only, as in vanilla PostgreSQL.
SET ROLE fusion_bob;
\set q 'SELECT owner_name, count(*), sum(amount), min(secret) FROM pm GROUP BY owner_name ORDER BY owner_name'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
SET pg_fusion.enable = on;
SELECT count(*) FROM pm;
RESET ROLE;
SET ROLE fusion_alice;
SELECT count(*), sum(amount) FROM pm;
RESET ROLE;

-- The table owner (a superuser here) bypasses RLS, in both modes.
\set q 'SELECT count(*), sum(amount) FROM pm'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same

-- A plan cached for one role is rechecked for another (the policy depends on the role).
SET pg_fusion.enable = on;
PREPARE pm_count AS SELECT count(*) FROM pm;
SET ROLE fusion_bob;
EXECUTE pm_count;
RESET ROLE;
SET ROLE fusion_alice;
EXECUTE pm_count;
RESET ROLE;
SET ROLE fusion_nobody;
EXECUTE pm_count;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DEALLOCATE pm_count;

-- A subquery in WHERE reads its table as the calling user too: privileges and row-level
-- security apply inside it, and a plan cached with it is rechecked per role.
CREATE TABLE pq (id int);
INSERT INTO pq SELECT i FROM generate_series(1, 300) i;
GRANT SELECT ON pq TO fusion_alice, fusion_bob, fusion_nobody;
SET ROLE fusion_bob;
\set q 'SELECT count(*), sum(id) FROM pq WHERE id IN (SELECT id FROM pm)'
SET pg_fusion.enable = off; :q \g /tmp/pg_fusion_regress_off.out
SET pg_fusion.enable = on; :q \g /tmp/pg_fusion_regress_on.out
:same
RESET ROLE;
SET pg_fusion.enable = on;
PREPARE pq_count AS SELECT count(*) FROM pq WHERE id IN (SELECT id FROM pm);
SET ROLE fusion_bob;
EXECUTE pq_count;
RESET ROLE;
SET ROLE fusion_alice;
EXECUTE pq_count;
RESET ROLE;
SET ROLE fusion_nobody;
EXECUTE pq_count;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
DEALLOCATE pq_count;
DROP TABLE pq;

SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';
\! rm -f /tmp/pg_fusion_regress_off.out /tmp/pg_fusion_regress_on.out
DROP TABLE pm;
DROP ROLE fusion_alice;
DROP ROLE fusion_bob;
DROP ROLE fusion_nobody;
