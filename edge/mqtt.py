"""MQTT publisher on paho-mqtt 2.x: availability with last will, QoS 1, reconnect with backoff,
a bounded queue while the broker is away, commands in, Home Assistant discovery.

paho keeps QoS 1 messages published while disconnected and sends them, in order, after it
reconnects (``max_queued_messages`` bounds that queue); this class counts what it sent, what was
acknowledged and what the bound dropped, so ``stats`` can report them.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt

from edge.config import Config, ConfigError
from edge.contract import OFFLINE, ONLINE, Topics, discovery_payload, parse_command

log = logging.getLogger("moodcast.mqtt")


@dataclass(frozen=True)
class Command:
    key: str
    value: object
    error: str | None = None  # set when the command was rejected


def read_password(config: Config) -> str | None:
    """From ``mqtt.password_file`` or ``MOODCAST_MQTT_PASSWORD``; never logged."""
    if config.mqtt.password_file:
        try:
            return Path(config.mqtt.password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"mqtt.password_file: cannot read {config.mqtt.password_file} ({exc.strerror})") from None
    return os.environ.get("MOODCAST_MQTT_PASSWORD")


class Publisher:
    """One connection to the broker for the daemon. Thread-safe ``publish_*`` methods."""

    def __init__(self, config: Config):
        self.config = config
        m = config.mqtt
        self.device_id = config.device_id
        self.topics = Topics(config.topic_prefix)
        self.commands: queue.Queue[Command] = queue.Queue()
        self.seq = 0
        self.sent = self.dropped = 0
        self._pending: set[int] = set()  # mids of sent messages not acknowledged yet
        # mid -> time of acknowledgements that arrived before publish() returned the mid (or of
        # untracked QoS 0 messages); pruned after a few seconds so reused mids are not mistaken.
        self._early: dict[int, float] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.connects = 0
        protocol = mqtt.MQTTv5 if m.protocol == "5" else mqtt.MQTTv311
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"moodcast-{self.device_id}", protocol=protocol
        )
        self.client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        self.client.max_queued_messages_set(m.queue_size)
        self.client.reconnect_delay_set(1, max(1, int(m.reconnect_max_s)))
        if m.username:
            self.client.username_pw_set(m.username, read_password(config))
        if m.tls:
            try:
                self.client.tls_set(
                    ca_certs=m.ca_file or None,
                    certfile=m.cert_file or None,
                    keyfile=m.key_file or None,
                    tls_version=ssl.PROTOCOL_TLS_CLIENT,
                )
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"mqtt.ca_file/cert_file/key_file: cannot load ({exc})") from None
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_connect_fail = self._on_connect_fail
        self.last_error: str | None = None

    # --- connection ---------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho's thread reconnects with backoff when the link drops."""
        m = self.config.mqtt
        # The first attempt is made here so that its reason (TLS, DNS, refused) can be logged:
        # paho's background thread retries quietly.
        try:
            self.client.connect(m.host, m.port, keepalive=m.keepalive)
        except OSError as exc:  # ssl.SSLError included
            self.last_error = f"cannot connect to {m.host}:{m.port}: {exc}"
            log.error("%s; retrying in the background", self.last_error)
            self.client.connect_async(m.host, m.port, keepalive=m.keepalive)
        self.client.loop_start()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused the connection: {reason_code}"
            log.error("%s", self.last_error)
            return
        self.connects += 1
        self.last_error = None
        self._connected.set()
        log.info("connected to %s:%s", self.config.mqtt.host, self.config.mqtt.port)
        self._send(self.topics.availability, ONLINE, retain=True)
        client.subscribe([(self.topics.commands, 1), (f"{self.config.mqtt.discovery_prefix}/status", 1)])
        if self.config.mqtt.discovery:
            self.publish_discovery()

    def _on_connect_fail(self, client, userdata) -> None:
        log.warning("connecting to %s:%s failed; retrying with backoff", self.config.mqtt.host, self.config.mqtt.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if reason_code != 0:
            self.last_error = f"connection lost: {reason_code}"
            log.warning("%s; reconnecting", self.last_error)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            if mid in self._pending:
                self._pending.discard(mid)
            else:
                self._early[mid] = time.monotonic()

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == f"{self.config.mqtt.discovery_prefix}/status":
            if message.payload.decode(errors="replace").strip() == "online" and self.config.mqtt.discovery:
                self.publish_discovery()
            return
        key = message.topic.rsplit("/", 1)[-1]
        try:
            key, value = parse_command(key, message.payload)
        except ValueError as exc:
            self.commands.put(Command(key, message.payload.decode("utf-8", "replace")[:100], str(exc)))
            return
        self.commands.put(Command(key, value))

    # --- messages -----------------------------------------------------------------------------

    def _send(self, topic: str, payload: dict | str, retain: bool) -> bool:
        body = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        info = self.client.publish(topic, body, qos=self.config.mqtt.qos, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            with self._lock:
                self.dropped += 1
            return False
        with self._lock:
            self.sent += 1
            now = time.monotonic()
            self._early = {mid: t for mid, t in self._early.items() if now - t < 5.0}
            if self._early.pop(info.mid, None) is None and self.config.mqtt.qos > 0:
                self._pending.add(info.mid)
        return True

    def publish_state(self, payload: dict) -> int:
        """Number and send one state message; returns its ``seq``."""
        with self._lock:
            self.seq += 1
            seq = self.seq
        self._send(self.topics.state, {"seq": seq, **payload}, retain=True)
        return seq

    def publish_faces(self, payload: dict) -> None:
        if self.connected:  # per-face detail is only worth it live; never queued
            self.client.publish(self.topics.faces, json.dumps(payload, separators=(",", ":")), qos=0)

    def publish_stats(self, payload: dict) -> None:
        if self.connected:
            self.client.publish(self.topics.stats, json.dumps(payload, separators=(",", ":")), qos=0, retain=True)

    def publish_config(self, settings: dict, last_command: dict | None = None) -> None:
        """Current settings on ``.../config``, with the outcome of the last command."""
        self._send(self.topics.config, {**settings, "last_command": last_command}, retain=True)

    def publish_discovery(self) -> None:
        topic = f"{self.config.mqtt.discovery_prefix}/device/{self.device_id}/config"
        payload = discovery_payload(self.device_id, self.topics, self.config.mqtt.qos)
        self._send(topic, payload, retain=True)

    @property
    def queued(self) -> int:
        """Messages handed to the client and not acknowledged yet."""
        with self._lock:
            return len(self._pending)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline``, wait (bounded) for queued messages to be acknowledged, disconnect."""
        if self.connected:
            info = self.client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (not info.is_published() or self.queued > 0):
                if not self.connected:
                    break
                time.sleep(0.02)
        self.client.disconnect()
        self.client.loop_stop()
