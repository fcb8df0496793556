"""OpenCV capture: a USB camera (index or /dev/videoN), an RTSP/HTTP stream, or a video file."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from moodcast.edge.errors import SourceGone
from moodcast.edge.sources.base import Frame, SourceError, SourceOptions

# A stream that accepts and never answers would block the open for FFmpeg's 30 s, and a stalled
# one a read: bounded, so the daemon feeds its watchdog and answers commands meanwhile.
STREAM_TIMEOUT_MS = 5000


def is_camera(uri: str) -> bool:
    return uri.isdigit() or uri.startswith("/dev/video")


def is_stream(uri: str) -> bool:
    return "://" in uri


class OpenCVSource:
    """Frames from ``cv2.VideoCapture``.

    A video file plays at its own frame rate when ``realtime`` (as a camera would deliver it)
    and timestamps are media time; at its end the source ends, or starts again with ``loop``.
    Cameras and streams are live: a read that fails raises SourceError for the caller to retry.
    """

    name = "opencv"

    def __init__(
        self,
        uri: str,
        width: int = SourceOptions.width,
        height: int = SourceOptions.height,
        loop: bool = SourceOptions.loop,
        realtime: bool = SourceOptions.realtime,
    ):
        self.uri = uri
        self.live = is_camera(uri) or is_stream(uri)
        if not self.live and not Path(uri).is_file():
            raise SourceError(f"{uri}: no such video file (or use a camera index, /dev/videoN or a stream URL)")
        self.width, self.height = width, height
        self.loop, self.realtime = loop, realtime
        self._capture: cv2.VideoCapture | None = None

    def _open(self) -> cv2.VideoCapture:
        if is_stream(self.uri):
            timeouts = [
                cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
                STREAM_TIMEOUT_MS,
                cv2.CAP_PROP_READ_TIMEOUT_MSEC,
                STREAM_TIMEOUT_MS,
            ]
            capture = cv2.VideoCapture(self.uri, cv2.CAP_FFMPEG, timeouts)
        else:
            capture = cv2.VideoCapture(int(self.uri) if self.uri.isdigit() else self.uri)
        if not capture.isOpened():
            capture.release()
            if not self.live:
                raise SourceGone(f"{self.uri}: cannot open this video file (truncated, or not a video?)")
            hint = " (is it plugged in, and is this user in the 'video' group?)" if is_camera(self.uri) else ""
            raise SourceError(f"{self.uri}: cannot open{hint}")
        if is_camera(self.uri):
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        return capture

    def frames(self) -> Iterator[Frame]:
        self._capture = self._open()
        fps = self._capture.get(cv2.CAP_PROP_FPS) or 0.0
        # Media time counts frames at the file's rate (POS_MSEC is unreliable after a rewind).
        period = 1 / fps if fps > 0 else 1 / 25
        index = 0
        in_loop = 0  # frames of the current pass through the file
        offset = 0.0  # media time at the start of this pass
        started = time.monotonic()
        capture = self._capture

        def decode() -> np.ndarray:
            ok, bgr = capture.retrieve()
            if not ok or bgr is None or bgr.size == 0:
                raise SourceError(f"{self.uri}: a frame could not be decoded")
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

        while True:
            # grab() takes the frame, retrieve() decodes it: only for the frames that are used.
            ok = capture.grab()
            if not ok:
                if self.live:
                    raise SourceError(f"{self.uri}: the camera or stream stopped delivering frames")
                if not self.loop or in_loop == 0:
                    return
                offset += in_loop * period
                in_loop = 0
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            if self.live:
                ts = time.monotonic()
            else:
                ts = offset + in_loop * period
                in_loop += 1
                if self.realtime:
                    delay = ts - (time.monotonic() - started)
                    if delay > 0:
                        time.sleep(delay)
            yield Frame(decode, ts, index)
            index += 1

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
