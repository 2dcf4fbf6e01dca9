#!/usr/bin/env bash
# Lays the seed corpora from testdata into fuzz/corpus/<target>/ (gitignored).
# Usage: fuzz/seed.sh   (from anywhere; run before `cargo fuzz run <target>`)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="$root/fuzz/corpus"
mkdir -p "$corpus/dockerfile" "$corpus/template"
while IFS= read -r -d '' file; do
    name="$(echo "${file#"$root"/testdata/dockerfile/}" | tr '/' '_')"
    cp "$file" "$corpus/dockerfile/seed_$name"
done < <(find "$root/testdata/dockerfile" -type f -name Dockerfile -print0)
while IFS= read -r -d '' file; do
    name="$(echo "${file#"$root"/testdata/werf/templates/}" | tr '/' '_')"
    cp "$file" "$corpus/template/seed_$name"
done < <(find "$root/testdata/werf/templates" -type f -print0)
echo "dockerfile: $(ls "$corpus/dockerfile" | wc -l) files; template: $(ls "$corpus/template" | wc -l) files"
