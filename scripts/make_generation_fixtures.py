#!/usr/bin/env python3
"""Writes the chat model fixture the generation and server tests use (Tests/Fixtures/models/chat-smollm/).

Never run by the tests: run it by hand after `pip install torch transformers safetensors`.
A tiny random Llama whose vocabulary is the smollm tokenizer fixture's (ChatML chat template), saved as a
Hugging Face model directory with that tokenizer, plus `greedy.json`: transformers' greedy `generate` output
ids for a few prompts of different lengths (no early stop), which the Swift greedy decoder must reproduce
exactly. The script prints the smallest top-1/top-2 logit gap met along the way: a gap far above fp32
noise (~1e-5) is what makes an exact comparison fair.
"""
import json
import os
import shutil

import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "Tests", "Fixtures", "tokenizers", "smollm")
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "models", "chat-smollm")
NEW_TOKENS = 24
PROMPTS = [
    "Hello there",
    "The quick brown fox jumps over the lazy dog and keeps running",
    "1 2 3",
    "Why is the sky blue? Explain briefly.",
]


def main():
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER)
    torch.manual_seed(5)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, max_position_embeddings=4096,
        tie_word_embeddings=False, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, attn_implementation="eager")
    model = LlamaForCausalLM(config).eval()
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    model.save_pretrained(OUT, safe_serialization=True)
    for name in ["tokenizer.json", "tokenizer_config.json"]:
        shutil.copy(os.path.join(TOKENIZER, name), OUT)

    cases = []
    smallest_gap = float("inf")
    for text in PROMPTS:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            out = model.generate(torch.tensor([ids]), max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS,
                                 do_sample=False, output_scores=True, return_dict_in_generate=True,
                                 eos_token_id=None, pad_token_id=tokenizer.pad_token_id)
        for score in out.scores:
            top = torch.topk(score[0], 2).values
            smallest_gap = min(smallest_gap, float(top[0] - top[1]))
        cases.append({"prompt": text, "prompt_ids": ids, "generated_ids": out.sequences[0, len(ids):].tolist()})
    with open(os.path.join(OUT, "greedy.json"), "w") as f:
        json.dump({"max_new_tokens": NEW_TOKENS, "cases": cases}, f, indent=1)
    print(f"wrote {OUT}; smallest top-1/top-2 gap {smallest_gap:.4g}")


if __name__ == "__main__":
    main()
