"""A real MPD on 127.0.0.1 (a free port, the null output, which keeps real time) on a folder of
short tracks that sox generates with genre tags; and ``moodcast play`` as its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import mpd
from conftest import require_tool

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_tracks(folder: Path, tracks: dict[str, tuple[str, float, int]]) -> None:
    """``{name: (genre tag, seconds, count)}`` as FLAC files ``<name>-<i>.flac`` with GENRE and TITLE."""
    sox = require_tool("sox")
    folder.mkdir(parents=True, exist_ok=True)
    for name, (genre, seconds, count) in tracks.items():
        for i in range(count):
            out = folder / f"{name}-{i}.flac"
            tags = ["--comment", f"GENRE={genre}", "--add-comment", f"TITLE={name} {i}"]
            cmd = [
                sox,
                "-q",
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                *tags,
                str(out),
                "synth",
                str(seconds),
                "sine",
                str(200 + 40 * i),
            ]
            subprocess.run(cmd, check=True, timeout=30)


class Mpd:
    """``mpd --no-daemon`` with its own config, database and playlists under ``workdir``."""

    def __init__(self, workdir: Path, music: Path):
        self.workdir, self.music = workdir, music
        self.port = free_port()
        self.playlists = workdir / "playlists"
        self.playlists.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mpd.conf"
        self.conf.write_text(
            f'music_directory "{music}"\nplaylist_directory "{self.playlists}"\n'
            f'db_file "{workdir / "database"}"\npid_file "{workdir / "pid"}"\n'
            f'bind_to_address "127.0.0.1"\nport "{self.port}"\nzeroconf_enabled "no"\n'
            'audio_output {\n  type "null"\n  name "null"\n  mixer_type "software"\n}\n'
        )
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> Mpd:
        binary = require_tool("mpd")
        log = open(self.workdir / "mpd.log", "a")
        self.proc = subprocess.Popen([binary, "--no-daemon", "--stderr", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = self.client()
                break
            except (OSError, mpd.ConnectionError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    log_text = (self.workdir / "mpd.log").read_text()[-2000:]
                    raise AssertionError(f"mpd did not start: {log_text}") from None
                time.sleep(0.05)
        job = client.update()
        # Scanned when MPD's status no longer names the update job (idle() could miss its event).
        wait_until(lambda: client.status().get("updating_db") != job, timeout=timeout, what="the library scan")
        client.disconnect()
        return self

    def client(self) -> mpd.MPDClient:
        client = mpd.MPDClient()
        client.timeout = 10
        client.connect("127.0.0.1", self.port)
        return client

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


def start_player(port: int, mpd_port: int, device_id: str, *extra: str, log: Path) -> subprocess.Popen:
    """``moodcast play`` as its own process."""
    cmd = [sys.executable, "-m", "moodcast", "play", "--mqtt-port", str(port), "--device-id", device_id]
    cmd += ["--mpd-port", str(mpd_port), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
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
