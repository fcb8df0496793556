"""BlazeFace (MediaPipe's face detector), decoded in numpy.

Short range (128x128, 896 anchors) is made for faces within ~2 m of the camera, full range
(192x192, 2304 anchors) for smaller faces further away. Both letterbox the whole frame, take RGB
scaled to [-1, 1], and score with a sigmoid; overlapping candidates merge by weighted NMS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.detectors.base import Box, Face, weighted_nms
from edge.runtime import TFLiteModel


@dataclass(frozen=True)
class BlazeFaceVariant:
    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int  # 2 with MediaPipe's interpolated anchor, 1 without


VARIANTS = {
    "short": BlazeFaceVariant(128, (8, 16, 16, 16), 2),
    "full": BlazeFaceVariant(192, (4,), 1),
}


@dataclass(frozen=True)
class BlazeFaceOptions:
    model: Path
    variant: str = "short"
    score_threshold: float = 0.5
    nms_iou: float = 0.3
    num_threads: int = 1
    max_faces: int = 20


def shrink(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize to ``width`` x ``height``: halve by area-averaging while the image stays at least
    the target size, then bilinear for the rest.

    Anti-aliased like INTER_AREA, but OpenCV's area resize is fast only for a factor of exactly 2:
    640x480 -> 192x144 takes 0.1 ms this way, 0.6 ms as one INTER_AREA resize (one thread).
    """
    while image.shape[1] // 2 >= width and image.shape[0] // 2 >= height:
        image = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    if image.shape[:2] == (height, width):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def ssd_anchors(variant: BlazeFaceVariant) -> np.ndarray:
    """Anchor centres ``(N, 2)`` in [0, 1], as MediaPipe's SsdAnchorsCalculator makes them
    (fixed anchor size; layers with equal strides share one feature map)."""
    centres = []
    layer = 0
    while layer < len(variant.strides):
        stride = variant.strides[layer]
        same = sum(1 for s in variant.strides[layer:] if s == stride)
        per_cell = same * variant.anchors_per_layer
        cells = math.ceil(variant.input_size / stride)
        grid = (np.stack(np.meshgrid(np.arange(cells), np.arange(cells)), -1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, per_cell, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


class BlazeFace:
    """MediaPipe BlazeFace on a TFLite runtime."""

    name = "blazeface"

    def __init__(self, options: BlazeFaceOptions):
        if options.variant not in VARIANTS:
            raise ValueError(f"BlazeFace variant must be one of {sorted(VARIANTS)}, not {options.variant!r}")
        self.options = options
        self.variant = VARIANTS[options.variant]
        self.anchors = ssd_anchors(self.variant)
        self.model = TFLiteModel(options.model, options.num_threads)
        size = self.variant.input_size
        self.model.expect([(size, size, 3)], [(len(self.anchors), 16), (len(self.anchors), 1)])
        by_width = {s.shape[-1]: i for i, s in enumerate(self.model.outputs)}
        self._boxes_at, self._scores_at = by_width[16], by_width[1]
        self._canvas = np.zeros((1, size, size, 3), np.float32)
        self._placed: tuple[int, int] | None = None  # (width, height) of the image now on the canvas

    @classmethod
    def create_from_model_path(cls, path: str | Path, variant: str = "short", **kwargs) -> BlazeFace:
        return cls(BlazeFaceOptions(Path(path), variant, **kwargs))

    def _letterbox(self, rgb: np.ndarray) -> tuple[float, float, float]:
        """Fill the input canvas; return the scale and padding that map it back to the frame."""
        size = self.variant.input_size
        h, w = rgb.shape[:2]
        scale = size / max(h, w)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        small = shrink(rgb, nw, nh)
        px, py = (size - nw) // 2, (size - nh) // 2
        if (nw, nh) != self._placed:  # frames of one size share the padding: fill it once
            self._canvas.fill(-1.0)
            self._placed = (nw, nh)
        region = self._canvas[0, py : py + nh, px : px + nw]
        np.multiply(small, np.float32(2 / 255), out=region)
        region -= 1
        return scale, px, py

    def detect(self, rgb: np.ndarray) -> list[Face]:
        scale, px, py = self._letterbox(rgb)
        outputs = self.model.run(self._canvas)
        raw, logits = outputs[self._boxes_at][0], outputs[self._scores_at][0, :, 0]
        scores = 1 / (1 + np.exp(-np.clip(logits, -80, 80)))  # float32 exp overflows past ~88
        keep = scores >= self.options.score_threshold
        if not keep.any():
            return []
        size = self.variant.input_size
        raw, scores, anchors = raw[keep] / size, scores[keep], self.anchors[keep]
        centre = raw[:, :2] + anchors
        wh = raw[:, 2:4]
        boxes = np.concatenate([centre - wh / 2, wh], axis=1)
        keypoints = (raw[:, 4:].reshape(len(raw), -1, 2) + anchors[:, None, :]).reshape(len(raw), -1)
        faces = []
        for box, score, kps in weighted_nms(boxes, scores, keypoints, self.options.nms_iou)[: self.options.max_faces]:
            # From the letterboxed unit square back to frame pixels.
            x, y = (box[0] * size - px) / scale, (box[1] * size - py) / scale
            points = tuple(((kx * size - px) / scale, (ky * size - py) / scale) for kx, ky in kps.reshape(-1, 2))
            faces.append(
                Face(Box(float(x), float(y), float(box[2] * size / scale), float(box[3] * size / scale)), score, points)
            )
        return faces
