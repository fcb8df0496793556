"""The daemon's decisions in-process, on the real pipeline and real frames: a list of frames as the
source, a publisher that records, and a clock that follows the frames' timestamps."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import clips
import cv2
import numpy as np
import pytest

from moodcast.edge.config import load
from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.service.contract import Topics
from moodcast.edge.service.daemon import Daemon, Ending
from moodcast.edge.service.inbox import Command, CommandQueue, Rejected
from moodcast.edge.service.republish import Republish
from moodcast.edge.sources.base import Frame, SourceError
from moodcast.edge.sources.images import read_image

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
                queue = self.publisher.commands if isinstance(command, Command) else self.publisher.feedback
                queue.put(command)
            yield Frame(rgb, ts, index)
        if self.fail:
            raise SourceError("list: unplugged")

    def close(self) -> None:
        pass


class RecordingPublisher:
    """What the daemon hands to MQTT, in order."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.topics = Topics("moodcast/test")
        self.commands = CommandQueue(10**6)
        self.feedback = CommandQueue(10**6)
        self.preferences: list[dict] = []
        self.reconnected = threading.Event()
        self.states: list[dict] = []
        self.stats: list[dict] = []
        self.configs: list[dict] = []
        self.faces: list[dict] = []
        self.queued = self.dropped = 0
        self.connected = True
        self.discovery_asked = Republish()
        self.discoveries = 0

    def publish_state(self, payload: dict) -> int:
        self.states.append({**payload, "at": self.clock()})  # media time of the frame behind it
        return len(self.states)

    def publish_stats(self, payload: dict) -> None:
        if self.connected:  # as paho's QoS 0: lost while the broker is away
            self.stats.append(payload)

    def publish_config(self, settings: dict, last_command: dict | None = None) -> None:
        self.configs.append({**settings, "last_command": last_command})

    def publish_faces(self, payload: dict) -> None:
        self.faces.append(payload)

    def publish_preferences(self, payload: dict) -> None:
        self.preferences.append(payload)

    def publish_discovery(self) -> None:
        self.discoveries += 1


def run(
    frames,
    *sources,
    settings: dict | None = None,
    commands: dict[int, list[Command]] | None = None,
    feedback_queue: int = 10**6,
):
    """Run the daemon over ``sources`` (ListSources made from ``frames`` when none are given)."""
    config = load(overrides=settings or {}, environ={})  # learn.file: the test's own $STATE_DIRECTORY
    clock = Clock()
    publisher = RecordingPublisher(clock)
    publisher.feedback = CommandQueue(feedback_queue)
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


def test_frames_the_cap_drops_are_never_decoded():
    decoded = []

    def lazy(i: int):
        return lambda: decoded.append(i) or FACE

    frames = [(lazy(i), i / 30) for i in range(90)]  # a 30 fps camera, capped at 10
    daemon, _ = run(frames)
    assert daemon.stats.processed == len(decoded) == 30 and decoded == list(range(0, 90, 3))


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


def test_feedback_is_learned_saved_published_and_reset(tmp_path):
    skip = Feedback("skipped", "angry", "metal")
    file = tmp_path / "preferences.json"
    arriving = {
        2: [skip] * 5 + [Rejected("not JSON (payload 'x')"), Feedback("played", "bored", "pop"), Feedback("liked")],
        4: [skip] * 500,  # a flood: FEEDBACK_PER_TICK per frame
        8: [Command("preferences", "reset")],
    }
    daemon, publisher = run(
        timed(FACE, 0.0, 1.0, 10),
        commands=arriving,
        settings={"learn": {"file": str(file)}, "mqtt": {"heartbeat_s": 60}},
    )
    learned = [p for p in publisher.preferences if p["emotions"]["angry"]["genre"] != "metal"]
    assert learned, "five skips did not move angry"
    first = learned[0]
    assert first["updates"] == 5 + 1  # the bad ones ignored; the Like is about the current scene
    assert first["emotions"]["happy"]["genres"]["pop"]["a"] == 4 + 2  # prior + button_weight
    reset = [i for i, p in enumerate(publisher.preferences) if p["updates"] == 0]
    assert reset and reset[-1] > publisher.preferences.index(first)  # the reset, after learning
    assert publisher.preferences[reset[-1]]["emotions"]["angry"]["genre"] == "metal"
    assert len(publisher.feedback) == 500 - 10 * 6  # frames 4-9 took FEEDBACK_PER_TICK each
    assert {s["genre"] for s in publisher.states} == {"pop"}
    assert json.loads(file.read_text()) == {k: v for k, v in publisher.preferences[-1].items() if k != "ts"}
    assert daemon.stats.processed == 10


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


# The full pipeline on every frame the fps cap lets through: what the gated daemon is compared with.
FULL = {"motion": {"enabled": False}, "tracking": {"enabled": False}, "source": {"idle_fps_cap": 0}}


@pytest.fixture(scope="module")
def clip_frames(tmp_path_factory) -> dict[str, list[tuple[np.ndarray, float]]]:
    """testbed/clips.py's clips (9 s each, written and read back as video), as frames."""
    made = clips.make(tmp_path_factory.mktemp("clips"), seconds=9.0)
    frames = {}
    for name, path in made.items():
        capture = cv2.VideoCapture(str(path))
        frames[name] = []
        while (read := capture.read())[0]:
            frames[name].append((cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB), len(frames[name]) / clips.FPS))
    return frames


def published(states: list[dict], times: list[float]) -> list[str | None]:
    """The scene emotion a subscriber holds at each time."""
    held, out, i = None, [], 0
    for t in times:
        while i < len(states) and states[i]["at"] <= t + 1e-9:
            held, i = states[i]["emotion"], i + 1
        out.append(held)
    return out


@pytest.mark.parametrize("detector", ["blazeface-onet", "yunet"])
@pytest.mark.parametrize("clip", ["empty_room", "one_face", "enter_and_leave", "two_people"])
def test_the_gated_daemon_publishes_what_the_full_pipeline_does(clip_frames, clip, detector, record_property):
    frames = clip_frames[clip]
    times = [ts for _, ts in frames]
    chosen = {"detector": {"name": detector}}
    full_daemon, full = run(frames, settings={**FULL, **chosen})
    gated_daemon, gated = run(frames, settings={"mqtt": {"faces": True, "faces_interval_s": 0}, **chosen})
    agree = np.mean([a == b for a, b in zip(published(full.states, times), published(gated.states, times))])
    full_work, work = full_daemon.stats.work, gated_daemon.stats.work
    record_property("agreement", round(float(agree), 4))
    record_property("work_full", full_work)
    record_property("work_gated", work)
    assert agree >= 0.98, agree
    # A full detection about once a second in a steady scene; while somebody walks in, every
    # moving frame until they are found.
    assert work["detections"] <= full_work["detections"] / (2 if clip == "enter_and_leave" else 4)
    # Every third frame for a face that barely moves; every frame while it walks.
    assert work["classified"] <= full_work["classified"] / (1 if clip == "enter_and_leave" else 2) + 2
    assert full_work["gated"] == 0 and (work["gated"] > 0 or clip == "two_people")
    ids = {face["id"] for message in gated.faces for face in message["faces"]}
    assert len(ids) == {"empty_room": 0, "one_face": 1, "enter_and_leave": 1, "two_people": 2}[clip], ids
    if clip in ("one_face", "two_people"):  # the tracked faces are followed, not detected each frame
        assert work["followed"] > work["detections"], work
    if clip == "empty_room":  # nobody, nothing moving: the idle cap (2 per second) instead of 10
        assert gated_daemon.stats.processed <= 9 * 3 and full_daemon.stats.processed == 90  # + one per detection


def test_a_newcomer_is_detected_within_a_second(clip_frames, record_property):
    frames = clip_frames["enter_and_leave"]
    _, full = run(frames, settings=FULL)
    _, gated = run(frames)
    first_full = next(s["at"] for s in full.states if s["faces"])
    first_gated = next(s["at"] for s in gated.states if s["faces"])
    record_property("newcomer_delay_s", round(first_gated - first_full, 2))
    assert first_gated - first_full <= 1.0, (first_full, first_gated)
    left_full = next(s["at"] for s in full.states if s["at"] > first_full + 1 and not s["faces"])
    left_gated = next(s["at"] for s in gated.states if s["at"] > first_gated + 1 and not s["faces"])
    record_property("leaver_delay_s", round(left_gated - left_full, 2))
    assert abs(left_gated - left_full) <= 1.0


def test_a_frame_that_fails_analysis_is_skipped_and_the_loop_goes_on(caplog):
    broken = np.zeros((0, 0, 3), np.uint8)  # no pixels: the models cannot take it
    frames = [*timed(FACE, 0.0, 0.5, 10), (broken, 0.5), *timed(FACE, 0.6, 0.5, 10)]
    daemon, publisher = run(frames, settings=FULL)
    assert daemon.stats.processed == 10 and daemon.stats.dropped == 1
    assert "analysis failed on frame 5; skipped" in caplog.text
    assert publisher.states[-1]["emotion"] == "happy"


def test_a_clock_stepped_back_does_not_stop_the_analysis():
    frames = timed(FACE, 1000.0, 1.0, 10) + timed(FACE, 10.0, 1.0, 10)  # NTP moved the wall clock back
    daemon, _ = run(frames)
    assert daemon.stats.processed == 20


class DisconnectingSource(ListSource):
    """Connects at the first frame, and the broker goes away for frames ``away``."""

    def __init__(self, frames, away: range):
        super().__init__(frames)
        self.away = away

    def frames(self) -> Iterator[Frame]:
        for frame in super().frames():
            assert self.publisher is not None
            self.publisher.connected = frame.index not in self.away
            if frame.index in (0, self.away.stop):
                self.publisher.reconnected.set()
            yield frame


def test_stats_say_no_frame_rate_before_one_is_measured_and_come_at_once_after_a_reconnect():
    source = DisconnectingSource(timed(FACE, 0.0, 20.0, 2), away=range(10, 30))  # away from 5 s to 15 s
    _, publisher = run([], source, settings={"mqtt": {"stats_interval_s": 4}})
    first, *later = publisher.stats
    assert first["fps"] is None and all(s["fps"] is not None for s in later)  # never a 0.0 not measured
    # Due at 8 s while away: sent on the reconnect, not left stale until the next interval.
    assert [s["uptime_s"] for s in publisher.stats] == [0.0, 4.0, 15.0, 19.0, 19.5]


class AskingSource(ListSource):
    """Home Assistant's ``online``, 100 times before every frame (a loop, a prank)."""

    def frames(self) -> Iterator[Frame]:
        for frame in super().frames():
            assert self.publisher is not None
            for _ in range(100):
                self.publisher.discovery_asked.ask()
            yield frame


def test_home_assistant_asking_without_end_gets_one_discovery_per_interval():
    from moodcast.edge.service.republish import DISCOVERY_REPUBLISH_S

    _, publisher = run([], AskingSource(timed(FACE, 0.0, 25.0, 2)))
    assert DISCOVERY_REPUBLISH_S == 10 and publisher.discoveries == 3  # at 0, 10 and 20 s of 25


def test_feedback_the_full_queue_dropped_is_counted_in_the_log(caplog):
    from moodcast.edge.service.inbox import FEEDBACK_QUEUE

    flood = {2: [Feedback("skipped", "angry", "metal")] * (FEEDBACK_QUEUE + 36)}  # between two frames
    run(timed(FACE, 0.0, 1.0, 10), commands=flood, feedback_queue=FEEDBACK_QUEUE)
    assert "feedback: 0 rejected (last: None), 36 dropped by the full queue" in caplog.text
