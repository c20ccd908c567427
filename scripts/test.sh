#!/usr/bin/env bash
# The whole test suite: system packages, type-check, build, lint, and every test file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
echo "== wasm (assembly/ → src/core/wasm/)"
node scripts/build-wasm.mjs
echo "== type-check"
npx tsc -p tsconfig.json --noEmit
echo "== build"
npx tsc -p tsconfig.build.json
echo "== lint"
npx biome check .
echo "== layers (dependency direction)"
node scripts/check-layers.mjs
echo "== unused exports (knip.json; an export nobody imports fails)"
npx knip
echo "== tests"
mapfile -t files < <(find src test -name '*.test.ts' | sort)
node --import tsx --test --test-reporter=spec "${files[@]}"
