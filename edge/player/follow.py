"""The player's follower: one ``tick`` looks at MPD, notices what the listener did since the last
one, asks ``decide`` (``decide.py``) what to do and carries the decision out against MPD.

- A pause, a skip, a stop or a queue edited by another client (a playlist chosen by hand) is the
  listener's; MPD's own queue changes are not: consume mode removing the song that was current,
  and a stream's new title (MPD retags the current song, which bumps the queue's version).
- A track of ours that plays through is fed back as ``played``; one skipped within
  ``play.skip_within_s`` as ``skipped``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.player.decide import (
    ACTIONS,
    REASONS,
    Decision,
    Kind,
    ListenerAct,
    Situation,
    Wanted,
    decide,
    following,
)
from moodcast.edge.player.music import Music, MusicError, Status
from moodcast.edge.player.options import PlayOptions

log = logging.getLogger("moodcast.play")

END_MARGIN_S = 0.5  # a song left within this of its end (where it had got to by now) ended by itself


@dataclass(frozen=True)
class PlayerState:
    """What ``.../player`` publishes (with ``ts``); ``decision`` None when MPD was not reached."""

    playing: bool
    genre: str | None
    track: str | None
    reason: str
    mpd_ok: bool
    decision: Decision | None = None

    def as_dict(self) -> dict:
        return {
            "playing": self.playing,
            "genre": self.genre,
            "track": self.track,
            "reason": self.reason,
            "mpd_ok": self.mpd_ok,
        }


def _tag(song: dict, key: str) -> str | None:
    """One tag's value; python-mpd2 gives a list for a tag a file holds more than once."""
    value = song.get(key)
    return ", ".join(value) if isinstance(value, list) else value


def track_name(song: dict) -> str | None:
    title, artist = _tag(song, "title"), _tag(song, "artist")
    if title and artist:
        return f"{artist} - {title}"
    return title or _tag(song, "file")


class Follower:
    """Feed it the daemon's states (``want``) and call ``tick`` often; ``on_feedback`` gets each
    played or skipped track of ours."""

    def __init__(self, options: PlayOptions, music: Music, on_feedback: Callable[[Feedback], None]):
        self.options = options
        self.music = music
        self.on_feedback = on_feedback
        self.wanted: Wanted | None = None
        self.step_back_until = float("-inf")
        self.step_back_for: ListenerAct | None = None
        self._stopped = False  # the listener pressed stop: never restarted by moodcast
        self.daemon_online = True  # until its availability says otherwise
        self._forget()

    def _forget(self) -> None:
        """What we knew of MPD's queue (after a reconnect we know nothing)."""
        self._genre: str | None = None  # the genre queued by us
        self._ours: dict[str, tuple[str, str | None]] = {}  # songid -> genre, emotion (our queue only)
        self._version: int | None = None  # the queue's version after our last edit
        self._last: Status | None = None
        self._last_at = 0.0  # when _last was read
        self._nothing_for: str | None = None  # reported once until the genre changes

    def want(self, genre: str | None, emotion: str | None, now: float) -> None:
        if self.wanted is None or (genre, emotion) != (self.wanted.genre, self.wanted.emotion):
            since = self.wanted.since if self.wanted is not None and genre == self.wanted.genre else now
            self.wanted = Wanted(genre, emotion, since)

    def daemon_available(self, online: bool) -> None:
        """The daemon's availability. A change makes what it wanted before stale: a daemon that is
        back publishes its state again."""
        if online != self.daemon_online:
            log.info("daemon online: following its state" if online else REASONS[Kind.DAEMON_OFFLINE])
            self.daemon_online, self.wanted = online, None

    def lost(self) -> None:
        """MPD went away: whatever comes back is a queue we did not make."""
        self._forget()

    # --- the listener --------------------------------------------------------------------------

    def _step_back(self, act: ListenerAct, now: float) -> None:
        log.info("%s: hands off for %.0f s", act.value, self.options.step_back_s)
        self.step_back_until, self.step_back_for = now + self.options.step_back_s, act

    def _notice(self, status: Status, now: float) -> None:
        """What changed since the last tick that we did not do."""
        if status.state == "play":
            self._stopped = False  # the listener played again: a stop of theirs is over
        if self._queue_edited(status, now) or self._last is None:
            return
        last = self._last
        if last.state == "play" and status.state == "pause":
            self._step_back(ListenerAct.PAUSED, now)
        if last.state != "play" or last.songid is None:
            return
        # Where the last song had got to when it stopped being current: a slow tick (a busy Pi)
        # must not make a track's end a skip, nor a late skip its end. A song that followed it
        # says when it began; a stop says nothing, so the time of this look stands in.
        # A stream (no duration) never ends by itself: its stop is the listener's.
        changed = status.songid != last.songid and status.state in ("play", "pause")
        left_at = max(self._last_at, now - status.elapsed) if changed else now
        reached = last.elapsed + left_at - self._last_at
        ended = last.duration > 0 and reached >= last.duration - END_MARGIN_S
        if status.state == "stop" and status.songid == last.songid and not ended:
            self._stopped = True  # a stop keeps the current song; the queue running out does not
            self._step_back(ListenerAct.STOPPED, now)
        elif status.songid != last.songid:
            self._song_changed(last.songid, last.elapsed, ended, now)

    def _queue_edited(self, status: Status, now: float) -> bool:
        """Whether another client edited the queue since our last edit (then it is not ours)."""
        if self._version is None or status.version == self._version:
            return False
        if self._last is None or not self._by_mpd(self._last, status):
            self._ours.clear()
            self._version, self._genre = None, None
            self._step_back(ListenerAct.EDITED, now)
            return True
        self._version = status.version
        return False

    def _song_changed(self, songid: str, elapsed: float, ended: bool, now: float) -> None:
        """The song last current (``elapsed`` into it at the last look) is no longer: it ended, or
        the listener skipped it."""
        ours = self._ours.pop(songid, None)
        if ours is not None and (ended or elapsed < self.options.skip_within_s):
            self.on_feedback(Feedback("played" if ended else "skipped", ours[1], ours[0]))
        if not ended:
            self._step_back(ListenerAct.SKIPPED, now)

    def _by_mpd(self, last: Status, status: Status) -> bool:
        """Whether the queue changed since ``last`` only as MPD changes it by itself: the current
        song retagged (a stream's new title), or consume mode removing the song that was current
        (its end, or a skip: told apart below as for any song)."""
        if status.songid is not None and (status.songid, status.length) == (last.songid, last.length):
            return self.music.changed_since(last.version) == [(status.position, status.songid)]
        if last.consume and last.songid is not None and status.length == last.length - 1:
            return status.songid == last.next_songid and not self.music.holds(last.songid)
        return False

    # --- one look -----------------------------------------------------------------------------

    def tick(self, now: float) -> PlayerState:
        """Notice, decide, act. Raises MusicError when MPD is gone (the caller reconnects)."""
        status = self.music.status()
        self._notice(status, now)
        self._last, self._last_at = status, now
        decision = decide(self.situation(status, now), self.options)
        if decision.kind in ACTIONS:
            decision, status = self._carry_out(decision, status, now)
        return self._state(decision, status)

    def situation(self, status: Status, now: float) -> Situation:
        return Situation(
            now=now,
            wanted=self.wanted,
            state=status.state,
            song=status.songid is not None,
            ours=status.songid in self._ours,
            daemon_online=self.daemon_online,
            stepped_back_until=self.step_back_until,
            stepped_back_for=self.step_back_for,
            stopped=self._stopped,
            queued=self._genre,
            nothing_for=self._nothing_for,
        )

    def _state(self, decision: Decision, status: Status) -> PlayerState:
        song = self.music.current() if status.songid is not None else {}
        ours = self._ours.get(status.songid or "")
        genre = ours[0] if ours else None
        return PlayerState(status.state == "play", genre, track_name(song), decision.reason, True, decision)

    # --- acting on MPD ------------------------------------------------------------------------

    def _carry_out(self, decision: Decision, status: Status, now: float) -> tuple[Decision, Status]:
        """Edits MPD's queue as ``decision`` says; returns the decision as it then stands, and MPD's
        status after the edit."""
        if decision.kind is Kind.END_AFTER_CURRENT:
            self.music.end_after_current()
            self._genre = None
            return decision, self._edited(now)
        if decision.genre is None:
            raise ValueError(f"{decision.kind.name} without a genre")
        return self._switch(decision, decision.genre, status, now)

    def _switch(self, decision: Decision, genre: str, status: Status, now: float) -> tuple[Decision, Status]:
        """Queues ``genre``: then following it, or nothing to play (none there, or none MPD took)."""
        files = self.music.resolve(genre)
        ids: list[str] = []
        if files and decision.kind is Kind.QUEUE_NEXT:
            ids = self.music.queue_after_current(files)
        elif files:
            ids = self.music.play_now(files, decision.fade_s)
        if not ids:
            log.warning("nothing to play for %s (play.targets, genre tags, play.aliases); skipped", genre)
            self._nothing_for = genre
            # What we cleared or cut is ours, not the listener's.
            return Decision(Kind.NOTHING_TO_PLAY, genre), self._edited(now) if files else status
        log.info("queued %d tracks of %s (%s)", len(ids), genre, self.options.switch)
        current = self._ours.get(status.songid or "") if decision.kind is Kind.QUEUE_NEXT else None
        self._ours = {i: (genre, decision.emotion) for i in ids}
        if current is not None and status.songid is not None:
            self._ours[status.songid] = current
        self._genre, self._nothing_for = genre, None
        after = self._edited(now)
        return following(after.songid is not None, after.songid in self._ours), after

    def _edited(self, now: float) -> Status:
        """After our own queue edit: its version and the status are the new baseline."""
        try:
            self._last, self._last_at = self.music.status(), now
        except MusicError:
            self._forget()
            raise
        self._version = self._last.version
        return self._last
