"""The follower's decisions as plain data: ``decide`` on a ``Situation`` (no MPD, the clock a
number), and ``Follower.tick`` on a scripted MPD with an injected clock, asserting on the typed
``Decision`` and on the queue edits made, never on the words (one table checks those)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.player.decide import Decision, Kind, ListenerAct, Situation, Wanted, decide
from moodcast.edge.player.follow import Follower, track_name
from moodcast.edge.player.music import Status
from moodcast.edge.player.options import PlayOptions

NOW = 1000.0
HOLD = PlayOptions(hold_s=20.0)
NOW_MODE = PlayOptions(hold_s=20.0, switch="now", fade_s=1.5)
EMPTY_PLAYS = PlayOptions(hold_s=20.0, play_when_empty=True)


def wants(genre: str | None, emotion: str | None = "happy", for_s: float = 60.0) -> Wanted:
    """The daemon has wanted ``genre`` for ``for_s`` seconds by NOW."""
    return Wanted(genre, emotion, NOW - for_s)


def at(wanted: Wanted | None, state: str = "play", **known) -> Situation:
    """MPD ``state`` at NOW, a song current (ours unless said) when it is not stopped."""
    return replace(Situation(NOW, wanted, state, song=state != "stop", ours=state != "stop"), **known)


BACK = {"stepped_back_until": NOW + 1, "stepped_back_for": ListenerAct.SKIPPED}
TABLE = [
    # The listener first: a step back, a pause and a stop hold whatever the daemon wants.
    ("stepped back", at(wants("metal"), **BACK), HOLD, Decision(Kind.STEPPED_BACK, act=ListenerAct.SKIPPED)),
    (
        "stepped back, daemon offline",
        at(None, daemon_online=False, **BACK),
        HOLD,
        Decision(Kind.STEPPED_BACK, act=ListenerAct.SKIPPED),
    ),
    (
        "step back over at its end",
        at(wants("pop"), queued="pop", stepped_back_until=NOW),
        HOLD,
        Decision(Kind.FOLLOWING),
    ),
    ("paused: never un-paused", at(wants("metal"), "pause", queued="pop"), HOLD, Decision(Kind.PAUSED)),
    ("paused, daemon offline", at(wants("metal"), "pause", daemon_online=False), HOLD, Decision(Kind.PAUSED)),
    ("stopped: never restarted", at(wants("pop"), "stop", stopped=True, queued="pop"), HOLD, Decision(Kind.STOPPED)),
    ("played again after a stop", at(wants("pop"), stopped=True, queued="pop"), HOLD, Decision(Kind.FOLLOWING)),
    # The daemon: offline, its state is stale; none yet, nothing to follow.
    (
        "daemon offline, new genre held",
        at(wants("metal"), daemon_online=False, queued="pop"),
        HOLD,
        Decision(Kind.DAEMON_OFFLINE),
    ),
    (
        "daemon offline, nobody in view",
        at(wants(None), daemon_online=False, queued="pop"),
        HOLD,
        Decision(Kind.DAEMON_OFFLINE),
    ),
    ("no state yet", at(None), HOLD, Decision(Kind.WAITING)),
    # Nobody in view: our queue ends after the current track once that has held.
    ("nobody, play_when_empty", at(wants(None), queued="pop"), EMPTY_PLAYS, Decision(Kind.PLAYING_ON)),
    ("nobody held, our queue", at(wants(None), queued="pop"), HOLD, Decision(Kind.END_AFTER_CURRENT)),
    ("nobody not held yet", at(wants(None, for_s=19.9), queued="pop"), HOLD, Decision(Kind.NOBODY)),
    ("nobody, nothing of ours", at(wants(None)), HOLD, Decision(Kind.NOBODY)),
    # The genre queued: following, or switching when the listener's track ends.
    ("following", at(wants("pop"), queued="pop"), HOLD, Decision(Kind.FOLLOWING)),
    ("following, not held: already queued", at(wants("pop", for_s=0), queued="pop"), HOLD, Decision(Kind.FOLLOWING)),
    ("their track first", at(wants("pop"), queued="pop", ours=False), HOLD, Decision(Kind.SWITCHING_AT_TRACK_END)),
    ("its tracks ran out", at(wants("pop"), "stop", queued="pop"), HOLD, Decision(Kind.PLAY_NOW, "pop", "happy")),
    # A new genre: held first, then queued behind the current track, or now (faded) by option.
    ("new genre not held", at(wants("metal", for_s=19.9), queued="pop"), HOLD, Decision(Kind.HOLDING, "metal")),
    ("held exactly hold_s", at(wants("metal", "angry", for_s=20.0)), HOLD, Decision(Kind.QUEUE_NEXT, "metal", "angry")),
    ("held, playing", at(wants("metal", "angry"), queued="pop"), HOLD, Decision(Kind.QUEUE_NEXT, "metal", "angry")),
    ("held, stopped", at(wants("metal", "angry"), "stop"), HOLD, Decision(Kind.PLAY_NOW, "metal", "angry")),
    ("held, switch now", at(wants("metal", "angry")), NOW_MODE, Decision(Kind.PLAY_NOW, "metal", "angry", 1.5)),
    (
        "held, switch now, stopped",
        at(wants("metal", None), "stop"),
        NOW_MODE,
        Decision(Kind.PLAY_NOW, "metal", None, 1.5),
    ),
    ("nothing to play, known", at(wants("polka"), nothing_for="polka"), HOLD, Decision(Kind.NOTHING_TO_PLAY, "polka")),
    (
        "nothing for another genre",
        at(wants("metal"), nothing_for="polka"),
        HOLD,
        Decision(Kind.QUEUE_NEXT, "metal", "happy"),
    ),
]


@pytest.mark.parametrize("situation, options, expected", [row[1:] for row in TABLE], ids=[row[0] for row in TABLE])
def test_decide(situation: Situation, options: PlayOptions, expected: Decision):
    assert decide(situation, options) == expected


def test_the_clock_alone_moves_a_decision_from_holding_to_queueing_and_out_of_a_step_back():
    wanted = Wanted("metal", "angry", since=100.0)
    hold = [decide(Situation(now, wanted, "play", song=True), HOLD).kind for now in (100.0, 119.99, 120.0)]
    assert hold == [Kind.HOLDING, Kind.HOLDING, Kind.QUEUE_NEXT]
    back = Situation(0.0, wanted, "play", song=True, stepped_back_until=700.0, stepped_back_for=ListenerAct.PAUSED)
    assert [decide(replace(back, now=now), HOLD).kind for now in (699.9, 700.0)] == [Kind.STEPPED_BACK, Kind.QUEUE_NEXT]


WORDS = [  # .../player's reason: the published words (schemas/player.schema.json, docs/play.md)
    (Decision(Kind.STEPPED_BACK, act=ListenerAct.EDITED), "stepped back: queue changed by the listener"),
    (Decision(Kind.STEPPED_BACK, act=ListenerAct.SKIPPED), "stepped back: skipped by the listener"),
    (Decision(Kind.STEPPED_BACK, act=ListenerAct.PAUSED), "stepped back: paused by the listener"),
    (Decision(Kind.STEPPED_BACK, act=ListenerAct.STOPPED), "stepped back: stopped by the listener"),
    (Decision(Kind.PAUSED), "paused by the listener"),
    (Decision(Kind.STOPPED), "stopped by the listener"),
    (Decision(Kind.DAEMON_OFFLINE), "daemon offline: the music left as it is"),
    (Decision(Kind.WAITING), "waiting for the daemon's state"),
    (Decision(Kind.PLAYING_ON), "nobody in view, playing on"),
    (Decision(Kind.NOBODY), "nobody in view"),
    (Decision(Kind.END_AFTER_CURRENT), "nobody in view"),
    (Decision(Kind.HOLDING, "metal"), "holding metal"),
    (Decision(Kind.NOTHING_TO_PLAY, "polka"), "nothing to play for polka"),
    (Decision(Kind.FOLLOWING), "following"),
    (Decision(Kind.SWITCHING_AT_TRACK_END), "switching at the end of the track"),
]


@pytest.mark.parametrize("decision, words", WORDS, ids=[w for _, w in WORDS])
def test_each_decision_says_the_words_player_has_always_published(decision: Decision, words: str):
    assert decision.reason == words


# --- the follower on a scripted MPD ------------------------------------------------------------


@dataclass
class ScriptedMpd:
    """MPD as plain data: a queue of (id, file), the current position, and the follower's edits.
    The listener's actions change it as MPD would (a skip keeps the queue's version; an edit bumps it)."""

    library: dict[str, list[str]] = field(default_factory=dict)
    queue: list[tuple[str, str]] = field(default_factory=list)
    position: int | None = None
    state: str = "stop"
    elapsed: float = 0.0
    duration: float = 100.0
    version: int = 1
    edits: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    _ids: int = 0

    def status(self) -> Status:
        songid = self.queue[self.position][0] if self.position is not None else None
        nxt = self.position + 1 if self.position is not None and self.position + 1 < len(self.queue) else None
        return Status(
            self.state, songid, self.position, self.elapsed, self.duration, self.version, len(self.queue), 100,
            next_songid=self.queue[nxt][0] if nxt is not None else None,
        )  # fmt: skip

    def current(self) -> dict:
        return {"file": self.queue[self.position][1]} if self.position is not None else {}

    def resolve(self, genre: str) -> list[str]:
        self.resolved.append(genre)
        return list(self.library.get(genre, []))

    def _add(self, files: list[str]) -> list[str]:
        ids = []
        for f in files:
            self._ids += 1
            self.queue.append((str(self._ids), f))
            ids.append(str(self._ids))
        self.version += 1
        return ids

    def queue_after_current(self, files: list[str]) -> list[str]:
        self.edits.append("queue_after_current")
        assert self.position is not None
        del self.queue[self.position + 1 :]
        return self._add(files)

    def play_now(self, files: list[str], fade_s: float) -> list[str]:
        self.edits.append(f"play_now {fade_s:g}")
        self.queue = []
        ids = self._add(files)
        self.position, self.state, self.elapsed = (0, "play", 0.0) if ids else (None, "stop", 0.0)
        return ids

    def end_after_current(self) -> None:
        self.edits.append("end_after_current")
        if self.position is not None:
            del self.queue[self.position + 1 :]
            self.version += 1

    def changed_since(self, version: int) -> list[tuple[int, str]]:
        return []  # (a retag: none here)

    def holds(self, songid: str) -> bool:
        return any(i == songid for i, _ in self.queue)

    # The listener (or the track's end):
    def next(self, elapsed: float = 0.0) -> None:
        assert self.position is not None
        self.position, self.elapsed = self.position + 1, elapsed

    def load(self, files: list[str]) -> None:
        self.queue = []
        self._add(files)
        self.position, self.state, self.elapsed = 0, "play", 0.0


LIBRARY = {"pop": ["pop-0", "pop-1", "pop-2"], "metal": ["metal-0", "metal-1"]}
OPTIONS = PlayOptions(hold_s=5.0, step_back_s=60.0, skip_within_s=30.0)


def following(mpd: ScriptedMpd, options: PlayOptions = OPTIONS) -> tuple[Follower, list[Feedback]]:
    """A follower that has queued pop (at its clock's 10 s) on ``mpd``."""
    fed: list[Feedback] = []
    follower = Follower(options, mpd, fed.append)  # (a scripted Music)
    follower.want("pop", "happy", 0.0)
    assert kind(follower, 10.0) is Kind.FOLLOWING and [e.split()[0] for e in mpd.edits] == ["play_now"]
    return follower, fed


def kind(follower: Follower, now: float) -> Kind:
    decision = follower.tick(now).decision
    assert decision is not None
    return decision.kind


def test_a_track_that_plays_through_is_fed_back_as_played_and_following_goes_on():
    mpd = ScriptedMpd(LIBRARY)
    follower, fed = following(mpd)
    mpd.elapsed = 99.0
    assert kind(follower, 20.0) is Kind.FOLLOWING
    mpd.next()  # 0.6 s later by the follower's clock: past END_MARGIN_S of its end
    assert kind(follower, 20.6) is Kind.FOLLOWING
    assert fed == [Feedback("played", "happy", "pop")] and mpd.edits == ["play_now 0"]


def test_a_skip_is_fed_back_and_hands_off_for_step_back_s_by_the_clock_given():
    mpd = ScriptedMpd(LIBRARY)
    follower, fed = following(mpd)
    mpd.elapsed = 5.0
    assert kind(follower, 15.0) is Kind.FOLLOWING
    mpd.next()
    assert follower.tick(16.0).decision == Decision(Kind.STEPPED_BACK, act=ListenerAct.SKIPPED)
    assert fed == [Feedback("skipped", "happy", "pop")]
    follower.want("metal", "angry", 16.0)  # held, but hands off until 16 + 60
    assert [kind(follower, now) for now in (30.0, 75.9)] == [Kind.STEPPED_BACK, Kind.STEPPED_BACK]
    state = follower.tick(76.0)  # metal after the current pop track (still ours: fed back as pop)
    assert state.decision == Decision(Kind.FOLLOWING) and state.genre == "pop"
    assert mpd.edits[-1] == "queue_after_current" and {f for _, f in mpd.queue[2:]} == {"metal-0", "metal-1"}


def test_a_slow_look_tells_a_skip_near_the_end_from_the_end_by_when_the_next_song_began():
    mpd = ScriptedMpd(LIBRARY, duration=10.0)
    follower, fed = following(mpd)
    mpd.elapsed = 1.0
    assert kind(follower, 15.0) is Kind.FOLLOWING
    mpd.next(elapsed=9.5)  # skipped at 15.5; the follower looks again only at 25 (a busy Pi)
    assert follower.tick(25.0).decision == Decision(Kind.STEPPED_BACK, act=ListenerAct.SKIPPED)
    assert fed == [Feedback("skipped", "happy", "pop")]

    mpd = ScriptedMpd(LIBRARY, duration=10.0)
    follower, fed = following(mpd)
    mpd.elapsed = 1.0
    assert kind(follower, 15.0) is Kind.FOLLOWING
    mpd.next(elapsed=1.0)  # it ended at 24: the next song has played 1 s by the look at 25
    assert kind(follower, 25.0) is Kind.FOLLOWING
    assert fed == [Feedback("played", "happy", "pop")]


def test_a_pause_steps_back_and_is_never_lifted_by_moodcast():
    mpd = ScriptedMpd(LIBRARY)
    follower, _ = following(mpd)
    mpd.state = "pause"
    assert follower.tick(11.0).decision == Decision(Kind.STEPPED_BACK, act=ListenerAct.PAUSED)
    follower.want("metal", "angry", 11.0)
    assert [kind(follower, now) for now in (70.0, 71.0, 5000.0)] == [Kind.STEPPED_BACK, Kind.PAUSED, Kind.PAUSED]
    assert mpd.edits == ["play_now 0"] and mpd.state == "pause"


def test_a_queue_chosen_by_hand_is_left_alone_until_step_back_s_is_over():
    mpd = ScriptedMpd(LIBRARY)
    follower, _ = following(mpd)
    mpd.load(["mine-0", "mine-1"])
    assert follower.tick(11.0).decision == Decision(Kind.STEPPED_BACK, act=ListenerAct.EDITED)
    follower.want("metal", "angry", 12.0)
    assert kind(follower, 70.9) is Kind.STEPPED_BACK and mpd.edits == ["play_now 0"]
    assert kind(follower, 71.0) is Kind.SWITCHING_AT_TRACK_END  # theirs plays on; metal after it
    assert mpd.queue[0][1] == "mine-0" and mpd.edits[-1] == "queue_after_current"
    assert {f for _, f in mpd.queue[1:]} == {"metal-0", "metal-1"}


def test_the_listeners_stop_is_never_restarted_but_a_queue_that_ran_out_is_queued_again():
    mpd = ScriptedMpd(LIBRARY, duration=100.0)
    follower, _ = following(mpd, replace(OPTIONS, step_back_s=0.0))
    mpd.elapsed, mpd.state = 10.0, "stop"  # the listener's stop: the song stays current
    assert [kind(follower, now) for now in (11.0, 12.0)] == [Kind.STOPPED, Kind.STOPPED] and len(mpd.edits) == 1
    mpd.state = "play"  # they play again; then the queue runs out by itself
    assert kind(follower, 13.0) is Kind.FOLLOWING
    mpd.elapsed = 99.9
    assert kind(follower, 14.0) is Kind.FOLLOWING
    mpd.position, mpd.state, mpd.elapsed = None, "stop", 0.0
    assert kind(follower, 14.5) is Kind.FOLLOWING and mpd.edits == ["play_now 0", "play_now 0"]


def test_while_the_daemon_is_offline_nothing_is_queued_removed_or_queued_again():
    mpd = ScriptedMpd(LIBRARY)
    follower, _ = following(mpd)
    follower.daemon_available(False)
    for now, genre in ((20.0, "metal"), (40.0, None), (60.0, "pop")):
        follower.want(genre, "angry", now)
        assert kind(follower, now + 10) is Kind.DAEMON_OFFLINE
    mpd.elapsed = 99.9
    assert kind(follower, 89.0) is Kind.DAEMON_OFFLINE
    mpd.position, mpd.state, mpd.elapsed = None, "stop", 0.0  # the queue ran out meanwhile
    assert kind(follower, 90.0) is Kind.DAEMON_OFFLINE and mpd.edits == ["play_now 0"]
    follower.daemon_available(True)
    assert kind(follower, 91.0) is Kind.WAITING  # not the stale state: the daemon sends it again


def test_nobody_in_view_ends_our_queue_after_the_current_track_once():
    mpd = ScriptedMpd(LIBRARY)
    follower, _ = following(mpd)
    follower.want(None, None, 20.0)
    assert [kind(follower, now) for now in (24.9, 25.0, 26.0)] == [Kind.NOBODY, Kind.END_AFTER_CURRENT, Kind.NOBODY]
    assert mpd.edits == ["play_now 0", "end_after_current"] and len(mpd.queue) == 1


def test_a_genre_with_nothing_to_play_is_looked_up_once_until_the_genre_changes():
    mpd = ScriptedMpd(LIBRARY)
    follower, _ = following(mpd)
    follower.want("polka", "sad", 20.0)
    assert [kind(follower, now) for now in (25.0, 26.0, 27.0)] == [Kind.NOTHING_TO_PLAY] * 3
    assert mpd.resolved == ["pop", "polka"] and mpd.edits == ["play_now 0"]
    follower.want("metal", "angry", 30.0)
    assert kind(follower, 35.0) is Kind.FOLLOWING and mpd.resolved[-1] == "metal"
    assert mpd.edits[-1] == "queue_after_current"


def test_switch_now_replaces_the_queue_after_a_fade_of_fade_s():
    mpd = ScriptedMpd(LIBRARY)
    follower, _ = following(mpd, replace(OPTIONS, switch="now", fade_s=1.5))
    follower.want("metal", "angry", 20.0)
    state = follower.tick(25.0)
    assert state.decision == Decision(Kind.FOLLOWING) and state.genre == "metal" and mpd.edits[-1] == "play_now 1.5"


# --- MPD's own changes, and streams ----------------------------------------------------------


class OneStream:
    """MPD as the follower sees it, with one stream: no duration, so no track end to tell a stop by."""

    URL = "http://radio.example:8000/jazz"

    def __init__(self):
        self.now = Status("stop", None, None, 0.0, 0.0, 1, 0, None)
        self.started = 0

    def status(self) -> Status:
        return self.now

    def current(self) -> dict:
        return {"file": self.URL} if self.now.songid else {}

    def resolve(self, genre: str) -> list[str]:
        return [self.URL]

    def play_now(self, files: list[str], fade_s: float) -> list[str]:
        self.started += 1
        self.now = Status("play", "7", 0, 0.0, 0.0, self.now.version + 1, 1, None)
        return ["7"]


def test_a_stream_the_listener_stopped_is_never_restarted():
    stream = OneStream()
    options = PlayOptions(hold_s=0, step_back_s=0, targets={"jazz": OneStream.URL})
    follower = Follower(options, stream, print)
    follower.want("jazz", "sad", 0.0)
    assert kind(follower, 1.0) is Kind.FOLLOWING and stream.started == 1
    stream.now = Status("play", "7", 0, 60.0, 0.0, stream.now.version, 1, None)
    assert kind(follower, 61.0) is Kind.FOLLOWING
    stream.now = Status("stop", "7", 0, 0.0, 0.0, stream.now.version, 1, None)  # the listener's stop
    for now in (62.0, 63.0):
        assert kind(follower, now) is Kind.STOPPED and stream.started == 1


def test_a_tag_held_twice_is_one_name():
    """python-mpd2 gives a list for a tag a file holds more than once; .../player's track is a string."""
    assert track_name({"title": ["Intro", "Outro"], "artist": ["A", "B"], "file": "x.flac"}) == "A, B - Intro, Outro"
    assert track_name({"file": "http://radio.example/jazz"}) == "http://radio.example/jazz"


class Queue(OneStream):
    """Three songs of ours, and what MPD's plchangesposid answers for the next version."""

    def __init__(self):
        super().__init__()
        self.changes: list[tuple[int, str]] = []

    def play_now(self, files: list[str], fade_s: float) -> list[str]:
        self.now = Status("play", "7", 0, 0.0, 0.0, self.now.version + 1, 3, None)
        return ["7", "8", "9"]

    def changed_since(self, version: int) -> list[tuple[int, str]]:
        return self.changes


def test_a_song_replaced_behind_the_current_one_is_the_listeners_even_with_the_same_length():
    """Only the current song retagged is MPD's; the same length and current song are not enough."""
    queue = Queue()
    follower = Follower(PlayOptions(hold_s=0, step_back_s=60, targets={"jazz": OneStream.URL}), queue, print)
    follower.want("jazz", "sad", 0.0)
    assert kind(follower, 1.0) is Kind.FOLLOWING
    retag, replaced = Decision(Kind.FOLLOWING), Decision(Kind.STEPPED_BACK, act=ListenerAct.EDITED)
    for changes, expected in (([(0, "7")], retag), ([(2, "10")], replaced)):
        queue.changes = changes
        queue.now = Status("play", "7", 0, 1.0, 0.0, queue.now.version + 1, 3, None)
        assert follower.tick(2.0).decision == expected
