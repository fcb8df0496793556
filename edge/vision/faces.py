"""The faces of one frame with their emotions: found and classified every frame (stills, or
tracking off), or through the tracker, which decides per frame between a full detection,
following the known faces and nothing, and which faces to classify again."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from moodcast.edge.vision.detectors import Face, FaceDetector
from moodcast.edge.vision.detectors.base import FollowingDetector
from moodcast.edge.vision.emotion import Emotion, EmotionClassifier
from moodcast.edge.vision.tracker import FaceTracker, Step


@dataclass(frozen=True)
class FaceResult:
    face: Face
    emotion: Emotion | None  # None: not classified, ``why`` says why
    track_id: int | None = None  # the same while the face stays in view (video); None for stills
    why: str | None = None

    def __post_init__(self):
        if (self.emotion is None) == (self.why is None):
            raise ValueError("a face has an emotion or a reason it has none, not both")

    @classmethod
    def unclassified(cls, face: Face, why: str, track_id: int | None = None) -> FaceResult:
        return cls(face, None, track_id, why)

    def as_dict(self, box_scale: float = 1.0) -> dict:
        """``box_scale``: pixels of the reported image per pixel of the analysed frame. An
        unclassified face has null emotion, confidence and probabilities and says ``why``."""
        track = {} if self.track_id is None else {"id": self.track_id}
        e = self.emotion
        return {
            **track,
            "box": self.face.box.scaled(box_scale).as_list(),
            "score": round(self.face.score, 4),
            "classified": e is not None,
            **({} if self.why is None else {"why": self.why}),
            "emotion": e.label if e else None,
            "confidence": round(e.confidence, 4) if e else None,
            "probabilities": e.as_dict() if e else None,
        }


@dataclass(frozen=True)
class FacesFound:
    """A frame's faces, what the detector did (``step``), how many faces were classified, and
    what finding and classifying them cost."""

    results: list[FaceResult]
    step: Step
    classified: int
    detect_ms: float
    classify_ms: float
    capped: bool = False  # the detector found more faces than it may report


class FaceStage(Protocol):
    detector: FaceDetector
    classifier: EmotionClassifier

    def run(self, rgb: np.ndarray, ts: float, moving: bool) -> FacesFound: ...


class EveryFace:
    """Every face detected and classified in every frame. With ``cap``, the detector keeps one
    face more than ``cap`` (its ``max_faces``), so that a frame with more faces than may be
    reported is known as such: the best ``cap`` are kept and the result says it was capped. Faces
    under ``emotion.min_face_px`` are reported without an emotion and left out of the invoke."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier, cap: int | None = None):
        self.detector, self.classifier, self.cap = detector, classifier, cap

    def run(self, rgb: np.ndarray, ts: float, moving: bool) -> FacesFound:
        t0 = time.perf_counter()
        faces = self.detector.detect(rgb)
        capped = self.cap is not None and len(faces) > self.cap
        faces = faces[: self.cap] if capped else faces
        t1 = time.perf_counter()
        why = [self.classifier.options.too_small(f.box) for f in faces]
        emotions = iter(self.classifier.classify(rgb, [f for f, w in zip(faces, why) if w is None]))
        t2 = time.perf_counter()
        results = [
            FaceResult(f, next(emotions)) if w is None else FaceResult.unclassified(f, w) for f, w in zip(faces, why)
        ]
        classified = why.count(None)
        return FacesFound(results, Step.DETECT, classified, (t1 - t0) * 1e3, (t2 - t1) * 1e3, capped)


class TrackedFaces:
    """Faces through ``tracker``: a full detection when it is due, else the known faces followed
    (a ``FollowingDetector``'s refinement around their last boxes) or held; only the faces due
    are classified, the others keep their last emotion. Faces under ``emotion.min_face_px`` are
    never due: they are reported without an emotion."""

    def __init__(self, detector: FaceDetector, classifier: EmotionClassifier, tracker: FaceTracker):
        self.detector, self.classifier, self.tracker = detector, classifier, tracker
        self._follower = detector if isinstance(detector, FollowingDetector) else None

    def run(self, rgb: np.ndarray, ts: float, moving: bool) -> FacesFound:
        t0 = time.perf_counter()
        step = self.tracker.step(ts, moving)
        if step is Step.DETECT:
            tracks = self.tracker.detected(self.detector.detect(rgb), ts)
        elif step is Step.FOLLOW and self._follower is not None:  # the tracker follows only when it can
            tracks = self.tracker.followed(self._follower.refine(rgb, [t.face.box for t in self.tracker.tracks]))
        else:
            tracks = self.tracker.tracks
        t1 = time.perf_counter()
        why = {id(t): self.classifier.options.too_small(t.face.box) for t in tracks}
        # A face too small to read is not classified; once it grows, its moved box makes it due.
        due = [t for t in self.tracker.due() if why.get(id(t)) is None]
        self.tracker.classified(due, self.classifier.classify(rgb, [t.face for t in due]))
        t2 = time.perf_counter()
        # Every readable track is classified by now: a track is due until it has an emotion.
        results = [
            FaceResult(t.face, t.emotion, t.id) if w is None else FaceResult.unclassified(t.face, w, t.id)
            for t in tracks
            if (w := why[id(t)]) is not None or t.emotion is not None
        ]
        return FacesFound(results, step, len(due), (t1 - t0) * 1e3, (t2 - t1) * 1e3)
