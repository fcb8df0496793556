"""The slowest decodes the image limits still allow: each accepted format at the pixel limit
(``source.max_image_pixels``, 7680x4320), of a flat picture and of noise (what compresses worst),
through ``decode`` as the API and ``analyze`` call it. Prints a table; one thread.

    python scripts/decode_limits.py
"""

from __future__ import annotations

import resource
import time

import cv2
import numpy as np

from moodcast.edge.errors import SourceError
from moodcast.edge.sources.base import SourceOptions
from moodcast.edge.sources.images import decode

ENCODINGS: tuple[tuple[str, str, list[int]], ...] = (
    ("PNG", ".png", []),
    ("WebP lossless", ".webp", [cv2.IMWRITE_WEBP_QUALITY, 101]),
    ("WebP q90", ".webp", [cv2.IMWRITE_WEBP_QUALITY, 90]),
    ("TIFF", ".tiff", []),
    ("BMP", ".bmp", []),
    ("PNM", ".ppm", []),
    ("JPEG q95", ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95]),
    ("JPEG q95 progressive", ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_PROGRESSIVE, 1]),
)


def main() -> None:
    cv2.setNumThreads(1)
    width, height = 7680, 4320
    assert width * height <= SourceOptions.max_image_pixels
    pictures = {
        "flat": np.full((height, width, 3), 90, np.uint8),
        "noise": np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8),
    }
    print(f"{width}x{height}, one thread\n{'picture':7s} {'format':22s} {'MB':>7s} {'decode':>10s}")
    for picture, pixels in pictures.items():
        for label, suffix, params in ENCODINGS:
            data = cv2.imencode(suffix, pixels, params)[1].tobytes()
            started = time.perf_counter()
            try:
                decode(data, label)
                outcome = f"{time.perf_counter() - started:8.2f} s"
            except SourceError as exc:
                outcome = f"refused ({str(exc).split(', ', 1)[-1][:40]})"
            print(f"{picture:7s} {label:22s} {len(data) / 1e6:7.1f} {outcome:>10s}")
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
