-- TPC-H schema for PostgreSQL (TPC-H specification, clause 1.4: tables, columns, datatypes).
--
-- Identifiers are integer, decimals numeric(15,2), dates date, fixed text char(n) and variable
-- text varchar(n), as the specification gives them. Primary keys only: no foreign keys and no
-- other indexes.
--
-- Every char/varchar column is COLLATE "C", so text compares and orders in byte order, whatever
-- the database's default collation: pg_fusion orders text in DataFusion only under the C (or
-- POSIX) collation, and TPC-H's ORDER BYs name text columns (n_name, s_name, p_brand, ...).
--
-- integer keys hold scale factors up to about 300 (o_orderkey reaches 4 x 1,500,000 x SF).
-- benches/tpch/load.sh drops and recreates these tables before loading.

DROP TABLE IF EXISTS lineitem, orders, customer, partsupp, supplier, part, nation, region;

CREATE TABLE region (
    r_regionkey integer                 NOT NULL,
    r_name      char(25)     COLLATE "C" NOT NULL,
    r_comment   varchar(152) COLLATE "C",
    PRIMARY KEY (r_regionkey)
);

CREATE TABLE nation (
    n_nationkey integer                 NOT NULL,
    n_name      char(25)     COLLATE "C" NOT NULL,
    n_regionkey integer                 NOT NULL,
    n_comment   varchar(152) COLLATE "C",
    PRIMARY KEY (n_nationkey)
);

CREATE TABLE part (
    p_partkey     integer                NOT NULL,
    p_name        varchar(55) COLLATE "C" NOT NULL,
    p_mfgr        char(25)    COLLATE "C" NOT NULL,
    p_brand       char(10)    COLLATE "C" NOT NULL,
    p_type        varchar(25) COLLATE "C" NOT NULL,
    p_size        integer                NOT NULL,
    p_container   char(10)    COLLATE "C" NOT NULL,
    p_retailprice numeric(15,2)          NOT NULL,
    p_comment     varchar(23) COLLATE "C" NOT NULL,
    PRIMARY KEY (p_partkey)
);

CREATE TABLE supplier (
    s_suppkey   integer                 NOT NULL,
    s_name      char(25)     COLLATE "C" NOT NULL,
    s_address   varchar(40)  COLLATE "C" NOT NULL,
    s_nationkey integer                 NOT NULL,
    s_phone     char(15)     COLLATE "C" NOT NULL,
    s_acctbal   numeric(15,2)           NOT NULL,
    s_comment   varchar(101) COLLATE "C" NOT NULL,
    PRIMARY KEY (s_suppkey)
);

CREATE TABLE partsupp (
    ps_partkey    integer                 NOT NULL,
    ps_suppkey    integer                 NOT NULL,
    ps_availqty   integer                 NOT NULL,
    ps_supplycost numeric(15,2)           NOT NULL,
    ps_comment    varchar(199) COLLATE "C" NOT NULL,
    PRIMARY KEY (ps_partkey, ps_suppkey)
);

CREATE TABLE customer (
    c_custkey    integer                 NOT NULL,
    c_name       varchar(25)  COLLATE "C" NOT NULL,
    c_address    varchar(40)  COLLATE "C" NOT NULL,
    c_nationkey  integer                 NOT NULL,
    c_phone      char(15)     COLLATE "C" NOT NULL,
    c_acctbal    numeric(15,2)           NOT NULL,
    c_mktsegment char(10)     COLLATE "C" NOT NULL,
    c_comment    varchar(117) COLLATE "C" NOT NULL,
    PRIMARY KEY (c_custkey)
);

CREATE TABLE orders (
    o_orderkey      integer                NOT NULL,
    o_custkey       integer                NOT NULL,
    o_orderstatus   char(1)     COLLATE "C" NOT NULL,
    o_totalprice    numeric(15,2)          NOT NULL,
    o_orderdate     date                   NOT NULL,
    o_orderpriority char(15)    COLLATE "C" NOT NULL,
    o_clerk         char(15)    COLLATE "C" NOT NULL,
    o_shippriority  integer                NOT NULL,
    o_comment       varchar(79) COLLATE "C" NOT NULL,
    PRIMARY KEY (o_orderkey)
);

CREATE TABLE lineitem (
    l_orderkey      integer                NOT NULL,
    l_partkey       integer                NOT NULL,
    l_suppkey       integer                NOT NULL,
    l_linenumber    integer                NOT NULL,
    l_quantity      numeric(15,2)          NOT NULL,
    l_extendedprice numeric(15,2)          NOT NULL,
    l_discount      numeric(15,2)          NOT NULL,
    l_tax           numeric(15,2)          NOT NULL,
    l_returnflag    char(1)     COLLATE "C" NOT NULL,
    l_linestatus    char(1)     COLLATE "C" NOT NULL,
    l_shipdate      date                   NOT NULL,
    l_commitdate    date                   NOT NULL,
    l_receiptdate   date                   NOT NULL,
    l_shipinstruct  char(25)    COLLATE "C" NOT NULL,
    l_shipmode      char(10)    COLLATE "C" NOT NULL,
    l_comment       varchar(44) COLLATE "C" NOT NULL,
    PRIMARY KEY (l_orderkey, l_linenumber)
);
