#!/usr/bin/env bash
# The README's test command. On a fresh Debian/Ubuntu machine (as root) it installs what is
# missing, builds, runs the unit tests and the static checks (rustfmt, clippy, module cycles,
# caught errors), installs the extension, runs every pg_regress suite in a throwaway instance,
# the cluster-level tests, the stress tests, TPC-H with the differential corpus and PostgreSQL's
# own regression-suite queries (tests/regress-corpus.sh) against one PostgreSQL version (PG_MAJOR, 15 by default); then, for every other supported version
# (PG_FUSION_TEST_VERSIONS, "15 16 17 18" by default), clippy, the build and the pg_regress
# suites, and on the newest the TPC-H differential test too. Each part has a minute budget and
# prints the minutes it took; a line per version comes before "N passed, N failed", last.
# Exits non-zero on any failure.
#
#   scripts/test.sh                      the full suite on 15, the others on 16, 17 and 18
#   PG_MAJOR=17 scripts/test.sh          the full suite on 17
#   PG_FUSION_TEST_VERSIONS=15 scripts/test.sh   one version only
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. "$top/scripts/lib.sh"

ensure_packages
ensure_locales
main_major=$PG_MAJOR
versions=${PG_FUSION_TEST_VERSIONS:-15 16 17 18}
newest=$(tr ' ' '\n' <<<"$versions" | sort -n | tail -1)
run_start=$(date +%s)

logs=$(mktemp -d "${TMPDIR:-/tmp}/pg_fusion.test-logs.XXXXXX")
chmod 755 "$logs"
passed=0
failed=0

count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# Minute budgets: a part past its budget is reported (the whole must stay under 75 minutes).
part_start() { part_t0=$(date +%s); }
part_end() {
    local name=$1 budget=$2 secs
    secs=$(($(date +%s) - part_t0))
    awk -v n="$name" -v s="$secs" -v b="$budget" 'BEGIN {
        printf "time: %-34s %5.1f min (budget %d)%s\n", n, s / 60, b, (s > b * 60 ? "  OVER BUDGET" : "") }'
}
version_lines=()
# A version's line: what ran against it and its counts since `version_mark`.
version_mark() { mark_p=$passed; mark_f=$failed; mark_t=$(date +%s); }
version_line() {
    version_lines+=("$(awk -v v="$("$PG_CONFIG" --version)" -v w="$1" -v p=$((passed - mark_p)) \
        -v f=$((failed - mark_f)) -v s=$(($(date +%s) - mark_t)) \
        'BEGIN { printf "version: %s: %s: %d passed, %d failed (%.1f min)", v, w, p, f, s / 60 }')")
}
version_mark

# 1. Unit tests of the pure-Rust modules (no server).
log "cargo test"
part_start
cargo test >"$logs/cargo-test.log" 2>&1
rc=$?
grep -E '^test result:' "$logs/cargo-test.log" || true
read -r p f < <(awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
                     END { print p + 0, f + 0 }' "$logs/cargo-test.log")
if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
    tail -30 "$logs/cargo-test.log"
    f=1
fi
count "$p" "$f"
part_end "cargo test" 10

# 1b. Static checks: formatting, clippy with every warning an error (every unsafe block with
#     its SAFETY line), no import cycle between modules, no caught PostgreSQL ERROR dropped.
static_check() {
    local name=$1; shift
    if "$@" >"$logs/$name.log" 2>&1; then
        count 1 0
    else
        log "$name failed:"
        tail -40 "$logs/$name.log"
        count 0 1
    fi
}
log "static checks"
part_start
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    command -v rustup >/dev/null && rustup component add clippy rustfmt >/dev/null 2>&1
fi
static_check rustfmt cargo fmt --check
static_check clippy cargo clippy --all-targets -- -D warnings
static_check module-cycles python3 scripts/module-cycles.py
static_check caught-errors python3 scripts/caught-errors.py
static_check raw-bindings python3 scripts/raw-bindings.py
part_end "static checks" 8

# 2. Build and install (release, thin LTO).
part_start
if build_and_install >"$logs/install.log" 2>&1; then
    count 1 0
    log "installed $("$PG_CONFIG" --pkglibdir)/pg_fusion.so"
else
    tail -40 "$logs/install.log"
    count 0 1
    echo "$passed passed, $failed failed"
    exit 1
fi
part_end "build and install (PostgreSQL $main_major)" 25

# 3. pg_regress suites in a throwaway instance.
# pg_regress suites in a throwaway instance of $PG_CONFIG's server, counted.
regress() {
    local log=$1 rstatus good bad
    timeout 15m scripts/regress-temp.sh >"$log" 2>&1
    rstatus=$?
    grep -E '^(test |ok |not ok|#| [0-9]+ of|All [0-9]+)' "$log" || true
    # Two pg_regress runs: the suites, then the oracle pass (see scripts/regress-temp.sh).
    read -r good bad < <(awk '/All [0-9]+ tests passed/ { for (i = 1; i <= NF; i++) if ($i == "All") g += $(i + 1) }
                              /[0-9]+ of [0-9]+ tests failed/ { for (i = 1; i <= NF; i++) if ($i == "of") { b += $(i - 1); g += $(i + 1) - $(i - 1) } }
                              END { print g + 0, b + 0 }' "$log")
    if [ "$rstatus" != 0 ] && [ "$bad" = 0 ]; then
        tail -30 "$log"
        bad=1
    fi
    count "$good" "$bad"
}
log "pg_regress (throwaway instance)"
part_start
regress "$logs/regress.log"
part_end "pg_regress (PostgreSQL $main_major)" 5

# 4. Cluster-level behaviour: startup errors, preload, worker crash and restart, cleanup.
log "cluster tests"
part_start
tests/cluster.sh 2>&1 | tee "$logs/cluster.log"
read -r p f < <(sed -n 's/^cluster: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/cluster.log" | tail -1)
if [ -z "${p:-}" ]; then p=0; f=1; fi
count "$p" "$f"
part_end "cluster tests" 10

# 4b. Bounded stress: many clients on a small pool, cancels and timeouts, terminations and a
#     worker crash, a query with more leaves than scan slots (capped at about 4 minutes).
log "stress tests"
part_start
tests/stress.sh 2>&1 | tee "$logs/stress.log"
read -r p f < <(sed -n 's/^stress: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/stress.log" | tail -1)
if [ -z "${p:-}" ]; then p=0; f=1; fi
count "$p" "$f"
part_end "stress tests" 6

# 5. TPC-H (scale 0.01) and the differential corpus: every statement with pg_fusion off and on;
#    matches pass, mismatches and crashes fail, clean refusals (0A000) are listed.
tpch() {
    local log=$1 tstatus m x c
    tests/tpch.sh >"$log" 2>&1
    tstatus=$?
    grep -E '^(mismatch|error-diff|crash|classes|differential|refusals|tpch|  )' "$log" || true
    # One differential line per database locale: summed.
    read -r m x c < <(sed -n 's/^differential: \([0-9]*\) match, \([0-9]*\) mismatch, [0-9]* refused, \([0-9]*\) crash$/\1 \2 \3/p' "$log" \
        | awk 'NF == 3 { m += $1; x += $2; c += $3; n++ } END { if (n) print m, x, c }')
    if [ -z "${m:-}" ]; then
        tail -30 "$log"
        count 0 1
    else
        count "$m" $((x + c))
        # A TPC-H query refused, or anything else that failed the run.
        if [ "$tstatus" != 0 ] && [ $((x + c)) = 0 ]; then count 0 1; fi
    fi
}
log "TPC-H and differential corpus"
part_start
tpch "$logs/tpch.log"
part_end "TPC-H differential (PostgreSQL $main_major)" 10

# 6. PostgreSQL's own regression-suite SQL (tests/regress-corpus.sh): every query with pg_fusion
#    off and on; those pg_fusion runs with PostgreSQL's rows pass, mismatches and crashes fail;
#    the coverage and the refusals by reason are in the log. Without PostgreSQL's source (no
#    network) it says so and counts nothing.
log "regression-derived corpus"
part_start
tests/regress-corpus.sh >"$logs/regress-corpus.log" 2>&1
rstatus=$?
grep -E '^(mismatch|crash|regress-corpus)' "$logs/regress-corpus.log" || true
read -r rf rx rc_ < <(sed -n 's/^regress-corpus: \([0-9]*\) fusion of [0-9]* reading tables ([0-9.]*%), \([0-9]*\) mismatch, \([0-9]*\) crash.*/\1 \2 \3/p' "$logs/regress-corpus.log")
if [ -n "${rf:-}" ]; then
    count "$rf" $((rx + rc_))
    if [ "$rstatus" != 0 ] && [ $((rx + rc_)) = 0 ]; then count 0 1; fi
elif ! grep -q '^regress-corpus: no PostgreSQL source' "$logs/regress-corpus.log"; then
    tail -30 "$logs/regress-corpus.log"
    count 0 1
fi
part_end "regression corpus (PostgreSQL $main_major)" 12
version_line "full suite"

# 7. Every other version: clippy over its bindings, the build, the pg_regress suites; TPC-H with
#    the differential corpus on the newest.
for v in $versions; do
    [ "$v" = "$main_major" ] && continue
    version_mark
    if ! use_pg "$v" 2>"$logs/pg$v.log"; then
        cat "$logs/pg$v.log"
        count 0 1
        version_line "no server"
        continue
    fi
    log "PostgreSQL $v: clippy, build and install"
    part_start
    static_check "clippy-pg$v" cargo clippy --lib -- -D warnings
    if build_and_install >"$logs/install-pg$v.log" 2>&1; then
        count 1 0
    else
        tail -40 "$logs/install-pg$v.log"
        count 0 1
        version_line "build failed"
        continue
    fi
    part_end "clippy, build (PostgreSQL $v)" 12
    log "PostgreSQL $v: pg_regress"
    part_start
    regress "$logs/regress-pg$v.log"
    part_end "pg_regress (PostgreSQL $v)" 5
    what="build, pg_regress"
    if [ "$v" = "$newest" ]; then
        log "PostgreSQL $v: TPC-H and differential corpus"
        part_start
        tpch "$logs/tpch-pg$v.log"
        part_end "TPC-H differential (PostgreSQL $v)" 10
        what="$what, TPC-H differential"
    fi
    version_line "$what"
done

log "logs in $logs"
printf '%s\n' "${version_lines[@]}"
awk -v s=$(($(date +%s) - run_start)) 'BEGIN { printf "time: whole run %.1f min (budget 75)\n", s / 60 }'
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
