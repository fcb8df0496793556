"""What a Pi deployer touches: the systemd unit and the example config."""

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require_tool

from moodcast.edge.config import Config, load
from moodcast.edge.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


def installed_unit(name: str, tmp_path: Path) -> Path:
    """The unit with ExecStart pointed at this checkout's command (verify checks that it exists)."""
    unit = (REPO / "systemd" / name).read_text()
    moodcast = Path(sys.executable).parent / "moodcast"
    path = tmp_path / name
    path.write_text(unit.replace("/opt/moodcast/.venv/bin/moodcast", str(moodcast)))
    return path


@pytest.mark.parametrize(
    "name, needed",
    [
        (
            "moodcast.service",
            ("Type=notify", "WatchdogSec=", "SupplementaryGroups=video", "ExecReload=", "StateDirectory=moodcast"),
        ),
        ("moodcast-api.service", ("moodcast serve", "MemoryMax=", "IPAddressDeny=any")),
        ("moodcast-play.service", ("moodcast play", "MemoryMax=", "PrivateDevices=yes")),
        ("moodcast-web.service", ("moodcast web", "MemoryMax=", "RuntimeDirectoryPreserve=yes", "StateDirectory=")),
    ],
)
def test_systemd_units_verify(tmp_path, name, needed):
    analyze = require_tool("systemd-analyze")
    path = installed_unit(name, tmp_path)
    run = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr.strip() == "", run.stderr
    unit = path.read_text()
    for line in (*needed, "Restart=on-failure", "RestartPreventExitStatus=2", "ProtectSystem=strict"):
        assert line in unit, line
    assert "NoNewPrivileges=yes" in unit and "User=moodcast" in unit


@pytest.mark.parametrize(
    "name, most",
    [
        ("moodcast.service", 1.5),
        ("moodcast-api.service", 1.0),
        ("moodcast-play.service", 1.1),
        ("moodcast-web.service", 9.9),
    ],
)
def test_systemd_exposure_does_not_rise(tmp_path, name, most):
    """`systemd-analyze security`'s exposure (0 safest, 10 none): 2.1 for the daemon before."""
    path = installed_unit(name, tmp_path)
    run = subprocess.run(
        [require_tool("systemd-analyze"), "security", "--offline=yes", str(path)], capture_output=True, text=True
    )
    score = float(re.search(r"Overall exposure level for \S+: ([0-9.]+)", run.stdout + run.stderr).group(1))
    assert score <= most, run.stdout[-3000:]


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
    from helpers import run_cli

    with pytest.raises(ConfigError, match=f"^{section}.{key}: "):
        load(overrides={section: {key: value}}, environ={})
    code, _, err = run_cli("run", "--set", f"{section}.{key}={value}", "--max-frames", "1")
    assert code == 2 and err.startswith(f"config error: {section}.{key}: "), err
