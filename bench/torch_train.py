#!/usr/bin/env python3
"""The PyTorch side of `text2grad bench train`: one training step (forward, mean token cross-entropy,
backward, clip_grad_norm_, AdamW) on the same random SmolLM-135M-shaped model, batch and thread count,
for all parameters (--mode full) or LoRA through peft (--mode lora, rank 16 on q/k/v/o by default).
Prints the same JSON, including peak memory (ru_maxrss): run each mode in its own process.

    python3 bench/torch_train.py --mode full --batch 4 --seq 256 --threads 2
    python3 bench/torch_train.py --mode lora --batch 4 --seq 256 --threads 2
"""
import argparse
import json
import resource
import statistics
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from torch_forward import SHAPES


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", default="smollm-135m", choices=sorted(SHAPES))
    parser.add_argument("--mode", default="full", choices=["full", "lora"])
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--lora-targets", default="q_proj,k_proj,v_proj,o_proj")
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
    model = LlamaForCausalLM(config)
    if args.mode == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=args.lora_rank, lora_alpha=2 * args.lora_rank, lora_dropout=0.0,
                                                 target_modules=args.lora_targets.split(","), task_type="CAUSAL_LM"))
    model.train()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=1e-5, weight_decay=0.01)
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.iterations):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    tokens = args.batch * args.seq
    print(json.dumps({
        "bench": "train", "mode": args.mode, "engine": f"pytorch {torch.__version__} ({args.attention})",
        "model": args.shape, "batch": args.batch, "seq": args.seq, "threads": args.threads, "seconds": median,
        "all_seconds": times, "tokens_per_s": tokens / median, "loss": loss,
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable_parameters": sum(p.numel() for p in parameters),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
