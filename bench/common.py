"""What the PyTorch bench scripts share: the model shapes (as `LlamaConfig.namedShapes` in Swift), the
options every benchmark takes, and the random model they build."""
import argparse
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from shapes import SHAPES


def parser(batch, seq, iterations):
    """An argument parser with the options of `text2grad bench`, defaults as given."""
    p = argparse.ArgumentParser()
    p.add_argument("--shape", default="smollm-135m", choices=sorted(SHAPES))
    p.add_argument("--model", help="a model directory (e.g. what `text2grad convert gguf` wrote) instead of --shape")
    p.add_argument("--batch", type=int, default=batch)
    p.add_argument("--seq", type=int, default=seq)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--iterations", type=int, default=iterations)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"])
    return p


def random_model(args):
    """The shape's model with transformers' random initialisation, or `--model`'s weights, on `args.threads`
    threads, in fp32."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        return LlamaForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32,
                                                attn_implementation=args.attention)
    return LlamaForCausalLM(LlamaConfig(**SHAPES[args.shape], attn_implementation=args.attention))
