#!/usr/bin/env bash
# The whole test suite: services up, lint and types clean, then unit, integration and e2e tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh postgres redis rabbitmq
npm run lint
npm run typecheck
npm run build
npx jest --ci "$@"
