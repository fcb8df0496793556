"""What a Pi deployer touches: the systemd unit and the example config."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require_tool

from edge.config import Config, load

REPO = Path(__file__).resolve().parent.parent


def test_systemd_unit_verifies(tmp_path):
    analyze = require_tool("systemd-analyze")
    unit = (REPO / "systemd" / "moodcast.service").read_text()
    # verify checks that ExecStart exists: point it at this checkout's command.
    moodcast = Path(sys.executable).parent / "moodcast"
    unit = unit.replace("/opt/moodcast/.venv/bin/moodcast", str(moodcast))
    (tmp_path / "moodcast.service").write_text(unit)
    run = subprocess.run([analyze, "verify", str(tmp_path / "moodcast.service")], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr
    for needed in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "SupplementaryGroups=video",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "User=moodcast",
    ):
        assert needed in unit


def test_example_config_documents_every_key_with_its_default():
    example = load(REPO / "config" / "moodcast.example.toml", environ={})
    defaults = Config()
    # The example is written for a Pi; its emotion.model line is a commented-out path.
    assert example == replace(defaults, source=replace(defaults.source, uri="picamera2"))
    text = (REPO / "config" / "moodcast.example.toml").read_text()
    for section, values in Config().as_dict().items():
        for key in values:
            assert f"{key} =" in text or f"[{section}.{key}]" in text or f"# {key} =" in text, f"{section}.{key}"


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
    from edge.errors import ConfigError

    conf = tmp_path / "c.toml"
    conf.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load(conf, environ=env)


def test_unreadable_config_file(tmp_path):
    from edge.errors import ConfigError

    with pytest.raises(ConfigError, match="--config: cannot read"):
        load(tmp_path / "missing.toml", environ={})
