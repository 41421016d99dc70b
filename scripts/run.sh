#!/usr/bin/env bash
# `make run`: the operator against the current kubeconfig context (CRDs installed first, file
# ledger under .state/), the kubebuilder way. With no cluster reachable, say so in one line,
# say how to get one, and run `modelchain demo`: the same controllers against an in-process
# API server loaded with samples/.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
state="${STATE_DIR:-$here/.state}"
modelchain() { node "$here/src/cli/bin.ts" "$@"; }
if problem="$(modelchain cluster-info 2>&1 >/dev/null)"; then
  echo "make run: starting the operator against $(modelchain cluster-info | node -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(0,"utf8")).server)'), ledger in $state/ledger (Ctrl-C stops it)"
  exec node "$here/src/cli/bin.ts" operator --install-crds --state-dir "$state"
fi
echo "make run: ${problem#modelchain: } — get a cluster with 'make kind-up' (needs docker and kind); running 'modelchain demo' instead."
exec node "$here/src/cli/bin.ts" demo --state-dir "$state"
