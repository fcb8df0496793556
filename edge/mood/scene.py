"""Scene state: one emotion for what the camera sees, smoothed over time so it does not flap.

Per frame, the faces' probabilities are combined (``largest`` face only, e.g. a car's driver, or
``room``: area-weighted mean), smoothed with an exponential moving average whose time constant
is in seconds (so it behaves the same at any frame rate), and the reported emotion changes only
when a new one has led by ``switch_margin`` for ``min_dwell_s``. "No face" is a state too: after
``no_face_after_s`` without a face the scene emotion becomes ``None``. Faces too small to read
(``emotion.min_face_px``) count as faces in view but carry no emotion: a scene of only such faces
is treated as one without a face (its emotion held, then ``None``) and says how many it could not
read (``unclassified``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from moodcast.edge.errors import ConfigError
from moodcast.edge.labels import EMOTIONS, probabilities_dict

# Circumplex coordinates (valence, arousal) of each emotion, after Russell (1980) and the
# placements commonly used for FER classes; neutral sits at the origin.
CIRCUMPLEX = {
    "angry": (-0.6, 0.7),
    "disgust": (-0.7, 0.3),
    "fear": (-0.6, 0.6),
    "happy": (0.8, 0.4),
    "neutral": (0.0, 0.0),
    "sad": (-0.7, -0.4),
    "surprise": (0.3, 0.8),
}
_VA = np.array([CIRCUMPLEX[e] for e in EMOTIONS], np.float32)


def valence_arousal(probabilities: np.ndarray) -> tuple[float, float]:
    """Expected (valence, arousal) under the emotion probabilities, each in [-1, 1]."""
    v, a = probabilities @ _VA
    return float(v), float(a)


MODES = ("largest", "room")


@dataclass(frozen=True)
class SceneOptions:
    """The ``[scene]`` settings."""

    mode: str = "largest"  # "largest": the biggest face (a car's driver); "room": area-weighted mean
    smoothing_s: float = 1.5  # EMA time constant; 0 = no smoothing
    min_dwell_s: float = 3.0  # a new emotion must lead this long before the scene switches
    switch_margin: float = 0.1  # ... by at least this much probability
    no_face_after_s: float = 2.0  # after this long without a face the scene emotion is None

    def __post_init__(self):
        if self.mode not in MODES:
            raise ConfigError(f"mode: must be {' or '.join(repr(m) for m in MODES)}, got {self.mode!r}")
        for key in ("smoothing_s", "min_dwell_s", "switch_margin", "no_face_after_s"):
            if getattr(self, key) < 0:
                raise ConfigError(f"{key}: must be >= 0, got {getattr(self, key)!r}")
        if self.switch_margin > 1:
            raise ConfigError(f"switch_margin: must be at most 1 (a probability), got {self.switch_margin!r}")

    def for_stills(self) -> SceneOptions:
        """The same mode for independent images: no smoothing, no hysteresis, no memory."""
        return dataclasses.replace(self, smoothing_s=0.0, min_dwell_s=0.0, switch_margin=0.0, no_face_after_s=0.0)


@dataclass(frozen=True)
class SceneFace:
    """What the scene needs of a face: its area and its probabilities."""

    area: float
    probabilities: np.ndarray


@dataclass(frozen=True)
class Scene:
    emotion: str | None  # None: nobody in view
    confidence: float
    probabilities: np.ndarray
    valence: float
    arousal: float
    faces: int  # in view, read or not
    changed: bool  # the reported emotion differs from the previous frame's
    unclassified: int = 0  # of ``faces``, those too small to read

    @classmethod
    def nobody(cls, faces: int = 0, changed: bool = False, unclassified: int = 0) -> Scene:
        """The scene with no emotion: nobody in view, no face readable, or no frame analysed."""
        return cls(None, 0.0, np.zeros(len(EMOTIONS), np.float32), 0.0, 0.0, faces, changed, unclassified)

    def as_dict(self) -> dict:
        """The scene as published (``.../state``) and answered (``analyze``, the API)."""
        return {
            "emotion": self.emotion,
            "confidence": round(self.confidence, 4),
            "probabilities": probabilities_dict(self.probabilities),
            "valence": round(self.valence, 4),
            "arousal": round(self.arousal, 4),
            "faces": self.faces,
            "unclassified": self.unclassified,
        }


def combine(faces: list[SceneFace], mode: str) -> np.ndarray:
    """One probability vector for a frame's faces."""
    if mode == "largest":
        return max(faces, key=lambda f: f.area).probabilities
    weights = np.array([f.area for f in faces], np.float32)
    stacked = np.stack([f.probabilities for f in faces])
    return (weights[:, None] * stacked).sum(0) / max(float(weights.sum()), 1e-6)


class SceneTracker:
    """Stateful: feed it every frame in time order."""

    def __init__(self, options: SceneOptions | None = None):
        self.options = options or SceneOptions()
        self._smoothed: np.ndarray | None = None
        self._last_ts: float | None = None
        self._last_face_ts: float | None = None
        self._emotion: str | None = None
        self._challenger: str | None = None
        self._challenger_since = 0.0

    def update(self, faces: list[SceneFace], ts: float, unclassified: int = 0) -> Scene:
        """``faces``: the frame's classified faces; ``unclassified``: how many more are in view
        too small to read (they count as faces, not as emotions)."""
        o = self.options
        previous = self._emotion
        dt = 0.0 if self._last_ts is None else max(ts - self._last_ts, 0.0)
        self._last_ts = ts
        if faces:
            current = combine(faces, o.mode)
            self._last_face_ts = ts
            if self._smoothed is None or o.smoothing_s == 0:
                self._smoothed = current.astype(np.float32)
            else:
                alpha = 1 - math.exp(-dt / o.smoothing_s)
                self._smoothed = (1 - alpha) * self._smoothed + alpha * current
            self._decide(ts)
        elif self._last_face_ts is None or ts - self._last_face_ts >= o.no_face_after_s - 1e-6:
            self._smoothed, self._emotion, self._challenger = None, None, None
        if self._smoothed is None:
            return Scene.nobody(len(faces) + unclassified, previous is not None, unclassified)
        probs = self._smoothed
        v, a = valence_arousal(probs)
        confidence = float(probs[EMOTIONS.index(self._emotion)])
        count = len(faces) + unclassified
        return Scene(self._emotion, confidence, probs, v, a, count, self._emotion != previous, unclassified)

    def _decide(self, ts: float) -> None:
        """Hysteresis: switch only to a leader that beat the current emotion for min_dwell_s."""
        probs = self._smoothed
        if probs is None:  # nothing seen since the last reset
            return
        leader = EMOTIONS[int(probs.argmax())]
        if self._emotion is None:
            self._emotion, self._challenger = leader, None
            return
        if leader == self._emotion:
            self._challenger = None
            return
        lead = probs[EMOTIONS.index(leader)] - probs[EMOTIONS.index(self._emotion)]
        if lead < self.options.switch_margin:
            self._challenger = None
            return
        if self._challenger != leader:
            self._challenger, self._challenger_since = leader, ts
        if ts - self._challenger_since >= self.options.min_dwell_s:
            self._emotion, self._challenger = leader, None
