#!/usr/bin/env bash
# Training steps of text2grad and PyTorch, alternating, in one run: every weight (full) and LoRA r16 in fp32, and
# LoRA with the frozen base's products in bf16 (PyTorch: torch.autocast(bfloat16)), at the SmolLM-135M shape
# (batch 4 × 256) and the demo's shape (demo-tiny, batch 16 × 128), random weights, 2 threads. Each line is one
# engine's JSON; the load average before each round goes to stderr. Usage: bench/train_engines.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
BIN=.build/release/text2grad
if ! python3 -c "import torch, transformers, peft" 2>/dev/null; then
    echo "train_engines: needs PyTorch, transformers and peft (pip install torch transformers peft)" >&2
    exit 1
fi
run() {  # shape batch seq iterations mode precision
    $BIN bench train --shape "$1" --batch "$2" --seq "$3" --iterations "$4" --mode "$5" --precision "$6" --threads 2
    python3 bench/torch_train.py --shape "$1" --batch "$2" --seq "$3" --iterations "$4" --mode "$5" --precision "$6" \
        --threads 2 2>/dev/null
}
for round in $(seq "$ROUNDS"); do
    echo "# round $round, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for mode_precision in "full fp32" "lora fp32" "lora bf16"; do
        set -- $mode_precision
        run smollm-135m 4 256 3 "$1" "$2"
        run demo-tiny 16 128 10 "$1" "$2"
    done
done
