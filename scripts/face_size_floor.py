"""How small a face the emotion model can still read: the shipped model's accuracy on FER2013's
validation crops shrunk to what a camera sees of a face of N pixels, then how many faces-dev
faces the default detector boxes below the chosen floor; prints tables.

A detector box of side N (its larger side) is cut out with the classifier's margin, so the
camera holds ``N * (1 + margin)`` pixels of the crop that FER2013's 48x48 framing stands for.
Each crop is brought to that side (INTER_AREA down, as a small face is sampled), rounded to
8-bit sensor values with Gaussian noise of sigma 0/5/10 grey levels added at that scale
(evaluation.degrade.noise), then resized to the model's side as ``emotion.crop_face`` does
(INTER_LINEAR up, INTER_AREA down), and classified with the mirror averaged in, as the device does.

    .venv/bin/python scripts/face_size_floor.py [--data ../shared/data/fer2013/archive.zip]
        [--faces ../shared/data/faces-dev] [--detector NAME] [--within 5] [--noise 5]
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
from checkout import DATA

from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, create_detector
from moodcast.edge.vision.emotion import EmotionClassifier, EmotionOptions
from moodcast.evaluation.degrade import noise
from moodcast.evaluation.detector import read_annotations
from moodcast.training import data as fer
from moodcast.training.evaluate import predict

SIZES = (12, 16, 20, 24, 32, 40, 48, 64)
NOISE = (0.0, 5.0, 10.0)


def as_seen(images: np.ndarray, side: int, sigma: float, seed: int) -> np.ndarray:
    """``images`` (N, S, S) as a camera holding ``side`` pixels of them gives them to the model."""
    size = images.shape[1]
    out = np.empty(images.shape, np.uint8)
    rng = np.random.default_rng([seed, side, int(sigma * 10)])
    for i, img in enumerate(images.astype(np.float32)):
        # A crop larger than the model's side has no more detail than FER2013's; it is brought up
        # so the noise lands on the camera's pixels, then averaged down as crop_face does.
        camera = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA if side < size else cv2.INTER_LINEAR)
        if sigma > 0:
            camera = noise(camera[None], sigma, rng)[0]
        camera = np.clip(np.round(camera), 0, 255).astype(np.uint8)
        out[i] = cv2.resize(camera, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA / "fer2013" / "archive.zip"))
    parser.add_argument("--faces", default=str(DATA / "faces-dev"), help="photos with annotations.json")
    parser.add_argument("--model", help="emotion .tflite (default: the shipped model)")
    parser.add_argument("--within", type=float, default=5.0, help="points of the clean accuracy a size must keep")
    parser.add_argument("--noise", type=float, default=5.0, help="the noise column the floor is chosen on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--detector", default=DetectorOptions.name, help="the detector whose boxes are counted")
    args = parser.parse_args()
    options = EmotionOptions(model=args.model) if args.model else EmotionOptions()
    size = EmotionClassifier(options).size
    split = fer.default_validation_split(args.data)
    faces = fer.load(args.data, split, size)
    labels = faces.labels
    chance = float(np.bincount(labels).max() / len(labels))  # always answering the commonest class

    def accuracy(images: np.ndarray) -> float:
        return float((predict(options.model, images, options.flip_average).argmax(axis=1) == labels).mean())

    clean = accuracy(faces.images)
    print(f"model {options.model}, {len(labels)} crops of {args.data} ({split}), margin {options.margin}")
    print(f"clean {size}x{size} crops: accuracy {clean:.2%}; the commonest class alone: {chance:.2%}\n")
    print("| face box side (px) | camera crop side (px) | " + " | ".join(f"noise {s:g}" for s in NOISE) + " |")
    print("|---|---|" + "---|" * len(NOISE))
    table = {}
    for n in SIZES:
        side = max(int(round(n * (1 + options.margin))), 2)
        row = [accuracy(as_seen(faces.images, side, s, args.seed)) for s in NOISE]
        table[n] = dict(zip(NOISE, row))
        print(f"| {n} | {side} | " + " | ".join(f"{a:.2%} ({100 * (a - clean):+.1f})" for a in row) + " |")
    floor = min(n for n in SIZES if all(table[m][args.noise] >= clean - args.within / 100 for m in SIZES if m >= n))
    print(
        f"\nfloor: {floor} px, the smallest box side from which every size keeps the clean accuracy within "
        f"{args.within:g} points at noise {args.noise:g}"
    )

    detector = create_detector(DetectorOptions(name=args.detector))
    sides = []
    for entry in read_annotations(args.faces):
        sides += [max(f.box.w, f.box.h) for f in detector.detect(read_image(f"{args.faces}/{entry['file']}"))]
    sides_a = np.array(sides)
    print(
        f"\n{len(sides)} faces found by {args.detector} on {args.faces} (photos as given): box side "
        f"min {sides_a.min():.0f}, median {np.median(sides_a):.0f} px"
    )
    for n in SIZES:
        print(f"  under {n:>2} px: {int((sides_a < n).sum())}")


if __name__ == "__main__":
    main()
