"""A real MPD on 127.0.0.1 (a free port, the null output, which keeps real time) on a folder of
short tracks that sox generates with genre tags; and ``moodcast play`` as its own process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import localmpd
from conftest import require_tool

REPO = Path(__file__).resolve().parent.parent


def make_tracks(folder: Path, tracks: dict[str, tuple[str, float, int]]) -> None:
    """``{name: (genre tag, seconds, count)}`` as FLAC files ``<name>-<i>.flac`` with GENRE and TITLE."""
    localmpd.make_tracks(require_tool("sox"), folder, tracks)


class Mpd(localmpd.LocalMpd):
    """``mpd --no-daemon`` with its own config, database and playlists under ``workdir``."""

    def __init__(self, workdir: Path, music: Path, password: str = "", extra: str = ""):
        super().__init__(require_tool("mpd"), workdir, music, password=password, extra=extra)


def start_player(
    port: int, mpd_port: int, device_id: str, *extra: str, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """``moodcast play`` as its own process (``env``: added to this one's environment)."""
    cmd = [sys.executable, "-m", "moodcast", "play", "--mqtt-port", str(port), "--device-id", device_id]
    cmd += ["--mpd-port", str(mpd_port), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def wait_until(predicate, timeout: float = 20.0, what: str = "a condition", every: float = 0.02):
    """Poll ``predicate`` (a look at MPD) until it returns something true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")
