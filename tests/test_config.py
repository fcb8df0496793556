"""The configuration refuses what would fail later and far away: ids Home Assistant ignores,
control characters from a CRLF env file, the broker's own topics, numbers that are not finite."""

import pytest
from helpers import run_cli

from moodcast.edge.config import load
from moodcast.edge.errors import ConfigError


@pytest.mark.parametrize("device_id", ["Living Room", "kitchen.pi", "küche", "x" * 70_000, "a/b", "pi\r"])
def test_a_device_id_home_assistant_would_ignore_is_refused_naming_the_rule(device_id):
    with pytest.raises(ConfigError, match=r"mqtt\.device_id: .*(letters, digits|control characters)"):
        load(overrides={"mqtt": {"device_id": device_id}}, environ={})


def test_the_ids_home_assistant_accepts_pass():
    for device_id in ("kitchen", "Kitchen-Pi_2", "a" * 64):
        assert load(overrides={"mqtt": {"device_id": device_id}}, environ={}).device_id == device_id


def test_a_crlf_env_file_is_named_for_every_key_it_reaches():
    environ = {"MOODCAST_MQTT_HOST": "broker.lan\r", "MOODCAST_MQTT_PORT": "1883\r", "MOODCAST_SOURCE_URI": "0\r"}
    for name, value in environ.items():
        with pytest.raises(ConfigError, match="control characters .*CRLF"):
            load(environ={name: value})


def test_the_brokers_own_topics_are_refused():
    for key in ("prefix", "discovery_prefix"):
        with pytest.raises(ConfigError, match=f"mqtt.{key}: .*start with '\\$'"):
            load(overrides={"mqtt": {key: "$SYS/moodcast"}}, environ={})


@pytest.mark.parametrize("key", ["scene.smoothing_s", "api.max_body_mb", "mqtt.reconnect_max_s", "learn.prior"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_numbers_that_are_not_finite_are_refused(key, value):
    section, name = key.split(".")
    with pytest.raises(ConfigError, match=f"{key}: expected a finite number"):
        load(overrides={section: {name: value}}, environ={})


def test_the_daemon_exits_2_on_such_an_id_before_it_connects():
    code, _, err = run_cli("run", "--device-id", "Living Room", "--mqtt-port", "1", "--max-frames", "1")
    assert code == 2 and "mqtt.device_id" in err and "Home Assistant" in err
