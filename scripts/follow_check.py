"""How well a following detector follows: on faces-dev, each face the detector finds (at its
operating threshold) is moved as between two frames (its box shifted by up to ``--shift`` of its
side and scaled by up to ``--grow``, seeded) and handed to ``refine``. Printed: the share of faces
still found, the IoU of the followed box with the detection's, the landmark error (eyes, in face
widths) and the median ms of one refine per face against one full detection per photo.

    .venv/bin/python scripts/follow_check.py [--detector yunet blazeface-onet] [--model DIR]
        [--data ../shared/data/faces-dev] [--shift 0.15] [--grow 0.1]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from checkout import DATA

from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, create_detector
from moodcast.edge.vision.detectors.base import Box, FollowingDetector, iou_matrix
from moodcast.evaluation.detector import read_annotations


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--detector", nargs="*", default=["yunet", "blazeface-onet"])
    parser.add_argument("--model", default="", help="a folder with the detector's files (default: the shipped ones)")
    parser.add_argument("--data", default=str(DATA / "faces-dev"))
    parser.add_argument("--shift", type=float, default=0.15)
    parser.add_argument("--grow", type=float, default=0.1)
    args = parser.parse_args()
    entries = read_annotations(args.data)
    print(f"{'detector':<16}{'faces':>7}{'followed':>10}{'IoU p50':>9}{'IoU p10':>9}{'eyes p50':>10}"
          f"{'refine ms':>11}{'detect ms':>11}")  # fmt: skip
    for name in args.detector:
        detector = create_detector(DetectorOptions(name=name, model=args.model))
        if not isinstance(detector, FollowingDetector):
            print(f"{name}: cannot follow")
            continue
        rng = np.random.default_rng(0)
        ious, eyes, lost, refine_ms, detect_ms = [], [], 0, [], []
        for entry in entries:
            rgb = read_image(Path(args.data) / entry["file"])
            t = time.perf_counter()
            faces = detector.detect(rgb)
            detect_ms.append((time.perf_counter() - t) * 1e3)
            for face in faces:
                b = face.box
                grow = 1 + rng.uniform(-args.grow, args.grow)
                dx, dy = rng.uniform(-args.shift, args.shift, 2) * max(b.w, b.h)
                moved = Box(b.x + dx + b.w * (1 - grow) / 2, b.y + dy + b.h * (1 - grow) / 2, b.w * grow, b.h * grow)
                t = time.perf_counter()
                (found,) = detector.refine(rgb, [moved])
                refine_ms.append((time.perf_counter() - t) * 1e3)
                if found is None:
                    lost += 1
                    continue
                want = np.array([[b.x, b.y, b.w, b.h]])
                have = np.array([[found.box.x, found.box.y, found.box.w, found.box.h]])
                ious.append(iou_matrix(have, want)[0, 0])
                err = np.array(found.keypoints[:2]) - np.array(face.keypoints[:2])
                eyes.append(float(np.hypot(err[:, 0], err[:, 1]).max() / b.w))
        n = len(ious) + lost
        print(
            f"{name:<16}{n:>7}{len(ious) / n:>10.3f}{np.median(ious):>9.3f}{np.percentile(ious, 10):>9.3f}"
            f"{np.median(eyes):>10.3f}{np.median(refine_ms):>11.3f}{np.median(detect_ms):>11.3f}"
        )


if __name__ == "__main__":
    main()
