#!/usr/bin/env bash
# Makes sure the load generator the benchmarks use is installed: wrk (Debian package `wrk`).
# Silent when it is already there; otherwise installs it with apt-get, as root or through sudo.
# Usage: scripts/bench-tools.sh
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then exit 0; fi

if [[ $EUID -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  # Without a terminal to ask for a password on, fail instead of waiting for one.
  if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
else
  echo "bench-tools: wrk is missing; install the package 'wrk' (Debian/Ubuntu: apt-get install wrk)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bench-tools: wrk is missing and apt-get is not available; install the package 'wrk'" >&2
  exit 1
fi

echo "bench-tools: installing wrk"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get install -y -q wrk; then
  # A fresh machine may have no package lists yet.
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q wrk
fi
command -v wrk >/dev/null 2>&1 || {
  echo "bench-tools: wrk is still missing after installing the package 'wrk'" >&2
  exit 1
}
