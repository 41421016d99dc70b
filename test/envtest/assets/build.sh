#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and etcd from source through the Go module
# proxy into a cache outside the repo, and prints that folder (use it as KUBEBUILDER_ASSETS).
# Reused when present and version-stamped; built into a temporary folder and renamed, so a killed
# build never leaves a half-filled cache. Nothing built is committed.
# The Kubernetes binaries are stamped with their version (-X k8s.io/component-base/version.*):
# built as modules without it they report v0.0.0-master+$Format:%H$, and helm then refuses a
# chart's kubeVersion. A cache from before the stamp (no STAMPED file) is relinked.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="$(sed -n 's/^require k8s.io\/kubernetes v//p' "$here/kube/go.mod")"
cache="${MODELCHAIN_ENVTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelchain/envtest}"
out="$cache/$version"
stamp="v$version"
if [ -x "$out/kube-apiserver" ] && [ -x "$out/kube-controller-manager" ] && [ -x "$out/etcd" ] &&
  [ "$(cat "$out/STAMPED" 2>/dev/null)" = "$stamp" ]; then
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
vflags="$("$here/version-ldflags.sh" "$version")"
if [ -x "$out/etcd" ]; then cp -p "$out/etcd" "$tmp/etcd"; else (cd "$here/etcd" && go build -ldflags="-s -w" -o "$tmp/etcd" .); fi
for cmd in kube-apiserver kube-controller-manager; do
  (cd "$here/kube" && go build -ldflags="-s -w $vflags" -o "$tmp/$cmd" "k8s.io/kubernetes/cmd/$cmd")
done
"$tmp/kube-apiserver" --version | grep -qx "Kubernetes $stamp" || { echo "envtest-assets: kube-apiserver is not stamped $stamp" >&2; exit 1; }
echo "$version" > "$tmp/VERSION"
echo "$stamp" > "$tmp/STAMPED"
# Swap in with two renames, so a suite starting meanwhile finds one complete folder or the other.
[ ! -e "$out" ] || mv "$out" "$tmp.old"
mv "$tmp" "$out"
rm -rf "$tmp.old"
trap - EXIT
echo "envtest-assets: built in $((SECONDS - started)) s" >&2
echo "$out"
