"""The ``[web]`` settings of ``moodcast web``, and where its files are."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from moodcast.edge.errors import ConfigError
from moodcast.edge.paths import state_directory

STORE_NAME = "web.sqlite"


def _require(ok: bool, key: str, expected: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"{key}: must be {expected}, got {value!r}")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class WebOptions:
    """The ``[web]`` settings."""

    host: str = "127.0.0.1"  # another address (the LAN) needs MOODCAST_WEB_TOKEN
    port: int = 8088
    token_file: str = ""  # or MOODCAST_WEB_TOKEN (secrets.env); never logged
    store: str = ""  # "" = $STATE_DIRECTORY/web.sqlite, else ~/.local/state/moodcast/
    sample_s: float = 10.0  # one timeline point per this many seconds
    flush_s: float = 300.0  # points reach the SD card in one transaction this often
    retention_h: float = 24.0  # points and genre changes older than this are deleted
    max_changes: int = 2000  # genre changes kept, whatever their age
    preview_s: float = 120.0  # a preview stops by itself after this long
    preview_fps: float = 1.0  # preview pictures per second the daemon writes
    runtime_dir: str = ""  # "" = $RUNTIME_DIRECTORY, else $XDG_RUNTIME_DIR/moodcast, else /tmp/moodcast-<uid>

    def __post_init__(self):
        _require(bool(self.host.strip()), "host", "a host name or address", self.host)
        _require(0 < self.port < 65536, "port", "a port number 1-65535", self.port)
        _require(1 <= self.sample_s <= 3600, "sample_s", "1-3600 seconds", self.sample_s)
        between = "between web.sample_s and 3600 seconds"
        _require(self.sample_s <= self.flush_s <= 3600, "flush_s", between, self.flush_s)
        _require(1 <= self.retention_h <= 24 * 31, "retention_h", "1-744 hours", self.retention_h)
        _require(self.max_changes >= 10, "max_changes", "at least 10", self.max_changes)
        _require(1 <= self.preview_s <= 600, "preview_s", "1-600 seconds", self.preview_s)
        _require(0 < self.preview_fps <= 5, "preview_fps", "> 0 and at most 5", self.preview_fps)

    def store_path(self, environ: os._Environ | dict = os.environ) -> Path:
        return Path(self.store) if self.store else state_directory(environ) / STORE_NAME

    def runtime_path(self, environ: os._Environ | dict = os.environ) -> Path:
        """A folder in memory (tmpfs) shared by the daemon and the page's process of one user."""
        if self.runtime_dir:
            return Path(self.runtime_dir)
        if environ.get("RUNTIME_DIRECTORY"):
            return Path(environ["RUNTIME_DIRECTORY"].split(":")[0])
        if environ.get("XDG_RUNTIME_DIR"):
            return Path(environ["XDG_RUNTIME_DIR"]) / "moodcast"
        return Path("/tmp") / f"moodcast-{os.getuid()}"

    def read_token(self, environ: os._Environ | dict = os.environ) -> str | None:
        """From ``web.token_file`` or ``MOODCAST_WEB_TOKEN``; None when neither is set."""
        if self.token_file:
            try:
                token = Path(self.token_file).read_text().strip()
            except OSError as exc:
                raise ConfigError(f"web.token_file: cannot read {self.token_file} ({exc.strerror})") from None
        else:
            token = environ.get("MOODCAST_WEB_TOKEN", "").strip()
        if token and len(token) < 16:
            raise ConfigError("MOODCAST_WEB_TOKEN: at least 16 characters (e.g. openssl rand -hex 16)")
        return token or None
