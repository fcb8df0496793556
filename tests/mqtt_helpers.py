"""A subscriber that records what the broker delivers, and the daemon as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Message:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self):
        return json.loads(self.payload)


class Recorder:
    def __init__(
        self,
        port: int,
        topics=("moodcast/#", "homeassistant/#"),
        client_id: str | None = None,
        persistent: bool = False,
        tls_ca: str | None = None,
        auth: tuple[str, str] | None = None,
    ):
        self.messages: list[Message] = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or "",
            clean_session=not persistent,
            protocol=mqtt.MQTTv311,
        )
        if tls_ca:
            self.client.tls_set(ca_certs=tls_ca)
        if auth:
            self.client.username_pw_set(*auth)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, client, userdata, message):
        with self.lock:
            self.messages.append(Message(message.topic, message.payload, bool(message.retain), time.monotonic()))

    def on(self, suffix: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def under(self, prefix: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if m.topic.startswith(prefix)]

    def wait_for(self, predicate, timeout: float = 10.0, what: str = "a message"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            time.sleep(0.02)
        with self.lock:
            seen = [(m.topic, m.payload[:80]) for m in self.messages[-10:]]
        raise AssertionError(f"timed out waiting for {what}; last messages: {seen}")

    def publish(self, topic: str, payload: str, retain: bool = False):
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def start_daemon(
    port: int, device_id: str, *extra: str, env: dict | None = None, log: Path | None = None
) -> subprocess.Popen:
    """``moodcast run`` as its own process (signals and kill -9 are real)."""
    cmd = [sys.executable, "-m", "moodcast", "run", "--mqtt-port", str(port), "--device-id", device_id, *extra]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    out = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT)


def wait_for_line(log: Path, words: str, timeout: float = 20.0) -> str:
    """Until ``words`` appear in the log file a daemon writes; returns the log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text() if log.exists() else ""
        if words in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{words!r} not in {log} after {timeout} s: {text[-2000:]}")


def stop(proc: subprocess.Popen, timeout: float = 10) -> int:
    """SIGTERM, then the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout)
