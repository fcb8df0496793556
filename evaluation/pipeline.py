"""Measure the whole pipeline on labelled photos: ``<class>/<photo>`` folders (expressions-dev)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from moodcast.edge.errors import DatasetError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import IMAGE_SUFFIXES, read_image
from moodcast.evaluation.metrics import ClassificationReport, classification_report

NO_FACE = -1  # the prediction for a photo where no face was found


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
        raise DatasetError(f"{root}: expected a folder of <class>/<photo>")
    items = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if class_dir.name not in EMOTIONS:
            raise DatasetError(f"{class_dir}: unknown class folder; expected one of {', '.join(EMOTIONS)}")
        items += [
            (f, EMOTIONS.index(class_dir.name))
            for f in sorted(class_dir.iterdir())
            if f.suffix.lower() in IMAGE_SUFFIXES
        ]
    if not items:
        raise DatasetError(f"{root}: no photos found in <class>/ folders")
    return items


def largest_face_label(pipeline: Pipeline, rgb: np.ndarray) -> int:
    """Emotion index of the largest detected face, or NO_FACE."""
    faces = pipeline.detector.detect(rgb)
    if not faces:
        return NO_FACE
    largest = max(faces, key=lambda f: f.box.area)
    return EMOTIONS.index(pipeline.classifier.classify(rgb, [largest])[0].label)


def score_with_misses(truth: np.ndarray, pred: np.ndarray) -> ClassificationReport:
    """Scores over all photos, a photo with no face (NO_FACE) counted as a wrong answer for its class."""
    truth, pred = np.asarray(truth), np.asarray(pred)
    wrong = (truth + 1) % len(EMOTIONS)
    return classification_report(truth, np.where(pred == NO_FACE, wrong, pred))


def evaluate_pipeline(data: str | Path, pipeline: Pipeline) -> PipelineReport:
    """Largest detected face per photo; a photo with no face counts as wrong."""
    photos = labelled_photos(data)
    truth = np.array([label for _, label in photos])
    pred = np.array([largest_face_label(pipeline, read_image(path)) for path, _ in photos])
    found = pred != NO_FACE
    among_found = classification_report(truth[found], pred[found])
    overall = score_with_misses(truth, pred)
    return PipelineReport(
        n=len(truth),
        accuracy=overall.accuracy,
        macro_f1=overall.macro_f1,
        no_face=int((~found).sum()),
        per_class={k: asdict(v) for k, v in among_found.per_class.items()},
        confusion=among_found.confusion,
    )
