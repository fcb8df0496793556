"""The page's process follows the daemon through its MQTT topics like any subscriber: the latest
of each message, a timeline point every ``web.sample_s``, a genre change with its reason; and it
sends what the page's controls ask (commands and feedback, never retained)."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable

from moodcast.edge.config import Config
from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.parsing import parse_json
from moodcast.edge.service.broker import make_client
from moodcast.edge.service.contract import ONLINE, Topics, feedback_payload
from moodcast.edge.web.store import Change, Point, Store
from moodcast.edge.web.words import change_reason

log = logging.getLogger("moodcast.web")

MAX_BYTES = 64 * 1024  # the largest message kept (preferences are ~3 kB)


class Follower:
    """Thread-safe: paho's thread writes, the HTTP threads read ``snapshot``."""

    def __init__(self, config: Config, store: Store, clock: Callable[[], float] = time.time):
        self.config = config
        self.store = store
        self.clock = clock
        self.topics = Topics(config.topic_prefix)
        self._names = {
            self.topics.state: "state",
            self.topics.stats: "stats",
            self.topics.config: "config",
            self.topics.preferences: "preferences",
            self.topics.player: "player",
            self.topics.availability: "availability",
            self.topics.player_availability: "player_availability",
        }
        self._latest: dict[str, object] = {}
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.client = make_client(config, f"moodcast-web-{secrets.token_hex(4)}")
        self.client.reconnect_delay_set(1, max(1, int(config.mqtt.reconnect_max_s)))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self._connected.clear()
        self.client.on_message = self._on_message

    def start(self) -> None:
        m = self.config.mqtt
        self.client.connect_async(m.host, m.port, keepalive=m.keepalive)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the page's connection: %s", reason_code)
            return
        client.subscribe([(topic, 1) for topic in self._names])
        self._connected.set()

    def _on_message(self, client, userdata, message) -> None:
        name = self._names.get(message.topic)
        if name is None:
            return
        if name in ("availability", "player_availability"):
            value: object = message.payload.decode("utf-8", "replace")[:16]
        else:
            try:
                value = parse_json(message.payload, MAX_BYTES)
            except ValueError as exc:
                log.warning("%s: %s; ignored", message.topic, exc)
                return
            if not isinstance(value, dict):
                return
        if name == "state":
            self._on_state(value)  # type: ignore[arg-type]
        with self._lock:
            self._latest[name] = value
            self._latest[f"{name}_at"] = self.clock()

    def _on_state(self, state: dict) -> None:
        with self._lock:
            previous = self._latest.get("state")
        previous_genre = previous.get("genre") if isinstance(previous, dict) else None
        if previous is None or state.get("genre") != previous_genre:
            reason = change_reason(previous if isinstance(previous, dict) else None, state, self.config.recommend.match)
            self.store.add_change(Change(self.clock(), state.get("genre"), previous_genre, reason))

    def snapshot(self) -> dict:
        with self._lock:
            latest = dict(self._latest)
        latest["connected"] = self._connected.is_set()
        latest["online"] = latest.get("availability") == ONLINE
        return latest

    def sample(self) -> Point | None:
        """A timeline point from the current state, while the daemon is online and analysing."""
        now = self.snapshot()
        state = now.get("state")
        if not now["online"] or not isinstance(state, dict) or not state.get("enabled"):
            return None
        point = Point(
            round(self.clock(), 3),
            state.get("emotion"),
            float(state.get("confidence") or 0.0),
            float(state.get("valence") or 0.0),
            float(state.get("arousal") or 0.0),
            int(state.get("faces") or 0),
            state.get("genre"),
        )
        self.store.add_point(point)
        return point

    # --- what the page's controls send --------------------------------------------------------

    def _publish(self, topic: str, payload: str) -> None:
        if not self._connected.is_set():
            raise ConnectionError("the page is not connected to the broker")
        self.client.publish(topic, payload, qos=1, retain=False)

    def send_feedback(self, outcome: str) -> dict:
        """About the state the page shows (its emotion and genre)."""
        state = self.snapshot().get("state")
        shown = state if isinstance(state, dict) else {}
        body = feedback_payload(Feedback(outcome, shown.get("emotion"), shown.get("genre")))
        self._publish(self.topics.feedback, json.dumps(body, separators=(",", ":")))
        return body

    def set_strategy(self, strategy: str) -> str:
        self._publish(self.topics.command("strategy"), strategy)
        return strategy

    def set_enabled(self, enabled: bool) -> bool:
        self._publish(self.topics.command("enabled"), "ON" if enabled else "OFF")
        return enabled
