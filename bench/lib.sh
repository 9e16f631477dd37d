# Shared by bench/run and bench/merge (sourced, not run): the server, psql, timing, workload files.
# Expects $root (the repository), $reuse and $keep (0/1) to be set by the caller.
python=/usr/bin/python3
bench=$root/bench
bin=${PGDEST_BIN:-$root/build/destination-postgres}
gen=$root/bench/gen_messages.py

bench_check_tools() {
  [ -x "$bin" ] || { echo "$0: $bin is missing; build first (scripts/setup)" >&2; exit 1; }
  [ -f "$gen" ] || { echo "$0: the generator $gen is missing" >&2; exit 1; }
  [ -x /usr/bin/time ] || { echo "$0: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
  command -v psql >/dev/null || { echo "$0: psql is missing (apt-get install postgresql-client)" >&2; exit 1; }
}

# PostgreSQL's own defaults for the settings scripts/pg-sandbox raises: with stock=1
# (--stock-server) the benchmark's server keeps these, as many users' servers do.
stock_settings="shared_buffers = 128MB
max_wal_size = 1GB
checkpoint_timeout = 5min"

# Starts a durable throwaway server (or takes the PGDEST_TEST_* one with reuse=1) and exports the
# PG* variables psql uses; bench_stop_server (from the EXIT trap) stops and deletes it. Sets
# server_kind to a description of the server for the results.
sandbox=
bench_start_server() {
  if [ "$reuse" = 1 ]; then
    : "${PGDEST_TEST_HOST:?--reuse-server needs the PGDEST_TEST_* variables (source scripts/pg-sandbox DIR/env)}"
    [ "${stock:-0}" = 0 ] || { echo "$0: --stock-server starts a server of its own; it does not go with --reuse-server" >&2; exit 2; }
    server_kind="the server in PGDEST_TEST_* (--reuse-server), as it is set up"
  else
    sandbox=$(mktemp -d /tmp/pgdest-bench-pg.XXXXXX)
    local port settings=${PGSANDBOX_SETTINGS:-}
    port=$("$root/scripts/free-port" 55700)
    server_kind="the benchmark's own, durable, tuned (scripts/pg-sandbox: shared_buffers 512MB, max_wal_size 4GB, checkpoint_timeout 30min)"
    if [ "${stock:-0}" = 1 ]; then
      settings=$stock_settings${settings:+$'\n'$settings}
      server_kind="the benchmark's own, durable, with PostgreSQL's stock settings (--stock-server: shared_buffers 128MB, max_wal_size 1GB, checkpoint_timeout 5min)"
    fi
    PGSANDBOX_DURABLE=1 PGSANDBOX_SETTINGS=$settings "$root/scripts/pg-sandbox" start "$sandbox" "$port" >/dev/null
    # shellcheck disable=SC1091
    source "$sandbox/env"
    [ "$keep" = 1 ] && echo "server kept running: source $sandbox/env; stop it with scripts/pg-sandbox stop $sandbox" >&2
  fi
  export PGHOST=$PGDEST_TEST_HOST PGPORT=$PGDEST_TEST_PORT PGDATABASE=$PGDEST_TEST_DATABASE \
    PGUSER=$PGDEST_TEST_USER PGPASSWORD=$PGDEST_TEST_PASSWORD PGSSLMODE=prefer
  datadir=$(q -c "SHOW data_directory" 2>/dev/null || true)
}
bench_stop_server() {
  if [ -n "$sandbox" ] && [ "$keep" = 0 ]; then
    "$root/scripts/pg-sandbox" stop "$sandbox" || true
    rm -rf "$sandbox"
  fi
}

write_config() { # file schema
  cat > "$1" <<JSON
{"host": "$PGHOST", "port": $PGPORT, "database": "$PGDATABASE", "schema": "$2",
 "username": "$PGUSER", "password": "$PGPASSWORD", "ssl_mode": {"mode": "prefer"}}
JSON
}

q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }

# CPU seconds the server has used so far ("nan" if its processes cannot be read).
server_cpu() {
  if [ -n "${datadir:-}" ] && [ -r "$datadir/postmaster.pid" ]; then $python "$bench/server_cpu.py" "$datadir"; else echo nan; fi
}
wal_lsn() { q -c "SELECT pg_current_wal_lsn()"; }
wal_bytes() { q -c "SELECT pg_wal_lsn_diff('$2', '$1')::bigint"; }

# timed TIMEFILE CMD...: TIMEFILE's last line is "wall-s peak-RSS-KiB user-s sys-s".
timed() {
  local tf=$1; shift
  /usr/bin/time -f '%e %M %U %S' -o "$tf" "$@"
}

# append_complete CATALOG MESSAGES: one TRACE STREAM_STATUS COMPLETE per stream of the catalog.
append_complete() {
  $python - "$1" >> "$2" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["streams"]:
    d = {"name": s["stream"]["name"]}
    if "namespace" in s["stream"]:
        d["namespace"] = s["stream"]["namespace"]
    print(json.dumps({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": 1700000000000,
                      "stream_status": {"stream_descriptor": d, "status": "COMPLETE"}}}, separators=(",", ":")))
PY
}

# CPU seconds the whole machine has been busy (user, nice, system, irq, softirq; all CPUs).
machine_cpu() { awk -v tick="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f\n", ($2 + $3 + $4 + $7 + $8) / tick; exit }' /proc/stat; }

# binary_identity: the binary's build time and checksum (others may rebuild it during a run).
binary_identity() { printf '%s, built %s, sha256 %s' "$bin" "$(date -u -r "$bin" '+%Y-%m-%d %H:%M:%S UTC')" "$(sha256sum "$bin" | cut -c1-12)"; }
