#!/usr/bin/env bash
# Validates docker-compose.yml the way `docker compose config` does (parse, interpolate, check the
# schema); no Docker engine is needed. Uses the Docker CLI's compose plugin when it is there,
# otherwise Debian's docker-compose, which it installs with apt-get when missing (as root).
# Usage: scripts/validate-compose.sh [file]   (default docker-compose.yml)
set -euo pipefail
cd "$(dirname "$0")/.."
file=${1:-docker-compose.yml}

# The compose file refuses to render without SHORT_CODE_SECRET; a placeholder is enough here.
export SHORT_CODE_SECRET=${SHORT_CODE_SECRET:-validate-only-placeholder-secret}

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  if ! command -v docker-compose >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      echo "validate-compose: needs the Docker compose plugin or docker-compose" >&2
      exit 2
    fi
    echo "validate-compose: installing docker-compose (Debian package)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null
  fi
  compose=(docker-compose)
fi

"${compose[@]}" -f "$file" config -q
echo "validate-compose: $file is valid (${compose[*]} $("${compose[@]}" version --short 2>/dev/null))"
