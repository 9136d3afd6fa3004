# Shared helpers for pg_fusion's scripts. Source it; do not run it.

PG_CONFIG=${PG_CONFIG:-pg_config}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/pg_fusion/target}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as the OS user that runs PostgreSQL servers (postgres when we are root).
as_pg() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

pg_bindir() { "$PG_CONFIG" --bindir; }

# A directory the server user owns.
pg_owned_tmpdir() {
    local d
    d=$(mktemp -d "${TMPDIR:-/tmp}/pg_fusion.$1.XXXXXX")
    chmod 755 "$d"
    if is_root; then chown postgres:postgres "$d"; fi
    printf '%s\n' "$d"
}

# Install the system packages the build and tests need, when missing (Debian/Ubuntu, as root).
ensure_packages() {
    local want=(postgresql-15 postgresql-server-dev-15 libclang-dev make gcc)
    local missing=()
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        is_root || die "missing packages: ${missing[*]} (run as root to install them)"
        log "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -q "${missing[@]}" >/tmp/pg_fusion-apt.log 2>&1; then
            apt-get update -q >>/tmp/pg_fusion-apt.log 2>&1
            apt-get install -y -q "${missing[@]}" >>/tmp/pg_fusion-apt.log 2>&1 \
                || die "apt-get install failed; see /tmp/pg_fusion-apt.log"
        fi
    fi
    if ! command -v cargo >/dev/null; then
        [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null || die "cargo not found: install a Rust toolchain (1.85 or later, e.g. with rustup)"
    if [ -z "${PG_CONFIG_SET:-}" ] && [ -x /usr/lib/postgresql/15/bin/pg_config ] && ! "$PG_CONFIG" --version 2>/dev/null | grep -q "PostgreSQL 1[5-9]"; then
        PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
    fi
    export PG_CONFIG
    id postgres >/dev/null 2>&1 || die "no postgres OS user (the postgresql package creates it)"
}

# Build and install the extension into $PG_CONFIG's directories.
build_and_install() {
    log "building and installing pg_fusion (cargo target dir: $CARGO_TARGET_DIR)"
    make -s PG_CONFIG="$PG_CONFIG" >/dev/null
    make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# Create a scratch cluster in $1 listening on port $2 (unix socket in $1), pg_fusion preloaded
# unless $3 = nopreload. Extra postgresql.conf lines come on stdin.
init_cluster() {
    local dir=$1 port=$2 preload=${3:-preload}
    as_pg "$(pg_bindir)/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    {
        echo "port = $port"
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$dir'"
        echo "fsync = off"
        echo "pg_fusion.log_path = '$dir/pg_fusion.log'"
        [ "$preload" = preload ] && echo "shared_preload_libraries = 'pg_fusion'"
        cat
    } | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
}

start_cluster() { as_pg "$(pg_bindir)/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 start >/dev/null; }
stop_cluster() { as_pg "$(pg_bindir)/pg_ctl" -D "$1/data" -m immediate -w stop >/dev/null 2>&1 || true; }

# psql against the scratch cluster in $1 on port $2.
psql_at() {
    local dir=$1 port=$2; shift 2
    as_pg "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$port" -U postgres -d postgres "$@"
}
