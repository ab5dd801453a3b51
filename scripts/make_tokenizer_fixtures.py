#!/usr/bin/env python3
"""Generate the Tokenizers golden fixtures (tests never run this; they read its committed output).

For each model family the project supports, train a small tokenizer with the Hugging Face `tokenizers`
library in that family's configuration (normalizer, pre-tokenizer, model options, post-processor,
decoder copied from the families' published tokenizer.json files), write it with a tokenizer_config.json
holding the family's real chat template, then record what `tokenizers` and `transformers` produce:

  Tests/Fixtures/tokenizers/<family>/tokenizer.json
  Tests/Fixtures/tokenizers/<family>/tokenizer_config.json
  Tests/Fixtures/tokenizers/<family>/goldens.json      ids, tokens, char offsets, decodes per text
  Tests/Fixtures/tokenizers/<family>/chat_goldens.json apply_chat_template(tokenize=False) outputs

Offsets are those of `tokenizers`' Python `Encoding.offsets`: [start, end) in characters (Unicode
code points) of the input str.  Nothing is downloaded.

Usage:  pip install tokenizers transformers jinja2
        python3 scripts/make_tokenizer_fixtures.py [--out Tests/Fixtures/tokenizers] [--only FAMILY ...]
"""
import argparse
import json
import os
import random

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
from tokenizers import processors, trainers

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

# A small multilingual corpus: enough to learn merges for every script the golden texts use.
CORPUS_LINES = [
    "The quick brown fox jumps over the lazy dog. The dog didn't care, it's a lazy dog.",
    "Hello world! Hello, world. How are you doing today? I'm fine, thanks; you're kind.",
    "We've trained the model and they'll evaluate it tomorrow. She'd said he'll come.",
    "Natural-language feedback turns critiques into token-level rewards for training.",
    "The summary gets the cat's name right but says the move was in May, not March.",
    "Café, déjà vu, naïve, façade, résumé, crème brûlée, Ångström, Straße, Größe, Æsir.",
    "El niño comió piñata; ¿qué pasó? ¡Olé! São Paulo, coração, ação, informação.",
    "Привет, мир! Как дела? Это тестовый текст на русском языке для токенизатора.",
    "中文测试：你好，世界！今天天气很好。我们正在训练一个分词器。人工智能和语言模型。",
    "日本語のテキスト：こんにちは、世界。カタカナとひらがなと漢字。東京は大きい都市です。",
    "한국어 텍스트: 안녕하세요 세계. 오늘은 좋은 날입니다. 토크나이저 테스트입니다.",
    "العربية: مرحبا بالعالم. هذا نص تجريبي باللغة العربية. كيف حالك اليوم؟",
    "עברית: שלום עולם. זהו טקסט לבדיקה בעברית. מה שלומך היום?",
    "हिन्दी: नमस्ते दुनिया। यह एक परीक्षण पाठ है।",
    "Emoji: 😀 😂 👍 👍🏽 ❤️ 🎉 🚀 and families 👨‍👩‍👧‍👦 👩‍💻 🏳️‍🌈 ✨ 🔥 🙂",
    "Numbers: 0 1 2 3 42 123 2024 3.14159 1,000,000 99.9% $19.99 #7 -12 +3 1e10 0x1F ١٢٣ ٤٥",
    "def f(x):\n    return x ** 2 + 1  # square plus one\n\nprint(f(3))\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "class Tokenizer:\n\tdef __init__(self, vocab):\n\t\tself.vocab = vocab\n",
    "if (a && b || !c) { return a->b[0] != nullptr; } // C++ style",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "<html><body><p class=\"x\">Hello &amp; goodbye</p></body></html>",
    "Combining marks: e\u0301 a\u0308 n\u0303 o\u0302 u\u0308\u0301 and cafe\u0301.",
    "Spaces:  two   three    four\t tab\n newline\r\n crlf   \n\n\n blank lines",
    "UPPER CASE WORDS AND Mixed Case Words and lower case words",
    "I'M SURE THEY'LL SAY WE'VE DONE IT, DON'T THEY? IT'S JOHN'S AND I'D AGREE.",
]

TEXTS = [
    "Hello world",
    "Hello, world! How are you doing today?",
    "  leading spaces, and trailing   ",
    "multiple    spaces\tand\ttabs\t\tend",
    "line one\nline two\n\n\nline five\r\nwindows\r\n",
    "Café déjà vu, naïve façade, Ångström, Straße.",
    "Combining: e\u0301 cafe\u0301 n\u0303 a\u0308\u0301 o\u0302\u0323 and \u0301 alone",
    "中文测试：你好，世界！今天天气很好。",
    "日本語のテキスト：こんにちは。한국어 텍스트: 안녕하세요",
    "Emoji 😀😂👍🏽 and ZWJ 👨‍👩‍👧‍👦 🏳️‍🌈 👩‍💻 end",
    "العربية: مرحبا بالعالم",
    "עברית: שלום עולם",
    "Mixed RTL: hello שלום world مرحبا 123",
    "Digits 1234567890 and 3.14159, 1,000,000 and ١٢٣٤",
    "def f(x):\n    return x ** 2 + 1  # comment\n",
    "for (int i = 0; i < 10; ++i) { printf(\"%d\\n\", i); }",
    "I'm sure they'll say we've done it, DON'T they? It's John's.",
    "Zero\u200bwidth space and non\u00a0breaking and ideographic\u3000space",
    "rare chars: ꙮ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃ ß ﬁ ẞ",
    "   ",
    "\n\n",
    "a",
    "",
    " unreachableword and unreachableword",
]


def byte_level_corpus():
    lines = list(CORPUS_LINES)
    rnd = random.Random(0)
    for _ in range(30):
        lines.append(" ".join(rnd.sample(CORPUS_LINES, 3)))
    return lines


def train_byte_level(tok, vocab_size, specials):
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(byte_level_corpus(), trainer=trainer)
    return tok


def family_gpt2():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    train_byte_level(tok, 900, ["<|endoftext|>"])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    tok.add_tokens([AddedToken("[SW]", single_word=True, normalized=False),
                    AddedToken("fancy", single_word=False, normalized=True)])
    specials = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
    extra = ["<|endoftext|>Hello<|endoftext|> world", "The <mask> sat.   <mask>!",
             "a [SW] b x[SW]y [SW]", "so fancy, unfancy fancy!"]
    return tok, specials, None, extra, "strings"


def family_roberta_like():
    # ByteLevel with add_prefix_space and trim_offsets (RoBERTa/BART-style byte-level BPE).
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    train_byte_level(tok, 700, ["<s>", "</s>", "<pad>"])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=True, add_prefix_space=True),
        processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                      special_tokens=[("<s>", tok.token_to_id("<s>")),
                                                      ("</s>", tok.token_to_id("</s>"))]),
    ])
    specials = {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>"}
    return tok, specials, None, ["<s>Hello</s>  spaced   out  "], "pairs"


def family_llama3():
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|reserved_special_token_2|>",
             "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
    train_byte_level(tok, 1000, [])
    # A vocab word no merge sequence reaches: only `ignore_merges` finds it.
    data = json.loads(tok.to_str())
    data["model"]["vocab"]["\u0120unreachableword"] = len(data["model"]["vocab"])
    tok = Tokenizer.from_str(json.dumps(data))
    base = tok.get_vocab_size()
    tok.add_special_tokens([AddedToken(n, special=True, normalized=False) for n in names])
    tok.decoder = decoders.ByteLevel()
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A:0 <|begin_of_text|>:1 $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    assert base > 0
    specials = {"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}
    extra = ["<|start_header_id|>user<|end_header_id|>\n\nHi there!<|eot_id|>",
             "text<|eot_id|><|eot_id|> and <|begin_of_text|>again"]
    return tok, specials, "llama-3.2-instruct.jinja", extra, "pairs"


def family_qwen2():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
    ])
    train_byte_level(tok, 1000, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.add_tokens([AddedToken("café", normalized=True)])
    specials = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"}
    extra = ["<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
             "un cafe\u0301 et un café", "<|endoftext|>"]
    return tok, specials, "qwen2.5-instruct.jinja", extra, "pairs"


def family_smollm():
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ])
    train_byte_level(tok, 900, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    specials = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>",
                "unk_token": "<|endoftext|>"}
    extra = ["<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\n12345<|im_end|>"]
    return tok, specials, "smollm2-instruct.jinja", extra, "pairs"


def train_sentencepiece_bpe(vocab_size, byte_fallback, limit_alphabet):
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=byte_fallback, fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=["<unk>", "<s>", "</s>"],
                                  limit_alphabet=limit_alphabet, show_progress=False)
    tok.train_from_iterator(byte_level_corpus(), trainer=trainer)
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    ordered = ["<unk>", "<s>", "</s>"]
    if byte_fallback:
        ordered += ["<0x%02X>" % b for b in range(256)]
    ordered += [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]) if t not in ("<unk>", "<s>", "</s>")]
    data["model"]["vocab"] = {t: i for i, t in enumerate(ordered)}
    for added in data["added_tokens"]:
        added["id"] = data["model"]["vocab"][added["content"]]
    return data


def sentencepiece_legacy(data, byte_fallback):
    """Llama 2 / TinyLlama tokenizer.json layout: Prepend+Replace normalizer, no pre-tokenizer."""
    data["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    data["pre_tokenizer"] = None
    steps = [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}]
    if byte_fallback:
        steps.append({"type": "ByteFallback"})
    steps += [{"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]
    data["decoder"] = {"type": "Sequence", "decoders": steps}
    return data


def with_bos_template(data):
    bos = data["model"]["vocab"]["<s>"]
    data["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {"<s>": {"id": "<s>", "ids": [bos], "tokens": ["<s>"]}}}
    return data


def family_llama2():
    data = with_bos_template(sentencepiece_legacy(train_sentencepiece_bpe(800, True, 120), True))
    tok = Tokenizer.from_str(json.dumps(data))
    tok.add_tokens([AddedToken("<|user|>", normalized=False, special=False),
                    AddedToken("<|assistant|>", normalized=False, special=False),
                    AddedToken("<|system|>", normalized=False, special=False)])
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    extra = ["<s>Hello</s> world <s> again", "<|user|>\nHi!</s>\n<|assistant|>\nHello.</s>",
             " starts with space", "ends with </s>"]
    return tok, specials, "tinyllama-chat-v1.0.jinja", extra, "strings"


def family_mistral():
    data = with_bos_template(train_sentencepiece_bpe(800, True, 120))
    data["normalizer"] = None
    data["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    data["decoder"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False}
    tok = Tokenizer.from_str(json.dumps(data))
    tok.add_special_tokens([AddedToken("[INST]", special=True, normalized=False),
                            AddedToken("[/INST]", special=True, normalized=False)])
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    extra = ["[INST] What is 2+2? [/INST] 4</s>[INST] and 3+3?[/INST]", "<s>[INST]hi[/INST]"]
    return tok, specials, "mistral-7b-instruct-v0.3.jinja", extra, "pairs"


def family_sp_unk():
    # SentencePiece-style BPE without byte fallback: unknown characters become (fused) <unk>.
    data = with_bos_template(sentencepiece_legacy(train_sentencepiece_bpe(500, False, 60), False))
    tok = Tokenizer.from_str(json.dumps(data))
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    return tok, specials, None, ["ÿÿÿ unknown ꙮꙮ run"], "pairs"


# Control bytes a real vocabulary may lack (SmolLM2's has no token for these): with no unknown token and no byte
# fallback, `tokenizers` drops them, and the offsets of the tokens after one inside the same word are counted as
# if it were not there (shifted left by its length).
MISSING_BYTES = [0x04, 0x06, 0x13, 0x14, 0x16, 0x1D]


def without_tokens(tok, missing):
    """The tokenizer with the given vocabulary entries, and every merge that needs one, removed (ids kept)."""
    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    for token in missing:
        vocab.pop(token, None)

    def keeps(merge):
        parts = merge.split(" ") if isinstance(merge, str) else merge
        return all(part in vocab for part in parts) and "".join(parts) in vocab

    data["model"]["merges"] = [m for m in data["model"]["merges"] if keeps(m)]
    return Tokenizer.from_str(json.dumps(data))


def byte_level_char(byte):
    """The character GPT-2's byte-level alphabet maps `byte` to."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    if byte in printable:
        return chr(byte)
    return chr(256 + [b for b in range(256) if b not in printable].index(byte))


def dropped_texts(characters):
    """Texts with characters the vocabulary lacks at the start, middle and end of words, seeded."""
    rnd = random.Random(7)
    pieces = ["a", "b", "c", " ", "  ", "é", "ö", "1", "23", ".", "!", "\t", "中", "😀", "Hello", " world", "'s",
              "n't"] + characters
    texts = ["ab\x04cd efg\x06h", "\x13\x13  \t23cc\x1d!.", "héllo\x04 wörld", "1b\x14!.ö\x16", "\x04"]
    texts += ["".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))) for _ in range(150)]
    return texts


def family_smollm_missing_bytes():
    tok, specials, _, _, merges_form = family_smollm()
    tok = without_tokens(tok, [byte_level_char(b) for b in MISSING_BYTES])
    return tok, specials, None, dropped_texts([chr(b) for b in MISSING_BYTES]), merges_form


def family_sp_drop():
    # SentencePiece-style BPE with neither byte fallback nor an unknown token: unknown characters are dropped.
    data = json.loads(family_sp_unk()[0].to_str())
    data["model"]["unk_token"] = None
    tok = without_tokens(Tokenizer.from_str(json.dumps(data)), ["é", "ö"])
    specials = {"bos_token": "<s>", "eos_token": "</s>"}
    return tok, specials, None, dropped_texts(["ꙮ", "ÿ", "é"]), "pairs"


FAMILIES = {
    "gpt2": family_gpt2,
    "roberta-like": family_roberta_like,
    "llama3": family_llama3,
    "qwen2": family_qwen2,
    "smollm": family_smollm,
    "llama2": family_llama2,
    "mistral": family_mistral,
    "sp-unk": family_sp_unk,
    "smollm-missing-bytes": family_smollm_missing_bytes,
    "sp-drop": family_sp_drop,
}

CONVERSATIONS = [
    ([{"role": "user", "content": "Hello!"}], True),
    ([{"role": "user", "content": "Hello!"}], False),
    ([{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"},
      {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}], True),
    ([{"role": "system", "content": "  Be kind.  "}, {"role": "user", "content": " spaced  content \n"},
      {"role": "assistant", "content": "  answer with spaces  "}], False),
    ([{"role": "user", "content": "Café 😀 中文 \"quotes\" {braces} {{ not jinja }}"},
      {"role": "assistant", "content": "Réponse: ✓"}], True),
    ([{"role": "user", "content": "one"}, {"role": "user", "content": "two"}], True),
    ([{"role": "assistant", "content": "I start."}, {"role": "user", "content": "ok"}], False),
]


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


def encode_record(tok, text):
    rec = {"text": text}
    for special in (True, False):
        enc = tok.encode(text, add_special_tokens=special)
        key = "with_special" if special else "without_special"
        rec[key] = {"ids": enc.ids, "tokens": enc.tokens, "offsets": [list(o) for o in enc.offsets]}
    ids = rec["with_special"]["ids"]
    rec["decode"] = tok.decode(ids, skip_special_tokens=False)
    rec["decode_skip_special"] = tok.decode(ids, skip_special_tokens=True)
    return rec


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(here, "..", "Tests", "Fixtures", "tokenizers"))
    parser.add_argument("--only", nargs="*", help="the families to write (default: all)")
    args = parser.parse_args()
    templates_dir = os.path.join(args.out, "templates")
    from transformers import PreTrainedTokenizerFast

    for name, make in FAMILIES.items():
        if args.only and name not in args.only:
            continue
        tok, specials, template_file, extra_texts, merges_form = make()
        out = os.path.join(args.out, name)
        os.makedirs(out, exist_ok=True)
        data = json.loads(tok.to_str())
        if merges_form == "strings":  # the older "a b" merges form, still found in many files
            data["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in data["model"]["merges"]]
        tok = Tokenizer.from_str(json.dumps(data))
        with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
            f.write(json.dumps(data, ensure_ascii=False))
        config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 4096,
                  "clean_up_tokenization_spaces": False, **specials}
        if template_file:
            with open(os.path.join(templates_dir, template_file), encoding="utf-8") as f:
                config["chat_template"] = f.read()
        write_json(os.path.join(out, "tokenizer_config.json"), config)

        records = [encode_record(tok, t) for t in TEXTS + extra_texts]
        long_text = "\n".join(CORPUS_LINES)
        records.append(encode_record(tok, long_text))
        write_json(os.path.join(out, "goldens.json"), {"family": name, "records": records})

        if template_file:
            hf = PreTrainedTokenizerFast.from_pretrained(out)
            chats = []
            for messages, gen in CONVERSATIONS:
                rec = {"messages": messages, "add_generation_prompt": gen}
                try:
                    rec["output"] = hf.apply_chat_template(messages, tokenize=False, add_generation_prompt=gen,
                                                           date_string="26 Nov 2026")
                except Exception as e:  # raise_exception in the template
                    rec["error"] = str(e)
                chats.append(rec)
            write_json(os.path.join(out, "chat_goldens.json"), {"family": name, "template": template_file,
                                                                "date_string": "26 Nov 2026", "chats": chats})
        print(name, "vocab", tok.get_vocab_size(), "records", len(records))


if __name__ == "__main__":
    main()
