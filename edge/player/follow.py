"""The player's decisions: when the music follows the scene's genre, and when it keeps out of the
listener's way. One ``tick`` looks at MPD, notices what the listener did since the last one, then
changes the queue or not.

- The scene's genre must hold ``play.hold_s`` first; then, by default, the new genre's tracks are
  queued after the current one (MPD moves on to them at the track's end: no cut) or, with
  ``switch = "now"``, played at once after a short fade.
- A pause, a skip, a stop or a queue edited by another client (a playlist chosen by hand) is the
  listener's: moodcast changes nothing for ``play.step_back_s``, and never un-pauses or restarts
  what the listener paused or stopped. A genre whose queued tracks ran out is queued again.
- MPD's own queue changes are not the listener's: consume mode removing the song that was current,
  and a stream's new title (MPD retags the current song, which bumps the queue's version).
- A track of ours that plays through is fed back as ``played``; one skipped within
  ``play.skip_within_s`` as ``skipped``.
- While the daemon is offline (its availability, or its last will) its state is stale: moodcast
  leaves the music as it is (queues, removes and re-queues nothing) until the daemon is back and
  publishes a state again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.player.music import Music, MusicError, Status
from moodcast.edge.player.options import PlayOptions

log = logging.getLogger("moodcast.play")

END_MARGIN_S = 0.5  # a song left within this of its end (where it had got to by now) ended by itself
DAEMON_OFFLINE = "daemon offline: the music left as it is"


@dataclass(frozen=True)
class Wanted:
    """The daemon's latest genre and emotion, and since when (the follower's clock)."""

    genre: str | None
    emotion: str | None
    since: float


@dataclass(frozen=True)
class PlayerState:
    """What ``.../player`` publishes (with ``ts``)."""

    playing: bool
    genre: str | None
    track: str | None
    reason: str
    mpd_ok: bool

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
        self.step_back_why = ""
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
            log.info("daemon online: following its state" if online else DAEMON_OFFLINE)
            self.daemon_online, self.wanted = online, None

    def lost(self) -> None:
        """MPD went away: whatever comes back is a queue we did not make."""
        self._forget()

    # --- the listener --------------------------------------------------------------------------

    def _step_back(self, why: str, now: float) -> None:
        log.info("%s: hands off for %.0f s", why, self.options.step_back_s)
        self.step_back_until, self.step_back_why = now + self.options.step_back_s, why

    def _notice(self, status: Status, now: float) -> None:
        """What changed since the last tick that we did not do."""
        last = self._last
        if self._version is not None and status.version != self._version:
            if last is None or not self._by_mpd(last, status):
                self._ours.clear()
                self._version, self._genre = None, None
                self._step_back("queue changed by the listener", now)
                return
            self._version = status.version
        if last is None:
            return
        if last.state == "play" and status.state == "pause":
            self._step_back("paused by the listener", now)
        # Where the last song had got to by now: a slow tick must not make a track's end a skip.
        # A stream (no duration) never ends by itself: its stop is the listener's.
        reached = last.elapsed + (now - self._last_at if last.state == "play" else 0.0)
        ended = last.duration > 0 and reached >= last.duration - END_MARGIN_S
        if last.state != "play" or last.songid is None:
            return
        if status.state == "stop" and status.songid == last.songid and not ended:
            self._stopped = True  # a stop keeps the current song; the queue running out does not
            self._step_back("stopped by the listener", now)
        elif status.songid != last.songid:
            ours = self._ours.pop(last.songid, None)
            if ours is not None and (ended or last.elapsed < self.options.skip_within_s):
                self.on_feedback(Feedback("played" if ended else "skipped", ours[1], ours[0]))
            if not ended:
                self._step_back("skipped by the listener", now)

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
        """Raises MusicError when MPD is gone (the caller reconnects)."""
        status = self.music.status()
        self._notice(status, now)
        self._last, self._last_at = status, now
        reason = self._decide(status, now)
        status = self._last or status
        song = self.music.current() if status.songid is not None else {}
        ours = self._ours.get(status.songid or "")
        if reason == "following" and ours is None and status.songid is not None:
            reason = "switching at the end of the track"
        return PlayerState(status.state == "play", ours[0] if ours else None, track_name(song), reason, True)

    def _decide(self, status: Status, now: float) -> str:
        o, wanted = self.options, self.wanted
        if now < self.step_back_until:
            return f"stepped back: {self.step_back_why}"
        if status.state == "pause":
            return "paused by the listener"
        if status.state == "play":
            self._stopped = False
        elif self._stopped:
            return "stopped by the listener"
        if not self.daemon_online:
            return DAEMON_OFFLINE
        if wanted is None:
            return "waiting for the daemon's state"
        held = now - wanted.since >= o.hold_s
        if wanted.genre is None:
            if o.play_when_empty:
                return "nobody in view, playing on"
            if self._genre is not None and held:
                self.music.end_after_current()
                self._genre = None
                self._edited(now)
            return "nobody in view"
        if wanted.genre == self._genre and status.state != "stop":
            return "following"  # (its tracks ran out: queued again below)
        if not held:
            return f"holding {wanted.genre}"
        if wanted.genre == self._nothing_for:
            return f"nothing to play for {wanted.genre}"
        files = self.music.resolve(wanted.genre)
        ids: list[str] = []
        if files and status.state == "play" and o.switch == "track_end":
            ids = self.music.queue_after_current(files)
        elif files:
            ids = self.music.play_now(files, o.fade_s if o.switch == "now" else 0.0)
        if not ids:  # none there, or none MPD took
            log.warning("nothing to play for %s (play.targets, genre tags, play.aliases); skipped", wanted.genre)
            self._nothing_for = wanted.genre
            if files:
                self._edited(now)  # what we cleared or cut is ours, not the listener's
            return f"nothing to play for {wanted.genre}"
        log.info("queued %d tracks of %s (%s)", len(ids), wanted.genre, o.switch)
        current = self._ours.get(status.songid or "") if o.switch == "track_end" else None
        self._ours = {i: (wanted.genre, wanted.emotion) for i in ids}
        if current is not None and status.songid is not None:
            self._ours[status.songid] = current
        self._genre, self._nothing_for = wanted.genre, None
        self._edited(now)
        return "following"

    def _edited(self, now: float) -> None:
        """After our own queue edit: its version and the status are the new baseline."""
        try:
            self._last, self._last_at = self.music.status(), now
        except MusicError:
            self._forget()
            raise
        self._version = self._last.version
