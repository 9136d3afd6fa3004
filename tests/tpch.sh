#!/usr/bin/env bash
# TPC-H at a small scale and the differential corpus, in a scratch cluster with pg_fusion
# preloaded: loads the standard schema (benches/tpch/load.sh, data from tpchgen-cli), then runs
# the 22 TPC-H queries and tests/corpus with pg_fusion off and on (tests/differential.sh).
# Passes when no statement returns different rows or crashes and every TPC-H query runs through
# pg_fusion; refusals (0A000) of the corpus are counted.
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
psql_at "$dir" "$port" -c 'CREATE DATABASE tpch' >/dev/null
as_pg "$(pg_bindir)/psql" -X -q -h "$dir" -p "$port" -U postgres -d tpch -c 'CREATE EXTENSION pg_fusion' >/dev/null
"$top/benches/tpch/load.sh" --scale "$scale" --host "$dir" --port "$port" --dbname tpch || die "TPC-H load failed"
out=$(mktemp)
"$top/tests/differential.sh" --host "$dir" --port "$port" --dbname tpch --list-refusals \
    "$top/benches/tpch/queries" "$top/tests/corpus" | tee "$out"
status=${PIPESTATUS[0]}
# Every TPC-H query runs through pg_fusion: a refusal there is a failure too.
refused=$(grep -E '^refused [^ ]*benches/tpch/queries/' "$out" | awk '{ print $2 }')
rm -f "$out"
if [ -n "$refused" ]; then
    echo "tpch: refused $(echo $refused | tr '\n' ' ')"
    exit 1
fi
exit "$status"
