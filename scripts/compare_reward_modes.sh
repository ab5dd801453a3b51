#!/usr/bin/env bash
# Token-level against scalar PPO as a user runs them: `text2grad train-policy` from one SFT policy, the same seeds,
# settings and step budget, one process per run, then `text2grad report` over all runs (curves with the spread over
# seeds, the target on the accuracy panel, and the steps each mode took to reach it).
#
#   scripts/compare_reward_modes.sh DEMO_DIR OUT_DIR [SEEDS] [STEPS]
#
# DEMO_DIR is a finished `text2grad demo` run: its policy/model, reward model and the policy prompts of its PPO
# stages are used, with the demo's PPO settings (DemoPPO: the same for both modes but token-level's γ = 0 and the
# scalar's mean sequence score, each mode's best of a small sweep). Environment:
#   REWARD=builtin   the rule-based teacher, uncapped (a perfect critic: the modes differ in credit assignment alone)
#   REWARD=rm        the demo's trained reward model (the default, as in the demo); RM=DIR another reward model
#   KL_TARGET=X      adaptive β steered to a summed KL of X in both modes (matched KL) instead of a fixed β = 0.1
#   TARGET=X         the verdict's target (default: the demo base's held-out fact accuracy minus 0.02)
#   PPO_FLAGS        extra train-policy flags, the same for both modes; TOKEN_FLAGS, SCALAR_FLAGS one mode's own,
#                    after the demo's (e.g. TOKEN_FLAGS="--gamma 1 --lam 0", SCALAR_FLAGS="--scalar-score sum")
#   MODES            the modes to run (default "token scalar"); TEXT2GRAD names the tool
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
demo=$1 out=$2 seeds=${3:-3} steps=${4:-20}
tool=${TEXT2GRAD:-.build/release/text2grad}
if [[ ! -x $tool ]]; then echo "compare_reward_modes: $tool is missing; run 'make build' or set TEXT2GRAD" >&2; exit 1; fi
prompts=$demo/ppo-rm-token-seed0
if [[ ! -d $demo/policy/model || ! -f $prompts/prompts-train.jsonl || ! -f $demo/base/evaluation.json ]]; then
    echo "compare_reward_modes: $demo is not a finished demo run (policy/model, ppo-rm-token-seed0/prompts-*.jsonl)" >&2
    exit 1
fi
case ${REWARD:-rm} in
    builtin) reward=(--reward builtin) ;;
    rm) reward=(--reward rm --reward-model "${RM:-$demo/rm/model}" --critique-max-new-tokens 256) ;;
    *) echo "compare_reward_modes: REWARD must be builtin or rm" >&2; exit 2 ;;
esac
kl=(--kl-coef 0.1)
if [[ -n ${KL_TARGET:-} ]]; then kl=(--kl-coef 0.1 --kl-target "$KL_TARGET"); fi
base=$(grep -o '"fact_accuracy" : [0-9.e-]*' "$demo/base/evaluation.json" | grep -o '[0-9.e-]*$')
target=${TARGET:-$(awk -v a="$base" 'BEGIN { printf "%.4f", a - 0.02 }')}
mkdir -p "$out"
for (( seed = 0; seed < seeds; seed++ )); do
    for mode in ${MODES:-token scalar}; do
        if [[ $mode == token ]]; then own="--gamma 0 ${TOKEN_FLAGS:-}"; else own="--scalar-score mean ${SCALAR_FLAGS:-}"; fi
        run=$out/$mode-seed$seed
        if [[ -f $run/done ]]; then echo "$run: done before, kept"; continue; fi
        rm -rf "$run"
        start=$(date +%s)
        # The demo's PPO settings (DemoPipeline.ppoConfig), so this comparison and the demo's are of the same runs.
        "$tool" train-policy --model "$demo/policy/model" --prompts "$prompts/prompts-train.jsonl" \
            --eval-prompts "$prompts/prompts-eval.jsonl" "${reward[@]}" --reward-mode "$mode" --seed "$seed" \
            --steps "$steps" --batch-size 16 --mini-batch-size 8 --ppo-epochs 4 --temperature 0.7 \
            --max-new-tokens 40 --min-new-tokens 16 --learning-rate 5e-4 --lora-rank 16 "${kl[@]}" \
            --eval-every 2 --no-eval-critique --threads 2 -o "$run" $own ${PPO_FLAGS:-}
        echo "$run: $(( $(date +%s) - start )) s"
        touch "$run/done"
    done
done
"$tool" report "$out" --target "$target" -o "$out/report.html"
