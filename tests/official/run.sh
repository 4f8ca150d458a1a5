#!/usr/bin/env bash
# Checks HubSpot's and Pipedrive's traffic against their official OpenAPI
# documents:
#   1. installs validate.py's pinned requirements into a virtualenv
#      ($CARGO_TARGET_DIR or target/, official-venv/; reused while
#      requirements.txt is unchanged),
#   2. runs the HubSpot and Pipedrive conformance suites and quirk tests with
#      every exchange recorded (OFFICIAL_EXCHANGES_DIR, see
#      generated/tests/official/exchanges.rs) into
#      <target>/official-exchanges/<provider>.jsonl,
#   3. validates the fixtures (fixtures.jsonl) and every recorded request and
#      response with validate.py.
# Exits non-zero when a test fails, nothing was recorded, or any fixture,
# request or response disagrees with the official documents. A document
# missing from shared/reference/providers is a SKIP (HubSpot's properties,
# pipelines, associations and owners documents), never a pass.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"
venv="$target/official-venv"
exchanges="$target/official-exchanges"

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
fi

stamp="$venv/.requirements.sha256"
wanted="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]]; then
    echo "== installing the checker's requirements into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$wanted" >"$stamp"
fi

echo "== HubSpot and Pipedrive tests, recording every exchange into $exchanges"
rm -rf "$exchanges"
mkdir -p "$exchanges"
OFFICIAL_EXCHANGES_DIR="$exchanges" cargo test -p unified-crm \
    --test conformance_hubspot --test conformance_pipedrive --test hubspot --test pipedrive

status=0
passed=0 failed=0 skipped=0 requests=0 responses=0
# Runs validate.py, prints its report, adds its counts to the totals.
check() {
    local output code=0
    output="$("$venv/bin/python" "$here/validate.py" "$@")" || code=$?
    printf '%s\n' "$output"
    if [[ $code -ne 0 ]]; then status=1; fi
    local line
    line="$(grep -E '^official: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' <<<"$output" | tail -1)" || true
    if [[ -z "$line" ]]; then status=1; return; fi
    read -r p f s < <(sed -E 's/^official: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$line")
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
    line="$(grep -E '^checked [0-9]+ requests and [0-9]+ responses' <<<"$output" | tail -1)" || true
    if [[ -n "$line" ]]; then
        read -r q r < <(sed -E 's/^checked ([0-9]+) requests and ([0-9]+) responses.*/\1 \2/' <<<"$line")
        requests=$((requests + q)) responses=$((responses + r))
    fi
}

echo "== fixtures"
check fixtures

for provider in hubspot pipedrive; do
    if [[ ! -s "$exchanges/$provider.jsonl" ]]; then
        echo "FAIL  no exchange was recorded for $provider ($exchanges/$provider.jsonl)"
        status=1 failed=$((failed + 1))
    fi
done

echo "== recorded HubSpot exchanges"
check exchanges \
    --document hubspot/deals.v3.2025-08-01.json@/crm/v3/objects/ \
    --document hubspot/properties.v3.json@/crm/v3/properties/ \
    --document hubspot/pipelines.v3.json@/crm/v3/pipelines/ \
    --document hubspot/associations.v4.json@/crm/v4/ \
    --document hubspot/owners.v3.json@/crm/v3/owners \
    "$exchanges/hubspot.jsonl"

echo "== recorded Pipedrive exchanges"
# Users exist on API v1 only: the glue reaches `<v2 root>/../v1/users`,
# which under a mock's base_url records as `/v1/users`; the alias maps it
# onto the v1 document's server (`https://api.pipedrive.com/v1`).
check --path-alias /v1/v1/=/v1/ exchanges --document pipedrive/v2.yaml \
    --document pipedrive/v1.yaml "$exchanges/pipedrive.jsonl"

echo "== official documents: $requests requests and $responses responses recorded and validated (plus the fixtures)"
echo "official: $passed passed, $failed failed, $skipped skipped"
exit "$status"
