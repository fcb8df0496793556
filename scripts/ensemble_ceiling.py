"""What an ensemble of trained emotion models scores on the validation split (PublicTest): each
model and their mean, float, averaged over test-time views, against FER2013's labels and FER+'s
majority. It bounds what distilling them into one device-sized model (`teachers`) can reach.

    .venv/bin/python scripts/ensemble_ceiling.py runs/a/best.keras runs/b/best.keras ... [--views 8]
        [--data ../shared/data/fer2013/archive.zip] [--votes ../shared/data/fer2013/ferplus_labels.csv]
"""

from __future__ import annotations

import argparse

import numpy as np
from checkout import DATA

from moodcast.training import data as fer
from moodcast.training.train import import_keras, teacher_targets

DATA = DATA / "fer2013"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="+", help="trained .keras models")
    parser.add_argument("--views", type=int, choices=(2, 8), default=8)
    parser.add_argument("--data", default=str(DATA / "archive.zip"))
    parser.add_argument("--votes", default=str(DATA / "ferplus_labels.csv"))
    args = parser.parse_args()
    keras = import_keras()
    val = fer.load(args.data, "test", 48)
    index, truth = fer.ferplus_majority(val, args.votes)
    print(f"FER2013 PublicTest, {len(val)} crops ({len(index)} with a FER+ majority), float, {args.views} views")
    print(f"{'model':<44}{'vs FER2013':>12}{'vs FER+':>9}")
    probs = []
    for path in args.models:
        probs.append(teacher_targets(keras, (path,), val.images, args.views))
        report(path, probs[-1], val.labels, index, truth)
    report(f"mean of the {len(probs)}", np.mean(probs, axis=0), val.labels, index, truth)


def report(name: str, probs: np.ndarray, labels: np.ndarray, index: np.ndarray, truth: np.ndarray) -> None:
    pred = probs.argmax(1)
    print(f"{name:<44}{np.mean(pred == labels):>12.2%}{np.mean(pred[index] == truth):>9.2%}")


if __name__ == "__main__":
    main()
