#!/usr/bin/python3
"""Writes a training checkpoint as a Hugging Face model directory, the files save_pretrained and
MarianTokenizer.save_pretrained write for an OPUS-MT model:

    /usr/bin/python3 scripts/train/export.py --checkpoint build/train/run1/checkpoint.pt \
        --tokenizer build/train/tokenizer --out models/catalogs-en-zh [--dtype float16]

model.safetensors (MarianMTModel's state_dict names; the tied embed_tokens / lm_head copies left
out as save_pretrained leaves them out; the sinusoidal position tables kept in float32, they are
not learned), config.json, generation_config.json, source.spm, target.spm, vocab.json,
tokenizer_config.json, special_tokens_map.json.  scripts/fixtures/make_trained_model.py turns the
directory into ONNX graphs.
"""

import argparse
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))

import fixture_configs  # noqa: E402
import safetensors_file  # noqa: E402
from train import Marian  # noqa: E402

TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json", "special_tokens_map.json")
# Trained on pairs of at most 48 tokens a side: a generation cap well above that but far below
# opus-mt's 512 keeps a runaway output (a repeated token) short.
MAX_LENGTH = 128


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--dtype", choices=("float16", "float32"), default="float16")
    args = parser.parse_args()
    state = torch.load(args.checkpoint)
    config = dict(state["config"])
    config["max_length"] = MAX_LENGTH
    model = Marian(config)
    model.load_state_dict(state["model"])
    tensors = model.state_dict_hf()
    for name in list(tensors):
        if "embed_positions" not in name:
            tensors[name] = tensors[name].astype(args.dtype)
    os.makedirs(args.out, exist_ok=True)
    safetensors_file.write(os.path.join(args.out, "model.safetensors"), tensors, {"format": "pt"})
    config["torch_dtype"] = args.dtype
    fixture_configs.write_json(os.path.join(args.out, "config.json"), config)
    generation = fixture_configs.generation_config(config)
    generation["max_length"] = MAX_LENGTH
    fixture_configs.write_json(os.path.join(args.out, "generation_config.json"), generation)
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(args.tokenizer, name), os.path.join(args.out, name))
    size = os.path.getsize(os.path.join(args.out, "model.safetensors"))
    print("export: step %d -> %s (%s, %.1f MB, %d parameters)"
          % (state["step"], args.out, args.dtype, size / 1e6,
             sum(int(np.prod(t.shape)) for n, t in tensors.items() if "embed_positions" not in n)))


if __name__ == "__main__":
    main()
