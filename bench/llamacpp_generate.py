#!/usr/bin/env python3
"""The llama.cpp side of `text2grad bench generate`: a SmolLM-135M-shaped model with random weights written as
an F32 GGUF, --batch random prompts of --seq tokens, exactly --new-tokens greedy tokens each, timed through
llama-cpp-python's bindings of llama.cpp's C API (`pip install llama-cpp-python gguf`), printed as the same JSON.
The sequences of a batch go through one `llama_decode` per step, each its own sequence id, as
llama.cpp's own batched tools do.

    python3 bench/llamacpp_generate.py --batch 8 --seq 64 --new-tokens 128 --threads 2

The weights' values do not change the work (fp32 throughout), so they are drawn here rather than converted.
Tokens are fed as ids; the vocabulary only has to exist (a SentencePiece-style one with byte tokens).
"""
import argparse
import json
import os
import statistics
import tempfile
import time

import numpy as np

from common import seconds_fields
from shapes import SHAPES

_c = SHAPES["smollm-135m"]
SHAPE = {"hidden": _c["hidden_size"], "intermediate": _c["intermediate_size"], "layers": _c["num_hidden_layers"],
         "heads": _c["num_attention_heads"], "kv_heads": _c["num_key_value_heads"], "vocab": _c["vocab_size"],
         "eps": _c["rms_norm_eps"], "theta": _c["rope_theta"], "context": _c["max_position_embeddings"]}


def write_gguf(path):
    import gguf

    s = SHAPE
    head = s["hidden"] // s["heads"]
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(s["context"])
    w.add_embedding_length(s["hidden"])
    w.add_block_count(s["layers"])
    w.add_feed_forward_length(s["intermediate"])
    w.add_head_count(s["heads"])
    w.add_head_count_kv(s["kv_heads"])
    w.add_rope_dimension_count(head)
    w.add_layer_norm_rms_eps(s["eps"])
    w.add_rope_freq_base(s["theta"])
    w.add_file_type(0)  # all F32
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"t{i}" for i in range(s["vocab"] - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (s["vocab"] - 259)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * s["vocab"])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    rng = np.random.default_rng(0)

    def matrix(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)

    C, I, KV = s["hidden"], s["intermediate"], s["kv_heads"] * head
    w.add_tensor("token_embd.weight", matrix(s["vocab"], C))  # tied: also the LM head
    w.add_tensor("output_norm.weight", np.ones(C, dtype=np.float32))
    for l in range(s["layers"]):
        p = f"blk.{l}."
        w.add_tensor(p + "attn_norm.weight", np.ones(C, dtype=np.float32))
        w.add_tensor(p + "attn_q.weight", matrix(C, C))
        w.add_tensor(p + "attn_k.weight", matrix(KV, C))
        w.add_tensor(p + "attn_v.weight", matrix(KV, C))
        w.add_tensor(p + "attn_output.weight", matrix(C, C))
        w.add_tensor(p + "ffn_norm.weight", np.ones(C, dtype=np.float32))
        w.add_tensor(p + "ffn_gate.weight", matrix(I, C))
        w.add_tensor(p + "ffn_up.weight", matrix(I, C))
        w.add_tensor(p + "ffn_down.weight", matrix(C, I))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--batch", type=int, default=1)
    options.add_argument("--seq", type=int, default=64)
    options.add_argument("--new-tokens", type=int, default=128)
    options.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    options.add_argument("--iterations", type=int, default=3)
    options.add_argument("--warmup", type=int, default=1)
    options.add_argument("--gguf", help="where to keep the GGUF (default: a temporary file)")
    args = options.parse_args()
    import llama_cpp

    path = args.gguf or os.path.join(tempfile.gettempdir(), "t2g-smollm-135m-f32.gguf")
    if not os.path.exists(path):
        write_gguf(path)
    llama_cpp.llama_backend_init()
    model_params = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(path.encode(), model_params)
    B, P, N = args.batch, args.seq, args.new_tokens
    context_params = llama_cpp.llama_context_default_params()
    context_params.n_ctx = B * (P + N + 8)
    context_params.n_batch = B * P
    context_params.n_ubatch = B * P
    context_params.n_seq_max = B
    context_params.n_threads = args.threads
    context_params.n_threads_batch = args.threads
    ctx = llama_cpp.llama_init_from_model(model, context_params)
    rng = np.random.default_rng(1)
    prompts = [rng.integers(259, SHAPE["vocab"], P).tolist() for _ in range(B)]
    batch = llama_cpp.llama_batch_init(B * P, 0, B)
    V = SHAPE["vocab"]

    def fill(entries):
        """entries: (token, position, sequence, wants logits)."""
        batch.n_tokens = len(entries)
        for i, (token, position, sequence, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = position
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = sequence
            batch.logits[i] = logits
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise SystemExit("llama_decode failed")

    def run():
        # Every sequence is its own seq_id in one batch: llama.cpp's batched decoding (as llama-batched-bench).
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)
        start = time.perf_counter()
        fill([(t, p, b, p == P - 1) for b in range(B) for p, t in enumerate(prompts[b])])
        prefill = time.perf_counter() - start
        rows = [b * P + P - 1 for b in range(B)]
        for step in range(N - 1):
            nexts = [int(np.argmax(np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, r), shape=(V,)))) for r in rows]
            fill([(nexts[b], P + step, b, True) for b in range(B)])
            rows = list(range(B))
        return time.perf_counter() - start, prefill

    for _ in range(args.warmup):
        run()
    runs = [run() for _ in range(args.iterations)]
    times = [t for t, _ in runs]
    median = statistics.median(times)
    total, prefill = runs[-1]
    print(json.dumps({
        **seconds_fields(times),
        "bench": "generate", "engine": f"llama.cpp (llama-cpp-python {llama_cpp.__version__}, F32 GGUF)",
        "model": "smollm-135m", "batch": B, "prompt": P, "new_tokens": N,
        "threads": args.threads, "seconds": median, "tokens_per_s": B * N / median,
        "prefill_seconds_last": prefill, "prompt_tokens_per_s_last": B * P / max(prefill, 1e-9),
        "decode_tokens_per_s_last": B * (N - 1) / max(total - prefill, 1e-9),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
