#!/usr/bin/env bash
# Make sure a PostgreSQL answers at DATABASE_URL's host and port (default
# 127.0.0.1:5432); start the local cluster if it is installed but stopped.
set -euo pipefail
url="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/escalate?sslmode=disable}"
hostport="${url#*@}"; hostport="${hostport%%/*}"
host="${hostport%%:*}"; port="${hostport##*:}"
[ "$port" = "$host" ] && port=5432

ready() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
if ready; then exit 0; fi
if ! command -v pg_isready >/dev/null; then
  echo "ensure-postgres: pg_isready not found; install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL" >&2
  exit 1
fi
if [ "$host" != "127.0.0.1" ] && [ "$host" != "localhost" ]; then
  echo "ensure-postgres: PostgreSQL at $host:$port does not answer" >&2
  exit 1
fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  echo "ensure-postgres: starting PostgreSQL $version (cluster main)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
echo "ensure-postgres: no PostgreSQL answers at $host:$port and none could be started here; start one or set DATABASE_URL" >&2
exit 1
