#!/usr/bin/env bash
# `make e2e` on a real single-node cluster in a network namespace of its own: the images built by
# a Docker engine the harness starts (and stops before the cluster starts), the node binaries from
# assets/build.sh, the cluster from up.sh, the checks in checks.sh, and down.sh on any exit, which
# fails the run if the host is not left as it was found. Needs root, Go, gcc and Debian's
# docker.io, debootstrap, containerd, runc, iptables, busybox-static (.ci/run installs them).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "e2e skipped: needs root (network namespace, containerd, kubelet)"; exit 0; }
for tool in "$dockerd_bin" "$docker_bin" /usr/bin/containerd /usr/sbin/runc /usr/sbin/debootstrap iptables nsenter go gcc; do
  command -v "$tool" >/dev/null || die "$tool is not installed (see .ci/run)"
done
[ ! -e "$run_dir/pids" ] || die "a cluster is already up in $run_dir (test/cluster/down.sh)"
started=$SECONDS
teardown() {
  local rc=$? t=$SECONDS
  "$cluster_dir/down.sh" || rc=1
  echo "e2e: teardown in $((SECONDS - t)) s; total $((SECONDS - started)) s" >&2
  exit "$rc"
}
trap teardown EXIT
# A signal ends the run through the EXIT trap too, so what was started is always stopped.
trap 'exit 130' INT TERM HUP
# A failed run keeps its folder (logs) and the host snapshot in it; this run takes its own.
rm -f "$run_dir/host-before"
snapshot_host
mkdir -p "$run_dir/images"
t=$SECONDS; "$root/test/envtest/assets/build.sh" >/dev/null; "$cluster_dir/assets/build.sh" >/dev/null
echo "e2e: binaries ready in $((SECONDS - t)) s" >&2
t=$SECONDS
"$cluster_dir/docker.sh" start
"$cluster_dir/images.sh" "$run_dir/images"
"$cluster_dir/docker.sh" stop
echo "e2e: images in $((SECONDS - t)) s" >&2
t=$SECONDS
"$cluster_dir/up.sh" "$run_dir/images"/*.tar
echo "e2e: cluster up in $((SECONDS - t)) s" >&2
t=$SECONDS
"$cluster_dir/checks.sh"
echo "e2e: checks in $((SECONDS - t)) s" >&2
