# shellcheck shell=bash disable=SC2034  # globals are read by the sourcing script
# Shared by benches/bench-token and benches/bench-refresh; sourced, not run.
#
# Backends and rounds, throwaway databases (a SQLite file, or a database in a
# throwaway PostgreSQL cluster started with .ci/pg), the release server, CPU
# accounting and medians. The caller sets BENCH_NAME, works from the
# repository root and calls bench_init before anything else.

NPROC=$(nproc)

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }

check_backend() {
    case $1 in
        sqlite | postgres) ;;
        *) die "unknown database '$1' (sqlite or postgres)" ;;
    esac
}

check_count() {   # <option> <value>: a whole number >= 1
    [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a whole number >= 1, not '$2'"
}

# The backend of every round, in order: with --compare the two backends
# alternate (sqlite, postgres, sqlite, ...) so drift on the machine hits both
# alike; otherwise the chosen backend ROUNDS times.
round_backends() {
    local r
    for ((r = 1; r <= ROUNDS; r++)); do
        if (( COMPARE )); then echo sqlite postgres; else echo "$BACKEND"; fi
    done
}

# --- CPU accounting, in clock ticks ---------------------------------------
# System-wide: "<busy> <total>" over all cores.
sys_ticks() { awk '/^cpu / { t = $2+$3+$4+$5+$6+$7+$8+$9; print t-$5-$6, t }' /proc/stat; }
# One process: utime+stime (own) or cutime+cstime (reaped children).
# Fields are counted after the ")" that ends the command name.
proc_ticks()     { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
children_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $14 + $15 }'; }
# A process with its reaped and its live children: a PostgreSQL postmaster
# and its backends. A backend that starts and exits within a measurement is
# counted whole; one that exits is counted once, in the postmaster's cutime.
tree_ticks() {
    # cat fails when a process exits between the glob and the read.
    { cat /proc/[0-9]*/stat 2>/dev/null || true; } | sed 's/^\([0-9]*\) .*) /\1 /' | awk -v p="$1" '
        $1 == p { t += $13 + $14 + $15 + $16 }
        $3 == p { t += $13 + $14 }
        END { print t + 0 }'
}
# <ticks> as a percentage of <total ticks>.
pct() { awk -v a="$1" -v t="$2" 'BEGIN { printf "%.0f", (t > 0) ? 100 * a / t : 0 }'; }

# CPU of the database server: none apart for SQLite, which runs inside tessera.
db_ticks() {
    if [[ $TESSERA_DATABASE == postgres://* ]]; then tree_ticks "$pg_pid"; else echo 0; fi
}

# measure_begin / measure_end bracket a measured load run started from this
# shell. They set cpu_total (all cores), cpu_srv (tessera), cpu_db
# (PostgreSQL), cpu_load (this shell's reaped children: the load generator)
# and cpu_other (everything else), all in ticks.
measure_begin() {
    read -r m_busy0 m_total0 < <(sys_ticks)
    m_srv0=$(proc_ticks "$server_pid")
    m_db0=$(db_ticks)
    m_kids0=$(children_ticks $$)
}
measure_end() {
    local busy1 total1
    read -r busy1 total1 < <(sys_ticks)
    cpu_srv=$(( $(proc_ticks "$server_pid") - m_srv0 ))
    cpu_db=$(( $(db_ticks) - m_db0 ))
    cpu_load=$(( $(children_ticks $$) - m_kids0 ))
    cpu_total=$(( total1 - m_total0 ))
    cpu_other=$(( busy1 - m_busy0 - cpu_srv - cpu_db - cpu_load ))
    (( cpu_other < 0 )) && cpu_other=0
    return 0
}
# "tessera 61%, postgres 25%, wrk 9%, other 1%" (postgres only when used).
cpu_line() {
    local db=
    [[ $TESSERA_DATABASE == postgres://* ]] && db="postgres $(pct "$cpu_db" "$cpu_total")%, "
    echo "tessera $(pct "$cpu_srv" "$cpu_total")%, ${db}$1 $(pct "$cpu_load" "$cpu_total")%, other $(pct "$cpu_other" "$cpu_total")%"
}

# Median of the arguments.
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- tools and build ------------------------------------------------------
ensure_wrk() {
    if ! command -v wrk >/dev/null 2>&1; then
        echo "== installing wrk (Debian package)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
    fi
    command -v curl >/dev/null 2>&1 || die "curl not found"
    command -v python3 >/dev/null 2>&1 || die "python3 not found"
}

build_release() {
    echo "== cargo build --release --locked"
    cargo build --release --locked
    BIN=$PWD/target/release/tessera
}

# --- temporary files, databases, cleanup ----------------------------------
bench_init() {
    tmp=$(mktemp -d)
    server_pid=
    pg_dir=
    pg_url=
    pg_pid=
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    stop_server
    if [[ -n $pg_dir ]]; then
        .ci/pg stop "$pg_dir" >/dev/null 2>"$tmp/pg-stop.err" \
            || echo "$BENCH_NAME: .ci/pg stop $pg_dir failed: $(cat "$tmp/pg-stop.err")" >&2
    fi
    rm -rf "$tmp"
}

# Starts the throwaway cluster on first use; it lives until the script ends.
# Its directory is not under $tmp: the server runs as `postgres`, which must
# be able to reach it.
pg_cluster_up() {
    [[ -n $pg_url ]] && return 0
    pg_dir=$(mktemp -d -t tessera-bench-pg.XXXXXX)
    echo "== PostgreSQL: throwaway cluster (.ci/pg start $pg_dir)"
    # Durable as the SQLite file is: synchronous_commit off, fsync on.
    pg_url=$(PG_DURABILITY=sqlite-normal .ci/pg start "$pg_dir" 2>"$tmp/pg-start.err") \
        || die "could not start PostgreSQL: $(tail -n 5 "$tmp/pg-start.err")"
    pg_pid=$(cat "$pg_dir/pid")
    PSQL=$(for p in /usr/lib/postgresql/*/bin/psql; do if [[ -x $p ]]; then echo "$p"; fi; done | sort -V | tail -n 1)
    [[ -n $PSQL ]] || PSQL=$(command -v psql) || die "psql not found"
}

# Starts the cluster before the first round if any round needs it, so every
# round runs beside the same (idle or busy) cluster.
prepare_backends() {
    if [[ " $* " == *" postgres "* ]]; then pg_cluster_up; fi
}

pg_sql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$pg_url" -c "$1" >/dev/null; }

# Exports TESSERA_DATABASE as a new, empty database <name> on <backend>.
use_new_database() {
    case $1 in
        sqlite) TESSERA_DATABASE=$tmp/$2.db ;;
        postgres)
            pg_cluster_up
            pg_sql "CREATE DATABASE $2" || die "could not create database $2"
            TESSERA_DATABASE=${pg_url%/*}/$2
            ;;
    esac
    export TESSERA_DATABASE
}

# Frees the round's database (the server must be stopped).
drop_database() {
    case $TESSERA_DATABASE in
        postgres://*) pg_sql "DROP DATABASE ${TESSERA_DATABASE##*/}" || true ;;
        *) rm -f "$TESSERA_DATABASE" "$TESSERA_DATABASE-wal" "$TESSERA_DATABASE-shm" ;;
    esac
}

# --- server ---------------------------------------------------------------
# Picks a free loopback port and exports the server's address settings.
# Call before the CLI so it sees the same issuer as the server.
choose_address() {
    # Bind port 0 to let the kernel pick a free loopback port.
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base=http://127.0.0.1:$port
    export TESSERA_BIND=127.0.0.1:$port
    export TESSERA_ISSUER=$base
    # warn: the per-request access log at info level costs throughput.
    export RUST_LOG=warn
}

start_server() {
    "$BIN" serve >"$tmp/server.out" 2>"$tmp/server.err" &
    server_pid=$!
    for _ in $(seq 1 300); do   # 300 x 0.1 s = 30 s
        curl -sf "$base/healthz" >/dev/null 2>&1 && break
        kill -0 "$server_pid" 2>/dev/null || die "server exited: $(cat "$tmp/server.err")"
        sleep 0.1
    done
    curl -sf "$base/healthz" >/dev/null || die "server not healthy after 30 s: $(cat "$tmp/server.err")"
}

stop_server() {
    if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    server_pid=
}
