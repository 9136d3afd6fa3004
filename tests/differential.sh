#!/usr/bin/env bash
# Differential test: every statement of a corpus runs with pg_fusion off and on, and the two
# outcomes are compared.
#
#   tests/differential.sh --host H --port P --dbname D [--user U] [--timeout SECS]
#                         [--list-refusals] CORPUS...
#
# A CORPUS is a .sql file or a directory (searched recursively for *.sql). The files are taken in
# byte order of their paths, so the output is stable. A file may hold several statements: lines
# that are blank or start with `--` are dropped, and a statement ends on a line ending with `;`
# (text after the last such line is a statement too).
#
# Each statement runs twice, each time in its own psql session (psql -X -A -t -q -v
# ON_ERROR_STOP=1, VERBOSITY verbose so that errors carry their SQLSTATE), first after
# `SET pg_fusion.enable = off`, then after `SET pg_fusion.enable = on` (and
# `pg_fusion.on_unsupported = error`), both under `statement_timeout` (--timeout, default 60 s).
# One line per statement, `<class> <file>:<n> <first 80 characters>`, with the class:
#
#   match       both succeed with identical output (the same rows in any order when the statement
#               has no ORDER BY anywhere)
#   mismatch    both succeed, the outputs differ (a short diff and the statement follow)
#   refused     the on run fails with SQLSTATE 0A000 (pg_fusion: unsupported ...)
#   error-same  both fail with the same SQLSTATE (counted as a match)
#   error-diff  the outcomes differ otherwise, e.g. off succeeds and on fails with another
#               SQLSTATE, or psql itself timed out (counted as a mismatch)
#   crash       a run lost its connection (psql exit code 2, "server closed the connection", ...);
#               the runner waits for the server to accept connections again and goes on
#
# Last comes `differential: M match, X mismatch, R refused, C crash`; the exit status is non-zero
# when X > 0 or C > 0 (and 2 on a usage or connection error). --list-refusals prints, before that
# line, each distinct refusal message with its count and the statements it refused.
#
# psql is the one in $PG_CONFIG's bindir (PostgreSQL 15's when PG_CONFIG is unset); as root it runs
# as the postgres OS user, like every script here.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${PG_CONFIG:-}" ] && [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
    PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
fi
. "$top/scripts/lib.sh"

usage() {
    sed -n '5,6p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

host=""
port=""
dbname=""
user=${PGUSER:-postgres}
timeout_s=60
list_refusals=0
corpus=()
while [ $# -gt 0 ]; do
    case $1 in
        --host) host=${2:-}; shift 2 || usage ;;
        --port) port=${2:-}; shift 2 || usage ;;
        --dbname) dbname=${2:-}; shift 2 || usage ;;
        --user) user=${2:-}; shift 2 || usage ;;
        --timeout) timeout_s=${2:-}; shift 2 || usage ;;
        --list-refusals) list_refusals=1; shift ;;
        -h|--help) usage ;;
        --) shift; corpus+=("$@"); break ;;
        -*) echo "unknown option: $1" >&2; usage ;;
        *) corpus+=("$1"); shift ;;
    esac
done
[ ${#corpus[@]} -gt 0 ] || usage
[[ $timeout_s =~ ^[0-9]+$ ]] && [ "$timeout_s" -gt 0 ] || { echo "--timeout wants whole seconds" >&2; exit 2; }

psql_bin="$(pg_bindir)/psql"
[ -x "$psql_bin" ] || { echo "no psql at $psql_bin (set PG_CONFIG)" >&2; exit 2; }
conn=(-U "$user")
[ -n "$host" ] && conn+=(-h "$host")
[ -n "$port" ] && conn+=(-p "$port")
[ -n "$dbname" ] && conn+=(-d "$dbname")

work=$(mktemp -d "${TMPDIR:-/tmp}/pg_fusion.differential.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The corpus files, sorted and without duplicates.
for c in "${corpus[@]}"; do
    if [ -d "$c" ]; then
        find "$c" -type f -name '*.sql'
    elif [ -f "$c" ]; then
        printf '%s\n' "$c"
    else
        echo "no such file or directory: $c" >&2
        exit 2
    fi
done | LC_ALL=C sort -u >"$work/files"
[ -s "$work/files" ] || { echo "no .sql files in: ${corpus[*]}" >&2; exit 2; }

# One psql session: run_psql OUT ERR SETTINGS... -- SQL. Returns psql's exit status (124 when it
# outlived statement_timeout by a minute and was killed).
run_psql() {
    local out=$1 err=$2; shift 2
    local args=()
    while [ "$1" != -- ]; do args+=(-c "$1"); shift; done
    shift
    as_pg timeout $((timeout_s + 60)) "$psql_bin" -X -A -t -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
        "${conn[@]}" -c "SET statement_timeout = '${timeout_s}s'" "${args[@]}" -c "$1" \
        >"$out" 2>"$err" </dev/null
}

# The SQLSTATE of the first error in file $1 (empty when none is shown).
sqlstate_of() {
    sed -n 's/^\(psql:[^ ]* \)\{0,1\}\(ERROR\|FATAL\|PANIC\):  \([0-9A-Z]\{5\}\): .*/\3/p' "$1" | head -1
}
# The message of the first error in file $1, without severity and SQLSTATE.
message_of() {
    local m
    m=$(sed -n 's/^\(psql:[^ ]* \)\{0,1\}\(ERROR\|FATAL\|PANIC\):  \([0-9A-Z]\{5\}: \)\{0,1\}//p' "$1" | head -1)
    [ -n "$m" ] || m=$(grep -v '^$' "$1" | head -1)
    printf '%s\n' "$m"
}

lost_connection() { # rc errfile
    [ "$1" = 2 ] || grep -qE 'server closed the connection|connection to server was lost|terminating connection because of crash|no connection to the server' "$2"
}

# After a crash the postmaster reinitialises: wait (up to 2 minutes) until it accepts queries.
wait_for_server() {
    local i
    for i in $(seq 1 240); do
        as_pg "$psql_bin" -X -A -t -q "${conn[@]}" -c 'SELECT 1' >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "the server did not come back within 2 minutes" >&2
    return 1
}

# The connection works before anything else.
if ! as_pg "$psql_bin" -X -A -t -q -v ON_ERROR_STOP=1 "${conn[@]}" -c 'SELECT 1' >/dev/null 2>"$work/conn.err"; then
    cat "$work/conn.err" >&2
    echo "cannot connect" >&2
    exit 2
fi
preload=$(as_pg "$psql_bin" -X -A -t -q "${conn[@]}" -c 'SHOW shared_preload_libraries' 2>/dev/null)
case $preload in
    *pg_fusion*) ;;
    *) echo "warning: pg_fusion is not in shared_preload_libraries ($preload)" >&2 ;;
esac

declare -A count=([match]=0 [mismatch]=0 [refused]=0 [error-same]=0 [error-diff]=0 [crash]=0)
: >"$work/refusals"
indent() { sed 's/^/    /'; }

while IFS= read -r file; do
    rm -rf "$work/stmts"
    mkdir "$work/stmts"
    awk -v dir="$work/stmts" '
        function flush() { if (buf != "") { n++; f = sprintf("%s/%06d.sql", dir, n); printf "%s\n", buf > f; close(f); buf = "" } }
        /^[[:space:]]*--/ { next }
        /^[[:space:]]*$/ { next }
        { buf = (buf == "" ? $0 : buf "\n" $0) }
        /;[[:space:]]*$/ { flush() }
        END { flush() }
    ' "$file"
    for stmt_file in "$work/stmts"/*.sql; do
        [ -e "$stmt_file" ] || continue
        n=$((10#$(basename "$stmt_file" .sql)))
        sql=$(cat "$stmt_file")
        head80=$(tr -s '[:space:]' ' ' <"$stmt_file" | sed 's/^ //; s/ $//' | cut -c1-80)
        where="$file:$n"

        run_psql "$work/off.out" "$work/off.err" "SET pg_fusion.enable = off" -- "$sql"
        off_rc=$?
        if lost_connection "$off_rc" "$work/off.err"; then wait_for_server || exit 2; fi
        run_psql "$work/on.out" "$work/on.err" "SET pg_fusion.enable = on" \
            "SET pg_fusion.on_unsupported = error" -- "$sql"
        on_rc=$?

        off_state=""; on_state=""
        [ "$off_rc" = 0 ] || off_state=$(sqlstate_of "$work/off.err")
        [ "$on_rc" = 0 ] || on_state=$(sqlstate_of "$work/on.err")
        [ "$off_rc" = 124 ] && off_state=TIMEOUT
        [ "$on_rc" = 124 ] && on_state=TIMEOUT
        [ "$off_rc" != 0 ] && [ -z "$off_state" ] && off_state="rc$off_rc"
        [ "$on_rc" != 0 ] && [ -z "$on_state" ] && on_state="rc$on_rc"

        detail=""
        if lost_connection "$on_rc" "$work/on.err"; then
            class=crash
            detail=$( { echo "on: psql exit $on_rc:"; tail -8 "$work/on.err"; echo "statement:"; cat "$stmt_file"; } | indent)
            wait_for_server || { echo "crash $where $head80"; printf '%s\n' "$detail"; exit 2; }
        elif lost_connection "$off_rc" "$work/off.err"; then
            class=crash
            detail=$( { echo "off (pg_fusion.enable = off): psql exit $off_rc:"; tail -8 "$work/off.err"; } | indent)
        elif [ "$off_rc" = 0 ] && [ "$on_rc" = 0 ]; then
            if cmp -s "$work/off.out" "$work/on.out"; then
                class=match
            elif ! grep -qi 'order[[:space:]]\+by' "$stmt_file" &&
                cmp -s <(LC_ALL=C sort "$work/off.out") <(LC_ALL=C sort "$work/on.out"); then
                # Without ORDER BY the rows are a multiset: any order is PostgreSQL's too.
                class=match
            else
                class=mismatch
                detail=$( {
                    echo "rows: off $(wc -l <"$work/off.out"), on $(wc -l <"$work/on.out")"
                    if cmp -s <(LC_ALL=C sort "$work/off.out") <(LC_ALL=C sort "$work/on.out"); then
                        echo "(the same rows in a different order)"
                    fi
                    diff -u --label off --label on "$work/off.out" "$work/on.out" | head -20
                    echo "statement:"; cat "$stmt_file"
                } | indent)
            fi
        elif [ "$on_state" = 0A000 ] && [ "$off_state" != 0A000 ]; then
            class=refused
            printf '%s\t%s\n' "$(message_of "$work/on.err")" "$where" >>"$work/refusals"
        elif [ "$off_rc" != 0 ] && [ "$on_rc" != 0 ] && [ "$off_state" = "$on_state" ]; then
            class=error-same
        else
            class=error-diff
            detail=$( {
                if [ "$off_rc" = 0 ]; then echo "off: ok, $(wc -l <"$work/off.out") rows"
                else echo "off: $off_state $(message_of "$work/off.err")"; fi
                if [ "$on_rc" = 0 ]; then echo "on:  ok, $(wc -l <"$work/on.out") rows"
                else echo "on:  $on_state $(message_of "$work/on.err")"; fi
                echo "statement:"; cat "$stmt_file"
            } | indent)
        fi
        count[$class]=$((${count[$class]} + 1))
        echo "$class $where $head80"
        [ -n "$detail" ] && printf '%s\n' "$detail"
    done
done <"$work/files"

if [ "$list_refusals" = 1 ] && [ -s "$work/refusals" ]; then
    echo "refusals:"
    cut -f1 "$work/refusals" | LC_ALL=C sort | uniq -c | LC_ALL=C sort -k1,1nr -k2 |
        while read -r cnt msg; do
            printf '  %4d  %s\n' "$cnt" "$msg"
            awk -F'\t' -v m="$msg" '$1 == m { print $2 }' "$work/refusals" | tr '\n' ' ' |
                fold -s -w 90 | sed 's/^/          /; s/ *$//'
            echo
        done
fi

matches=$((${count[match]} + ${count[error-same]}))
mismatches=$((${count[mismatch]} + ${count[error-diff]}))
echo "classes: match ${count[match]}, error-same ${count[error-same]}, mismatch ${count[mismatch]}, error-diff ${count[error-diff]}, refused ${count[refused]}, crash ${count[crash]}"
echo "differential: $matches match, $mismatches mismatch, ${count[refused]} refused, ${count[crash]} crash"
[ "$mismatches" = 0 ] && [ "${count[crash]}" = 0 ]
