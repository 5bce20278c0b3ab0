#!/usr/bin/python3
"""Plots the training and dev loss of a train.py log (one JSON object per line) to a PNG.

    /usr/bin/python3 scripts/train/plot_curve.py --log models/catalogs-en-zh/training/train.log \
        --out models/catalogs-en-zh/training/curve.png
"""

import argparse
import json

import matplotlib

matplotlib.use("Agg")  # no display: write the file only
import matplotlib.pyplot as plt  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--log", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    train, dev, start = [], [], None
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if record.get("event") == "started":
                start = record["time"]
            if start is None or "step" not in record:
                continue
            minutes = (record["time"] - start) / 60
            if "train_loss" in record:
                train.append((record["step"], minutes, record["train_loss"]))
            if "dev_loss" in record:
                dev.append((record["step"], minutes, record["dev_loss"]))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot([t[0] for t in train], [t[2] for t in train], label="train (label-smoothed, per token)")
    ax.plot([d[0] for d in dev], [d[2] for d in dev], "o-", label="dev (cross-entropy, per token)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats)")
    ax.grid(alpha=0.3)
    if train:
        top = ax.secondary_xaxis("top", functions=(
            lambda s: s * train[-1][1] / max(train[-1][0], 1), lambda m: m * max(train[-1][0], 1) / max(train[-1][1], 1e-9)))
        top.set_xlabel("wall-clock minutes (at the run's average pace; one shared core)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out)
    print("plot_curve: %d train, %d dev points -> %s" % (len(train), len(dev), args.out))


if __name__ == "__main__":
    main()
