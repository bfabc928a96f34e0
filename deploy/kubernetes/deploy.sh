#!/usr/bin/env bash
# Deploys (or upgrades) snip with one overlay, the migration first:
#   1. the settings, the Secret (dev) and the migration Job: the objects labelled snip/pre-deploy;
#   2. waits until the Job has completed (the schema is current);
#   3. the apps, and waits for their rollouts.
# A Job cannot be changed once created, so the previous release's Job is deleted first.
# Usage: deploy/kubernetes/deploy.sh dev|production   (kubectl with the cluster's context)
set -euo pipefail
overlay="${1:?usage: deploy.sh dev|production}"
dir="$(cd "$(dirname "$0")" && pwd)/overlays/$overlay"
[[ -f "$dir/kustomization.yaml" ]] || { echo "deploy: no overlay $dir" >&2; exit 2; }
namespace="$(sed -n 's/^namespace: *//p' "$dir/kustomization.yaml")"
timeout="${SNIP_MIGRATE_TIMEOUT:-600s}"

kubectl get namespace "$namespace" >/dev/null 2>&1 || kubectl create namespace "$namespace"
kubectl -n "$namespace" delete job snip-migrate --ignore-not-found --wait=true
kubectl apply -k "$dir" -l snip/pre-deploy=true
if ! kubectl -n "$namespace" wait --for=condition=complete --timeout="$timeout" job/snip-migrate; then
  echo "deploy: the migration did not complete; the running version keeps serving. Its logs:" >&2
  kubectl -n "$namespace" logs job/snip-migrate --tail=50 >&2 || true
  exit 1
fi
kubectl apply -k "$dir"
for app in api edge logs; do
  kubectl -n "$namespace" rollout status "deployment/snip-$app" --timeout=10m
done
