"""What the player does at each tick, as plain data: ``decide`` maps a ``Situation`` (the clock,
what the daemon wants and since when, MPD's state, what the listener did) to a ``Decision``;
``follow.py`` notices the listener and carries decisions out against MPD.

- The scene's genre must hold ``play.hold_s`` first; then, by default, the new genre's tracks are
  queued after the current one (MPD moves on to them at the track's end: no cut) or, with
  ``switch = "now"``, played at once after a short fade.
- After the listener's pause, skip, stop or queue edit, moodcast changes nothing for
  ``play.step_back_s``, and never un-pauses or restarts what the listener paused or stopped. A
  genre whose queued tracks ran out is queued again.
- While the daemon is offline its state is stale: the music is left as it is until the daemon is
  back and publishes a state again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from moodcast.edge.player.options import PlayOptions


class ListenerAct(Enum):
    """What the listener did that makes moodcast step back (the words ``.../player`` shows)."""

    PAUSED = "paused by the listener"
    SKIPPED = "skipped by the listener"
    STOPPED = "stopped by the listener"
    EDITED = "queue changed by the listener"


class Kind(Enum):
    """What the player does at one tick."""

    STEPPED_BACK = auto()  # hands off for play.step_back_s after a ListenerAct
    PAUSED = auto()  # the listener's pause: never un-paused
    STOPPED = auto()  # the listener's stop: never restarted
    DAEMON_OFFLINE = auto()  # its retained state is stale: the music left as it is
    WAITING = auto()  # no state from the daemon yet
    PLAYING_ON = auto()  # nobody in view, and play.play_when_empty
    NOBODY = auto()  # nobody in view: nothing new queued
    END_AFTER_CURRENT = auto()  # nobody in view for hold_s: our tracks after the current one removed
    HOLDING = auto()  # a new genre that has not held for hold_s yet
    NOTHING_TO_PLAY = auto()  # the genre has nothing to play (logged once, until the genre changes)
    FOLLOWING = auto()  # the genre's tracks are queued (a track of ours current, or none)
    SWITCHING_AT_TRACK_END = auto()  # the genre's tracks are queued behind a track not ours
    QUEUE_NEXT = auto()  # queue the genre after the current track: MPD moves on to it at its end
    PLAY_NOW = auto()  # replace the queue with the genre and play it, after a fade of fade_s


ACTIONS = (Kind.END_AFTER_CURRENT, Kind.QUEUE_NEXT, Kind.PLAY_NOW)  # the kinds that edit MPD's queue

REASONS = {  # .../player's reason: the words are the published contract (schemas/player.schema.json)
    Kind.STEPPED_BACK: "stepped back: {act}",
    Kind.PAUSED: "paused by the listener",
    Kind.STOPPED: "stopped by the listener",
    Kind.DAEMON_OFFLINE: "daemon offline: the music left as it is",
    Kind.WAITING: "waiting for the daemon's state",
    Kind.PLAYING_ON: "nobody in view, playing on",
    Kind.NOBODY: "nobody in view",
    Kind.END_AFTER_CURRENT: "nobody in view",
    Kind.HOLDING: "holding {genre}",
    Kind.NOTHING_TO_PLAY: "nothing to play for {genre}",
    Kind.FOLLOWING: "following",
    Kind.SWITCHING_AT_TRACK_END: "switching at the end of the track",
    Kind.QUEUE_NEXT: "switching to {genre} at the end of the track",
    Kind.PLAY_NOW: "switching to {genre} now",
}


@dataclass(frozen=True)
class Decision:
    """One tick's decision; ``reason`` is its words for the log and ``.../player``."""

    kind: Kind
    genre: str | None = None  # HOLDING, NOTHING_TO_PLAY, QUEUE_NEXT, PLAY_NOW: the genre wanted
    emotion: str | None = None  # QUEUE_NEXT, PLAY_NOW: what its tracks are fed back for
    fade_s: float = 0.0  # PLAY_NOW: the current track faded out over this long first
    act: ListenerAct | None = None  # STEPPED_BACK: what the listener did

    @property
    def reason(self) -> str:
        return REASONS[self.kind].format(genre=self.genre, act=self.act.value if self.act else "")


@dataclass(frozen=True)
class Wanted:
    """The daemon's latest genre and emotion, and since when (the follower's clock)."""

    genre: str | None
    emotion: str | None
    since: float


@dataclass(frozen=True)
class Situation:
    """All that ``decide`` looks at: what MPD says now and what the follower remembers."""

    now: float  # the follower's clock
    wanted: Wanted | None  # None: no state from the daemon (yet, or since its availability changed)
    state: str = "stop"  # MPD's: play, pause or stop
    song: bool = False  # a song is current
    ours: bool = False  # ... and moodcast queued it
    daemon_online: bool = True
    stepped_back_until: float = float("-inf")
    stepped_back_for: ListenerAct | None = None
    stopped: bool = False  # the listener pressed stop (and has not played since)
    queued: str | None = None  # the genre moodcast queued
    nothing_for: str | None = None  # the genre found with nothing to play


def decide(s: Situation, o: PlayOptions) -> Decision:
    """The listener first, then the daemon, then the genre it wants."""
    if s.now < s.stepped_back_until:
        return Decision(Kind.STEPPED_BACK, act=s.stepped_back_for)
    if s.state == "pause":
        return Decision(Kind.PAUSED)
    if s.stopped and s.state != "play":
        return Decision(Kind.STOPPED)
    if not s.daemon_online:
        return Decision(Kind.DAEMON_OFFLINE)
    if s.wanted is None:
        return Decision(Kind.WAITING)
    held = s.now - s.wanted.since >= o.hold_s
    if s.wanted.genre is None:
        return _nobody(s, o, held)
    return _genre(s, o, s.wanted.genre, s.wanted.emotion, held)


def _nobody(s: Situation, o: PlayOptions, held: bool) -> Decision:
    if o.play_when_empty:
        return Decision(Kind.PLAYING_ON)
    if s.queued is not None and held:
        return Decision(Kind.END_AFTER_CURRENT)
    return Decision(Kind.NOBODY)


def _genre(s: Situation, o: PlayOptions, genre: str, emotion: str | None, held: bool) -> Decision:
    if genre == s.queued and s.state != "stop":  # (stopped: its tracks ran out, queued again below)
        return following(s.song, s.ours)
    if not held:
        return Decision(Kind.HOLDING, genre)
    if genre == s.nothing_for:
        return Decision(Kind.NOTHING_TO_PLAY, genre)
    if s.state == "play" and o.switch == "track_end":
        return Decision(Kind.QUEUE_NEXT, genre, emotion)
    return Decision(Kind.PLAY_NOW, genre, emotion, o.fade_s if o.switch == "now" else 0.0)


def following(song: bool, ours: bool) -> Decision:
    """The genre queued: a song not ours current means ours start when it ends."""
    return Decision(Kind.SWITCHING_AT_TRACK_END if song and not ours else Kind.FOLLOWING)
