"""The MQTT contract: commands as the daemon parses them, and Home Assistant's discovery: its
controls send what the daemon accepts, and its templates (rendered with Jinja, the template
language Home Assistant uses) give states Home Assistant accepts for every state the daemon
publishes."""

import jinja2
import pytest

from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.mood.recommend import DEFAULT_GENRES, STRATEGIES
from moodcast.edge.service.contract import Topics, parse_command, parse_feedback, state_payload
from moodcast.edge.service.discovery import discovery_payload
from moodcast.edge.service.host import hardware_model


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

    from moodcast.edge.service.discovery import player_discovery_payload

    payload = player_discovery_payload("d1", Topics("moodcast/d1"), 1)
    env = jinja2.Environment()
    long_title = "ICY " * 200
    for key in ("genre", "track", "reason"):
        template = env.from_string(payload["cmps"][f"moodcast_d1_player_{key}"]["value_template"])
        assert len(template.render(value_json={key: long_title})) == 255
        assert template.render(value_json={key: "jazz"}) == "jazz"
        assert template.render(value_json={key: None}) == "none"


def render(component: dict, payload: dict) -> str:
    return jinja2.Environment().from_string(component["value_template"]).render(value_json=payload)


def test_emotion_and_genre_are_enum_sensors_whose_options_cover_every_state_published():
    """Home Assistant refuses an enum sensor's state that is not among its options."""
    genres = ["polka", "drone"]
    components = discovery_payload("pi", Topics("moodcast/pi"), 1, genres)["cmps"]
    emotion, genre = components["moodcast_pi_emotion"], components["moodcast_pi_genre"]
    assert emotion["device_class"] == genre["device_class"] == "enum"
    nobody = state_payload(None, enabled=True, source_ok=True)
    for e in EMOTIONS:
        assert render(emotion, {**nobody, "emotion": e}) == e
    assert sorted(render(emotion, {**nobody, "emotion": e}) for e in (*EMOTIONS, None)) == sorted(emotion["options"])
    assert sorted(render(genre, {**nobody, "genre": g}) for g in (*genres, None)) == sorted(genre["options"])
    assert render(genre, nobody) == "none" and render(emotion, nobody) == "none"
    assert set(discovery_payload("pi", Topics("moodcast/pi"), 1)["cmps"]["moodcast_pi_genre"]["options"]) == {
        *DEFAULT_GENRES,
        "none",
    }


def test_confidence_is_unknown_while_nobody_is_in_view_not_zero():
    """A numeric sensor's "None" is unknown to Home Assistant: no zeros in its statistics."""
    confidence = discovery_payload("pi", Topics("moodcast/pi"), 1)["cmps"]["moodcast_pi_confidence"]
    nobody = state_payload(None, enabled=False, source_ok=True)
    assert nobody["emotion"] is None and render(confidence, nobody) == "None"
    assert render(confidence, {**nobody, "emotion": "happy", "confidence": 0.8123}) == "81.0"
    fps = discovery_payload("pi", Topics("moodcast/pi"), 1)["cmps"]["moodcast_pi_fps"]
    assert render(fps, {"fps": None}) == "None" and render(fps, {"fps": 9.5}) == "9.5"


def test_the_device_names_its_hardware_and_learning_counts_as_a_total(tmp_path):
    payload = discovery_payload("pi", Topics("moodcast/pi"), 1, hardware="Raspberry Pi 5 Model B Rev 1.0")
    assert payload["dev"]["hw"] == "Raspberry Pi 5 Model B Rev 1.0"
    assert "hw" not in discovery_payload("pi", Topics("moodcast/pi"), 1)["dev"]
    assert payload["cmps"]["moodcast_pi_learned_updates"]["state_class"] == "total_increasing"
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 4 Model B Rev 1.5\0")
    assert hardware_model(model) == "Raspberry Pi 4 Model B Rev 1.5"
    assert hardware_model(tmp_path / "absent")  # the architecture elsewhere
