"""The ``[play]`` settings of ``moodcast play`` (no MPD import here: the config reads them)."""

from __future__ import annotations

from dataclasses import dataclass, field

from moodcast.edge.errors import ConfigError

SWITCH_MODES = ("track_end", "now")
TARGET_KINDS = ("playlist:", "genre:", "http://", "https://")
DEFAULT_ALIASES: dict[str, list[str]] = {
    "lo-fi": ["lofi hip hop", "chillhop"],
    "electronic": ["electronica", "edm"],
    "hip-hop": ["rap"],
}
MAX_FADE_S = 10.0  # a fade blocks the player's loop while it runs


@dataclass(frozen=True)
class PlayOptions:
    """MPD, what each genre plays, and when moodcast changes the music."""

    host: str = "127.0.0.1"  # MPD
    port: int = 6600
    password_file: str = ""  # MPD's password, or MOODCAST_MPD_PASSWORD; never logged
    timeout_s: float = 5.0  # one MPD command at most; then it counts as gone
    # genre -> "playlist:NAME" (an MPD stored playlist), "genre:TAG" (the library's tracks with that
    # genre tag) or a stream URL; a genre not listed plays the tracks tagged with its own name.
    targets: dict[str, str] = field(default_factory=dict)
    # genre -> other genre tags that count as it; case, spaces, '-' and '_' never matter.
    aliases: dict[str, list[str]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_ALIASES.items()})
    max_tracks: int = 50  # queued for a genre at most (a random choice of its tracks)
    hold_s: float = 20.0  # the scene's genre must hold this long before the music follows
    switch: str = "track_end"  # "track_end": the new genre starts when the current track ends; "now"
    fade_s: float = 2.0  # switch = "now": fade out over this long (0: cut)
    play_when_empty: bool = False  # keep queuing music while nobody is in view
    step_back_s: float = 600.0  # after a listener's pause, skip or own queue: hands off this long
    skip_within_s: float = 30.0  # a track of ours skipped before this is fed back as "skipped"
    heartbeat_s: float = 30.0  # .../player is published on change and at least this often
    reconnect_max_s: float = 30.0  # longest wait between attempts to reach MPD again

    def __post_init__(self):
        if not self.host.strip():
            raise ConfigError(f"host: must be a host name or address, got {self.host!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port: must be a port number 1-65535, got {self.port!r}")
        if self.switch not in SWITCH_MODES:
            raise ConfigError(f"switch: must be 'track_end' or 'now', got {self.switch!r}")
        if not 0 <= self.fade_s <= MAX_FADE_S:
            raise ConfigError(f"fade_s: must be 0-{MAX_FADE_S:g} seconds, got {self.fade_s!r}")
        for key in ("hold_s", "step_back_s", "skip_within_s"):
            if not 0 <= getattr(self, key) <= 86400:
                raise ConfigError(f"{key}: must be 0-86400 seconds, got {getattr(self, key)!r}")
        for key in ("timeout_s", "heartbeat_s", "reconnect_max_s"):
            if not 0 < getattr(self, key) <= 3600:
                raise ConfigError(f"{key}: must be > 0 and at most 3600 seconds, got {getattr(self, key)!r}")
        if not 1 <= self.max_tracks <= 10000:
            raise ConfigError(f"max_tracks: must be 1-10000, got {self.max_tracks!r}")
        for genre, target in self.targets.items():
            if not isinstance(target, str) or not target.startswith(TARGET_KINDS) or target in TARGET_KINDS:
                raise ConfigError(
                    f"targets.{genre}: must be 'playlist:NAME', 'genre:TAG' or an http(s) URL, got {target!r}"
                )
        for genre, tags in self.aliases.items():
            if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
                raise ConfigError(f"aliases.{genre}: expected a list of genre tags, got {tags!r}")
