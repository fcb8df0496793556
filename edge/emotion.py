"""Emotion classifier: face crops framed like FER2013's, through the int8 model, batched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.detectors.base import Box
from edge.errors import ConfigError, ModelError
from edge.labels import EMOTIONS, probabilities_dict
from edge.paths import MODELS_DIR
from edge.runtime import TFLiteModel, dequantize, quantize


@dataclass(frozen=True)
class EmotionOptions:
    """The ``[emotion]`` settings.

    FER2013 faces are framed wider than a detector's tight box: the crop side is the box's larger
    side times (1 + ``margin``), centred on the box moved down by ``shift_y`` box heights. The
    defaults were measured end to end on expressions-dev (scripts/crop_sweep.py, models/README.md).
    """

    model: str = str(MODELS_DIR / "emotion.tflite")
    margin: float = 0.10
    shift_y: float = -0.10
    flip_average: bool = True  # average each face with its mirror image (one batched invoke)

    def __post_init__(self):
        if not self.model:
            raise ConfigError("model: must name a .tflite file")
        if not 0 <= self.margin <= 2:
            raise ConfigError(f"margin: must be 0-2 (a share of the box side), got {self.margin!r}")
        if not -1 <= self.shift_y <= 1:
            raise ConfigError(f"shift_y: must be between -1 and 1 box heights, got {self.shift_y!r}")


@dataclass(frozen=True)
class Emotion:
    label: str
    confidence: float
    probabilities: np.ndarray  # (7,) in EMOTIONS order

    def as_dict(self) -> dict[str, float]:
        return probabilities_dict(self.probabilities)


def predict_probabilities(model: TFLiteModel, crops: np.ndarray, flip_average: bool = True) -> np.ndarray:
    """Class probabilities ``(N, 7)`` for grey crops ``(N, S, S)`` of raw 0-255 values.

    With ``flip_average`` each crop and its mirror image go through the model in the same batch
    and their probabilities are averaged (test-time augmentation the device can afford).
    """
    batch = np.concatenate([crops, crops[:, :, ::-1]]) if flip_average else crops
    x = quantize(batch.astype(np.float32)[..., None], model.inputs[0])
    probs = dequantize(model.run(x)[0], model.outputs[0])
    if flip_average:
        probs = (probs[: len(crops)] + probs[len(crops) :]) / 2
    return probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-6)


def crop_face(image: np.ndarray, box: Box, size: int, margin: float, shift_y: float = 0.0) -> np.ndarray:
    """Grey ``size``² crop around ``box`` from an RGB (or grey) frame; where the square leaves the
    frame, the edge pixels are repeated. Only the crop is converted to grey."""
    side = max(int(round(max(box.w, box.h) * (1 + margin))), 1)
    x0 = int(round(box.x + box.w / 2 - side / 2))
    y0 = int(round(box.y + box.h / 2 + shift_y * box.h - side / 2))
    h, w = image.shape[:2]
    # The part inside the frame (at least one pixel), then replicate its edges to the full square.
    xa, ya = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    xb, yb = max(min(x0 + side, w), xa + 1), max(min(y0 + side, h), ya + 1)
    region = image[ya:yb, xa:xb]
    pads = (ya - y0, y0 + side - yb, xa - x0, x0 + side - xb)  # top, bottom, left, right
    if any(pads):
        region = cv2.copyMakeBorder(region, *(max(p, 0) for p in pads), cv2.BORDER_REPLICATE)
    crop = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)
    return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop


class EmotionClassifier:
    """The 7-class expression model over grey crops; one invoke for all faces of a frame."""

    def __init__(self, options: EmotionOptions, num_threads: int = 1):
        self.options = options
        self.model = TFLiteModel(options.model, num_threads)
        spec = self.model.inputs[0]
        if len(spec.shape) != 4 or spec.shape[1] != spec.shape[2] or spec.shape[3] != 1:
            raise ModelError(f"{options.model}: expected a grey square input (1, S, S, 1), got {spec.shape}")
        self.model.expect([spec.shape[1:]], [(len(EMOTIONS),)])
        self.size = spec.shape[1]

    @classmethod
    def create_from_model_path(cls, path: str | Path, num_threads: int = 1, **kwargs) -> EmotionClassifier:
        return cls(EmotionOptions(model=str(path), **kwargs), num_threads)

    def classify_crops(self, crops: np.ndarray) -> list[Emotion]:
        """Grey ``uint8`` crops ``(N, S, S)`` already framed and sized."""
        if len(crops) == 0:
            return []
        probs = predict_probabilities(self.model, crops, self.options.flip_average)
        return [Emotion(EMOTIONS[int(p.argmax())], float(p.max()), p) for p in probs]

    def crops(self, rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
        o = self.options
        return (
            np.stack([crop_face(rgb, b, self.size, o.margin, o.shift_y) for b in boxes])
            if boxes
            else np.zeros((0, self.size, self.size), np.uint8)
        )

    def classify(self, rgb: np.ndarray, boxes: list[Box]) -> list[Emotion]:
        """One emotion per face box of an RGB frame."""
        if not boxes:
            return []
        return self.classify_crops(self.crops(rgb, boxes))
