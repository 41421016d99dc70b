#!/usr/bin/env bash
# A real single-node Kubernetes cluster inside a network namespace of its own (`ip netns`):
# the bridge, the node address, the Pod and Service ranges exist only in there, and so do etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, containerd (Debian's, its own root,
# state and socket), the kubelet and kube-proxy (their iptables rules are the namespace's).
# Processes join the namespace with nsenter (network only: they share the host's mounts, which
# the kubelet and containerd must both see). Every pid goes to $run_dir/pids, every log to
# $run_dir/logs; down.sh undoes it all and checks the host is as host_state() found it.
#   up.sh <image tar>...   the images (docker save archives) imported into containerd
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ ! -e "$run_dir/pids" ] || die "$run_dir/pids exists: run test/cluster/down.sh first"
envtest="$("$root/test/envtest/assets/build.sh")"
node="$("$cluster_dir/assets/build.sh")"
unpack_tools
mkdir -p "$run_dir"/{pids,logs,pki,cfg,etcd,kubelet,pod-logs,containerd,cni/net.d,cni/ipam,ledger-pv}
snapshot_host

start() { # name, command... (in the namespace, pid recorded)
  local name="$1"; shift
  nohup nsenter --net="/run/netns/$netns" -- "$@" >"$run_dir/logs/$name.log" 2>&1 &
  echo $! > "$run_dir/pids/$name"
}
wait_for() { # what, seconds, command...
  local what="$1" n="$2"; shift 2
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  tail -5 "$run_dir"/logs/*.log >&2
  die "timed out waiting for $what"
}
k() { in_ns "$kubectl_bin" --kubeconfig "$run_dir/cfg/admin.kubeconfig" "$@"; }

# --- the namespace: loopback, the bridge with the node address, Services routed to the bridge
# (kube-proxy DNATs them; a route must exist before its OUTPUT rules are consulted).
ip netns add "$netns"
in_ns ip link set lo up
in_ns ip link add "$bridge" type bridge
in_ns ip addr add "$node_ip/24" dev "$bridge"
in_ns ip link set "$bridge" up
in_ns ip route add "$svc_cidr" dev "$bridge" src "$node_ip"
in_ns sysctl -qw net.ipv4.ip_forward=1
say "network namespace $netns with $bridge $node_ip"

source "$cluster_dir/pki.sh"
make_pki "$run_dir/pki" "$run_dir/cfg" "https://$node_ip:6443"

start etcd "$envtest/etcd" --data-dir="$run_dir/etcd" --listen-client-urls=http://127.0.0.1:2379 \
  --advertise-client-urls=http://127.0.0.1:2379 --listen-peer-urls=http://127.0.0.1:2380 \
  --initial-advertise-peer-urls=http://127.0.0.1:2380 --initial-cluster=default=http://127.0.0.1:2380 \
  --unsafe-no-fsync --log-level=warn
wait_for etcd 30 in_ns curl -fsS http://127.0.0.1:2379/health
p="$run_dir/pki"
start kube-apiserver "$envtest/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --advertise-address="$node_ip" --bind-address="$node_ip" --secure-port=6443 \
  --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" --client-ca-file="$p/ca.crt" \
  --token-auth-file="$p/tokens.csv" --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --service-cluster-ip-range="$svc_cidr" --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
  --kubelet-client-certificate="$p/kubelet-client.crt" --kubelet-client-key="$p/kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP --allow-privileged=true --profiling=false
wait_for kube-apiserver 120 k get --raw /readyz
say "kube-apiserver $(k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1) ready"

cm="$run_dir/cfg/controller-manager.kubeconfig"
start kube-controller-manager "$envtest/kube-controller-manager" --kubeconfig="$cm" \
  --authentication-kubeconfig="$cm" --authorization-kubeconfig="$cm" \
  --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" --use-service-account-credentials=true \
  --leader-elect=false --bind-address=127.0.0.1 --cluster-name=mc
sc="$run_dir/cfg/scheduler.kubeconfig"
printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nclientConnection: {kubeconfig: "%s"}\nleaderElection: {leaderElect: false}\n' \
  "$sc" > "$run_dir/cfg/scheduler.yaml"
start kube-scheduler "$node/kube-scheduler" --config="$run_dir/cfg/scheduler.yaml" \
  --authentication-kubeconfig="$sc" --authorization-kubeconfig="$sc" --bind-address=127.0.0.1

source "$cluster_dir/node-config.sh"
write_node_config
start containerd env PATH=/usr/bin:/usr/sbin:/bin:/sbin /usr/bin/containerd --config "$run_dir/containerd/config.toml" --log-level warn
ctr() { /usr/bin/ctr --address "$run_dir/containerd/containerd.sock" -n k8s.io "$@"; }
wait_for containerd 30 ctr version
for tar in "$@"; do ctr images import "$tar" >/dev/null; done
# A Pod that names an image by digest finds it only under that name (as a pull would record it).
ctr images ls | awk 'NR > 1 && $1 !~ /^sha256:/ && $1 !~ /@/ {n = $1; sub(/:[^:/]*$/, "", n); print n "@" $3, $1}' |
  while read -r by_digest ref _; do ctr images tag --force "$ref" "$by_digest" >/dev/null; done
ctr images label "$pause_image" io.cri-containerd.pinned=pinned >/dev/null
say "containerd $(/usr/bin/containerd --version | awk '{print $3}') up, images: $(ctr images ls -q | grep -v '^sha256:' | tr '\n' ' ')"
start kubelet "$node/kubelet" --config="$run_dir/cfg/kubelet.yaml" --kubeconfig="$run_dir/cfg/kubelet.kubeconfig" \
  --root-dir="$run_dir/kubelet" --hostname-override="$node_name" --node-ip="$node_ip"
start kube-proxy "$node/kube-proxy" --config="$run_dir/cfg/kube-proxy.yaml"
node_ready() { [ "$(k get node "$node_name" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
wait_for "node $node_name Ready" 120 node_ready
say "node $node_name Ready"
