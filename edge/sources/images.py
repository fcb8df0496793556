"""Still images as a source: one file, or every image of a folder in name order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from edge.sources.base import Frame, SourceError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")


def decode_image(data: bytes, name: str) -> np.ndarray:
    """Encoded image bytes to RGB ``uint8``; SourceError naming ``name`` when unreadable."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SourceError(f"{name}: not a readable image (corrupt, empty, or not JPEG/PNG/BMP/TIFF/WebP)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def read_image(path: str | Path) -> np.ndarray:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from None
    return decode_image(data, str(path))


class ImageSource:
    """Yields each image once (or forever with ``loop``), at most ``fps`` per second."""

    name = "images"

    def __init__(self, path: str | Path, loop: bool = False, fps: float = 0.0):
        self.path = Path(path)
        if self.path.is_dir():
            self.files = sorted(p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not self.files:
                raise SourceError(f"{self.path}: no images in this folder")
        elif self.path.is_file():
            self.files = [self.path]
        else:
            raise SourceError(f"{self.path}: no such file or folder")
        self.loop = loop
        self.fps = fps

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            for file in self.files:
                if self.fps:
                    time.sleep(1 / self.fps)
                yield Frame(read_image(file), time.time(), index)
                index += 1
            if not self.loop:
                return

    def close(self) -> None:
        pass
