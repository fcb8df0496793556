"""The configuration: file, environment and flags in that order, and every key checked so that
what would fail later and far away fails at once naming the key (ids Home Assistant ignores,
control characters from a CRLF env file, the broker's own topics, numbers that are not finite)."""

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


def test_environment_overrides_file_and_flags_override_environment(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text("[mqtt]\nhost = 'from-file'\nport = 1884\nqos = 0\n")
    env = {"MOODCAST_MQTT_HOST": "from-env", "MOODCAST_MQTT_PORT": "1886"}
    config = load(conf, {"mqtt": {"port": "1885"}}, environ=env)
    assert (config.mqtt.host, config.mqtt.port, config.mqtt.qos) == ("from-env", 1885, 0)
    assert load(conf, environ=env).mqtt.port == 1886


@pytest.mark.parametrize(
    "text, env, words",
    [
        ("[mqtt\nhost=1", {}, "not valid TOML"),
        ("[camera]\nuri = '0'\n", {}, "camera: unknown section"),
        ("", {"MOODCAST_MQTTHOST": "x"}, "MOODCAST_MQTTHOST: not a moodcast setting"),
        ("", {"MOODCAST_SCENE_MODE": "crowd"}, "scene.mode: must be 'largest' or 'room'"),
        ("[detector]\nproposal_floor = 1.5\n", {}, "detector.proposal_floor: must be between 0 and 1"),
        ("[source]\nloop = 'maybe'\n", {}, "source.loop: expected true or false"),
        ("[recommend.match]\nhappy = 'polka'\n", {}, "not in recommend.genres"),
    ],
)
def test_config_errors_name_the_key(tmp_path, text, env, words):
    conf = tmp_path / "c.toml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load(conf, environ=env)


def test_unreadable_config_file(tmp_path):
    with pytest.raises(ConfigError, match="--config: cannot read"):
        load(tmp_path / "missing.toml", environ={})


@pytest.mark.parametrize(
    "section, key, value",
    [
        ("mqtt", "host", ""),
        ("mqtt", "device_id", "kitchen#1"),
        ("mqtt", "device_id", "kitchen/pi"),
        ("mqtt", "prefix", "/moodcast"),
        ("mqtt", "prefix", "moodcast/+/x"),
        ("mqtt", "prefix", "moodcast/"),
        ("mqtt", "discovery_prefix", ""),
        ("mqtt", "stats_interval_s", "-5"),
        ("mqtt", "reconnect_max_s", "0"),
        ("mqtt", "keepalive", "70000"),
        ("source", "retry_max_s", "-1"),
        ("source", "retry_max_s", "0"),
        ("source", "width", "0"),
        ("source", "uri", ""),
        ("detector", "max_faces", "-2"),
        ("detector", "score_threshold", "1.5"),
        ("emotion", "margin", "-0.1"),
        ("emotion", "shift_y", "3"),
        ("scene", "smoothing_s", "-1"),
        ("scene", "switch_margin", "2"),
        ("recommend", "goal_valence", "1.5"),
        ("recommend", "idle_genre", "polka"),
        ("api", "host", " "),
        ("runtime", "threads", "0"),
        ("learn", "prior", "0.5"),
        ("learn", "neighbours", "-1"),
        ("play", "port", "0"),
        ("play", "switch", "sometime"),
        ("play", "hold_s", "-1"),
        ("play", "fade_s", "60"),
        ("play", "max_tracks", "0"),
    ],
)
def test_every_key_has_its_range_check_and_exit_2(section, key, value):
    with pytest.raises(ConfigError, match=f"^{section}.{key}: "):
        load(overrides={section: {key: value}}, environ={})
    code, _, err = run_cli("run", "--set", f"{section}.{key}={value}", "--max-frames", "1")
    assert code == 2 and err.startswith(f"config error: {section}.{key}: "), err
