#!/usr/bin/env bash
# One PPO step of text2grad (`bench ppo`: train-policy's own trainer, rewarded by the built-in critic) and of
# PyTorch (bench/torch_ppo_step.py: TRL's formulas, LoRA through peft) on the same shape or model directory, sizes
# and threads (2), alternating, in one run; each line is one engine's JSON with every phase's seconds, and a table
# of the median phase seconds closes the run (on standard error, with the load average before each engine).
# Sizes: the demo's PPO at demo-tiny (16 rollouts of 40 tokens, mini-batches of 8), train-policy's defaults
# elsewhere (8 of 48, mini-batches of 4); 85-token prompts, 4 epochs, LoRA r16 on q/k/v/o, fp32 rollouts.
# Usage: bench/ppo_engines.sh [demo-tiny | smollm-135m | MODEL_DIR] [ROUNDS]
#   ITERATIONS=3 (timed steps per run, after one warm-up); PPO_FLAGS="--lora-rank 0" adds flags to both engines.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-demo-tiny}
ROUNDS=${2:-2}
BIN=.build/release/text2grad
if [[ -f $TARGET/config.json ]]; then
    MODEL=(--model "$(cd "$TARGET" && pwd)")
    SIZES=(--batch 8 --mini-batch 4 --max-new-tokens 48)
elif [[ $TARGET == demo-tiny ]]; then
    MODEL=(--shape demo-tiny)
    SIZES=(--batch 16 --mini-batch 8 --max-new-tokens 40)
elif [[ $TARGET == smollm-135m ]]; then
    MODEL=(--shape smollm-135m)
    SIZES=(--batch 8 --mini-batch 4 --max-new-tokens 48)
else
    echo "usage: bench/ppo_engines.sh [demo-tiny | smollm-135m | MODEL_DIR] [ROUNDS]" >&2
    exit 2
fi
if ! python3 -c "import torch, transformers, peft" 2>/dev/null; then
    echo "ppo_engines: needs PyTorch, transformers and peft (pip install torch transformers peft)" >&2
    exit 1
fi
# shellcheck disable=SC2206  # PPO_FLAGS is split into words on purpose
COMMON=("${MODEL[@]}" "${SIZES[@]}" --epochs 4 --prompt-tokens 85 --threads 2 --iterations "${ITERATIONS:-3}"
        --warmup 1 ${PPO_FLAGS:-})
LINES=$(mktemp)
trap 'rm -f "$LINES"' EXIT
for round in $(seq "$ROUNDS"); do
    echo "# round $round, text2grad, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    $BIN bench ppo "${COMMON[@]}" --rollout-weights fp32 | tee -a "$LINES"
    echo "# round $round, pytorch, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    python3 bench/torch_ppo_step.py "${COMMON[@]}" 2>/dev/null | tee -a "$LINES"
done
python3 - "$LINES" >&2 <<'EOF'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
phases = ["rollout", "score", "old_policy", "reference", "advantages", "optimize"]
print("# median seconds per step (phases and the whole step), each run in order")
print("# " + " ".join(f"{name:>10}" for name in ["engine"] + phases + ["step"]))
for run in runs:
    engine = run["engine"].split()[0]
    cells = [run["phase_seconds"][name] for name in phases] + [run["seconds"]]
    print("# " + f"{engine:>10} " + " ".join(f"{cell:10.3f}" for cell in cells))
EOF
