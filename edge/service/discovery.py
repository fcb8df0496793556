"""Home Assistant MQTT device discovery: the daemon's and the player's entities, one device.

Each entity's template turns a state the daemon publishes into one Home Assistant accepts
(``tests/test_contract.py`` renders them with Jinja for every state there is).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from moodcast.edge import __version__
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.mood.recommend import DEFAULT_GENRES, STRATEGIES
from moodcast.edge.service.contract import OFFLINE, ONLINE, Topics, feedback_payload

# The Emotion and Genre sensors' state while nobody is in view or analysis is off. Home Assistant
# keeps a template's "None" as a literal state of an enum sensor (only numeric sensors read it as
# unknown), so it is one of their declared options, offered in automations' dropdowns.
NO_VALUE = "none"


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
