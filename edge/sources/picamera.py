"""The Raspberry Pi camera through Picamera2. Thin on purpose: the hardware is the only part
that cannot be tested off a Pi."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

from moodcast.edge.install import numpy1_repair_command
from moodcast.edge.sources.base import Frame, SourceError, SourceOptions

INSTALL_HINT = (
    "Picamera2 is not importable. On Raspberry Pi OS: sudo apt install python3-picamera2, "
    "then create the venv with --system-site-packages so it can see the apt package."
)


def numpy_repair() -> str:
    return f"on Bookworm keep numpy 1.x: {numpy1_repair_command()} (docs/install-pi.md)"


class Picamera2Source:
    name = "picamera2"

    def __init__(self, camera: int = 0, width: int = SourceOptions.width, height: int = SourceOptions.height):
        # A missing module is a setup mistake, reported at once; a missing camera is retried.
        try:
            self._module = importlib.import_module("picamera2")
        except ImportError:
            raise SourceError(INSTALL_HINT) from None
        except ValueError as exc:  # "numpy.dtype size changed": apt's picamera2 and this venv's numpy differ
            raise SourceError(
                f"picamera2 does not import with this venv's numpy ({exc}): it is built against the "
                f"system's numpy; {numpy_repair()}; `moodcast doctor` shows both versions"
            ) from None
        self.camera, self.width, self.height = camera, width, height
        self._picam: Any = None  # picamera2.Picamera2 once started (no type information ships with it)

    def frames(self) -> Iterator[Frame]:
        try:
            picam = self._picam = self._module.Picamera2(self.camera)
            # "RGB888" is BGR in memory order on the Pi (libcamera naming); ask for XBGR8888 = RGBA.
            config = picam.create_video_configuration(main={"size": (self.width, self.height), "format": "XBGR8888"})
            picam.configure(config)
            picam.start()
        except Exception as exc:  # picamera2 raises plain RuntimeError/IndexError for a missing camera
            self.close()
            raise SourceError(f"picamera2 camera {self.camera}: cannot start ({exc})") from None
        index = 0
        while True:
            try:
                rgba = picam.capture_array("main")
            except Exception as exc:
                raise SourceError(f"picamera2 camera {self.camera}: capture failed ({exc})") from None
            yield Frame(rgba[:, :, :3], time.monotonic(), index)
            index += 1

    def close(self) -> None:
        if self._picam is not None:
            try:
                self._picam.stop()
                self._picam.close()
            finally:
                self._picam = None
