"""The Home Assistant blueprint refers to the entities moodcast's discovery creates, and uses
only inputs it declares."""

from __future__ import annotations

import re

import yaml
from conftest import REPO

from moodcast.edge.mood.recommend import DEFAULT_GENRES
from moodcast.edge.service.contract import Topics, discovery_payload

BLUEPRINT = REPO / "homeassistant" / "blueprints" / "automation" / "moodcast" / "play_genre.yaml"


class Input(str):
    """A ``!input name`` reference."""


class Loader(yaml.SafeLoader):
    pass


Loader.add_constructor("!input", lambda loader, node: Input(loader.construct_scalar(node)))


def inputs_used(node) -> set[str]:
    if isinstance(node, Input):
        return {str(node)}
    if isinstance(node, dict):
        return set().union(*(inputs_used(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(inputs_used(v) for v in node)) if node else set()
    return set()


def entity_id(domain: str, device_name: str, component_name: str) -> str:
    """Home Assistant's entity id for a discovered entity: the device's and entity's names, slugged."""
    return f"{domain}." + re.sub(r"[^a-z0-9]+", "_", f"{device_name} {component_name}".lower()).strip("_")


def test_the_blueprint_uses_the_discovered_genre_sensor_and_its_own_inputs():
    blueprint = yaml.load(BLUEPRINT.read_text(), Loader=Loader)
    meta = blueprint["blueprint"]
    assert meta["domain"] == "automation"
    declared = set(meta["input"])
    assert inputs_used({k: v for k, v in blueprint.items() if k != "blueprint"}) == declared
    discovery = discovery_payload("pi", Topics("moodcast/pi"), 1)
    genre = discovery["cmps"]["moodcast_pi_genre"]
    assert genre["p"] == "sensor" and genre["name"] == "Genre" and "'none'" in genre["value_template"]
    expected = entity_id("sensor", discovery["dev"]["name"], genre["name"])
    assert expected == "sensor.moodcast_pi_genre" and expected in meta["description"]
    (sensor_filter,) = meta["input"]["genre_sensor"]["selector"]["entity"]["filter"]
    assert sensor_filter == {"integration": "mqtt", "domain": "sensor"}
    (trigger,) = blueprint["trigger"]
    assert trigger["platform"] == "state" and trigger["entity_id"] == "genre_sensor"
    (player_filter,) = meta["input"]["media_player"]["selector"]["entity"]["filter"]
    assert player_filter == {"domain": "media_player"}
    (action,) = blueprint["action"]
    assert action["service"] == "media_player.play_media" and action["target"]["entity_id"] == "media_player"
    # The sensor's "nobody in view" value plays nothing; the genres it shows are moodcast's.
    assert "'none'" in blueprint["condition"][0]["value_template"]
    assert all(g in meta["input"]["genre_media"]["description"] for g in ("pop", "jazz") if g in DEFAULT_GENRES)
