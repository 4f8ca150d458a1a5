#!/usr/bin/env bash
# Side-by-side benchmarks (issue 15): `cargo xtask bench` runs this.
#
# Each row is this project's figure, a peer's figure from the same run, and
# their ratio (ours / peer). Then how cost grows: generation time over the
# corpus, stream peak RSS over 10k/100k/1M records, server throughput at
# 1/16/64 connections. Needs nginx, wrk, curl and python3 (Debian:
# `apt-get install nginx-light wrk curl python3 python3-yaml`).
#
# Environment:
#   BENCH_QUICK=1      3 s wrk runs, streams of 10k and 100k only, no corpus
#   BENCH_CORPUS=DIR   the corpus (default ../shared/openapi-corpus)
#   BENCH_SECONDS=N    seconds per wrk run (default 10)
#   CARGO_TARGET_DIR   the workspace's target directory (default ./target);
#                      the peers build into bench/target
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BENCH_TARGET=$ROOT/bench/target
OUT=$BENCH_TARGET/run
QUICK=${BENCH_QUICK:-0}
SECONDS_PER_RUN=${BENCH_SECONDS:-$([ "$QUICK" = 1 ] && echo 3 || echo 10)}
CORPUS=${BENCH_CORPUS:-$ROOT/../shared/openapi-corpus}
NEXUS=$CORPUS/progenitor-nexus.json
MOCK_PORT=${BENCH_MOCK_PORT:-18181}
SERVER_PORT=${BENCH_SERVER_PORT:-18180}

for tool in nginx wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk curl python3 python3-yaml)" >&2; exit 1; }
done
[ -f "$NEXUS" ] || { echo "bench: $NEXUS not found; set BENCH_CORPUS" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/www" "$OUT/tmp"
TABLE=$OUT/table.md
GROWTH=$OUT/growth.md
: >"$TABLE"
: >"$GROWTH"

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
now() { date +%s%N; }
# Median of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# `ratio OURS PEER` with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b == 0) ? 0 : a / b }'; }
row() { # name ours peer ratio goal verdict
    printf '| %s | %s | %s | %s | %s | %s |\n' "$@" | tee -a "$TABLE"
}
# Wall milliseconds of a command, median of $1 runs; `fail` if a run fails.
wall_ms() {
    local runs=$1 start times=()
    shift
    for _ in $(seq "$runs"); do
        start=$(now)
        "$@" >/dev/null 2>&1 || { echo fail; return; }
        times+=($((($(now) - start) / 1000)))
    done
    printf '%s\n' "${times[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }'
}

log "building (release): server, xtask; bench/progenitor-gen"
# The executables by their unit paths (target/release/deps/NAME-HASH), not the
# copies in target/release, which another checkout sharing CARGO_TARGET_DIR
# may overwrite, copied into bench/target/run/bin at once.
executable() { # cargo build arguments... ; prints "name path" per binary
    cargo build --release --message-format=json-render-diagnostics "$@" |
        python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable"):
        print(m["target"]["name"], m["executable"])'
}
BUILT=$( (executable -p server -p xtask && executable --manifest-path bench/Cargo.toml --target-dir "$BENCH_TARGET" -p progenitor-gen) | tee "$OUT/executables.txt")
XTASK=$(awk '$1 == "xtask" { print $2 }' <<<"$BUILT")
SERVER=$(awk '$1 == "server" { print $2 }' <<<"$BUILT")
PROGENITOR=$(awk '$1 == "progenitor-gen" { print $2 }' <<<"$BUILT")
[ -x "$XTASK" ] && [ -x "$SERVER" ] && [ -x "$PROGENITOR" ] || { echo "bench: the build failed" >&2; exit 1; }
mkdir -p "$OUT/bin"
cp "$XTASK" "$SERVER" "$PROGENITOR" "$OUT/bin/"
XTASK=$OUT/bin/$(basename "$XTASK")
SERVER=$OUT/bin/$(basename "$SERVER")
PROGENITOR=$OUT/bin/$(basename "$PROGENITOR")

echo '| row | ours | peer | ratio (ours/peer) | goal | met |' | tee -a "$TABLE"
echo '|---|---|---|---|---|---|' | tee -a "$TABLE"

# --- Generation: whole process, wall ----------------------------------------
log "generation of progenitor-nexus.json (median of 7 runs each)"
"$XTASK" generate "$NEXUS" -o "$OUT/ours-nexus.rs"
"$PROGENITOR" "$NEXUS" "$OUT/peer-nexus.rs"
ours=$(wall_ms 7 "$XTASK" generate "$NEXUS" -o "$OUT/ours-nexus.rs")
peer=$(wall_ms 7 "$PROGENITOR" "$NEXUS" "$OUT/peer-nexus.rs")
r=$(ratio "$ours" "$peer")
row "generate progenitor-nexus.json (wall)" "$ours ms" "$peer ms (progenitor 0.15.1)" "$r" "≤ 0.4" \
    "$(awk -v r="$r" 'BEGIN { print (r <= 0.4) ? "yes" : "no" }')"

# --- cargo check of the generated module ------------------------------------
log "cargo check of each generated module (dependencies built first)"
scratch_crate() { # dir name dependencies... ; the module is src/api.rs
    local dir=$1 name=$2
    shift 2
    mkdir -p "$dir/src"
    {
        printf '[package]\nname = "%s"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n[dependencies]\n' "$name"
        printf '%s\n' "$@"
    } >"$dir/Cargo.toml"
    printf '#![allow(warnings, clippy::all)]\npub mod api;\n' >"$dir/src/lib.rs"
}
scratch_crate "$OUT/check-ours" check-ours \
    "crm-runtime = { path = \"$ROOT/runtime\" }" \
    "$(grep -E '^serde = ' Cargo.toml)" "$(grep -E '^serde_json = ' Cargo.toml)" \
    "$(grep -E '^chrono = ' Cargo.toml)" "$(grep -E '^uuid = ' Cargo.toml)"
cp Cargo.lock "$OUT/check-ours/Cargo.lock"
cp "$OUT/ours-nexus.rs" "$OUT/check-ours/src/api.rs"
# What `cargo progenitor` 0.15.1 puts in the Cargo.toml of this output (base64
# and rand: nexus has websocket operations).
scratch_crate "$OUT/check-peer" check-peer \
    'bytes = "1.9"' 'futures-core = "0.3"' 'futures = "0.3"' 'progenitor-client = "=0.15.1"' \
    'reqwest = { version = "0.13", default-features = false, features = ["json", "query", "stream"] }' \
    'serde = { version = "1.0", features = ["derive"] }' 'serde_json = "1.0"' 'serde_urlencoded = "0.7"' \
    'regress = "0.10"' 'uuid = { version = "1.0", features = ["serde", "v4"] }' \
    'chrono = { version = "0.4", default-features = false, features = ["serde"] }' \
    'base64 = "0.22"' 'rand = "0.8"'
cp "$OUT/peer-nexus.rs" "$OUT/check-peer/src/api.rs"
check_s() { # dir: median of 3 checks after touching the module
    local dir=$1
    cargo check --quiet --manifest-path "$dir/Cargo.toml" --target-dir "$BENCH_TARGET/check" 2>"$dir/warm.log" ||
        { echo fail; return; }
    for _ in 1 2 3; do
        touch "$dir/src/api.rs"
        local start
        start=$(now)
        cargo check --quiet --manifest-path "$dir/Cargo.toml" --target-dir "$BENCH_TARGET/check" 2>/dev/null
        echo $((($(now) - start) / 1000000))
    done | median | awk '{ printf "%.2f", $1 / 1000 }'
}
ours=$(check_s "$OUT/check-ours")
peer=$(check_s "$OUT/check-peer")
r=$(ratio "$ours" "$peer")
row "cargo check, generated module for nexus ($(wc -l <"$OUT/ours-nexus.rs") vs $(wc -l <"$OUT/peer-nexus.rs") lines)" \
    "$ours s" "$peer s (progenitor's output)" "$r" "≤ 0.7" "$(awk -v r="$r" 'BEGIN { print (r <= 0.7) ? "yes" : "no" }')"

# --- Mapping ------------------------------------------------------------------
log "mapping (cargo bench -p unified-crm --bench mapping)"
line=$(cargo bench --quiet -p unified-crm --bench mapping 2>/dev/null | grep '^mapping-')
read -r _ ours peer r rest <<<"$line"
row "Close record → unified JSON, per record $rest" "$(awk -v n="$ours" 'BEGIN { printf "%.1f µs", n / 1000 }')" \
    "$(awk -v n="$peer" 'BEGIN { printf "%.1f µs (serde_json Value parse + write)", n / 1000 }')" "$r" "≤ 1.5" \
    "$(awk -v r="$r" 'BEGIN { print (r <= 1.5) ? "yes" : "no" }')"

# --- The mock provider and the server -----------------------------------------
log "mock provider (nginx, one worker) on 127.0.0.1:$MOCK_PORT"
python3 - "$ROOT/tests/fixtures/responses/close" "$OUT/www" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
load = lambda name: json.load(open(f"{src}/{name}", encoding="utf-8"))
record = load("opportunity.json")
json.dump(record, open(f"{dst}/opportunity.json", "w"))
for name in ("custom_fields.json", "statuses.json"):
    json.dump(load(name), open(f"{dst}/{name}", "w"))
envelope = load("list_page1.json")
envelope["data"] = [dict(record, id=f"oppo_bench_{n:03}") for n in range(100)]
for name, more in (("more.json", True), ("last.json", False)):
    envelope["has_more"] = more
    json.dump(envelope, open(f"{dst}/{name}", "w"))
PY
sed -e "s|@ROOT@|$OUT|g" -e "s|@MOCK_PORT@|$MOCK_PORT|g" bench/nginx.conf.in >"$OUT/nginx.conf"
nginx -c "$OUT/nginx.conf" -e "$OUT/nginx-error.log" &
PIDS+=($!)
wait_for() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "bench: $1 does not answer" >&2; exit 1; }
wait_for "http://127.0.0.1:$MOCK_PORT/opportunity/oppo_bench/"

DB=$OUT/server.sqlite
TOKEN=$("$SERVER" token create --tenant bench --database "$DB" 2>/dev/null)
SERVER_PID=
start_server() {
    RUST_LOG=warn "$SERVER" serve --listen "127.0.0.1:$SERVER_PORT" --database "$DB" --allow-host 127.0.0.1 \
        --tenant-rate-limit 0 --account-rate-limit 0 --max-streams-per-tenant 0 2>>"$OUT/server.log" &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for "http://127.0.0.1:$SERVER_PORT/health"
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }
account() { # base_url -> id
    curl -sf -X POST "http://127.0.0.1:$SERVER_PORT/integrated-accounts" -H "Authorization: Bearer $TOKEN" \
        -H 'content-type: application/json' \
        -d "{\"provider\": \"close\", \"credentials\": {\"api_key\": \"bench\"}, \"base_url\": \"$1\"}" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'
}
start_server
ACCOUNT=$(account "http://127.0.0.1:$MOCK_PORT")

OURS_URL="http://127.0.0.1:$SERVER_PORT/unified/crm/opportunities/oppo_bench?integrated_account_id=$ACCOUNT"
PEER_URL="http://127.0.0.1:$MOCK_PORT/opportunity/oppo_bench/"
curl -sf -H "Authorization: Bearer $TOKEN" "$OURS_URL" >/dev/null
# `wrk_run THREADS CONNECTIONS URL` -> "requests/s p50_µs p99_µs"
wrk_run() {
    local file=$OUT/wrk-$2-$RANDOM.txt
    wrk -t"$1" -c"$2" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "$3" >"$file"
    if grep -q 'Non-2xx' "$file"; then echo "bench: non-2xx answers, see $file" >&2; exit 1; fi
    awk '
        function us(t) {
            if (t ~ /us$/) return t + 0; if (t ~ /ms$/) return t * 1000; if (t ~ /s$/) return t * 1000000; return t
        }
        /^Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = us($2) } $1 == "99%" { p99 = us($2) }
        END { printf "%.0f %.0f %.0f\n", rps, p50, p99 }' "$file"
}
log "GET /unified/crm/opportunities/{id} vs the mock, ${SECONDS_PER_RUN}s per run, rate limits off"
declare -A RPS
for c in 1 16 64; do
    t=$([ "$c" = 1 ] && echo 1 || echo 2)
    read -r o_rps o_p50 o_p99 <<<"$(wrk_run "$t" "$c" "$OURS_URL")"
    read -r p_rps p_p50 p_p99 <<<"$(wrk_run "$t" "$c" "$PEER_URL")"
    RPS[$c]="$o_rps $p_rps"
    echo "| $c | $o_rps | $p_rps | $(ratio "$o_rps" "$p_rps") | $o_p50 / $p_p50 | $o_p99 / $p_p99 |" >>"$GROWTH.server"
    if [ "$c" = 1 ]; then
        d50=$((o_p50 - p_p50))
        d99=$((o_p99 - p_p99))
        row "GET one opportunity, 1 connection: p50" "$o_p50 µs" "$p_p50 µs (nginx mock)" "+$d50 µs" "≤ +150 µs" \
            "$([ "$d50" -le 150 ] && echo yes || echo no)"
        row "GET one opportunity, 1 connection: p99" "$o_p99 µs" "$p_p99 µs (nginx mock)" "+$d99 µs" "≤ +1000 µs" \
            "$([ "$d99" -le 1000 ] && echo yes || echo no)"
    fi
    if [ "$c" = 16 ]; then
        r=$(ratio "$o_rps" "$p_rps")
        row "GET one opportunity, wrk -t2 -c16: requests/s" "$o_rps" "$p_rps (nginx mock)" "$r" "≥ 0.40" \
            "$(awk -v r="$r" 'BEGIN { print (r >= 0.4) ? "yes" : "no" }')"
    fi
done

# --- Stream: peak RSS of a fresh server per size ------------------------------
SIZES="10000 100000 1000000"
[ "$QUICK" = 1 ] && SIZES="10000 100000"
declare -A STREAM_ACCOUNT
for n in $SIZES; do STREAM_ACCOUNT[$n]=$(account "http://127.0.0.1:$MOCK_PORT/n$n"); done
declare -A PEAK
for n in $SIZES; do
    stop_server
    start_server
    log "stream of $n records"
    start=$(now)
    lines=$(curl -sfN -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$SERVER_PORT/unified/crm/opportunities?integrated_account_id=${STREAM_ACCOUNT[$n]}&truto_response_format=stream&limit=100" |
        wc -l)
    secs=$(awk -v n=$(($(now) - start)) 'BEGIN { printf "%.1f", n / 1e9 }')
    [ "$lines" = "$n" ] || { echo "bench: the stream of $n answered $lines lines" >&2; exit 1; }
    PEAK[$n]=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")
    echo "| $n | ${PEAK[$n]} MiB | $secs s | $(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.0f", n / s }') |" >>"$GROWTH.stream"
done
last=${SIZES##* }
r=$(ratio "${PEAK[$last]}" "${PEAK[10000]}")
row "stream $last records: server peak RSS" "${PEAK[$last]} MiB" "${PEAK[10000]} MiB (the same at 10k)" "$r" \
    "< 64 MiB, flat" "$(awk -v m="${PEAK[$last]}" -v r="$r" 'BEGIN { print (m < 64 && r < 1.1) ? "yes" : "no" }')"
stop_server

# --- How cost grows -------------------------------------------------------------
{
    echo
    echo "Server throughput by connections (wrk -t1 at 1, -t2 otherwise; ours / nginx mock; latency µs):"
    echo
    echo '| connections | ours req/s | mock req/s | ratio | p50 ours / mock | p99 ours / mock |'
    echo '|---:|---:|---:|---:|---:|---:|'
    cat "$GROWTH.server"
    echo
    echo "Stream (truto_response_format=stream, 100 records a page, a fresh server each):"
    echo
    echo '| records | server peak RSS | wall | records/s |'
    echo '|---:|---:|---:|---:|'
    cat "$GROWTH.stream"
} >>"$GROWTH"

if [ "$QUICK" != 1 ]; then
    log "generation time over the corpus (one run each, whole process)"
    {
        echo
        echo "Generation over $(basename "$CORPUS") (whole process wall, one run each; peer: progenitor-gen, JSON only, 120 s cap):"
        echo
        echo '| document | size KiB | operations | ours ms | progenitor ms | ratio |'
        echo '|---|---:|---:|---:|---:|---:|'
    } >>"$GROWTH"
    for doc in "$CORPUS"/*.json "$CORPUS"/*.yaml; do
        name=$(basename "$doc")
        size=$(($(stat -c %s "$doc") / 1024))
        ops=$(python3 - "$doc" <<'PY'
import json, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
if path.endswith(".json"):
    doc = json.loads(text)
else:
    import yaml
    doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
print(sum(1 for item in (doc.get("paths") or {}).values() if isinstance(item, dict) for m in item if m in methods))
PY
        )
        ours=$(wall_ms 1 "$XTASK" generate "$doc" -o "$OUT/corpus-ours.rs")
        peer=-
        r=-
        if [[ $doc == *.json ]]; then
            peer=$(wall_ms 1 timeout 120 "$PROGENITOR" "$doc" "$OUT/corpus-peer.rs")
            [ "$peer" != fail ] && r=$(ratio "$ours" "$peer")
        fi
        echo "| $name | $size | $ops | $ours | $peer | $r |" >>"$GROWTH"
    done
fi

echo
cat "$GROWTH"
log "tables in $TABLE and $GROWTH"
