#!/usr/bin/env bash
# Makes sure the command-line tools the tests and benchmarks use are installed:
#   wrk       the redirect benchmark's load generator (Debian package `wrk`)
#   promtool  checks the /metrics exposition in the e2e tests (Debian package `prometheus`)
#   nginx     the reverse proxy of deploy/nginx/snip.conf, started by test/e2e/nginx.e2e-spec.ts
#             on a free port as a child process (Debian package `nginx`; its service is not started)
#   kubectl   renders deploy/kubernetes (`kubectl kustomize`) in test/e2e/kubernetes.e2e-spec.ts
#             (Debian package `kubernetes-client`)
#   docker-compose  validates docker-compose*.yml (scripts/validate-compose.sh) where the Docker CLI
#             has no compose plugin (Debian package `docker-compose`)
# Silent for a tool that is already there; otherwise installs its package with apt-get, as root or
# through sudo (never waiting for a password without a terminal).
# Usage: scripts/tools.sh wrk|promtool|nginx|kubectl|docker-compose...
set -euo pipefail

package_of() {
  case "$1" in
    wrk) echo wrk ;;
    promtool) echo prometheus ;;
    nginx) echo nginx ;;
    kubectl) echo kubernetes-client ;;
    docker-compose) echo docker-compose ;;
    *)
      echo "tools: unknown tool '$1' (known: wrk, promtool, nginx, kubectl, docker-compose)" >&2
      return 1
      ;;
  esac
}

missing=()
for tool in "$@"; do
  package="$(package_of "$tool")"
  command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] || missing+=("$package")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $EUID -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
else
  echo "tools: missing packages ${missing[*]}; install them (Debian/Ubuntu: apt-get install ${missing[*]})" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "tools: missing packages ${missing[*]} and apt-get is not available; install them" >&2
  exit 1
fi

echo "tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Packages with a service (nginx on port 80) must not start it: the tests run their own instance.
# A policy-rc.d answering 101 tells invoke-rc.d not to start services while we install.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${as_root[@]}" tee "$policy" >/dev/null
  "${as_root[@]}" chmod 755 "$policy"
  trap '"${as_root[@]}" rm -f "$policy"' EXIT
fi
# --no-install-recommends: promtool needs only the prometheus binaries, not its service setup.
if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; then
  # A fresh machine may have no package lists yet.
  "${as_root[@]}" apt-get update -q
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
for tool in "$@"; do
  command -v "$tool" >/dev/null 2>&1 || [[ -x "/usr/sbin/$tool" ]] || {
    echo "tools: $tool is still missing after installing its package" >&2
    exit 1
  }
done
