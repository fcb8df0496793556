"""The live view, only when asked for: the page's process asks by touching a file in the runtime
folder (tmpfs, never the SD card); the daemon then writes an annotated picture there at
``web.preview_fps`` for ``web.preview_s``, counted from when it noticed the request, and deletes
it when the time is up. The picture never leaves the machine: nothing of it goes over MQTT."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from moodcast.edge.config import Config
from moodcast.edge.pipeline import FrameResult

log = logging.getLogger("moodcast")

REQUEST, FRAME = "preview-request", "preview.jpg"
Render = Callable[[np.ndarray, FrameResult], bytes]


def preview_folder(config: Config) -> Path:
    return config.web.runtime_path() / config.device_id


def private(folder: Path) -> bool:
    """``folder`` and the one above it are this user's and closed to others (a folder someone else
    made in /tmp first would let them read the pictures)."""
    try:
        for path in (folder.parent, folder):
            st = path.lstat()
            if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077:
                return False
    except OSError:
        return False
    return True


class PreviewRequest:
    """The page's side: ask, and read what the daemon wrote while the time lasts."""

    def __init__(self, config: Config, clock: Callable[[], float] = time.time):
        self.folder = preview_folder(config)
        self.seconds = config.web.preview_s
        self.clock = clock

    def ask(self) -> float:
        """Start (or restart) a preview; the wall time it ends."""
        self.folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.folder.mkdir(exist_ok=True, mode=0o700)
        if not private(self.folder):
            raise PermissionError(f"{self.folder} (or the folder above) is not this user's alone: no preview there")
        (self.folder / REQUEST).write_text(f"{self.clock():.3f}\n")
        return self.clock() + self.seconds

    def until(self) -> float | None:
        """When the preview asked for ends, None when none is running."""
        try:
            asked = (self.folder / REQUEST).stat().st_mtime
        except OSError:
            return None
        end = asked + self.seconds
        return end if asked <= self.clock() + 1 and self.clock() < end else None

    def frame(self) -> bytes | None:
        """The latest picture while a preview runs (a stale one, from a daemon that stopped
        writing, is not shown)."""
        if self.until() is None:
            return None
        path = self.folder / FRAME
        try:
            if self.clock() - path.stat().st_mtime > 10:
                return None
            return path.read_bytes()
        except OSError:
            return None


class PreviewWriter:
    """The daemon's side: ``poll`` every tick, ``offer`` every analysed frame, ``close`` at the end."""

    def __init__(self, config: Config, render: Render, clock: Callable[[], float] = time.monotonic):
        self.folder = preview_folder(config)
        self.seconds = config.web.preview_s
        self.gap = 1 / config.web.preview_fps
        self.render = render
        self.clock = clock
        self._seen: float | None = self._request_mtime()  # a request left from before is not one
        self._ends = 0.0
        self._last_write = -float("inf")

    def _request_mtime(self) -> float | None:
        try:
            return (self.folder / REQUEST).stat().st_mtime
        except OSError:
            return None

    @property
    def active(self) -> bool:
        return self.clock() < self._ends

    def poll(self) -> None:
        mtime = self._request_mtime()
        if mtime is not None and mtime != self._seen:
            self._seen = mtime
            self._ends = self.clock() + self.seconds
            log.info("preview asked for: pictures in %s for %g s", self.folder, self.seconds)
        elif not self.active and (self.folder / FRAME).exists():
            self._remove()
            log.info("preview ended")

    def offer(self, rgb: np.ndarray, result: FrameResult) -> None:
        if not self.active or self.clock() - self._last_write < self.gap:
            return
        self._last_write = self.clock()
        if not private(self.folder):
            log.warning("preview: %s is not this user's alone; no picture written", self.folder)
            self._ends = 0.0
            return
        data = self.render(rgb, result)
        try:
            tmp = self.folder / f".{FRAME}.{os.getpid()}"
            tmp.write_bytes(data)
            os.replace(tmp, self.folder / FRAME)
        except OSError as exc:
            log.warning("preview: cannot write in %s (%s)", self.folder, exc.strerror)

    def _remove(self) -> None:
        with contextlib.suppress(OSError):
            (self.folder / FRAME).unlink()

    def close(self) -> None:
        self._ends = 0.0
        self._remove()
