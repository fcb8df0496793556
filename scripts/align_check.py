"""Does turning each face crop so the eyes are level (``emotion.align``) help? Prints a table.

On labelled photos (expressions-dev) and their copies turned by +-TILT degrees, the largest face's
emotion is scored with alignment off and on; on unlabelled photos (../shared/data/photos), each
face's label on a turned copy is compared with its label on the upright photo. The crop's cost
per face is timed both ways, with the model (median of repeats).

    .venv/bin/python scripts/align_check.py --labelled ../shared/data/expressions-dev \\
        --photos ../shared/data/photos --tilt 15 --tilt 25
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from moodcast.edge.config import Config
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import IMAGE_SUFFIXES, read_image
from moodcast.edge.vision.detectors import DetectorOptions
from moodcast.edge.vision.emotion import EmotionClassifier, EmotionOptions
from moodcast.evaluation.pipeline import NO_FACE, labelled_photos, score_with_misses


def turned(rgb: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo turned about its centre (edges mirrored, as a tilted head fills the frame), and
    the 2x3 matrix that maps upright pixels to it."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), borderMode=cv2.BORDER_REFLECT_101), m


def labels(classifier: EmotionClassifier, rgb: np.ndarray, faces) -> list[int]:
    return [EMOTIONS.index(e.label) for e in classifier.classify(rgb, faces)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--labelled", required=True, help="a folder of class subfolders (expressions-dev)")
    p.add_argument("--photos", help="a folder of unlabelled photos with faces")
    p.add_argument("--tilt", type=float, action="append", help="degrees, each turned both ways (default 15, 25)")
    p.add_argument("--model", default=EmotionOptions.model, help="the emotion model")
    p.add_argument(
        "--min-degrees",
        type=float,
        default=EmotionOptions.align_min_degrees,
        help="emotion.align_min_degrees for the 'on' column",
    )
    p.add_argument("--detector", default=DetectorOptions.name, help="the detector whose eye keypoints align")
    args = p.parse_args()
    tilts = args.tilt or [15.0, 25.0]
    config = Config()
    config = replace(
        config,
        emotion=replace(config.emotion, model=args.model),
        detector=replace(config.detector, name=args.detector),
    )
    pipeline = Pipeline.from_config(config, still=True)
    detector = pipeline.detector
    modes = {
        "off": EmotionClassifier(replace(config.emotion, align=False)),
        "on": EmotionClassifier(replace(config.emotion, align=True, align_min_degrees=args.min_degrees)),
    }
    angles = [0.0] + [s * t for t in tilts for s in (1, -1)]

    photos = [(read_image(path), label) for path, label in labelled_photos(args.labelled)]
    truth = np.array([label for _, label in photos])
    print(f"{len(photos)} labelled photos from {args.labelled}, largest face, detector {config.detector.name}")
    print(f"{'tilt':>6} {'align off':>10} {'align on':>10}")
    totals = {m: [] for m in modes}
    for angle in angles:
        faces = []
        for rgb, _ in photos:
            image = turned(rgb, angle)[0]
            found = detector.detect(image)
            faces.append((image, max(found, key=lambda f: f.box.area) if found else None))
        row = []
        for mode, classifier in modes.items():
            pred = np.array([labels(classifier, img, [f])[0] if f else NO_FACE for img, f in faces])
            acc = score_with_misses(truth, pred).accuracy
            totals[mode].append(acc)
            row.append(acc)
        print(f"{angle:>+6.0f} {row[0]:>10.1%} {row[1]:>10.1%}")
    print(f"{'mean':>6} {np.mean(totals['off']):>10.1%} {np.mean(totals['on']):>10.1%}")

    all_faces = []
    if args.photos:
        paths = sorted(q for q in Path(args.photos).iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        agree = {m: [0, 0] for m in modes}
        for path in paths:
            rgb = read_image(path)
            upright = detector.detect(rgb)
            all_faces.append((rgb, upright))
            reference = labels(modes["off"], rgb, upright)
            for angle in angles[1:]:
                image, m = turned(rgb, angle)
                found = detector.detect(image)
                if not found:
                    continue
                centres = np.array([[f.box.x + f.box.w / 2, f.box.y + f.box.h / 2] for f in found])
                for face, ref in zip(upright, reference, strict=True):
                    c = m @ np.array([face.box.x + face.box.w / 2, face.box.y + face.box.h / 2, 1.0])
                    nearest = int(np.argmin(np.linalg.norm(centres - c, axis=1)))
                    if np.linalg.norm(centres[nearest] - c) > face.box.w / 2:
                        continue  # not found on the turned copy
                    for mode, classifier in modes.items():
                        agree[mode][0] += labels(classifier, image, [found[nearest]])[0] == ref
                        agree[mode][1] += 1
        print(f"\n{len(paths)} photos from {args.photos}, {sum(len(f) for _, f in all_faces)} faces upright:")
        print("label on turned copies equal to the upright label (alignment off upright):")
        for mode, (same, n) in agree.items():
            print(f"  align {mode}: {same / max(n, 1):.1%} of {n}")

    sample = all_faces or [(rgb, detector.detect(rgb)) for rgb, _ in photos]
    sample = [(turned(rgb, 20)[0], detector.detect(turned(rgb, 20)[0])) for rgb, _ in sample]
    n = sum(len(f) for _, f in sample)
    print(f"\ncost per face ({n} faces on 20-degree copies, crop + model with mirror, median of 5):")
    for mode, classifier in modes.items():
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            for rgb, faces in sample:
                classifier.classify(rgb, faces)
            runs.append((time.perf_counter() - start) / max(n, 1) * 1e3)
        print(f"  align {mode}: {np.median(runs):.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
