#!/usr/bin/env bash
# Validates docker-compose.yml the way `docker compose config` does (parse, interpolate, check the
# schema); no Docker engine is needed. Uses the Docker CLI's compose plugin when it is there,
# otherwise Debian's docker-compose, which it installs with apt-get when missing (as root).
# Usage: scripts/validate-compose.sh [file...]   (default docker-compose.yml; several files are
#        merged in order, as `docker compose -f a -f b` does)
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(docker-compose.yml)
args=()
for file in "${files[@]}"; do args+=(-f "$file"); done

# The compose file refuses to render without SHORT_CODE_SECRET; a placeholder is enough here.
export SHORT_CODE_SECRET=${SHORT_CODE_SECRET:-validate-only-placeholder-secret}

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  bash scripts/tools.sh docker-compose
  compose=(docker-compose)
fi

"${compose[@]}" "${args[@]}" config -q
echo "validate-compose: ${files[*]} valid (${compose[*]} $("${compose[@]}" version --short 2>/dev/null))"
