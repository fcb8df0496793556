"""YuNet following tracked faces: the same network at a small input (``yunet_follow.tflite``, 64x64)
on a square crop around each face's last box, instead of a full detection of the frame.

A crop twice the face's side shows the face at about half the small input's side, the size YuNet
sees best, wherever the face is in the frame; one small invoke per face costs a fraction of a full
detection. The face kept is the best one the crop shows that overlaps the last box; none: lost.
"""

from __future__ import annotations

import numpy as np

from moodcast.edge.vision.detectors.base import Box, Face, box_corners, overlap_matrix
from moodcast.edge.vision.detectors.blazeface import shrink
from moodcast.edge.vision.detectors.yunet import YuNet, YuNetNet, YuNetOptions, as_faces

CONTEXT = 2.0  # crop side per side of the face's last box (its larger side)
MIN_OVERLAP = 0.3  # IoU with the last box for a face in the crop to be the same face


def square_crop(canvas: np.ndarray, rgb: np.ndarray, box: Box) -> tuple[float, float, float]:
    """Put the square around ``box`` on ``canvas`` (1, S, S, 3), black outside the frame; return
    the scale and offset that map it back to the frame, as ``YuNet.letterbox`` does."""
    size = canvas.shape[2]
    side = max(1, round(CONTEXT * max(box.w, box.h)))
    x0, y0 = round(box.x + box.w / 2 - side / 2), round(box.y + box.h / 2 - side / 2)
    scale = size / side
    canvas.fill(0.0)
    h, w = rgb.shape[:2]
    ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if ix1 > ix0 and iy1 > iy0:
        dx, dy = round((ix0 - x0) * scale), round((iy0 - y0) * scale)
        dw = max(1, min(size - dx, round((ix1 - ix0) * scale)))
        dh = max(1, min(canvas.shape[1] - dy, round((iy1 - iy0) * scale)))
        canvas[0, dy : dy + dh, dx : dx + dw] = shrink(np.ascontiguousarray(rgb[iy0:iy1, ix0:ix1]), dw, dh)
    return scale, -x0 * scale, -y0 * scale


class YuNetFollowing(YuNet):
    """``yunet`` with a follow model: a ``FollowingDetector``."""

    def __init__(self, options: YuNetOptions):
        super().__init__(options)
        if options.follow is None:
            raise ValueError("YuNetFollowing needs options.follow, the follow model")
        self.follower = YuNetNet(options.follow, options.num_threads)

    def refine(self, rgb: np.ndarray, boxes: list[Box]) -> list[Face | None]:
        """Each face followed from its box in an earlier frame; None where the crop around it no
        longer shows a face scored at least the threshold over it."""
        found: list[Face | None] = []
        for box in boxes:
            scale, px, py = square_crop(self.follower.canvas, rgb, box)
            faces = as_faces(self.follower.run(self.options.score_threshold), scale, px, py)
            if not faces:
                found.append(None)
                continue
            overlap = overlap_matrix(box_corners([f.box for f in faces]), box_corners([box]))[:, 0]
            near = [(f.score, i) for i, f in enumerate(faces) if overlap[i] >= MIN_OVERLAP]
            found.append(faces[max(near)[1]] if near else None)
        return found
