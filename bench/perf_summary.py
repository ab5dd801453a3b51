#!/usr/bin/env python3
"""Groups a `perf report` of a text2grad benchmark into the kernels of a training step, as percentages of the
samples outside setup (random weights, page faults of the first touch). Reads `perf report --no-children
--sort dso,symbol --stdio` on standard input; prints one line per group, largest first.

    perf record -F 999 -o step.perf -- .build/release/text2grad bench train --mode lora --iterations 8
    perf report -i step.perf --no-children --sort dso,symbol --stdio | python3 bench/perf_summary.py
"""
import re
import sys

# (group, pattern over "dso symbol"), first match wins.
GROUPS = [
    ("setup (not timed)", r"randomize|__cos|__ieee754_log|__sin|cos@plt|log@plt|clear_page|folio_zero|do_anonymous"
                          r"|get_page_from_freelist|LlamaWeights|TensorArena"),
    ("bf16 GEMM (micro-kernel)", r"micro_kernel"),
    ("bf16 GEMM (packing)", r"pack_rows|pack_columns|row_pairs|gemm_bf16"),
    ("BLAS sgemm (micro-kernel)", r"sgemm_kernel|sgemm_small_kernel"),
    ("BLAS sgemm (packing, beta)", r"sgemm_[io][nt]copy|sgemm_beta|sgemm_[nt][nt]\b|cblas_sgemm"),
    ("attention (softmax, masks)", r"attention|expShiftedSum|softmaxRowBackward|maxOf"),
    ("cross-entropy / log-probs", r"crossEntropy|tokenLogProb|rowStatistics"),
    ("RMSNorm", r"rmsNorm|RMSNorm"),
    ("rotary", r"rotate|rotary"),
    ("SwiGLU / GeGLU", r"swiglu|geglu"),
    ("LoRA (small products, dropout)", r"LoRAAdapter"),
    ("AdamW, gradient norm", r"AdamW|globalGradientNorm|clip"),
    ("memset / memcpy / adds", r"memset|memmove|memcpy|addInPlace|update\(repeating|\bscale"),
    ("threads (dispatch, futex, scheduler)", r"dispatch|futex|schedule|finish_task_switch|_raw_spin|pthread"
                                             r"|swift_task|SpinningPool|concurrentPerform"),
    ("kernel (other)", r"\[kernel\]|\[k\]"),
]


def main():
    totals = {}
    for line in sys.stdin:
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if not m:
            continue
        share, dso, kind, symbol = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
        text = f"{dso} [{kind}] {symbol}"
        group = next((g for g, p in GROUPS if re.search(p, text)), "other")
        totals[group] = totals.get(group, 0) + share
    setup = totals.pop("setup (not timed)", 0)
    timed = sum(totals.values()) or 1
    for group, share in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{100 * share / timed:5.1f}%  {group}")
    print(f"(setup: {setup:.1f}% of all samples, left out)")


if __name__ == "__main__":
    main()
