#!/usr/bin/env bash
# Makes sure the services the tests use are up on loopback, starting any that stopped.
# Usage: scripts/services.sh [postgres] [redis] [rabbitmq] [clickhouse]
#        (no argument: postgres, redis and rabbitmq)
# On a machine where they are not installed, install PostgreSQL 15, Redis 7 and RabbitMQ 3.10 from
# your distribution (Debian: apt-get install postgresql redis-server rabbitmq-server), or point
# TEST_DATABASE_URL / REDIS_URL / RABBITMQ_URL at servers of your own. ClickHouse is installed here
# when missing (Debian's clickhouse-server, 18.16), or point TEST_CLICKHOUSE_URL at your own.
set -euo pipefail

wait_for() { # name, tries, command...
  local name=$1 tries=$2
  shift 2
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "services: $name did not come up" >&2
  return 1
}

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  echo "services: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
  else
    echo "services: PostgreSQL is not running on 127.0.0.1:5432 and pg_ctlcluster is missing" >&2
    return 1
  fi
  wait_for postgres 30 pg_isready -h 127.0.0.1 -p 5432 -q
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return 0; fi
  echo "services: starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_for redis 30 sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG'
}

ensure_rabbitmq() {
  if rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then return 0; fi
  echo "services: starting RabbitMQ"
  rabbitmq-server -detached || true
  # await_startup exits 69 at once while the node is still registering: retry it.
  wait_for rabbitmq 90 rabbitmqctl await_startup
}

ensure_clickhouse() {
  if curl -fsS -m 2 http://127.0.0.1:8123/ping >/dev/null 2>&1; then return 0; fi
  if ! command -v clickhouse-server >/dev/null; then
    echo "services: installing ClickHouse (clickhouse-server)"
    apt-get install -y -qq clickhouse-server >/dev/null ||
      { apt-get update -qq && apt-get install -y -qq clickhouse-server >/dev/null; }
  fi
  echo "services: starting ClickHouse"
  mkdir -p /run/clickhouse-server
  chown clickhouse /run/clickhouse-server
  # --daemon reports success even when the server dies at once: the ping below is the check.
  runuser -u clickhouse -- clickhouse-server --daemon \
    --config-file=/etc/clickhouse-server/config.xml \
    --pid-file=/run/clickhouse-server/clickhouse-server.pid
  wait_for clickhouse 30 curl -fsS -m 2 http://127.0.0.1:8123/ping
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(postgres redis rabbitmq)
for target in "${targets[@]}"; do
  case "$target" in
    postgres) ensure_postgres ;;
    redis) ensure_redis ;;
    rabbitmq) ensure_rabbitmq ;;
    clickhouse) ensure_clickhouse ;;
    *) echo "services: unknown service $target" >&2; exit 2 ;;
  esac
done
