"""Measure a face detector on boxes: ``annotations.json`` beside the photos (faces-dev's layout)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from moodcast.edge.errors import DatasetError
from moodcast.edge.sources.images import read_image
from moodcast.edge.vision.detectors import DetectorOptions, FaceDetector, create_detector
from moodcast.evaluation.detection import BoxAdjust, score_detections

# How each detector's boxes map onto FDDB's ellipse-derived boxes (forehead included): median
# ratios over matched faces of faces-dev, from scripts/fit_box_adjust.py (which also reports the
# cross-validated AP of doing so). Fitted to one data set: for FDDB-style boxes only.
FDDB_ADJUST = {
    "blazeface-onet": BoxAdjust(1.141, 1.281, -0.075),
    "blazeface-full": BoxAdjust(0.961, 1.443, -0.144),
    "blazeface-short": BoxAdjust(0.981, 1.481, -0.193),
    "mtcnn": BoxAdjust(1.147, 1.281, -0.077),
    "yunet": BoxAdjust(1.100, 1.244, -0.083),
}
AP_SCORE_FLOOR = 0.1  # detections kept for the precision-recall curve
AP_MAX_FACES = 100  # enough for any photo of faces-dev: AP must not be cut by the device's max_faces


@dataclass(frozen=True)
class DetectorReport:
    detector: str
    images: int
    faces: int
    ap50: float
    ap40: float
    recall: float
    fp_per_image: float
    threshold: float
    ms_per_image: float
    box_adjust: dict


def detector_for_ap(options: DetectorOptions, num_threads: int = 1) -> FaceDetector:
    """The detector of ``options`` keeping every face scored from AP_SCORE_FLOOR up, for AP curves."""
    return create_detector(
        replace(options, score_threshold=AP_SCORE_FLOOR, max_faces=AP_MAX_FACES), num_threads=num_threads
    )


def read_annotations(data: str | Path) -> list[dict]:
    root = Path(data)
    path = root / "annotations.json"
    try:
        images = json.loads(path.read_text())["images"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DatasetError(
            f"{path}: expected {{'images': [{{'file': .., 'boxes': [[x, y, w, h], ..]}}]}} ({exc})"
        ) from None
    for entry in images:
        if "file" not in entry or "boxes" not in entry:
            raise DatasetError(f"{path}: every image needs 'file' and 'boxes'")
    return images


def evaluate_detector(
    data: str | Path, options: DetectorOptions, num_threads: int = 1, adjust: BoxAdjust | None = None
) -> DetectorReport:
    """AP over detections scored >= AP_SCORE_FLOOR; recall and FP/image at the options' threshold.

    Time per image covers the detector alone (letterbox, inference, decoding), not JPEG decoding.
    """
    detector = detector_for_ap(options, num_threads)
    adjust = adjust or BoxAdjust()
    per_image, times = [], []
    for entry in read_annotations(data):
        rgb = read_image(Path(data) / entry["file"])
        t = time.perf_counter()
        faces = detector.detect(rgb)
        times.append(time.perf_counter() - t)
        boxes = np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in faces], np.float64).reshape(-1, 4)
        truth = np.array(entry["boxes"], np.float64).reshape(-1, 4)
        per_image.append((adjust.apply(boxes), np.array([f.score for f in faces]), truth))
    at50 = score_detections(per_image, options.threshold, 0.5)
    at40 = score_detections(per_image, options.threshold, 0.4)
    return DetectorReport(
        detector=options.name,
        images=at50.images,
        faces=at50.faces,
        ap50=at50.ap50,
        ap40=at40.ap50,
        recall=at50.recall,
        fp_per_image=at50.fp_per_image,
        threshold=options.threshold,
        ms_per_image=float(np.median(times) * 1e3),
        box_adjust=asdict(adjust),
    )
