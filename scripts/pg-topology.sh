#!/usr/bin/env bash
# The scaled data tier on loopback, for the topology tests and for trying snip with replicas:
#   a PostgreSQL primary, a streaming hot standby of it, and a PgBouncer (transaction pooling) in
#   front of each. Clusters of their own (never the shared one on 5432), made with initdb and
#   pg_basebackup under $SNIP_TOPOLOGY_DIR, so nothing is registered with Debian's pg_ctlcluster.
#
#   part              default port  env override
#   primary           5442          SNIP_TOPOLOGY_PRIMARY_PORT
#   replica           5443          SNIP_TOPOLOGY_REPLICA_PORT
#   bouncer-primary   6442          SNIP_TOPOLOGY_BOUNCER_PRIMARY_PORT
#   bouncer-replica   6443          SNIP_TOPOLOGY_BOUNCER_REPLICA_PORT
#
# Usage: scripts/pg-topology.sh up|down|status
#        scripts/pg-topology.sh stop|freeze|thaw <part>   (fault tests; `up` starts what is stopped)
# `up` is idempotent and returns at once when every part answers. Installs PgBouncer with apt-get
# when missing (as root, or through sudo). Needs PostgreSQL 15 server binaries (package postgresql).
# Trust auth on loopback, fsync off: a test and development topology, not a production one.
set -euo pipefail

DIR=${SNIP_TOPOLOGY_DIR:-/var/lib/postgresql/snip-topology}
PRIMARY_PORT=${SNIP_TOPOLOGY_PRIMARY_PORT:-5442}
REPLICA_PORT=${SNIP_TOPOLOGY_REPLICA_PORT:-5443}
BOUNCER_PRIMARY_PORT=${SNIP_TOPOLOGY_BOUNCER_PRIMARY_PORT:-6442}
BOUNCER_REPLICA_PORT=${SNIP_TOPOLOGY_BOUNCER_REPLICA_PORT:-6443}
SLOT=snip_replica

say() { echo "pg-topology: $*" >&2; }

if [[ $EUID -eq 0 ]]; then
  as_root=()
  as_postgres=(runuser -u postgres --)
elif [[ $(id -un) == postgres ]]; then
  as_root=(sudo -n)
  as_postgres=()
else
  as_root=(sudo -n)
  as_postgres=(sudo -n -u postgres)
fi

pg_bin() {
  local version
  version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n1)
  [[ -n $version ]] || {
    say "PostgreSQL server binaries are missing (Debian: apt-get install postgresql)"
    exit 1
  }
  echo "/usr/lib/postgresql/$version/bin"
}
BIN=$(pg_bin)

pgbouncer_bin() { command -v pgbouncer || echo /usr/sbin/pgbouncer; }

install_pgbouncer() {
  [[ -x $(pgbouncer_bin) ]] && return 0
  say "installing pgbouncer"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends pgbouncer; then
    "${as_root[@]}" apt-get update -q
    "${as_root[@]}" apt-get install -y -q --no-install-recommends pgbouncer
  fi
}

ready() { "$BIN/pg_isready" -h 127.0.0.1 -p "$1" -U postgres -d postgres -q -t 1 >/dev/null 2>&1; }

wait_ready() { # name port tries(×0.1 s)
  for ((i = 0; i < $3; i++)); do
    ready "$2" && return 0
    sleep 0.1
  done
  say "$1 did not come up on port $2"
  return 1
}

pg_ctl() { "${as_postgres[@]}" "$BIN/pg_ctl" "$@"; }

# Settings both clusters share: loopback only, fast and unsafe on a crash (test data).
common_conf() { # port
  cat <<EOF
# Written by scripts/pg-topology.sh
port = $1
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
max_connections = 100
shared_buffers = 32MB
fsync = off
full_page_writes = off
synchronous_commit = on
wal_level = replica
max_wal_senders = 5
max_replication_slots = 5
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
logging_collector = off
EOF
}

hba() {
  cat <<EOF
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
EOF
}

create_primary() {
  say "creating the primary cluster in $DIR/primary"
  "${as_postgres[@]}" rm -rf "$DIR/primary" "$DIR/replica"
  "${as_postgres[@]}" "$BIN/initdb" -D "$DIR/primary" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >/dev/null
  common_conf "$PRIMARY_PORT" | "${as_postgres[@]}" tee "$DIR/primary/postgresql.auto.conf" >/dev/null
  hba | "${as_postgres[@]}" tee "$DIR/primary/pg_hba.conf" >/dev/null
}

start_cluster() { # name port
  ready "$2" && return 0
  # A postmaster.pid left by a process that is gone (a killed machine) would stop pg_ctl.
  pg_ctl -D "$DIR/$1" -l "$DIR/$1.log" -w -t 30 start >/dev/null
  wait_ready "$1" "$2" 100
}

create_replica() {
  say "creating the replica in $DIR/replica (pg_basebackup of the primary)"
  "${as_postgres[@]}" rm -rf "$DIR/replica"
  "${as_postgres[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -d postgres -qAt -c \
    "SELECT pg_drop_replication_slot('$SLOT') FROM pg_replication_slots WHERE slot_name = '$SLOT'" >/dev/null
  # -c fast: without it the backup waits for the next checkpoint (minutes).
  "${as_postgres[@]}" "$BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$DIR/replica" -R -X stream -c fast -C -S "$SLOT"
  # The backup copied the primary's settings: only the port differs.
  echo "port = $REPLICA_PORT" | "${as_postgres[@]}" tee -a "$DIR/replica/postgresql.auto.conf" >/dev/null
}

bouncer_ini() { # name listen-port server-port
  cat <<EOF
; Written by scripts/pg-topology.sh; timeouts explained in docs/operations.md ("Timeouts").
[databases]
* = host=127.0.0.1 port=$3

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $2
unix_socket_dir = $DIR
auth_type = trust
auth_file = $DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
min_pool_size = 0
reserve_pool_size = 0
pidfile = $DIR/$1.pid
logfile = $DIR/$1.log
ignore_startup_parameters = extra_float_digits
; A client waits at most this long for a server connection, then gets an error (not a hang).
query_wait_timeout = 5
; Connecting (and logging in) to the server: at most 2 s per attempt.
server_connect_timeout = 2
; After a failed login, wait this long before trying the server again (PgBouncer's default is 15).
server_login_retry = 1
; Server connections idle this long are closed; clients idle any time are kept (the pool decides).
server_idle_timeout = 60
client_idle_timeout = 0
server_check_delay = 10
; A server connection that stopped answering mid-query is given up on by the app's query timeout.
query_timeout = 0
tcp_keepalive = 1
EOF
}

start_bouncer() { # name listen-port server-port
  ready "$2" && return 0
  printf '"postgres" ""\n' | "${as_postgres[@]}" tee "$DIR/userlist.txt" >/dev/null
  bouncer_ini "$1" "$2" "$3" | "${as_postgres[@]}" tee "$DIR/$1.ini" >/dev/null
  "${as_postgres[@]}" "$(pgbouncer_bin)" -d -q "$DIR/$1.ini"
  wait_ready "$1" "$2" 50
}

pid_of() { # part
  case "$1" in
    primary | replica) head -n1 "$DIR/$1/postmaster.pid" 2>/dev/null || true ;;
    bouncer-primary | bouncer-replica) cat "$DIR/$1.pid" 2>/dev/null || true ;;
    *)
      say "unknown part $1 (primary, replica, bouncer-primary, bouncer-replica)"
      exit 2
      ;;
  esac
}

port_of() {
  case "$1" in
    primary) echo "$PRIMARY_PORT" ;;
    replica) echo "$REPLICA_PORT" ;;
    bouncer-primary) echo "$BOUNCER_PRIMARY_PORT" ;;
    bouncer-replica) echo "$BOUNCER_REPLICA_PORT" ;;
  esac
}

stop_part() { # part
  local pid
  pid=$(pid_of "$1")
  case "$1" in
    primary | replica)
      [[ -f $DIR/$1/postmaster.pid ]] && pg_ctl -D "$DIR/$1" -m fast -w -t 30 stop >/dev/null || true
      ;;
    *)
      if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        # SIGTERM: immediate shutdown (SIGINT would wait for clients to finish).
        kill -TERM "$pid"
        for ((i = 0; i < 50; i++)); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
      fi
      ;;
  esac
}

# The postmaster and its children (a frozen cluster answers nothing); PgBouncer is one process.
pids_of_tree() {
  local pid
  pid=$(pid_of "$1")
  [[ -n $pid ]] || return 0
  echo "$pid"
  ps -o pid= --ppid "$pid" || true
}

up() {
  if ready "$PRIMARY_PORT" && ready "$REPLICA_PORT" && ready "$BOUNCER_PRIMARY_PORT" &&
    ready "$BOUNCER_REPLICA_PORT"; then
    return 0
  fi
  install_pgbouncer
  "${as_root[@]}" install -d -o postgres -g postgres -m 700 "$DIR"
  # Thawed first: a part a fault test froze and never thawed would look down forever.
  for part in primary replica; do
    for pid in $(pids_of_tree "$part"); do kill -CONT "$pid" 2>/dev/null || true; done
  done
  if [[ ! -f $DIR/primary/PG_VERSION ]]; then create_primary; fi
  start_cluster primary "$PRIMARY_PORT"
  if [[ ! -f $DIR/replica/standby.signal ]]; then create_replica; fi
  start_cluster replica "$REPLICA_PORT"
  start_bouncer bouncer-primary "$BOUNCER_PRIMARY_PORT" "$PRIMARY_PORT"
  start_bouncer bouncer-replica "$BOUNCER_REPLICA_PORT" "$REPLICA_PORT"
}

status() {
  local part port state all=0
  for part in primary replica bouncer-primary bouncer-replica; do
    port=$(port_of "$part")
    if ready "$port"; then state=up; else
      state=down
      all=1
    fi
    printf '%-16s 127.0.0.1:%s %s\n' "$part" "$port" "$state"
  done
  return $all
}

case "${1:-}" in
  up) up ;;
  down) for part in bouncer-replica bouncer-primary replica primary; do stop_part "$part"; done ;;
  status) status ;;
  stop) stop_part "${2:?part}" ;;
  freeze) for pid in $(pids_of_tree "${2:?part}"); do kill -STOP "$pid"; done ;;
  thaw) for pid in $(pids_of_tree "${2:?part}"); do kill -CONT "$pid" 2>/dev/null || true; done ;;
  *)
    echo "usage: $0 up|down|status|stop <part>|freeze <part>|thaw <part>" >&2
    exit 2
    ;;
esac
