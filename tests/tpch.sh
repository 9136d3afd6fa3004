#!/usr/bin/env bash
# TPC-H at a small scale and the differential corpus, in a scratch cluster with pg_fusion
# preloaded: loads the standard schema (benches/tpch/load.sh, data from tpchgen-cli), then runs
# the 22 TPC-H queries and tests/corpus with pg_fusion off and on (tests/differential.sh).
# Passes when no statement returns different rows or crashes and every TPC-H query runs through
# pg_fusion; refusals (0A000) of the corpus are counted. All of it once per database locale: C,
# C.UTF-8, en_US.UTF-8 and ICU's `en`, and once per server encoding other than UTF8: LATIN1,
# EUC_JP and SQL_ASCII under C, in the same cluster (one worker serves them all)
# (PG_FUSION_TPCH_LOCALES; `icu-en` names the ICU one, `enc-X` a database of encoding X).
#
#   tests/tpch.sh                 scale 0.01 (PG_FUSION_TPCH_SCALE to change it)
#
# Prints the differential summary last; exits non-zero on any mismatch or crash.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

scale=${PG_FUSION_TPCH_SCALE:-0.01}
port=${PG_FUSION_TPCH_PORT:-55450}
dir=$(pg_owned_tmpdir tpch)
cleanup() {
    [ -n "${PG_FUSION_KEEP:-}" ] && return
    stop_cluster "$dir"
    rm -rf "$dir"
}
trap cleanup EXIT

init_cluster "$dir" "$port" <<<"max_worker_processes = 16"
start_cluster "$dir" || { cat "$dir/server.log" >&2; die "cannot start the TPC-H cluster"; }
# Each database locale in turn (PG_FUSION_TPCH_LOCALES; one the machine lacks is skipped): the
# queries' text ORDER BYs are ordered by DataFusion under byte-order collations (C, C.UTF-8) and
# by PostgreSQL above the node under the others (en_US.UTF-8, ICU's en).
status=0
refused=""
for locale in ${PG_FUSION_TPCH_LOCALES:-C C.UTF-8 en_US.UTF-8 icu-en enc-LATIN1 enc-EUC_JP enc-SQL_ASCII}; do
    db=tpch_$(tr -c 'a-zA-Z0-9\n' _ <<<"$locale" | tr 'A-Z' 'a-z')
    case $locale in
        enc-*)
            # Text crosses as the encoding's bytes (docs/compatibility.md).
            create="ENCODING '${locale#enc-}' LOCALE 'C'"
            psql_at "$dir" "$port" -c "CREATE DATABASE $db TEMPLATE template0 $create" >/dev/null \
                || die "cannot create a database with $create" ;;
        icu-*)
            # The ICU provider (initdb --locale-provider=icu --icu-locale=en); its libc parts
            # C.UTF-8, which every glibc has.
            create="LOCALE_PROVIDER icu ICU_LOCALE '${locale#icu-}' LOCALE 'C.UTF-8'"
            # Whether PostgreSQL has ICU is told by the creation itself.
            if ! err=$(psql_at "$dir" "$port" -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' $create" 2>&1 >/dev/null); then
                if grep -q "ICU is not supported in this build" <<<"$err"; then
                    echo "tpch: PostgreSQL built without ICU: $locale skipped"
                    continue
                fi
                echo "$err" >&2
                die "cannot create a database with $create"
            fi ;;
        *)
            # locale -a names UTF-8 locales "xx_YY.utf8": compared in lower case without dashes.
            if [ "$locale" != C ] && ! locale -a 2>/dev/null | tr -d '-' | grep -qixF "$(tr -d '-' <<<"$locale")"; then
                echo "tpch: no $locale locale on this machine: skipped"
                continue
            fi
            create="LOCALE '$locale'"
            psql_at "$dir" "$port" -c "CREATE DATABASE $db TEMPLATE template0 ENCODING 'UTF8' $create" >/dev/null \
                || die "cannot create a database with $create" ;;
    esac
    echo "tpch: database $db ($create)"
    as_pg "$(pg_bindir)/psql" -X -q -h "$dir" -p "$port" -U postgres -d "$db" -c 'CREATE EXTENSION pg_fusion' >/dev/null
    "$top/benches/tpch/load.sh" --scale "$scale" --host "$dir" --port "$port" --dbname "$db" || die "TPC-H load failed"
    out=$(mktemp)
    "$top/tests/differential.sh" --host "$dir" --port "$port" --dbname "$db" --list-refusals \
        "$top/benches/tpch/queries" "$top/tests/corpus" | tee "$out"
    s=${PIPESTATUS[0]}
    [ "$s" = 0 ] || status=$s
    # Every TPC-H query runs through pg_fusion: a refusal there is a failure too.
    refused="$refused $(grep -E '^refused [^ ]*benches/tpch/queries/' "$out" | awk -v l="$locale" '{ print $2 " (" l ")" }')"
    rm -f "$out"
done
if [ -n "${refused// /}" ]; then
    echo "tpch: refused $(echo $refused | tr '\n' ' ')"
    exit 1
fi
exit "$status"
