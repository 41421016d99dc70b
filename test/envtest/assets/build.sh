#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from source through the Go module
# proxy into a cache outside the repo, and prints that folder (use it as KUBEBUILDER_ASSETS).
# Reused when present; built into a temporary folder and renamed, so a killed build never
# leaves a half-filled cache. Nothing built is committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's/^require k8s.io\/kubernetes v//p' "$here/kube/go.mod")"
cache="${MODELCHAIN_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelchain/envtest}"
out="$cache/$version"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ]; then
  echo "$out"
  exit 0
fi
command -v go >/dev/null || { echo "envtest-assets: Go is not installed; set KUBEBUILDER_ASSETS to a folder with kube-apiserver and etcd" >&2; exit 1; }
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.build-$version-XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0
started=$SECONDS
echo "envtest-assets: building Kubernetes v$version control plane into $out (first build takes several minutes)" >&2
(cd "$here/etcd" && go build -ldflags="-s -w" -o "$tmp/etcd" .)
(cd "$here/kube" && go build -ldflags="-s -w" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
(cd "$here/kube" && go build -ldflags="-s -w" -o "$tmp/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager)
echo "$version" > "$tmp/VERSION"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "envtest-assets: built in $((SECONDS - started)) s" >&2
echo "$out"
