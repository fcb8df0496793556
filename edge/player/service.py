"""``moodcast play``: the daemon's ``.../state`` and ``.../availability`` in, MPD driven by the
Follower, ``.../player``, ``.../feedback`` and the player's discovery out (again when Home
Assistant says it is online). MPD or the broker going away is waited out: MPD is reconnected with
backoff, paho reconnects the broker and everything retained is published again."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from moodcast.edge.config import Config
from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.parsing import parse_json
from moodcast.edge.player.follow import Follower, PlayerState
from moodcast.edge.player.music import Music, MusicError
from moodcast.edge.service.broker import make_client
from moodcast.edge.service.contract import (
    OFFLINE,
    ONLINE,
    STATE_BYTES,
    Topics,
    feedback_payload,
    iso_now,
)
from moodcast.edge.service.discovery import player_discovery_payload
from moodcast.edge.service.republish import Republish

log = logging.getLogger("moodcast.play")

TICK_S = 0.25  # MPD is looked at this often (a skip or a track's end is seen within it)
BACKOFF_FIRST_S = 0.5  # the first wait before reaching MPD again; doubled after each failure
MQTT_QUEUE = 200  # messages paho keeps while the broker is away; older ones are dropped


class Player:
    """The loop; ``stop_event`` ends it (signals set it)."""

    def __init__(self, config: Config, music: Music | None = None, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.options = config.play
        self.topics = Topics(config.topic_prefix)
        self.clock = clock
        self.music = music or Music(self.options)
        self.follower = Follower(self.options, self.music, self.publish_feedback)
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._latest: tuple[str | None, str | None] | None = None  # genre, emotion: only the newest counts
        self._daemon_online = True  # no availability heard yet: a state alone is followed
        self._republish = threading.Event()
        self._discovery = Republish()  # as the daemon's: HA's online, rate-limited
        self._mpd_ok = False
        self._mpd_error = ""
        self._retry_at = 0.0
        self._backoff = BACKOFF_FIRST_S
        self._published: dict | None = None
        self._published_at = 0.0
        self.client = make_client(config, f"moodcast-play-{config.device_id}")
        self.client.will_set(self.topics.player_availability, OFFLINE, qos=1, retain=True)
        self.client.max_queued_messages_set(MQTT_QUEUE)
        self.client.reconnect_delay_set(1, max(1, int(config.mqtt.reconnect_max_s)))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message

    # --- MQTT (paho's thread) -------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s", reason_code)
            return
        log.info("connected to %s:%s", self.config.mqtt.host, self.config.mqtt.port)
        client.publish(self.topics.player_availability, ONLINE, qos=1, retain=True)
        if self.config.mqtt.discovery:
            self._publish_discovery()
            client.subscribe(self._home_assistant_status, 1)
        # Availability first: the broker sends each subscription's retained message in order, so a
        # daemon that is offline is known before its stale retained state arrives.
        client.subscribe(self.topics.availability, 1)
        client.subscribe(self.topics.state, 1)
        self._republish.set()

    @property
    def _home_assistant_status(self) -> str:
        return f"{self.config.mqtt.discovery_prefix}/status"

    def _publish_discovery(self) -> None:
        topic = f"{self.config.mqtt.discovery_prefix}/device/{self.config.device_id}_player/config"
        payload = player_discovery_payload(self.config.device_id, self.topics, self.config.mqtt.qos)
        self.client.publish(topic, json.dumps(payload, separators=(",", ":")), qos=1, retain=True)

    def _on_message(self, client, userdata, message) -> None:
        if message.topic == self.topics.availability:
            self._on_availability(message.payload)
        elif message.topic == self._home_assistant_status:
            # Home Assistant restarted: it has forgotten the device unless the broker kept it.
            if message.payload.decode(errors="replace").strip() == ONLINE:
                self._discovery.ask()
        else:
            self._on_state(message.payload)

    def _on_availability(self, payload: bytes) -> None:
        word = payload.decode(errors="replace")
        if word in (ONLINE, OFFLINE):
            with self._lock:
                self._daemon_online = word == ONLINE

    def _on_state(self, payload: bytes) -> None:
        try:
            state = parse_json(payload, STATE_BYTES)
            if not isinstance(state, dict):
                return
            genre, emotion = state["genre"], state["emotion"]
        except (ValueError, KeyError, TypeError):
            return
        if (genre is None or isinstance(genre, str)) and (emotion is None or isinstance(emotion, str)):
            with self._lock:
                self._latest = (genre, emotion)

    def publish_feedback(self, feedback: Feedback) -> None:
        body = feedback_payload(feedback)
        log.info("feedback %s", body)
        self.client.publish(self.topics.feedback, json.dumps(body, separators=(",", ":")), qos=1)

    def _publish_state(self, state: PlayerState, now: float) -> None:
        body = state.as_dict()
        due = now - self._published_at >= self.options.heartbeat_s
        if body != self._published or due or self._republish.is_set():
            self._republish.clear()
            payload = json.dumps({"ts": iso_now(), **body}, separators=(",", ":"))
            self.client.publish(self.topics.player, payload, qos=1, retain=True)
            self._published, self._published_at = body, now

    # --- MPD ------------------------------------------------------------------------------------

    def _connect_mpd(self, now: float) -> None:
        try:
            self.music.connect()
        except MusicError as exc:
            self._mpd_failed(str(exc), now)
            return
        log.info("MPD at %s:%s%s", self.options.host, self.options.port, " again" if self._mpd_error else "")
        # The backoff is reset only once MPD has answered a tick: a connection it accepts and then
        # drops (no permission, a crash mid-reply) would otherwise be retried twice a second forever.
        self._mpd_ok, self._mpd_error = True, ""

    def _mpd_failed(self, error: str, now: float) -> None:
        if self._mpd_ok or not self._mpd_error:
            log.warning("%s; retrying with backoff (up to %.0f s)", error, self.options.reconnect_max_s)
        self.music.close()
        self.follower.lost()
        self._mpd_ok, self._mpd_error = False, error
        self._retry_at = now + self._backoff
        self._backoff = min(self._backoff * 2, self.options.reconnect_max_s)

    def step(self) -> PlayerState:
        """One tick: the newest state, MPD (reconnected when due), the decision, ``.../player``."""
        now = self.clock()
        if self._discovery.due(now):
            self._publish_discovery()
        with self._lock:
            latest, self._latest = self._latest, None
            online = self._daemon_online
        self.follower.daemon_available(online)  # first: a daemon back online sends its state after
        if latest is not None:
            self.follower.want(*latest, now)
        if not self._mpd_ok and now >= self._retry_at:
            self._connect_mpd(now)
        state = PlayerState(False, None, None, f"MPD unreachable: {self._mpd_error}", False)
        if self._mpd_ok:
            try:
                state = self.follower.tick(now)
                self._backoff = BACKOFF_FIRST_S
            except MusicError as exc:
                self._mpd_failed(str(exc), now)
                state = PlayerState(False, None, None, f"MPD unreachable: {self._mpd_error}", False)
        self._publish_state(state, now)
        return state

    def run(self) -> None:
        m = self.config.mqtt
        try:
            self.client.connect(m.host, m.port, keepalive=m.keepalive)
        except OSError as exc:
            log.error("cannot connect to %s:%s: %s; retrying in the background", m.host, m.port, exc)
            self.client.connect_async(m.host, m.port, keepalive=m.keepalive)
        self.client.loop_start()
        log.info("moodcast play: %s -> MPD %s:%s", self.topics.state, self.options.host, self.options.port)
        try:
            while not self.stop_event.is_set():
                self.step()
                self.stop_event.wait(TICK_S)
        finally:
            info = self.client.publish(self.topics.player_availability, OFFLINE, qos=1, retain=True)
            if self.client.is_connected():
                info.wait_for_publish(2.0)
            self.client.disconnect()
            self.client.loop_stop()
            self.music.close()


def run_player(config: Config) -> None:
    logging.basicConfig(
        level=os.environ.get("MOODCAST_LOG", "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("mpd").setLevel(logging.WARNING)  # python-mpd2 logs every connect at INFO
    player = Player(config)

    def on_signal(signum, _frame):
        player.stop_event.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        player.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
