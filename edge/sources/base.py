"""Frame sources: one small class per kind, each yielding timestamped RGB frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from moodcast.edge.errors import ConfigError, SourceError
from moodcast.edge.paths import SAMPLES_DIR

__all__ = ["Frame", "FrameSource", "SourceError", "SourceOptions"]


@dataclass(frozen=True)
class SourceOptions:
    """The ``[source]`` settings: where frames come from and how fast they are taken."""

    uri: str = str(SAMPLES_DIR / "astronaut.avi")  # picamera2[:N], camera index, /dev/videoN, URL, file, folder
    fps_cap: float = 10.0  # frames per second processed at most; 0 = no cap
    # ... while nobody is in view and nothing moves (0 = fps_cap): an empty room costs less, and
    # a newcomer's motion is still seen within 1 / idle_fps_cap seconds
    idle_fps_cap: float = 2.0
    loop: bool = False  # repeat a video file or image folder at its end
    realtime: bool = True  # play a video file at its own frame rate
    width: int = 640  # requested from cameras
    height: int = 480
    retry_max_s: float = 30.0  # longest wait between reopen attempts of a failed source
    # Images (files, folders, analyze, the HTTP API): refused when their header declares more
    # pixels than this (4x 4K; a decompression bomb), and downscaled to this longest side.
    max_image_pixels: int = 4 * 3840 * 2160
    max_image_side: int = 1920

    def __post_init__(self):
        if not self.uri:
            raise ConfigError("uri: must name a camera, stream, file or folder")
        if self.fps_cap < 0:
            raise ConfigError(f"fps_cap: must be >= 0, got {self.fps_cap!r}")
        if self.idle_fps_cap < 0:
            raise ConfigError(f"idle_fps_cap: must be >= 0, got {self.idle_fps_cap!r}")
        for key in ("width", "height"):
            if not 1 <= getattr(self, key) <= 8192:
                raise ConfigError(f"{key}: must be 1-8192 pixels, got {getattr(self, key)!r}")
        if self.max_image_pixels < 1:
            raise ConfigError(f"max_image_pixels: must be at least 1, got {self.max_image_pixels!r}")
        if self.max_image_side < 64:
            raise ConfigError(f"max_image_side: must be at least 64 pixels, got {self.max_image_side!r}")
        if self.retry_max_s <= 0:
            raise ConfigError(f"retry_max_s: must be > 0, got {self.retry_max_s!r}")


@dataclass(frozen=True)
class Frame:
    """One frame. ``image`` is the RGB array, or what decodes it when ``rgb`` is first read: a
    source can deliver frames that the fps cap then drops without ever decoding them. A lazy frame
    must be read before the source's next frame is taken."""

    image: np.ndarray | Callable[[], np.ndarray]  # (H, W, 3) uint8, or its decoder
    # seconds on a clock that never steps back (NTP steps a Pi without an RTC at boot): monotonic
    # for cameras and images, media time for files; every interval downstream is measured on it
    ts: float
    index: int

    @cached_property
    def rgb(self) -> np.ndarray:
        return self.image() if callable(self.image) else self.image


class FrameSource(Protocol):
    """``frames()`` yields until the source ends (a file) or fails (raises SourceError)."""

    name: str

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...
