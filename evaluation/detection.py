"""Face-detection scores: VOC all-point AP, recall and false positives at a threshold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from moodcast.edge.vision.detectors.base import iou_matrix


@dataclass(frozen=True)
class BoxAdjust:
    """Maps a detector's box onto the annotation style of a data set (FDDB boxes include the
    forehead): width and height scaled about the centre, then the centre moved by ``shift_y``
    box heights (negative = up)."""

    scale_w: float = 1.0
    scale_h: float = 1.0
    shift_y: float = 0.0

    def apply(self, boxes: np.ndarray) -> np.ndarray:
        if len(boxes) == 0:
            return boxes
        cx = boxes[:, 0] + boxes[:, 2] / 2
        cy = boxes[:, 1] + boxes[:, 3] / 2 + self.shift_y * boxes[:, 3]
        w, h = boxes[:, 2] * self.scale_w, boxes[:, 3] * self.scale_h
        return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


@dataclass(frozen=True)
class DetectionScores:
    ap50: float
    recall: float
    fp_per_image: float
    images: int
    faces: int


def match(dets: np.ndarray, scores: np.ndarray, truth: np.ndarray, iou: float) -> np.ndarray:
    """True where a detection (best score first) claims a still unmatched true box."""
    hit = np.zeros(len(dets), bool)
    if len(dets) == 0 or len(truth) == 0:
        return hit
    overlaps = iou_matrix(dets, truth)
    taken = np.zeros(len(truth), bool)
    for i in np.argsort(-scores):
        candidates = np.where(taken, -1.0, overlaps[i])
        j = int(np.argmax(candidates))
        if candidates[j] >= iou:
            taken[j] = True
            hit[i] = True
    return hit


def average_precision(hits: np.ndarray, scores: np.ndarray, n_truth: int) -> float:
    """VOC all-point interpolated AP over detections pooled from all images."""
    if n_truth == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = np.concatenate([[0.0], tp / n_truth, [tp[-1] / n_truth if len(tp) else 0.0]])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(recall) * precision[1:]))


def score_detections(
    per_image: list[tuple[np.ndarray, np.ndarray, np.ndarray]], threshold: float, iou: float = 0.5
) -> DetectionScores:
    """``per_image``: (detected boxes, their scores, true boxes), boxes as x, y, w, h."""
    all_hits, all_scores = [], []
    n_truth = 0
    tp_at = fp_at = 0
    for dets, scores, truth in per_image:
        hits = match(dets, scores, truth, iou)
        all_hits.append(hits)
        all_scores.append(scores)
        n_truth += len(truth)
        above = scores >= threshold
        # Recall at the threshold is matched again on the kept boxes alone.
        hits_at = match(dets[above], scores[above], truth, iou)
        tp_at += int(hits_at.sum())
        fp_at += int((~hits_at).sum())
    hits = np.concatenate(all_hits) if all_hits else np.zeros(0, bool)
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    return DetectionScores(
        ap50=average_precision(hits, scores, n_truth),
        recall=tp_at / max(n_truth, 1),
        fp_per_image=fp_at / max(len(per_image), 1),
        images=len(per_image),
        faces=n_truth,
    )
