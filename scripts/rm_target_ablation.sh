#!/usr/bin/env bash
# The paper's feedback-structure ablation (its Table 11) in miniature: one reward model per target format, each
# trained as the demo trains its own (the demo's base, its annotations, 60 full fine-tuning steps), evaluated by
# `eval-rm` on the same held-out records, then token-level PPO rewarded by it from the demo's SFT policy with the
# demo's settings and the same seeds (scripts/compare_reward_modes.sh, MODES=token). The annotations are the same
# for every format: only what the reward model learns to write differs.
#
#   scripts/rm_target_ablation.sh DEMO_DIR OUT_DIR [SEEDS] [STEPS]     # e.g. runs/demo runs/ablation 3 20
#
#   critique+spans  the reasoning first, then the quotes (the demo's reward model, retrained)
#   spans           the quotes alone
#   dense           every word of the response tagged +, - or = (the spans' information, word by word)
# TARGETS picks the formats (default all three), RM_STEPS the reward model's steps (default 60, the demo's);
# TEXT2GRAD names the tool. Writes OUT_DIR/<target>/rm (the run),
# rm-eval.json, ppo/token-seed<k>, and OUT_DIR/summary.tsv (one line per format: eval-rm figures, then per seed the
# held-out fact accuracy at every evaluation).
set -euo pipefail

if [[ $# -lt 2 ]]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
demo=$1 out=$2 seeds=${3:-3} steps=${4:-20} rm_steps=${RM_STEPS:-60}
tool=${TEXT2GRAD:-.build/release/text2grad}
here=$(dirname "$0")
if [[ ! -x $tool ]]; then echo "rm_target_ablation: $tool is missing; run 'make build' or set TEXT2GRAD" >&2; exit 1; fi
if [[ ! -f $demo/annotations/annotations.jsonl || ! -d $demo/base/model ]]; then
    echo "rm_target_ablation: $demo is not a finished demo run (annotations/annotations.jsonl, base/model)" >&2
    exit 1
fi
mkdir -p "$out"
for target in ${TARGETS:-critique+spans spans dense}; do
    dir=$out/$target
    mkdir -p "$dir"
    if [[ ! -f $dir/rm.done ]]; then
        rm -rf "$dir/rm"
        start=$(date +%s)
        # The demo's reward-model stage (DemoPipeline.rewardModel) with the format as the only change.
        "$tool" train-rm --model "$demo/base/model" --annotations "$demo/annotations/annotations.jsonl" \
            -o "$dir/rm" --target "$target" --steps "$rm_steps" --batch-size 16 --learning-rate 1e-3 --lora-rank 0 \
            --warmup-steps $(( (rm_steps + 19) / 20 )) --max-length 768 --eval-fraction 0.05 --keep-checkpoints 1 \
            --threads 2
        echo "$target: reward model trained in $(( $(date +%s) - start )) s"
        touch "$dir/rm.done"
    fi
    model=$dir/rm/checkpoints/step-$rm_steps
    if [[ ! -f $dir/rm-eval.json ]]; then
        "$tool" eval-rm --reward-model "$model" --annotations "$demo/annotations/annotations.jsonl" \
            --eval-fraction 0.05 --critique-max-new-tokens 256 --critique-batch-size 16 \
            --output "$dir/rm-eval-records.jsonl" > "$dir/rm-eval.json.part"
        mv "$dir/rm-eval.json.part" "$dir/rm-eval.json"
    fi
    RM=$model MODES=token TEXT2GRAD=$tool "$here/compare_reward_modes.sh" "$demo" "$dir/ppo" "$seeds" "$steps"
done

# One line per format: the reward model's held-out figures, then each seed's accuracy curve.
python3 - "$out" ${TARGETS:-critique+spans spans dense} <<'PY'
import json, os, sys
out, targets = sys.argv[1], sys.argv[2:]
rows = ["target\tgood_f1\tpoor_f1\tpoor_precision\tpoor_recall\tparse_failures\trun\teval_task_metric_by_step"]
for target in targets:
    ev = json.load(open(os.path.join(out, target, "rm-eval.json")))
    labels = ev["labels"]
    tokens = {name: labels[name]["tokens"] for name in ("good_spans", "poor_spans")}
    head = [target, f'{tokens["good_spans"]["f1"]:.3f}', f'{tokens["poor_spans"]["f1"]:.3f}',
            f'{tokens["poor_spans"]["precision"]:.3f}', f'{tokens["poor_spans"]["recall"]:.3f}',
            f'{ev["parse_failure_rate"]:.3f}']
    ppo = os.path.join(out, target, "ppo")
    for run in sorted(os.listdir(ppo)):
        metrics = os.path.join(ppo, run, "metrics.jsonl")
        if not os.path.isfile(metrics):
            continue
        curve = []
        for line in open(metrics):
            record = json.loads(line)
            value = record.get("eval/task_metric", record.get("metrics", {}).get("eval/task_metric"))
            if value is not None:
                curve.append(f'{record.get("step", "?")}:{value:.3f}')
        rows.append("\t".join(head + [run, " ".join(curve)]))
open(os.path.join(out, "summary.tsv"), "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
