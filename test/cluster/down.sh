#!/usr/bin/env bash
# Stops everything up.sh (and docker.sh) started, by the pids they recorded, removes what they
# made outside the network namespace (mounts under the run folder, Pod namespaces, the kubelet's
# cgroups, /run/netns if it was absent), deletes the namespace (its links, routes and iptables
# rules go with it), then compares the host with the snapshot taken before and fails loudly on
# any difference. KEEP_RUN=1 keeps the run folder (logs) after a clean teardown.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
[ -d "$run_dir" ] || { echo "cluster: nothing to tear down ($run_dir absent)"; exit 0; }
pid_of() { cat "$run_dir/pids/$1" 2>/dev/null; }
alive() { local pid; pid="$(pid_of "$1")" && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
stop() { # name
  alive "$1" || return 0
  local pid; pid="$(pid_of "$1")"
  kill -TERM "$pid"
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || return 0; sleep 1; done
  kill -KILL "$pid" 2>/dev/null && echo "cluster: killed $1 ($pid) after 20 s" >&2
}
k() { timeout 60 nsenter --net="/run/netns/$netns" -- "$kubectl_bin" --kubeconfig "$run_dir/cfg/admin.kubeconfig" "$@"; }
ctr() { timeout 30 /usr/bin/ctr --address "$run_dir/containerd/containerd.sock" -n k8s.io "$@"; }

# Pods first, through the API, so the kubelet stops their sandboxes and CNI releases their veths.
if alive kube-apiserver && alive kubelet; then
  stop kube-controller-manager; stop kube-scheduler
  k delete pods --all -A --grace-period=2 --wait=true --timeout=45s >/dev/null 2>&1
  for _ in $(seq 1 30); do [ -z "$(ctr tasks ls -q 2>/dev/null)" ] && break; sleep 1; done
fi
say "pods deleted"
stop kube-proxy; stop kubelet
stop artifact-store
if alive containerd; then
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $(ctr tasks ls -q 2>/dev/null); do ctr tasks delete -f "$t" >/dev/null 2>&1; done
  for s in $(ctr containers ls -q 2>/dev/null); do ctr containers delete "$s" >/dev/null 2>&1; done
fi
for name in kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do stop "$name"; done
# Shims outlive containerd; each names our socket on its command line.
for proc in /proc/[0-9]*; do
  { tr '\0' ' ' < "$proc/cmdline"; } 2>/dev/null | grep -qF -- "-address $run_dir/containerd/containerd.sock " &&
    kill -KILL "${proc#/proc/}" 2>/dev/null && echo "cluster: killed a leftover shim ${proc#/proc/}" >&2
done
say "processes stopped"
"$cluster_dir/docker.sh" stop

before="$run_dir/host-before"
# Mounts under the run folder (overlay rootfs, secrets, tokens), deepest first; Pod namespaces.
grep -F " $run_dir/" /proc/self/mountinfo | awk '{print $5}' | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
for n in /run/netns/cni-*; do [ -e "$n" ] && { umount "$n" 2>/dev/null; rm -f "$n"; }; done
ip netns del "$netns" 2>/dev/null
if [ -f "$before" ] && ! sed -n '/^## netns/,/^## /p' "$before" | grep -qx '\.'; then
  while grep -q ' /run/netns ' /proc/self/mountinfo; do umount /run/netns || break; done
  rmdir /run/netns 2>/dev/null
fi
# The kubelet's cgroups (cgroupfs driver): kubepods in every v1 hierarchy, if new.
for h in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$h" ] && ! grep -qx "$h" "$before" 2>/dev/null && find "$h" -depth -type d -exec rmdir {} \; 2>/dev/null
done
[ -f "$before" ] && grep -qx /run/containerd "$before" || rmdir /run/containerd/s /run/containerd/fifo /run/containerd 2>/dev/null

failed=0
for name in $(ls "$run_dir/pids" 2>/dev/null); do
  alive "$name" && { echo "cluster teardown FAILED: $name ($(pid_of "$name")) still running" >&2; failed=1; }
done
if [ -f "$before" ]; then
  if ! diff <(cat "$before") <(host_state) > "$run_dir/host-diff"; then
    echo "cluster teardown FAILED: the host is not as it was found (< before, > after):" >&2
    cat "$run_dir/host-diff" >&2
    failed=1
  else
    echo "cluster: teardown check: netfilter, links, addresses, routes, netns, mounts, cgroups, sysctls as found" >&2
  fi
fi
if [ "$failed" = 0 ] && [ "${KEEP_RUN:-0}" != 1 ]; then rm -rf "$run_dir"; else echo "cluster: logs kept in $run_dir/logs" >&2; rm -rf "$run_dir/pids"; fi
exit "$failed"
