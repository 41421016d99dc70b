#!/usr/bin/env bash
# Builds what a single-node cluster needs beyond the envtest control plane (../../envtest/assets:
# kube-apiserver, kube-controller-manager, etcd), from source through the Go module proxy, into a
# cache outside the repo, and prints that folder:
#   kubelet, kube-scheduler, kube-proxy  k8s.io/kubernetes at the version envtest pins, with its
#                                        go.mod (same module graph), version-stamped
#   cni/bridge, host-local, loopback, portmap   github.com/containernetworking/plugins
#   pause                                a static C program: PID 1 of a Pod, reaps, exits on TERM
# containerd and runc are Debian's packages. Reused when present and stamped; built into a
# temporary folder and renamed, so a killed build never leaves a half-filled cache.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
envtest="$here/../../envtest/assets"
version="$(sed -n 's/^require k8s.io\/kubernetes v//p' "$envtest/kube/go.mod")"
cni_version=v1.9.1
cache="${MODELCHAIN_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelchain/node}"
out="$cache/$version"
stamp="v$version cni-$cni_version"
if [ "$(cat "$out/STAMPED" 2>/dev/null)" = "$stamp" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "node-assets: Go is not installed" >&2; exit 1; }
command -v gcc >/dev/null || { echo "node-assets: gcc (with a static libc) is needed for pause" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build-$version-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0
started=$SECONDS
echo "node-assets: building kubelet, kube-scheduler, kube-proxy v$version and CNI $cni_version into $out" >&2

mkdir -p "$tmp/src/kube" "$tmp/src/cni" "$tmp/cni"
cp "$envtest/kube/go.mod" "$envtest/kube/go.sum" "$tmp/src/kube/"
printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-proxy"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n\t_ "k8s.io/kubernetes/cmd/kubelet"\n)\n' > "$tmp/src/kube/tools.go"
vflags="$("$envtest/version-ldflags.sh" "$version")"
for cmd in kubelet kube-scheduler kube-proxy; do
  t=$SECONDS
  (cd "$tmp/src/kube" && go build -ldflags="-s -w $vflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd")
  echo "node-assets: $cmd in $((SECONDS - t)) s" >&2
done
"$tmp/kubelet" --version | grep -qx "Kubernetes v$version" || { echo "node-assets: kubelet is not stamped" >&2; exit 1; }

t=$SECONDS
(cd "$tmp/src/cni" && go mod init modelchain.test/cluster/cni >/dev/null 2>&1 &&
  go get "github.com/containernetworking/plugins@$cni_version" >/dev/null 2>&1 &&
  for p in main/bridge ipam/host-local main/loopback meta/portmap; do
    go build -ldflags="-s -w" -o "$tmp/cni/${p#*/}" "github.com/containernetworking/plugins/plugins/$p"
  done)
echo "node-assets: CNI plugins in $((SECONDS - t)) s" >&2

cat > "$tmp/src/pause.c" <<'C'
/* The Pod sandbox's PID 1: holds the Pod's namespaces, reaps orphans, exits on TERM or INT. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int s) { (void)s; _exit(0); }
static void reap(int s) { (void)s; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGTERM, stop); signal(SIGINT, stop); signal(SIGCHLD, reap);
  for (;;) pause();
}
C
gcc -Os -static -s -o "$tmp/pause" "$tmp/src/pause.c"
rm -rf "$tmp/src"
echo "$stamp" > "$tmp/STAMPED"
[ ! -e "$out" ] || mv "$out" "$tmp.old"
mv "$tmp" "$out"
rm -rf "$tmp.old"
trap - EXIT
echo "node-assets: built in $((SECONDS - started)) s" >&2
echo "$out"
