#!/usr/bin/env bash
# The -X flags that stamp a Kubernetes binary built as a module with its release version (what
# the release build's hack/lib/version.sh sets); prints them for `go build -ldflags`.
set -euo pipefail
version="${1:?usage: version-ldflags.sh 1.36.3}"
pkg=k8s.io/component-base/version
IFS=. read -r major minor _ <<<"$version"
printf '%s ' "-X $pkg.gitVersion=v$version" "-X $pkg.gitMajor=$major" "-X $pkg.gitMinor=$minor" \
  "-X $pkg.gitTreeState=clean" "-X $pkg.buildDate=1970-01-01T00:00:00Z"
