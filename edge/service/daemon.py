"""``moodcast run``: source -> pipeline -> MQTT, until the source ends or a signal arrives.

SIGTERM and SIGINT end it cleanly (``offline`` published, queue flushed, exit 0); SIGHUP does the
same, then starts it again in the same process with the configuration re-read (``systemctl
reload``). Under systemd it reports ``READY=1``, ``WATCHDOG=1``, ``RELOADING=1`` and ``STATUS=``
through ``NOTIFY_SOCKET``; the watchdog is fed during every wait, a camera's backoff included.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from enum import Enum

from moodcast.edge.config import Config
from moodcast.edge.pipeline import FrameResult, Pipeline
from moodcast.edge.service.contract import faces_payload, state_payload
from moodcast.edge.service.framecap import FrameCap
from moodcast.edge.service.host import sd_notify, watchdog_interval
from moodcast.edge.service.inbox import Command
from moodcast.edge.service.learning import Learning
from moodcast.edge.service.lograte import CountedWarning
from moodcast.edge.service.mqtt import Publisher
from moodcast.edge.service.preview import PreviewWriter, Render
from moodcast.edge.service.runstats import RunStats, StatsReport
from moodcast.edge.sources import ResilientSource, open_source
from moodcast.edge.sources.base import FrameSource, SourceError

log = logging.getLogger("moodcast")

TICK_S = 0.25  # longest wait without answering commands or feeding the watchdog
COMMANDS_PER_TICK = 10  # a flood of commands cannot starve the frames and state


class Ending(Enum):
    """Why ``Daemon.run`` returned."""

    SOURCE_ENDED = "source ended"  # a file or a --max-frames run
    STOPPED = "stopped"  # SIGTERM, SIGINT
    RELOAD = "reload"  # SIGHUP: start again with the configuration re-read


class Daemon:
    """The loop's decisions: which frames to analyse (the cap), what to publish and when
    (on change, heartbeat, stats, after a reconnect), commands, and the source's failures and
    recovery.

    ``open_source`` makes the source (again after a failure); ``clock`` times heartbeats and
    intervals (monotonic seconds; tests pass their own).
    """

    def __init__(
        self,
        config: Config,
        pipeline: Pipeline,
        publisher: Publisher,
        open_source: Callable[[], FrameSource],
        clock: Callable[[], float] = time.monotonic,
        preview: PreviewWriter | None = None,
    ):
        self.config = config
        self.pipeline = pipeline
        self.publisher = publisher
        self.clock = clock
        self.stats = RunStats(started=clock())
        self._stats_report = StatsReport(self.stats, config.mqtt.stats_interval_s)
        self.enabled = config.runtime.enabled
        self.stop_event = threading.Event()
        self.ending = Ending.SOURCE_ENDED
        self._open_source = open_source
        self._last_state: dict | None = None
        self._last_state_at = 0.0
        self._last_faces_at = 0.0
        self._last_watchdog = 0.0
        self._last_command: dict | None = None
        self._rejected = CountedWarning(log, "commands")
        self._result: FrameResult | None = None
        self.preview = preview
        self.learning = Learning(config, publisher, clock)
        pipeline.learn_from(self.learning.preferences)

    def stop(self, ending: Ending) -> None:
        self.ending = ending
        self.stop_event.set()

    # --- pieces of the loop -------------------------------------------------------------------

    def _on_source_failure(self, failure) -> None:
        self.stats.source_ok = False
        self.stats.source_error = failure.error
        self.stats.source_failures += 1
        log.error(
            "source failed (attempt %d): %s; retrying in %.1f s", failure.attempt, failure.error, failure.retry_in_s
        )
        sd_notify(f"STATUS=source failed: {failure.error}")
        self._publish_state(force=True)
        self._publish_stats(force=True)

    def wait(self, seconds: float) -> None:
        """Sleep (a source's backoff) while still answering commands and feeding the watchdog."""
        deadline = time.monotonic() + seconds
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.stop_event.wait(min(TICK_S, remaining))
            self.tick()

    def tick(self) -> None:
        """What goes on with or without frames: a reconnect, commands, stats, the watchdog."""
        if self.publisher.reconnected.is_set():
            self.publisher.reconnected.clear()
            # A broker that restarted without persistence has lost the retained topics.
            self.publisher.publish_config(self.settings(), self._last_command)
            self.learning.publish()
            if self._last_state is not None:
                self._publish_state(force=True)
            self._publish_stats(force=True)
        if self.publisher.discovery_asked.due(self.clock()):
            self.publisher.publish_discovery()
        self._apply_commands()
        self.learning.apply_feedback(self._now_playing)
        self.learning.save()
        self._publish_stats()
        if self.preview:
            self.preview.poll()
        self._watchdog()

    def settings(self) -> dict:
        return {"strategy": self.pipeline.strategy, "enabled": self.enabled}

    def _apply_commands(self) -> None:
        """Apply at most COMMANDS_PER_TICK queued commands (paho's thread only queues them), then
        acknowledge them with one config message."""
        applied = 0
        while applied < COMMANDS_PER_TICK and (command := self.publisher.commands.get()) is not None:
            self._apply(command)
            applied += 1
        self._rejected.flush(time.monotonic(), self.publisher.commands.dropped)
        if applied:
            self.publisher.publish_config(self.settings(), self._last_command)
            self._publish_state(force=True)

    def _apply(self, command: Command) -> None:
        ok = command.error is None
        self._last_command = {"key": command.key, "value": command.value, "ok": ok, "error": command.error}
        if command.error is not None:
            self._rejected.reject(f"{command.key}, {command.error}")
            return
        if command.key == "strategy":
            self.pipeline.set_strategy(str(command.value))
        elif command.key == "enabled":
            self.enabled = bool(command.value)
            if not self.enabled:
                self._result = None
        elif command.key == "preferences":
            self.learning.reset()
        log.info("command %s=%s applied", command.key, command.value)

    def _now_playing(self) -> tuple[str | None, str | None]:
        """The (emotion, genre) last published: what a Like button is about."""
        state = self._last_state or {}
        return state.get("emotion"), state.get("genre")

    def _publish_state(self, force: bool = False) -> None:
        payload = state_payload(self._result, self.enabled, self.stats.source_ok)
        keys = ("emotion", "genre", "strategy", "faces", "unclassified", "enabled", "source_ok")
        changed = self._last_state is None or any(payload[k] != self._last_state[k] for k in keys)
        due = self.clock() - self._last_state_at >= self.config.mqtt.heartbeat_s
        if force or changed or due:
            self.publisher.publish_state(payload)
            self._last_state, self._last_state_at = payload, self.clock()

    def _publish_stats(self, force: bool = False) -> None:
        """``.../stats`` when due (or ``force``) and connected: one due while the broker is away
        waits for it, rather than leaving the last retained one in place for a whole interval."""
        now = self.clock()
        if self.publisher.connected and (force or self._stats_report.due(now)):
            p = self.publisher
            p.publish_stats(self._stats_report.payload(now, p.queued, p.dropped))

    def _watchdog(self) -> None:
        interval = watchdog_interval()
        now = time.monotonic()  # systemd's time, whatever clock the intervals use
        if interval and now - self._last_watchdog >= interval:
            sd_notify("WATCHDOG=1")
            self._last_watchdog = now

    # --- the loop -----------------------------------------------------------------------------

    def run(self, max_frames: int = 0) -> Ending:
        cap = FrameCap(self.config.source)
        source = ResilientSource(
            self._open_source,
            self._on_source_failure,
            self.config.source.retry_max_s,
            sleep=self.wait,
            should_stop=self.stop_event.is_set,
        )
        self.publisher.publish_config(self.settings())
        self.learning.publish()
        sd_notify("READY=1")
        sd_notify(f"STATUS=running, publishing to {self.publisher.topics.prefix}")
        try:
            for frame in source.frames():
                if self.stop_event.is_set():
                    break
                self.stats.frames += 1
                if not self.stats.source_ok:
                    self.stats.source_ok, self.stats.source_error = True, None
                    sd_notify("STATUS=source recovered")
                self.tick()
                if not cap.keep(frame.ts, self._result):
                    self.stats.dropped += 1  # never decoded
                    continue
                if self.enabled:
                    try:
                        rgb = frame.rgb
                    except SourceError as exc:  # one frame the decoder could not read
                        self.stats.dropped += 1
                        log.warning("%s", exc)
                        continue
                    try:
                        self._result = self.pipeline.process(rgb, frame.ts)
                    except Exception:  # a frame the models or OpenCV reject: skip it, keep running
                        self.stats.dropped += 1
                        log.exception("analysis failed on frame %d; skipped", frame.index)
                        continue
                    self.stats.processed += 1
                    self.stats.record(self._result)
                    if self.preview:
                        self.preview.offer(rgb, self._result)
                    if self.config.mqtt.faces and self.clock() - self._last_faces_at >= (
                        self.config.mqtt.faces_interval_s
                    ):
                        self.publisher.publish_faces(faces_payload(self._result))
                        self._last_faces_at = self.clock()
                self._publish_state()
                if max_frames and self.stats.frames >= max_frames:
                    break
        finally:
            log.info("%s", self.ending.value)
            source.close()
            if self.preview:
                self.preview.close()
            sd_notify("RELOADING=1" if self.ending is Ending.RELOAD else "STOPPING=1")
            self.learning.save(now=True)
            self._publish_stats(force=True)
        return self.ending


def run_daemon(config: Config, max_frames: int = 0, render: Render | None = None) -> Ending:
    """The daemon until the source ends or a signal; ``render`` draws the page's live view (the
    command passes ``edge.tools.annotate``'s; without it no preview is offered)."""
    logging.basicConfig(
        level=os.environ.get("MOODCAST_LOG", "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    pipeline = Pipeline.from_config(config)  # a missing or wrong model stops here, naming the file
    s = config.source
    # A missing file or picamera2 module is a setup mistake and stops here; a camera that cannot
    # be opened or stops delivering is retried with backoff once running.
    first: list[FrameSource] = [open_source(s)]
    publisher = Publisher(config)
    preview = PreviewWriter(config, render) if render else None
    daemon = Daemon(config, pipeline, publisher, lambda: first.pop() if first else open_source(s), preview=preview)
    endings = {signal.SIGTERM: Ending.STOPPED, signal.SIGINT: Ending.STOPPED, signal.SIGHUP: Ending.RELOAD}

    def on_signal(signum, _frame):
        daemon.stop(endings[signum])  # no I/O here: a handler can interrupt a log write

    previous = {sig: signal.signal(sig, on_signal) for sig in endings}
    publisher.start()
    if not publisher.wait_connected(5.0):
        log.warning(
            "broker %s:%s not reachable yet (%s); state is queued until it is",
            config.mqtt.host,
            config.mqtt.port,
            publisher.last_error or "no answer",
        )
    log.info(
        "moodcast %s: %s -> %s (broker %s:%s, boot_id %s)",
        config.device_id,
        s.uri,
        publisher.topics.prefix,
        config.mqtt.host,
        config.mqtt.port,
        publisher.boot_id,
    )
    try:
        return daemon.run(max_frames)
    finally:
        publisher.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
