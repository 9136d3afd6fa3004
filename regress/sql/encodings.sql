-- Databases not encoded in UTF-8 (the oracle pass runs this suite with pg_fusion off against the
-- same expected output). Their text crosses to the worker as its bytes in the server encoding
-- and is never read as characters there: DataFusion joins, groups, deduplicates and compares it
-- by bytes (PostgreSQL's equality under a deterministic collation), orders it by bytes under C
-- (memcmp, PostgreSQL's order there; EUC_JP's byte order is not code point order), and
-- PostgreSQL computes what reads characters (length, upper, LIKE) in the scans. One worker
-- serves the three databases and this one (UTF8) in turn. client_encoding UTF8: psql shows
-- every value as the other suites do. The queries, the same in each database, are in
-- encodings_queries.psql; :words are the database's words, :w1 one of them, :lit and :lit2
-- non-ASCII constants, :cte1 and :cte2 names a lossy conversion would confuse.
SELECT current_setting('server_encoding') AS regression_encoding;
DROP DATABASE IF EXISTS pgf_enc_latin1;
DROP DATABASE IF EXISTS pgf_enc_euc_jp;
DROP DATABASE IF EXISTS pgf_enc_sql_ascii;
CREATE DATABASE pgf_enc_latin1 TEMPLATE template0 ENCODING 'LATIN1' LOCALE 'C';
CREATE DATABASE pgf_enc_euc_jp TEMPLATE template0 ENCODING 'EUC_JP' LOCALE 'C';
CREATE DATABASE pgf_enc_sql_ascii TEMPLATE template0 ENCODING 'SQL_ASCII' LOCALE 'C';
\getenv abs_srcdir PG_ABS_SRCDIR
\set queries :abs_srcdir '/sql/encodings_queries.psql'

-- LATIN1: one byte a character (é is 0xE9).
\c pgf_enc_latin1
SET client_encoding = 'UTF8';
CREATE EXTENSION pg_fusion;
\set words '(''café''), (''cafe''), (''CAFÉ''), (''naïve''), (''über''), (''Zoë''), (''ß''), (''a''), (''A''), (''z''), (''''), (''ÿ''), (''é''), (''e''), ('' lead''), (''trail  ''), (''Ø''), (''ñu'')'
\set w1 'cafe'
\set lit 'é'
\set lit2 'ñ'
\set cte1 'größe'
\set cte2 'grüße'
\set chars true
SET pg_fusion.enable = on;
\i :queries
SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';

-- EUC_JP: up to three bytes a character (丂 is 0x8F 0xB0 0xA2, ｶ 0x8E 0xB6).
\c pgf_enc_euc_jp
SET client_encoding = 'UTF8';
CREATE EXTENSION pg_fusion;
\set words '(''日本''), (''日本語''), (''ｶﾅ''), (''カタカナ''), (''丂''), (''é''), (''a''), (''Ω''), (''Ωz''), (''''), (''漢字''), ('' 先頭''), (''末尾  ''), (''z''), (''ひらがな''), (''ー'')'
\set w1 '日本語'
\set lit '日'
\set lit2 'ｶ'
\set cte1 'ア'
\set cte2 'イ'
\set chars true
SET pg_fusion.enable = on;
\i :queries
SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';

-- SQL_ASCII: bytes (here UTF-8's, and some that are not UTF-8), no characters; words of at most
-- 4 bytes, since char(4) and varchar(8) cut by bytes here.
\c pgf_enc_sql_ascii
SET client_encoding = 'UTF8';
CREATE EXTENSION pg_fusion;
\set words '(''éé''), (''cafe''), (''aé''), (''a''), (''A''), (''z''), (''''), (''Ω''), ('' lead''), (''trail  ''), (''é''), (''ÿ''), (''ñu'')'
\set w1 'cafe'
\set lit 'é'
\set lit2 'ñ'
\set cte1 'größe'
\set cte2 'grüße'
\set chars false
SET pg_fusion.enable = on;
\i :queries
-- Bytes that are not UTF-8 at all (SQL_ASCII takes any byte but NUL): never read as text.
INSERT INTO enc_b VALUES (convert_from('\x41ff'::bytea, 'SQL_ASCII'), NULL, 2), (convert_from('\xfe41'::bytea, 'SQL_ASCII'), NULL, 3);
INSERT INTO enc_a VALUES (302, convert_from('\x41ff'::bytea, 'SQL_ASCII'), NULL, NULL, 1), (303, convert_from('\xfe41'::bytea, 'SQL_ASCII'), NULL, NULL, 2);
SELECT a.id, b.tag, a.k = convert_from('\x41ff'::bytea, 'SQL_ASCII') AS is_41ff FROM enc_a a JOIN enc_b b ON a.k = b.k WHERE a.id > 300 ORDER BY a.id;
SELECT a.id, row_number() OVER (ORDER BY a.k) FROM enc_a a JOIN enc_b b ON a.k = b.k WHERE a.id > 299 OR a.id < 3 ORDER BY a.k, a.id;
SELECT count(DISTINCT k), count(*) FROM enc_b WHERE tag >= 2;
SELECT value FROM pg_fusion_metrics() WHERE metric = 'pages_in_use';

\c regression
SELECT current_setting('server_encoding') AS regression_encoding;
DROP DATABASE pgf_enc_latin1;
DROP DATABASE pgf_enc_euc_jp;
DROP DATABASE pgf_enc_sql_ascii;
