"""The Home Assistant blueprint refers to the entities moodcast's discovery creates, and uses
only inputs it declares."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import REPO

from moodcast.edge.mood.recommend import DEFAULT_GENRES
from moodcast.edge.service.contract import Topics
from moodcast.edge.service.discovery import discovery_payload

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
    assert meta["domain"] == "automation" and meta["homeassistant"]["min_version"] == "2024.10.0"
    declared = set(meta["input"])
    assert inputs_used({k: v for k, v in blueprint.items() if k != "blueprint"}) == declared
    # Home Assistant 2024.10's names: triggers/conditions/actions, trigger: and action: keys.
    assert {"triggers", "conditions", "actions"} <= set(blueprint) and not {"trigger", "condition", "action"} & set(
        blueprint
    )
    for device_id, entity in (("pi", "sensor.moodcast_pi_genre"), ("Kitchen-Pi", "sensor.moodcast_kitchen_pi_genre")):
        discovery = discovery_payload(device_id, Topics(f"moodcast/{device_id}"), 1)
        genre = discovery["cmps"][f"moodcast_{device_id}_genre"]
        assert genre["p"] == "sensor" and genre["name"] == "Genre" and "'none'" in genre["value_template"]
        assert entity_id("sensor", discovery["dev"]["name"], genre["name"]) == entity in meta["description"]
    (sensor_filter,) = meta["input"]["genre_sensor"]["selector"]["entity"]["filter"]
    assert sensor_filter == {"integration": "mqtt", "domain": "sensor"}
    (trigger,) = blueprint["triggers"]
    assert trigger["trigger"] == "state" and trigger["entity_id"] == "genre_sensor"
    (player_filter,) = meta["input"]["media_player"]["selector"]["entity"]["filter"]
    assert player_filter == {"domain": "media_player"}
    (action,) = blueprint["actions"]
    assert action["action"] == "media_player.play_media" and action["target"]["entity_id"] == "media_player"
    assert all(g in meta["input"]["genre_media"]["description"] for g in ("pop", "jazz") if g in DEFAULT_GENRES)


def plays(blueprint: dict, from_state: str, to_state: str, genre_media: dict[str, str]) -> bool:
    """Whether the blueprint calls play_media when the genre sensor goes from one state to the
    other and holds: its trigger's ``not_from`` as Home Assistant applies it, then its condition
    rendered with Jinja (Home Assistant's template language)."""
    import jinja2

    (trigger,) = blueprint["triggers"]
    if from_state == to_state or from_state in trigger.get("not_from", ()):
        return False
    (condition,) = blueprint["conditions"]
    rendered = jinja2.Environment().from_string(condition["value_template"])
    return rendered.render(genre=to_state, genre_media=genre_media).strip() == "True"


@pytest.mark.parametrize(
    ("from_state", "to_state", "played"),
    [
        ("none", "pop", True),  # someone came into view
        ("pop", "jazz", True),  # the mood changed
        ("unavailable", "pop", False),  # the daemon or the broker restarted
        ("unknown", "pop", False),  # Home Assistant restarted
        ("pop", "none", False),  # nobody in view
        ("pop", "unavailable", False),
        ("none", "metal", False),  # a genre the user gave no media for
    ],
)
def test_the_blueprint_plays_a_new_genre_and_never_replays_one_after_an_outage(from_state, to_state, played):
    blueprint = yaml.load(BLUEPRINT.read_text(), Loader=Loader)
    media = {"pop": "http://radio.example/pop", "jazz": "http://radio.example/jazz"}
    assert plays(blueprint, from_state, to_state, media) is played
