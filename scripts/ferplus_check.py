"""Emotion models against FER+'s crowd labels on the FER2013 validation split (PublicTest).

FER2013's own labels are noisy (one annotator per image); FER+ had ten annotators relabel every
image. This scores each model (.tflite, run as the device runs it: int8 with the mirror image) on
the validation crops whose FER+ majority is one of the 7 classes (ties, contempt, unknown and
not-a-face dropped), and compares each model with the first one, crop by crop (McNemar), against
both references.

    .venv/bin/python scripts/ferplus_check.py MODEL.tflite [MODEL.tflite ...]
        [--data ../shared/data/fer2013/archive.zip] [--votes ../shared/data/fer2013/ferplus_labels.csv]
"""

from __future__ import annotations

import argparse

import numpy as np
from checkout import DATA

from moodcast.training import data as fer
from moodcast.training.evaluate import predict

DATA = DATA / "fer2013"


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
    print(f"{'':<40}{'--- vs FER+ majority ---':>33}{'--- vs FER2013 label ---':>33}")
    print(f"{'model':<40}" + f"{'accuracy':>12}{'won':>7}{'lost':>7}{'z':>7}" * 2)
    first = None
    for path in args.models:
        pred = predict(path, val.images).argmax(1)
        right = (pred[index] == truth, pred == val.labels)
        if first is None:
            first = right
            print(f"{path:<40}" + "".join(f"{now.mean():>12.2%}{'':>21}" for now in right))
        else:
            print(f"{path:<40}" + "".join(f"{now.mean():>12.2%}{paired(now, was)}" for now, was in zip(right, first)))


def paired(now: np.ndarray, before: np.ndarray) -> str:
    """Crops won and lost against the first model, and McNemar's z."""
    won, lost = int((now & ~before).sum()), int((before & ~now).sum())
    return f"{won:>7}{lost:>7}{(won - lost) / max(np.sqrt(won + lost), 1):>7.2f}"


if __name__ == "__main__":
    main()
