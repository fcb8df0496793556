"""Shared fixtures: the project's data (../shared/data), a real mosquitto broker on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
FER_ZIP = DATA / "fer2013" / "archive.zip"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def data() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"{DATA} is missing: the tests read FER2013, faces-dev and photos from ../shared/data")
    return DATA


class Broker:
    """A mosquitto process on 127.0.0.1 with its own config; stop/start keep the port."""

    def __init__(self, workdir: Path, extra: str = ""):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        if not Path(exe).exists():
            pytest.fail("mosquitto is not installed (apt-get install mosquitto); .ci/run installs it")
        self.exe = exe
        self.port = free_port()
        self.conf = workdir / f"mosquitto-{self.port}.conf"
        # As root, mosquitto drops to its own user, which cannot read the test's private files.
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(f"{user}listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}")
        self.proc: subprocess.Popen | None = None

    def start(self) -> Broker:
        self.proc = subprocess.Popen(
            [self.exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path).start()
    yield b
    b.stop()
