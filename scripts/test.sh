#!/usr/bin/env bash
# The whole test suite: services and tools (promtool, nginx, kubectl) up, lint and types clean, then unit, integration and e2e tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh postgres redis rabbitmq clickhouse
bash scripts/tools.sh promtool nginx kubectl
npm run lint
npm run typecheck
npm run build
results="$(mktemp)"
status=0
npx jest --ci --json --outputFile="$results" "$@" || status=$?
# One plain closing line for CI: "Tests: N passed, N failed".
node -e 'const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed\n`);' "$results" || true
rm -f "$results"
exit "$status"
