#!/usr/bin/env python3
"""The PyTorch side of `text2grad bench train`: one training step (forward, mean token cross-entropy,
backward, clip_grad_norm_, AdamW) on the same random SmolLM-135M-shaped model, batch and thread count,
for all parameters (--mode full) or LoRA through peft (--mode lora, rank 16 on q/k/v/o by default).
Prints the same JSON, including peak memory (ru_maxrss): run each mode in its own process.

    python3 bench/torch_train.py --mode full --batch 4 --seq 256 --threads 2
    python3 bench/torch_train.py --mode lora --batch 4 --seq 256 --threads 2
    python3 bench/torch_train.py --mode lora --precision bf16 --batch 4 --seq 256 --threads 2
"""
import json
import resource
import statistics

import torch

from common import parser, random_model, seconds_fields, timed


def main():
    options = parser(batch=4, seq=256, iterations=5)
    options.add_argument("--mode", default="full", choices=["full", "lora"])
    options.add_argument("--lora-rank", type=int, default=16)
    options.add_argument("--lora-targets", default="q_proj,k_proj,v_proj,o_proj")
    options.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                         help="bf16: the forward under torch.autocast(bfloat16), PyTorch's counterpart of "
                              "text2grad's --precision bf16 (products in bf16, master weights fp32)")
    args = options.parse_args()
    model = random_model(args)
    config = model.config
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
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        return loss.item()

    times, loss = timed(step, args.warmup, args.iterations)
    median = statistics.median(times)
    tokens = args.batch * args.seq
    print(json.dumps({
        **seconds_fields(times),
        "bench": "train", "mode": args.mode, "engine": f"pytorch {torch.__version__} ({args.attention})",
        "model": args.model or args.shape, "precision": args.precision, "batch": args.batch, "seq": args.seq,
        "threads": args.threads, "seconds": median, "tokens_per_s": tokens / median, "loss": loss,
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "trainable_parameters": sum(p.numel() for p in parameters),
    }, sort_keys=True))


if __name__ == "__main__":
    main()
