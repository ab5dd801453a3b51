#!/usr/bin/env python3
"""Pin the byte-level BPE trainer (`text2grad train-tokenizer`) to Hugging Face `tokenizers` and `transformers`.

Tests never run this; they read its committed output. It runs the built `text2grad` to write the built-in
task's data (seed 0, 300 train and 20 eval items) and to train a 512-token tokenizer on its corpus into

  Tests/Fixtures/tokenizers/facts-bpe/tokenizer.json, tokenizer_config.json

then loads that file with `tokenizers` and `transformers` and records what they produce:

  Tests/Fixtures/tokenizers/facts-bpe/goldens.json  texts with ids and [start, end) character offsets
                                                     (encode(add_special_tokens=False)), and chat template
                                                     renderings (apply_chat_template(tokenize=False))

The Swift test retrains on the same corpus (the file must come out byte for byte the same) and checks that
its own encoding of every text equals these ids and offsets.  Nothing is downloaded.

Usage:  swift build --product text2grad && pip install tokenizers transformers jinja2
        python3 scripts/make_bpe_fixtures.py [--binary .build/debug/text2grad]
"""
import argparse
import json
import os
import subprocess
import tempfile

from tokenizers import Tokenizer
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers", "facts-bpe")

EXTRA_TEXTS = [
    "naïve café, 日本語 🙂 tabs\tand\nnewlines",
    "  leading spaces and trailing ones  ",
    "Numbers 1234567 and 3.14, <|im_end|> in the middle, <|endoftext|>",
    "{\"textual_feedback\":\"x\",\"good_spans\":[],\"poor_spans\":[\"in May\"]}",
]

CONVERSATIONS = [
    [{"role": "user", "content": "Summarize the post in one sentence.\n\nHi all, I am Ana."}],
    [{"role": "system", "content": "You critique."}, {"role": "user", "content": "## Prompt\nx\n\n## Response\ny"},
     {"role": "assistant", "content": "{\"textual_feedback\":\"ok\"}"}],
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "text2grad"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([args.binary, "facts", "-o", data, "--train", "300", "--eval", "20", "--seed", "0"], check=True)
        subprocess.run([args.binary, "train-tokenizer", "--corpus", os.path.join(data, "corpus.txt"),
                        "--vocab-size", "512", "-o", OUT], check=True)
        texts = []
        with open(os.path.join(data, "eval.jsonl"), encoding="utf-8") as f:
            for line in list(f)[:8]:
                item = json.loads(line)
                texts += [item["prompt"], item["response"], item["reference"]]
        with open(os.path.join(data, "corpus.txt"), encoding="utf-8") as f:
            texts += [line.rstrip("\n") for line in f][:8]
    texts += EXTRA_TEXTS
    tokenizer = Tokenizer.from_file(os.path.join(OUT, "tokenizer.json"))
    encodings = []
    for text in texts:
        encoding = tokenizer.encode(text, add_special_tokens=False)
        encodings.append({"text": text, "ids": encoding.ids, "offsets": [list(o) for o in encoding.offsets],
                          "decoded": tokenizer.decode(encoding.ids, skip_special_tokens=False)})
    auto = AutoTokenizer.from_pretrained(OUT)
    chats = [{"messages": m, "add_generation_prompt": g,
              "text": auto.apply_chat_template(m, tokenize=False, add_generation_prompt=g)}
             for m in CONVERSATIONS for g in (False, True)]
    goldens = {"vocab_size": tokenizer.get_vocab_size(), "encodings": encodings, "chat": chats}
    with open(os.path.join(OUT, "goldens.json"), "w", encoding="utf-8") as f:
        json.dump(goldens, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(encodings)} encodings, {len(chats)} chat renderings")


if __name__ == "__main__":
    main()
