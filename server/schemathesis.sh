#!/usr/bin/env bash
# Schemathesis against the real server binary: every unified operation, the
# checks that can apply, a mock Close behind a test account.
#
#   bash server/schemathesis.sh            # builds the release binary first
#   SCHEMATHESIS_MAX_EXAMPLES=50 bash server/schemathesis.sh
#
# Exits non-zero when schemathesis finds a failure (a 5xx from the server
# itself, a response that does not conform to the served spec, ...).
# Everything listens on 127.0.0.1; everything started here is stopped here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
VENV=$TARGET/schemathesis-venv
SCHEMATHESIS_VERSION=4.32.5
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-30}

echo "== build the server (release)"
cargo build --release --quiet -p server
BIN=$TARGET/release/server

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "== install schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits for the first line of $1 to appear (up to 20 s) and prints it.
first_line() {
  for _ in $(seq 1 200); do
    if [ -s "$1" ]; then head -n 1 "$1"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}

echo "== mock Close provider"
python3 server/mock_provider.py 0 >"$WORK/mock.port" 2>"$WORK/mock.log" &
PIDS+=($!)
MOCK_PORT=$(first_line "$WORK/mock.port")

echo "== server"
DB=$WORK/unified.sqlite
TOKEN=$("$BIN" token create --tenant schemathesis --database "$DB")
# The mock listens on 127.0.0.1, which only --allow-host lets an account
# reach; schemathesis sends over a thousand requests to one account in
# seconds, so this server's rate limits are off for the run (they are
# covered by server/tests/operations.rs).
RUST_LOG=${RUST_LOG:-warn,server=info} "$BIN" serve --listen 127.0.0.1:0 --database "$DB" \
  --allow-host 127.0.0.1 --tenant-rate-limit 0 --account-rate-limit 0 2>"$WORK/server.log" &
PIDS+=($!)
for _ in $(seq 1 200); do
  grep -q "address=" "$WORK/server.log" 2>/dev/null && break
  sleep 0.1
done
ADDRESS=$(grep -o 'address=[0-9.:]*' "$WORK/server.log" | head -n 1 | cut -d= -f2)
[ -n "$ADDRESS" ] || { cat "$WORK/server.log" >&2; exit 1; }
BASE=http://$ADDRESS

ACCOUNT=$(python3 - "$BASE" "$TOKEN" "http://127.0.0.1:$MOCK_PORT" <<'EOF'
import json, sys, urllib.request
base, token, provider = sys.argv[1:]
request = urllib.request.Request(
    base + "/integrated-accounts",
    data=json.dumps({"provider": "close", "credentials": {"api_key": "mock-key"}, "base_url": provider}).encode(),
    headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    method="POST",
)
with urllib.request.urlopen(request) as response:
    assert response.status == 201, response.status
    print(json.load(response)["id"])
EOF
)

# The account and the token are fixed; everything else is generated.
cat >"$WORK/schemathesis.toml" <<EOF
[parameters]
"query.integrated_account_id" = "$ACCOUNT"

[generation]
max-examples = $MAX_EXAMPLES
EOF

# `truto_response_format=raw` answers the provider's body untouched, which
# the unified spec says "does not follow the schemas of this document": it
# is sent as `normalized` instead (the server's raw format is covered by
# server/tests/e2e.rs).
#
# A generated `Idempotency-Key` that is valid is replaced with a fresh one:
# schemathesis draws the same few keys again and again, so most writes
# would be 422s (a key reused for another request) and never reach the
# handler, and a replayed create would answer a record deleted since, which
# the stateful checks read as a stale resource. Invalid keys are sent as
# drawn (they must be 400s). Replays, 409 and 422 are covered by
# server/tests/operations.rs.
cat >"$WORK/query_filter.py" <<'EOF'
import itertools
import re

import schemathesis

KEYS = itertools.count(1)
VALID_KEY = re.compile(r"[!-~]{1,255}")

@schemathesis.hook
def map_headers(ctx, headers):
    if not isinstance(headers, dict):
        return headers
    for name in list(headers):
        if name.lower() == "idempotency-key":
            value = headers[name]
            if isinstance(value, str) and VALID_KEY.fullmatch(value):
                headers[name] = f"schemathesis-{next(KEYS)}"
    return headers

@schemathesis.hook
def map_query(ctx, query):
    if not isinstance(query, dict):
        return query
    if query.get("truto_response_format") == "raw":
        query["truto_response_format"] = "normalized"
    return query
EOF

echo "== schemathesis $SCHEMATHESIS_VERSION against $BASE (account $ACCOUNT)"
# Checks left out, because they cannot apply here:
# - positive_data_acceptance: a body valid for the unified schema can still
#   be refused with 422 by a provider's own rules (x-required-in, fields
#   Close cannot store), and ids Close could never have made are 400s.
STATUS=0
(
  cd "$WORK"
  PYTHONPATH="$WORK" SCHEMATHESIS_HOOKS=query_filter \
    "$VENV/bin/schemathesis" --config-file "$WORK/schemathesis.toml" run "$BASE/openapi.json" \
    --url "$BASE" \
    --header "Authorization: Bearer $TOKEN" \
    --include-path-regex '^/unified/' \
    --checks all \
    --exclude-checks positive_data_acceptance \
    --workers 1 \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --report junit --report-dir "$WORK/report" \
    --no-color
) || STATUS=$?

if [ "$STATUS" -ne 0 ]; then
  echo "== server log (tail)" >&2
  tail -n 50 "$WORK/server.log" >&2
fi
exit "$STATUS"
