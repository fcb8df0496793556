"""Faces followed from frame to frame, and what each frame needs: a full detection, following the
known faces (the detector's cheap refinement nets around their last boxes), or nothing.

- Nobody tracked: the detector runs when the motion gate sees motion, and every
  ``idle_detect_every_s`` anyway (a person who arrives without moving is still found).
- Faces tracked: they are followed every frame that moves; a full detection runs every
  ``detect_every_s`` (for newcomers) and right after a face is lost.
- Each face keeps its track id while it is in view (detections are matched to tracks by overlap),
  and is classified again only every ``classify_every`` frames while its box barely moves: the
  scene's smoothing carries its emotion in between.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from moodcast.edge.errors import ConfigError
from moodcast.edge.vision.detectors.base import Box, Face, iou_matrix
from moodcast.edge.vision.emotion import Emotion


@dataclass(frozen=True)
class TrackingOptions:
    """The ``[tracking]`` settings."""

    enabled: bool = True  # false: a full detection and a classification of every face, every frame
    detect_every_s: float = 1.0  # full detection at least this often while faces are tracked
    idle_detect_every_s: float = 1.0  # ... and while nobody is, whatever the motion gate says
    classify_every: int = 3  # frames between classifications of a face whose box barely moved
    still_iou: float = 0.8  # overlap with the box it was classified at, above which a box "barely moved"
    match_iou: float = 0.3  # overlap for a detection to continue a track

    def __post_init__(self):
        for key in ("detect_every_s", "idle_detect_every_s"):
            if not 0 <= getattr(self, key) <= 60:
                raise ConfigError(f"{key}: must be 0-60 seconds, got {getattr(self, key)!r}")
        if not 1 <= self.classify_every <= 100:
            raise ConfigError(f"classify_every: must be 1-100 frames, got {self.classify_every!r}")
        for key in ("still_iou", "match_iou"):
            if not 0 < getattr(self, key) <= 1:
                raise ConfigError(f"{key}: must be in (0, 1], got {getattr(self, key)!r}")


class Step(Enum):
    DETECT = "detect"  # the full detector
    FOLLOW = "follow"  # the tracked faces, refined where they were
    HOLD = "hold"  # nothing moved: the tracked faces (or nobody) as they were


@dataclass
class Track:
    id: int
    face: Face
    emotion: Emotion | None = None
    classified_box: Box | None = None
    frames_since_classified: int = 0

    def due(self, options: TrackingOptions) -> bool:
        """Whether this frame should classify the face again."""
        if self.emotion is None or self.classified_box is None:
            return True
        if self.frames_since_classified + 1 >= options.classify_every:
            return True
        overlap = iou_matrix(_xywh([self.face.box]), _xywh([self.classified_box]))[0, 0]
        return overlap < options.still_iou


def _near(a: Box, b: Box) -> bool:
    """Centres closer than the larger box's side."""
    side = max(a.w, a.h, b.w, b.h)
    return abs((a.x + a.w / 2) - (b.x + b.w / 2)) < side and abs((a.y + a.h / 2) - (b.y + b.h / 2)) < side


def _xywh(boxes: list[Box]) -> np.ndarray:
    return np.array([[b.x, b.y, b.w, b.h] for b in boxes], np.float64).reshape(-1, 4)


@dataclass
class FaceTracker:
    """Stateful: ask ``step`` for each frame in time order, then report what was found."""

    options: TrackingOptions = field(default_factory=TrackingOptions)
    can_follow: bool = True  # the detector has refinement nets (BlazeFace alone has none)
    tracks: list[Track] = field(default_factory=list)
    _last_detection: float | None = None
    _lost: bool = False
    _missing: list[Track] = field(default_factory=list)  # lost since the last detection
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def step(self, ts: float, moving: bool) -> Step:
        o = self.options
        since = None if self._last_detection is None else ts - self._last_detection
        if not o.enabled or since is None or self._lost:
            return Step.DETECT
        if self.tracks:
            if since >= o.detect_every_s - 1e-6 or not self.can_follow:
                return Step.DETECT
            return Step.FOLLOW if moving else Step.HOLD
        if moving or since >= o.idle_detect_every_s - 1e-6:
            return Step.DETECT
        return Step.HOLD

    def detected(self, faces: list[Face], ts: float) -> list[Track]:
        """A full detection: each face continues the track it overlaps most, else one lost since
        the last detection whose box was near (a face that moved too fast to follow), else starts
        one."""
        self._last_detection, self._lost = ts, False
        old = self.tracks + self._missing
        taken: set[int] = set()
        tracks = []
        overlaps = iou_matrix(_xywh([f.box for f in faces]), _xywh([t.face.box for t in old])) if old else None
        for i, face in enumerate(faces):
            match = None
            if overlaps is not None:
                for j in np.argsort(-overlaps[i]):
                    near = overlaps[i, j] >= self.options.match_iou or (
                        j >= len(self.tracks) and _near(face.box, old[j].face.box)
                    )
                    if near and j not in taken:
                        match = old[j]
                        taken.add(j)
                        break
            if match is None:
                tracks.append(Track(next(self._ids), face))
            else:
                match.face = face
                tracks.append(match)
        self.tracks, self._missing = tracks, []
        return tracks

    def followed(self, faces: list[Face | None]) -> list[Track]:
        """The tracked faces refined in this frame (None: lost, so detect again next frame)."""
        kept: list[Track] = []
        for track, face in zip(self.tracks, faces):
            merged = (
                face is not None
                and kept
                and iou_matrix(_xywh([face.box]), _xywh([t.face.box for t in kept])).max() > 0.5
            )
            if face is None or merged:  # lost, or now on a face another track already follows
                self._lost = True
                self._missing.append(track)
            else:
                track.face = face
                kept.append(track)
        self.tracks = kept
        return kept

    def classified(self, tracks: list[Track], emotions: list[Emotion]) -> None:
        """Record the emotions of the tracks classified in this frame; the others age one frame."""
        done = {id(t) for t in tracks}
        for track, emotion in zip(tracks, emotions):
            track.emotion, track.classified_box, track.frames_since_classified = emotion, track.face.box, 0
        for track in self.tracks:
            if id(track) not in done:
                track.frames_since_classified += 1

    def due(self) -> list[Track]:
        """The tracks to classify in this frame."""
        if not self.options.enabled:
            return list(self.tracks)
        return [t for t in self.tracks if t.due(self.options)]
