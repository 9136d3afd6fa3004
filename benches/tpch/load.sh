#!/usr/bin/env bash
# Create the TPC-H schema in a database and load generated data into it.
#
#   benches/tpch/load.sh --scale SF [--host H] [--port P] [--dbname D] [--user U] [--cache DIR]
#
# 1. Drops and creates the eight tables (benches/tpch/schema.sql); creates the database first when
#    it does not exist.
# 2. Generates the data with tpchgen-cli (CSV with a header line) into DIR/sf<SF> (DIR defaults to
#    ~/.cache/pg_fusion/tpch), unless a complete earlier generation is there. tpchgen-cli is taken
#    from PATH or ~/.cargo/bin, and installed with `cargo install --locked tpchgen-cli` when
#    missing (a few minutes of compiling).
# 3. Loads each table with psql's \copy (HEADER match: the file's columns must be the table's),
#    feeding the file on psql's standard input: psql runs as the postgres OS user when we are
#    root, and the cache under root's home is not readable by that user.
# 4. ANALYZE, then checks that every table holds as many rows as its file.
#
# psql is the one in $PG_CONFIG's bindir (PostgreSQL 15's when PG_CONFIG is unset).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
if [ -z "${PG_CONFIG:-}" ] && [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
. "$top/scripts/lib.sh"

usage() {
    sed -n '4p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

scale=""
host=""
port=""
dbname=postgres
user=${PGUSER:-postgres}
cache_root=${PG_FUSION_TPCH_CACHE:-$HOME/.cache/pg_fusion/tpch}
while [ $# -gt 0 ]; do
    case $1 in
        --scale|-s) scale=${2:-}; shift 2 || usage ;;
        --host) host=${2:-}; shift 2 || usage ;;
        --port) port=${2:-}; shift 2 || usage ;;
        --dbname) dbname=${2:-}; shift 2 || usage ;;
        --user) user=${2:-}; shift 2 || usage ;;
        --cache) cache_root=${2:-}; shift 2 || usage ;;
        -h|--help) usage ;;
        *) echo "unknown argument: $1" >&2; usage ;;
    esac
done
[ -n "$scale" ] || usage
[[ $scale =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--scale wants a number (e.g. 0.01, 1, 10), got '$scale'"

tables=(region nation part supplier partsupp customer orders lineitem)

psql_bin="$(pg_bindir)/psql"
[ -x "$psql_bin" ] || die "no psql at $psql_bin (set PG_CONFIG)"
conn=(-U "$user")
[ -n "$host" ] && conn+=(-h "$host")
[ -n "$port" ] && conn+=(-p "$port")
pg() { as_pg "$psql_bin" -X -q -v ON_ERROR_STOP=1 "${conn[@]}" "$@"; }

# tpchgen-cli: on PATH, in ~/.cargo/bin, or installed there now.
find_tpchgen() {
    if command -v tpchgen-cli >/dev/null; then return 0; fi
    if [ -x "$HOME/.cargo/bin/tpchgen-cli" ]; then export PATH="$HOME/.cargo/bin:$PATH"; return 0; fi
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    command -v cargo >/dev/null || die "tpchgen-cli not found and no cargo to install it with"
    log "installing tpchgen-cli (cargo install --locked tpchgen-cli; log in /tmp/pg_fusion-tpchgen-install.log)"
    cargo install --locked tpchgen-cli >/tmp/pg_fusion-tpchgen-install.log 2>&1 || {
        tail -20 /tmp/pg_fusion-tpchgen-install.log >&2; die "cargo install tpchgen-cli failed"; }
    export PATH="$HOME/.cargo/bin:$PATH"
    command -v tpchgen-cli >/dev/null || die "tpchgen-cli is still not on PATH"
}

# 1. The database and the schema.
pg -d postgres -Atc 'SELECT 1' >/dev/null || die "cannot connect (host '${host:-default}', port '${port:-default}', user $user)"
exists=$(pg -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '${dbname//\'/\'\'}'")
if [ "$exists" != 1 ]; then
    log "creating database $dbname"
    as_pg "$(pg_bindir)/createdb" "${conn[@]}" "$dbname" || die "createdb $dbname failed"
fi
log "creating the TPC-H schema in $dbname"
{ echo "SET client_min_messages = warning;"; cat "$here/schema.sql"; } | pg -d "$dbname" \
    || die "the schema did not load"

# 2. The data, generated once per scale factor.
data="$cache_root/sf$scale"
if [ -f "$data/.complete" ]; then
    log "reusing the SF $scale data in $data"
else
    find_tpchgen
    log "generating SF $scale with $(tpchgen-cli --version) into $data"
    mkdir -p "$cache_root" || die "cannot create $cache_root"
    rm -rf "$data" "$data.partial"
    t0=$SECONDS
    tpchgen-cli csv --scale-factor "$scale" --output-dir "$data.partial" --quiet \
        || die "tpchgen-cli failed"
    for t in "${tables[@]}"; do
        [ -s "$data.partial/$t.csv" ] || die "tpchgen-cli wrote no $t.csv"
    done
    touch "$data.partial/.complete"
    mv "$data.partial" "$data" || die "cannot move the data into $data"
    log "generated in $((SECONDS - t0)) s"
fi

# 3. Load. The file is opened here (as the caller) and read by psql from its standard input.
t0=$SECONDS
for t in "${tables[@]}"; do
    log "loading $t"
    pg -d "$dbname" -c "\\copy $t FROM pstdin WITH (FORMAT csv, HEADER match)" <"$data/$t.csv" \
        || die "loading $t failed"
done
log "loaded in $((SECONDS - t0)) s; ANALYZE"
pg -d "$dbname" -c 'ANALYZE' || die "ANALYZE failed"

# 4. Every table holds its file's rows (lines less the header).
bad=0
for t in "${tables[@]}"; do
    want=$(($(wc -l <"$data/$t.csv") - 1))
    got=$(pg -d "$dbname" -Atc "SELECT count(*) FROM $t")
    printf '%-9s %10s rows\n' "$t" "$got"
    [ "$got" = "$want" ] || { echo "  $t: expected $want rows (from $data/$t.csv)" >&2; bad=1; }
done
[ "$bad" = 0 ] || die "row counts differ from the generated files"
log "TPC-H SF $scale loaded into $dbname"
