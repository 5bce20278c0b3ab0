#!/usr/bin/env python3
"""Writes tokenizer conformance cases for one Marian model directory.

    make_tokenizer_cases.py --model DIR --out FILE.json [--seed N]

The expected values come from scripts/fixtures/marian_tokenizer.py (a re-implementation of
transformers' MarianTokenizer checked against transformers' own output in
../shared/models/marian-tiny/reference.json). Output (deterministic for a given model + seed):

{
  "model": DIR, "seed": N, "eos_id": .., "unk_id": .., "pad_id": .., "vocab_size": ..,
  "language_tokens": [...],
  "encode_cases": [{"kind": str, "text": str, "ids": [int], "pieces": [str], "decoded": str,
                    "target_ids": [int]}],   (target_ids: encode_target, a forced prefix's ids)
  "decode_cases": [{"kind": str, "ids": [int], "text": str}]
}
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))

from marian_tokenizer import MarianTokenizer  # noqa: E402

SENTENCES = [
    "Hello world.",
    "The file could not be opened.",
    "No such file or directory",
    "What time is it?",
    "Save changes to the document before closing?",
    "The quick brown fox jumps over the lazy dog.",
    "I don't think it's ready, isn't it?",
    "We're sure you've seen what I'm doing.",
    "She said: 'yes' , and left .",
    "Press any key to continue ...",
    "An error occurred while loading the page !",
    "Copy 3 files (12.5 MB) to /tmp/backup?",
]

FRAGMENTS = {
    "ascii": ["hello", "world", "file", "cannot", "open", "the", "of", "and", "directory", "Error"],
    "punct": [".", ",", "!", "?", ";", ":", "...", "'", '"', "(", ")", "[", "]", "-", "--", "/", "\\", "@", "#", "%", "&", "*"],
    "digits": ["0", "1", "42", "3.14159", "-7", "1,000,000", "2023-12-18", "12:30", "v4.36.2", "0x1F"],
    "emoji": ["🍕", "👍", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇫🇷", "😀😃😄", "🧑🏿‍💻", "☕"],
    "cjk": ["这是中文", "简体字", "繁體字", "漢語", "中华人民共和国", "学习", "電腦", "你好，世界！"],
    "japanese": ["こんにちは", "カタカナ", "日本語の文章です。", "ｶﾀｶﾅ", "東京"],
    "korean": ["안녕하세요", "한국어", "세계"],
    "arabic": ["مرحبا بالعالم", "العربية", "٣٤٥"],
    "hebrew": ["שלום עולם", "עברית"],
    "cyrillic": ["Привет мир", "Ёлка", "щука"],
    "greek": ["Ωμέγα", "αβγδ", "Καλημέρα"],
    "accents_nfc": ["café", "naïve", "résumé", "façade", "Ünïcödé", "Ångström", "señor"],
    "accents_nfd": ["cafe\u0301", "nai\u0308ve", "re\u0301sume\u0301", "U\u0308ni\u0308co\u0308de\u0301", "n\u0303"],
    "unknown": ["¤", "§", "¶", "∑", "∫", "√", "∞", "≠", "ꙮ", "𓀀", "\u2603", "\U0001F9EC", "\u0f3a"],
    "space": [" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "\u2009", "\u200b"],
    "lang": [">>cmn_Hans<<", ">>cmn_Hant<<", ">>yue<<", ">>xx<<", ">>fr<<"],
    "special": ["</s>", "<unk>", "<pad>"],
}


def handcrafted() -> list[tuple[str, str]]:
    cases: list[tuple[str, str]] = []
    add = lambda kind, text: cases.append((kind, text))  # noqa: E731

    # empty / whitespace
    add("empty", "")
    for ws in [" ", "  ", "     ", "\t", "\n", "\r\n", " \t \n ", "\u00a0", "\u3000", "\u2009\u200a", "\u200b", "\n\n\n"]:
        add("whitespace_only", ws)
    add("whitespace", "  leading and trailing   spaces  ")
    add("whitespace", "a" + " " * 50 + "b")
    add("tab_newline", "Tabs\tand\nnewlines\ninside")
    add("tab_newline", "line one\r\nline two\rline three\n")
    add("tab_newline", "\tindented\n\t\tmore")
    # plain sentences
    for s in SENTENCES:
        add("sentence", s)
    add("single_char", "a")
    add("single_char", "A")
    add("single_char", ".")
    # punctuation and clean-up rules
    for s in ["?!.,;:", "!!!", "...", "' '", " ' ", "a ' b", "don 't", "I 'm", "it 's", "we 've", "they 're",
              "can n't", "Hello , world .", "Why ?", "Wow !", "\"quoted\"", "(parenthesised)", "[x] {y} <z>",
              "a-b_c+d=e", "50% off & more", "C:\\path\\to\\file", "<<not a tag>>", "a << b >> c"]:
        add("punctuation", s)
    # numbers
    for s in ["1 2 3 4 5 6 7 8 9 10", "Version 4.36.2 was released on 2023-12-18.", "3.14159265358979",
              "1,234,567.89", "+49 (0)30 1234-5678", "0xDEADBEEF", "１２３", "½ ¾ ⅓", "²³", "Ⅻ"]:
        add("numbers", s)
    # emoji
    for s in ["I love pizza 🍕🍕 and coffee ☕! 👍🏽", "👨‍👩‍👧‍👦", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🏳️‍🌈 pride", "🇫🇷🇩🇪🇯🇵",
              "🧑🏿‍💻 writes code", "❤️❤️❤️", "😀", "a😀b", "emoji at the end 🎉"]:
        add("emoji", s)
    # scripts
    for kind in ["cjk", "japanese", "korean", "arabic", "hebrew", "cyrillic", "greek"]:
        for s in FRAGMENTS[kind]:
            add(kind, s)
    add("cjk", "这是中文 mixed with English")
    add("cjk", "簡體與繁體：汉语／漢語")
    add("arabic", "Hello مرحبا world")
    add("hebrew", "abc שלום def")
    add("cyrillic", "Ωμέγα and Привет мир")
    # accents
    for s in FRAGMENTS["accents_nfc"] + FRAGMENTS["accents_nfd"]:
        add("accents", s)
    add("accents", "Ünïcödé naïve café résumé façade")
    add("accents", "Unicode: cafe\u0301 vs café")
    # unknown to the spm
    add("unknown_symbols", "¤ § ¶ ∑ ∫ √ ∞ ≠ ≤")
    add("unknown_symbols", "ꙮ𓀀\u2603")
    add("unknown_symbols", "control\x07bell and \x1b escape")
    add("unknown_symbols", "nul\x00inside")
    add("unknown_symbols", "zero\u200bwidth\u200djoiner\ufeffbom")
    add("unknown_symbols", "private \ue000 use \U000F0000")
    add("unknown_symbols", "\U0010FFFF max code point")
    add("unknown_symbols", "\ufffd replacement")
    add("compat", "ｆｕｌｌｗｉｄｔｈ ﬁ ligature")
    # language tags
    add("lang_tag", ">>cmn_Hans<< Hello world.")
    add("lang_tag", ">>cmn_Hant<< The file could not be opened.")
    add("lang_tag", ">>cmn_Hans<<Hello")  # no space after the tag
    add("lang_tag", ">>cmn_Hans<<")
    add("lang_tag", ">>cmn_Hans<< ")
    add("lang_tag", ">>xx<< unknown language")
    add("lang_tag", ">>fr<<Bonjour")
    add("lang_tag", "Hello >>cmn_Hans<< world")  # in the middle: removed, not kept
    add("lang_tag", "  >>cmn_Hans<< leading space")
    add("lang_tag", ">>cmn_Hans<< a >>cmn_Hant<< b")  # greedy: one token up to the last <<
    add("lang_tag", ">>cmn_Hans<<>>cmn_Hant<< two tags")
    add("lang_tag", ">><< empty tag")
    add("lang_tag", ">>><< odd")
    add("lang_tag", ">>a<<< triple")
    add("lang_tag", ">>cmn_Hans <<")
    add("lang_tag", ">>\n<< newline inside")
    add("lang_tag", ">>cmn_Hans<<\n>>cmn_Hant<< two lines")
    add("lang_tag", "first line\n>>yue<< second line")
    add("lang_tag", ">>cmn_Hans<< 这是中文")
    add("lang_tag", ">>cmn_Hans<</s>")
    add("lang_tag", "</s>>>cmn_Hans<< after eos")
    add("lang_tag", ">> not a tag")
    add("lang_tag", "not a tag <<")
    add("lang_tag", ">>Ωμέγα<< greek code")
    # special token strings inside the text
    for s in ["</s>", "<unk>", "<pad>", "hello </s> world", "hi</s>there<unk>", "<pad><pad>", "</s></s>",
              "a<unk>b", "< /s>", "</s", "<unk >", "text<pad>"]:
        add("special_in_text", s)
    # long
    long_sentence = " ".join(SENTENCES)
    add("long", long_sentence * 5)
    add("very_long", (long_sentence + " ") * 40)  # ~ 20k chars
    add("very_long", "a" * 5000)
    add("very_long", "这是中文" * 800)
    add("very_long", "👍🏽" * 1000)
    add("very_long", " " * 3000 + "x" + " " * 3000)
    add("very_long", ("word " * 2000).strip())
    add("very_long", "Ünïcödé " * 500)
    add("very_long", ">>cmn_Hans<< " + "Hello world. " * 400)
    return cases


def random_mixes(rng: random.Random, n: int) -> list[tuple[str, str]]:
    kinds = sorted(FRAGMENTS)
    seps = ["", " ", " ", " ", "  ", "\t", "\n", ", ", ". "]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            kind = rng.choice(kinds)
            parts.append(rng.choice(FRAGMENTS[kind]))
            parts.append(rng.choice(seps))
        text = "".join(parts)
        if rng.random() < 0.2:
            text = rng.choice(FRAGMENTS["lang"]) + rng.choice(["", " "]) + text
        out.append(("random_mix", text))
    return out


def decode_cases(tok: MarianTokenizer, rng: random.Random, n_random: int) -> list[dict]:
    specials = sorted(tok.all_special_ids)
    ids_in_vocab = sorted(tok.decoder)
    cases = []
    cases.append({"kind": "empty", "ids": []})
    cases.append({"kind": "only_specials", "ids": [tok.pad_id, tok.eos_id]})
    cases.append({"kind": "only_specials", "ids": [tok.pad_id, tok.unk_id, tok.unk_id, tok.eos_id, tok.pad_id]})
    # every id on its own: each piece's detokenisation
    for i in ids_in_vocab:
        cases.append({"kind": "single_id", "ids": [i]})
    for _ in range(n_random):
        length = rng.randint(1, 60)
        ids = []
        for _ in range(length):
            if rng.random() < 0.15:
                ids.append(rng.choice(specials))
            else:
                ids.append(rng.choice(ids_in_vocab))
        if rng.random() < 0.5:
            ids = [tok.pad_id] + ids  # as generate() returns them: decoder start first
        if rng.random() < 0.5:
            ids.append(tok.eos_id)
        cases.append({"kind": "random", "ids": ids})
    for case in cases:
        case["text"] = tok.decode(case["ids"])
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()

    tok = MarianTokenizer(args.model)
    rng = random.Random(args.seed)
    texts = handcrafted() + random_mixes(rng, 160)
    encode_cases = []
    for kind, text in texts:
        ids = tok.encode(text)
        encode_cases.append({"kind": kind, "text": text, "ids": ids, "pieces": tok.pieces(text),
                             "decoded": tok.decode(ids), "target_ids": tok.encode_target(text)})
    doc = {
        "model": str(args.model),
        "seed": args.seed,
        "eos_id": tok.eos_id,
        "unk_id": tok.unk_id,
        "pad_id": tok.pad_id,
        "vocab_size": tok.vocab_size,
        "language_tokens": tok.language_tokens(),
        "encode_cases": encode_cases,
        "decode_cases": decode_cases(tok, rng, 300),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    tmp.replace(args.out)
    print(f"{args.out}: {len(encode_cases)} encode cases, {len(doc['decode_cases'])} decode cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
