"""BlazeFace proposals refined by MTCNN's O-Net: BlazeFace's speed with MTCNN's accuracy.

BlazeFace (full range) proposes faces at a low score floor; each proposal, squared, goes through
O-Net (48x48) in one batch, which moves the box to the face's extent, adds five landmarks and
scores it again. The final score is the mean of the two scores: on faces-dev this ranks faces
better than either alone (see models/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.detectors.base import Box, Face
from edge.detectors.blazeface import BlazeFace, BlazeFaceOptions
from edge.detectors.mtcnn import ONet
from edge.runtime import TFLiteModel


@dataclass(frozen=True)
class RefinedOptions:
    blazeface: Path
    onet: Path
    score_threshold: float = 0.5  # on the final (mean) score
    # Faces BlazeFace scores low are often found by O-Net; below 0.05 (or past 32 proposals)
    # the extra O-Net passes cost more than they find (models/README.md).
    proposal_floor: float = 0.05  # BlazeFace score a proposal needs to be refined
    max_proposals: int = 32
    num_threads: int = 1
    max_faces: int = 10


class BlazeFaceOnet:
    name = "blazeface-onet"

    def __init__(self, options: RefinedOptions):
        self.options = options
        self.proposer = BlazeFace(
            BlazeFaceOptions(
                options.blazeface,
                "full",
                options.proposal_floor,
                num_threads=options.num_threads,
                max_faces=options.max_proposals,
            )
        )
        self.onet = ONet(options.onet, options.num_threads)

    @property
    def model(self) -> TFLiteModel:
        return self.proposer.model

    def detect(self, rgb: np.ndarray) -> list[Face]:
        proposals = self.proposer.detect(rgb)
        if not proposals:
            return []
        boxes = np.array([[f.box.x, f.box.y, f.box.w, f.box.h] for f in proposals], np.float32)
        first = np.array([f.score for f in proposals], np.float32)
        side = np.maximum(boxes[:, 2], boxes[:, 3])
        cx, cy = boxes[:, 0] + boxes[:, 2] / 2, boxes[:, 1] + boxes[:, 3] / 2
        rows = np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], axis=1)
        refined, second, marks = self.onet.refine(rgb, rows)
        scores = (first + second) / 2
        faces = []
        for i in np.argsort(-scores):
            if scores[i] < self.options.score_threshold or len(faces) == self.options.max_faces:
                break
            x1, y1, x2, y2 = refined[i]
            points = tuple((float(px), float(py)) for px, py in marks[i])
            faces.append(Face(Box(float(x1), float(y1), float(x2 - x1), float(y2 - y1)), float(scores[i]), points))
        return faces
