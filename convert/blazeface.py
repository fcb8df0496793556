"""BlazeFace full range rebuilt at another input size and quantized to int8.

The published model letterboxes every frame into 192x192: a 640x480 frame is shrunk 3.3 times and
a quarter of the input is padding. Rebuilt at 4:3 (e.g. 256x192 or 320x240 rounded to the
network's stride of 32), the same weights see faces larger for little more compute, and int8
(XNNPACK) pays for the difference. Calibration uses real photos at several scales, none of them
from the evaluation set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from moodcast.convert.tf import image_model_tflite
from moodcast.convert.tflite_graph import load_graph
from moodcast.edge.sources.images import IMAGE_SUFFIXES, read_image
from moodcast.edge.vision.detectors.blazeface import letterbox_geometry, shrink

STRIDE = 32  # the network's coarsest feature map: input sides must be multiples of it


def parse_size(text: str) -> tuple[int, int]:
    """``"256x192"`` -> (256, 192), width first; each side a multiple of 32."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"input size must look like 256x192 (width x height), not {text!r}") from None
    if width <= 0 or height <= 0 or width % STRIDE or height % STRIDE:
        raise ValueError(f"input size {text}: both sides must be positive multiples of {STRIDE}")
    return width, height


def calibration_images(folders: Sequence[str | Path], width: int, height: int, count: int, seed: int) -> np.ndarray:
    """``count`` inputs in [-1, 1]: each a random crop (20-100% of the photo, so faces appear at
    many sizes) of a photo from ``folders``, letterboxed the way the detector does it."""
    # Folder by folder, as given: the same files in the same order from any working directory.
    paths = [p for folder in folders for p in sorted(Path(folder).rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not paths:
        raise ValueError(f"no images found in {', '.join(map(str, folders))} for calibration")
    rng = np.random.default_rng(seed)
    batch = np.full((count, height, width, 3), -1.0, np.float32)
    for i in range(count):
        rgb = read_image(paths[i % len(paths)])
        h, w = rgb.shape[:2]
        keep = rng.uniform(0.2, 1.0) if i >= len(paths) else 1.0  # every photo whole once
        ch, cw = max(8, round(h * keep)), max(8, round(w * keep))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = rgb[y : y + ch, x : x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        _, nw, nh, px, py = letterbox_geometry(cw, ch, width, height)
        batch[i, py : py + nh, px : px + nw] = shrink(np.ascontiguousarray(crop), nw, nh) * (2 / 255) - 1
    return batch


def convert_blazeface(
    content: bytes, width: int, height: int, mode: str = "int8", calibration: np.ndarray | None = None
) -> bytes:
    """The published BlazeFace full-range model as a TFLite file of input ``width`` x ``height``.

    ``mode`` int8: int8 weights and activations, float input and output (the decoder wants
    pixels and logits); float32: the same graph unquantized.
    """
    return image_model_tflite(load_graph(content), width, height, mode, calibration)
