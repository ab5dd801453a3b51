#!/usr/bin/env bash
# Generation throughput of the engines side by side in one run, on the SmolLM-135M shape in fp32 with 2 threads,
# 64-token prompts, 128 greedy new tokens: text2grad (batch 1 and 8, fp32 and bf16 matrices), llama.cpp through
# llama-cpp-python's C API on an F32 GGUF (batch 1 and 8 as one batch of 8 sequences; `pip install llama-cpp-python
# gguf`), PyTorch + transformers (batch 1 and 8; needs torch).
# An engine whose Python package is missing is skipped with a note. Usage: bench/generate_engines.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
BIN=.build/release/text2grad
for round in $(seq "$ROUNDS"); do
    for batch in 1 8; do
        for weights in fp32 bf16; do
            $BIN bench generate --batch $batch --seq 64 --new-tokens 128 --threads 2 --iterations 3 --weights $weights
        done
    done
    if python3 -c "import llama_cpp, gguf" 2>/dev/null; then
        for batch in 1 8; do
            (cd bench && python3 llamacpp_generate.py --batch $batch --seq 64 --new-tokens 128 --threads 2 --iterations 3 2>/dev/null)
        done
    else
        echo "llama.cpp skipped: pip install llama-cpp-python gguf" >&2
    fi
    if python3 -c "import torch, transformers" 2>/dev/null; then
        for batch in 1 8; do
            python3 bench/torch_generate.py --batch $batch --seq 64 --new-tokens 128 --threads 2
        done
    else
        echo "PyTorch skipped: pip install torch transformers" >&2
    fi
done
