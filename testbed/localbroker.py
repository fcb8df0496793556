"""A local MQTT broker on 127.0.0.1 for the quick start, the soak run and the tests: mosquitto
(Debian's package) with its own config, or amqtt (pip) where mosquitto is missing."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


class BrokerError(RuntimeError):
    """The broker is not installed or does not start; the message says what to install."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise BrokerError(f"nothing listens on 127.0.0.1:{port} after {timeout:g} s")


def mosquitto_path() -> str | None:
    return shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)


class Broker:
    """A mosquitto process on 127.0.0.1 with its own config file; stop/start keep the port."""

    def __init__(self, workdir: Path, extra: str = "", port: int | None = None):
        exe = mosquitto_path()
        if exe is None:
            raise BrokerError("mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.port = port or free_port()
        self.conf = Path(workdir) / f"mosquitto-{self.port}.conf"
        # As root, mosquitto drops to its own user, which cannot read the caller's private files.
        user = "user root\n" if os.geteuid() == 0 else ""
        self.conf.write_text(f"{user}listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n{extra}")
        self.proc: subprocess.Popen | None = None
        self.flags: list[str] = []  # what `moodcast run` needs to talk to it

    def command(self) -> list[str]:
        return [self.exe, "-c", str(self.conf)]

    def start(self) -> Broker:
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(self.port)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)
        self.proc = None


class AmqttBroker(Broker):
    """amqtt (MQTT 3.1.1 only), installed into this Python's environment when it is missing."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.port = port or free_port()
        self.conf = Path(workdir) / "amqtt.yaml"
        self.conf.write_text(
            f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{self.port}\nplugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
        )
        self.exe = str(Path(sys.executable).parent / "amqtt")
        self.proc = None
        self.flags = ["--set", "mqtt.protocol=3.1.1"]

    def start(self) -> Broker:
        if not Path(self.exe).exists():
            print("== mosquitto is not installed: installing the embedded broker amqtt into this environment")
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "amqtt"], check=True)
        return super().start()


def any_broker(workdir: Path, prefer_embedded: bool = False) -> Broker:
    """mosquitto where it is installed (unless ``prefer_embedded``), else amqtt; not started."""
    if mosquitto_path() and not prefer_embedded:
        return Broker(workdir)
    return AmqttBroker(workdir)
