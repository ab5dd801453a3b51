#!/usr/bin/env python3
"""Single-threaded encode throughput of the Hugging Face `tokenizers` library, for comparison with
`text2grad bench tokenize` (same text, same line-by-line encoding, best of N repetitions; min, median and max reported).

Usage: RAYON_NUM_THREADS=1 python3 bench/hf_tokenize.py --tokenizer DIR [--input FILE] [--megabytes 8]
Prints one JSON object: {"bench": "tokenize-hf", ..., "mb_per_s": per-line calls, "batch_mb_per_s": one encode_batch}
"""
import argparse
import json
import os

os.environ.setdefault("RAYON_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tokenizers import Tokenizer  # noqa: E402

from common import seconds_fields, timed  # noqa: E402

PARAGRAPHS = [  # same as TokenizerBenchmark.syntheticText in Swift
    "The summary gets the cat's name right but says the move was in May; the post says March. "
    "Reviewers noted that the response was mostly accurate, although it didn't mention the budget.",
    "def tokenize(text):\n    return [vocab.get(word, UNK) for word in text.split()]  # 42 items\n",
    "Café déjà vu: naïve façade, Ångström and Straße — 3.14159 × 2 = 6.28318.",
    "中文文本和日本語のテキスト、한국어 문장도 포함됩니다。",
    "Emoji 😀👍🏽 and a family 👨‍👩‍👧‍👦 in a sentence, with numbers 1234567 and 2026-11-26.",
]


def synthetic_text(megabytes):
    parts, size, i = [], 0, 0
    target = int(megabytes * 1e6)
    while size < target:
        s = PARAGRAPHS[i % len(PARAGRAPHS)] + " " + str(i) + "\n"
        parts.append(s)
        size += len(s.encode("utf-8"))
        i += 1
    return "".join(parts)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--input")
    p.add_argument("--megabytes", type=float, default=8)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    tok = Tokenizer.from_file(os.path.join(args.tokenizer, "tokenizer.json"))
    text = open(args.input, encoding="utf-8").read() if args.input else synthetic_text(args.megabytes)
    lines = text.split("\n")

    def encode_lines():
        # One call per line, single-threaded, offsets computed as in Swift.
        return sum(len(tok.encode(line, add_special_tokens=False).ids) for line in lines)

    times, tokens = timed(encode_lines, 0, args.repeats)
    best = min(times)
    # The same lines in one encode_batch call (Rayon held to one thread): the Rust core without Python's
    # per-call overhead, the fairer figure for the library itself.
    batch_times, batch_tokens = timed(
        lambda: sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False)), 0, args.repeats)
    best_batch = min(batch_times)
    assert batch_tokens == tokens
    nbytes = len(text.encode("utf-8"))
    print(json.dumps({**seconds_fields(times), "bench": "tokenize-hf", "tokenizer": args.tokenizer, "bytes": nbytes,
                      "tokens": tokens, "seconds": round(best, 4), "mb_per_s": round(nbytes / 1e6 / best, 2),
                      "batch_seconds": round(best_batch, 4), "batch_mb_per_s": round(nbytes / 1e6 / best_batch, 2),
                      "batch_all_seconds": batch_times}, sort_keys=True))


if __name__ == "__main__":
    main()
