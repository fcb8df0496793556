"""MTCNN (Zhang et al. 2016): P-Net over an image pyramid, R-Net and O-Net on the proposals.

The cascade follows the ``mtcnn`` 1.0.0 package (min face 20 px, pyramid factor 0.709,
thresholds 0.6/0.7/0.8, NMS 0.5 and 0.7 by union, 0.7 by min after O-Net), in numpy and OpenCV.
Slow next to BlazeFace (every pyramid level is an invoke), but it finds small and turned faces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np

from moodcast.edge.vision.detectors.base import Box, Face, box_corners, overlap_matrix
from moodcast.edge.vision.runtime import TFLiteModel, dequantize, quantize

if TYPE_CHECKING:
    from moodcast.edge.vision.detectors import DetectorOptions


@dataclass(frozen=True)
class MtcnnOptions:
    pnet: Path
    rnet: Path
    onet: Path
    min_face: int = 20
    scale_factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8)
    num_threads: int = 1
    max_faces: int = 20


def nms(rows: np.ndarray, threshold: float, method: str = "union", sort: bool = True) -> np.ndarray:
    """Rows ``[x1, y1, x2, y2, score, ...]``: keep each that no better-scored kept row overlaps."""
    if len(rows) == 0:
        return rows
    if sort:
        rows = rows[np.argsort(-rows[:, 4], kind="stable")]
    overlap = overlap_matrix(rows[:, :4], rows[:, :4], method)
    keep = np.ones(len(rows), bool)
    for i in range(len(rows)):
        if keep[i]:
            keep[i + 1 :] &= overlap[i, i + 1 :] <= threshold
    return rows[keep]


def to_square(rows: np.ndarray) -> np.ndarray:
    rows = rows.copy()
    w, h = rows[:, 2] - rows[:, 0], rows[:, 3] - rows[:, 1]
    side = np.maximum(w, h)
    rows[:, 0] += w / 2 - side / 2
    rows[:, 1] += h / 2 - side / 2
    rows[:, 2:4] = rows[:, 0:2] + side[:, None]
    return rows


def regress(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    rows = rows.copy()
    w = rows[:, 2] - rows[:, 0] + 1
    h = rows[:, 3] - rows[:, 1] + 1
    rows[:, :4] += offsets * np.stack([w, h, w, h], axis=1)
    return rows


def normalize(pixels: np.ndarray) -> np.ndarray:
    """MTCNN's input scaling of 0-255 values."""
    return (pixels.astype(np.float32) - 127.5) / 128


def patches(image: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Bilinear crops resized to ``size``², sampled like tf.image.crop_and_resize, normalized.

    ``image`` is RGB ``uint8`` (cropping before normalizing touches only the patches); outside the
    image the patch is mid-grey, which normalizes to 0 as in the original.
    """
    h, w = image.shape[:2]
    out = np.empty((len(rows), size, size, 3), image.dtype)
    for i, (x1, y1, x2, y2) in enumerate(rows[:, :4]):
        # Output pixel j samples x = x1n*(W-1) + j*(x2n-x1n)*(W-1)/(size-1), with xn = x/W.
        ax = (x2 - x1) / w * (w - 1) / (size - 1)
        ay = (y2 - y1) / h * (h - 1) / (size - 1)
        m = np.array([[ax, 0, x1 / w * (w - 1)], [0, ay, y1 / h * (h - 1)]], np.float32)
        out[i] = cv2.warpAffine(
            image,
            m,
            (size, size),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(128, 128, 128),
        )
    return normalize(out)


def output_order(model: TFLiteModel, widths: tuple[int, ...]) -> list[int]:
    """Indices of a model's outputs, ordered by their last dimension as given."""
    by_width = {spec.shape[-1]: i for i, spec in enumerate(model.outputs)}
    return [by_width[w] for w in widths]


class ONet:
    """MTCNN's output network: moves square boxes to the face, scores them, adds five landmarks."""

    def __init__(self, path: Path, num_threads: int = 1):
        self.model = TFLiteModel(path, num_threads)
        self.model.expect([(48, 48, 3)], [(4,), (10,), (2,)])
        self._order = output_order(self.model, (4, 10, 2))

    def refine(self, rgb: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``x1, y1, x2, y2`` squares: regressed boxes, face scores and landmarks ``(N, 5, 2)``."""
        out = self.model.run(quantize(patches(rgb, squares, 48), self.model.inputs[0]))
        reg, marks, cls = (dequantize(out[i], self.model.outputs[i]) for i in self._order)
        w = squares[:, 2:3] - squares[:, 0:1] + 1
        h = squares[:, 3:4] - squares[:, 1:2] + 1
        xs = w * marks[:, 0:5] + squares[:, 0:1] - 1
        ys = h * marks[:, 5:10] + squares[:, 1:2] - 1
        return regress(squares[:, :4], reg), cls[:, 1], np.stack([xs, ys], axis=-1)


class RNet:
    """MTCNN's refinement network: moves square boxes towards the face and scores them (24x24)."""

    def __init__(self, path: Path, num_threads: int = 1):
        self.model = TFLiteModel(path, num_threads)
        self.model.expect([(24, 24, 3)], [(4,), (2,)])
        self._order = output_order(self.model, (4, 2))

    def refine(self, rgb: np.ndarray, squares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For ``x1, y1, x2, y2`` squares: regressed boxes and face scores."""
        out = self.model.run(quantize(patches(rgb, squares, 24), self.model.inputs[0]))
        reg, cls = (dequantize(out[i], self.model.outputs[i]) for i in self._order)
        return regress(squares[:, :4], reg), cls[:, 1]


def as_face(corners: np.ndarray, score: float, marks: np.ndarray) -> Face:
    x1, y1, x2, y2 = (float(v) for v in corners)
    return Face(Box(x1, y1, x2 - x1, y2 - y1), float(score), tuple((float(x), float(y)) for x, y in marks))


def refine_boxes(rnet: RNet, onet: ONet, rgb: np.ndarray, boxes: list[Box], threshold: float) -> list[Face | None]:
    """R-Net then O-Net on square boxes around ``boxes``: the face each finds, or None."""
    if not boxes:
        return []
    moved, second = rnet.refine(rgb, to_square(box_corners(boxes)))
    refined, third, marks = onet.refine(rgb, to_square(moved))
    scores = (second + third) / 2
    return [as_face(refined[i], scores[i], marks[i]) if scores[i] >= threshold else None for i in range(len(boxes))]


class Mtcnn:
    """The backend ``mtcnn``; its score threshold is O-Net's (the last of ``thresholds``)."""

    name = "mtcnn"
    model_files: ClassVar[tuple[str, ...]] = ("mtcnn_pnet.tflite", "mtcnn_rnet.tflite", "mtcnn_onet.tflite")
    default_score_threshold: ClassVar[float] = MtcnnOptions.thresholds[2]

    def __init__(self, options: MtcnnOptions):
        self.options = options
        t = options.num_threads
        self.pnet = TFLiteModel(options.pnet, t)
        self.rnet = RNet(options.rnet, t)
        self.onet = ONet(options.onet, t)
        self._p_order = [i for _, i in sorted((s.shape[-1], i) for i, s in enumerate(self.pnet.outputs))][::-1]

    @classmethod
    def create_from_model_dir(cls, folder: str | Path, **kwargs) -> Mtcnn:
        pnet, rnet, onet = (Path(folder) / f for f in cls.model_files)
        return cls(MtcnnOptions(pnet=pnet, rnet=rnet, onet=onet, **kwargs))

    @classmethod
    def from_options(cls, files: list[Path], options: DetectorOptions, num_threads: int) -> Mtcnn:
        pnet, rnet, onet = files
        thresholds = (*MtcnnOptions.thresholds[:2], options.threshold)
        return cls(
            MtcnnOptions(
                pnet=pnet,
                rnet=rnet,
                onet=onet,
                thresholds=thresholds,
                num_threads=num_threads,
                max_faces=options.max_faces,
            )
        )

    def refine(self, rgb: np.ndarray, boxes: list[Box]) -> list[Face | None]:
        """Each face followed from its box in an earlier frame by R-Net and O-Net (no pyramid)."""
        return refine_boxes(self.rnet, self.onet, rgb, boxes, self.options.thresholds[2])

    def _scales(self, h: int, w: int) -> list[float]:
        o = self.options
        count = round(-((math.log(min(h, w) / 12) / math.log(o.scale_factor)) + 1))
        return [12 / o.min_face * o.scale_factor**i for i in range(max(count, 0))]

    def _proposals(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        found = []
        for scale in self._scales(h, w):
            sh, sw = int(h * scale), int(w * scale)
            if min(sh, sw) < 12:
                break
            scaled = normalize(cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA))
            out = self.pnet.run(scaled[None])
            reg, cls = out[self._p_order[0]][0], out[self._p_order[1]][0]
            score = cls[:, :, 1]
            ys, xs = np.nonzero(score > self.options.thresholds[0])
            if len(ys) == 0:
                continue
            x1, y1 = xs * 2.0, ys * 2.0
            x2, y2 = x1 + 12, y1 + 12
            r = reg[ys, xs]
            rows = np.stack(
                [x1 + r[:, 0] * 12, y1 + r[:, 1] * 12, x2 + r[:, 2] * 12, y2 + r[:, 3] * 12, score[ys, xs]], axis=1
            )
            rows[:, :4] /= scale
            found.append(nms(rows, 0.5, sort=True))
        if not found:
            return np.zeros((0, 5), np.float32)
        return to_square(nms(np.concatenate(found), 0.7))

    def detect(self, rgb: np.ndarray) -> list[Face]:
        t = self.options.thresholds
        rows = self._proposals(rgb)
        if len(rows):
            boxes, scores = self.rnet.refine(rgb, rows)
            rows = np.concatenate([boxes, scores[:, None]], axis=1)
            rows = rows[rows[:, 4] > t[1]]
            rows = to_square(nms(rows, 0.7))
        if len(rows) == 0:
            return []
        boxes, scores, marks = self.onet.refine(rgb, rows)
        rows = np.concatenate([boxes, scores[:, None], marks.reshape(-1, 10)], axis=1)
        rows = nms(rows[rows[:, 4] > t[2]], 0.7, "min")[: self.options.max_faces]
        faces = []
        for r in rows:
            x1, y1 = max(r[0], 0.0), max(r[1], 0.0)
            x2, y2 = min(r[2], rgb.shape[1]), min(r[3], rgb.shape[0])
            points = tuple((float(px), float(py)) for px, py in r[5:15].reshape(5, 2))
            faces.append(Face(Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1)), float(r[4]), points))
        return faces
