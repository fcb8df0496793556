"""Should the device brighten dark face crops before classifying them?

Each crop whose mean grey level is below ``threshold`` gets the gamma that brings its mean to about
``target`` (an auto-exposure for the face alone); the others are left as they are. Accuracy of the
model as the device runs it (int8, mirror-averaged) on the validation crops, clean and under
``night:1`` (evaluation.degrade, seed 0), for each pair. models/README.md records the answer: no.

    .venv/bin/python scripts/dark_crops.py --model models/emotion.tflite
"""

from __future__ import annotations

import argparse

import numpy as np

from moodcast.evaluation.degrade import Degradation
from moodcast.training import data as fer
from moodcast.training.evaluate import predict


def brighten(crops: np.ndarray, threshold: float, target: float) -> np.ndarray:
    """``crops`` with each one darker than ``threshold`` (mean) raised by a gamma to a mean near ``target``."""
    out = crops.copy()
    for i, crop in enumerate(crops):
        mean = crop.mean()
        if mean < threshold:
            gamma = np.log(target / 255) / np.log(max(mean, 1.0) / 255)  # from the mean alone
            out[i] = np.clip(255 * (crop / 255.0) ** gamma, 0, 255).astype(np.uint8)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="models/emotion.tflite")
    p.add_argument("--data", default="../shared/data/fer2013/archive.zip")
    args = p.parse_args()
    val = fer.load(args.data, fer.default_validation_split(args.data))
    night = np.clip(Degradation.parse("night:1")(val.images, 0), 0, 255).astype(np.uint8)

    def accuracy(crops: np.ndarray) -> float:
        return float((predict(args.model, crops).argmax(1) == val.labels).mean())

    print(f"{len(val.labels)} validation crops of {args.data}; model {args.model}")
    print("| dark below | brought to | clean | night |\n|---|---|---|---|")
    print(f"| (none) | | {accuracy(val.images):.2%} | {accuracy(night):.2%} |")
    for threshold in (50, 70):
        for target in (90, 110, 128):
            clean, dark = (accuracy(brighten(c, threshold, target)) for c in (val.images, night))
            print(f"| {threshold} | {target} | {clean:.2%} | {dark:.2%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
