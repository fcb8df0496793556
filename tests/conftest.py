"""Shared fixtures: the project's data (../shared/data), the programs the tests run, and a real
mosquitto broker on 127.0.0.1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from localbroker import Broker, mosquitto_path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
FER_ZIP = DATA / "fer2013" / "archive.zip"
TOOLS_FILE = Path(__file__).with_name("tools.txt")


def listed_tools() -> dict[str, str]:
    """tests/tools.txt: command -> Debian package."""
    rows = (line.split() for line in TOOLS_FILE.read_text().splitlines() if line.strip() and line[0] != "#")
    return {command: package for command, package in rows}


def require_tool(command: str) -> str:
    """The path of a program a test runs; a clear failure if it is not listed or not installed."""
    tools = listed_tools()
    if command not in tools:
        pytest.fail(f"{command} is not in tests/tools.txt: list it there so that scripts/test.sh installs it")
    path = mosquitto_path() if command == "mosquitto" else shutil.which(command)
    if path is None:
        pytest.fail(f"{command} is missing: apt-get install {tools[command]} (scripts/test.sh installs it)")
    return path


@pytest.fixture(autouse=True)
def own_state_directory(tmp_path_factory, monkeypatch):
    """$STATE_DIRECTORY (systemd's, read by learn.file = "") in a folder of the test's own, for the
    daemons it runs in process and as children: never the user's ~/.local/state/moodcast."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def data() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"{DATA} is missing: the tests read FER2013, faces-dev and photos from ../shared/data")
    return DATA


def make_broker(workdir: Path, extra: str = "") -> Broker:
    """A mosquitto on 127.0.0.1 with ``extra`` config lines, not started."""
    require_tool("mosquitto")
    return Broker(workdir, extra)


@pytest.fixture
def broker(tmp_path):
    b = make_broker(tmp_path).start()
    yield b
    b.stop()
