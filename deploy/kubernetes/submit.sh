#!/usr/bin/env bash
# Runs a sharded sweep on Kubernetes: the Indexed Job of SHARDS pods, a wait that ends as
# soon as the Job completes or fails, then the merge Job and its log.
#
#   deploy/kubernetes/submit.sh EXPERIMENT.ron [SHARDS] [CPUS] [IMAGE]
#       defaults: 4 shards, 2 CPUs each, image scalesim:0.1 (docker build -t scalesim:0.1 .)
#   deploy/kubernetes/submit.sh --render EXPERIMENT.ron ...   print the two Jobs, apply nothing
#
# Needs kubectl on a cluster with the results claim applied (results-pvc.yaml). Exits 1
# when the sweep or the merge fails (or an expectation fails in the merge).
set -euo pipefail
only_render=false
if [ "${1:-}" = "--render" ]; then only_render=true; shift; fi
export EXPERIMENT="${1:?usage: deploy/kubernetes/submit.sh EXPERIMENT.ron [SHARDS] [CPUS] [IMAGE]}"
export SHARDS="${2:-4}" CPUS="${3:-2}" IMAGE="${4:-scalesim:0.1}"
here="$(cd "$(dirname "$0")" && pwd)"
render() { # the manifest with ${EXPERIMENT}, ${SHARDS}, ${CPUS} and ${IMAGE} filled in
  sed -e "s|\${EXPERIMENT}|$EXPERIMENT|g" -e "s|\${SHARDS}|$SHARDS|g" \
      -e "s|\${CPUS}|$CPUS|g" -e "s|\${IMAGE}|$IMAGE|g" "$1"
}
# Waits for `complete` or `failed`, whichever comes first (kubectl wait alone would sit
# out its whole timeout on a failed Job).
wait_job() {
  local job="$1" timeout="$2"
  kubectl wait --for=condition=complete "job/$job" --timeout="$timeout" &
  local ok=$!
  kubectl wait --for=condition=failed "job/$job" --timeout="$timeout" &
  local bad=$!
  while kill -0 "$ok" 2>/dev/null && kill -0 "$bad" 2>/dev/null; do sleep 2; done
  if ! kill -0 "$ok" 2>/dev/null && wait "$ok"; then
    kill "$bad" 2>/dev/null || true
    return 0
  fi
  kill "$ok" "$bad" 2>/dev/null || true
  echo "job $job failed (or timed out):" >&2
  kubectl logs "job/$job" --all-containers --tail=50 >&2 || true
  return 1
}
if $only_render; then
  render "$here/sweep-job.yaml"; echo "---"; render "$here/merge-job.yaml"
  exit 0
fi
kubectl delete job scalesim-sweep scalesim-merge --ignore-not-found >/dev/null
render "$here/sweep-job.yaml" | kubectl apply -f -
wait_job scalesim-sweep 2h
render "$here/merge-job.yaml" | kubectl apply -f -
status=0
wait_job scalesim-merge 30m || status=1
kubectl logs job/scalesim-merge
exit "$status"
