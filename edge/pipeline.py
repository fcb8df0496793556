"""One frame through every stage: detect -> classify -> scene -> recommend. No I/O but the models."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from edge.config import Config
from edge.detectors import Face, FaceDetector, create_detector
from edge.emotion import Emotion, EmotionClassifier
from edge.recommend import GenreRecommender, Recommendation
from edge.scene import Scene, SceneFace, SceneTracker


@dataclass(frozen=True)
class FaceResult:
    face: Face
    emotion: Emotion

    def as_dict(self, box_scale: float = 1.0) -> dict:
        """``box_scale``: pixels of the reported image per pixel of the analysed frame."""
        return {
            "box": self.face.box.scaled(box_scale).as_list(),
            "score": round(self.face.score, 4),
            "emotion": self.emotion.label,
            "confidence": round(self.emotion.confidence, 4),
            "probabilities": self.emotion.as_dict(),
        }


@dataclass(frozen=True)
class FrameResult:
    ts: float
    faces: list[FaceResult]
    scene: Scene
    recommendation: Recommendation
    timings_ms: dict[str, float]

    def as_dict(self, box_scale: float = 1.0) -> dict:
        """``box_scale``: pixels of the reported image per pixel of the analysed frame (a large
        image is analysed downscaled; its boxes are reported in its own pixels)."""
        return {
            "faces": [f.as_dict(box_scale) for f in self.faces],
            "scene": self.scene.as_dict(),
            "genre": self.recommendation.genre,
            "strategy": self.recommendation.strategy,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


class Pipeline:
    """The stages wired together; ``process`` one RGB frame at a time, in time order."""

    def __init__(
        self, detector: FaceDetector, classifier: EmotionClassifier, scene: SceneTracker, recommender: GenreRecommender
    ):
        self.detector = detector
        self.classifier = classifier
        self.scene = scene
        self.recommender = recommender

    @classmethod
    def from_config(cls, config: Config, still: bool = False) -> Pipeline:
        """Build every stage from ``config``; ``still`` analyses independent images (no smoothing)."""
        threads = config.runtime.threads
        scene = config.scene.for_stills() if still else config.scene
        return cls(
            create_detector(config.detector, threads),
            EmotionClassifier(config.emotion, threads),
            SceneTracker(scene),
            GenreRecommender(config.recommend),
        )

    def process(self, rgb: np.ndarray, ts: float | None = None) -> FrameResult:
        ts = time.time() if ts is None else ts
        t0 = time.perf_counter()
        faces = self.detector.detect(rgb)
        t1 = time.perf_counter()
        emotions = self.classifier.classify(rgb, [f.box for f in faces])
        t2 = time.perf_counter()
        scene = self.scene.update([SceneFace(f.box.area, e.probabilities) for f, e in zip(faces, emotions)], ts)
        recommendation = self.recommender.recommend(scene, ts)
        t3 = time.perf_counter()
        timings = {"detect": (t1 - t0) * 1e3, "classify": (t2 - t1) * 1e3, "recommend": (t3 - t2) * 1e3}
        return FrameResult(ts, [FaceResult(f, e) for f, e in zip(faces, emotions)], scene, recommendation, timings)
