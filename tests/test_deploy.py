"""What a Pi deployer touches: the systemd units and the example config."""

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require_tool

from moodcast.edge.config import Config, load

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
