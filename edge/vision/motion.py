"""Motion gate: does anything move in the frame? A cheap measure on a small grey copy decides
whether the face detector needs to run (Frigate's motion detector is the model).

The frame is sampled down to about ``width`` pixels across, made grey and blurred, and compared with a running
average of the previous frames; pixels that differ by more than ``threshold`` grey levels count,
and the frame moves when they cover more than ``min_area`` of it. The average adapts (``alpha``
per frame), so light that changes slowly and sensor noise do not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from moodcast.edge.errors import ConfigError


@dataclass(frozen=True)
class MotionOptions:
    """The ``[motion]`` settings."""

    enabled: bool = True  # false: every analysed frame goes to the detector
    width: int = 80  # of the grey copy compared (4:3 -> 80x60)
    threshold: int = 20  # grey levels a pixel must change by
    min_area: float = 0.005  # share of the copy's pixels that must change for the frame to move
    alpha: float = 0.25  # weight of each new frame in the running average

    def __post_init__(self):
        if not 16 <= self.width <= 640:
            raise ConfigError(f"width: must be 16-640 pixels, got {self.width!r}")
        if not 1 <= self.threshold <= 255:
            raise ConfigError(f"threshold: must be 1-255 grey levels, got {self.threshold!r}")
        if not 0 < self.min_area < 1:
            raise ConfigError(f"min_area: must be between 0 and 1, got {self.min_area!r}")
        if not 0 < self.alpha <= 1:
            raise ConfigError(f"alpha: must be in (0, 1], got {self.alpha!r}")


@dataclass(frozen=True)
class Motion:
    moving: bool
    area: float  # share of the frame that changed


class MotionDetector:
    """Stateful: feed it every analysed frame in time order."""

    def __init__(self, options: MotionOptions | None = None):
        self.options = options or MotionOptions()
        self._average: np.ndarray | None = None

    def detect(self, rgb: np.ndarray) -> Motion:
        o = self.options
        # Every step-th pixel, then a blur: a tenth of an area resize's time; the blur and the
        # threshold keep sensor noise from counting.
        step = max(1, rgb.shape[1] // o.width)
        small = np.ascontiguousarray(rgb[::step, ::step])
        grey = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0).astype(np.float32)
        if self._average is None or self._average.shape != grey.shape:
            self._average = grey
            return Motion(True, 1.0)  # the first frame: nothing to compare with, so look
        changed = float((cv2.absdiff(grey, self._average) > o.threshold).mean())
        cv2.accumulateWeighted(grey, self._average, o.alpha)
        return Motion(changed > o.min_area, changed)
