#!/usr/bin/env bash
# The ledger walkthrough: record events, prove one, sign a checkpoint, verify everything,
# then show that an edited byte is caught. Every step is a real `modelchain` command.
set -euo pipefail
ledger="${1:?usage: ledger-walkthrough.sh LEDGER_DIR}"
here="$(cd "$(dirname "$0")/.." && pwd)"
modelchain() { node "$here/src/cli/bin.ts" "$@"; }
banner() { printf '\n\033[1m$ modelchain %s\033[0m\n' "$*" >&2; }
step() { banner "$@"; modelchain "$@"; }
# Runs a step whose JSON output is also kept in a file for later steps.
keep() { local out="$1"; shift; banner "$@"; modelchain "$@" > "$out"; cat "$out"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
entry() { # kind name key data
  printf '{"v":1,"kind":"%s","cluster":"walkthrough","subject":{"apiVersion":"modelchain.io/v1alpha1","kind":"ModelVersion","namespace":"ml","name":"%s"},"key":"%s","observedAt":"%s","data":%s}' "$1" "$2" "$3" "$now" "$4"
}

echo "Ledger directory: $ledger"
entry ModelVersionRegistered llama-base-1 mv/llama-base-1/registered '{"specDigest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"}' > "$work/e1.json"
entry ModelVersionRegistered llama-ft-2 mv/llama-ft-2/registered '{"specDigest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","parents":["llama-base-1"]}' > "$work/e2.json"
entry RolloutStarted llama-ft-2 md/chat/rollout/1 '{"revision":1,"image":"ghcr.io/example/serve@sha256:3333333333333333333333333333333333333333333333333333333333333333"}' > "$work/e3.json"

step append --ledger "$ledger" --file "$work/e1.json"
step append --ledger "$ledger" --file "$work/e2.json"
step append --ledger "$ledger" --file "$work/e3.json"
echo "(appending the same key again is idempotent: duplicate=true, nothing added)"
step append --ledger "$ledger" --file "$work/e3.json" --output table
step root --ledger "$ledger"
keep "$work/checkpoint.json" checkpoint --ledger "$ledger"
last=$(( $(modelchain root --ledger "$ledger" | node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(0,"utf8")).size))') - 1 ))
step show --ledger "$ledger" --index "$last"
modelchain show --ledger "$ledger" --index "$last" --raw > "$work/leaf.bin"
keep "$work/proof.json" proof --ledger "$ledger" --index "$last"
echo "An auditor checks the proof offline, with only the leaf bytes, the proof and the signed checkpoint:"
step verify-proof --proof "$work/proof.json" --leaf "$work/leaf.bin" --checkpoint "$work/checkpoint.json"
step verify --ledger "$ledger" --checkpoint "$work/checkpoint.json"

echo
echo "Now edit one byte of a copy of the ledger and verify again:"
cp -r "$ledger" "$work/tampered"
seg="$(ls "$work/tampered/segments/"* | head -n 1)"
node -e 'const fs=require("fs");const f=process.argv[1];const b=fs.readFileSync(f);const i=b.indexOf("llama-ft-2");b[i]^=0x20;fs.writeFileSync(f,b)' "$seg"
if modelchain verify --ledger "$work/tampered"; then
  echo "tampering went unnoticed: this is a bug" >&2
  exit 1
fi
echo "(exit 1: the edit is reported with the index of the entry it touched)"
