#!/usr/bin/env python3
"""llama.cpp's side of the real-model check (scripts/real-model.sh): the same GGUF file run by llama-cpp-python.

    compare_gguf_llamacpp.py reference GGUF WORK   # writes WORK/texts.jsonl, ids.jsonl, prompts.jsonl and
                                                   # WORK/llamacpp.json (ids, log-probs, greedy continuations)
    compare_gguf_llamacpp.py compare WORK          # reads text2grad's outputs there and prints the figures

The first run is on the Q4_1 file itself; real-model.sh runs it again on the F32 GGUF that `convert hf` writes
from the converted directory, where llama.cpp multiplies the very weights text2grad uses.

llama.cpp runs with one thread, an F32 KV cache and no flash attention, so the remaining difference is its
arithmetic on the quantized weights (activations rounded to Q8_0/Q8_1 blocks for its dot products).
"""
import json
import math
import os
import sys

TEXTS = [
    "The capital of France is Paris, a city known for the Eiffel Tower.",
    "Water boils at 100 degrees Celsius at sea level.",
    "def fibonacci(n):\n    return n if n < 2 else fibonacci(n - 1) + fibonacci(n - 2)",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "I'm not sure we'll make it before they've closed the doors, but let's try!",
    "In 1969, Neil Armstrong became the first person to walk on the Moon.",
    "The quick brown fox jumps over the lazy dog.",
    "Shakespeare wrote Hamlet, Macbeth and Romeo and Juliet.",
    "Machine learning models are trained by minimising a loss function with gradient descent.",
    "émigrés in the café ordered crème brûlée and a naïve rosé.",
    "The mitochondria is the powerhouse of the cell.",
    "Prices rose 3.5% in March, compared with 2.9% a year earlier.",
    "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n2 + 2 = 4.<|im_end|>",
    "Rust and Swift both use reference counting or ownership to manage memory safely.",
    "Mount Everest, at 8,849 metres, is the highest mountain above sea level.",
    "She sells sea shells by the sea shore.",
    "Tokyo is the capital of Japan and one of the largest cities in the world.",
    "    indented code\n\twith tabs\n\n\nand blank lines",
    "The French Revolution began in 1789 with the storming of the Bastille.",
    "A haiku has three lines of five, seven and five syllables.",
]

PROMPTS = [
    "What is the capital of France?",
    "Name three primary colors.",
    "Write a haiku about the sea.",
    "What is 12 times 12?",
    "Explain gravity in one sentence.",
]

CHAT = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n" \
       "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
GREEDY_TOKENS = 32


def reference(gguf, work):
    import numpy as np
    import llama_cpp
    os.makedirs(work, exist_ok=True)
    llm = llama_cpp.Llama(model_path=gguf, n_ctx=512, n_batch=512, n_threads=1, logits_all=True, verbose=False,
                          type_k=0, type_v=0, flash_attn=False)
    eos = llm.token_eos()
    result = {"texts": [], "greedy": []}
    with open(os.path.join(work, "texts.jsonl"), "w") as texts, open(os.path.join(work, "ids.jsonl"), "w") as ids_file:
        for i, text in enumerate(TEXTS):
            ids = llm.tokenize(text.encode(), add_bos=False, special=True)
            llm.reset()
            llm.eval(ids)
            logits = np.array(llm.scores[:len(ids)], dtype=np.float64)
            logits -= logits.max(axis=1, keepdims=True)
            logprobs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
            result["texts"].append({"id": i, "ids": ids, "logprobs": [logprobs[t - 1, ids[t]] for t in range(1, len(ids))]})
            texts.write(json.dumps({"id": i, "text": text}) + "\n")
            ids_file.write(json.dumps({"id": i, "ids": ids}) + "\n")
    with open(os.path.join(work, "prompts.jsonl"), "w") as prompts:
        for i, prompt in enumerate(PROMPTS):
            text = CHAT.format(prompt)
            ids = llm.tokenize(text.encode(), add_bos=False, special=True)
            llm.reset()
            llm.eval(ids)
            out = []
            for _ in range(GREEDY_TOKENS):
                token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
                if token == eos:
                    break
                out.append(token)
                llm.eval([token])
            result["greedy"].append({"id": i, "prompt_ids": ids, "ids": out,
                                     "text": llm.detokenize(out).decode("utf-8", errors="replace")})
            prompts.write(json.dumps({"id": i, "prompt": text}) + "\n")
    with open(os.path.join(work, "llamacpp.json"), "w") as f:
        json.dump(result, f)


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def compare(work):
    with open(os.path.join(work, "llamacpp.json")) as f:
        ref = json.load(f)
    ours = {r["id"]: r for r in read_jsonl(os.path.join(work, "score.jsonl"))}
    worst, total, count = 0.0, 0.0, 0
    nll_ref, nll_ours = [], []
    for item in ref["texts"]:
        mine = ours[item["id"]]["logprobs"]
        assert len(mine) == len(item["logprobs"]), item["id"]
        diffs = [abs(a - b) for a, b in zip(mine, item["logprobs"])]
        worst = max(worst, max(diffs, default=0))
        total += sum(diffs)
        count += len(diffs)
        nll_ref.append(-sum(item["logprobs"]) / max(1, len(diffs)))
        nll_ours.append(-sum(mine) / max(1, len(diffs)))
    print(f"score: {len(ref['texts'])} texts, {count} tokens: max |Δ logprob| = {worst:.2e}, mean = {total / count:.2e}; "
          f"mean NLL llama.cpp {sum(nll_ref) / len(nll_ref):.4f}, text2grad {sum(nll_ours) / len(nll_ours):.4f}")

    tokenized = {r["id"]: r["ids"] for r in read_jsonl(os.path.join(work, "tokens.jsonl"))}
    same = sum(tokenized[item["id"]] == item["ids"] for item in ref["texts"])
    print(f"tokenizer: {same}/{len(ref['texts'])} texts give llama.cpp's ids")

    generated = {r["id"]: r for r in read_jsonl(os.path.join(work, "greedy.jsonl"))}
    identical, prefix, length = 0, 0, 0
    for item in ref["greedy"]:
        mine = generated[item["id"]]["tokens"]
        if mine and generated[item["id"]].get("finish_reason") == "stop":
            mine = mine[:-1]  # text2grad lists the end-of-turn token it stopped at; llama.cpp's loop does not
        theirs = item["ids"]
        common = 0
        while common < min(len(mine), len(theirs)) and mine[common] == theirs[common]:
            common += 1
        identical += mine == theirs
        prefix += common
        length += len(theirs)
        print(f"  prompt {item['id']}: {common}/{len(theirs)} tokens agree; llama.cpp: {item['text']!r}; "
              f"text2grad: {generated[item['id']]['completion']!r}")
    print(f"greedy: {identical}/{len(ref['greedy'])} continuations identical, {prefix}/{length} tokens in agreeing prefixes")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "reference":
        reference(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        sys.exit(__doc__)
