#!/usr/bin/env python3
"""Writes the tiny model fixtures the Swift tests compare against (Tests/Fixtures/models/).

Never run by the tests: run it by hand (`make fixtures`) after `pip install torch transformers safetensors`.
Each fixture is a Hugging Face model directory made by `transformers` with random weights, plus
`expected.safetensors` (logits) and `inputs.json` (token ids). Variants cover what the engine must get right:

- llama-gqa:      Llama, grouped-query attention, untied embeddings, `dynamic` rope scaling past max positions, F32
- qwen2-tied:     Qwen2, q/k/v biases, tied embeddings, stored in BF16
- llama3-sharded: Llama with `llama3` rope scaling, attention and MLP biases, split into several shards
- mistral-window: Mistral with a sliding attention window shorter than the inputs and `linear` rope scaling
- qwen3-norms:    Qwen3, per-head q/k RMSNorm, head_dim 16 with hidden 32 (so heads·head_dim ≠ hidden), tied, BF16
- gemma3-local:   Gemma 3 (text) in the published config form (rope_theta, rope_local_base_freq, rope_scaling,
                  sliding_window_pattern 3: two local layers of window 4, then a global one with linear scaling),
                  offset norms, four norms per layer, GeLU-tanh, query_pre_attn_scalar ≠ head_dim, stored in BF16
- gemma3-softcap: Gemma 3 (text) in the transformers 5 form (layer_types, per-kind rope_parameters), global layer
                  first, attention biases and final logit softcapping (a Gemma 2 style field Gemma 3 still reads), BF16

`python3 scripts/make_model_fixtures.py NAME...` rewrites only the named fixtures (seeds stay those of the full run).

Batched (padded) results are checked against these single-sequence logits: with padding-aware positions
every row must equal its sequence alone (the engine takes `dynamic` rope's length per sequence).
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import (AutoModelForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig, LlamaConfig, LlamaForCausalLM,
                          MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "models")
VOCAB = 256
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=112, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, initializer_range=0.15,
              attn_implementation="eager")
# The newer families at a smaller size (fixtures stay small): head_dim 16 with 4 heads on a hidden size of 32.
SMALL = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_attention_heads=4, num_key_value_heads=2,
             head_dim=16, rms_norm_eps=1e-6, initializer_range=0.15, attn_implementation="eager")

# Three sequences of different lengths (the Swift tests also run them as padded batches).
SEQUENCES = [
    [1, 17, 200, 33, 4, 99, 150, 7, 8, 250, 61, 12, 5],
    [1, 45, 46, 47, 2],
    [1, 3, 9, 27, 81, 243, 128, 64],
]


def rope(kind, **fields):
    """The rope settings in both the transformers ≥5 form (rope_parameters) and the classic one."""
    return fields | {"rope_type": kind}


def variants():
    yield "llama-gqa", LlamaForCausalLM, LlamaConfig(
        **COMMON, max_position_embeddings=8, tie_word_embeddings=False,
        rope_parameters=rope("dynamic", rope_theta=10000.0, factor=2.0)), {}
    yield "qwen2-tied", Qwen2ForCausalLM, Qwen2Config(
        **COMMON, max_position_embeddings=64, tie_word_embeddings=True,
        rope_parameters=rope("default", rope_theta=1000000.0)), {"dtype": torch.bfloat16}
    yield "llama3-sharded", LlamaForCausalLM, LlamaConfig(
        **COMMON, max_position_embeddings=64, tie_word_embeddings=False, attention_bias=True, mlp_bias=True,
        head_dim=24, rope_parameters=rope("llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0,
                                           high_freq_factor=4.0, original_max_position_embeddings=16)), {"shard": "60KB"}
    yield "mistral-window", MistralForCausalLM, MistralConfig(
        **COMMON, max_position_embeddings=64, tie_word_embeddings=False, sliding_window=4,
        rope_parameters=rope("linear", rope_theta=10000.0, factor=2.0)), {}
    yield "qwen3-norms", Qwen3ForCausalLM, Qwen3Config(
        **SMALL, num_hidden_layers=2, max_position_embeddings=64, tie_word_embeddings=True,
        rope_parameters=rope("default", rope_theta=1000000.0)), {"dtype": torch.bfloat16}
    yield "gemma3-local", Gemma3ForCausalLM, Gemma3TextConfig(
        **SMALL, num_hidden_layers=3, max_position_embeddings=64, sliding_window=4, query_pre_attn_scalar=24,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"], pad_token_id=0, bos_token_id=1,
        eos_token_id=2, rope_parameters={
            "sliding_attention": rope("default", rope_theta=10000.0),
            "full_attention": rope("linear", rope_theta=1000000.0, factor=8.0)}), {
        "dtype": torch.bfloat16, "offset_norms": True, "classic": "gemma3"}
    yield "gemma3-softcap", Gemma3ForCausalLM, Gemma3TextConfig(
        **SMALL, num_hidden_layers=2, max_position_embeddings=64, sliding_window=3, query_pre_attn_scalar=16,
        layer_types=["full_attention", "sliding_attention"], attention_bias=True, final_logit_softcapping=5.0,
        pad_token_id=0, bos_token_id=1, eos_token_id=2, rope_parameters={
            "sliding_attention": rope("default", rope_theta=10000.0),
            "full_attention": rope("default", rope_theta=1000000.0)}), {"dtype": torch.bfloat16, "offset_norms": True}


def randomize(model, seed, offset_norms=False):
    """Random weights large enough that every layer changes the logits; norms and biases random too.
    Gemma stores a norm's weight as an offset from 1, so its norms are drawn around 0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_((0 if offset_norms else 1) + 0.2 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.15 * torch.randn(p.shape, generator=g))


def classic_config(directory):
    """Rewrites config.json in the transformers 4 form (top-level rope_theta, rope_scaling) that published
    checkpoints such as Llama 3.1 and Qwen2.5 use, so both forms stay covered."""
    path = os.path.join(directory, "config.json")
    with open(path) as f:
        config = json.load(f)
    params = config.pop("rope_parameters")
    config["rope_theta"] = params.pop("rope_theta")
    config["rope_scaling"] = None if params["rope_type"] == "default" else params
    with open(path, "w") as f:
        json.dump(config, f, indent=2)


def classic_gemma3_config(directory):
    """Rewrites a Gemma 3 config.json in the form Google's published checkpoints use: rope_theta for global layers,
    rope_local_base_freq for local ones, rope_scaling (global layers only) and sliding_window_pattern instead of
    layer_types (every pattern-th layer global)."""
    path = os.path.join(directory, "config.json")
    with open(path) as f:
        config = json.load(f)
    layer_types = config.pop("layer_types")
    config.pop("_sliding_window_pattern", None)
    pattern = layer_types.index("full_attention") + 1
    assert layer_types == ["full_attention" if (i + 1) % pattern == 0 else "sliding_attention"
                           for i in range(len(layer_types))], layer_types
    params = config.pop("rope_parameters")
    config["rope_theta"] = params["full_attention"].pop("rope_theta")
    config["rope_local_base_freq"] = params["sliding_attention"]["rope_theta"]
    full = params["full_attention"]
    config["rope_scaling"] = None if full["rope_type"] == "default" else full
    config["sliding_window_pattern"] = pattern
    with open(path, "w") as f:
        json.dump(config, f, indent=2)


def main():
    torch.manual_seed(0)
    wanted = set(sys.argv[1:])
    for seed, (name, cls, config, options) in enumerate(variants()):
        if wanted and name not in wanted:
            continue
        out = os.path.join(ROOT, name)
        shutil.rmtree(out, ignore_errors=True)
        model = cls(config).eval()
        randomize(model, seed, options.get("offset_norms", False))
        if "dtype" in options:
            # Round the parameters (not the rotary buffers, which are recomputed on load) to the stored dtype,
            # so the fp32 reference computes with exactly the values the checkpoint holds.
            with torch.no_grad():
                for p in model.parameters():
                    p.copy_(p.to(options["dtype"]).to(torch.float32))

        tensors = {}
        with torch.no_grad():
            perplexities = []
            for i, s in enumerate(SEQUENCES):
                ids = torch.tensor([s])
                result = model(ids, labels=ids)
                tensors[f"single.{i}"] = result.logits[0].contiguous()
                perplexities.append(torch.exp(result.loss).item())

        save_kwargs = {"max_shard_size": options["shard"]} if "shard" in options else {}
        model.to(options.get("dtype", torch.float32)).save_pretrained(out, **save_kwargs)
        if name in ("qwen2-tied", "llama3-sharded"):
            classic_config(out)
        if options.get("classic") == "gemma3":
            classic_gemma3_config(out)
        # The saved directory (rewritten config included) must give transformers the same logits again.
        reloaded = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager")
        with torch.no_grad():
            for i, s in enumerate(SEQUENCES):
                again = reloaded(torch.tensor([s])).logits[0]
                assert torch.allclose(again, tensors[f"single.{i}"], atol=1e-5), f"{name}: reloaded logits differ"
        save_file(tensors, os.path.join(out, "expected.safetensors"))
        with open(os.path.join(out, "inputs.json"), "w") as f:
            json.dump({"sequences": SEQUENCES, "padding": "left", "pad_id": 0, "perplexity": perplexities}, f)
        files = sorted(os.listdir(out))
        print(f"{name}: {files}")


if __name__ == "__main__":
    main()
