"""BlazeFace proposals checked by MTCNN's R-Net and O-Net: BlazeFace's speed, MTCNN's accuracy.

BlazeFace (full range) proposes faces at a low score floor, in place of MTCNN's image pyramid
and P-Net. As in MTCNN's cascade, each proposal, squared, goes through R-Net (24x24), which
moves it towards the face and scores it; those R-Net does not reject go through O-Net (48x48),
which sets the final box, adds five landmarks and scores the face again. O-Net was trained on
R-Net's boxes: started from them rather than from BlazeFace's it localizes more faces, and R-Net's
rejections save more O-Net time than R-Net costs. The final score is the mean of the three
scores: on faces-dev this ranks faces better than any one of them (models/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from moodcast.edge.vision.detectors.base import Box, Face, box_corners
from moodcast.edge.vision.detectors.blazeface import BlazeFace, BlazeFaceOptions
from moodcast.edge.vision.detectors.mtcnn import ONet, RNet, as_face, refine_boxes, to_square
from moodcast.edge.vision.runtime import TFLiteModel

if TYPE_CHECKING:
    from moodcast.edge.vision.detectors import DetectorOptions


@dataclass(frozen=True)
class RefinedOptions:
    blazeface: Path
    rnet: Path
    onet: Path
    score_threshold: float = 0.5  # on the final (mean) score
    # Faces BlazeFace scores low are often confirmed by R-Net and O-Net; below these floors (or
    # past 32 proposals) the extra checks cost more than they find (models/README.md).
    proposal_floor: float = 0.05  # BlazeFace score a proposal needs to be checked by R-Net
    rnet_floor: float = 0.05  # R-Net score a proposal needs to be checked by O-Net
    max_proposals: int = 32
    num_threads: int = 1
    max_faces: int = 10


class BlazeFaceOnet:
    """The backend ``blazeface-onet`` (the default)."""

    name = "blazeface-onet"
    model_files: ClassVar[tuple[str, ...]] = ("blazeface_full.tflite", "mtcnn_rnet.tflite", "mtcnn_onet.tflite")
    default_score_threshold: ClassVar[float] = RefinedOptions.score_threshold

    def __init__(self, options: RefinedOptions):
        self.options = options
        self.proposer = BlazeFace(
            BlazeFaceOptions(
                model=options.blazeface,
                variant="full",
                score_threshold=options.proposal_floor,
                num_threads=options.num_threads,
                max_faces=options.max_proposals,
            )
        )
        self.rnet = RNet(options.rnet, options.num_threads)
        self.onet = ONet(options.onet, options.num_threads)

    @classmethod
    def from_options(cls, files: list[Path], options: DetectorOptions, num_threads: int) -> BlazeFaceOnet:
        blazeface, rnet, onet = files
        return cls(
            RefinedOptions(
                blazeface=blazeface,
                rnet=rnet,
                onet=onet,
                score_threshold=options.threshold,
                proposal_floor=options.proposal_floor,
                num_threads=num_threads,
                max_faces=options.max_faces,
            )
        )

    @property
    def model(self) -> TFLiteModel:
        return self.proposer.model

    def detect(self, rgb: np.ndarray) -> list[Face]:
        proposals = self.proposer.detect(rgb)
        if not proposals:
            return []
        boxes = box_corners([f.box for f in proposals])
        first = np.array([f.score for f in proposals], np.float32)
        boxes, second = self.rnet.refine(rgb, to_square(boxes))
        kept = second >= self.options.rnet_floor
        if not kept.any():
            return []
        refined, third, marks = self.onet.refine(rgb, to_square(boxes[kept]))
        scores = (first[kept] + second[kept] + third) / 3
        faces: list[Face] = []
        for i in np.argsort(-scores):
            if scores[i] < self.options.score_threshold or len(faces) == self.options.max_faces:
                break
            faces.append(as_face(refined[i], scores[i], marks[i]))
        return faces

    def refine(self, rgb: np.ndarray, boxes: list[Box]) -> list[Face | None]:
        """Each face followed from its box in an earlier frame: R-Net and O-Net around it (no
        BlazeFace pass); None where they no longer see a face (the mean of their scores, below the
        score threshold)."""
        return refine_boxes(self.rnet, self.onet, rgb, boxes, self.options.score_threshold)
