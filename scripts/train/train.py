#!/usr/bin/python3
"""Trains the demo en->zh Marian model on the catalog corpus, on CPU, within a wall-clock budget.

    /usr/bin/python3 scripts/train/train.py --tokenizer DIR --work DIR [--deadline EPOCH_SECONDS]
                                            [--threads 1] [--seed 1]
    /usr/bin/python3 scripts/train/train.py --self-check   (torch model == NumPy reference)

The network is transformers' MarianMTModel, written out in torch (transformers is not in Debian):
post-LayerNorm encoder/decoder layers, embeddings scaled by sqrt(d_model), static sinusoidal
positions, attention queries scaled by head_dim^-0.5, the output projection tied to the shared
embeddings plus final_logits_bias, activation from config.json.  Parameters carry MarianMTModel's
state_dict names, so export.py writes them as they are; --self-check proves the forward pass
equals scripts/fixtures/marian_numpy.py (the project's reference) on random weights.

Training: label-smoothed cross-entropy (0.1), Adam (0.9, 0.98), inverse-square-root schedule with
linear warm-up, batches of about --batch-tokens target tokens drawn from length buckets, seeds
fixed (torch, numpy, batch order).  Every --checkpoint-minutes the full state (weights,
optimizer, step, position in the epoch's batch order) goes to WORK/checkpoint.pt (written to a
temporary file, then renamed); a re-run with the same WORK resumes from it.  The dev loss is
measured every --valid-minutes; WORK/train.log gets one JSON line per report.  The run stops at
--deadline (Unix time) or after --max-steps, saving a final checkpoint.
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import sentencepiece as spm
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "scripts", "fixtures"))

import fixture_configs  # noqa: E402
from fixture_weights import sinusoidal_positions  # noqa: E402

# Sized for about an hour on one (shared) CPU core: at this budget a smaller model that sees
# more pairs beats a larger one that sees fewer (d_model 256 / FFN 1024 ran at 0.6x the pairs/s).
DIMS = dict(d_model=192, encoder_layers=3, decoder_layers=3, attention_heads=4, ffn_dim=768,
            max_position_embeddings=256)
MAX_TOKENS = 48          # pairs longer than this (either side, with </s>) are not trained on
LN_EPS = 1e-5


def _activation(name):
    return {"swish": F.silu, "silu": F.silu, "relu": F.relu, "gelu": F.gelu}[name]


class Marian(torch.nn.Module):
    """MarianMTModel's computation; parameters under its state_dict names (see module doc)."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        d, v = config["d_model"], config["vocab_size"]
        self.d_model = d
        self.heads = config["encoder_attention_heads"]
        self.act = _activation(config["activation_function"])
        self.dropout = config["dropout"]
        self.params = torch.nn.ParameterDict()  # flat names with "." replaced (ParameterDict rule)
        self.names = []

        def add(name, shape, init):
            tensor = torch.empty(shape)
            init(tensor)
            self.params[name.replace(".", "__")] = torch.nn.Parameter(tensor)
            self.names.append(name)

        normal = lambda std: (lambda t: torch.nn.init.normal_(t, 0.0, std))  # noqa: E731
        zeros, ones = torch.nn.init.zeros_, torch.nn.init.ones_
        # Embeddings ~ N(0, d^-0.5): after the sqrt(d) scale they enter at unit scale.
        add("model.shared.weight", (v, d), normal(d ** -0.5))

        def linear(prefix, d_out, d_in):
            add(prefix + ".weight", (d_out, d_in),
                lambda t: torch.nn.init.xavier_uniform_(t))
            add(prefix + ".bias", (d_out,), zeros)

        def norm(prefix):
            add(prefix + ".weight", (d,), ones)
            add(prefix + ".bias", (d,), zeros)

        for side, layers in (("encoder", config["encoder_layers"]), ("decoder", config["decoder_layers"])):
            ffn = config[side + "_ffn_dim"]
            for i in range(layers):
                p = "model.%s.layers.%d" % (side, i)
                for part in ("self_attn",) + (("encoder_attn",) if side == "decoder" else ()):
                    for proj in ("k_proj", "v_proj", "q_proj", "out_proj"):
                        linear("%s.%s.%s" % (p, part, proj), d, d)
                    norm("%s.%s_layer_norm" % (p, part))
                linear(p + ".fc1", ffn, d)
                linear(p + ".fc2", d, ffn)
                norm(p + ".final_layer_norm")
        add("final_logits_bias", (1, v), zeros)
        positions = torch.from_numpy(sinusoidal_positions(config["max_position_embeddings"], d))
        self.register_buffer("positions", positions, persistent=False)

    def w(self, name):
        return self.params[name.replace(".", "__")]

    def state_dict_hf(self):
        """name -> float32 numpy array, MarianMTModel's names (tied copies left out)."""
        out = {name: self.w(name).detach().numpy().astype(np.float32) for name in self.names}
        positions = self.positions.numpy().astype(np.float32)
        out["model.encoder.embed_positions.weight"] = positions
        out["model.decoder.embed_positions.weight"] = positions.copy()
        return out

    def _linear(self, x, prefix):
        return F.linear(x, self.w(prefix + ".weight"), self.w(prefix + ".bias"))

    def _norm(self, x, prefix):
        return F.layer_norm(x, (self.d_model,), self.w(prefix + ".weight"), self.w(prefix + ".bias"), LN_EPS)

    def _drop(self, x):
        return F.dropout(x, self.dropout, self.training)

    def _attention(self, x, kv, prefix, mask):
        B, T, D = x.shape
        S, H = kv.shape[1], self.heads
        dh = D // H
        q = (self._linear(x, prefix + ".q_proj") * dh ** -0.5).view(B, T, H, dh).transpose(1, 2)
        k = self._linear(kv, prefix + ".k_proj").view(B, S, H, dh).transpose(1, 2)
        v = self._linear(kv, prefix + ".v_proj").view(B, S, H, dh).transpose(1, 2)
        scores = q @ k.transpose(2, 3) + mask  # mask broadcasts over heads
        ctx = torch.softmax(scores, dim=-1) @ v
        return self._linear(ctx.transpose(1, 2).reshape(B, T, D), prefix + ".out_proj")

    def _embed(self, ids):
        x = F.embedding(ids, self.w("model.shared.weight")) * math.sqrt(self.d_model)
        return self._drop(x + self.positions[: ids.shape[1]])

    def encode(self, ids, mask01):
        pad = torch.zeros(mask01.shape, dtype=torch.float32).masked_fill(mask01 == 0, float("-inf"))
        pad = pad[:, None, None, :]
        x = self._embed(ids)
        for i in range(self.config["encoder_layers"]):
            p = "model.encoder.layers.%d" % i
            x = self._norm(x + self._drop(self._attention(x, x, p + ".self_attn", pad)),
                           p + ".self_attn_layer_norm")
            h = self._drop(self._linear(self.act(self._linear(x, p + ".fc1")), p + ".fc2"))
            x = self._norm(x + h, p + ".final_layer_norm")
        return x

    def decode(self, ids, enc, enc_mask01):
        T = ids.shape[1]
        cross = torch.zeros(enc_mask01.shape).masked_fill(enc_mask01 == 0, float("-inf"))[:, None, None, :]
        causal = torch.full((T, T), float("-inf")).triu(1)
        x = self._embed(ids)
        for i in range(self.config["decoder_layers"]):
            p = "model.decoder.layers.%d" % i
            x = self._norm(x + self._drop(self._attention(x, x, p + ".self_attn", causal)),
                           p + ".self_attn_layer_norm")
            x = self._norm(x + self._drop(self._attention(x, enc, p + ".encoder_attn", cross)),
                           p + ".encoder_attn_layer_norm")
            h = self._drop(self._linear(self.act(self._linear(x, p + ".fc1")), p + ".fc2"))
            x = self._norm(x + h, p + ".final_layer_norm")
        return F.linear(x, self.w("model.shared.weight")) + self.w("final_logits_bias")

    def forward(self, src, src_mask, dec_in):
        return self.decode(dec_in, self.encode(src, src_mask), src_mask)


# ----------------------------------------------------------------------------- data

class Encoder:
    """MarianTokenizer's ids for ">>lang<< source" and for a target (what the runtime feeds)."""

    def __init__(self, tokenizer_dir):
        with open(os.path.join(tokenizer_dir, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        self.source = spm.SentencePieceProcessor(model_file=os.path.join(tokenizer_dir, "source.spm"))
        self.target = spm.SentencePieceProcessor(model_file=os.path.join(tokenizer_dir, "target.spm"))
        self.eos, self.unk, self.pad = self.vocab["</s>"], self.vocab["<unk>"], self.vocab["<pad>"]

    def _ids(self, pieces):
        return [self.vocab.get(p, self.unk) for p in pieces]

    def source_ids(self, lang, text):
        return [self.vocab[">>%s<<" % lang]] + self._ids(self.source.encode(text, out_type=str)) + [self.eos]

    def target_ids(self, text):
        return self._ids(self.target.encode(text, out_type=str)) + [self.eos]


def load_pairs(encoder, rows):
    pairs = []
    for lang, source, target in rows:
        s, t = encoder.source_ids(lang, source), encoder.target_ids(target)
        if len(s) <= MAX_TOKENS and len(t) <= MAX_TOKENS:
            pairs.append((s, t))
    return pairs


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        return [tuple(line.rstrip("\n").split("\t")) for line in f]


def read_split(data_dir, split):
    rows = []
    for lang in ("cmn_Hans", "cmn_Hant"):
        with open(os.path.join(data_dir, "%s.%s.en" % (split, lang)), encoding="utf-8") as f:
            sources = [line.rstrip("\n") for line in f]
        with open(os.path.join(data_dir, "%s.%s.zh" % (split, lang)), encoding="utf-8") as f:
            targets = [line.rstrip("\n") for line in f]
        rows += [(lang, s, t) for s, t in zip(sources, targets)]
    return rows


def make_batches(pairs, batch_tokens, rng):
    """Index lists: pairs sorted by (target, source) length (ties shuffled), cut into batches of
    about batch_tokens padded target tokens, in shuffled order."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0]), rng.random()))
    batches, current, longest = [], [], 0
    for i in order:
        longest_if = max(longest, len(pairs[i][1]), len(pairs[i][0]))
        if current and longest_if * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest_if = [], max(len(pairs[i][1]), len(pairs[i][0]))
        current.append(i)
        longest = longest_if
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def collate(pairs, indices, pad):
    S = max(len(pairs[i][0]) for i in indices)
    T = max(len(pairs[i][1]) for i in indices)
    src = torch.full((len(indices), S), pad, dtype=torch.long)
    src_mask = torch.zeros((len(indices), S), dtype=torch.long)
    dec_in = torch.full((len(indices), T), pad, dtype=torch.long)
    labels = torch.full((len(indices), T), -100, dtype=torch.long)
    for row, i in enumerate(indices):
        s, t = pairs[i]
        src[row, :len(s)] = torch.tensor(s)
        src_mask[row, :len(s)] = 1
        dec_in[row, 1:len(t)] = torch.tensor(t[:-1])  # decoder_start_token_id = <pad>
        labels[row, :len(t)] = torch.tensor(t)
    return src, src_mask, dec_in, labels


# ----------------------------------------------------------------------------- training

def lr_at(step, peak, warmup):
    step = max(step, 1)
    return peak * min(step / warmup, math.sqrt(warmup / step))


def dev_loss(model, pairs, batches, pad):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for indices in batches:
            src, src_mask, dec_in, labels = collate(pairs, indices, pad)
            logits = model(src, src_mask, dec_in)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                     ignore_index=-100, reduction="sum").item()
            count += int((labels != -100).sum())
    model.train()
    return total / count


def save_checkpoint(path, state):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    os.close(fd)
    torch.save(state, tmp)
    os.replace(tmp, path)


def log(work, record):
    record["time"] = round(time.time(), 1)
    with open(os.path.join(work, "train.log"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


def model_config(vocab_size, dropout):
    config = fixture_configs.model_config("opusrt-catalogs-en-zh", DIMS, vocab_size)
    config["dropout"] = dropout
    return config


def train(args):
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.work, exist_ok=True)
    encoder = Encoder(args.tokenizer)
    pairs = load_pairs(encoder, read_tsv(args.train))
    dev_rows = read_split(args.data, "dev")
    dev_pairs = load_pairs(encoder, dev_rows[:: max(1, len(dev_rows) // args.valid_pairs)])
    dev_batches = make_batches(dev_pairs, args.batch_tokens, np.random.RandomState(0))
    config = model_config(len(encoder.vocab), args.dropout)
    model = Marian(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9)
    step, epoch, position = 0, 0, 0
    checkpoint = os.path.join(args.work, "checkpoint.pt")
    if os.path.exists(checkpoint):
        state = torch.load(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch, position = state["step"], state["epoch"], state["position"]
        torch.set_rng_state(state["torch_rng"])
        log(args.work, {"event": "resumed", "step": step, "epoch": epoch})
    else:
        log(args.work, {"event": "started", "pairs": len(pairs), "dev_pairs": len(dev_pairs),
                        "vocab": len(encoder.vocab), "parameters": sum(p.numel() for p in model.parameters()),
                        "args": vars(args)})
    with open(os.path.join(args.work, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)

    def state():
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": step,
                "epoch": epoch, "position": position, "torch_rng": torch.get_rng_state(),
                "config": config}

    last_checkpoint = last_valid = last_report = time.time()
    loss_sum, token_sum, report_tokens = 0.0, 0, 0
    batches = make_batches(pairs, args.batch_tokens, np.random.RandomState(args.seed + epoch))
    done = False
    while not done:
        while position < len(batches):
            if time.time() >= args.deadline or step >= args.max_steps:
                done = True
                break
            src, src_mask, dec_in, labels = collate(pairs, batches[position], encoder.pad)
            position += 1
            step += 1
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, args.lr, args.warmup)
            logits = model(src, src_mask, dec_in)
            tokens = int((labels != -100).sum())
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                   ignore_index=-100, label_smoothing=args.label_smoothing,
                                   reduction="sum")
            optimizer.zero_grad(set_to_none=True)
            (loss / tokens).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss_sum += loss.item()
            token_sum += tokens
            report_tokens += tokens
            now = time.time()
            if now - last_report >= args.report_seconds:
                log(args.work, {"step": step, "epoch": epoch + position / len(batches),
                                "train_loss": loss_sum / token_sum, "lr": lr_at(step, args.lr, args.warmup),
                                "tokens_per_s": report_tokens / (now - last_report)})
                loss_sum, token_sum, report_tokens, last_report = 0.0, 0, 0, now
            if now - last_valid >= args.valid_minutes * 60:
                log(args.work, {"step": step, "epoch": epoch + position / len(batches),
                                "dev_loss": dev_loss(model, dev_pairs, dev_batches, encoder.pad)})
                last_valid = time.time()
            if now - last_checkpoint >= args.checkpoint_minutes * 60:
                save_checkpoint(checkpoint, state())
                last_checkpoint = time.time()
        if not done:
            epoch, position = epoch + 1, 0
            batches = make_batches(pairs, args.batch_tokens, np.random.RandomState(args.seed + epoch))
    log(args.work, {"step": step, "epoch": epoch + position / len(batches),
                    "dev_loss": dev_loss(model, dev_pairs, dev_batches, encoder.pad)})
    save_checkpoint(checkpoint, state())
    log(args.work, {"event": "stopped", "step": step})


def self_check():
    """Random weights: this torch forward pass == marian_numpy.MarianNumpy's (float64)."""
    import marian_numpy
    from fixture_weights import save_npz
    torch.manual_seed(3)
    config = fixture_configs.model_config("self-check", dict(DIMS, d_model=32, ffn_dim=48), 50)
    model = Marian(config).double()
    with torch.no_grad():  # nonzero biases and norms, so every term is exercised
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    model.positions = model.positions.double()
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        fixture_configs.write_json(os.path.join(tmp, "config.json"), config)
        save_npz(os.path.join(tmp, "weights.npz"), model.state_dict_hf())
        reference = marian_numpy.MarianNumpy(tmp)
    src = [[5, 9, 13, 0], [7, 3, 0, 49]]
    mask = [[1, 1, 1, 1], [1, 1, 1, 0]]
    dec = [[49, 4, 8], [49, 11, 2]]
    enc, _ = reference.encode_batch([s[:sum(m)] for s, m in zip(src, mask)], pad_id=49)
    expected = reference.decoder_logits_batch(enc, dec, np.asarray(mask))
    got = model(torch.tensor(src), torch.tensor(mask), torch.tensor(dec)).detach().numpy()
    error = float(np.abs(got - expected).max())
    print("self-check: max |torch - numpy| logit difference %.3g" % error)
    return 0 if error < 1e-4 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--self-check", action="store_true")
    parser.add_argument("--tokenizer")
    parser.add_argument("--work")
    parser.add_argument("--train", default=os.path.join(ROOT, "build", "corpus", "train.tsv"))
    parser.add_argument("--data", default=os.path.join(ROOT, "data", "catalogs-en-zh"))
    parser.add_argument("--deadline", type=float, default=float("inf"), help="Unix time to stop at")
    parser.add_argument("--max-steps", type=int, default=10 ** 9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-tokens", type=int, default=2500)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--valid-pairs", type=int, default=1000)
    parser.add_argument("--valid-minutes", type=float, default=5)
    parser.add_argument("--checkpoint-minutes", type=float, default=5)
    parser.add_argument("--report-seconds", type=float, default=60)
    args = parser.parse_args()
    if args.self_check:
        return self_check()
    if not args.tokenizer or not args.work:
        parser.error("--tokenizer and --work are required")
    train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
