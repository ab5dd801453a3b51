#!/usr/bin/env python3
"""The PyTorch side of `text2grad bench forward`: the same random SmolLM-135M-shaped model, batch and
thread count through transformers, printed as the same JSON, so the two can be compared in one run.

    python3 bench/torch_forward.py --batch 4 --seq 256 --threads 2
"""
import argparse
import json
import statistics
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

SHAPES = {
    "smollm-135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                        num_key_value_heads=3, vocab_size=49152, rms_norm_eps=1e-5, rope_theta=10000.0,
                        max_position_embeddings=2048, tie_word_embeddings=True),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="smollm-135m", choices=sorted(SHAPES))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = LlamaConfig(**SHAPES[args.shape], attn_implementation=args.attention)
    model = LlamaForCausalLM(config).eval()
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq))
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(ids)
        times = []
        for _ in range(args.iterations):
            start = time.perf_counter()
            model(ids)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    tokens = args.batch * args.seq
    print(json.dumps({
        "bench": "forward", "engine": f"pytorch {torch.__version__} ({args.attention})", "model": args.shape,
        "batch": args.batch, "seq": args.seq, "threads": args.threads, "seconds": median, "all_seconds": times,
        "tokens_per_s": tokens / median, "parameters": sum(p.numel() for p in model.parameters()),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
