# The artifact delivered and verified on the real node (sourced by checks.sh, whose chart runs
# with image.digest, so the operator's --artifact-image is the modelchain image pinned by the
# digest containerd has for it). artifact_store: a store serving generated model files over HTTPS
# from inside the network namespace, with a CA made here, and the Secret that makes the fetch
# trust it; the samples' ModelVersion is adapted to one of them. artifact_checks: a signed
# ModelVersion naming another by its artifact digest; its ModelDeployment's init container
# fetches and verifies it, the server mounts it. Then the store serves other bytes under the same
# URI: a new Pod's init container fails naming both digests and never lets the server start.
# Each outcome is in the ledger once.
# shellcheck shell=bash
store="$run_dir/artifact-store"
store_port=18443
store_url="https://$node_ip:$store_port"
model_uri="$store_url/support-chat/3.0.0/model.safetensors"
md=artifact-chat
node_bin="$root/node_modules/.bin/node"
cli() { "$node_bin" "$root/src/cli/bin.ts" "$@"; }
count_of() { # kind: how many of $md's events in the ledger are of this kind
  mc history "ml/$md" --ledger "$ledger" --output json |
    "$node_bin" -e "const h=JSON.parse(require('fs').readFileSync(0,'utf8'));console.log(h.groups.flatMap(g=>g.events).filter(e=>e.kind==='$1').length)"
}
count_of_is() { [ "$(count_of "$1" 2>/dev/null)" = "$2" ]; }
pod_of() { k -n ml get pods -l "modelchain.io/model-deployment=$md" --field-selector=status.phase!=Succeeded -o jsonpath='{.items[0].metadata.name}'; }
init_field() { # pod, jsonpath below the artifact init container's status
  k -n ml get pod "$1" -o jsonpath="{.status.initContainerStatuses[?(@.name==\"artifact\")]$2}"
}
init_exit() { # pod -> exit code of the init container's last finished run (now or before a restart)
  local now; now="$(init_field "$1" .state.terminated.exitCode)"
  [ -n "$now" ] && echo "$now" || init_field "$1" .lastState.terminated.exitCode
}
init_message() {
  local now; now="$(init_field "$1" .state.terminated.message)"
  [ -n "$now" ] && echo "$now" || init_field "$1" .lastState.terminated.message
}
serving() { # pod: Ready, its server container running
  local pod; pod="$(pod_of)" && [ -n "$pod" ] &&
    [ "$(init_exit "$pod")" = 0 ] &&
    [ "$(k -n ml get pod "$pod" -o jsonpath='{.status.containerStatuses[?(@.name=="server")].ready}')" = true ]
}
init_failed() { # a Pod other than $1 whose init container exited 1
  local pod; pod="$(pod_of)" && [ -n "$pod" ] && [ "$pod" != "$1" ] && [ "$(init_exit "$pod")" = 1 ]
}

digest_of() { # path -> its artifact digest
  local d
  d="$(cli artifact digest --path "$1" | "$node_bin" -e "console.log(JSON.parse(require('fs').readFileSync(0,'utf8')).digest)")"
  [[ "$d" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "artifact digest of $1: $d"
  echo "$d"
}
fine_tune_from_store() { # version name -> samples/fine-tuned.yaml with the store's file of that version, signed
  local uri="$store_url/support-chat/$1/model.safetensors" digest
  digest="$(digest_of "$store/www/support-chat/$1/model.safetensors")"
  sed -e "s|name: mistral-7b-support-v2|name: $2|" -e "s|version: \"2.0.0\"|version: \"$1\"|" \
    -e "s|uri: oci://registry.example.com/models/mistral-7b-support:2.0.0|uri: $uri|" \
    -e "s|digest: sha256:c4e1a9f3b7d2e8c6a0f5b3d9e7c1a4f8b2d6e0c3a7f1b5d9e3c7a2f6b0d4e8c1|digest: $digest|" \
    "$root/samples/fine-tuned.yaml" > "$store/mv-$1.yaml"
  grep -qF "uri: $uri" "$store/mv-$1.yaml" && grep -qF "digest: $digest" "$store/mv-$1.yaml" ||
    fail "samples/fine-tuned.yaml no longer has the fields this suite adapts"
  cli sign -f "$store/mv-$1.yaml" --key "$root/samples/keys/demo-signing.pem" --parent "$root/samples/base-model.yaml" \
    -o "$store/mv-$1.signed.yaml" >/dev/null 2>"$store/sign.log" || fail "modelchain sign of the adapted fine-tune $2: $(cat "$store/sign.log")"
  cat "$store/mv-$1.signed.yaml"
}

artifact_store() {
# --- the store: its CA, its certificate for the node address, the models
mkdir -p "$store"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=e2e-artifact-ca \
  -keyout "$store/ca.key" -out "$store/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$node_ip" \
  -keyout "$store/tls.key" -out "$store/tls.csr" 2>/dev/null
printf 'subjectAltName=IP:%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$node_ip" > "$store/ext"
openssl x509 -req -in "$store/tls.csr" -CA "$store/ca.crt" -CAkey "$store/ca.key" -CAcreateserial -days 1 \
  -extfile "$store/ext" -out "$store/tls.crt" 2>/dev/null
model="$store/www/support-chat/3.0.0/model.safetensors"
for v in 2.0.0 3.0.0; do mkdir -p "$store/www/support-chat/$v" && head -c 65536 /dev/urandom > "$store/www/support-chat/$v/model.safetensors"; done
nohup nsenter --net="/run/netns/$netns" -- "$node_bin" "$cluster_dir/artifact-server.ts" "$store/www" "$node_ip" \
  "$store_port" "$store/tls.crt" "$store/tls.key" >"$run_dir/logs/artifact-store.log" 2>&1 &
echo $! > "$run_dir/pids/artifact-store"
store_up() { in_ns curl -fsS --cacert "$store/ca.crt" -o /dev/null "$model_uri"; }
wait_for "the artifact store on $node_ip:$store_port" store_up
# The fetch trusts the store's CA through Node's NODE_EXTRA_CA_CERTS: the init
# container gets only the credentials Secret's variables, no volume of ours, so the CA travels
# as a variable of that Secret and NODE_EXTRA_CA_CERTS names the process's own environment
# (/proc/self/environ), where OpenSSL's PEM reader finds it between the other variables.
{ echo; cat "$store/ca.crt"; } > "$store/ca-env.pem"
k -n ml create secret generic e2e-artifact-trust --from-literal=NODE_EXTRA_CA_CERTS=/proc/self/environ \
  --from-file=E2E_ARTIFACT_CA="$store/ca-env.pem" >/dev/null
}

artifact_checks() {
# --- the signed ModelVersion (the fine-tune's lineage and datasets, this artifact) and its
# ModelDeployment
good="$(digest_of "$model")"
fine_tune_from_store 3.0.0 mistral-7b-support-v3 > "$store/mv3.yaml"
k apply -f "$store/mv3.yaml" >/dev/null
v3_verified() { [ "$(k -n ml get mv mistral-7b-support-v3 -o jsonpath='{.status.conditions[?(@.type=="Verified")].status}')" = True ]; }
wait_for "mistral-7b-support-v3 Verified" v3_verified
k apply -f - >/dev/null <<YAML
apiVersion: modelchain.io/v1alpha1
kind: ModelDeployment
metadata: {name: $md, namespace: ml}
spec:
  modelVersion: mistral-7b-support-v3
  image: localhost/e2e-serving@$rev1
  replicas: 1
  artifact: {credentialsSecret: e2e-artifact-trust}
  serving:
    port: 8000
    modelPath: /models/support-chat
    args: ["httpd", "-f", "-p", "8000"]
    resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}
YAML
wait_for "$md serving the fetched model" serving
pod="$(pod_of)"
[ "$(k -n ml get deploy "$md" -o jsonpath='{.spec.template.spec.initContainers[0].image}')" = "modelchain@$mc_digest" ] ||
  fail "the artifact init container does not run modelchain@$mc_digest"
msg="$(init_message "$pod")"
echo "$msg" | grep -q '"outcome": *"Verified"' && echo "$msg" | grep -qF "$good" ||
  fail "the init container's termination message is not Verified $good: $msg"
[ "$(k -n ml exec "$pod" -c server -- sh -c 'echo "$MODEL_PATH"')" = /models/support-chat ] ||
  fail "the server container has no MODEL_PATH=/models/support-chat"
k -n ml exec "$pod" -c server -- sh -c 'cat "$MODEL_PATH/model.safetensors"' | cmp -s - "$model" ||
  fail "the server container does not see the served bytes at \$MODEL_PATH/model.safetensors"
wait_for "ArtifactVerified in the ledger" count_of_is ArtifactVerified 1
step "https:// artifact fetched and verified by the init container (modelchain@${mc_digest:0:19}…), served at \$MODEL_PATH"

# --- the store's bytes tampered with, the signed digest unchanged: the next Pod never serves
head -c 65536 /dev/urandom > "$model"
k -n ml delete pod "$pod" --grace-period=1 >/dev/null
wait_for "the new Pod's init container failing" init_failed "$pod"
bad_pod="$(pod_of)"
msg="$(init_message "$bad_pod")"
actual="$(digest_of "$model")"
echo "$msg" | grep -qF "$good" && echo "$msg" | grep -qF "$actual" ||
  fail "the failed init container's message does not name expected $good and actual $actual: $msg"
wait_for "ArtifactVerificationFailed in the ledger" count_of_is ArtifactVerificationFailed 1
restarted() { [ "$(init_field "$bad_pod" .restartCount)" -ge 1 ]; }
wait_for "the init container retried" restarted
[ "$(k -n ml get pod "$bad_pod" -o jsonpath='{.status.phase}')" = Pending ] &&
  [ -z "$(k -n ml get pod "$bad_pod" -o jsonpath='{.status.containerStatuses[?(@.name=="server")].state.running}')" ] ||
  fail "the Pod with the tampered artifact started its server"
for kind in ArtifactVerified ArtifactVerificationFailed; do
  [ "$(count_of "$kind")" = 1 ] || fail "$kind recorded $(count_of "$kind") times"
done
mc history "ml/$md" --ledger "$ledger" -o table | tail -3 >&2
step "tampered bytes: init container exit 1 naming $good and $actual, server not started, each outcome recorded once"
k -n ml delete md "$md" --wait=true >/dev/null
kill "$(cat "$run_dir/pids/artifact-store")"
}
