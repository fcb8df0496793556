"""Score an emotion model (``.tflite`` on the device runtime, or ``.keras``) on labelled crops."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodcast.edge.errors import DatasetError, MissingExtraError, ModelError
from moodcast.edge.vision.emotion import EmotionClassifier, predict_probabilities
from moodcast.evaluation.degrade import Degradation
from moodcast.evaluation.metrics import ClassificationReport, classification_report
from moodcast.training import data as fer


def predict(model_path: str | Path, images: np.ndarray, flip_average: bool = True, batch: int = 256) -> np.ndarray:
    """Class probabilities for grey crops ``(N, S, S)`` with raw 0-255 values, as the device
    computes them (``flip_average``: with the mirrored crop, see edge.emotion)."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    x = images[..., None].astype(np.float32)
    if path.suffix == ".keras":
        try:
            import keras
        except ImportError:
            raise MissingExtraError("a .keras model", "train", "keras") from None
        try:
            model = keras.saving.load_model(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: not a readable Keras model ({exc})") from None
        probs = model.predict(x, batch_size=512, verbose=0)
        if flip_average:
            probs = (probs + model.predict(x[:, :, ::-1], batch_size=512, verbose=0)) / 2
        return probs
    model = EmotionClassifier.create_from_model_path(path).model  # checks the tensors, names the file
    size = model.inputs[0].shape[1]
    if x.shape[1] != size:
        raise ModelError(f"{path}: the model takes {size}x{size} crops; the data was read at {x.shape[1]}")
    return np.concatenate(
        [predict_probabilities(model, images[i : i + batch], flip_average) for i in range(0, len(images), batch)]
    )


def model_input_size(model_path: str | Path) -> int:
    """The crop side a model takes: read from a .tflite file; FER2013's own for a .keras model."""
    path = Path(model_path)
    if path.suffix == ".tflite":
        return EmotionClassifier.create_from_model_path(path).size
    return fer.FER_SIZE


@dataclass(frozen=True)
class EmotionEvaluation:
    report: ClassificationReport  # against the data's own labels
    ferplus: ClassificationReport | None = None  # against FER+'s majority, where there is one
    # The same crops degraded (evaluation.degrade), in the order asked, each against the labels.
    degraded: tuple[tuple[Degradation, ClassificationReport], ...] = ()

    def robustness_table(self) -> str:
        """Markdown: accuracy and macro-F1 clean and under each degradation, and the drop."""
        rows = ["| degradation of the crop | accuracy | macro-F1 | vs clean |", "|---|---|---|---|"]
        rows.append(f"| none | {self.report.accuracy:.2%} | {self.report.macro_f1:.3f} | |")
        for degradation, report in self.degraded:
            drop = 100 * (report.accuracy - self.report.accuracy)
            rows.append(f"| {degradation} | {report.accuracy:.2%} | {report.macro_f1:.3f} | {drop:+.2f} |")
        return "\n".join(rows)


def evaluate_emotion(
    model_path: str | Path,
    data: str | Path,
    split: str | None = None,
    flip_average: bool = True,
    ferplus_votes: str | Path | None = None,
    degradations: tuple[Degradation, ...] = (),
    seed: int = 0,
) -> EmotionEvaluation:
    """Score the model on the data's labels and, with ``ferplus_votes`` (``ferplus_labels.csv``
    or ``fer2013new.csv``, see training.data.read_ferplus_votes), also against FER+'s
    ten-annotator majority on the crops that have one (training.data.ferplus_majority); with
    ``degradations``, also on degraded copies of the crops (drawn from ``seed``)."""
    faces = fer.load(data, split, model_input_size(model_path))
    pred = predict(model_path, faces.images, flip_average).argmax(axis=1)
    ferplus = None
    if ferplus_votes is not None:
        index, labels = fer.ferplus_majority(faces, ferplus_votes)
        if len(index) == 0:
            raise DatasetError(
                f"{ferplus_votes}: no crop of {data} has a FER+ majority (ferplus_labels.csv is keyed by "
                "Kaggle paths; fer2013new.csv goes with fer2013.csv)"
            )
        ferplus = classification_report(labels, pred[index])
    degraded = tuple(
        (
            d,
            classification_report(
                faces.labels, predict(model_path, d(faces.images, seed), flip_average).argmax(axis=1)
            ),
        )
        for d in degradations
    )
    return EmotionEvaluation(classification_report(faces.labels, pred), ferplus, degraded)
