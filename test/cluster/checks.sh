#!/usr/bin/env bash
# The end-to-end checks on the cluster up.sh started (sourced functions run from e2e.sh): the chart
# installed with its own RBAC, samples/ applied, admission through the webhook's Service, the
# ledger on its PersistentVolume, /metrics, an operator killed mid-rollout, upgrade, an https://
# artifact fetched and verified in the Pod (artifact-checks.sh) and uninstall.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ns=modelchain-system
ledger=/var/lib/modelchain/ledger
pv_dir="$run_dir/ledger-pv/mc"
t0=$SECONDS
step() { echo "e2e: $* ($((SECONDS - t0)) s)" >&2; }
fail() { echo "e2e FAILED: $*" >&2; exit 1; }
k() { in_ns "$kubectl_bin" --kubeconfig "$run_dir/cfg/admin.kubeconfig" "$@" 2> >(grep -v 'version difference' >&2); }
diagnose() { # what a failed check leaves to read, before the cluster is torn down (each part may fail)
  local t=--request-timeout=10s part
  for part in "k $t -n $ns get pods -o wide" "k $t -n $ns logs deploy/mc-operator --tail=150" \
    "k $t -n $ns logs deploy/mc-operator --previous --tail=80" "k $t -n ml get md,deploy,rs,pods -o wide" \
    "k $t -n ml get md -o yaml | grep -A40 '^  status:'" \
    "k $t -n $ns exec deploy/mc-operator -- modelchain history ml/support-chat --ledger $ledger -o table" \
    "k $t -n ml get events --sort-by=.lastTimestamp"; do
    echo "--- e2e diagnostics: $part"
    (eval "$part") 2>&1 | tail -150 || true
  done
}
# Any failure, by fail or by a command set -e stops at, leaves its diagnostics.
trap 'rc=$?; if [ "$rc" != 0 ]; then diagnose >&2; fi; exit "$rc"' EXIT
h() { in_ns "$helm_bin" --kubeconfig "$run_dir/cfg/admin.kubeconfig" "$@"; }
mc() { k -n "$ns" exec deploy/mc-operator -- modelchain "$@"; }
entries() { mc verify --ledger "$ledger" | sed -n 's/^ok: \([0-9]*\) entries.*/\1/p'; }
count() { # kind: how many of the ModelDeployment's events in the ledger are of this kind
  mc history ml/support-chat --ledger "$ledger" --output json |
    "$root/node_modules/.bin/node" -e "const h=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(h.groups.flatMap(g=>g.events).filter(e=>e.kind==='$1').length)"
}
count_is() { [ "$(count "$1" 2>/dev/null)" = "$2" ]; }
wait_for() { # what, command... (functions of this script)
  local what="$1"; shift
  for _ in $(seq 1 90); do "$@" >/dev/null 2>&1 && return 0; sleep 2; done
  fail "timed out waiting for $what"
}
image_digest() { # containerd's manifest digest of an imported image
  /usr/bin/ctr --address "$run_dir/containerd/containerd.sock" -n k8s.io images ls "name==$1" | awk 'NR==2{print $3}'
}
verified() { [ "$(k -n ml get mv mistral-7b-support-v2 -o jsonpath='{.status.conditions[?(@.type=="Verified")].status}')" = True ]; }
rolled_out() { # revision image digest: every replica of the owned Deployment Ready on that image
  local want="localhost/e2e-serving@$1"
  [ "$(k -n ml get deploy support-chat -o jsonpath='{.spec.template.spec.containers[0].image}')" = "$want" ] &&
    k -n ml rollout status deploy/support-chat --timeout=5s &&
    [ "$(k -n ml get pods -l modelchain.io/model-deployment=support-chat --field-selector=status.phase=Running -o name | wc -l)" -ge 2 ]
}
operator_ready() { k -n "$ns" rollout status deploy/mc-operator --timeout=5s && mc verify --ledger "$ledger"; }
scrape() { # the operator's /metrics through its Service (port-forward inside the namespace)
  in_ns "$kubectl_bin" --kubeconfig "$run_dir/cfg/admin.kubeconfig" -n "$ns" port-forward svc/mc-metrics 18080:8080 >/dev/null 2>&1 &
  local pf=$!
  local body=""
  for _ in $(seq 1 20); do body="$(in_ns curl -fsS http://127.0.0.1:18080/metrics 2>/dev/null)" && break; sleep 0.5; done
  kill "$pf"; wait "$pf" 2>/dev/null || true
  echo "$body"
}
metric() { # name{labels} pattern -> summed value
  awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'
}

# --- the chart, with its own RBAC only, its ledger PVC bound to a hostPath PV made here
mkdir -p "$pv_dir" && chown 65532:65532 "$pv_dir"
k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: PersistentVolume
metadata: {name: e2e-ledger}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  claimRef: {namespace: $ns, name: mc-ledger}
  hostPath: {path: "$pv_dir", type: Directory}
YAML
# Pinned by the digest containerd has for it, the chart gives the operator its own image as
# --artifact-image: the init containers that fetch https:// artifacts run it.
mc_digest="$(image_digest docker.io/library/modelchain:e2e)"
[[ "$mc_digest" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "no digest for docker.io/library/modelchain:e2e: $mc_digest"
chart_sets=(--set image.repository=modelchain --set image.tag=e2e --set image.digest="$mc_digest"
  --set image.pullPolicy=Never --set clusterName=e2e)
h install mc "$root/helm/modelchain" --namespace "$ns" --create-namespace "${chart_sets[@]}" --wait --timeout 5m >/dev/null
step "helm install --wait: $(k -n "$ns" get pods -o name | wc -l) pod(s), PVC $(k -n "$ns" get pvc mc-ledger -o jsonpath='{.status.phase}')"
# In the default mode the operator serves the webhook under its own account: one binding.
bindings="$(k get clusterrolebinding -o name | grep 'mc-' | tr '\n' ' ')"
[ "$bindings" = "clusterrolebinding.rbac.authorization.k8s.io/mc-operator " ] ||
  fail "expected only the operator's ClusterRoleBinding, found: $bindings"
[ "$(k auth can-i create deployments.apps -n ml --as="system:serviceaccount:$ns:mc-operator")" = yes ] ||
  fail "the chart's operator role cannot create Deployments"
k -n "$ns" get deploy mc-operator -o jsonpath='{.spec.template.spec.containers[0].args}' |
  grep -qF -- "--artifact-image=modelchain@$mc_digest" || fail "the operator has no --artifact-image pinned by digest"

# --- samples/: the signed chain verifies; the ModelDeployment rolls out on real Pods. The sample's
# vLLM image, 16 GiB requests and registry-held model cannot be had here: the same
# ModelDeployment serves a local image, pinned by the digest containerd has for it, with small
# requests, and the fine-tune (signed again) names a model file the HTTPS store of
# artifact-checks.sh serves from inside the namespace.
source "$cluster_dir/artifact-checks.sh"
k apply -f "$root/samples/namespace.yaml" -f "$root/samples/trust-policy.yaml" >/dev/null
# helm's --wait sees the operator Ready before kube-proxy has programmed the webhook Service
# (seen once: "connect: connection refused" on its ClusterIP): wait until a server-side dry run
# of a ModelVersion, which the API server sends to the webhook, is answered.
webhook_answers() { k apply --dry-run=server -f "$root/samples/base-model.yaml" >/dev/null; }
wait_for "the webhook answering through its Service" webhook_answers
step "the webhook answers through its Service"
k apply -f "$root/samples/base-model.yaml" >/dev/null
artifact_store
fine_tune_from_store 2.0.0 mistral-7b-support-v2 > "$run_dir/fine-tuned.yaml"
k apply -f "$run_dir/fine-tuned.yaml" >/dev/null
wait_for "the ModelVersions Verified" verified
rev1="$(image_digest localhost/e2e-serving:1)"; rev2="$(image_digest localhost/e2e-serving:2)"
[ -n "$rev1" ] && [ -n "$rev2" ] && [ "$rev1" != "$rev2" ] || fail "no digests for the serving images"
sed -e "s|image: registry.example.com/serving/vllm@sha256:[0-9a-f]*|image: localhost/e2e-serving@$rev1|" \
  -e 's|args: \["--max-model-len", "8192"\]|args: ["httpd", "-f", "-p", "8000"]|' \
  -e 's|requests: { cpu: "2", memory: 16Gi }|requests: { cpu: 10m, memory: 16Mi }|' \
  -e 's|limits: { memory: 24Gi }|limits: { memory: 64Mi }|' \
  -e 's|^  replicas: 2$|  replicas: 2\n  artifact: { credentialsSecret: e2e-artifact-trust }|' "$root/samples/deployment.yaml" > "$run_dir/deployment.yaml"
grep -q "e2e-serving@$rev1" "$run_dir/deployment.yaml" && grep -q '"httpd"' "$run_dir/deployment.yaml" &&
  grep -q "credentialsSecret: e2e-artifact-trust" "$run_dir/deployment.yaml" ||
  fail "samples/deployment.yaml no longer has the fields this suite adapts"
k apply -f "$run_dir/deployment.yaml" >/dev/null
wait_for "support-chat rolled out on revision 1" rolled_out "$rev1"
wait_for "RolloutStarted in the ledger" count_is RolloutStarted 1
wait_for "RolloutCompleted in the ledger" count_is RolloutCompleted 1
step "ModelDeployment support-chat rolled out: $(k -n ml get pods -l modelchain.io/model-deployment=support-chat -o name | wc -l) Pods Running"

# --- Ready on every kind, as kubectl wait (and kstatus, Argo CD health checks) read it.
ready() { # what (kind/name), namespace args...
  local what="$1"; shift
  k "$@" wait --for=condition=Ready "$what" --timeout=120s >/dev/null ||
    fail "$what is not Ready: $(k "$@" get "$what" -o jsonpath='{.status.conditions}')"
}
ready modeltrustpolicy/ml-models
ready modelversion/mistral-7b-base -n ml
ready modelversion/mistral-7b-support-v2 -n ml
ready modeldeployment/support-chat -n ml
step "kubectl wait --for=condition=Ready: the trust policy, both ModelVersions and support-chat"

# --- admission: the API server calls the webhook through its Service (ClusterIP, kube-proxy).
declare -A says=([unsigned]="signature failed" [tampered]="signature failed"
  [revoked-ancestor]="ancestorsNotRevoked failed")
for bad in unsigned tampered revoked-ancestor; do
  if out="$(k apply -f "$root/samples/bad/$bad.yaml" 2>&1)"; then fail "samples/bad/$bad.yaml was admitted: $out"; fi
  echo "$out" | grep -q 'admission webhook "[^"]*" denied the request: modelchain' ||
    fail "samples/bad/$bad.yaml was not denied by the webhook: $out"
  echo "$out" | grep -qF "${says[$bad]}" || fail "samples/bad/$bad.yaml denied without \"${says[$bad]}\": $out"
done
# An image tag is refused by the CRD schema itself (a CEL rule), before any webhook is asked.
if out="$(k apply -f "$root/samples/bad/unpinned-image.yaml" 2>&1)"; then fail "samples/bad/unpinned-image.yaml was admitted: $out"; fi
echo "$out" | grep -qF 'spec.image: Invalid value: "registry.example.com/serving/vllm:0.6.3": must be pinned by digest' ||
  fail "samples/bad/unpinned-image.yaml was not refused by the CRD schema: $out"
step "the webhook denied the 3 bad samples, each for its reason; the CRD refused the image tag"

# --- a config change and an image change: one entry of each kind, each rolled out
k -n ml patch md support-chat --type merge -p '{"spec":{"serving":{"args":["httpd","-f","-p","8000","-v"]}}}' >/dev/null
wait_for "ConfigChanged" count_is ConfigChanged 1
wait_for "RolloutCompleted of the config change" count_is RolloutCompleted 2
before="$(entries)"
metrics="$(scrape)"
[ "$(echo "$metrics" | metric 'modelchain_ledger_entries{')" = "$before" ] || fail "/metrics tree size is not $before: $(echo "$metrics" | grep '^modelchain_ledger_entries')"
for kind in RolloutStarted RolloutCompleted ConfigChanged; do
  [ "$(echo "$metrics" | metric "modelchain_ledger_entries_appended_total{kind=\"$kind\"")" -ge 1 ] || fail "/metrics counts no $kind"
done
denied="$(echo "$metrics" | metric 'modelchain_admission_reviews_total{decision="denied"')"
recorded="$(echo "$metrics" | metric 'modelchain_ledger_entries_appended_total{kind="AdmissionDenied"')"
[ "$denied" -ge 4 ] && [ "$recorded" -ge 4 ] ||
  fail "/metrics: $denied reviews denied and $recorded AdmissionDenied entries, want at least 4: $(echo "$metrics" | grep -E '^modelchain_(admission_reviews|ledger_entries_appended)_total')"
step "/metrics: $before entries, $denied reviews denied, $recorded AdmissionDenied entries appended"

# --- the image change, with the operator Pod killed right after it: nothing is lost
k -n ml patch md support-chat --type merge -p "{\"spec\":{\"image\":\"localhost/e2e-serving@$rev2\"}}" >/dev/null
k -n "$ns" delete pod -l app.kubernetes.io/component=operator --grace-period=0 --force >/dev/null 2>&1
wait_for "a new operator Pod" operator_ready
wait_for "ImageDigestChanged" count_is ImageDigestChanged 1
wait_for "support-chat rolled out on revision 2" rolled_out "$rev2"
wait_for "RolloutCompleted of the image change" count_is RolloutCompleted 3
for kind in ConfigChanged ImageDigestChanged; do [ "$(count "$kind")" = 1 ] || fail "$kind recorded $(count "$kind") times"; done
after="$(entries)"
[ "$after" -gt "$before" ] || fail "the ledger did not grow past $before entries"
mc verify --ledger "$ledger" >/dev/null || fail "modelchain verify failed in the cluster"
mc history ml/support-chat --ledger "$ledger" -o table | tail -4 >&2
step "operator killed mid-rollout: ledger $before -> $after entries, verify and history ok"

# --- helm upgrade keeps the ledger; an https:// artifact verified in the Pod, a tampered one
# refused; helm uninstall leaves the claim, the volume and its entries
h upgrade mc "$root/helm/modelchain" --namespace "$ns" "${chart_sets[@]}" --set operator.workers=3 --wait --timeout 5m >/dev/null
wait_for "the upgraded operator" operator_ready
[ "$(entries)" -ge "$after" ] || fail "helm upgrade lost entries"
artifact_checks
after="$(entries)"
h uninstall mc --namespace "$ns" --wait >/dev/null
[ "$(k -n "$ns" get pvc mc-ledger -o jsonpath='{.status.phase}')" = Bound ] || fail "helm uninstall removed the ledger claim"
host_verify="$("$root/node_modules/.bin/node" "$root/src/cli/bin.ts" verify --ledger "$pv_dir/ledger")" ||
  fail "modelchain verify of the volume after uninstall: $host_verify"
echo "$host_verify" | grep -q "^ok: [0-9]* entries" && [ "$(echo "$host_verify" | sed -n 's/^ok: \([0-9]*\) entries.*/\1/p')" -ge "$after" ] ||
  fail "the volume after uninstall: $host_verify"
step "helm upgrade and uninstall kept the ledger: $host_verify"
echo "e2e passed"
