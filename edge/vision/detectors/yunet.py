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
    # A second file of the same network at a small input, to follow tracked faces on a crop
    # around each (``YuNetFollowing``); None: full detections only.
    follow: Path | None = None


def follow_file(model: Path) -> Path:
    """Where the follow model of ``model`` is: beside it, ``<stem>_follow.tflite``."""
    return model.with_name(f"{model.stem}_follow.tflite")


class YuNetNet:
    """One YuNet file on the runtime: its input canvas and its candidates, decoded."""

    def __init__(self, path: Path, num_threads: int):
        self.model = TFLiteModel(path, num_threads)
        shape = self.model.inputs[0].shape
        if len(shape) != 4 or shape[3] != 3 or shape[1] % 32 or shape[2] % 32:
            raise ModelError(
                f"{path}: input {shape} is not an RGB image with sides multiples of 32; is it a YuNet model?"
            )
        self.height, self.width = int(shape[1]), int(shape[2])
        maps = [(self.height // s, self.width // s) for s in STRIDES]
        self.model.expect([(self.height, self.width, 3)], [(h, w, c) for h, w in maps for c in CHANNELS.values()])
        at = {spec.shape[1:]: i for i, spec in enumerate(self.model.outputs)}
        self._outputs = [{kind: at[(h, w, c)] for kind, c in CHANNELS.items()} for h, w in maps]
        # Cell coordinates (column, row) of each position of each stride's maps, row-major.
        self._cells = [np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).reshape(-1, 2) for h, w in maps]
        self.canvas = np.zeros((1, self.height, self.width, 3), np.float32)

    def candidates(self, outputs: list[np.ndarray], threshold: float) -> np.ndarray:
        """Rows ``[x1, y1, x2, y2, score, 10 landmark coordinates]`` in canvas pixels, scored at
        least ``threshold``, before NMS."""
        rows = []
        for stride, where, cells in zip(STRIDES, self._outputs, self._cells):
            probs = np.clip(outputs[where["score"]][0].reshape(-1, 2), 0, 1)
            scores = np.sqrt(probs[:, 0] * probs[:, 1])
            keep = np.nonzero(scores >= threshold)[0]
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

    def run(self, threshold: float) -> np.ndarray:
        """The candidates of what is on the canvas now."""
        return self.candidates(self.model.run(self.canvas), threshold)


def as_faces(rows: np.ndarray, scale: float, px: float, py: float) -> list[Face]:
    """Candidate rows in canvas pixels as faces in frame pixels (frame = (canvas - pad) / scale)."""
    faces = []
    for row in rows:
        x1, y1, x2, y2 = (row[:4] - (px, py, px, py)) / scale
        points = (row[5:].reshape(5, 2) - (px, py)) / scale
        box = Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1))
        faces.append(Face(box, float(row[4]), tuple((float(x), float(y)) for x, y in points)))
    return faces


class YuNet:
    """The backend ``yunet``: full detections; with a follow model beside the file, the tracker's
    following too (``YuNetFollowing``)."""

    name = "yunet"
    model_files: ClassVar[tuple[str, ...]] = ("yunet.tflite",)
    default_score_threshold: ClassVar[float] = YuNetOptions.score_threshold

    def __init__(self, options: YuNetOptions):
        self.options = options
        self.net = YuNetNet(options.model, options.num_threads)
        self.model, self.canvas = self.net.model, self.net.canvas
        self.height, self.width = self.net.height, self.net.width
        self._placed: tuple[int, int] | None = None

    @classmethod
    def from_options(cls, files: list[Path], options: DetectorOptions, num_threads: int) -> YuNet:
        follow = follow_file(files[0])
        settings = YuNetOptions(
            model=files[0],
            score_threshold=options.threshold,
            num_threads=num_threads,
            max_faces=options.max_faces,
            follow=follow if follow.is_file() else None,
        )
        if settings.follow is None:
            return cls(settings)
        from moodcast.edge.vision.detectors.yunet_follow import YuNetFollowing  # it imports this module

        return YuNetFollowing(settings)

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

    def decode(self, outputs: list[np.ndarray], scale: float, px: float, py: float) -> list[Face]:
        """Faces in frame pixels from the model's outputs for a canvas made by ``letterbox``."""
        rows = nms(self.net.candidates(outputs, self.options.score_threshold), self.options.nms_iou)
        return as_faces(rows[: self.options.max_faces], scale, px, py)
