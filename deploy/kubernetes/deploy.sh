#!/usr/bin/env bash
# Deploys (or upgrades) snip with one overlay, the migration first:
#   1. the settings, the Secret (dev) and the migration Job: the objects labelled snip/pre-deploy;
#   2. waits until the Job has completed (the schema is current), and stops at once when it failed
#      (its pods used up backoffLimit, or activeDeadlineSeconds passed), printing its logs;
#   3. the apps, and waits for their rollouts.
# A Job cannot be changed once created, so the previous release's Job is deleted first.
# Usage: deploy/kubernetes/deploy.sh dev|production   (kubectl with the cluster's context)
# SNIP_MIGRATE_TIMEOUT: longest wait for the Job, in seconds (`600` or `600s`; default 600).
# SNIP_DEPLOY_POLL_SECONDS: pause between two looks at the Job (default 2).
set -euo pipefail
overlay="${1:?usage: deploy.sh dev|production}"
dir="$(cd "$(dirname "$0")" && pwd)/overlays/$overlay"
[[ -f "$dir/kustomization.yaml" ]] || { echo "deploy: no overlay $dir" >&2; exit 2; }
namespace="$(sed -n 's/^namespace: *//p' "$dir/kustomization.yaml")"
timeout="${SNIP_MIGRATE_TIMEOUT:-600}"
timeout="${timeout%s}"
[[ $timeout =~ ^[0-9]+$ ]] || { echo "deploy: SNIP_MIGRATE_TIMEOUT must be seconds, not '$timeout'" >&2; exit 2; }
poll="${SNIP_DEPLOY_POLL_SECONDS:-2}"

# The migration failed or did not finish: the running version keeps serving; say why and stop.
migration_failed() {
  echo "deploy: $1; the running version keeps serving. The Job's logs:" >&2
  kubectl -n "$namespace" logs job/snip-migrate --tail=50 >&2 || true
  exit 1
}

kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace"
kubectl -n "$namespace" delete job snip-migrate --ignore-not-found --wait=true
kubectl apply -k "$dir" -l snip/pre-deploy=true
# `kubectl wait --for=condition=complete` alone would sit out the whole timeout on a failed Job.
deadline=$((SECONDS + timeout))
while :; do
  conditions="$(kubectl -n "$namespace" get job snip-migrate \
    -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}')"
  case " $conditions " in
    *" Complete "*) break ;;
    *" Failed "*) migration_failed "the migration failed" ;;
  esac
  ((SECONDS < deadline)) || migration_failed "the migration did not complete within ${timeout}s"
  sleep "$poll"
done
kubectl apply -k "$dir"
for app in api edge logs; do
  kubectl -n "$namespace" rollout status "deployment/snip-$app" --timeout=10m
done
