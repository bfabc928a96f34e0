#!/usr/bin/env bash
# Validates docker-compose.yml the way `docker compose config` does (parse, interpolate, check the
# schema); no Docker engine is needed. Uses the Docker CLI's compose plugin when it is there,
# otherwise Debian's docker-compose, which it installs with apt-get when missing (as root).
# Usage: scripts/validate-compose.sh [--print] [file...]   (default docker-compose.yml; several
#        files are merged in order, as `docker compose -f a -f b` does). --print writes the merged,
#        interpolated configuration (YAML) to stdout, and the verdict to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
print=false
if [[ ${1:-} == --print ]]; then
  print=true
  shift
fi
files=("$@")
[[ ${#files[@]} -gt 0 ]] || files=(docker-compose.yml)
args=()
for file in "${files[@]}"; do args+=(-f "$file"); done

# The compose file refuses to render without SHORT_CODE_SECRET; a placeholder is enough here.
export SHORT_CODE_SECRET=${SHORT_CODE_SECRET:-validate-only-placeholder-secret}

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  bash scripts/tools.sh docker-compose >&2
  compose=(docker-compose)
fi

if $print; then
  "${compose[@]}" "${args[@]}" config
else
  "${compose[@]}" "${args[@]}" config -q
fi
echo "validate-compose: ${files[*]} valid (${compose[*]} $("${compose[@]}" version --short 2>/dev/null))" >&2
