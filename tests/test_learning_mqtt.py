"""Learning over the real broker: `moodcast run` on the sample clip learns from `.../feedback`,
keeps what it learned across a restart and a `kill -9`, publishes it on `.../preferences` and
forgets it on `set/preferences reset`; bad feedback is ignored."""

from __future__ import annotations

import json
import os
import signal
import time

from helpers import validate
from mqtt_helpers import Recorder, start_daemon, stop, wait_for_line

from moodcast.edge.mood.preferences import LearnOptions, PreferenceFile, Preferences
from moodcast.edge.mood.recommend import RecommendOptions
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.service.contract import parse_feedback

CLIP = str(SAMPLES_DIR / "astronaut.avi")
SKIP = json.dumps({"emotion": "angry", "genre": "metal", "outcome": "skipped"})


def test_skips_move_angry_and_the_preference_survives_restart_and_kill_9(broker, tmp_path):
    file = tmp_path / "state" / "preferences.json"
    args = ("--source", CLIP, "--loop", "--set", f"learn.file={file}")
    rec = Recorder(broker.port)
    rec.publish("moodcast/l1/feedback", SKIP, retain=True)  # left on the broker: ignored at every start
    log = tmp_path / "daemon.log"
    proc = start_daemon(broker.port, "l1", *args, log=log)
    first = rec.wait_for(lambda m: m.topic == "moodcast/l1/preferences", timeout=30, what="preferences at start")
    validate(first.json(), "preferences")
    assert first.json()["emotions"]["angry"]["genre"] == "metal" and first.json()["updates"] == 0

    for bad in ("{", '{"outcome": "maybe"}', '{"outcome": "played", "emotion": "bored", "genre": "pop"}', "x" * 5000):
        rec.publish("moodcast/l1/feedback", bad)
    for _ in range(5):
        validate(json.loads(SKIP), "feedback")
        rec.publish("moodcast/l1/feedback", SKIP)
    moved = rec.wait_for(
        lambda m: m.topic == "moodcast/l1/preferences" and m.json()["updates"] == 5, what="five skips learned"
    ).json()
    validate(moved, "preferences")
    angry = moved["emotions"]["angry"]["genre"]
    assert angry != "metal"
    wait_for_line(log, "feedback: 4 rejected")
    assert rec.on("/l1/state")[-1].json()["genre"] == "pop"  # the happy face's genre is untouched
    assert stop(proc) == 0

    def restarted(what: str):
        """A new daemon, and the first preferences it publishes."""
        since = time.monotonic()
        daemon = start_daemon(broker.port, "l1", *args)
        first = rec.wait_for(
            lambda m: m.topic == "moodcast/l1/preferences" and not m.retain and m.at > since, timeout=30, what=what
        )
        return daemon, first.json()

    # A restart reads the file: the first preferences of the new process say the same.
    proc, again = restarted("preferences after the restart")
    assert again["updates"] == 5 and again["emotions"]["angry"]["genre"] == angry

    # kill -9 right after more feedback: what was published is what the next start reads.
    rec.publish("moodcast/l1/feedback", json.dumps({"outcome": "liked", "emotion": "angry", "genre": angry}))
    liked = rec.wait_for(lambda m: m.topic == "moodcast/l1/preferences" and m.json()["updates"] == 6).json()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    proc, after_kill = restarted("preferences after kill -9")
    assert after_kill["emotions"] == liked["emotions"] and after_kill["updates"] == 6

    since = time.monotonic()
    rec.publish("moodcast/l1/set/preferences", "reset")
    rec.wait_for(
        lambda m: (
            m.topic == "moodcast/l1/preferences"
            and m.json()["updates"] == 0
            and m.at > since
            and m.json()["emotions"]["angry"]["genre"] == "metal"
        ),
        what="reset",
    )
    assert stop(proc) == 0
    assert json.loads(file.read_text())["updates"] == 0
    rec.close()


def test_a_reset_with_learning_off_removes_the_file(broker, tmp_path):
    """Learning turned off, then a reset asked for: the listener expects what was learned gone, not
    kept on disk for the day learning is turned on again."""
    file = tmp_path / "preferences.json"
    learned = Preferences(RecommendOptions(), LearnOptions())
    learned.update(parse_feedback(SKIP.encode()))
    assert PreferenceFile(file).save(learned)
    rec = Recorder(broker.port)
    rec.publish("moodcast/l2/preferences", json.dumps(learned.as_dict()), retain=True)  # a run with learning on
    args = ("--source", CLIP, "--loop", "--set", f"learn.file={file}", "--set", "learn.enabled=false")
    proc = start_daemon(broker.port, "l2", *args, log=tmp_path / "daemon.log")
    try:
        rec.wait_for(lambda m: m.topic == "moodcast/l2/config", timeout=30, what="the daemon's config")
        assert file.exists()  # learning off keeps the file untouched until a reset
        rec.publish("moodcast/l2/set/preferences", "reset")
        ack = rec.wait_for(
            lambda m: m.topic == "moodcast/l2/config" and (m.json()["last_command"] or {}).get("key") == "preferences",
            what="the reset acknowledged",
        ).json()
        assert ack["last_command"]["ok"] and not file.exists()
        rec.wait_for(lambda m: m.topic == "moodcast/l2/preferences" and not m.payload, what="the retained one cleared")
        # A new subscriber: the broker sends retained messages subscription by subscription, so the
        # config's arriving means no retained preferences came before it.
        late = Recorder(broker.port, topics=("moodcast/l2/preferences", "moodcast/l2/config"))
        late.wait_for(lambda m: m.topic == "moodcast/l2/config", what="the retained config")
        assert not late.on("/l2/preferences")
        late.close()
    finally:
        assert stop(proc) == 0
    rec.close()


def test_a_flood_of_feedback_writes_the_file_once_then_not_before_its_interval_and_a_stop_keeps_all(broker, tmp_path):
    """20 feedback messages a second for 5 s: before, one atomic rewrite (and two fsyncs) per
    tick; now the first at once, the next PREFERENCES_SAVE_EVERY_S later, and everything on stop."""
    from moodcast.edge.service.learning import PREFERENCES_SAVE_EVERY_S

    file = tmp_path / "state" / "preferences.json"
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "wear", "--source", CLIP, "--loop", "--set", f"learn.file={file}")
    rec.wait_for(lambda m: m.topic == "moodcast/wear/preferences", timeout=30, what="preferences at start")
    writes, last = 0, None
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < 5:
        rec.publish("moodcast/wear/feedback", SKIP)
        sent += 1
        for _ in range(5):  # each write replaces the file: a new inode
            seen = file.stat().st_ino if file.exists() else None
            if seen is not None and seen != last:
                writes, last = writes + 1, seen
            time.sleep(0.01)
    assert PREFERENCES_SAVE_EVERY_S > 5 and writes == 1, writes
    rec.wait_for(lambda m: m.topic == "moodcast/wear/preferences" and m.json()["updates"] == sent, what="all learned")
    assert stop(proc) == 0
    saved = Preferences(RecommendOptions(), LearnOptions())
    PreferenceFile(file).load(saved)
    assert saved.updates == sent
    rec.close()
