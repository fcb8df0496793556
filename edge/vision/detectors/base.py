"""What every face detector returns, and the interface each backend implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in pixels, top-left origin."""

    x: float
    y: float
    w: float
    h: float

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    def scaled(self, factor: float) -> Box:
        return Box(self.x * factor, self.y * factor, self.w * factor, self.h * factor)

    def as_list(self) -> list[float]:
        return [round(self.x, 1), round(self.y, 1), round(self.w, 1), round(self.h, 1)]


@dataclass(frozen=True)
class Face:
    box: Box
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()  # eyes first (right, left as seen), then others


class FaceDetector(Protocol):
    """One backend: RGB ``uint8`` frame (H, W, 3) in, faces out, best first."""

    name: str

    def detect(self, rgb: np.ndarray) -> list[Face]: ...


@runtime_checkable
class FollowingDetector(FaceDetector, Protocol):
    """A backend that can also follow faces it was shown: ``refine`` checks each box again in a new
    frame (MTCNN's R-Net and O-Net), giving the face there or None where it is gone."""

    def refine(self, rgb: np.ndarray, boxes: list[Box]) -> list[Face | None]: ...


def overlap_matrix(a: np.ndarray, b: np.ndarray, method: str = "union") -> np.ndarray:
    """Pairwise overlap of boxes ``(N, 4)`` and ``(M, 4)`` given as corners x1, y1, x2, y2: IoU
    (``"union"``) or the intersection over the smaller area (``"min"``)."""
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None] - inter
    denom = np.minimum(area_a[:, None], area_b[None]) if method == "min" else union
    return np.divide(inter, denom, out=np.zeros_like(inter), where=denom > 0)


def corners(boxes: np.ndarray) -> np.ndarray:
    """x, y, w, h boxes as x1, y1, x2, y2."""
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:4]], axis=1)


def box_corners(boxes: list[Box]) -> np.ndarray:
    """``Box`` objects as rows x1, y1, x2, y2 ``(N, 4)``."""
    return np.array([[b.x, b.y, b.x + b.w, b.y + b.h] for b in boxes], np.float32).reshape(-1, 4)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between boxes ``(N, 4)`` and ``(M, 4)`` given as x, y, w, h."""
    return overlap_matrix(corners(a), corners(b))


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, extra: np.ndarray, iou: float
) -> list[tuple[np.ndarray, float, np.ndarray]]:
    """MediaPipe's weighted non-maximum suppression.

    Each kept detection is the score-weighted mean (box and ``extra``, e.g. keypoints) of the
    candidates that overlap the best remaining one by more than ``iou``; it keeps the best score.
    """
    order = np.argsort(-scores)
    boxes, scores, extra = boxes[order], scores[order], extra[order]
    overlaps = iou_matrix(boxes, boxes) > iou
    alive = np.ones(len(scores), bool)
    kept = []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        group = alive & overlaps[i]
        group[i] = True
        w = scores[group][:, None]
        kept.append(((boxes[group] * w).sum(0) / w.sum(), float(scores[i]), (extra[group] * w).sum(0) / w.sum()))
        alive &= ~group
    return kept
