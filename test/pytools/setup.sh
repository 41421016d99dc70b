#!/usr/bin/env bash
# Installs the Python tools the tests drive (the field's real tools, not fixtures) from PyPI
# into cached virtual environments outside the repo, one per requirements-<group>.txt, and
# prints each environment's folder. A venv is keyed by the hash of its requirements file and
# marked complete only after pip succeeds, so an interrupted install is redone, never used.
# Without Python 3 it says so and exits 0: the suites that need these tools print why they skip.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${MODELCHAIN_PYTOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/modelchain/pytools}"
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  echo "pytools: python3 with venv/ensurepip is not installed; the suites that need model-signing etc. will be skipped" >&2
  exit 0
fi
groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then
  for f in "$here"/requirements-*.txt; do g="${f##*/requirements-}"; groups+=("${g%.txt}"); done
fi
mkdir -p "$cache"
for group in "${groups[@]}"; do
  req="$here/requirements-$group.txt"
  [ -f "$req" ] || { echo "pytools: no $req" >&2; exit 1; }
  key="$(sha256sum "$req" | cut -c1-12)"
  out="$cache/$group-$key"
  if [ ! -f "$out/.complete" ]; then
    lock="$out.lock"
    until mkdir "$lock" 2>/dev/null; do sleep 1; done
    trap 'rmdir "$lock" 2>/dev/null || true' EXIT
    if [ ! -f "$out/.complete" ]; then
      started=$SECONDS
      echo "pytools: installing $group into $out" >&2
      rm -rf "$out"
      python3 -m venv "$out"
      "$out/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
      touch "$out/.complete"
      echo "pytools: $group installed in $((SECONDS - started)) s" >&2
    fi
    rmdir "$lock"
    trap - EXIT
  fi
  echo "$out"
done
