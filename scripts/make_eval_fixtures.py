#!/usr/bin/env python3
"""Writes the ROUGE and BLEU reference numbers the Evaluation tests match (Tests/Fixtures/eval/metrics.json).

Never run by the tests: run it by hand after `pip install rouge-score nltk sacrebleu`.
It builds a few hundred (prediction, references) pairs from a fixed seed — plain ASCII, punctuation-heavy
text, numbers, hyphens, HTML entities, Unicode (accents, Greek, CJK, emoji, odd spaces, the two characters
that lower-case into ASCII), empty and blank strings, multi-sentence and multi-line text with CRLF and blank
lines, one to three references — and records, for each pair:

- `rouge_score.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"])` without and with `use_stemmer`
  (`score` for one reference, `score_multi` for several), as [precision, recall, fmeasure];
- `sacrebleu.sentence_bleu` with each smoothing method (effective order on, the default) and `exp` without
  effective order, plus the default call's sufficient statistics;

and corpus BLEU over all pairs for several option sets (smoothing, smoothing values, effective order,
lower-casing, one reference stream or all of them with gaps), each with its signature string. It also stores
NLTK's PorterStemmer output for a word list that walks every rule, and the 13a tokenizer's output for the
hardest strings, so a mismatch can be traced to its stage.
"""
import json
import os
from importlib import metadata
import random
import sys

import sacrebleu
from nltk.stem import porter
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "Fixtures", "eval", "metrics.json")
ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]

# Words that exercise the Porter rules (and NLTK's extensions and irregular forms).
STEM_WORDS = """
caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized hopping
tanned falling hissing fizzed failing filing happy sky skies dying lying tying news innings inning outings
outing cannings canning howe proceed exceed succeed proceeding exceeded relational conditional rational
valenci hesitanci digitizer conformabli radicalli differentli vileli analogousli vietnamization predication
operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate
formative formalize electriciti electrical hopeful goodness revival allowance inference airliner gyroscopic
adjustable defensible irritant replacement adjustment dependent adoption homologou communism activate
angulariti homologous effective bowdlerize probate rate cease controll roll generalizations oscillators
spied tried flies cried dies ies eed ied bies enjoy enjoyment spy fly try yyyy syzygy toy abaya yelling
played playing saying says buyer anthropology theology apology archaeology fulli beautifulli hopefulli
generously generously' universal university universities organization organizational organizing
happiness happily running runner ran runs international internationalization nationalities rationalize
cooking cooked cookies agreement disagreeable measurement measurements documentation documented
abilities ability probability probabilities sensational sensationalism conditioning conditioned
feeds needed bleeding breeding proceeded succeeded agreed disagreed guaranteed
hoping hopped hoped hope hopes filed files filing fil fail failed
sensible sensibility responsibility responsible irresponsibility terrible terribly possibly possible
nationally radically musically basically logically magically tragically
conformable conformably comfortable comfortably considerable considerably
triplicate duplicated replicating fabricated fabrication
electric electricity electrician electronic electronics
activeness effectiveness attractiveness restlessness carelessness helplessness
analyses analysis analyzing analyzed paralyzed realizing realized
a i an as is it at be by go no so to up we of on or
ab ba ox ax aye eye eyes bye byes dye dyed dyeing
caress' 12345 2019s 3ds a1b2c3 covid19 mp3s 4th 21st
""".split()

BASE_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Mia moved to Lisbon in March with her cat Pico.",
    "The committee approved the new budget after a long debate.",
    "Researchers found that running improves memory in older adults.",
    "He said the meeting was postponed until next Thursday.",
    "The company's profits rose 12.5% in the third quarter, beating forecasts.",
    "After three years abroad, she returned home and opened a small bakery.",
    "The hikers were rescued by helicopter late on Sunday night.",
    "Prices of 1,000 items increased by $2.50 on average in 2023.",
    "A state-of-the-art facility will open in mid-2025, officials said.",
    "My roommate keeps leaving dirty dishes in the sink and I don't know what to do.",
    "I (24F) have been dating my boyfriend (26M) for two years; he wants to move in.",
    "The generalization of these organizational principles is conditionally accepted.",
    "Relational databases store happiness and sadness in normalized tables.",
    "They were hopping, skipping and running through the flowering meadows.",
    "Is this the real life? Is this just fantasy?",
    "Call me at 555-1234 or e-mail me at someone@example.com!",
    "The temperature dropped to -5 degrees overnight; roads were icy.",
    "We need 3-4 volunteers for the 10-year-old's birthday party.",
    "Version 2.0.1 fixes bugs in the parser, the tokenizer and the CLI.",
]

UNICODE_SENTENCES = [
    "Café au lait costs €3.50 in Zürich — naïve tourists pay more.",
    "İstanbul and Kelvin (\u212a) are tricky for lower-casing.",
    "ΟΔΥΣΣΕΥΣ σοφός: the Greek final sigma ΣΟΦΟΣ.",
    "中文的句子没有空格，但是有标点。",
    "Emoji 😀 and flags 🇵🇹 sit between words 👍 here.",
    "Non\u00a0breaking\u3000spaces\u2028and\u0085odd\u001cseparators.",
    "Combining e\u0301 accents and decomposed n\u0303 tildes.",
    "Straße, groß, and the ß in Fußball.",
    "Ångström units: Å and Å are the same letter?",
    "Tab\tseparated\tvalues\tand\u2003em spaces.",
    "Đặng Thị Hồng sống ở Hà Nội.",
    "Привет, мир! Это тест.",
    "١٢٣ Arabic digits and ４５６ full-width digits.",
]

PUNCT_SENTENCES = [
    "Wait... what?!! No way -- really???",
    "&quot;Quoted&quot; text &amp; entities &lt;b&gt;bold&lt;/b&gt; &amp;lt;",
    "<skipped> lines are dropped <skipped>by 13a.",
    "Hyphen-\nated words across line-\nbreaks.",
    "Numbers: 3.14, 2,718 and 1.000,5; ranges 5-10, 20 - 30 and -7.",
    "(a) [b] {c} <d> \"e\" 'f' `g` ~h~ ^i^ _j_ |k| \\l\\ @m #n $o %p &q *r +s =t",
    "End with a period . And a comma , here",
    "U.S.A. and e.g. and i.e., etc.",
    "Mr. O'Neil's dog--a collie--barked.",
    "::: ;;; ,,, ... !!! ???",
    "1.5.2023, 12:30pm, 100%, #1, $5.",
]

SYNONYMS = {
    "quick": "fast", "lazy": "sleepy", "moved": "relocated", "approved": "passed", "long": "lengthy",
    "found": "discovered", "improves": "boosts", "postponed": "delayed", "rose": "climbed",
    "small": "tiny", "rescued": "saved", "increased": "grew", "open": "launch", "dirty": "filthy",
    "dating": "seeing", "running": "jogging", "dropped": "fell", "fixes": "repairs", "new": "fresh",
}


def perturb(rng, text):
    """A prediction made from a reference: dropped, swapped, replaced, repeated or re-cased words."""
    words = text.split(" ")
    ops = rng.randint(1, 4)
    for _ in range(ops):
        if not words:
            break
        kind = rng.choice(["drop", "swap", "synonym", "repeat", "case", "punct", "keep"])
        i = rng.randrange(len(words))
        if kind == "drop" and len(words) > 1:
            del words[i]
        elif kind == "swap" and len(words) > 1:
            j = rng.randrange(len(words))
            words[i], words[j] = words[j], words[i]
        elif kind == "synonym":
            words[i] = SYNONYMS.get(words[i].lower().strip(".,;!?"), words[i])
        elif kind == "repeat":
            words.insert(i, words[i])
        elif kind == "case":
            words[i] = words[i].upper() if rng.random() < 0.5 else words[i].lower()
        elif kind == "punct":
            words[i] = words[i] + rng.choice([",", ".", "!", " -", "'s", "...", ";"])
    return " ".join(words)


def handmade_pairs():
    """Edge cases written out: empty and blank strings, identical texts, no overlap, line structure."""
    return [
        ("", [""]),
        ("", ["The reference is not empty."]),
        ("The prediction is not empty.", [""]),
        ("   ", ["  \n  "]),
        ("\n\n", ["a\n\nb"]),
        ("identical text here", ["identical text here"]),
        ("completely different", ["nothing in common whatsoever"]),
        ("the the the the", ["the cat sat on the mat"]),
        ("cat", ["cat"]),
        ("a b", ["a b c d e"]),
        ("a b c d e f g h i j", ["a b c"]),
        ("First line.\nSecond line here.\nThird.", ["First line.\nThird.\nSecond line here."]),
        ("One sentence only.", ["First sentence.\nSecond sentence.\nOne sentence only."]),
        ("Line one\r\nLine two\r\n", ["Line one\nLine two"]),
        ("police killed the gunman", ["police kill the gunman", "the gunman was shot dead by police"]),
        ("the gunman police killed", ["police killed the gunman", "gunman killed", "police"]),
        ("multiple\n\nblank\n\n\nlines between", ["multiple blank lines\nbetween"]),
        ("!!! ??? ...", ["!!! ??? ..."]),
        ("123 456 7890", ["123 456 789"]),
        ("caresses ponies agreed plastered motoring", ["caress poni agre plaster motor"]),
        ("generalizations relational conditional", ["general relate condition"]),
        ("İ K \u212a", ["i k"]),
        ("ab-cd ef_gh ij.kl", ["ab cd ef gh ij kl"]),
        ("The cat.", ["The cat .", "the cat"]),
        ("Hello,world", ["Hello , world"]),
        ("x", ["x x x x x x x x x x x x"]),
        ("a a a a a b b b", ["a b a b a b"]),
        ("\t\t", ["\t"]),
        ("<skipped>", ["<skipped>"]),
        ("&amp;", ["&"]),
    ]


def generated_pairs(rng, count):
    pools = [BASE_SENTENCES, UNICODE_SENTENCES, PUNCT_SENTENCES]
    pairs = []
    for index in range(count):
        pool = pools[0] if index % 3 == 0 else rng.choice(pools)
        sentences = rng.sample(pool, rng.randint(1, min(4, len(pool))))
        joiner = rng.choice([" ", "\n", " ", "\n", "\r\n", "  "])
        reference = joiner.join(sentences)
        shape = rng.random()
        if shape < 0.75:
            parts = [perturb(rng, s) for s in sentences if rng.random() < 0.85]
            prediction = rng.choice([" ", "\n"]).join(parts)
        elif shape < 0.9:
            prediction = perturb(rng, rng.choice(BASE_SENTENCES))
        else:
            prediction = reference
        references = [reference]
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            references.append(" ".join(perturb(rng, s) for s in sentences))
        pairs.append((prediction, references))
    return pairs


def rouge_numbers(scorer, prediction, references):
    if len(references) == 1:
        scores = scorer.score(references[0], prediction)
    else:
        scores = scorer.score_multi(references, prediction)
    return {k: [scores[k].precision, scores[k].recall, scores[k].fmeasure] for k in ROUGE_TYPES}


def sentence_numbers(prediction, references):
    out = {}
    for method in ["exp", "floor", "add-k", "none"]:
        out[method] = sacrebleu.sentence_bleu(prediction, references, smooth_method=method).score
    out["exp_no_eff"] = sacrebleu.sentence_bleu(
        prediction, references, smooth_method="exp", use_effective_order=False).score
    return out


def corpus_runs(pairs):
    hypotheses = [p for p, _ in pairs]
    first = [[refs[0] for _, refs in pairs]]
    depth = max(len(refs) for _, refs in pairs)
    every = [[refs[k] if k < len(refs) else None for _, refs in pairs] for k in range(depth)]
    options = [
        ("exp", {}, "first"),
        ("floor", {"smooth_method": "floor"}, "first"),
        ("floor-0.3", {"smooth_method": "floor", "smooth_value": 0.3}, "first"),
        ("add-k", {"smooth_method": "add-k"}, "first"),
        ("add-k-2", {"smooth_method": "add-k", "smooth_value": 2}, "first"),
        ("none", {"smooth_method": "none"}, "first"),
        ("effective-order", {"effective_order": True}, "first"),
        ("lowercase", {"lowercase": True}, "first"),
        ("all-references", {}, "all"),
        ("all-references-lowercase-floor", {"lowercase": True, "smooth_method": "floor"}, "all"),
    ]
    runs = []
    for name, kwargs, streams in options:
        metric = BLEU(**kwargs)
        score = metric.corpus_score(hypotheses, first if streams == "first" else every)
        runs.append({
            "name": name, "options": kwargs, "references": streams, "score": score.score,
            "precisions": score.precisions, "bp": score.bp, "sys_len": score.sys_len, "ref_len": score.ref_len,
            "signature": str(metric.get_signature()),
        })
    # A short corpus (the first 12 pairs) so a small change in one pair cannot hide in the average.
    metric = BLEU()
    score = metric.corpus_score(hypotheses[:12], [[refs[0] for _, refs in pairs[:12]]])
    runs.append({
        "name": "first-12", "options": {}, "references": "first", "limit": 12, "score": score.score,
        "precisions": score.precisions, "bp": score.bp, "sys_len": score.sys_len, "ref_len": score.ref_len,
        "signature": str(metric.get_signature()),
    })
    return runs


def main():
    rng = random.Random(20260512)
    pairs = handmade_pairs() + generated_pairs(rng, 270)
    plain = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=False)
    stemmed = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    stats_metric = BLEU(effective_order=True)
    records = []
    for prediction, references in pairs:
        stats = stats_metric._extract_corpus_statistics([prediction], [[r] for r in references])[0]
        records.append({
            "prediction": prediction, "references": references,
            "rouge": rouge_numbers(plain, prediction, references),
            "rouge_stemmed": rouge_numbers(stemmed, prediction, references),
            "sentence_bleu": sentence_numbers(prediction, references),
            "bleu_stats": [int(x) for x in stats],
        })
    stemmer = porter.PorterStemmer()
    tokenizer = Tokenizer13a()
    tokenized = [s for s in PUNCT_SENTENCES + UNICODE_SENTENCES + BASE_SENTENCES]
    fixture = {
        "generator": "scripts/make_eval_fixtures.py",
        "versions": {
            "python": sys.version.split()[0], "rouge-score": metadata.version("rouge-score"),
            "nltk": metadata.version("nltk"), "sacrebleu": metadata.version("sacrebleu"),
        },
        "stems": [[w, stemmer.stem(w)] for w in STEM_WORDS],
        "tokenized_13a": [[s, tokenizer(s.rstrip())] for s in tokenized],
        "pairs": records,
        "corpus": corpus_runs(pairs),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as handle:
        json.dump(fixture, handle, ensure_ascii=False, separators=(",", ":"))
        handle.write("\n")
    print(f"wrote {OUT}: {len(records)} pairs, {len(fixture['stems'])} stems, {len(fixture['corpus'])} corpus runs, "
          f"{os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
