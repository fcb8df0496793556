"""Smoothing, hysteresis and the no-face state on synthetic sequences; genre strategies."""

import numpy as np
import pytest

from moodcast.edge.errors import ConfigError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.preferences import Feedback, parse_feedback
from moodcast.edge.mood.recommend import STRATEGIES, GenreRecommender, RecommendOptions
from moodcast.edge.mood.scene import SceneFace, SceneOptions, SceneTracker, valence_arousal
from moodcast.edge.service.contract import Topics, discovery_payload, parse_command


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


@pytest.mark.parametrize(
    "key, text, value",
    [
        ("enabled", "ON", True),  # what Home Assistant's switch sends (discovery: payload_on)
        ("enabled", "OFF", False),
        ("enabled", " true\n", True),
        ("enabled", "no", False),
        ("enabled", "1", True),
        ("strategy", "uplift", "uplift"),
        ("preferences", " reset\n", "reset"),
    ],
)
def test_commands_parse(key, text, value):
    assert parse_command(key, text.encode()) == (key, value)


@pytest.mark.parametrize(
    "key, text, words",
    [
        ("enabled", "maybe", "enabled: must be ON/OFF or true/false, got 'maybe'"),
        ("strategy", "shuffle", "strategy: must be 'match' or 'uplift', got 'shuffle'"),
        ("volume", "11", "unknown setting 'volume'; settable: strategy, enabled, preferences"),
        ("preferences", "forget", "preferences: the only command is 'reset', got 'forget'"),
    ],
)
def test_bad_commands_say_why(key, text, words):
    with pytest.raises(ValueError) as info:
        parse_command(key, text.encode())
    assert str(info.value) == words


def test_home_assistant_controls_send_what_the_daemon_accepts():
    components = discovery_payload("pi", Topics("moodcast/pi"), 1)["cmps"]
    switch, select = components["moodcast_pi_enabled"], components["moodcast_pi_strategy"]
    assert parse_command("enabled", switch["payload_on"].encode())[1] is True
    assert parse_command("enabled", switch["payload_off"].encode())[1] is False
    assert [parse_command("strategy", o.encode())[1] for o in select["options"]] == list(STRATEGIES)
    reset = components["moodcast_pi_reset_preferences"]
    assert reset["command_topic"] == "moodcast/pi/set/preferences"
    assert parse_command("preferences", reset["payload_press"].encode()) == ("preferences", "reset")
    for outcome in ("liked", "disliked"):
        button = components[f"moodcast_pi_{outcome}"]
        assert button["command_topic"] == "moodcast/pi/feedback"
        assert parse_feedback(button["payload_press"].encode()) == Feedback(outcome)


def test_the_players_text_sensors_stay_within_home_assistants_state_limit():
    """Home Assistant refuses a state over 255 characters; the player's templates cut the text
    (rendered here with Jinja, the template language Home Assistant uses)."""
    import jinja2

    from moodcast.edge.service.contract import player_discovery_payload

    payload = player_discovery_payload("d1", Topics("moodcast/d1"), 1)
    env = jinja2.Environment()
    long_title = "ICY " * 200
    for key in ("genre", "track", "reason"):
        template = env.from_string(payload["cmps"][f"moodcast_d1_player_{key}"]["value_template"])
        assert len(template.render(value_json={key: long_title})) == 255
        assert template.render(value_json={key: "jazz"}) == "jazz"
        assert template.render(value_json={key: None}) == "none"
