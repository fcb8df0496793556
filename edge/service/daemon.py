"""``moodcast run``: source -> pipeline -> MQTT, until the source ends or a signal arrives.

SIGTERM and SIGINT end it cleanly (``offline`` published, queue flushed, exit 0); SIGHUP does the
same, then starts it again in the same process with the configuration re-read (``systemctl
reload``). Under systemd it reports ``READY=1``, ``WATCHDOG=1``, ``RELOADING=1`` and ``STATUS=``
through ``NOTIFY_SOCKET``; the watchdog is fed during every wait, a camera's backoff included.
"""

from __future__ import annotations

import logging
import os
import resource
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from moodcast.edge.config import Config
from moodcast.edge.mood.preferences import Feedback, PreferenceFile, Preferences
from moodcast.edge.pipeline import WORK_COUNTS, FrameResult, Pipeline
from moodcast.edge.service.contract import faces_payload, iso_now, state_payload
from moodcast.edge.service.framecap import FrameCap
from moodcast.edge.service.mqtt import Command, Publisher
from moodcast.edge.sources import ResilientSource, open_source
from moodcast.edge.sources.base import FrameSource, SourceError

log = logging.getLogger("moodcast")

TICK_S = 0.25  # longest wait without answering commands or feeding the watchdog
COMMANDS_PER_TICK = 10  # a flood of commands cannot starve the frames and state
FEEDBACK_PER_TICK = 10  # ... nor a flood of feedback (one file write per tick at most)
# What was learned reaches the file at once, then at most this often (an SD card wears with every
# rewrite and fsync): a crash loses at most this much learning; a stop loses none.
PREFERENCES_SAVE_EVERY_S = 30.0
REJECTED_LOG_EVERY_S = 10.0  # rejected or dropped commands: one log line per this, with counts


class Ending(Enum):
    """Why ``Daemon.run`` returned."""

    SOURCE_ENDED = "source ended"  # a file or a --max-frames run
    STOPPED = "stopped"  # SIGTERM, SIGINT
    RELOAD = "reload"  # SIGHUP: start again with the configuration re-read


def sd_notify(message: str) -> None:
    """Send one sd_notify(3) message; a no-op outside systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):  # abstract namespace socket
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError as exc:
            log.warning("sd_notify failed: %s", exc)


def watchdog_interval() -> float | None:
    """A quarter of systemd's WatchdogSec for this process (room for a bounded blocking call
    between two pings), or None when the watchdog is off."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and int(pid) != os.getpid()):
        return None
    return int(usec) / 4e6


@dataclass
class RunStats:
    started: float = field(default_factory=time.monotonic)
    frames: int = 0
    processed: int = 0
    dropped: int = 0  # frames skipped by the frame-rate cap
    source_ok: bool = True
    source_error: str | None = None
    source_failures: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)  # EMA of each stage
    fps: float = 0.0
    work: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WORK_COUNTS, 0))  # counts so far
    _last_processed: float | None = None

    def record(self, result: FrameResult) -> None:
        for key, count in result.work.counts().items():
            self.work[key] += count
        now = time.monotonic()
        if self._last_processed is not None:
            dt = max(now - self._last_processed, 1e-6)
            self.fps = 1 / dt if self.fps == 0 else 0.9 * self.fps + 0.1 / dt
        self._last_processed = now
        for stage, ms in result.timings_ms.items():
            self.stage_ms[stage] = ms if stage not in self.stage_ms else 0.9 * self.stage_ms[stage] + 0.1 * ms


def current_rss_mb() -> float:
    """Resident memory now (not the peak), so a leak shows as growth in ``stats``."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_temperature() -> float | None:
    """SoC temperature in °C where the Pi (or any Linux thermal zone) exposes it."""
    try:
        return int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000
    except (OSError, ValueError):
        return None


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
    ):
        self.config = config
        self.pipeline = pipeline
        self.publisher = publisher
        self.clock = clock
        self.stats = RunStats(started=clock())
        self.enabled = config.runtime.enabled
        self.stop_event = threading.Event()
        self.ending = Ending.SOURCE_ENDED
        self._open_source = open_source
        self._last_state: dict | None = None
        self._last_state_at = 0.0
        self._last_faces_at = 0.0
        self._last_stats_at = 0.0
        self._work_at_stats: dict[str, int] = {}
        self._last_watchdog = 0.0
        self._last_command: dict | None = None
        self._rejected = 0  # rejected commands not logged yet
        self._dropped_logged = 0  # commands dropped by the publisher's queue, as last logged
        self._rejected_logged_at = -REJECTED_LOG_EVERY_S
        self._result: FrameResult | None = None
        self._feedback_rejected = 0  # not logged yet
        self._feedback_error: str | None = None
        self._feedback_logged_at = -REJECTED_LOG_EVERY_S
        self._feedback_dropped_logged = 0  # feedback dropped by the publisher's queue, as last logged
        self.preferences: Preferences | None = None
        self.preference_file: PreferenceFile | None = None
        self._preferences_unsaved = False
        self._preferences_saved_at = -PREFERENCES_SAVE_EVERY_S  # monotonic
        if config.learn.enabled:
            self.preferences = Preferences(config.recommend, config.learn)
            self.preference_file = PreferenceFile(config.learn.path())
            self.preference_file.load(self.preferences)
            pipeline.recommender.preferences = self.preferences

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
            self._publish_preferences()
            if self._last_state is not None:
                self._publish_state(force=True)
        self._apply_commands()
        self._apply_feedback()
        self._save_preferences()
        self._publish_stats()
        self._watchdog()

    def settings(self) -> dict:
        return {"strategy": self.pipeline.recommender.strategy, "enabled": self.enabled}

    def _apply_commands(self) -> None:
        """Apply at most COMMANDS_PER_TICK queued commands (paho's thread only queues them), then
        acknowledge them with one config message."""
        applied = 0
        while applied < COMMANDS_PER_TICK and (command := self.publisher.commands.get()) is not None:
            self._apply(command)
            applied += 1
        self._log_rejected()
        if applied:
            self.publisher.publish_config(self.settings(), self._last_command)
            self._publish_state(force=True)

    def _apply(self, command: Command) -> None:
        ok = command.error is None
        self._last_command = {"key": command.key, "value": command.value, "ok": ok, "error": command.error}
        if not ok:
            self._rejected += 1
            return
        if command.key == "strategy":
            self.pipeline.recommender.set_strategy(str(command.value))
        elif command.key == "enabled":
            self.enabled = bool(command.value)
            if not self.enabled:
                self._result = None
        elif command.key == "preferences":
            self._reset_preferences()
        log.info("command %s=%s applied", command.key, command.value)

    def _reset_preferences(self) -> None:
        """Forget what was learned; with learning off, the file a run with learning on left."""
        if self.preferences is not None:
            self.preferences.reset()
            self._learned()
        else:
            PreferenceFile(self.config.learn.path()).remove()
            self.publisher.clear_preferences()  # what a run with learning on left on the broker

    def _apply_feedback(self) -> None:
        """Learn from at most FEEDBACK_PER_TICK queued feedback messages, then save and publish the
        preferences once. Feedback without emotion or genre (a Like button) is about the current
        ones; feedback the model cannot place is counted and logged, never applied."""
        learned = 0
        for _ in range(FEEDBACK_PER_TICK):
            item = self.publisher.feedback.get()
            if item is None:
                break
            if self.preferences is None:
                continue
            try:
                if isinstance(item, str):
                    raise ValueError(item)
                self.preferences.update(self._about_now(item))
                learned += 1
            except ValueError as exc:
                self._feedback_rejected += 1
                self._feedback_error = str(exc)
        if learned:
            self._learned()
        now = time.monotonic()
        dropped = self.publisher.feedback.dropped - self._feedback_dropped_logged
        if (self._feedback_rejected or dropped) and now - self._feedback_logged_at >= REJECTED_LOG_EVERY_S:
            log.warning(
                "feedback: %d ignored (last: %s), %d dropped by the full queue (the oldest)",
                self._feedback_rejected,
                self._feedback_error,
                dropped,
            )
            self._feedback_rejected, self._feedback_logged_at = 0, now
            self._feedback_dropped_logged = self.publisher.feedback.dropped

    def _about_now(self, feedback: Feedback) -> Feedback:
        state = self._last_state or {}
        emotion = feedback.emotion or state.get("emotion")
        genre = feedback.genre or state.get("genre")
        if emotion is None or genre is None:
            raise ValueError("feedback without emotion or genre while nobody is in view")
        return Feedback(feedback.outcome, emotion, genre)

    def _learned(self) -> None:
        """Preferences changed: publish them, and keep them (atomically) when a save is due."""
        self._preferences_unsaved = True
        self._save_preferences()
        self._publish_preferences()

    def _save_preferences(self, now: bool = False) -> None:
        """Write what is unsaved if PREFERENCES_SAVE_EVERY_S have passed since the last write (or ``now``)."""
        if not self._preferences_unsaved or self.preference_file is None or self.preferences is None:
            return
        at = time.monotonic()
        if not now and at - self._preferences_saved_at < PREFERENCES_SAVE_EVERY_S:
            return
        self.preference_file.save(self.preferences)
        self._preferences_unsaved, self._preferences_saved_at = False, at

    def _publish_preferences(self) -> None:
        if self.preferences is not None:
            self.publisher.publish_preferences({"ts": iso_now(), **self.preferences.as_dict()})

    def _log_rejected(self) -> None:
        """Rejected and dropped commands, counted: at most one log line per REJECTED_LOG_EVERY_S."""
        dropped = self.publisher.commands.dropped - self._dropped_logged
        now = time.monotonic()
        if not (self._rejected or dropped) or now - self._rejected_logged_at < REJECTED_LOG_EVERY_S:
            return
        last = self._last_command or {}
        log.warning(
            "commands: %d rejected (last: %s, %s), %d dropped by the full queue (the oldest)",
            self._rejected,
            last.get("key"),
            last.get("error"),
            dropped,
        )
        self._rejected, self._dropped_logged, self._rejected_logged_at = 0, self.publisher.commands.dropped, now

    def _publish_state(self, force: bool = False) -> None:
        payload = state_payload(self._result, self.enabled, self.stats.source_ok)
        keys = ("emotion", "genre", "strategy", "faces", "enabled", "source_ok")
        changed = self._last_state is None or any(payload[k] != self._last_state[k] for k in keys)
        due = self.clock() - self._last_state_at >= self.config.mqtt.heartbeat_s
        if force or changed or due:
            self.publisher.publish_state(payload)
            self._last_state, self._last_state_at = payload, self.clock()

    def _publish_stats(self, force: bool = False) -> None:
        now = self.clock()
        if not force and now - self._last_stats_at < self.config.mqtt.stats_interval_s:
            return
        elapsed = max(now - self._last_stats_at, 1e-6)
        self._last_stats_at = now
        s = self.stats
        rates = {k: round((s.work[k] - self._work_at_stats.get(k, 0)) / elapsed, 2) for k in WORK_COUNTS}
        self._work_at_stats = dict(s.work)
        self.publisher.publish_stats(
            {
                "fps": round(s.fps, 2),
                "frames": s.frames,
                "processed": s.processed,
                "dropped_frames": s.dropped,
                "stage_ms": {k: round(v, 3) for k, v in s.stage_ms.items()},
                "work_per_s": rates,
                "uptime_s": round(now - s.started, 1),
                "queued_messages": self.publisher.queued,
                "dropped_messages": self.publisher.dropped,
                "rss_mb": round(current_rss_mb(), 1),
                "cpu_temp_c": cpu_temperature(),
                "source_ok": s.source_ok,
                "source_error": s.source_error,
                "source_failures": s.source_failures,
            }
        )

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
        self._publish_preferences()
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
            sd_notify("RELOADING=1" if self.ending is Ending.RELOAD else "STOPPING=1")
            self._save_preferences(now=True)
            self._publish_stats(force=True)
        return self.ending


def run_daemon(config: Config, max_frames: int = 0) -> Ending:
    logging.basicConfig(
        level=os.environ.get("MOODCAST_LOG", "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    pipeline = Pipeline.from_config(config)  # a missing or wrong model stops here, naming the file
    s = config.source
    # A missing file or picamera2 module is a setup mistake and stops here; a camera that cannot
    # be opened or stops delivering is retried with backoff once running.
    first: list[FrameSource] = [open_source(s)]
    publisher = Publisher(config)
    daemon = Daemon(config, pipeline, publisher, lambda: first.pop() if first else open_source(s))
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
