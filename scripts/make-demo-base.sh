#!/usr/bin/env bash
# Makes the demo's pretrained base model (Sources/Demo/Resources/demo-base) from its recipe: the built-in task's
# train posts 0..59,999 (seed 0), a 1,024-token byte-level BPE, a `demo-tiny` model initialised with seed 1, then
# 7,000 full-parameter steps of 16 (data order seed 0) on reference summaries and 800 on the teacher's critiques of
# posts 0..23,999 (DemoBaseRecipe in Sources/Demo/DemoBase.swift). Deterministic: the same recipe on the same CPU kernels gives the
# same bytes; `--check` rebuilds into a temporary directory and compares every file with the shipped one.
# About 45 minutes on 2 quiet cores; an interrupted make resumes. Usage: scripts/make-demo-base.sh [--check] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
check=0
threads=2
while [ $# -gt 0 ]; do
    case "$1" in
        --check) check=1 ;;
        --threads) threads="$2"; shift ;;
        *) echo "usage: $0 [--check] [--threads N]" >&2; exit 2 ;;
    esac
    shift
done
make build
shipped=Sources/Demo/Resources/demo-base
if [ "$check" = 1 ]; then
    out=$(mktemp -d)/demo-base
    .build/release/text2grad demo --make-base "$out" --threads "$threads"
    status=0
    for f in config.json model.safetensors tokenizer.json tokenizer_config.json; do
        if cmp -s "$out/$f" "$shipped/$f"; then echo "same: $f"; else echo "DIFFERS: $f"; status=1; fi
    done
    exit $status
fi
out=$(mktemp -d)/demo-base
.build/release/text2grad demo --make-base "$out" --threads "$threads"
for f in config.json model.safetensors tokenizer.json tokenizer_config.json manifest.json; do cp "$out/$f" "$shipped/$f"; done
echo "wrote $shipped (rebuild the tool to ship it: make build)"
