#!/usr/bin/env bash
# Makes sure the PostgreSQL and Redis that `make run` and `make test` use are
# up. It starts a local server that is installed but stopped, and says what
# to install when one is missing. With DATABASE_URL / REDIS_URL pointing
# elsewhere it leaves the local servers alone.
set -euo pipefail

PGHOST_LOCAL=127.0.0.1
want_pg=1; want_redis=1
case "${DATABASE_URL:-}" in ""|*127.0.0.1*|*localhost*) ;; *) want_pg=0 ;; esac
case "${REDIS_URL-unset}" in unset|*127.0.0.1*|*localhost*) ;; *) want_redis=0 ;; esac

if [ "$want_pg" = 1 ] && ! pg_isready -q -h "$PGHOST_LOCAL" -p 5432 2>/dev/null; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "PostgreSQL is not installed. Install it with: apt-get install -y postgresql postgresql-client" >&2
    echo "(or set DATABASE_URL to a reachable PostgreSQL 13+ server)" >&2
    exit 1
  fi
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h "$PGHOST_LOCAL" -p 5432 && break; sleep 1; done
  pg_isready -h "$PGHOST_LOCAL" -p 5432 >/dev/null || { echo "PostgreSQL did not come up" >&2; exit 1; }
fi

if [ "$want_redis" = 1 ] && ! (command -v redis-cli >/dev/null 2>&1 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1); then
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "Redis is not installed. Install it with: apt-get install -y redis-server" >&2
    echo "(or set REDIS_URL to a reachable Redis 6+ server, or REDIS_URL= to run without Redis)" >&2
    exit 1
  fi
  echo "starting Redis" >&2
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

# `make run` works in its own database, created on first use, on the server
# and as the user DATABASE_URL names. A server that asks for a password gets
# the one in DATABASE_URL (postgres://user:PASSWORD@host/db) or PGPASSWORD.
if [ "${1:-}" = "--create-db" ]; then
  url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/onestop?sslmode=disable}"
  case "$url" in
    postgres://*|postgresql://*) ;;
    *) echo "DATABASE_URL must be a postgres:// URL for --create-db (e.g. postgres://user:password@host:5432/onestop)" >&2; exit 1 ;;
  esac
  # The database name: the URL's path, without its query.
  db=$(printf '%s' "$url" | sed -E 's#^[^/]*//[^/]*/?##; s#\?.*##')
  db="${db:-onestop}"
  # The same server and user, connected to the maintenance database.
  admin_url=$(printf '%s' "$url" | sed -E 's#^([^/]*//[^/?]*)(/[^?]*)?#\1/postgres#')
  redacted=$(printf '%s' "$url" | sed -E 's#^([^/]*//[^:/@]*):[^@/]*@#\1:xxxxx@#')
  if ! exists=$(psql -w "$admin_url" -v ON_ERROR_STOP=1 -tAc "SELECT 1 FROM pg_database WHERE datname = '$(printf '%s' "$db" | sed "s/'/''/g")'"); then
    echo "cannot reach PostgreSQL at $redacted (if it asks for a password, put it in DATABASE_URL or PGPASSWORD)" >&2
    exit 1
  fi
  if [ "$exists" != 1 ]; then
    echo "creating database $db at $redacted" >&2
    psql -w "$admin_url" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE \"$(printf '%s' "$db" | sed 's/"/""/g')\""
  fi
fi
