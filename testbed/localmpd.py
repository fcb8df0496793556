"""A local MPD for the play-along and the tests: its own config, database and playlists under one
folder, on 127.0.0.1 at a free port, with its library scanned; and the short sine tracks with
genre and title tags that sox makes for it."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import mpd
from localbroker import free_port

AUDIO_SUFFIXES = (".flac", ".ogg", ".mp3", ".wav", ".opus")  # what the tracks in the music folder may be
NULL_OUTPUT = 'audio_output {\n  type "null"\n  name "null"\n  mixer_type "software"\n}\n'  # real time, no sound


def make_tracks(sox: str, folder: Path, tracks: dict[str, tuple[str, float, int]]) -> None:
    """``{name: (genre tag, seconds, count)}`` as FLAC files ``<name>-<i>.flac``, titled ``<name> <i>``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (genre, seconds, count) in tracks.items():
        for i in range(count):
            tags = ["--comment", f"GENRE={genre}", "--add-comment", f"TITLE={name} {i}"]
            out = str(folder / f"{name}-{i}.flac")
            cmd = [
                sox,
                "-q",
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                *tags,
                out,
                "synth",
                str(seconds),
                "sine",
                str(200 + 40 * i),
            ]
            subprocess.run(cmd, check=True, timeout=30)


class LocalMpd:
    """``mpd --no-daemon`` on ``music``; ``audio``: MPD's default output instead of the null one;
    ``password``: clients without it may do nothing (MPD's ``default_permissions ""``), and the
    log is verbose (one line per client connection); ``extra``: more lines of mpd.conf."""

    def __init__(
        self, binary: str, workdir: Path, music: Path, audio: bool = False, password: str = "", extra: str = ""
    ):
        self.binary, self.workdir, self.music, self.password = binary, workdir, music, password
        self.port = free_port()
        self.playlists = workdir / "playlists"
        self.playlists.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mpd.conf"
        self.conf.write_text(
            f'music_directory "{music}"\nplaylist_directory "{self.playlists}"\n'
            f'db_file "{workdir / "database"}"\npid_file "{workdir / "pid"}"\n'
            f'bind_to_address "127.0.0.1"\nport "{self.port}"\nzeroconf_enabled "no"\n'
            + ("" if audio else NULL_OUTPUT)
            + (
                f'password "{password}@read,add,control,admin"\ndefault_permissions ""\nlog_level "verbose"\n'
                if password
                else ""
            )
            + extra
        )
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> LocalMpd:
        """Started, and its library scanned: every track of ``music`` is in it and no scan runs.
        (MPD scans an empty database by itself at start, and an update asked for meanwhile is
        queued behind that scan, so neither the job id in the status nor idle() tells when the
        library is complete.)"""
        with open(self.workdir / "mpd.log", "a") as log:
            self.proc = subprocess.Popen(
                [self.binary, "--no-daemon", "--stderr", str(self.conf)], stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = self.client()
                break
            except (OSError, mpd.ConnectionError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    log_text = (self.workdir / "mpd.log").read_text()[-2000:]
                    raise RuntimeError(f"mpd did not start: {log_text}") from None
                time.sleep(0.05)
        client.update()
        tracks = sum(1 for p in self.music.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
        while "updating_db" in client.status() or int(client.stats()["songs"]) < tracks:
            if time.monotonic() > deadline:
                raise RuntimeError(f"mpd's library scan did not end within {timeout:g} s")
            time.sleep(0.02)
        client.disconnect()
        return self

    def client(self) -> mpd.MPDClient:
        client = mpd.MPDClient()
        client.timeout = 10
        client.connect("127.0.0.1", self.port)
        if self.password:
            client.password(self.password)
        return client

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
