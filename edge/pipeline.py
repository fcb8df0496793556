"""One frame through every stage: motion gate -> detect or follow -> classify -> scene -> recommend.
No I/O but the models. Independent images (``still``) skip the gate and the tracking."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from moodcast.edge.config import Config
from moodcast.edge.mood.recommend import GenreRecommender, Learned, Recommendation
from moodcast.edge.mood.scene import Scene, SceneFace, SceneTracker
from moodcast.edge.vision.detectors import FaceDetector, create_detector
from moodcast.edge.vision.detectors.base import FollowingDetector
from moodcast.edge.vision.emotion import EmotionClassifier
from moodcast.edge.vision.faces import EveryFace, FaceResult, FaceStage, TrackedFaces
from moodcast.edge.vision.motion import MotionDetector
from moodcast.edge.vision.tracker import FaceTracker, Step


@dataclass(frozen=True)
class Work:
    """What a frame cost: whether it moved, what the detector did, how many faces were classified."""

    moving: bool
    step: Step
    classified: int

    @property
    def gated(self) -> bool:
        return self.step is Step.HOLD

    def counts(self) -> dict[str, int]:
        """This frame in the counters of ``stats.work_per_s`` (keys: WORK_COUNTS)."""
        return {
            "gated": int(self.gated),
            "detections": int(self.step is Step.DETECT),
            "followed": int(self.step is Step.FOLLOW),
            "classified": self.classified,
        }


# What the analysed frames cost, counted: gated (nothing moved, nothing run), full detections,
# frames where tracked faces were followed, faces classified.
WORK_COUNTS = ("gated", "detections", "followed", "classified")


@dataclass(frozen=True)
class FrameResult:
    ts: float
    faces: list[FaceResult]
    scene: Scene
    recommendation: Recommendation
    timings_ms: dict[str, float]
    work: Work
    faces_capped: bool = False  # more faces were found than detector.max_faces lets through

    def as_dict(self, box_scale: float = 1.0) -> dict:
        """``box_scale``: pixels of the reported image per pixel of the analysed frame (a large
        image is analysed downscaled; its boxes are reported in its own pixels)."""
        return {
            "faces": [f.as_dict(box_scale) for f in self.faces],
            "scene": self.scene.as_dict(),
            "genre": self.recommendation.genre,
            "strategy": self.recommendation.strategy,
            "faces_capped": self.faces_capped,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }


class Pipeline:
    """The stages wired together; ``process`` one RGB frame at a time, in time order."""

    def __init__(
        self,
        faces: FaceStage,
        scene: SceneTracker,
        recommender: GenreRecommender,
        motion: MotionDetector | None = None,
    ):
        self.faces = faces
        self.scene = scene
        self.recommender = recommender
        self.motion = motion

    @classmethod
    def from_config(cls, config: Config, still: bool = False) -> Pipeline:
        """Build every stage from ``config``; ``still`` analyses independent images (no smoothing,
        no motion gate, no tracking)."""
        threads = config.runtime.threads
        scene = config.scene.for_stills() if still else config.scene
        motion = MotionDetector(config.motion) if config.motion.enabled and not still else None
        classifier = EmotionClassifier(config.emotion, threads)
        faces: FaceStage
        if config.tracking.enabled and not still:
            detector = create_detector(config.detector, threads)
            tracker = FaceTracker(config.tracking, can_follow=isinstance(detector, FollowingDetector))
            faces = TrackedFaces(detector, classifier, tracker)
        else:
            cap = config.detector.max_faces
            detector = create_detector(replace(config.detector, max_faces=cap + 1), threads)
            faces = EveryFace(detector, classifier, cap)
        return cls(faces, SceneTracker(scene), GenreRecommender(config.recommend), motion)

    @property
    def detector(self) -> FaceDetector:
        return self.faces.detector

    @property
    def classifier(self) -> EmotionClassifier:
        return self.faces.classifier

    @property
    def strategy(self) -> str:
        return self.recommender.strategy

    def set_strategy(self, strategy: str) -> None:
        self.recommender.set_strategy(strategy)

    def learn_from(self, preferences: Learned | None) -> None:
        """Recommend by what the listener taught (None: the tables alone)."""
        self.recommender.preferences = preferences

    def process(self, rgb: np.ndarray, ts: float | None = None) -> FrameResult:
        ts = time.monotonic() if ts is None else ts
        t0 = time.perf_counter()
        moving = self.motion.detect(rgb).moving if self.motion else True
        t1 = time.perf_counter()
        found = self.faces.run(rgb, ts, moving)
        t2 = time.perf_counter()
        read = [SceneFace(r.face.box.area, r.emotion.probabilities) for r in found.results if r.emotion is not None]
        scene = self.scene.update(read, ts, unclassified=len(found.results) - len(read))
        recommendation = self.recommender.recommend(scene, ts)
        t3 = time.perf_counter()
        timings = {
            "motion": (t1 - t0) * 1e3,
            "detect": found.detect_ms,
            "classify": found.classify_ms,
            "recommend": (t3 - t2) * 1e3,
        }
        return FrameResult(
            ts, found.results, scene, recommendation, timings, Work(moving, found.step, found.classified), found.capped
        )
