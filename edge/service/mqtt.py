"""MQTT publisher on paho-mqtt 2.x: availability with last will, QoS 1, reconnect with backoff,
a bounded queue for state while the broker is away, commands in, Home Assistant discovery.

paho keeps QoS 1 messages published while disconnected and sends them, in order, after it
reconnects. Only ``state`` is bounded (``mqtt.queue_size``, counted in ``dropped``):
availability, discovery and config are few and must always get through, so paho's own queue is
left unbounded and this class counts what it sent and what was acknowledged.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time

import paho.mqtt.client as mqtt

from moodcast.edge.config import Config
from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.service.acks import Unacknowledged
from moodcast.edge.service.broker import make_client
from moodcast.edge.service.contract import OFFLINE, ONLINE, Topics
from moodcast.edge.service.discovery import discovery_payload
from moodcast.edge.service.host import hardware_model
from moodcast.edge.service.inbox import (
    COMMAND_QUEUE,
    FEEDBACK_QUEUE,
    Command,
    CommandQueue,
    Rejected,
    feedback_message,
    parse_message,
)
from moodcast.edge.service.republish import Republish
from moodcast.edge.service.twins import TwinWatch

log = logging.getLogger("moodcast.mqtt")


class Publisher:
    """One connection to the broker for the daemon. Thread-safe ``publish_*`` methods.

    ``boot_id`` is new in every process: with ``seq`` (which starts at 1 in each), it tells a
    subscriber a restart (new boot_id) from a replayed retained message (same boot_id, old seq).
    """

    def __init__(self, config: Config):
        self.config = config
        m = config.mqtt
        self.device_id = config.device_id
        self.topics = Topics(config.topic_prefix)
        self.boot_id = secrets.token_hex(8)
        self.commands: CommandQueue[Command] = CommandQueue()
        self.feedback: CommandQueue[Feedback | Rejected] = CommandQueue(FEEDBACK_QUEUE)
        self.reconnected = threading.Event()  # set on every (re)connect: the loop republishes
        self.seq = 0
        self.sent = self.dropped = 0
        self.twin_watch = TwinWatch(self.boot_id)
        self._stopping = False
        self._resume_timer: threading.Timer | None = None
        self.discovery_asked = Republish()  # by Home Assistant's "online"; the loop republishes
        self._unacknowledged = Unacknowledged()
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._ignored_retained: set[str] = set()
        self.connects = 0
        self.client = make_client(config, f"moodcast-{self.device_id}")
        self.client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        self.client.max_queued_messages_set(0)  # unbounded here; state is bounded in _send
        self._reconnect_max = max(1, int(m.reconnect_max_s))
        self.client.reconnect_delay_set(1, self._reconnect_max)
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
        # Our own state too: a retained one from another process, newer than ours, means a second
        # daemon publishes under this device id (the broker lets one client id connect at a time).
        client.subscribe(
            [
                (self.topics.commands, 1),
                (f"{self.config.mqtt.discovery_prefix}/status", 1),
                (self.topics.state, 1),
                (self.topics.feedback, 1),
            ]
        )
        if self.config.mqtt.discovery:
            self.publish_discovery()
        self.reconnected.set()

    def _on_connect_fail(self, client, userdata) -> None:
        log.warning("connecting to %s:%s failed; retrying with backoff", self.config.mqtt.host, self.config.mqtt.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        if reason_code != 0:
            self.last_error = f"connection lost: {reason_code}"
            log.warning("%s; reconnecting", self.last_error)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            self._unacknowledged.acknowledged(mid, time.monotonic())

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == self.topics.state:
            self._check_twin(message.payload)
            return
        if message.topic == f"{self.config.mqtt.discovery_prefix}/status":
            if message.payload.decode(errors="replace").strip() == "online" and self.config.mqtt.discovery:
                self.discovery_asked.ask()
            return
        if message.retain:
            # A retained command (or feedback) would be re-applied at every start and broker restart, undoing
            # a later live one; commands count only when they are sent.
            if message.topic not in self._ignored_retained and len(self._ignored_retained) < COMMAND_QUEUE:
                self._ignored_retained.add(message.topic)  # bounded: retained messages on ever more topics
                log.warning("ignored a retained command on %s: publish commands without retain", message.topic)
            return
        if message.topic == self.topics.feedback:
            self.feedback.put(feedback_message(message.payload))
            return
        self.commands.put(parse_message(message.topic.rsplit("/", 1)[-1], message.payload))

    def _check_twin(self, payload: bytes) -> None:
        other = self.twin_watch.gives_way_to(payload)
        if other is None:
            return
        with self._lock:
            if self._stopping or (self._resume_timer is not None and self._resume_timer.is_alive()):
                return
            delay = self.twin_watch.backoff_s()
            self._resume_timer = threading.Timer(delay, self._resume)
            self._resume_timer.daemon = True
            self._resume_timer.start()
        self.last_error = (
            f"another moodcast (boot_id {other}) publishes as {self.topics.prefix}: is a second one running "
            f"with mqtt.device_id {self.device_id!r}? The broker lets one of them connect at a time. Give each "
            f"its own device_id. Going offline for {delay} s instead of taking the connection back"
        )
        log.error("%s", self.last_error)
        self.client.disconnect()  # ends paho's loop thread; _resume starts a new one

    def _resume(self) -> None:
        self.client.loop_stop()  # the ended thread, joined outside the lock its callbacks take
        with self._lock:  # never after stop(): it sets _stopping under the same lock
            if self._stopping:
                return
            m = self.config.mqtt
            self.client.connect_async(m.host, m.port, keepalive=m.keepalive)
            self.client.loop_start()

    # --- messages -----------------------------------------------------------------------------

    def _send(self, topic: str, payload: dict | str, retain: bool, bounded: bool = False) -> bool:
        """Publish; a ``bounded`` message (state) is dropped and counted when ``queue_size``
        state messages already wait for their acknowledgement."""
        body = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        qos = self.config.mqtt.qos
        with self._lock:
            if bounded and qos > 0 and self._unacknowledged.states >= self.config.mqtt.queue_size:
                self.dropped += 1
                return False
        # Not under the lock: paho may report the acknowledgement from its thread meanwhile.
        # While disconnected it keeps a QoS 1 message for the reconnect (rc NO_CONN).
        info = self.client.publish(topic, body, qos=qos, retain=retain)
        with self._lock:
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                self.dropped += 1
                return False
            self.sent += 1
            self._unacknowledged.sent(info.mid, time.monotonic(), tracked=qos > 0, state=bounded)
        return True

    def publish_state(self, payload: dict) -> int:
        """Number and send one state message; returns its ``seq``."""
        with self._lock:
            self.seq += 1
            seq = self.seq
        self._send(self.topics.state, {"seq": seq, "boot_id": self.boot_id, **payload}, retain=True, bounded=True)
        return seq

    def publish_faces(self, payload: dict) -> None:
        if self.connected:  # per-face detail is only worth it live; never queued
            self.client.publish(self.topics.faces, json.dumps(payload, separators=(",", ":")), qos=0)

    def publish_stats(self, payload: dict) -> None:
        if self.connected:
            body = {"boot_id": self.boot_id, **payload}
            self.client.publish(self.topics.stats, json.dumps(body, separators=(",", ":")), qos=0, retain=True)

    def publish_config(self, settings: dict, last_command: dict | None = None) -> None:
        """Current settings on ``.../config``, with the outcome of the last command."""
        self._send(self.topics.config, {**settings, "last_command": last_command}, retain=True)

    def publish_preferences(self, payload: dict) -> None:
        """The learned preferences on ``.../preferences`` (retained)."""
        self._send(self.topics.preferences, payload, retain=True)

    def clear_preferences(self) -> None:
        """Remove the retained ``.../preferences`` (an empty retained message deletes it)."""
        self._send(self.topics.preferences, "", retain=True)

    def publish_discovery(self) -> None:
        topic = f"{self.config.mqtt.discovery_prefix}/device/{self.device_id}/config"
        payload = discovery_payload(
            self.device_id, self.topics, self.config.mqtt.qos, list(self.config.recommend.genres), hardware_model()
        )
        self._send(topic, payload, retain=True)

    @property
    def queued(self) -> int:
        """Messages handed to the client and not acknowledged yet."""
        with self._lock:
            return len(self._unacknowledged)

    def stop(self, timeout: float = 5.0) -> None:
        """Publish ``offline``, wait (bounded) for queued messages to be acknowledged, disconnect."""
        with self._lock:
            self._stopping = True
            if self._resume_timer is not None:
                self._resume_timer.cancel()
        if self.connected:
            info = self.client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and (not info.is_published() or self.queued > 0):
                if not self._connected.is_set():  # paho's thread may drop the connection meanwhile
                    break
                time.sleep(0.02)
        self.client.disconnect()
        self.client.loop_stop()
