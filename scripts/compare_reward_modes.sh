#!/usr/bin/env bash
# Token-level against scalar PPO as a user runs them: `text2grad train-policy` from one SFT policy, the same seeds
# and step budget, one process per run, then `text2grad report` over all runs (curves with the spread over seeds,
# and the steps each mode took to reach the target).
#
#   scripts/compare_reward_modes.sh DEMO_DIR OUT_DIR [SEEDS] [STEPS] [REWARD...]
#
# DEMO_DIR is a finished `text2grad demo` run: its policy/model and the policy prompts of its PPO stages are used.
# REWARD defaults to `--reward builtin` (the rule-based teacher: a perfect critic, so the two modes differ in credit
# assignment alone); pass e.g. `--reward rm --reward-model DEMO_DIR/rm/model` to reward with the trained one.
# Extra train-policy flags go in PPO_FLAGS. TEXT2GRAD names the tool (default: .build/release/text2grad).
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
demo=$1 out=$2 seeds=${3:-3} steps=${4:-30}
shift $(( $# < 4 ? $# : 4 ))
reward=("$@")
if [[ ${#reward[@]} -eq 0 ]]; then reward=(--reward builtin); fi
tool=${TEXT2GRAD:-.build/release/text2grad}
if [[ ! -x $tool ]]; then echo "compare_reward_modes: $tool is missing; run 'make build' or set TEXT2GRAD" >&2; exit 1; fi
prompts=$(ls -d "$demo"/ppo-token-seed0 2>/dev/null || true)
if [[ ! -d $demo/policy/model || -z $prompts || ! -f $prompts/prompts-train.jsonl ]]; then
    echo "compare_reward_modes: $demo is not a finished demo run (policy/model, ppo-token-seed0/prompts-*.jsonl)" >&2
    exit 1
fi
mkdir -p "$out"
for (( seed = 0; seed < seeds; seed++ )); do
    for mode in token scalar; do
        run=$out/$mode-seed$seed
        if [[ -f $run/done ]]; then echo "$run: done before, kept"; continue; fi
        rm -rf "$run"
        start=$(date +%s)
        # The demo's PPO settings (DemoPipeline.ppo), so the two comparisons are of the same runs.
        "$tool" train-policy --model "$demo/policy/model" --prompts "$prompts/prompts-train.jsonl" \
            --eval-prompts "$prompts/prompts-eval.jsonl" "${reward[@]}" --reward-mode "$mode" --seed "$seed" \
            --steps "$steps" --batch-size 16 --mini-batch-size 8 --ppo-epochs 4 --max-new-tokens 40 --min-new-tokens 16 \
            --learning-rate 5e-4 --lora-rank 16 --kl-coef 0.1 --eval-every 5 --threads 2 -o "$run" ${PPO_FLAGS:-}
        echo "$run: $(( $(date +%s) - start )) s"
        touch "$run/done"
    done
done
"$tool" report "$out" -o "$out/report.html"
