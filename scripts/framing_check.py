"""Does the emotion crop need a different framing per detector? Prints two tables.

1. FER2013's validation crops (``test/`` of the Kaggle zip: 3,589), each scaled 3x and centred on a
   canvas with its edges repeated, so that the framing the emotion model was trained on is known:
   each detector's largest box is compared with that square (the margin and vertical shift that
   would give it back), and accuracy is swept over crop framings on the faces every detector found.
2. expressions-dev end to end (largest face, the configured crop framing) on the photos and on
   whole-photo degraded copies (evaluation/degrade.py's kinds, one seed per photo), per detector,
   and with ``--map`` one detector's boxes first mapped onto another's by width, height and vertical
   centre ratios (``W,H,DY``: e.g. yunet onto blazeface-onet as fitted on faces-dev).

    .venv/bin/python scripts/framing_check.py [--detector blazeface-onet --detector yunet]
        [--map yunet=0.968,0.976,-0.012] [--limit N]
"""

from __future__ import annotations

import argparse
import itertools

import cv2
import numpy as np
from checkout import DATA

from moodcast.edge.config import Config
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, create_detector
from moodcast.edge.vision.detectors.base import Box, Face
from moodcast.edge.vision.emotion import EmotionClassifier, EmotionOptions, predict_probabilities
from moodcast.evaluation.degrade import Degradation
from moodcast.evaluation.pipeline import NO_FACE, labelled_photos, score_with_misses
from moodcast.training.data import load

SIDE, PAD = 144, 72  # the FER2013 face on the canvas, and the repeated edge around it
GRID = list(itertools.product((0.0, 0.05, 0.1, 0.15, 0.2, 0.3), (-0.1, -0.05, 0.0, 0.05)))
VARIANTS = ("none", "noise:10", "jpeg:30", "blur:0.8", "motion:5", "night:1", "rotate:15", "rotate:25")


def largest(faces: list[Face]) -> Face | None:
    return max(faces, key=lambda f: f.box.area) if faces else None


def mapped(face: Face, w: float, h: float, dy: float) -> Face:
    b = face.box
    cx, cy = b.x + b.w / 2, b.y + b.h / 2 + dy * b.h
    return Face(Box(cx - b.w * w / 2, cy - b.h * h / 2, b.w * w, b.h * h), face.score, face.keypoints)


def fer_table(detectors: dict, classifier: EmotionClassifier, limit: int | None) -> None:
    data = load(DATA / "fer2013" / "archive.zip", "test")
    crops, labels = data.images.reshape(-1, 48, 48).astype(np.uint8)[:limit], data.labels[:limit]
    canvases = [
        cv2.copyMakeBorder(
            cv2.resize(c, (SIDE, SIDE), interpolation=cv2.INTER_CUBIC), PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE
        )
        for c in crops
    ]
    boxes = {}
    for name, detector in detectors.items():
        found = [largest(detector.detect(np.repeat(c[..., None], 3, 2))) for c in canvases]
        boxes[name] = found
        b = np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in found if f])
        margin = SIDE / np.maximum(b[:, 2], b[:, 3]) - 1
        shift = ((PAD + SIDE / 2) - (b[:, 1] + b[:, 3] / 2)) / b[:, 3]
        print(
            f"{name}: found {len(b)}/{len(crops)}; the FER2013 square is the box's larger side x (1 + "
            f"{np.median(margin):.3f}) (p25 {np.percentile(margin, 25):.3f}, p75 {np.percentile(margin, 75):.3f}), "
            f"centre {np.median(shift):+.3f} box heights down; box h/w {np.median(b[:, 3] / b[:, 2]):.3f}"
        )
    every = [i for i in range(len(crops)) if all(boxes[n][i] for n in detectors)]
    print(f"accuracy on the {len(every)} faces every detector found (the crops as given: ", end="")
    given = np.concatenate(
        [predict_probabilities(classifier.model, crops[k : k + 64]) for k in range(0, len(crops), 64)]
    )
    print(f"{np.mean(given.argmax(1)[every] == labels[every]):.1%})")
    print(f"{'margin':>7}{'shift_y':>9}" + "".join(f"{n:>16}" for n in detectors))
    for margin, shift in GRID:
        framing = EmotionClassifier(EmotionOptions(model=classifier.options.model, margin=margin, shift_y=shift))
        row = f"{margin:>7.2f}{shift:>9.2f}"
        for name in detectors:
            framed = np.stack([framing.crops(canvases[i], [boxes[name][i]])[0] for i in every])
            probs = np.concatenate(
                [predict_probabilities(framing.model, framed[k : k + 64]) for k in range(0, len(framed), 64)]
            )
            row += f"{np.mean(probs.argmax(1) == labels[every]):>16.1%}"
        print(row, flush=True)


def expressions_table(detectors: dict, classifier: EmotionClassifier, maps: dict) -> None:
    photos = [(read_image(p), label) for p, label in labelled_photos(DATA / "expressions-dev")]
    truth = np.array([label for _, label in photos])
    columns = [(n, n, None) for n in detectors] + [(f"{n} mapped", n, m) for n, m in maps.items()]
    print(f"\nexpressions-dev ({len(photos)} photos), largest face, crop framing as configured")
    print(f"{'copy':<11}" + "".join(f"{c:>22}" for c, _, _ in columns))
    totals = dict.fromkeys([c for c, _, _ in columns], 0)
    for variant in VARIANTS:
        images = []
        for i, (rgb, _) in enumerate(photos):
            if variant == "none":
                images.append(rgb)
                continue
            grey = Degradation.parse(variant)(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[None], seed=i)[0]
            images.append(np.repeat(np.clip(np.round(grey), 0, 255).astype(np.uint8)[..., None], 3, 2))
        found = {n: [largest(d.detect(rgb)) for rgb in images] for n, d in detectors.items()}
        row = f"{variant:<11}"
        for column, name, m in columns:
            pred = []
            for rgb, face in zip(images, found[name]):
                if face is None:
                    pred.append(NO_FACE)
                    continue
                face = mapped(face, *m) if m else face
                pred.append(EMOTIONS.index(classifier.classify(rgb, [face])[0].label))
            report = score_with_misses(truth, np.array(pred))
            totals[column] += int(round(report.accuracy * len(truth)))
            row += f"{report.accuracy:>15.1%} ({sum(p == NO_FACE for p in pred)} lost)"
        print(row, flush=True)
    print(
        f"{'correct':<11}" + "".join(f"{totals[c]:>22}" for c, _, _ in columns) + f"  of {len(truth) * len(VARIANTS)}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--detector", action="append", help="default: blazeface-onet and yunet")
    p.add_argument("--map", action="append", default=[], metavar="NAME=W,H,DY", help="also NAME's boxes mapped")
    p.add_argument("--limit", type=int, default=None, help="at most this many FER2013 crops")
    args = p.parse_args()
    detectors = {n: create_detector(DetectorOptions(name=n)) for n in args.detector or ["blazeface-onet", "yunet"]}
    maps = {}
    for text in args.map:
        name, _, numbers = text.partition("=")
        maps[name] = tuple(float(v) for v in numbers.split(","))
    classifier = EmotionClassifier(Config().emotion)
    fer_table(detectors, classifier, args.limit)
    expressions_table(detectors, classifier, maps)


if __name__ == "__main__":
    main()
