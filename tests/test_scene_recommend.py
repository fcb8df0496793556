"""Smoothing, hysteresis and the no-face state on synthetic sequences; genre strategies."""

import numpy as np
import pytest

from moodcast.edge.errors import ConfigError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.recommend import GenreRecommender, RecommendOptions
from moodcast.edge.mood.scene import SceneFace, SceneOptions, SceneTracker, valence_arousal


def probs(**kw) -> np.ndarray:
    p = np.array([kw.get(e, 0.0) for e in EMOTIONS], np.float32)
    return p / p.sum()


HAPPY = probs(happy=0.9, neutral=0.1)
SAD = probs(sad=0.9, neutral=0.1)


def feed(tracker, sequence, fps=10.0, start=0.0):
    return [
        tracker.update([SceneFace(100.0, p)] if p is not None else [], start + i / fps) for i, p in enumerate(sequence)
    ]


def test_single_frame_blip_does_not_flip_the_scene():
    tracker = SceneTracker(SceneOptions(smoothing_s=1.0, min_dwell_s=2.0))
    scenes = feed(tracker, [HAPPY] * 30 + [SAD] + [HAPPY] * 10)
    assert {s.emotion for s in scenes} == {"happy"}
    assert sum(s.changed for s in scenes) == 1  # only the first frame


def test_lasting_change_switches_after_the_dwell_time():
    tracker = SceneTracker(SceneOptions(smoothing_s=0.5, min_dwell_s=2.0))
    scenes = feed(tracker, [HAPPY] * 20 + [SAD] * 60)
    switch = next(i for i, s in enumerate(scenes) if s.emotion == "sad")
    # The smoothed "sad" must lead by the margin, then hold for 2 s (20 frames at 10 fps).
    assert 20 + 20 <= switch <= 20 + 35
    assert all(s.emotion == "sad" for s in scenes[switch:])


def test_alternating_input_does_not_flap():
    tracker = SceneTracker(SceneOptions(smoothing_s=1.0, min_dwell_s=1.0))
    scenes = feed(tracker, [HAPPY, SAD] * 50)
    assert sum(s.changed for s in scenes) <= 2


def test_no_face_becomes_a_state_after_the_timeout():
    tracker = SceneTracker(SceneOptions(no_face_after_s=1.0))
    scenes = feed(tracker, [HAPPY] * 5 + [None] * 20)
    assert scenes[5].emotion == "happy"  # a short gap keeps the scene
    gone = next(i for i, s in enumerate(scenes) if s.emotion is None)
    assert gone == 4 + 10  # last face at frame 4, 1 s later
    assert scenes[gone].changed and scenes[-1].faces == 0


def test_room_mode_weights_by_area_and_largest_picks_one():
    faces = [SceneFace(400.0, HAPPY), SceneFace(100.0, SAD)]
    room = SceneTracker(SceneOptions(mode="room", smoothing_s=0)).update(faces, 0.0)
    largest = SceneTracker(SceneOptions(mode="largest", smoothing_s=0)).update(faces, 0.0)
    np.testing.assert_allclose(room.probabilities, 0.8 * HAPPY + 0.2 * SAD, atol=1e-6)
    np.testing.assert_allclose(largest.probabilities, HAPPY)


def test_smoothing_is_frame_rate_independent():
    slow = feed(SceneTracker(SceneOptions(smoothing_s=1.0)), [HAPPY] + [SAD] * 5, fps=5)
    fast = feed(SceneTracker(SceneOptions(smoothing_s=1.0)), [HAPPY] + [SAD] * 20, fps=20)
    np.testing.assert_allclose(slow[-1].probabilities, fast[-1].probabilities, atol=1e-4)


def test_valence_arousal_of_pure_emotions():
    assert valence_arousal(probs(happy=1))[0] > 0.5
    assert valence_arousal(probs(sad=1))[0] < -0.5 and valence_arousal(probs(sad=1))[1] < 0
    assert valence_arousal(probs(neutral=1)) == (0.0, 0.0)


def scene_of(p, ts=0.0):
    return SceneTracker(SceneOptions(smoothing_s=0)).update([SceneFace(1.0, p)], ts)


def test_match_strategy_maps_each_emotion():
    rec = GenreRecommender(RecommendOptions(strategy="match"))
    assert rec.recommend(scene_of(HAPPY), 0).genre == "pop"
    assert rec.recommend(scene_of(SAD), 0).genre == "blues"
    nobody = SceneTracker().update([], 100.0)
    assert rec.recommend(nobody, 100).genre is None


def test_uplift_starts_congruent_then_climbs_toward_positive_valence():
    rec = GenreRecommender(RecommendOptions(strategy="uplift", step_s=60, step_valence=0.2))
    sad = scene_of(SAD)
    first = rec.recommend(sad, 0.0)
    assert first.genre == "blues"
    targets = [rec.recommend(sad, t).target_valence for t in (30, 61, 121, 181, 241, 600, 1200)]
    assert targets == sorted(targets) and targets[0] == first.target_valence
    assert targets[-1] == pytest.approx(0.5)
    genres = [rec.recommend(sad, t).genre for t in (0, 61, 241, 1200)]
    assert genres[0] == "blues" and genres[-1] != "blues"
    happy_genre = rec.recommend(scene_of(HAPPY), 1300).genre
    assert happy_genre == "pop"  # a good mood needs no lifting


def test_bad_options_name_the_key():
    with pytest.raises(ConfigError, match="strategy: must be 'match' or 'uplift'"):
        RecommendOptions(strategy="shuffle")
    with pytest.raises(ConfigError, match="match: names genres not in recommend.genres"):
        RecommendOptions(match={e: "polka" for e in EMOTIONS})
    with pytest.raises(ConfigError, match="mode: must be 'largest' or 'room'"):
        SceneOptions(mode="crowd")
