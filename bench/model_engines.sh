#!/usr/bin/env bash
# Training and generation throughput of text2grad and PyTorch on one model directory (e.g. SmolLM2-135M-Instruct
# converted by `text2grad convert gguf`, as `make real-model` leaves it), alternating, in one run: a LoRA r16
# training step (batch 4 × 256) and greedy generation (64-token prompt, 128 new tokens, batch 1 and 8), fp32,
# 2 threads. Each line is one engine's JSON. Usage: bench/model_engines.sh MODEL_DIR [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $# -lt 1 || ! -f $1/config.json ]]; then
    echo "usage: bench/model_engines.sh MODEL_DIR [ROUNDS]  (a model directory with config.json)" >&2
    exit 2
fi
MODEL=$(cd "$1" && pwd)
ROUNDS=${2:-2}
BIN=.build/release/text2grad
if ! python3 -c "import torch, transformers, peft" 2>/dev/null; then
    echo "model_engines: needs PyTorch, transformers and peft (pip install torch transformers peft)" >&2
    exit 1
fi
for round in $(seq "$ROUNDS"); do
    echo "# round $round, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    $BIN bench train --model "$MODEL" --mode lora --batch 4 --seq 256 --threads 2
    python3 bench/torch_train.py --model "$MODEL" --mode lora --batch 4 --seq 256 --threads 2
    for batch in 1 8; do
        $BIN bench generate --model "$MODEL" --batch $batch --seq 64 --new-tokens 128 --threads 2 --iterations 3 \
            --weights fp32
        python3 bench/torch_generate.py --model "$MODEL" --batch $batch --seq 64 --new-tokens 128 --threads 2
    done
done
