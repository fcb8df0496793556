"""MPD through python-mpd2: what a genre plays, the player's status, and the queue edits the
follower makes. Every failure of MPD (gone, refused, timed out) is a ``MusicError``."""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodcast.edge.errors import ConfigError, MissingExtraError, MoodcastError
from moodcast.edge.player.options import PlayOptions

FADE_STEPS = 10


class MusicError(MoodcastError, ConnectionError):
    """MPD cannot be reached or refused a command; the follower reconnects with backoff."""


class MusicRefused(MusicError):
    """MPD answered, with an error for this one command (no such playlist, no such song)."""


def normalise(genre: str) -> str:
    """Case, spaces, '-' and '_' never matter: "Hip-Hop" == "hip hop" == "HIPHOP"."""
    return re.sub(r"[\s_\-]+", "", genre).casefold()


@dataclass(frozen=True)
class Status:
    """One look at MPD: ``songid`` None when nothing is current; times in seconds."""

    state: str  # play, pause, stop
    songid: str | None
    position: int | None  # of the current song in the queue
    elapsed: float
    duration: float
    version: int  # the queue's version: changes with every edit, ours or another client's
    length: int  # songs in the queue
    volume: int | None  # None: MPD has no mixer
    consume: bool = False  # MPD removes each song from the queue as it finishes
    next_songid: str | None = None  # what MPD plays after the current song


def _client_class():
    try:
        import mpd
    except ModuleNotFoundError as exc:
        raise MissingExtraError("moodcast play", "play", exc.name or "mpd") from None
    return mpd


def mpd_password(options: PlayOptions) -> str | None:
    """From ``play.password_file`` or ``MOODCAST_MPD_PASSWORD``; never logged."""
    if options.password_file:
        try:
            return Path(options.password_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"play.password_file: cannot read {options.password_file} ({exc.strerror})") from None
    return os.environ.get("MOODCAST_MPD_PASSWORD") or None


FIND_WINDOW = 1000  # tracks asked of MPD in one reply (about 0.3 MB of tags)


def _number(reply: dict, key: str, default: float) -> float:
    """A number from an MPD reply, whatever its form (MPD forks send ``volume: 50.5``); one that is
    no number is MPD misbehaving, a MusicError like a dropped connection."""
    try:
        return float(reply.get(key, default))
    except (TypeError, ValueError):
        raise MusicError(f"MPD sent an unreadable {key}: {str(reply.get(key))[:32]!r}") from None


class Music:
    """One connection to MPD; ``connect`` again after a ``MusicError``."""

    def __init__(self, options: PlayOptions):
        self.options = options
        self._password = mpd_password(options)
        self._mpd = _client_class()
        self._client: Any = None  # an mpd.MPDClient while connected (python-mpd2 ships no types)

    def connect(self) -> None:
        self.close()
        client = self._mpd.MPDClient()
        client.timeout = self.options.timeout_s
        client.idletimeout = None
        where = f"MPD at {self.options.host}:{self.options.port}"
        try:
            client.connect(self.options.host, self.options.port)
            if self._password:
                client.password(self._password)
        except self._mpd.CommandError:
            with contextlib.suppress(Exception):
                client.disconnect()
            raise MusicError(f"{where} refused the password (play.password_file or MOODCAST_MPD_PASSWORD)") from None
        except (OSError, self._mpd.MPDError) as exc:
            raise MusicError(f"{where}: {exc or type(exc).__name__}") from None
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):  # a broken socket cannot be closed more politely
                self._client.disconnect()
            self._client = None

    def _call(self, name: str, *args):
        if self._client is None:
            raise MusicError("MPD: not connected")
        try:
            return getattr(self._client, name)(*args)
        except self._mpd.CommandError as exc:
            hint = (
                " (MPD wants a password: play.password_file or MOODCAST_MPD_PASSWORD)"
                if "permission" in str(exc)
                else ""
            )
            raise MusicRefused(f"MPD refused {name}: {exc}{hint}") from None
        except (OSError, self._mpd.MPDError) as exc:
            self._client = None
            raise MusicError(f"MPD at {self.options.host}:{self.options.port}: {exc or type(exc).__name__}") from None

    def status(self) -> Status:
        s = self._call("status")
        volume = int(_number(s, "volume", -1))
        return Status(
            state=s.get("state", "stop"),
            songid=s.get("songid"),
            position=int(_number(s, "song", 0)) if "song" in s else None,
            elapsed=_number(s, "elapsed", 0.0),
            duration=_number(s, "duration", 0.0),
            version=int(_number(s, "playlist", 0)),
            length=int(_number(s, "playlistlength", 0)),
            volume=volume if volume >= 0 else None,
            consume=s.get("consume", "0") != "0",  # "1" or "oneshot"
            next_songid=s.get("nextsongid"),
        )

    def changed_since(self, version: int) -> list[tuple[int, str]]:
        """(position, id) of each queue entry added, moved or retagged since queue ``version``."""
        return [(int(_number(c, "cpos", 0)), str(c["id"])) for c in self._call("plchangesposid", version)]

    def holds(self, songid: str) -> bool:
        """Whether the queue still holds the song ``songid``."""
        try:
            self._call("playlistid", songid)
        except MusicRefused:
            return False
        return True

    def current(self) -> dict:
        return self._call("currentsong")

    def resolve(self, genre: str) -> list[str]:
        """What ``genre`` plays: its target's files or stream URL, else the library's tracks whose
        genre tag is the genre or one of its aliases; [] when there is nothing."""
        target = self.options.targets.get(genre, f"genre:{genre}")
        if target.startswith(("http://", "https://")):
            return [target]
        if target.startswith("playlist:"):
            try:
                files = [str(f) for f in self._call("listplaylist", target[len("playlist:") :])]
            except MusicRefused:  # no such playlist: nothing to play, MPD is fine
                return []
        else:
            tag = target[len("genre:") :]
            wanted = {normalise(tag), *(normalise(a) for a in self.options.aliases.get(genre, ()))}
            tags = [row["genre"] for row in self._call("list", "genre") if row.get("genre")]
            files = []
            for name in (t for t in tags if normalise(t) in wanted):
                files += self._find_genre(name)
        if len(files) > self.options.max_tracks:
            files = random.sample(files, self.options.max_tracks)
        else:
            random.shuffle(files)
        return files

    def _find_genre(self, name: str) -> list[str]:
        """The files tagged ``name``, a window at a time: one reply for a genre of some 14,000
        tracks overflows MPD's output buffer (8 MiB by default), and MPD drops the connection."""
        total = int(_number(self._call("count", "genre", name), "songs", 0))
        files: list[str] = []
        for start in range(0, total, FIND_WINDOW):
            window = f"{start}:{start + FIND_WINDOW}"
            files += [song["file"] for song in self._call("find", "genre", name, "window", window) if "file" in song]
        return files

    def _add(self, files: list[str]) -> list[str]:
        """The ids of those MPD took: a stored playlist may name files no longer in the library."""
        ids = []
        for f in files:
            with contextlib.suppress(MusicRefused):
                ids.append(str(self._call("addid", f)))
        return ids

    def queue_after_current(self, files: list[str]) -> list[str]:
        """Keep the current song, replace what follows it with ``files``: MPD itself moves on to
        them when the song ends (no cut, no gap). Returns the new songs' ids."""
        status = self.status()
        if status.position is None or status.state == "stop":
            return self.play_now(files, fade_s=0)
        if status.position + 1 < status.length:
            self._call("delete", (status.position + 1,))
        return self._add(files)

    def end_after_current(self) -> None:
        """Let the current song finish and nothing after it."""
        status = self.status()
        if status.position is not None and status.position + 1 < status.length:
            self._call("delete", (status.position + 1,))

    def play_now(self, files: list[str], fade_s: float) -> list[str]:
        """Replace the queue and play it, fading the current song out first."""
        status = self.status()
        if fade_s > 0 and status.state == "play" and status.volume:
            for step in range(FADE_STEPS - 1, -1, -1):
                self._call("setvol", round(status.volume * step / FADE_STEPS))
                time.sleep(fade_s / FADE_STEPS)  # a short, bounded fade: the one wait in a tick
        self._call("clear")
        ids = self._add(files)
        if ids:
            self._call("play", 0)
        if fade_s > 0 and status.volume:
            self._call("setvol", status.volume)
        return ids
