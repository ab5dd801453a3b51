"""What the bench scripts share: the options of `text2grad bench`, the random model they build (as
`LlamaConfig.namedShapes` in Swift, from shapes.py), and how every script times its runs and reports the seconds
(min, median and max, as `BenchSeconds` in Swift). torch and transformers are imported only where a model is
built, so the scripts of other engines (tokenizers, llama.cpp) can share the timing without them."""
import argparse
import os
import statistics
import time

from shapes import SHAPES


def parser(batch, seq, iterations):
    """An argument parser with the options of `text2grad bench`, defaults as given (no --seq when seq is None)."""
    p = argparse.ArgumentParser()
    p.add_argument("--shape", default="smollm-135m", choices=sorted(SHAPES))
    p.add_argument("--model", help="a model directory (e.g. what `text2grad convert gguf` wrote) instead of --shape")
    p.add_argument("--batch", type=int, default=batch)
    if seq is not None:
        p.add_argument("--seq", type=int, default=seq)
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--iterations", type=int, default=iterations)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--attention", default="sdpa", choices=["sdpa", "eager"])
    return p


def random_model(args):
    """The shape's model with transformers' random initialisation, or `--model`'s weights, on `args.threads`
    threads, in fp32."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.model:
        return LlamaForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32,
                                                attn_implementation=args.attention)
    return LlamaForCausalLM(LlamaConfig(**SHAPES[args.shape], attn_implementation=args.attention))


def timed(run, warmup, iterations):
    """Calls `run` `warmup` times untimed, then `iterations` times; returns the seconds of each timed call and
    the last call's result."""
    for _ in range(warmup):
        run()
    times, result = [], None
    for _ in range(iterations):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return times, result


def seconds_fields(times):
    """The spread every bench reports of its timed runs: min_seconds, median_seconds (the mean of the two middle
    ones for an even count), max_seconds and all_seconds (in the order they ran)."""
    return {"min_seconds": min(times), "median_seconds": statistics.median(times), "max_seconds": max(times),
            "all_seconds": list(times)}
