#!/usr/bin/env bash
# `make run`: the operator against the current kubeconfig context (CRDs installed first, file
# ledger under .state/), the kubebuilder way. With no kubeconfig or no cluster reachable, say so
# in one line, say how to get one, and run `modelchain demo`: the same controllers against an
# in-process API server loaded with samples/. A cluster that refuses the credentials is not a
# missing cluster: say so in one line and stop, exit 1, rather than hide it behind the demo.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
state="${STATE_DIR:-$here/.state}"
modelchain() { node "$here/src/cli/bin.ts" "$@"; }
# One field of the JSON document on stdin.
field() { node -e 'const o=JSON.parse(require("fs").readFileSync(0,"utf8"));process.stdout.write(String(o[process.argv[1]]??""))' "$1"; }

if info="$(modelchain cluster-info 2>/dev/null)"; then
  echo "make run: starting the operator against $(field server <<<"$info") (context $(field context <<<"$info")), ledger in $state/ledger (Ctrl-C stops it)"
  exec node "$here/src/cli/bin.ts" operator --install-crds --state-dir "$state"
fi
reason="$(field reason <<<"$info")"
problem="$(field problem <<<"$info")"
case "$reason" in
  credentials-refused)
    echo "make run: $problem" >&2
    exit 1
    ;;
  no-kubeconfig | unreachable) ;;
  *)
    echo "make run: modelchain cluster-info failed: $(modelchain cluster-info 2>&1 >/dev/null | head -n 1)" >&2
    exit 1
    ;;
esac
[ "$reason" = unreachable ] && problem="no Kubernetes cluster reachable: $problem"
echo "make run: $problem — get a cluster with 'make kind-up' (needs docker and kind); running 'modelchain demo' instead."
exec node "$here/src/cli/bin.ts" demo --state-dir "$state"
