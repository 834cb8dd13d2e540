#!/bin/sh
# The namespace escalate's cases run in, run by the temporal-namespace one-shot
# service of docker-compose.yml (official admin-tools image). Waits for the
# cluster, then describes or creates: running it again changes nothing.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=default}"
i=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge 60 ]; then echo "Temporal at $TEMPORAL_ADDRESS is not healthy after 2 minutes" >&2; exit 1; fi
  sleep 2
done
i=0
until temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; do
  if temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE"; then
    echo "namespace $NAMESPACE created"
  fi
  i=$((i + 1))
  if [ "$i" -ge 30 ]; then echo "namespace $NAMESPACE could not be created" >&2; exit 1; fi
  sleep 2
done
echo "namespace $NAMESPACE ready"
