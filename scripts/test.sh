#!/usr/bin/env bash
# The README's test command. On a fresh Debian/Ubuntu machine (as root) it installs what is
# missing, builds, runs the unit tests and the static checks (rustfmt, clippy, module cycles,
# caught errors), installs the extension, runs every pg_regress suite in a throwaway instance,
# the cluster-level tests, the stress tests and TPC-H with the differential corpus, then prints
# "N passed, N failed" last.
# Exits non-zero on any failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
. "$top/scripts/lib.sh"

ensure_packages

logs=$(mktemp -d "${TMPDIR:-/tmp}/pg_fusion.test-logs.XXXXXX")
chmod 755 "$logs"
passed=0
failed=0

count() { passed=$((passed + $1)); failed=$((failed + $2)); }

# 1. Unit tests of the pure-Rust modules (no server).
log "cargo test"
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
if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    command -v rustup >/dev/null && rustup component add clippy rustfmt >/dev/null 2>&1
fi
static_check rustfmt cargo fmt --check
static_check clippy cargo clippy --all-targets -- -D warnings
static_check module-cycles python3 scripts/module-cycles.py
static_check caught-errors python3 scripts/caught-errors.py
static_check raw-bindings python3 scripts/raw-bindings.py

# 2. Build and install (release, thin LTO).
if build_and_install >"$logs/install.log" 2>&1; then
    count 1 0
    log "installed $("$PG_CONFIG" --pkglibdir)/pg_fusion.so"
else
    tail -40 "$logs/install.log"
    count 0 1
    echo "$passed passed, $failed failed"
    exit 1
fi

# 3. pg_regress suites in a throwaway instance.
log "pg_regress (throwaway instance)"
scripts/regress-temp.sh >"$logs/regress.log" 2>&1
rstatus=$?
grep -E '^(test |ok |not ok|#| [0-9]+ of|All [0-9]+)' "$logs/regress.log" || true
# Two pg_regress runs: the suites, then the oracle pass (see scripts/regress-temp.sh).
read -r good bad < <(awk '/All [0-9]+ tests passed/ { for (i = 1; i <= NF; i++) if ($i == "All") g += $(i + 1) }
                          /[0-9]+ of [0-9]+ tests failed/ { for (i = 1; i <= NF; i++) if ($i == "of") { b += $(i - 1); g += $(i + 1) - $(i - 1) } }
                          END { print g + 0, b + 0 }' "$logs/regress.log")
if [ "$rstatus" != 0 ] && [ "$bad" = 0 ]; then
    tail -30 "$logs/regress.log"
    bad=1
fi
count "$good" "$bad"

# 4. Cluster-level behaviour: startup errors, preload, worker crash and restart, cleanup.
log "cluster tests"
tests/cluster.sh 2>&1 | tee "$logs/cluster.log"
read -r p f < <(sed -n 's/^cluster: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/cluster.log" | tail -1)
if [ -z "${p:-}" ]; then p=0; f=1; fi
count "$p" "$f"

# 4b. Bounded stress: many clients on a small pool, cancels and timeouts, terminations and a
#     worker crash, a query with more leaves than scan slots (capped at about 4 minutes).
log "stress tests"
tests/stress.sh 2>&1 | tee "$logs/stress.log"
read -r p f < <(sed -n 's/^stress: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$logs/stress.log" | tail -1)
if [ -z "${p:-}" ]; then p=0; f=1; fi
count "$p" "$f"

# 5. TPC-H (scale 0.01) and the differential corpus: every statement with pg_fusion off and on;
#    matches pass, mismatches and crashes fail, clean refusals (0A000) are listed.
log "TPC-H and differential corpus"
tests/tpch.sh >"$logs/tpch.log" 2>&1
tstatus=$?
grep -E '^(mismatch|error-diff|crash|classes|differential|refusals|tpch|  )' "$logs/tpch.log" || true
read -r m x c < <(sed -n 's/^differential: \([0-9]*\) match, \([0-9]*\) mismatch, [0-9]* refused, \([0-9]*\) crash$/\1 \2 \3/p' "$logs/tpch.log" | tail -1)
if [ -z "${m:-}" ]; then
    tail -30 "$logs/tpch.log"
    count 0 1
else
    count "$m" $((x + c))
    # A TPC-H query refused, or anything else that failed the run.
    if [ "$tstatus" != 0 ] && [ $((x + c)) = 0 ]; then count 0 1; fi
fi

log "logs in $logs"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
