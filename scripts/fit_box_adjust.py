"""Fit each detector's box adjustment to FDDB's ellipse-derived boxes, with fold cross-validation.

FDDB boxes include the forehead, so a detector's boxes are systematically shorter. The adjustment
(width and height scale, vertical shift; three numbers) is the median ratio over detections that
overlap a true box by IoU > 0.3. Fitting on two folds and scoring the third shows what the
adjustment is worth on faces it was not fitted on; the shipped values are fitted on all three.

    .venv/bin/python scripts/fit_box_adjust.py [--data ../shared/data/faces-dev] [--detector NAME ...]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from checkout import DATA

from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import BACKENDS, DetectorOptions
from moodcast.edge.vision.detectors.base import iou_matrix
from moodcast.evaluation.detection import BoxAdjust, score_detections
from moodcast.evaluation.detector import detector_for_ap, read_annotations


def fit(records) -> BoxAdjust:
    ratios = []
    for boxes, _, truth, _ in records:
        if len(boxes) and len(truth):
            overlap = iou_matrix(boxes, truth)
            for i, j in zip(*np.nonzero(overlap > 0.3)):
                d, g = boxes[i], truth[j]
                ratios.append((g[2] / d[2], g[3] / d[3], ((g[1] + g[3] / 2) - (d[1] + d[3] / 2)) / d[3]))
    w, h, dy = np.median(np.array(ratios), axis=0)
    return BoxAdjust(round(float(w), 3), round(float(h), 3), round(float(dy), 3))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(DATA / "faces-dev"))
    parser.add_argument("--detector", nargs="*", default=list(BACKENDS))
    args = parser.parse_args()
    entries = read_annotations(args.data)
    print(f"{'detector':<16}{'raw AP50':>9}{'CV AP50':>9}{'  per fold':<24}{'fitted on all (w, h, dy)':>26}")
    for name in args.detector:
        detector = detector_for_ap(DetectorOptions(name=name))
        records = []
        for entry in entries:
            faces = detector.detect(read_image(Path(args.data) / entry["file"]))
            boxes = np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in faces], np.float64).reshape(-1, 4)
            truth = np.array(entry["boxes"], np.float64).reshape(-1, 4)
            records.append((boxes, np.array([f.score for f in faces]), truth, entry.get("fddb_fold", 0)))
        raw = score_detections([(b, s, t) for b, s, t, _ in records], 0.5).ap50
        folds = sorted({r[3] for r in records})
        per_fold = []
        for fold in folds:
            adjust = fit([r for r in records if r[3] != fold])
            held = [(adjust.apply(b), s, t) for b, s, t, f in records if f == fold]
            per_fold.append(score_detections(held, 0.5).ap50)
        full = fit(records)
        print(
            f"{name:<16}{raw:>9.3f}{np.mean(per_fold):>9.3f}  {json.dumps([round(a, 3) for a in per_fold]):<22}"
            f"{full.scale_w:>10.3f}{full.scale_h:>7.3f}{full.shift_y:>8.3f}"
        )


if __name__ == "__main__":
    main()
