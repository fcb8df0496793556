"""Still images as a source: one file, or every image of a folder in name order."""

from __future__ import annotations

import io
import logging
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from moodcast.edge.sources.base import Frame, SourceError, SourceOptions

log = logging.getLogger("moodcast.sources")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
# cv2.IMREAD_REDUCED_*: JPEG decoded at 1/2, 1/4 or 1/8 of its size, without the full frame in memory.
REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))


class ImageTooLarge(SourceError):
    """An image whose header declares more pixels than allowed (a decompression bomb, or a
    photo far larger than any camera frame)."""


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # (H, W, 3) uint8, its longest side at most max_side
    width: int  # of the image as shown: upright, its EXIF orientation applied (as OpenCV decodes it)
    height: int

    @property
    def scale(self) -> float:
        """``rgb``'s pixels per pixel of the encoded image (1.0 when it was not downscaled)."""
        return self.rgb.shape[1] / self.width


EXIF_ORIENTATION = 0x0112
# A progressive JPEG is decoded whole (every coefficient kept until its last scan), however much
# it is reduced, and each scan is a pass over the picture: both bounded before decoding.
MAX_JPEG_SCANS = 64  # a camera's progressive JPEG has about 10
MAX_PROGRESSIVE_PIXELS = 16_000_000  # about 48 MB of coefficients


def image_format(data: bytes) -> str | None:
    """The format of the encoded bytes, from their first bytes: what decode accepts, or the name
    of one it refuses (their decoders cost far more than the picture is worth), or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:2] in (b"P5", b"P6"):
        return "PNM"
    if data[4:8] == b"ftyp":
        return "AVIF/HEIF"
    if data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or data[:4] == b"\xff\x4f\xff\x51":
        return "JPEG 2000"
    if data[:4] == b"GIF8":
        return "GIF"
    return None


ACCEPTED = ("JPEG", "PNG", "WebP", "BMP", "TIFF", "PNM")


class UnsupportedImage(SourceError):
    """An image in a format moodcast does not decode (AVIF, JPEG 2000, GIF, ...)."""


def unreadable(name: str) -> SourceError:
    return SourceError(f"{name}: not a readable image (corrupt, empty, or not JPEG/PNG/BMP/TIFF/WebP)")


def refused(name: str, what: str, max_pixels: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"{name}: refused, {what}; the limit is {max_pixels / 1e6:.0f} megapixels (source.max_image_pixels)"
    )


def declared_size(data: bytes, name: str, max_pixels: int) -> tuple[int, int]:
    """Width and height as shown, from the image's header and EXIF (Pillow reads nothing else),
    before decoding."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                # Orientations 5-8 turn the stored picture a quarter (a phone held upright): OpenCV
                # decodes it turned, so its size as shown has the sides swapped.
                turned = image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)
                return (height, width) if turned else (width, height)
        except Image.DecompressionBombError:  # Pillow's own bound, far above ours
            over = f"it declares over {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} megapixels"
            raise refused(name, over, max_pixels) from None
        except (OSError, ValueError, SyntaxError):
            raise unreadable(name) from None


def decode(
    data: bytes,
    name: str,
    max_pixels: int = SourceOptions.max_image_pixels,
    max_side: int = SourceOptions.max_image_side,
) -> DecodedImage:
    """Encoded image bytes to RGB ``uint8`` at most ``max_side`` on its longest side.

    The header is read first: an image declaring more than ``max_pixels`` is refused
    (ImageTooLarge) before a byte is decoded; a large JPEG is decoded reduced (1/2 to 1/8), so
    memory follows the output size. SourceError naming ``name`` when unreadable.
    """
    kind = image_format(data)
    if kind is None:
        raise unreadable(name)
    if kind not in ACCEPTED:
        raise UnsupportedImage(f"{name}: {kind} images are not accepted; send {', '.join(ACCEPTED[:4])} or TIFF")
    width, height = declared_size(data, name, max_pixels)
    if width * height > max_pixels:
        raise refused(name, f"{width}x{height} is {width * height / 1e6:.0f} megapixels", max_pixels)
    if kind == "JPEG":
        _check_jpeg_scans(data, name, width * height)
    flag = cv2.IMREAD_COLOR
    if kind == "JPEG":  # the decoder can scale by 1/2, 1/4 and 1/8
        flag = next((f for factor, f in REDUCED if max(width, height) / factor >= max_side), flag)
    try:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error:
        bgr = None
    if bgr is None:
        raise unreadable(name)
    side = max(bgr.shape[:2])
    if side > max_side:
        f = max_side / side
        size = (max(1, round(bgr.shape[1] * f)), max(1, round(bgr.shape[0] * f)))
        bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
    return DecodedImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), width, height)


def _check_jpeg_scans(data: bytes, name: str, pixels: int) -> None:
    # Entropy-coded data escapes every 0xFF as FF 00, so FF DA is always a start-of-scan marker.
    scans = data.count(b"\xff\xda")
    if scans > MAX_JPEG_SCANS:
        raise ImageTooLarge(
            f"{name}: refused, a JPEG of {scans} scans (a camera's has about 10, at most {MAX_JPEG_SCANS})"
        )
    if b"\xff\xc2" in data[: data.find(b"\xff\xda")] and pixels > MAX_PROGRESSIVE_PIXELS:
        raise ImageTooLarge(
            f"{name}: refused, a progressive JPEG of {pixels / 1e6:.0f} megapixels "
            f"(decoded whole: at most {MAX_PROGRESSIVE_PIXELS / 1e6:.0f})"
        )


def decode_image(data: bytes, name: str) -> np.ndarray:
    """``decode`` with the default limits, the RGB frame only."""
    return decode(data, name).rgb


def read_bytes(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from None


def read_image(path: str | Path) -> np.ndarray:
    """An image file as RGB, with the default limits (see ``decode``)."""
    return decode_image(read_bytes(path), str(path))


class ImageSource:
    """Yields each image once (or forever with ``loop``), at most ``fps`` per second."""

    name = "images"

    def __init__(
        self,
        path: str | Path,
        loop: bool = False,
        fps: float = 0.0,
        max_pixels: int = SourceOptions.max_image_pixels,
        max_side: int = SourceOptions.max_image_side,
    ):
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
        self.max_pixels, self.max_side = max_pixels, max_side
        self.skipped = 0  # unreadable files passed over

    def frames(self) -> Iterator[Frame]:
        """A file that cannot be read is skipped and logged, once per pass; a pass with no
        readable file at all fails the source."""
        index = 0
        while True:
            read, last_error = 0, None
            for file in self.files:
                try:
                    rgb = decode(read_bytes(file), str(file), self.max_pixels, self.max_side).rgb
                except SourceError as exc:
                    self.skipped, last_error = self.skipped + 1, exc
                    log.warning("skipped: %s", exc)
                    continue
                if self.fps:
                    time.sleep(1 / self.fps)
                yield Frame(rgb, time.monotonic(), index)
                index += 1
                read += 1
            if read == 0:
                raise SourceError(f"{self.path}: no readable image ({last_error})")
            if not self.loop:
                return

    def close(self) -> None:
        pass
