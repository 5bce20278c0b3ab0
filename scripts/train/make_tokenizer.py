#!/usr/bin/python3
"""Trains the demo model's tokenizer on the catalog corpus: the file set of an OPUS-MT repository.

    /usr/bin/python3 scripts/train/make_tokenizer.py [--train build/corpus/train.tsv] --out DIR

Writes source.spm (English) and target.spm (Chinese, Simplified and Traditional) - SentencePiece
unigram models - and one vocab.json shared by both in MarianTokenizer's layout (`</s>` = 0,
`<unk>` = 1, the language tokens among the first ids, `<pad>` last), plus tokenizer_config.json
and special_tokens_map.json.  The vocab layout and the JSON files are the ones the project's
fixtures write (scripts/fixtures/fixture_tokenizer.py, fixture_configs.py), so the trained model
and the test fixtures go through the same code.  Deterministic: one thread, input in file order.
"""

import argparse
import io
import os
import sys

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))

import fixture_configs  # noqa: E402
from fixture_tokenizer import build_vocab, text_pieces  # noqa: E402

SOURCE_PIECES = 6000
TARGET_PIECES = 8000
# Simplified + Traditional UI text uses ~5,000 distinct characters; the rarest 0.05 % of
# character occurrences map to <unk> rather than each taking a vocabulary entry.
TARGET_CHARACTER_COVERAGE = 0.9995


def train(lines, vocab_size, character_coverage):
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, model_type="unigram",
        vocab_size=vocab_size, character_coverage=character_coverage, byte_fallback=False,
        num_threads=1, shuffle_input_sentence=False, minloglevel=2)
    return model.getvalue()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", default=os.path.join(ROOT, "build", "corpus", "train.tsv"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    sources, targets = [], []
    with open(args.train, encoding="utf-8") as f:
        for line in f:
            _, source, target = line.rstrip("\n").split("\t")
            sources.append(source)
            targets.append(target)
    # Each English string appears once per target language: count it once.
    sources = list(dict.fromkeys(sources))
    source_model = train(sources, SOURCE_PIECES, 1.0)
    target_model = train(targets, TARGET_PIECES, TARGET_CHARACTER_COVERAGE)
    vocab = build_vocab(text_pieces(source_model), text_pieces(target_model))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "source.spm"), "wb") as f:
        f.write(source_model)
    with open(os.path.join(args.out, "target.spm"), "wb") as f:
        f.write(target_model)
    fixture_configs.write_vocab(os.path.join(args.out, "vocab.json"), vocab)
    fixture_configs.write_json(os.path.join(args.out, "tokenizer_config.json"),
                               fixture_configs.tokenizer_config(vocab))
    fixture_configs.write_json(os.path.join(args.out, "special_tokens_map.json"),
                               fixture_configs.special_tokens_map())
    print("make_tokenizer: %d source pieces, %d target pieces, vocab %d -> %s"
          % (SOURCE_PIECES, TARGET_PIECES, len(vocab), args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
