"""One frame through every stage: motion gate -> detect or follow -> classify -> scene -> recommend.
No I/O but the models. Independent images (``still``) skip the gate and the tracking."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from moodcast.edge.config import Config
from moodcast.edge.mood.recommend import GenreRecommender, Recommendation
from moodcast.edge.mood.scene import Scene, SceneFace, SceneTracker
from moodcast.edge.vision.detectors import Face, FaceDetector, create_detector
from moodcast.edge.vision.detectors.base import FollowingDetector
from moodcast.edge.vision.emotion import Emotion, EmotionClassifier
from moodcast.edge.vision.motion import MotionDetector
from moodcast.edge.vision.tracker import FaceTracker, Step


@dataclass(frozen=True)
class FaceResult:
    face: Face
    emotion: Emotion
    track_id: int | None = None  # the same while the face stays in view (video); None for stills

    def as_dict(self, box_scale: float = 1.0) -> dict:
        """``box_scale``: pixels of the reported image per pixel of the analysed frame."""
        track = {} if self.track_id is None else {"id": self.track_id}
        return {
            **track,
            "box": self.face.box.scaled(box_scale).as_list(),
            "score": round(self.face.score, 4),
            "emotion": self.emotion.label,
            "confidence": round(self.emotion.confidence, 4),
            "probabilities": self.emotion.as_dict(),
        }


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
        self,
        detector: FaceDetector,
        classifier: EmotionClassifier,
        scene: SceneTracker,
        recommender: GenreRecommender,
        motion: MotionDetector | None = None,
        tracker: FaceTracker | None = None,
    ):
        self.detector = detector
        self.classifier = classifier
        self.scene = scene
        self.recommender = recommender
        self.motion = motion
        self.tracker = tracker

    @classmethod
    def from_config(cls, config: Config, still: bool = False) -> Pipeline:
        """Build every stage from ``config``; ``still`` analyses independent images (no smoothing,
        no motion gate, no tracking)."""
        threads = config.runtime.threads
        scene = config.scene.for_stills() if still else config.scene
        detector = create_detector(config.detector, threads)
        motion = MotionDetector(config.motion) if config.motion.enabled and not still else None
        tracker = None
        if config.tracking.enabled and not still:
            tracker = FaceTracker(config.tracking, can_follow=isinstance(detector, FollowingDetector))
        return cls(
            detector,
            EmotionClassifier(config.emotion, threads),
            SceneTracker(scene),
            GenreRecommender(config.recommend),
            motion,
            tracker,
        )

    def process(self, rgb: np.ndarray, ts: float | None = None) -> FrameResult:
        ts = time.monotonic() if ts is None else ts
        t0 = time.perf_counter()
        moving = self.motion.detect(rgb).moving if self.motion else True
        t1 = time.perf_counter()
        step = self.tracker.step(ts, moving) if self.tracker else Step.DETECT
        if self.tracker is None:
            faces = self.detector.detect(rgb)
        elif step is Step.DETECT:
            tracks = self.tracker.detected(self.detector.detect(rgb), ts)
        elif step is Step.FOLLOW and isinstance(self.detector, FollowingDetector):  # can_follow said so
            tracks = self.tracker.followed(self.detector.refine(rgb, [t.face.box for t in self.tracker.tracks]))
        else:
            tracks = self.tracker.tracks
        t2 = time.perf_counter()
        if self.tracker is None:
            emotions = self.classifier.classify(rgb, faces)
            results = [FaceResult(f, e) for f, e in zip(faces, emotions)]
            classified = len(faces)
        else:
            due = self.tracker.due()
            self.tracker.classified(due, self.classifier.classify(rgb, [t.face for t in due]))
            # Every track is classified by now: a track is due until it has an emotion.
            results = [FaceResult(t.face, t.emotion, t.id) for t in tracks if t.emotion is not None]
            classified = len(due)
        t3 = time.perf_counter()
        scene = self.scene.update([SceneFace(r.face.box.area, r.emotion.probabilities) for r in results], ts)
        recommendation = self.recommender.recommend(scene, ts)
        t4 = time.perf_counter()
        timings = {
            "motion": (t1 - t0) * 1e3,
            "detect": (t2 - t1) * 1e3,
            "classify": (t3 - t2) * 1e3,
            "recommend": (t4 - t3) * 1e3,
        }
        return FrameResult(ts, results, scene, recommendation, timings, Work(moving, step, classified))
