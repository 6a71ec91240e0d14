#!/usr/bin/env bash
# make test's part for the web console bundle: its type check and unit
# tests (Vitest), and that the committed bundle (web/dist) was built from
# the sources as they are (its stamp). Without Node.js it is skipped, but
# not in CI (BARRAGE_CI set).
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null 2>&1; then
  if [[ -n ${BARRAGE_CI:-} ]]; then
    echo "web: npm not found, and CI needs it for the bundle's tests" >&2
    exit 1
  fi
  echo "web: npm not found: the bundle's unit tests are skipped (install Node.js and npm to run them)"
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
npm run --silent typecheck
npm test --silent
node scripts/stamp.mjs --check
