#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with the seed documents: the project's small
# fixture specs, and the small OpenAPI examples of ../shared/openapi-corpus
# (copied at run time, never committed: corpus/ is git-ignored).
# Usage: fuzz/seed.sh   (from anywhere; safe to run again)
set -euo pipefail
fuzz="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$fuzz")"
shared="${SHARED_CORPUS:-$root/../shared/openapi-corpus}"

seeds=()
for file in "$root"/tests/fixtures/specs/*.yaml "$root"/tests/fixtures/specs/*/*.yaml \
    "$root"/tests/fixtures/bad/* "$root"/tests/fixtures/fuzz-regressions/*; do
    [ -f "$file" ] && seeds+=("$file")
done
if [ -d "$shared" ]; then
    for pattern in 'oai-*.yaml' 'oai-*.json' 'progenitor-param-*' progenitor-cli-gen.json \
        progenitor-keeper.json swagger-petstore3.yaml; do
        for file in "$shared"/$pattern; do
            [ -f "$file" ] && seeds+=("$file")
        done
    done
else
    echo "seed.sh: $shared not found; seeding from the project's fixtures only" >&2
fi

for target in generate_bytes generate_json; do
    mkdir -p "$fuzz/corpus/$target"
    for file in "${seeds[@]}"; do
        # Prefixed with the directory, so same-named fixtures do not collide.
        name="$(basename "$(dirname "$file")")-$(basename "$file")"
        cp "$file" "$fuzz/corpus/$target/seed-$name"
    done
done
echo "seed.sh: ${#seeds[@]} seed files in each of $fuzz/corpus/{generate_bytes,generate_json}"
