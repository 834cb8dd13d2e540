#!/bin/sh
# Run once by the official PostgreSQL image on an empty data volume
# (/docker-entrypoint-initdb.d): the login the API and worker use, from
# DATABASE_APP_URL (postgres://USER:PASSWORD@postgresql:5432/escalate?...).
# It is no superuser and may do nothing itself: it is a member of
# escalate_app, the role escalate's migrations grant the record to and every
# connection switches to (SET ROLE), which may read and add, never alter.
# Letters, digits and _ only in USER and PASSWORD (nothing to URL-escape).
set -eu
rest=${DATABASE_APP_URL#*://}
creds=${rest%%@*}
user=${creds%%:*}
pass=${creds#*:}
case "$user$pass" in
  *[!A-Za-z0-9_]*|'') echo "app-login.sh: DATABASE_APP_URL needs USER:PASSWORD of letters, digits and _" >&2; exit 1 ;;
esac
if [ "$user" = "$creds" ] || [ -z "$pass" ]; then
  echo "app-login.sh: DATABASE_APP_URL has no password" >&2; exit 1
fi
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="$user" -v app_pass="$pass" <<'SQL'
SELECT 'CREATE ROLE escalate_app NOLOGIN'
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'escalate_app') \gexec
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_pass' NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE escalate_app;
SQL
echo "app-login.sh: login $user (member of escalate_app) created"
