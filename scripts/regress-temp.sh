#!/usr/bin/env bash
# Run the pg_regress suites in a throwaway instance with pg_fusion preloaded
# (pg_regress --temp-instance --temp-config). As root, the server runs as the postgres OS user
# in a directory it owns. Prints pg_regress's summary; exits non-zero on any failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"

port=${PG_FUSION_REGRESS_PORT:-55432}
work=$(pg_owned_tmpdir regress)
cp -r "$top/regress/." "$work/"
rm -rf "$work/out"
if is_root; then chown -R postgres:postgres "$work"; fi

pg_regress="$("$PG_CONFIG" --pkglibdir)/pgxs/src/test/regress/pg_regress"
status=0
as_pg "$pg_regress" \
    --temp-instance="$work/tmp_check" \
    --temp-config="$work/pg_fusion.conf" \
    --bindir="$("$PG_CONFIG" --bindir)" \
    --port="$port" \
    --inputdir="$work" \
    --outputdir="$work/out" \
    --schedule="$work/schedule" \
    --load-extension=pg_fusion || status=$?

# The oracle pass: suites whose expected output is PostgreSQL's own run again with their
# `SET pg_fusion.enable = on` line switched off, against the same expected files, so those files
# stay what PostgreSQL itself gives.
oracle_suites=""
for s in security semantics collations encodings partitions carried from_items runtime_filters; do
    grep -qx "test: $s" "$work/schedule" && oracle_suites="$oracle_suites $s"
done
if [ "$status" = 0 ] && [ -n "$oracle_suites" ]; then
    mkdir -p "$work/oracle/sql" "$work/oracle/expected"
    : >"$work/oracle/schedule"
    for s in $oracle_suites; do
        # A suite's own files: its SQL, its expected output, and the psql files it includes.
        for f in sql/$s.sql expected/$s.out $(cd "$work" && ls sql/"${s}"_*.psql 2>/dev/null); do
            sed 's/^SET pg_fusion.enable = on;$/SET pg_fusion.enable = off;/' "$work/$f" >"$work/oracle/$f"
        done
        echo "test: $s" >>"$work/oracle/schedule"
    done
    if is_root; then chown -R postgres:postgres "$work/oracle"; fi
    echo "# oracle pass (pg_fusion off):$oracle_suites"
    as_pg "$pg_regress" \
        --temp-instance="$work/oracle/tmp_check" \
        --temp-config="$work/pg_fusion.conf" \
        --bindir="$("$PG_CONFIG" --bindir)" \
        --port="$port" \
        --inputdir="$work/oracle" \
        --outputdir="$work/oracle/out" \
        --schedule="$work/oracle/schedule" \
        --load-extension=pg_fusion || status=$?
    if [ "$status" != 0 ] && [ -f "$work/oracle/out/regression.diffs" ]; then
        cp "$work/oracle/out/regression.diffs" "$work/out/regression.diffs"
    fi
fi

if [ "$status" != 0 ] && [ -f "$work/out/regression.diffs" ]; then
    mkdir -p "$top/regress/out"
    cp "$work/out/regression.diffs" "$top/regress/out/" 2>/dev/null || true
    echo "---- regression.diffs (also in regress/out/) ----" >&2
    head -200 "$work/out/regression.diffs" >&2
fi
[ "$status" = 0 ] && rm -rf "$work"
exit "$status"
