"""Emotion classifier: face crops framed like FER2013's, through the int8 model, batched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from moodcast.edge.errors import ConfigError, ModelError
from moodcast.edge.labels import EMOTIONS, probabilities_dict
from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.vision.detectors.base import Box, Face
from moodcast.edge.vision.runtime import TFLiteModel, dequantize, quantize

MIN_FACE_PX = 24  # measured: see EmotionOptions.min_face_px


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
    # Turn each crop so the eyes are level (the detector's eye keypoints) before classifying; tilts
    # up to align_min_degrees are left as they are: FER2013's faces are not levelled either, and
    # the model was trained on turned crops. Both measured in models/README.md ("Face alignment").
    align: bool = True
    align_min_degrees: float = 12.0
    # Faces whose detector box (its larger side, in the analysed frame's pixels) is smaller are
    # reported but not classified: below it the model reads little more than noise
    # (scripts/face_size_floor.py, models/README.md "Small faces"). 0 classifies every face.
    min_face_px: int = MIN_FACE_PX

    def __post_init__(self):
        if not self.model:
            raise ConfigError("model: must name a .tflite file")
        if not 0 <= self.margin <= 2:
            raise ConfigError(f"margin: must be 0-2 (a share of the box side), got {self.margin!r}")
        if not 0 <= self.align_min_degrees <= 45:
            raise ConfigError(f"align_min_degrees: must be 0-45 degrees, got {self.align_min_degrees!r}")
        if not -1 <= self.shift_y <= 1:
            raise ConfigError(f"shift_y: must be between -1 and 1 box heights, got {self.shift_y!r}")
        if not 0 <= self.min_face_px <= 1000:
            raise ConfigError(f"min_face_px: must be 0-1000 pixels (0: classify every face), got {self.min_face_px!r}")

    def too_small(self, box: Box) -> str | None:
        """Why a face with this box is not classified (too small to read), or None."""
        side = max(box.w, box.h)
        if side >= self.min_face_px:
            return None
        return f"too small ({int(side)} px < {self.min_face_px} px)"


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


def crop_face(
    image: np.ndarray, box: Box, size: int, margin: float, shift_y: float = 0.0, angle: float = 0.0
) -> np.ndarray:
    """Grey ``size``² crop around ``box`` from an RGB (or grey) frame, turned by ``angle`` degrees
    (counter-clockwise as seen) about its centre; where the square leaves the frame, the edge
    pixels are repeated. Only the crop is converted to grey."""
    side = max(max(box.w, box.h) * (1 + margin), 1.0)
    cx, cy = box.x + box.w / 2, box.y + box.h / 2 + shift_y * box.h
    if not angle:
        return _square(image, cx, cy, side, size)
    # A turned square needs a larger upright one around it; resample once to the model's scale,
    # then turn and cut out the centre.
    grow = abs(np.cos(np.radians(angle))) + abs(np.sin(np.radians(angle)))
    big = size + 2 * int(np.ceil(size * (grow - 1) / 2))  # same parity: the centre cut is exact
    upright = _square(image, cx, cy, side * big / size, big)
    centre = ((big - 1) / 2, (big - 1) / 2)
    turned = cv2.warpAffine(
        upright,
        cv2.getRotationMatrix2D(centre, angle, 1.0),
        (big, big),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    start = (big - size) // 2
    return turned[start : start + size, start : start + size]


def _square(image: np.ndarray, cx: float, cy: float, side: float, size: int) -> np.ndarray:
    side = max(int(round(side)), 1)
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    h, w = image.shape[:2]
    # The part inside the frame (at least one pixel), then replicate its edges to the full square.
    xa, ya = min(max(x0, 0), w - 1), min(max(y0, 0), h - 1)
    xb, yb = max(min(x0 + side, w), xa + 1), max(min(y0 + side, h), ya + 1)
    region = image[ya:yb, xa:xb]
    pads = (ya - y0, y0 + side - yb, xa - x0, x0 + side - xb)  # top, bottom, left, right
    if any(pads):
        top, bottom, left, right = (max(p, 0) for p in pads)
        region = cv2.copyMakeBorder(region, top, bottom, left, right, cv2.BORDER_REPLICATE)
    crop = cv2.resize(region, (size, size), interpolation=cv2.INTER_AREA if side > size else cv2.INTER_LINEAR)
    return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop


def eye_tilt(face: Face, max_degrees: float = 45.0) -> float:
    """Degrees the line through the face's eyes (its first two keypoints) is turned from level,
    counter-clockwise as seen; 0 without them or past ``max_degrees`` (a landmark gone astray)."""
    if len(face.keypoints) < 2:
        return 0.0
    (x1, y1), (x2, y2) = sorted(face.keypoints[:2])
    # Image y points down: an eye line falling to the right is turned clockwise as seen.
    tilt = -float(np.degrees(np.arctan2(y2 - y1, x2 - x1)))
    return tilt if abs(tilt) <= max_degrees else 0.0


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

    def crops(self, rgb: np.ndarray, faces: list[Face]) -> np.ndarray:
        """The model's crops of ``faces`` in an RGB frame, framed by the options."""
        if not faces:
            return np.zeros((0, self.size, self.size), np.uint8)
        o = self.options
        return np.stack([crop_face(rgb, f.box, self.size, o.margin, o.shift_y, self._turn(f)) for f in faces])

    def _turn(self, face: Face) -> float:
        tilt = eye_tilt(face) if self.options.align else 0.0
        return -tilt if abs(tilt) > self.options.align_min_degrees else 0.0  # turned back by the tilt

    def classify(self, rgb: np.ndarray, faces: list[Face]) -> list[Emotion]:
        """One emotion per face of an RGB frame."""
        if not faces:
            return []
        return self.classify_crops(self.crops(rgb, faces))
