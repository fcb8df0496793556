"""Frame sources behind one interface, chosen from a URI, and a wrapper that reopens on failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from moodcast.edge.errors import SourceGone
from moodcast.edge.sources.base import Frame, FrameSource, SourceError, SourceOptions
from moodcast.edge.sources.images import IMAGE_SUFFIXES, ImageSource
from moodcast.edge.sources.opencv import OpenCVSource
from moodcast.edge.sources.picamera import Picamera2Source

__all__ = ["Frame", "FrameSource", "ResilientSource", "SourceError", "SourceOptions", "open_source"]


def open_source(options: SourceOptions) -> FrameSource:
    """``options.uri``: ``picamera2[:N]``, a camera index, ``/dev/videoN``, a stream URL, a video
    file, an image or a folder."""
    uri = options.uri
    if uri == "picamera2" or uri.startswith("picamera2:"):
        index = uri.partition(":")[2] or "0"
        if not index.isdigit():
            raise SourceError(f"{uri}: expected picamera2 or picamera2:<camera number>")
        return Picamera2Source(int(index), options.width, options.height)
    path = Path(uri)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(
            path,
            options.loop,
            fps=options.fps_cap,  # no faster than they are analysed: a looped folder would spin
            max_pixels=options.max_image_pixels,
            max_side=options.max_image_side,
        )
    return OpenCVSource(uri, options.width, options.height, options.loop, options.realtime)


def backoff(attempt: int, longest: float, first: float = 0.5) -> float:
    """Seconds to wait before reopening after the ``attempt``-th failure in a row: ``first``,
    doubling, at most ``longest`` (the exponent is bounded: a camera may stay unplugged for days)."""
    return min(longest, first * 2 ** min(attempt - 1, 32))


@dataclass(frozen=True)
class SourceFailure:
    error: str
    attempt: int
    retry_in_s: float


class ResilientSource:
    """Reopens a live source that fails, with exponential backoff; files end normally, and a
    file that cannot be read ends the run (SourceGone, raised to the caller).

    Each failure is reported through ``on_failure`` (the daemon publishes it) and never swallowed.
    """

    def __init__(
        self,
        factory: Callable[[], FrameSource],
        on_failure: Callable[[SourceFailure], None],
        max_backoff_s: float = SourceOptions.retry_max_s,
        sleep: Callable[[float], None] = time.sleep,
        should_stop: Callable[[], bool] = lambda: False,
    ):
        if not max_backoff_s > 0:
            raise ValueError(f"max_backoff_s must be > 0, got {max_backoff_s!r}")
        self.factory = factory
        self.on_failure = on_failure
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.should_stop = should_stop
        self._source: FrameSource | None = None
        self.failures = 0

    @property
    def name(self) -> str:
        return self._source.name if self._source else "source"

    def frames(self) -> Iterator[Frame]:
        attempt = 0
        while not self.should_stop():
            try:
                self._source = self.factory()
                for frame in self._source.frames():
                    attempt = 0
                    yield frame
                return
            except SourceGone:
                raise
            except SourceError as exc:
                attempt += 1
                self.failures += 1
                wait = backoff(attempt, self.max_backoff_s)
                self.on_failure(SourceFailure(str(exc), attempt, wait))
                self.close()
                self.sleep(wait)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()
            self._source = None
