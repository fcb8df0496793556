"""The page's store (batched writes, retention, a restart), its words, and the preview handoff's
bounded time, on real files."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from moodcast.edge.config import load
from moodcast.edge.errors import ConfigError
from moodcast.edge.mood.preferences import Feedback, LearnOptions, Preferences
from moodcast.edge.mood.recommend import RecommendOptions
from moodcast.edge.service.preview import FRAME, REQUEST, PreviewRequest, PreviewWriter
from moodcast.edge.web.store import Change, Point, Store, bucketed
from moodcast.edge.web.words import change_reason, learned


def point(ts: float, valence: float = 0.5, genre: str | None = "pop") -> Point:
    return Point(ts, "happy", 0.8, valence, 0.3, 1, genre)


def rows_on_disk(path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM points").fetchone()[0]


def test_points_wait_in_memory_until_a_flush_writes_them_in_one_transaction(tmp_path):
    store = Store(tmp_path / "web.sqlite", retention_s=3600, max_changes=100)
    for ts in range(100, 160, 10):
        store.add_point(point(ts))
    assert rows_on_disk(store.path) == 0 and store.writes == 0  # nothing reached the card yet
    assert len(store.timeline(0)["points"]) == 6  # the page sees them all the same
    store.flush(now=160)
    assert rows_on_disk(store.path) == 6 and store.writes == 1 and store.pending == 0


def test_the_timeline_survives_a_restart(tmp_path):
    store = Store(tmp_path / "web.sqlite", retention_s=3600, max_changes=100)
    store.add_point(point(100))
    store.add_change(Change(100, "pop", None, "a happy face came into view, which plays pop"))
    store.close(now=101)
    again = Store(tmp_path / "web.sqlite", retention_s=3600, max_changes=100)
    timeline = again.timeline(0)
    assert [p["ts"] for p in timeline["points"]] == [100]
    assert timeline["changes"][0]["reason"].startswith("a happy face")


def test_retention_and_the_change_cap_bound_what_is_kept(tmp_path):
    store = Store(tmp_path / "web.sqlite", retention_s=100, max_changes=10)
    for ts in range(0, 300, 10):
        store.add_point(point(ts))
        store.add_change(Change(ts, "pop", "rock", "x"))
    for ts in range(250, 280):  # more changes within the retention than are kept
        store.add_change(Change(ts + 0.5, "pop", "rock", "y"))
    store.flush(now=300)
    points, changes = store.counts()
    assert points == 10  # ts 200..290: the last 100 s
    assert changes == 10
    assert [c["ts"] for c in store.timeline(0)["changes"]] == [*(ts + 0.5 for ts in range(272, 280)), 280, 290]
    assert min(p["ts"] for p in store.timeline(0)["points"]) == 200


def test_a_day_is_averaged_into_at_most_the_points_the_page_draws():
    points = [point(ts, valence=(ts % 20) / 10 - 0.5) for ts in range(0, 8640 * 10, 10)]
    out = bucketed(points, 720)
    assert len(out) == 720
    assert out[-1].ts == points[-1].ts
    assert all(-0.5 <= p.valence <= 0.5 for p in out) and out[0].valence == pytest.approx(0.0)


MATCH = RecommendOptions().match


def test_a_genre_change_says_why():
    happy = {"emotion": "happy", "genre": "pop", "strategy": "match", "enabled": True, "source_ok": True}
    sad = {**happy, "emotion": "sad", "genre": MATCH["sad"]}
    assert change_reason(None, happy, MATCH) == "a happy face came into view, which plays pop"
    assert change_reason(happy, sad, MATCH) == f"the mood changed from happy to sad, which plays {MATCH['sad']}"
    assert change_reason(sad, {**sad, "genre": None, "emotion": None}, MATCH) == "nobody in view"
    assert change_reason(sad, {**sad, "enabled": False, "genre": None}, MATCH) == "analysis paused"
    lifted = {**sad, "strategy": "uplift", "genre": "jazz"}
    lifting = "strategy set to uplift; uplift plays jazz, a step towards a brighter mood"
    assert change_reason(sad, lifted, MATCH) == lifting
    taught = {**sad, "genre": "jazz"}
    assert "from your feedback, sad now plays jazz instead of" in change_reason(sad, taught, MATCH)


def test_what_was_learned_reads_as_a_sentence():
    options = LearnOptions()
    prefs = Preferences(RecommendOptions(), options)
    assert learned(prefs.as_dict(), MATCH, options)[0]["sentence"] == f"angry plays {MATCH['angry']} (no feedback yet)"
    for _ in range(4):
        prefs.update(Feedback("skipped", "angry", MATCH["angry"]))
    chosen = prefs.choose("angry")
    assert chosen != MATCH["angry"]
    row = next(r for r in learned(prefs.as_dict(), MATCH, options) if r["emotion"] == "angry")
    assert row["sentence"] == f"after you skipped {MATCH['angry']} 4 times, angry plays {chosen}"
    assert next(g for g in row["genres"] if g["genre"] == MATCH["angry"])["skipped"] == 4


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_preview_is_written_only_when_asked_and_stops_by_itself(tmp_path):
    config = load(
        overrides={"web": {"runtime_dir": str(tmp_path / "run"), "preview_s": 120, "preview_fps": 1}}, environ={}
    )
    mono = Clock(50.0)
    page = PreviewRequest(config)  # the wall clock: it reads the files' times
    daemon = PreviewWriter(config, render=lambda rgb, result: b"jpeg", clock=mono)
    frame = page.folder / FRAME
    daemon.poll()
    daemon.offer(None, None)  # type: ignore[arg-type]
    assert not frame.exists() and page.frame() is None  # nobody asked
    page.ask()
    daemon.poll()
    daemon.offer(None, None)  # type: ignore[arg-type]
    assert frame.read_bytes() == b"jpeg"
    assert page.frame() == b"jpeg" and page.until() is not None
    mono.now += 119
    daemon.poll()
    assert daemon.active and frame.exists()
    mono.now += 2  # 121 s after the daemon noticed the request
    daemon.poll()
    daemon.offer(None, None)  # type: ignore[arg-type]
    assert not daemon.active and not frame.exists()
    asked = time.time() - 121  # the page's own count ends too
    os.utime(page.folder / REQUEST, (asked, asked))
    assert page.until() is None and page.frame() is None


def test_no_preview_in_a_folder_others_can_open(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)  # as another user's folder in /tmp would be
    config = load(overrides={"web": {"runtime_dir": str(shared)}}, environ={})
    with pytest.raises(PermissionError, match="not this user's alone"):
        PreviewRequest(config).ask()
    daemon = PreviewWriter(config, render=lambda rgb, result: b"jpeg")
    (shared / config.device_id / REQUEST).write_text("now")
    daemon.poll()
    daemon.offer(None, None)  # type: ignore[arg-type]
    assert not (shared / config.device_id / FRAME).exists()


def test_a_request_left_from_before_the_daemon_started_is_not_one(tmp_path):
    config = load(overrides={"web": {"runtime_dir": str(tmp_path / "run")}}, environ={})
    PreviewRequest(config).ask()
    daemon = PreviewWriter(config, render=lambda rgb, result: b"jpeg")
    daemon.poll()
    assert not daemon.active


def test_the_web_settings_are_checked():
    with pytest.raises(ConfigError, match="web.preview_s"):
        load(overrides={"web": {"preview_s": 3600}}, environ={})
    with pytest.raises(ConfigError, match="web.flush_s"):
        load(overrides={"web": {"sample_s": 60, "flush_s": 10}}, environ={})
