#!/usr/bin/env python3
"""The PyTorch side of `text2grad bench forward`: the same random SmolLM-135M-shaped model, batch and
thread count through transformers, printed as the same JSON, so the two can be compared in one run.

    python3 bench/torch_forward.py --batch 4 --seq 256 --threads 2
"""
import json
import statistics

import torch

from common import parser, random_model, seconds_fields, timed


def main():
    args = parser(batch=4, seq=256, iterations=5).parse_args()
    model = random_model(args).eval()
    config = model.config
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq))
    with torch.inference_mode():
        times, _ = timed(lambda: model(ids), args.warmup, args.iterations)
    median = statistics.median(times)
    tokens = args.batch * args.seq
    print(json.dumps({
        **seconds_fields(times),
        "bench": "forward", "engine": f"pytorch {torch.__version__} ({args.attention})", "model": args.model or args.shape,
        "batch": args.batch, "seq": args.seq, "threads": args.threads, "seconds": median,
        "tokens_per_s": tokens / median, "parameters": sum(p.numel() for p in model.parameters()),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
