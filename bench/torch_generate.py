#!/usr/bin/env python3
"""The PyTorch side of `text2grad bench generate`: greedy `transformers.generate` with its KV cache on the
same random SmolLM-135M-shaped model, random prompts of --seq tokens, exactly --new-tokens new tokens per
sequence, printed as the same JSON so the two can be compared in one run.

    python3 bench/torch_generate.py --batch 1 --seq 64 --new-tokens 128 --threads 2
    python3 bench/torch_generate.py --batch 8 --seq 64 --new-tokens 128 --threads 2
"""
import json
import statistics

import torch

from common import parser, random_model, seconds_fields, timed


def main():
    options = parser(batch=1, seq=64, iterations=3)
    options.add_argument("--new-tokens", type=int, default=128)
    args = options.parse_args()
    model = random_model(args).eval()
    config = model.config
    ids = torch.randint(3, config.vocab_size, (args.batch, args.seq))
    mask = torch.ones_like(ids)

    def run():
        out = model.generate(input_ids=ids, attention_mask=mask, do_sample=False, max_new_tokens=args.new_tokens,
                             min_new_tokens=args.new_tokens, eos_token_id=None, pad_token_id=0)
        return out.shape[1] - args.seq

    with torch.inference_mode():
        times, new = timed(run, args.warmup, args.iterations)
    median = statistics.median(times)
    tokens = args.batch * new
    print(json.dumps({
        **seconds_fields(times),
        "bench": "generate", "engine": f"pytorch {torch.__version__} ({args.attention})", "model": args.model or args.shape,
        "batch": args.batch, "prompt": args.seq, "new_tokens": new, "threads": args.threads, "seconds": median,
        "tokens_per_s": tokens / median,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
