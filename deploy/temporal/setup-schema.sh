#!/bin/sh
# Temporal's databases and schema, run by the temporal-schema one-shot service
# of docker-compose.yml in the official admin-tools image (the same release as
# the server). The connection comes from SQL_HOST, SQL_PORT, SQL_USER and
# SQL_PASSWORD; the plugin is always named, as the tool defaults to MySQL.
# Safe to repeat: an existing database is kept, setup-schema leaves a schema
# that is already versioned alone, and update-schema applies only what is newer
# (which is also how a new server release's schema changes are applied).
set -eu
schema=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  case $db in
    temporal) dir=$schema/temporal/versioned ;;
    *) dir=$schema/visibility/versioned ;;
  esac
  if temporal-sql-tool --plugin postgres12 --db "$db" create-database 2>/dev/null; then
    echo "database $db created"
  else
    echo "database $db not created (it exists, or the next step says why)"
  fi
  temporal-sql-tool --plugin postgres12 --db "$db" setup-schema -v 0.0
  temporal-sql-tool --plugin postgres12 --db "$db" update-schema -d "$dir"
  echo "database $db: schema up to date"
done
