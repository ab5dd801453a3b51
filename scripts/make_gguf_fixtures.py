#!/usr/bin/env python3
"""Writes the GGUF fixtures the Swift tests compare against (Tests/Fixtures/gguf/).

Never run by the tests: run it by hand in a virtual environment with the reference implementations,

    python3 -m venv /tmp/gguf-venv && /tmp/gguf-venv/bin/pip install gguf numpy llama-cpp-python
    /tmp/gguf-venv/bin/python scripts/make_gguf_fixtures.py

What it writes:

- quants/<type>.gguf: for each ggml type the reader decodes, a tensor `x` of that type (random blocks, quantized
  by gguf-py where it can quantize, else random packed bytes with finite scales), `expected` = gguf-py's
  `quants.dequantize(x)` in F32, and for types gguf-py quantizes the F32 `source` it was made from.
- tiny-<f32|f16|q8_0>.gguf: a random two-layer Llama (hidden 32, 2 heads, 1 kv head, ffn 64) with SmolLM's
  fixture vocabulary, q/k rows permuted as convert_hf_to_gguf.py does, written by gguf-py's GGUFWriter; the
  F32 one has tied embeddings (no output.weight), the others an output matrix.
  logits.gguf holds llama.cpp's logits (llama-cpp-python, logits_all, F32 KV cache, one thread) of each model
  for the sequences in inputs.json, as tensors `<model>.<sequence>` of shape (T, V).
- vocab-<pre>.gguf: the same vocabulary with tokenizer.ggml.pre = gpt-2, llama-bpe, qwen2, default (vocabulary only), and
  tokens.json: llama.cpp's ids (Llama(vocab_only=True).tokenize(special=True), no BOS) for messy texts, per pre.
- vocab-spm.gguf: the Llama 2-style fixture vocabulary as a SentencePiece (`llama`) tokenizer, ids under "spm".
"""
import json
import os
import shutil

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf import quants

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
OUT = os.path.join(ROOT, "gguf")
VOCAB_SOURCE = os.path.join(ROOT, "tokenizers", "smollm")

QUANTIZED_BY_GGUF_PY = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1]
PACKED_AT_RANDOM = [Q.Q4_K, Q.Q5_K, Q.Q6_K]
# Byte offsets of the fp16 scales in each K-quant block (random bytes there could be inf or NaN).
K_SCALE_OFFSETS = {Q.Q4_K: [0, 2], Q.Q5_K: [0, 2], Q.Q6_K: [208]}

HIDDEN, FFN, LAYERS, HEADS, KV_HEADS = 32, 64, 2, 2, 1
SEQUENCES = [[1, 17, 200, 33, 4, 99, 150, 7], [5, 640, 2, 88, 301]]

TEXTS = [
    "Hello world",
    "The capital of France is Paris.",
    "  leading spaces and trailing   ",
    "I'm sure you'll see they've GONE, he'd SAY'S",
    "numbers 1234567 and 3.14159, 42nd, ٣٤٥",
    "tabs\tand\nnewlines\n\n\r\nmixed \n  \n",
    "émigré café naïve Ångström",
    "日本語のテキスト 中文 한국어",
    "emoji 🙂👍🏽 and symbols ©®™ ∑∫√",
    "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "code: def f(x):\n    return x**2  # square",
    "punctuation!!! ??? ... --- ((())) [ok] {\"a\": 1}",
    "",
    " ",
    "a",
    "\u00a0non-breaking\u2009thin\u3000ideographic",
]


def quant_fixtures(rng):
    directory = os.path.join(OUT, "quants")
    os.makedirs(directory, exist_ok=True)
    for qtype in QUANTIZED_BY_GGUF_PY + PACKED_AT_RANDOM:
        shape = (2, 512)
        writer = gguf.GGUFWriter(os.path.join(directory, qtype.name.lower() + ".gguf"), arch="quants")
        if qtype in QUANTIZED_BY_GGUF_PY:
            source = (rng.standard_normal(shape) * 0.5).astype(np.float32)
            source[0, :32] = 0                      # an all-zero block (d = 0)
            source[1, 32:64] *= 1000                # a block of large values
            source[1, 64] = -3.0e4                  # near the end of the fp16 range
            raw = quants.quantize(source, qtype)
            writer.add_tensor("source", source)
        else:
            block, size = gguf.GGML_QUANT_SIZES[qtype]
            raw = rng.integers(0, 256, size=(shape[0], shape[1] // block * size), dtype=np.uint8)
            blocks = raw.reshape(-1, size)
            for offset in K_SCALE_OFFSETS[qtype]:
                scales = (rng.standard_normal(blocks.shape[0]) * 0.01).astype(np.float16)
                blocks[:, offset:offset + 2] = scales.view(np.uint8).reshape(-1, 2)
        expected = quants.dequantize(raw, qtype).astype(np.float32)
        assert expected.shape == shape, (qtype, expected.shape)
        if qtype == Q.F32:
            writer.add_tensor("x", raw)
        elif qtype == Q.F16:
            writer.add_tensor("x", raw.astype(np.float16))
        else:
            writer.add_tensor("x", raw, raw_dtype=qtype)
        writer.add_tensor("expected", expected)
        write(writer)
        print(f"quants/{qtype.name.lower()}.gguf")


def write(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def vocabulary():
    """SmolLM's fixture vocabulary as GGUF lists: tokens by id, token types, merges, special ids, template."""
    with open(os.path.join(VOCAB_SOURCE, "tokenizer.json")) as f:
        tokenizer = json.load(f)
    with open(os.path.join(VOCAB_SOURCE, "tokenizer_config.json")) as f:
        config = json.load(f)
    vocab = tokenizer["model"]["vocab"]
    for added in tokenizer["added_tokens"]:
        vocab[added["content"]] = added["id"]
    tokens = [None] * (max(vocab.values()) + 1)
    for token, i in vocab.items():
        tokens[i] = token
    assert all(t is not None for t in tokens)
    special = {a["id"] for a in tokenizer["added_tokens"] if a["special"]}
    types = [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))]
    merges = [" ".join(m) if isinstance(m, list) else m for m in tokenizer["model"]["merges"]]
    ids = {name: vocab[config[name]] for name in ("bos_token", "eos_token", "pad_token", "unk_token")}
    return tokens, types, merges, ids, config["chat_template"]


def add_metadata(writer, pre, vocab):
    tokens, types, merges, ids, template = vocab
    writer.add_context_length(64)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(ids["bos_token"])
    writer.add_eos_token_id(ids["eos_token"])
    writer.add_pad_token_id(ids["pad_token"])
    writer.add_unk_token_id(ids["unk_token"])
    writer.add_add_bos_token(False)
    writer.add_chat_template(template)


def permute(weights, heads):
    """convert_hf_to_gguf.py's LlamaModel.permute: each head's rows (first half, second half) interleaved."""
    return weights.reshape(heads, 2, weights.shape[0] // heads // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def random_model(rng, vocab_size):
    """Hugging Face layout (name → array), random values large enough that every layer matters."""
    head = HIDDEN // HEADS
    def matrix(rows, cols):
        return (0.15 * rng.standard_normal((rows, cols))).astype(np.float32)
    def norm():
        return (1 + 0.2 * rng.standard_normal(HIDDEN)).astype(np.float32)
    model = {"token_embd.weight": matrix(vocab_size, HIDDEN), "output.weight": matrix(vocab_size, HIDDEN),
             "output_norm.weight": norm()}
    for layer in range(LAYERS):
        p = f"blk.{layer}."
        model[p + "attn_norm.weight"] = norm()
        model[p + "attn_q.weight"] = permute(matrix(HEADS * head, HIDDEN), HEADS)
        model[p + "attn_k.weight"] = permute(matrix(KV_HEADS * head, HIDDEN), KV_HEADS)
        model[p + "attn_v.weight"] = matrix(KV_HEADS * head, HIDDEN)
        model[p + "attn_output.weight"] = matrix(HIDDEN, HEADS * head)
        model[p + "ffn_norm.weight"] = norm()
        model[p + "ffn_gate.weight"] = matrix(FFN, HIDDEN)
        model[p + "ffn_up.weight"] = matrix(FFN, HIDDEN)
        model[p + "ffn_down.weight"] = matrix(HIDDEN, FFN)
    return model


def model_fixtures(rng, vocab):
    import llama_cpp
    model = random_model(rng, len(vocab[0]))
    logits = gguf.GGUFWriter(os.path.join(OUT, "logits.gguf"), arch="logits")
    for kind in ("f32", "f16", "q8_0"):
        path = os.path.join(OUT, f"tiny-{kind}.gguf")
        writer = gguf.GGUFWriter(path, arch="llama")
        writer.add_name(f"tiny-{kind}")
        add_metadata(writer, "smollm", vocab)
        for name, value in model.items():
            if kind == "f32" and name == "output.weight":
                continue  # tied: llama.cpp uses token_embd
            if value.ndim == 1 or kind == "f32":
                writer.add_tensor(name, value)
            elif kind == "f16":
                writer.add_tensor(name, value.astype(np.float16))
            else:
                writer.add_tensor(name, quants.quantize(value, Q.Q8_0), raw_dtype=Q.Q8_0)
        write(writer)
        llm = llama_cpp.Llama(model_path=path, n_ctx=64, n_batch=64, n_threads=1, logits_all=True, verbose=False,
                              type_k=0, type_v=0, flash_attn=False)
        for i, sequence in enumerate(SEQUENCES):
            llm.reset()
            llm.eval(sequence)
            logits.add_tensor(f"{kind}.{i}", np.array(llm.scores[:len(sequence)], dtype=np.float32))
        del llm
        print(f"tiny-{kind}.gguf: {os.path.getsize(path)} bytes")
    write(logits)
    with open(os.path.join(OUT, "inputs.json"), "w") as f:
        json.dump({"sequences": SEQUENCES}, f)


def tokenizer_fixtures(vocab):
    import llama_cpp
    results = {"texts": TEXTS, "ids": {}}
    for pre in ("smollm", "gpt-2", "llama-bpe", "qwen2", "default"):
        path = os.path.join(OUT, f"vocab-{pre}.gguf")
        writer = gguf.GGUFWriter(path, arch="llama")
        add_metadata(writer, pre, vocab)
        write(writer)
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        results["ids"][pre] = [llm.tokenize(text.encode(), add_bos=False, special=True) for text in TEXTS]
        del llm
        if pre == "smollm":
            os.remove(path)  # the tiny models carry this one
    with open(os.path.join(OUT, "tokens.json"), "w") as f:
        json.dump(results, f, ensure_ascii=False, indent=1)


def sentencepiece_fixture():
    """vocab-spm.gguf: the Llama 2-style fixture vocabulary as tokenizer.ggml.model = llama (SentencePiece): no
    merges, scores = −id (its merged tokens were numbered in merge order, as in Llama 2), <0xXX> byte tokens."""
    import llama_cpp
    source = os.path.join(ROOT, "tokenizers", "llama2")
    with open(os.path.join(source, "tokenizer.json")) as f:
        tokenizer = json.load(f)
    vocab = dict(tokenizer["model"]["vocab"])
    added = {a["id"]: a for a in tokenizer["added_tokens"]}
    for a in added.values():
        vocab[a["content"]] = a["id"]
    tokens = [None] * (max(vocab.values()) + 1)
    for token, i in vocab.items():
        tokens[i] = token
    types, scores = [], []
    for i, token in enumerate(tokens):
        if token == "<unk>":
            types.append(gguf.TokenType.UNKNOWN)
        elif i in added:
            types.append(gguf.TokenType.CONTROL if added[i]["special"] else gguf.TokenType.USER_DEFINED)
        elif token.startswith("<0x") and len(token) == 6:
            types.append(gguf.TokenType.BYTE)
        else:
            types.append(gguf.TokenType.NORMAL)
        scores.append(0.0 if types[-1] != gguf.TokenType.NORMAL else -float(i))
    path = os.path.join(OUT, "vocab-spm.gguf")
    writer = gguf.GGUFWriter(path, arch="llama")
    writer.add_context_length(64)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(True)
    write(writer)
    llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
    ids = [llm.tokenize(text.encode(), add_bos=False, special=True) for text in TEXTS]
    with_bos = llm.tokenize(TEXTS[0].encode(), add_bos=True, special=True)
    del llm
    return ids, with_bos


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rng = np.random.default_rng(23)
    quant_fixtures(rng)
    vocab = vocabulary()
    model_fixtures(rng, vocab)
    tokenizer_fixtures(vocab)
    ids, with_bos = sentencepiece_fixture()
    with open(os.path.join(OUT, "tokens.json")) as f:
        results = json.load(f)
    results["ids"]["spm"] = ids
    results["spm_with_bos"] = with_bos
    with open(os.path.join(OUT, "tokens.json"), "w") as f:
        json.dump(results, f, ensure_ascii=False, indent=1)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"{total} bytes in {OUT}")


if __name__ == "__main__":
    main()
