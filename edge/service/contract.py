"""The MQTT contract: topic names and payloads, built from the typed results.

Every payload here has a JSON Schema in ``schemas/`` and the tests validate against it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from moodcast.edge import __version__
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.preferences import OUTCOMES, Feedback
from moodcast.edge.mood.recommend import DEFAULT_GENRES, STRATEGIES, check_strategy
from moodcast.edge.mood.scene import Scene
from moodcast.edge.parsing import parse_bool, parse_json
from moodcast.edge.pipeline import FrameResult

ONLINE, OFFLINE = "online", "offline"
COMMANDS = ("strategy", "enabled", "preferences")
STATE_BYTES = 4096  # a larger .../state message is not a moodcast daemon's (ours are ~0.5 kB)
# The Emotion and Genre sensors' state while nobody is in view or analysis is off. Home Assistant
# keeps a template's "None" as a literal state of an enum sensor (only numeric sensors read it as
# unknown), so it is one of their declared options, offered in automations' dropdowns.
NO_VALUE = "none"


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def faces(self) -> str:
        return f"{self.prefix}/faces"

    @property
    def stats(self) -> str:
        return f"{self.prefix}/stats"

    @property
    def config(self) -> str:
        return f"{self.prefix}/config"

    @property
    def feedback(self) -> str:
        return f"{self.prefix}/feedback"

    @property
    def preferences(self) -> str:
        return f"{self.prefix}/preferences"

    @property
    def player(self) -> str:
        return f"{self.prefix}/player"

    @property
    def player_availability(self) -> str:
        return f"{self.prefix}/player/availability"

    @property
    def commands(self) -> str:
        return f"{self.prefix}/set/#"

    def command(self, key: str) -> str:
        return f"{self.prefix}/set/{key}"


def iso_now(ts: float | None = None) -> str:
    when = dt.datetime.now(dt.UTC) if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_payload(result: FrameResult | None, enabled: bool, source_ok: bool, wall_ts: float | None = None) -> dict:
    """``.../state`` without ``seq`` (the publisher numbers what it sends); ``result`` is None
    while analysis is disabled or before the first frame."""
    scene = result.scene if result else Scene.nobody()
    r = result.recommendation if result else None
    return {
        "ts": iso_now(wall_ts),
        **scene.as_dict(),
        "genre": r.genre if r else None,
        "strategy": r.strategy if r else None,
        "enabled": enabled,
        "source_ok": source_ok,
    }


def faces_payload(result: FrameResult, wall_ts: float | None = None) -> dict:
    return {"ts": iso_now(wall_ts), "faces": [f.as_dict() for f in result.faces]}


def device_block(device_id: str, hardware: str | None = None) -> dict:
    """The Home Assistant device both discovery messages name, so their entities are one device's;
    ``hardware`` (e.g. "Raspberry Pi 5 Model B Rev 1.0") where the machine tells it."""
    block = {
        "ids": [f"moodcast_{device_id}"],
        "name": f"moodcast {device_id}",
        "mf": "moodcast",
        "mdl": "moodcast edge",
        "sw": __version__,
    }
    return block | ({"hw": hardware} if hardware else {})


def discovery_payload(
    device_id: str,
    topics: Topics,
    qos: int,
    genres: Sequence[str] = tuple(DEFAULT_GENRES),
    hardware: str | None = None,
) -> dict:
    """Home Assistant MQTT *device* discovery: one config message for all components; ``genres``
    are the Genre sensor's options (``recommend.genres``)."""
    uid = f"moodcast_{device_id}"

    def sensor(key: str, name: str, template: str, **extra) -> tuple[str, dict]:
        return f"{uid}_{key}", {
            "p": "sensor",
            "name": name,
            "unique_id": f"{uid}_{key}",
            "value_template": template,
            **extra,
        }

    components = dict(
        [
            sensor(
                "emotion",
                "Emotion",
                f"{{{{ value_json.emotion if value_json.emotion else '{NO_VALUE}' }}}}",
                icon="mdi:emoticon-outline",
                device_class="enum",
                options=[*EMOTIONS, NO_VALUE],
                json_attributes_topic=topics.state,
                json_attributes_template="{{ value_json.probabilities | tojson }}",
            ),
            sensor(
                "genre",
                "Genre",
                f"{{{{ value_json.genre if value_json.genre else '{NO_VALUE}' }}}}",
                icon="mdi:music",
                device_class="enum",
                options=[*genres, NO_VALUE],
            ),
            # Unknown (None) rather than 0 % while nobody is in view: no zeros in the statistics.
            sensor(
                "confidence",
                "Confidence",
                "{{ ((value_json.confidence * 100) | round(0)) if value_json.emotion else None }}",
                unit_of_measurement="%",
                state_class="measurement",
            ),
            sensor("faces", "Faces", "{{ value_json.faces }}", state_class="measurement", icon="mdi:account-group"),
            sensor(
                "fps",
                "Frame rate",
                "{{ value_json.fps }}",
                state_topic=topics.stats,
                unit_of_measurement="fps",
                state_class="measurement",
                entity_category="diagnostic",
            ),
        ]
    )
    components[f"{uid}_strategy"] = {
        "p": "select",
        "name": "Strategy",
        "unique_id": f"{uid}_strategy",
        "options": list(STRATEGIES),
        "command_topic": topics.command("strategy"),
        "state_topic": topics.config,
        "value_template": "{{ value_json.strategy }}",
        "entity_category": "config",
    }
    components[f"{uid}_enabled"] = {
        "p": "switch",
        "name": "Analysis",
        "unique_id": f"{uid}_enabled",
        "command_topic": topics.command("enabled"),
        "state_topic": topics.config,
        "value_template": "{{ 'ON' if value_json.enabled else 'OFF' }}",
        "payload_on": "ON",
        "payload_off": "OFF",
        "entity_category": "config",
    }
    for outcome, name, icon in (("liked", "Like", "mdi:thumb-up"), ("disliked", "Dislike", "mdi:thumb-down")):
        components[f"{uid}_{outcome}"] = {
            "p": "button",
            "name": name,
            "unique_id": f"{uid}_{outcome}",
            "command_topic": topics.feedback,
            "payload_press": json.dumps(feedback_payload(Feedback(outcome)), separators=(",", ":")),
            "icon": icon,
        }
    components[f"{uid}_reset_preferences"] = {
        "p": "button",
        "name": "Reset preferences",
        "unique_id": f"{uid}_reset_preferences",
        "command_topic": topics.command("preferences"),
        "payload_press": "reset",
        "entity_category": "config",
    }
    components[f"{uid}_learned_updates"] = {
        "p": "sensor",
        "name": "Feedback learned",
        "unique_id": f"{uid}_learned_updates",
        "state_topic": topics.preferences,
        "value_template": "{{ value_json.updates }}",
        "state_class": "total_increasing",  # a reset of the preferences starts it again at 0
        "json_attributes_topic": topics.preferences,
        "json_attributes_template": "{{ value_json.emotions | tojson }}",
        "entity_category": "diagnostic",
    }
    return {
        "dev": device_block(device_id, hardware),
        "o": {"name": "moodcast", "sw": __version__},
        "cmps": components,
        "state_topic": topics.state,
        "availability_topic": topics.availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "qos": qos,
    }


HA_STATE_MAX = 255


def player_discovery_payload(device_id: str, topics: Topics, qos: int) -> dict:
    """The player's entities, under the daemon's device (same ``ids``), from ``.../player``."""
    uid = f"moodcast_{device_id}"
    components = {
        f"{uid}_player_playing": {
            "p": "binary_sensor",
            "name": "Playing",
            "unique_id": f"{uid}_player_playing",
            "value_template": "{{ 'ON' if value_json.playing else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "icon": "mdi:play",
        },
    }
    for key, name, icon in (
        ("genre", "Playing genre", "mdi:music-box"),
        ("track", "Track", "mdi:music-note"),
        ("reason", "Player", "mdi:information-outline"),
    ):
        components[f"{uid}_player_{key}"] = {
            "p": "sensor",
            "name": name,
            "unique_id": f"{uid}_player_{key}",
            # Home Assistant refuses a state over 255 characters (a long stream title would be one).
            "value_template": f"{{{{ (value_json.{key} or 'none')[:{HA_STATE_MAX}] }}}}",
            "icon": icon,
        }
    return {
        "dev": device_block(device_id),
        "o": {"name": "moodcast play", "sw": __version__},
        "cmps": components,
        "state_topic": topics.player,
        "availability_topic": topics.player_availability,
        "payload_available": ONLINE,
        "payload_not_available": OFFLINE,
        "qos": qos,
    }


def parse_feedback(payload: bytes, max_bytes: int = 256) -> Feedback:
    """A ``.../feedback`` message; ValueError with the reason when it is not one."""
    body = parse_json(payload, max_bytes)
    if not isinstance(body, dict):
        raise ValueError("expected an object")
    outcome, emotion, genre = body.get("outcome"), body.get("emotion"), body.get("genre")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome: must be one of {', '.join(OUTCOMES)}, got {str(outcome)[:32]!r}")
    for key, value in (("emotion", emotion), ("genre", genre)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key}: expected a string or null")
    return Feedback(outcome, emotion, genre)


def feedback_payload(feedback: Feedback) -> dict:
    """A ``.../feedback`` message: what ``parse_feedback`` reads; no emotion or genre means the
    daemon's current ones."""
    body = {"emotion": feedback.emotion, "genre": feedback.genre, "outcome": feedback.outcome}
    return {k: v for k, v in body.items() if v is not None}


def parse_command(key: str, payload: bytes) -> tuple[str, object]:
    """Validate a ``.../set/<key>`` command; ValueError with a message for the ack otherwise."""
    text = payload.decode("utf-8", "replace").strip()
    if key == "strategy":
        return key, check_strategy(text)  # a ConfigError is a ValueError
    if key == "enabled":
        try:
            return key, parse_bool(text)
        except ValueError:
            raise ValueError(f"enabled: must be ON/OFF or true/false, got {text!r}") from None
    if key == "preferences":
        if text != "reset":
            raise ValueError(f"preferences: the only command is 'reset', got {text!r}")
        return key, text
    raise ValueError(f"unknown setting {key!r}; settable: {', '.join(COMMANDS)}")
