#!/usr/bin/env bash
# Data-parallel scaling on one machine: the same global batch through
#   one process with 2 engine threads, one process with 1 thread, and `mpirun -np 2` with 1 thread per rank,
# for SFT with LoRA r 16, SFT of every weight, and PPO with LoRA, on a random SmolLM-135M-shaped model
# (vocabulary 49,152). Prints one JSON line per run: tokens/s over the steps after the first, seconds per step,
# and the all-reduce seconds per step (time spent in MPI sums, waiting for the other rank included).
# Usage: bench/mpi_scaling.sh [WORK_DIR] [STEPS]   (needs `make mpi`)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/t2g-mpi-scaling}
STEPS=${2:-5}
BIN=.build/release/text2grad
ROOT=$([ "$(id -u)" = 0 ] && echo --allow-run-as-root || true)
mkdir -p "$WORK"

python3 - "$WORK" <<'EOF'
import json, random, sys
work = sys.argv[1]
json.dump({"model_type": "llama", "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
           "num_attention_heads": 9, "num_key_value_heads": 3, "vocab_size": 49152, "rms_norm_eps": 1e-5,
           "rope_theta": 10000, "max_position_embeddings": 2048, "tie_word_embeddings": True},
          open(f"{work}/config.json", "w"))
random.seed(0)
words = "the a nurse moved to zurich in december with parrot and she works as teacher of music city".split()
with open(f"{work}/sft.jsonl", "w") as f:
    for i in range(64):
        text = " ".join(random.choice(words) for _ in range(14 + i % 7))
        f.write(json.dumps({"prompt": "Summarize: " + text, "completion": text[: 40 + i]}) + "\n")
posts = ["My name is Ben. I work as a nurse. I moved to Zurich in December with my parrot, Rex.",
         "Hi all, I am Ida. I am 60 years old. In March I moved to Seville. I live with my turtle, Pico.",
         "Hello, Oscar here. I work as an accountant. I moved to Milan in March. Any advice on finding a flat?",
         "I am Tom, a 41-year-old baker. I moved to Oslo in May with my dog, Max."]
with open(f"{work}/prompts.jsonl", "w") as f:
    for i in range(32):
        f.write(json.dumps({"id": f"p{i}", "prompt": "Summarize the post in one sentence.\n\n" + posts[i % 4]}) + "\n")
EOF
[ -f "$WORK/model/model.safetensors" ] ||
    $BIN init-model --config "$WORK/config.json" --tokenizer Tests/Fixtures/models/chat-smollm -o "$WORK/model" --overwrite >/dev/null

summarize() { # run-name directory
    python3 - "$1" "$2" <<'EOF'
import json, sys
name, run = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(f"{run}/metrics.jsonl")][1:]
tokens = sum(r.get("tokens", 0) for r in rows); seconds = sum(r["seconds"] for r in rows)
reduce = [r["time/allreduce"] for r in rows if "time/allreduce" in r]
print(json.dumps({"run": name, "steps_timed": len(rows), "tokens_per_s": round(tokens / seconds, 1),
                  "seconds_per_step": round(seconds / len(rows), 3),
                  "allreduce_s_per_step": round(sum(reduce) / len(reduce), 4) if reduce else None}))
EOF
}

job() { # name ranks threads command...
    local name=$1 ranks=$2 threads=$3; shift 3
    rm -rf "$WORK/$name"
    if [ "$ranks" = 1 ]; then
        $BIN "$@" --threads "$threads" --output "$WORK/$name" >/dev/null 2>&1
    else
        mpirun $ROOT -np "$ranks" $BIN "$@" --threads "$threads" --output "$WORK/$name" >/dev/null 2>&1
    fi
    summarize "$name" "$WORK/$name"
}

SFT=(sft --model "$WORK/model" --data "$WORK/sft.jsonl" --steps "$STEPS" --batch-size 8 --max-length 256
     --learning-rate 1e-4 --eval-fraction 0 --seed 1)
PPO=(train-policy --model "$WORK/model" --prompts "$WORK/prompts.jsonl" --reward builtin --steps "$STEPS"
     --batch-size 8 --mini-batch-size 4 --ppo-epochs 1 --max-new-tokens 32 --min-new-tokens 32 --lora-rank 16 --seed 1)
for mode in lora full; do
    flags=(--lora-rank 16); [ $mode = full ] && flags=(--lora-rank 0)
    job "sft-$mode-1proc-2threads" 1 2 "${SFT[@]}" "${flags[@]}"
    job "sft-$mode-1proc-1thread" 1 1 "${SFT[@]}" "${flags[@]}"
    job "sft-$mode-2ranks-1thread" 2 1 "${SFT[@]}" "${flags[@]}"
done
job ppo-lora-1proc-2threads 1 2 "${PPO[@]}"
job ppo-lora-1proc-1thread 1 1 "${PPO[@]}"
job ppo-lora-2ranks-1thread 2 1 "${PPO[@]}"
