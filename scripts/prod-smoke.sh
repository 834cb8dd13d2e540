#!/usr/bin/env bash
# make prod-smoke: the production topology of docker-compose.yml, without
# Docker, on this machine, driven through one case to its end.
#
#   the real Temporal server (not the dev server) on PostgreSQL, its schema
#   made by temporal-sql-tool, the namespace by the Temporal CLI; escalate
#   migrate, two workers and one API, which acts as a login that is no
#   superuser; a drill case that escalates, loses a worker to SIGKILL midway,
#   climbs on its own under the other, and ends resolved by agreement, with its
#   record's hash chain intact and without a gap.
#
# Everything it creates is fresh and uniquely named (three databases, one
# role, ports chosen free) and is stopped and dropped on the way out,
# whatever happens. On failure it prints the tail of every process's log.
#
#   scripts/prod-smoke.sh --temporal-only -- CMD [ARG...]
# stops after the Temporal server, its namespace and escalate's search
# attributes are ready, runs CMD with BENCH_TEMPORAL_ADDRESS (the frontend's
# host:port) and BENCH_TEMPORAL_PROCESS (a string in the server's command
# line) set, and tears everything down when CMD ends, with its exit status:
# `make bench-server` measures on the real server that way.
#
# Needs: PostgreSQL with trust auth for PGUSER (default postgres) at PGHOST:PGPORT
# (default 127.0.0.1:5432), Go, curl, jq, ss; builds the Temporal server and
# SQL tool into ./bin when missing (make temporal-server-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/bin
GO=${GO:-go}
SERVER_VERSION=${TEMPORAL_SERVER_VERSION:-v1.30.4}
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
STARTED=$(date +%s)

say() { printf 'prod-smoke: %s\n' "$*"; }
fail() {
  printf 'prod-smoke: FAILED: %s\n' "$*" >&2
  exit 1
}
elapsed() { echo "$(($(date +%s) - STARTED))s"; }

TEMPORAL_ONLY=()
if [ "${1:-}" = "--temporal-only" ]; then
  shift
  [ "${1:-}" != "--" ] || shift
  (($# > 0)) || fail "--temporal-only needs a command to run: scripts/prod-smoke.sh --temporal-only -- CMD [ARG...]"
  TEMPORAL_ONLY=("$@")
elif (($# > 0)); then
  fail "unknown arguments: $* (usage: scripts/prod-smoke.sh [--temporal-only -- CMD [ARG...]])"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/escalate-prod-smoke.XXXXXX")
ID=$(date +%Y%m%d%H%M%S)_$$
DB_TEMPORAL=prodsmoke_${ID}_temporal
DB_VISIBILITY=prodsmoke_${ID}_visibility
DB_ESCALATE=prodsmoke_${ID}_escalate
APP_ROLE=prodsmoke_${ID}_app

# Processes started, in start order: names and pids.
NAMES=()
PIDS=()
CREATED_DBS=()
CREATED_ROLE=""

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

# stop NAME PID: SIGTERM, up to 20 seconds to finish, then SIGKILL. Prints
# and returns the exit status (0 when it was already reaped).
stop_pid() {
  local name=$1 pid=$2 status=0 i
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || status=$?
    return "$status"
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop within 20s of SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}

cleanup() {
  local rc=$? i status
  set +e
  trap - EXIT INT TERM
  # Stop in reverse order: the API, the workers, then the server.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    [ -n "${PIDS[$i]}" ] || continue
    stop_pid "${NAMES[$i]}" "${PIDS[$i]}"
    status=$?
    [ "$rc" -ne 0 ] || say "stopped ${NAMES[$i]} (exit status $status)"
  done
  for db in "${CREATED_DBS[@]}"; do
    psql_admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" || say "could not drop database $db"
  done
  if [ -n "$CREATED_ROLE" ]; then
    psql_admin -c "DROP ROLE IF EXISTS \"$CREATED_ROLE\"" || say "could not drop role $CREATED_ROLE"
  fi
  ((${#CREATED_DBS[@]} == 0)) || say "dropped databases ${CREATED_DBS[*]}${CREATED_ROLE:+ and role $CREATED_ROLE}"
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      printf '\n---- %s (last 40 lines, cut at 300 characters) ----\n' "$f" >&2
      tail -n 40 "$f" | cut -c1-300 >&2
    done
    printf '\nprod-smoke: FAILED after %s; logs kept in %s\n' "$(elapsed)" "$WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# start NAME LOG CMD...: runs CMD in the background, its output in LOG.
start() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 &
  NAMES+=("$name")
  PIDS+=("$!")
  LAST_PID=$!
}

# alive PID NAME: fails if the process has exited.
alive() { kill -0 "$1" 2>/dev/null || fail "$2 exited; see its log below"; }

# ---- tools ----------------------------------------------------------------

for tool in curl jq ss psql; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done
# Built only when missing, so a cached ./bin from before a version bump is
# rebuilt here rather than silently testing the old release.
for tool in temporal-server temporal-sql-tool; do
  if [ -x "$BIN/$tool" ] && [ "$("$BIN/$tool" --version 2>/dev/null | awk '{print $NF}')" != "${SERVER_VERSION#v}" ]; then
    say "$BIN/$tool is not $SERVER_VERSION: rebuilding it"
    rm -f "$BIN/$tool"
  fi
done
if [ ! -x "$BIN/temporal-server" ] || [ ! -x "$BIN/temporal-sql-tool" ] || [ ! -x "$BIN/temporal" ]; then
  say "building the Temporal server $SERVER_VERSION, its SQL tool and the CLI into ./bin (minutes, once)"
  make --no-print-directory TEMPORAL_SERVER_VERSION="$SERVER_VERSION" GO="$GO" temporal-server-tools "$BIN/temporal"
fi
pg_isready -q || fail "no PostgreSQL answers at $PGHOST:$PGPORT (scripts/ensure-postgres.sh starts a local one)"
SCHEMA=$(cd / && "$GO" mod download -json "go.temporal.io/server@$SERVER_VERSION" | jq -r .Dir)/schema/postgresql/v12
[ -d "$SCHEMA/temporal/versioned" ] || fail "Temporal's schema not found at $SCHEMA"

say "building escalate"
"$GO" build -o "$WORK/escalate" ./cmd/escalate
ESCALATE=$WORK/escalate

# ---- free ports -----------------------------------------------------------
# Membership ports are stored as SMALLINT: all ports are below 32768.

taken=" $(ss -Htln | awk '{n = split($4, a, ":"); print a[n]}' | sort -u | tr '\n' ' ') "
PORTS=()
while ((${#PORTS[@]} < 10)); do
  p=$((20000 + RANDOM % 12000))
  case "$taken" in *" $p "*) continue ;; esac
  taken="$taken$p "
  PORTS+=("$p")
done
FE_GRPC=${PORTS[0]} FE_HTTP=${PORTS[1]} FE_MEMBER=${PORTS[2]}
HISTORY_GRPC=${PORTS[3]} HISTORY_MEMBER=${PORTS[4]}
MATCHING_GRPC=${PORTS[5]} MATCHING_MEMBER=${PORTS[6]}
WORKER_GRPC=${PORTS[7]} WORKER_MEMBER=${PORTS[8]}
API_PORT=${PORTS[9]}
TEMPORAL_ADDR=127.0.0.1:$FE_GRPC
API=http://127.0.0.1:$API_PORT

# ---- Temporal's databases and schema --------------------------------------

sqltool() { "$BIN/temporal-sql-tool" --plugin postgres12 --ep "$PGHOST" -p "$PGPORT" -u "$PGUSER" "$@"; }
for pair in "$DB_TEMPORAL:temporal" "$DB_VISIBILITY:visibility"; do
  db=${pair%%:*} kind=${pair#*:}
  CREATED_DBS+=("$db")
  sqltool --db "$db" create-database >>"$WORK/schema.log" 2>&1 || fail "create database $db"
  sqltool --db "$db" setup-schema -v 0.0 >>"$WORK/schema.log" 2>&1 || fail "setup-schema $db"
  sqltool --db "$db" update-schema -d "$SCHEMA/$kind/versioned" >>"$WORK/schema.log" 2>&1 || fail "update-schema $db"
  version=$(psql -X -At -d "$db" -c "SELECT curr_version FROM schema_version")
  say "database $db: Temporal $kind schema $version"
done

# ---- the Temporal server --------------------------------------------------

cat >"$WORK/temporal.yaml" <<EOF
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql:
        pluginName: postgres12
        databaseName: $DB_TEMPORAL
        connectAddr: "$PGHOST:$PGPORT"
        connectProtocol: tcp
        user: $PGUSER
        maxConns: 20
        maxIdleConns: 20
        maxConnLifetime: 1h
    visibility:
      sql:
        pluginName: postgres12
        databaseName: $DB_VISIBILITY
        connectAddr: "$PGHOST:$PGPORT"
        connectProtocol: tcp
        user: $PGUSER
        maxConns: 10
        maxIdleConns: 10
        maxConnLifetime: 1h
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: {grpcPort: $FE_GRPC, httpPort: $FE_HTTP, membershipPort: $FE_MEMBER, bindOnIP: 127.0.0.1}
  history:
    rpc: {grpcPort: $HISTORY_GRPC, membershipPort: $HISTORY_MEMBER, bindOnIP: 127.0.0.1}
  matching:
    rpc: {grpcPort: $MATCHING_GRPC, membershipPort: $MATCHING_MEMBER, bindOnIP: 127.0.0.1}
  worker:
    rpc: {grpcPort: $WORKER_GRPC, membershipPort: $WORKER_MEMBER, bindOnIP: 127.0.0.1}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "127.0.0.1:$FE_GRPC"
      httpAddress: "127.0.0.1:$FE_HTTP"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "$ROOT/deploy/temporal/dynamicconfig.yaml"
  pollInterval: 60s
EOF

start temporal-server "$WORK/temporal-server.log" \
  "$BIN/temporal-server" --config-file "$WORK/temporal.yaml" --allow-no-auth start
SERVER_PID=$LAST_PID
tctl() { "$BIN/temporal" --address "$TEMPORAL_ADDR" "$@"; }
for ((i = 0; ; i++)); do
  alive "$SERVER_PID" "the Temporal server"
  tctl operator cluster health >/dev/null 2>&1 && break
  ((i < 120)) || fail "the Temporal server is not healthy after 60s"
  sleep 0.5
done
say "Temporal server ${SERVER_VERSION#v} serving at $TEMPORAL_ADDR on PostgreSQL ($(elapsed))"

for ((i = 0; ; i++)); do
  tctl operator namespace describe -n default >/dev/null 2>&1 && break
  tctl operator namespace create -n default >>"$WORK/namespace.log" 2>&1 || true
  ((i < 30)) || fail "could not create the default namespace"
  sleep 1
done
# Usable, not only stored: a list goes through the namespace registry.
for ((i = 0; ; i++)); do
  tctl workflow list -n default --limit 1 >/dev/null 2>>"$WORK/namespace.log" && break
  ((i < 60)) || fail "the default namespace is not usable after 30s"
  sleep 0.5
done
say "namespace default created"

# ---- escalate -------------------------------------------------------------

ADMIN_TOKEN=$(openssl rand -hex 24)
OWNER_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$DB_ESCALATE?sslmode=disable"
APP_URL="postgres://$APP_ROLE@$PGHOST:$PGPORT/$DB_ESCALATE?sslmode=disable"
escalate_env=(env -u SMTP_URL -u CORS_ORIGINS
  TEMPORAL_ADDRESS="$TEMPORAL_ADDR" TEMPORAL_NAMESPACE=default
  POLICY_DIR="$ROOT/policies/drill" ESCALATE_ADMIN_TOKEN="$ADMIN_TOKEN"
  RECORD_KEY="$(openssl rand -base64 32)" CODEC_KEYS="smoke:$(openssl rand -base64 32)" PUBLIC_URL="$API" LOG_FORMAT=text
  HTTP_ADDR="127.0.0.1:$API_PORT")

CREATED_DBS+=("$DB_ESCALATE")
"${escalate_env[@]}" DATABASE_URL="$OWNER_URL" "$ESCALATE" migrate >"$WORK/migrate.log" 2>&1 ||
  fail "escalate migrate"
say "escalate migrate: database $DB_ESCALATE ready"
# The API and workers log in as a role that is no superuser, member of
# escalate_app, as in docker-compose.yml (deploy/postgres/app-login.sh).
CREATED_ROLE=$APP_ROLE
psql_admin -c "CREATE ROLE \"$APP_ROLE\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE IN ROLE escalate_app"
say "login role $APP_ROLE (member of escalate_app, no superuser) for the API and workers"

# `escalate setup` registers the search attributes (workers do not: Temporal
# Cloud refuses it from them), then the workers and the API start.
"${escalate_env[@]}" DATABASE_URL="$OWNER_URL" DATABASE_APP_URL="$APP_URL" "$ESCALATE" setup >"$WORK/setup.log" 2>&1 || fail "escalate setup"
attrs=$(tctl operator search-attribute list -n default -o json | jq -r '.customAttributes // {} | keys | join(" ")')
[ -n "$attrs" ] || fail "escalate setup registered no search attributes"
# Registered is not yet usable: the namespace's mapping of the new attributes
# reaches the frontend within seconds. Until then a case start is refused, so
# wait until a query on every one of them is accepted.
query=$(sed 's/ / IS NOT NULL OR /g; s/$/ IS NOT NULL/' <<<"$attrs")
for ((i = 0; ; i++)); do
  tctl workflow list -n default --limit 1 --query "$query" >/dev/null 2>>"$WORK/search-attributes.log" && break
  ((i < 120)) || fail "search attributes $attrs not usable after 60s"
  sleep 0.5
done
say "escalate setup: search attributes registered and usable after $((i / 2))s: $attrs"
if ((${#TEMPORAL_ONLY[@]} > 0)); then
  say "running ${TEMPORAL_ONLY[*]} against the Temporal server at $TEMPORAL_ADDR"
  status=0
  BENCH_TEMPORAL_ADDRESS=$TEMPORAL_ADDR BENCH_TEMPORAL_PROCESS=$WORK/temporal.yaml "${TEMPORAL_ONLY[@]}" || status=$?
  say "${TEMPORAL_ONLY[0]} ended with status $status ($(elapsed))"
  exit "$status"
fi
start worker-1 "$WORK/worker-1.log" "${escalate_env[@]}" DATABASE_URL="$OWNER_URL" DATABASE_APP_URL="$APP_URL" "$ESCALATE" worker
WORKER1_PID=$LAST_PID
start worker-2 "$WORK/worker-2.log" "${escalate_env[@]}" DATABASE_URL="$OWNER_URL" DATABASE_APP_URL="$APP_URL" "$ESCALATE" worker
WORKER2_PID=$LAST_PID
start api "$WORK/api.log" "${escalate_env[@]}" DATABASE_URL="$OWNER_URL" DATABASE_APP_URL="$APP_URL" "$ESCALATE" api
API_PID=$LAST_PID

for ((i = 0; ; i++)); do
  alive "$WORKER2_PID" "worker-2"
  alive "$API_PID" "the API"
  grep -q 'worker started' "$WORK/worker-1.log" && grep -q 'worker started' "$WORK/worker-2.log" &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$API/readyz")" = 200 ] && break
  ((i < 240)) || fail "no ready API with two workers after 120s: $(curl -s "$API/readyz")"
  sleep 0.5
done
say "worker-2 polling; API ready at $API ($(elapsed))"

# ---- a drill case through the HTTP API ------------------------------------

# call METHOD PATH TOKEN [BODY [IDEMPOTENCY-KEY]]: sets CODE and BODY.
call() {
  local args=(-sS -o "$WORK/response.json" -w '%{http_code}' -X "$1" "$API$2" -H "Authorization: Bearer $3")
  [ $# -lt 4 ] || args+=(-H 'Content-Type: application/json' --data "$4")
  [ $# -lt 5 ] || args+=(-H "Idempotency-Key: $5")
  CODE=$(curl "${args[@]}" 2>>"$WORK/curl.log") || CODE=000
  BODY=$(cat "$WORK/response.json" 2>/dev/null || true)
}
expect() { [ "$CODE" = "$1" ] || fail "$2: HTTP $CODE $BODY"; }

token() {
  call POST /v1/admin/tokens "$ADMIN_TOKEN" "$1"
  expect 201 "create token"
  jq -r .token <<<"$BODY"
}
HANA=$(token '{"name":"Hana Visitor","email":"hana@nhft.example","agency":"nhft","role":"practitioner"}')
SAM=$(token '{"name":"Sam Social","email":"sam@nct.example","agency":"nct","role":"practitioner"}')
say "tokens made for the raiser (Hana, health visitor) and the respondent (Sam, social worker)"

case_body='{"policy":"northamptonshire-drill","child_ref":"NCT/2026/0042","category":"threshold-csc-assessment",
  "summary":"Referral judged below the threshold for assessment; health visitor disagrees.",
  "respondent":{"name":"Sam Social","email":"sam@nct.example","agency":"nct"}}'
# A search attribute just added takes a moment to be usable everywhere;
# the same Idempotency-Key makes the retries one case.
for ((i = 0; ; i++)); do
  call POST /v1/cases "$HANA" "$case_body" "prod-smoke-$ID"
  [ "$CODE" = 201 ] && break
  ((i < 45)) || fail "open the case"
  [ "$i" -gt 0 ] || say "case start answered HTTP $CODE ($(jq -r .error.message <<<"$BODY" 2>/dev/null)); retrying with the same Idempotency-Key"
  sleep 2
done
REF=$(jq -r .ref <<<"$BODY")
say "case $REF opened at stage $(jq -r .stage.number <<<"$BODY") after $((i + 1)) attempt(s) (northamptonshire-drill: 30-second stages)"

call POST "/v1/cases/$REF/escalations" "$HANA" '{"reason":"No agreement at stage 1","evidence":"Two calls to the team, no reply"}' "prod-smoke-$ID-esc"
expect 200 "escalate"
stage=$(jq -r .stage.number <<<"$BODY")
[ "$stage" = 2 ] || fail "escalated to stage $stage, want 2"
say "escalated by the raiser to stage 2"

kill -KILL "$WORKER1_PID"
wait "$WORKER1_PID" 2>/dev/null || true
say "worker-1 killed with SIGKILL mid-case; worker-2 carries on"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$API/readyz")" = 200 ] || fail "not ready with worker-2 alone: $(curl -s "$API/readyz")"

# The stage's 30 seconds run out: the case climbs on its own, under worker-2.
for ((i = 0; ; i++)); do
  alive "$WORKER2_PID" "worker-2"
  call GET "/v1/cases/$REF" "$SAM"
  expect 200 "read the case"
  stage=$(jq -r .stage.number <<<"$BODY")
  ((stage >= 3)) && break
  ((i < 90)) || fail "the case did not climb past stage 2 within 90s after the worker was killed"
  sleep 1
done
say "the deadline passed and the case climbed on its own to stage $stage ($(jq -r .stage.name <<<"$BODY"))"

call POST "/v1/cases/$REF/agreement" "$SAM" '{"outcome":"Assessment will start","actions":[{"what":"Start assessment","who":"Sam Social","by":"2026-12-04T17:00:00Z"}]}' "prod-smoke-$ID-propose"
expect 200 "propose an agreement"
[ "$(jq -r .status <<<"$BODY")" = agreement_proposed ] || fail "after the proposal: status $(jq -r .status <<<"$BODY")"
say "the respondent proposed the agreed outcome"
call POST "/v1/cases/$REF/agreement/confirm" "$HANA" '{}' "prod-smoke-$ID-confirm"
expect 200 "confirm the agreement"
say "the raiser confirmed it"

call GET "/v1/cases/$REF" "$HANA"
expect 200 "read the case"
status=$(jq -r .status <<<"$BODY")
[ "$status" = resolved ] || fail "case $REF is $status, want resolved"
say "case $REF: $status; history: $(jq -r '[.history[].type] | join(", ")' <<<"$BODY")"

call GET "/v1/cases/$REF/record" "$HANA"
expect 200 "read the record"
jq -e '.verification.intact == true' <<<"$BODY" >/dev/null ||
  fail "the record's verification: $(jq -c .verification <<<"$BODY")"
# No gap: the events are numbered 1..n with none missing or repeated, and
# the verification counts all n (and names no gap, should it ever report one).
jq -e '[.events[].seq] as $s | ($s == [range(1; ($s | length) + 1)]) and (.verification.events == ($s | length))
       and ([.verification | to_entries[] | select(.key | test("gap")) | .value | select(. != null and . != false and . != [] and . != 0)] | length == 0)' \
  <<<"$BODY" >/dev/null || fail "the record has a gap: seqs $(jq -c '[.events[].seq]' <<<"$BODY"), verification $(jq -c .verification <<<"$BODY")"
for want in case_opened escalated agreement_confirmed; do
  jq -e --arg t "$want" 'any(.events[]; .type == $t)' <<<"$BODY" >/dev/null || fail "the record has no $want event"
done
say "record of $REF: $(jq -r '.events | length' <<<"$BODY") events, hash chain intact, numbered without a gap"

# ---- stop -----------------------------------------------------------------

for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
  name=${NAMES[$i]} pid=${PIDS[$i]}
  PIDS[i]=""
  status=0
  stop_pid "$name" "$pid" || status=$?
  case "$name:$status" in
    worker-1:*) say "worker-1 had been killed (exit status $status)" ;;
    *:0) say "stopped $name cleanly" ;;
    *) fail "$name exited with status $status when stopped" ;;
  esac
done
say "passed in $(elapsed)"
