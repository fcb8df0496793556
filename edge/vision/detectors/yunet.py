"""YuNet (libfacedetection.train), one stage: boxes, scores and five landmarks, decoded in numpy.

The shipped file is the project's int8 rebuild (`moodcast convert detector --arch yunet`): RGB
0..255 in, letterboxed with black padding; out, per stride 8, 16 and 32, three feature maps: the
class and objectness probabilities (2 channels), the box (4: centre offset in cells, log size in
strides) and the landmarks (10: offsets in cells). The score is the geometric mean of the two
probabilities, as upstream and OpenCV's ``FaceDetectorYN`` compute it; overlaps go by plain NMS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from moodcast.edge.errors import ModelError
from moodcast.edge.vision.detectors.base import Box, Face
from moodcast.edge.vision.detectors.blazeface import letterbox_geometry, shrink
from moodcast.edge.vision.detectors.mtcnn import nms
from moodcast.edge.vision.runtime import TFLiteModel

if TYPE_CHECKING:
    from moodcast.edge.vision.detectors import DetectorOptions

STRIDES = (8, 16, 32)
CHANNELS = {"score": 2, "bbox": 4, "kps": 10}


@dataclass(frozen=True)
class YuNetOptions:
    model: Path
    score_threshold: float = 0.6
    nms_iou: float = 0.3  # OpenCV's FaceDetectorYN default
    num_threads: int = 1
    max_faces: int = 10


class YuNet:
    """The backend ``yunet``."""

    name = "yunet"
    model_files: ClassVar[tuple[str, ...]] = ("yunet.tflite",)
    default_score_threshold: ClassVar[float] = YuNetOptions.score_threshold

    def __init__(self, options: YuNetOptions):
        self.options = options
        self.model = TFLiteModel(options.model, options.num_threads)
        shape = self.model.inputs[0].shape
        if len(shape) != 4 or shape[3] != 3 or shape[1] % 32 or shape[2] % 32:
            raise ModelError(
                f"{options.model}: input {shape} is not an RGB image with sides multiples of 32; is it a YuNet model?"
            )
        self.height, self.width = int(shape[1]), int(shape[2])
        maps = [(self.height // s, self.width // s) for s in STRIDES]
        self.model.expect([(self.height, self.width, 3)], [(h, w, c) for h, w in maps for c in CHANNELS.values()])
        at = {spec.shape[1:]: i for i, spec in enumerate(self.model.outputs)}
        self._outputs = [{kind: at[(h, w, c)] for kind, c in CHANNELS.items()} for h, w in maps]
        # Cell coordinates (column, row) of each position of each stride's maps, row-major.
        self._cells = [np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).reshape(-1, 2) for h, w in maps]
        self.canvas = np.zeros((1, self.height, self.width, 3), np.float32)
        self._placed: tuple[int, int] | None = None

    @classmethod
    def from_options(cls, files: list[Path], options: DetectorOptions, num_threads: int) -> YuNet:
        return cls(
            YuNetOptions(
                model=files[0], score_threshold=options.threshold, num_threads=num_threads, max_faces=options.max_faces
            )
        )

    def letterbox(self, rgb: np.ndarray) -> tuple[float, float, float]:
        """Fill ``self.canvas``; return the scale and padding that map it back to the frame."""
        scale, nw, nh, px, py = letterbox_geometry(rgb.shape[1], rgb.shape[0], self.width, self.height)
        if (nw, nh) != self._placed:
            self.canvas.fill(0.0)
            self._placed = (nw, nh)
        self.canvas[0, py : py + nh, px : px + nw] = shrink(rgb, nw, nh)
        return scale, px, py

    def detect(self, rgb: np.ndarray) -> list[Face]:
        scale, px, py = self.letterbox(rgb)
        return self.decode(self.model.run(self.canvas), scale, px, py)

    def candidates(self, outputs: list[np.ndarray]) -> np.ndarray:
        """Rows ``[x1, y1, x2, y2, score, 10 landmark coordinates]`` in canvas pixels, scored at
        least the threshold, before NMS."""
        rows = []
        for stride, where, cells in zip(STRIDES, self._outputs, self._cells):
            probs = np.clip(outputs[where["score"]][0].reshape(-1, 2), 0, 1)
            scores = np.sqrt(probs[:, 0] * probs[:, 1])
            keep = np.nonzero(scores >= self.options.score_threshold)[0]
            if not len(keep):
                continue
            bbox = outputs[where["bbox"]][0].reshape(-1, 4)[keep]
            kps = outputs[where["kps"]][0].reshape(-1, 5, 2)[keep]
            cell = cells[keep].astype(np.float32)
            centre = (cell + bbox[:, :2]) * stride
            size = np.exp(np.minimum(bbox[:, 2:4], 10)) * stride
            points = ((kps + cell[:, None, :]) * stride).reshape(-1, 10)
            rows.append(np.concatenate([centre - size / 2, centre + size / 2, scores[keep, None], points], axis=1))
        return np.concatenate(rows) if rows else np.zeros((0, 15), np.float32)

    def decode(self, outputs: list[np.ndarray], scale: float, px: float, py: float) -> list[Face]:
        """Faces in frame pixels from the model's outputs for a canvas made by ``letterbox``."""
        rows = nms(self.candidates(outputs), self.options.nms_iou)[: self.options.max_faces]
        faces = []
        for row in rows:
            x1, y1, x2, y2 = (row[:4] - (px, py, px, py)) / scale
            points = (row[5:].reshape(5, 2) - (px, py)) / scale
            box = Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1))
            faces.append(Face(box, float(row[4]), tuple((float(x), float(y)) for x, y in points)))
        return faces
