"""Measure the device stages on labelled data: the face detector (boxes) and the whole pipeline
(full photos in ``<class>/`` folders)."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edge.detection_metrics import BoxAdjust, score_detections
from edge.detectors import FaceDetector
from edge.labels import EMOTIONS
from edge.metrics import classification_report
from edge.sources.images import IMAGE_SUFFIXES, read_image

if TYPE_CHECKING:
    from edge.pipeline import Pipeline

# How each detector's boxes map onto FDDB's ellipse-derived boxes (forehead included): median
# ratios over matched faces of faces-dev, from scripts/fit_box_adjust.py (which also reports the
# cross-validated AP of doing so).
FDDB_ADJUST = {
    "blazeface-onet": BoxAdjust(1.141, 1.281, -0.075),
    "blazeface-full": BoxAdjust(0.961, 1.443, -0.144),
    "blazeface-short": BoxAdjust(0.981, 1.481, -0.193),
    "mtcnn": BoxAdjust(1.147, 1.281, -0.077),
}
AP_SCORE_FLOOR = 0.1  # detections kept for the precision-recall curve


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


def read_annotations(data: str | Path) -> list[dict]:
    root = Path(data)
    path = root / "annotations.json"
    try:
        images = json.loads(path.read_text())["images"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SystemExit(
            f"{path}: expected {{'images': [{{'file': .., 'boxes': [[x, y, w, h], ..]}}]}} ({exc})"
        ) from None
    for entry in images:
        if "file" not in entry or "boxes" not in entry:
            raise SystemExit(f"{path}: every image needs 'file' and 'boxes'")
    return images


def evaluate_detector(
    data: str | Path, detector: FaceDetector, name: str, threshold: float, adjust: BoxAdjust | None = None
) -> DetectorReport:
    """AP over detections scored >= AP_SCORE_FLOOR; recall and FP/image at ``threshold``.

    The detector must have been created with its score threshold at AP_SCORE_FLOOR. Time per
    image covers the detector alone (letterbox, inference, decoding), not JPEG decoding.
    """
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
    at50 = score_detections(per_image, threshold, 0.5)
    at40 = score_detections(per_image, threshold, 0.4)
    return DetectorReport(
        name,
        at50.images,
        at50.faces,
        at50.ap50,
        at40.ap50,
        at50.recall,
        at50.fp_per_image,
        threshold,
        float(np.median(times) * 1e3),
        asdict(adjust),
    )


@dataclass(frozen=True)
class PipelineReport:
    n: int
    accuracy: float
    macro_f1: float
    no_face: int
    per_class: dict
    confusion: list


def labelled_photos(data: str | Path) -> list[tuple[Path, int]]:
    root = Path(data)
    if not root.is_dir():
        raise SystemExit(f"{root}: expected a folder of <class>/<photo>")
    items = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if class_dir.name not in EMOTIONS:
            raise SystemExit(f"{class_dir}: unknown class folder; expected one of {', '.join(EMOTIONS)}")
        items += [
            (f, EMOTIONS.index(class_dir.name))
            for f in sorted(class_dir.iterdir())
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]
    if not items:
        raise SystemExit(f"{root}: no photos found in <class>/ folders")
    return items


def largest_face_label(pipeline: Pipeline, rgb: np.ndarray) -> int:
    """Emotion index of the largest detected face, or -1 when no face is found."""
    faces = pipeline.detector.detect(rgb)
    if not faces:
        return -1
    largest = max(faces, key=lambda f: f.box.area)
    return EMOTIONS.index(pipeline.classifier.classify(rgb, [largest.box])[0].label)


def evaluate_pipeline(data: str | Path, pipeline: Pipeline) -> PipelineReport:
    """Largest detected face per photo; a photo with no face counts as wrong."""
    photos = labelled_photos(data)
    truth_a = np.array([label for _, label in photos])
    pred_a = np.array([largest_face_label(pipeline, read_image(path)) for path, _ in photos])
    no_face = int((pred_a < 0).sum())
    found = pred_a >= 0
    report = classification_report(truth_a[found], pred_a[found])
    accuracy = float((truth_a == pred_a).mean())
    # Scores over all photos: a missed face is a wrong answer for its class.
    full = classification_report(truth_a, np.where(found, pred_a, (truth_a + 1) % len(EMOTIONS)))
    return PipelineReport(
        len(truth_a),
        accuracy,
        full.macro_f1,
        no_face,
        {k: asdict(v) for k, v in report.per_class.items()},
        report.confusion,
    )
