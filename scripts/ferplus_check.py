"""Emotion models against FER+'s crowd labels on the FER2013 validation split (PublicTest).

FER2013's own labels are noisy (one annotator per image); FER+ had ten annotators relabel every
image. This scores each model (.tflite, run as the device runs it: int8 with the mirror image) on
the validation crops whose FER+ majority is one of the 7 classes (ties, contempt, unknown and
not-a-face dropped), and compares each model with the first one, crop by crop (McNemar).

    .venv/bin/python scripts/ferplus_check.py MODEL.tflite [MODEL.tflite ...]
        [--data ../shared/data/fer2013/archive.zip] [--votes ../shared/data/fer2013/ferplus_labels.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from training import data as fer
from training.evaluate import predict

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "fer2013"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+")
    parser.add_argument("--data", default=str(DATA / "archive.zip"))
    parser.add_argument("--votes", default=str(DATA / "ferplus_labels.csv"))
    args = parser.parse_args()
    val = fer.load(args.data, "test", 48)
    index, truth = fer.ferplus_majority(val, args.votes)
    agree = np.mean(val.labels[index] == truth)
    print(f"{len(index)} of {len(val)} validation crops have a FER+ majority among the 7 classes;")
    print(f"their FER2013 label matches it for {agree:.1%}")
    print(f"{'model':<40}{'vs FER+':>9}{'vs FER2013':>12}{'won':>6}{'lost':>6}{'z':>7}")
    first = None
    for path in args.models:
        pred = predict(path, val.images).argmax(1)
        right = pred[index] == truth
        row = f"{path:<40}{right.mean():>9.2%}{np.mean(pred == val.labels):>12.2%}"
        if first is not None:
            won, lost = int((right & ~first).sum()), int((first & ~right).sum())
            row += f"{won:>6}{lost:>6}{(won - lost) / max(np.sqrt(won + lost), 1):>7.2f}"
        print(row)
        first = right if first is None else first


if __name__ == "__main__":
    main()
