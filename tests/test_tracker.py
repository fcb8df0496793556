"""The tracker's decisions, one by one: when to detect, follow or hold, ids, when to classify."""

import numpy as np

from moodcast.edge.vision.detectors.base import Box, Face
from moodcast.edge.vision.emotion import Emotion
from moodcast.edge.vision.tracker import FaceTracker, Step, TrackingOptions

HAPPY = Emotion("happy", 0.9, np.eye(7, dtype=np.float32)[3])


def face(x: float, y: float = 50, side: float = 80) -> Face:
    return Face(Box(x, y, side, side), 0.9)


def test_nobody_tracked_detects_on_motion_and_every_idle_period_anyway():
    tracker = FaceTracker(TrackingOptions(idle_detect_every_s=1.0))
    assert tracker.step(0.0, moving=False) is Step.DETECT  # nothing known yet
    tracker.detected([], 0.0)
    assert tracker.step(0.5, moving=False) is Step.HOLD
    assert tracker.step(0.6, moving=True) is Step.DETECT
    tracker.detected([], 0.6)
    assert tracker.step(1.5, moving=False) is Step.HOLD
    assert tracker.step(1.6, moving=False) is Step.DETECT  # a still arrival is found within a second


def test_tracked_faces_are_followed_on_motion_held_without_and_detected_periodically():
    tracker = FaceTracker(TrackingOptions(detect_every_s=1.0))
    tracker.detected([face(100)], 0.0)
    assert tracker.step(0.1, moving=True) is Step.FOLLOW
    assert tracker.step(0.2, moving=False) is Step.HOLD
    assert tracker.step(1.0, moving=False) is Step.DETECT
    assert FaceTracker(TrackingOptions(), can_follow=False, tracks=tracker.tracks).step(0.1, True) is Step.DETECT


def test_a_lost_face_means_a_detection_next_and_keeps_its_id_when_found_near():
    tracker = FaceTracker()
    (first,) = tracker.detected([face(100)], 0.0)
    assert tracker.followed([None]) == [] and tracker.step(0.1, moving=True) is Step.DETECT
    (again,) = tracker.detected([face(150)], 0.1)  # moved too far to follow, still near
    assert again.id == first.id
    (other,) = tracker.detected([face(500)], 0.2)  # somebody else, far away
    assert other.id != first.id


def test_detections_continue_the_tracks_they_overlap():
    tracker = FaceTracker()
    a, b = tracker.detected([face(100), face(400)], 0.0)
    b2, a2, c = tracker.detected([face(405), face(95), face(250, y=300)], 1.0)
    assert (a2.id, b2.id) == (a.id, b.id) and c.id not in (a.id, b.id)


def test_a_face_is_classified_again_every_k_frames_or_when_it_moves():
    tracker = FaceTracker(TrackingOptions(classify_every=3, still_iou=0.8))
    tracker.detected([face(100)], 0.0)
    due = []
    for x in (100, 101, 102, 103, 104, 160):  # still, then a jump
        tracker.tracks[0].face = face(x)
        now = tracker.due()
        due.append(bool(now))
        tracker.classified(now, [HAPPY] * len(now))
    assert due == [True, False, False, True, False, True]
    assert FaceTracker(TrackingOptions(enabled=False), tracks=tracker.tracks).due() == tracker.tracks


def test_two_tracks_that_follow_onto_one_face_become_one():
    tracker = FaceTracker()
    a, _b = tracker.detected([face(100), face(300)], 0.0)
    kept = tracker.followed([face(200), face(205)])  # both nets drifted onto the same face
    assert [t.id for t in kept] == [a.id] and tracker.step(0.1, moving=True) is Step.DETECT
