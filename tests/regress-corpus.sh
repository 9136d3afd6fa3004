#!/usr/bin/env bash
# The regression-derived differential corpus: PostgreSQL's own regression-suite SQL (the source
# of the server's exact release, fetched once from Debian's archive and checked against its .dsc,
# never committed here), run file by file in a scratch cluster with pg_fusion preloaded by
# tests/regress_corpus.py, every query with pg_fusion off and on. Reports coverage (queries run
# through pg_fusion / queries that read tables), mismatches, crashes and refusals by reason.
#
#   tests/regress-corpus.sh [TEST...]     default: the tests listed below, in schedule order
#
# PG_FUSION_PGSRC=DIR uses an unpacked PostgreSQL source tree instead of fetching one (its
# release should be the server's). PG_FUSION_CORPUS_LOCALE sets the database locale (C.UTF-8).
# Exits non-zero on a mismatch or crash, and 0 with a note when no source can be had.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PG_CONFIG:-}" ] && [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
. "$top/scripts/lib.sh"

# The regression tests run, in the order of PostgreSQL's parallel_schedule. Left out: tests of
# the catalogs themselves (*_sanity, oidjoins), of the client (psql*), of cluster-wide or
# server-file state (tablespace, event_trigger, publication, subscription, prepared_xacts,
# largeobject, create_role, password, roleattributes, vacuum_parallel, stats, sysviews, guc,
# dbsize, database), of C functions (create_function_c), plpgsql, and random (nondeterministic).
default_tests="test_setup
boolean char name varchar text int2 int4 int8 oid float4 float8 bit numeric uuid enum money
rangetypes pg_lsn strings numerology point lseg line box path polygon circle date time timetz
timestamp timestamptz interval inet macaddr multirangetypes geometry horology tstypes regex
expressions unicode xid
copy copyselect insert insert_conflict
create_misc create_operator create_procedure create_table create_type create_schema
create_index create_view index_including
create_aggregate create_function_sql create_cast constraints triggers select inherit typed_table
drop_if_exists updatable_views hash_func errors
select_into select_distinct select_distinct_on select_implicit select_having subselect union case
join aggregates transactions portals arrays btree_index hash_index update delete namespace
privileges collate matview rowsecurity tablesample groupingsets identity generated join_hash
create_table_like misc_functions tsrf tid tidscan tidrangescan incremental_sort
rules stats_ext
select_parallel
select_views foreign_key cluster dependency bitmapops combocid tsearch foreign_data window
functional_deps indirect_toast equivclass
json jsonb jsonpath jsonb_jsonpath
plancache limit copy2 temp domain rangefuncs prepare truncate sequence polymorphism rowtypes
returning with
partition_join partition_prune hash_part indexing partition_aggregate partition_info tuplesort
memoize"

if [ $# -gt 0 ]; then tests="$*"; else tests=$(echo $default_tests); fi

# PostgreSQL's source of the server's release.
pg_source() {
    if [ -n "${PG_FUSION_PGSRC:-}" ]; then echo "$PG_FUSION_PGSRC"; return; fi
    local version pkg debver cache tarball url dsc sum
    version=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9][0-9.]*\).*/\1/p')
    major=${version%%.*}
    pkg=postgresql-$major
    cache=${PG_FUSION_CACHE:-$HOME/.cache/pg_fusion}/pgsrc
    [ -d "$cache/postgresql-$version" ] && { echo "$cache/postgresql-$version"; return; }
    debver=$(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null) || return 1
    case $debver in "$version"-*) ;; *) return 1 ;; esac
    mkdir -p "$cache" || return 1
    tarball=${pkg}_$version.orig.tar.bz2
    for url in http://deb.debian.org/debian/pool/main/p/$pkg http://deb.debian.org/debian-security/pool/updates/main/p/$pkg; do
        dsc=$(curl -fsS "$url/${pkg}_$debver.dsc" 2>/dev/null) || continue
        sum=$(awk -v f="$tarball" '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == f { print $1 }' <<<"$dsc")
        [ -n "$sum" ] || continue
        curl -fsS -o "$cache/$tarball.part" "$url/$tarball" || continue
        if [ "$(sha256sum "$cache/$tarball.part" | cut -d' ' -f1)" != "$sum" ]; then
            rm -f "$cache/$tarball.part"; continue
        fi
        tar -C "$cache" -xjf "$cache/$tarball.part" "postgresql-$version/src/test/regress" || return 1
        rm -f "$cache/$tarball.part"
        echo "$cache/postgresql-$version"
        return
    done
    return 1
}

src=$(pg_source) || { echo "regress-corpus: no PostgreSQL source for $("$PG_CONFIG" --version) (set PG_FUSION_PGSRC): skipped"; exit 0; }
regress=$src/src/test/regress
port=${PG_FUSION_CORPUS_PORT:-55460}
locale=${PG_FUSION_CORPUS_LOCALE:-C.UTF-8}
dir=$(pg_owned_tmpdir corpus)
cleanup() {
    [ -n "${PG_FUSION_KEEP:-}" ] && return
    stop_cluster "$dir"
    rm -rf "$dir"
}
trap cleanup EXIT

# The data files are read by the server (COPY ... FROM file) and written (COPY ... TO file):
# a copy the server user owns.
as_pg mkdir -p "$dir/regress/results"
cp -r "$regress/data" "$regress/sql" "$dir/regress/" && { ! is_root || chown -R postgres:postgres "$dir/regress"; }

init_cluster "$dir" "$port" <<EOF
max_worker_processes = 16
max_prepared_transactions = 2
lc_messages = 'C'
EOF
start_cluster "$dir" || { cat "$dir/server.log" >&2; die "cannot start the corpus cluster"; }
psql_at "$dir" "$port" -c "CREATE DATABASE regression TEMPLATE template0 ENCODING 'UTF8' LOCALE '$locale'" >/dev/null \
    || die "cannot create the regression database"
# As pg_regress sets them for its databases.
psql_at "$dir" "$port" -d regression >/dev/null <<'EOF'
ALTER DATABASE regression SET lc_messages TO 'C';
ALTER DATABASE regression SET lc_monetary TO 'C';
ALTER DATABASE regression SET lc_numeric TO 'C';
ALTER DATABASE regression SET lc_time TO 'C';
ALTER DATABASE regression SET bytea_output TO 'hex';
ALTER DATABASE regression SET timezone_abbreviations TO 'Default';
CREATE EXTENSION pg_fusion;
EOF

export PGTZ=PST8PDT PGDATESTYLE='Postgres, MDY'
export PGOPTIONS="-c intervalstyle=postgres_verbose -c pg_fusion.on_unsupported=error -c statement_timeout=60s"
# The runner is a client: it connects as the postgres role over the cluster's socket.
python3 "$top/tests/regress_corpus.py" --sqldir "$dir/regress/sql" --srcdir "$dir/regress" \
    --builddir "$dir/regress" --psql "$(pg_bindir)/psql" --host "$dir" --port "$port" --dbname regression \
    --known "$top/tests/regress_corpus_known.tsv" \
    ${PG_FUSION_CORPUS_VERBOSE:+--verbose} $tests
