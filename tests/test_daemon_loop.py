"""The daemon's decisions in-process, on the real pipeline and real frames: a list of frames as the
source, a publisher that records, and a clock that follows the frames' timestamps."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np

from edge.config import load
from edge.contract import Topics
from edge.daemon import Daemon, Ending
from edge.mqtt import Command, CommandQueue
from edge.paths import SAMPLES_DIR
from edge.pipeline import Pipeline
from edge.sources.base import Frame, SourceError
from edge.sources.images import read_image

FACE = read_image(SAMPLES_DIR / "astronaut.jpg")  # one happy face
EMPTY = np.full((480, 640, 3), 90, np.uint8)  # nobody in view


class Clock:
    """Monotonic time that the test moves: the timestamp of the frame being handled."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ListSource:
    """Frames with given timestamps, moving ``clock`` to each; optionally fails (as an unplugged
    camera) after them."""

    name = "list"

    def __init__(self, frames: list[tuple[np.ndarray, float]], fail: bool = False):
        self.items, self.fail = frames, fail
        self.clock = Clock()
        self.commands: dict[int, list[Command]] = {}
        self.publisher: RecordingPublisher | None = None

    def frames(self) -> Iterator[Frame]:
        for index, (rgb, ts) in enumerate(self.items):
            self.clock.now = ts
            for command in self.commands.get(index, ()):  # arriving just before this frame
                self.publisher.commands.put(command)
            yield Frame(rgb, ts, index)
        if self.fail:
            raise SourceError("list: unplugged")

    def close(self) -> None:
        pass


class RecordingPublisher:
    """What the daemon hands to MQTT, in order."""

    def __init__(self):
        self.topics = Topics("moodcast/test")
        self.commands = CommandQueue(10**6)
        self.reconnected = threading.Event()
        self.states: list[dict] = []
        self.stats: list[dict] = []
        self.configs: list[dict] = []
        self.faces: list[dict] = []
        self.queued = self.dropped = 0

    def publish_state(self, payload: dict) -> int:
        self.states.append(payload)
        return len(self.states)

    def publish_stats(self, payload: dict) -> None:
        self.stats.append(payload)

    def publish_config(self, settings: dict, last_command: dict | None = None) -> None:
        self.configs.append({**settings, "last_command": last_command})

    def publish_faces(self, payload: dict) -> None:
        self.faces.append(payload)


def run(frames, *sources, settings: dict | None = None, commands: dict[int, list[Command]] | None = None):
    """Run the daemon over ``sources`` (ListSources made from ``frames`` when none are given)."""
    config = load(overrides=settings or {}, environ={})
    publisher = RecordingPublisher()
    clock = Clock()
    pending = list(sources) or [ListSource(frames)]

    def open_source() -> ListSource:
        source = pending.pop(0) if pending else ListSource([])
        source.clock = clock
        return source

    daemon = Daemon(config, Pipeline.from_config(config), publisher, open_source, clock=clock)
    for source in pending:
        source.commands, source.publisher = commands or {}, publisher
    assert daemon.run() is Ending.SOURCE_ENDED
    return daemon, publisher


def timed(rgb: np.ndarray, start: float, seconds: float, fps: float) -> list[tuple[np.ndarray, float]]:
    return [(rgb, start + i / fps) for i in range(round(seconds * fps))]


def test_the_frame_rate_cap_drops_what_comes_faster():
    daemon, _ = run(timed(FACE, 0.0, 3.0, 30), settings={"source": {"fps_cap": 10}})
    assert daemon.stats.frames == 90
    assert daemon.stats.processed == 30 and daemon.stats.dropped == 60
    daemon, _ = run(timed(FACE, 0.0, 1.0, 30), settings={"source": {"fps_cap": 0}})
    assert daemon.stats.processed == 30 and daemon.stats.dropped == 0


def test_state_is_published_on_change_only():
    frames = timed(FACE, 0.0, 2.0, 10) + timed(EMPTY, 2.0, 3.0, 10)
    _, publisher = run(frames, settings={"mqtt": {"heartbeat_s": 60}})
    seen = [(s["emotion"], s["faces"], s["genre"]) for s in publisher.states]
    # The face, the face gone (the scene keeps its emotion for no_face_after_s = 2 s), nobody.
    assert seen == [("happy", 1, "pop"), ("happy", 0, "pop"), (None, 0, None)]
    assert all(s["source_ok"] and s["enabled"] for s in publisher.states)


def test_heartbeat_repeats_an_unchanged_state():
    _, publisher = run(timed(FACE, 0.0, 5.0, 10), settings={"mqtt": {"heartbeat_s": 1}})
    assert len(publisher.states) == 5
    assert {s["emotion"] for s in publisher.states} == {"happy"}


def test_commands_are_applied_and_acknowledged():
    commands = {
        2: [Command("strategy", "uplift")],
        4: [Command("strategy", "shuffle", "strategy: must be 'match' or 'uplift', got 'shuffle'")],
        6: [Command("enabled", False)],
    }
    daemon, publisher = run(timed(FACE, 0.0, 1.0, 10), commands=commands)
    acks = [c["last_command"] for c in publisher.configs if c["last_command"]]
    assert [(a["key"], a["value"], a["ok"]) for a in acks] == [
        ("strategy", "uplift", True),
        ("strategy", "shuffle", False),
        ("enabled", False, True),
    ]
    assert publisher.configs[-1]["strategy"] == "uplift" and publisher.configs[-1]["enabled"] is False
    assert daemon.stats.processed == 6  # frames 0-5 analysed, then analysis off: frames read, none analysed
    assert publisher.states[-1]["enabled"] is False and publisher.states[-1]["emotion"] is None
    assert publisher.states[-1]["strategy"] is None and publisher.states[2]["strategy"] == "uplift"


def test_a_flood_of_commands_is_bounded_and_does_not_starve_the_frames():
    flood = {i: [Command("strategy", "uplift" if n % 2 else "match") for n in range(50)] for i in range(10)}
    daemon, publisher = run(timed(FACE, 0.0, 1.0, 10), commands=flood)
    assert daemon.stats.processed == 10  # every frame analysed
    assert len(publisher.configs) <= 1 + 10  # the start, then at most one acknowledgement per frame
    assert len(publisher.commands) == 500 - 10 * 10  # COMMANDS_PER_TICK applied per frame, no more
    assert publisher.states[-1]["emotion"] == "happy"


def test_a_failing_camera_is_reported_and_its_recovery_too():
    first = ListSource(timed(FACE, 0.0, 1.0, 10), fail=True)
    second = ListSource(timed(FACE, 5.0, 1.0, 10))
    daemon, publisher = run([], first, second, settings={"source": {"retry_max_s": 0.01}})
    assert daemon.stats.processed == 20 and daemon.stats.source_failures == 1
    ok = [s["source_ok"] for s in publisher.states]
    assert ok[0] and False in ok and ok[-1], ok
    failed = next(s for s in publisher.stats if not s["source_ok"])
    assert failed["source_error"] == "list: unplugged" and failed["source_failures"] == 1
    assert publisher.states[-1]["emotion"] == "happy"
