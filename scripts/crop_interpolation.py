"""Which resize should the device use for its 48x48 crop, and should it normalise the light?

A camera sees a face larger than 48 px and degrades it at that size. Each validation crop is
scaled up to ``--side`` px (a face at ~1 m from a 640x480 camera), degraded there
(evaluation.degrade, levels scaled to the larger face where they are in pixels), then brought
back to 48 px with each OpenCV interpolation, optionally standardised, and classified with the
model as the device runs it (int8, mirror-averaged). Prints accuracy per condition.

    .venv/bin/python scripts/crop_interpolation.py --model models/emotion.tflite --side 120
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from moodcast.evaluation.degrade import Degradation
from moodcast.training import data as fer
from moodcast.training.evaluate import predict

METHODS = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}
CONDITIONS = ("none", "noise:10", "noise:20", "jpeg:30", "night:1", "blur:2")


def standardise(crops: np.ndarray) -> np.ndarray:
    mean, std = crops.mean(axis=(1, 2), keepdims=True), crops.std(axis=(1, 2), keepdims=True)
    return np.clip((crops - mean) / np.maximum(std, 8) * 52 + 128, 0, 255)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="models/emotion.tflite")
    p.add_argument("--data", default="../shared/data/fer2013/archive.zip")
    p.add_argument("--side", type=int, default=120)
    p.add_argument("--limit", type=int, default=0, help="first N validation crops (0: all)")
    args = p.parse_args()
    val = fer.load(args.data, fer.default_validation_split(args.data))
    images, labels = (val.images[: args.limit], val.labels[: args.limit]) if args.limit else (val.images, val.labels)
    big = np.stack([cv2.resize(i, (args.side, args.side), interpolation=cv2.INTER_CUBIC) for i in images])
    print(f"{len(images)} crops of {args.data} scaled to {args.side} px, degraded, back to 48 px; model {args.model}")
    print(f"{'condition':<10}" + "".join(f"{m:>9}" for m in METHODS) + f"{'area+std':>10}")
    for condition in CONDITIONS:
        seen = big.astype(np.float32) if condition == "none" else Degradation.parse(condition)(big)
        seen = np.clip(seen, 0, 255).astype(np.uint8)
        row = []
        for flag in METHODS.values():
            small = np.stack([cv2.resize(i, (48, 48), interpolation=flag) for i in seen])
            row.append((predict(args.model, small).argmax(1) == labels).mean())
        small = np.stack([cv2.resize(i, (48, 48), interpolation=cv2.INTER_AREA) for i in seen]).astype(np.float32)
        row.append((predict(args.model, standardise(small)).argmax(1) == labels).mean())
        print(f"{condition:<10}" + "".join(f"{a:>9.2%}" for a in row[:-1]) + f"{row[-1]:>10.2%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
