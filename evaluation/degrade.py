"""How a real camera degrades a face crop, as functions of one level each (numpy/OpenCV, seeded).

The same functions make the robustness table (``moodcast eval emotion --degrade``) and, drawn at
random levels, the training augmentation (``training.augment``), so the model is trained on the
degradations it is judged on. Images are ``(N, H, W)`` grey crops, values 0-255; every function
returns float32 in that range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from moodcast.edge.errors import ConfigError


def _grey(images: np.ndarray) -> np.ndarray:
    """Back inside 0-255: filters and warps overshoot by rounding (OpenCV 5 gives 255.00002)."""
    return np.clip(images, 0, 255, out=images)


def noise(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian sensor noise of ``sigma`` grey levels."""
    return np.clip(images + rng.normal(0.0, sigma, images.shape), 0, 255).astype(np.float32)


def shot_noise(images: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson-like noise: its deviation grows with brightness, ``sigma`` at mid grey."""
    scale = sigma * np.sqrt(np.maximum(images, 1.0) / 128.0)
    return np.clip(images + rng.normal(0.0, 1.0, images.shape) * scale, 0, 255).astype(np.float32)


def jpeg(images: np.ndarray, quality: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Re-encoded as JPEG at ``quality`` (1-100), as a cheap USB or RTSP camera sends it."""
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)]
    out = np.empty(images.shape, np.float32)
    for i, img in enumerate(np.clip(images, 0, 255).astype(np.uint8)):
        out[i] = cv2.imdecode(cv2.imencode(".jpg", img, params)[1], cv2.IMREAD_GRAYSCALE)
    return out


def blur(images: np.ndarray, sigma: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Gaussian blur of ``sigma`` pixels (focus)."""
    return _grey(np.stack([cv2.GaussianBlur(i.astype(np.float32), (0, 0), sigma) for i in images]))


def motion_blur(images: np.ndarray, length: float, rng: np.random.Generator) -> np.ndarray:
    """A straight smear of ``length`` pixels in a random direction per crop (a moving head)."""
    size = max(int(round(length)) | 1, 3)
    out = np.empty(images.shape, np.float32)
    for i, img in enumerate(images):
        kernel = np.zeros((size, size), np.float32)
        kernel[size // 2, :] = 1.0
        turn = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), rng.uniform(0, 180), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (size, size))
        out[i] = cv2.filter2D(img.astype(np.float32), -1, kernel / max(kernel.sum(), 1e-6))
    return _grey(out)


def low_light(images: np.ndarray, gamma: float, gain: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A dark frame brightened by the camera: gamma curve, gain below 1, then sensor noise."""
    dark = 255.0 * (np.clip(images, 0, 255) / 255.0) ** gamma * gain
    return noise(dark, sigma, rng) if sigma > 0 else dark.astype(np.float32)


def night(images: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """``low_light`` along one axis: level 1 is gamma 2.5, gain 0.6, noise sigma 8."""
    return low_light(images, 1 + 1.5 * level, 1 - 0.4 * level, 8 * level, rng)


def rotate(images: np.ndarray, degrees: float, rng: np.random.Generator) -> np.ndarray:
    """Turned by ``degrees`` to either side (a head tilt), the side drawn per crop."""
    h, w = images.shape[1:3]
    centre = (w / 2 - 0.5, h / 2 - 0.5)
    signs = rng.choice((-1.0, 1.0), len(images))
    return _grey(
        np.stack(
            [
                cv2.warpAffine(
                    img.astype(np.float32),
                    cv2.getRotationMatrix2D(centre, s * degrees, 1.0),
                    (w, h),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT_101,
                )
                for img, s in zip(images, signs, strict=True)
            ]
        )
    )


def low_resolution(images: np.ndarray, side: float, rng: np.random.Generator | None = None) -> np.ndarray:
    """Down to ``side`` pixels and back up: a face far from the camera."""
    h, w = images.shape[1:3]
    small = max(int(round(side)), 2)
    return _grey(
        np.stack(
            [
                cv2.resize(
                    cv2.resize(i.astype(np.float32), (small, small), interpolation=cv2.INTER_AREA),
                    (w, h),
                    interpolation=cv2.INTER_LINEAR,
                )
                for i in images
            ]
        )
    )


@dataclass(frozen=True)
class Kind:
    apply: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
    default: float
    unit: str


KINDS: dict[str, Kind] = {
    "noise": Kind(noise, 10.0, "Gaussian noise sigma"),
    "shot": Kind(shot_noise, 10.0, "Poisson-like noise sigma at mid grey"),
    "jpeg": Kind(jpeg, 30.0, "JPEG quality"),
    "blur": Kind(blur, 0.8, "Gaussian blur sigma, pixels"),
    "motion": Kind(motion_blur, 5.0, "motion blur length, pixels"),
    "night": Kind(night, 1.0, "night: 1 = gamma 2.5, gain 0.6, noise sigma 8"),
    "rotate": Kind(rotate, 20.0, "head tilt, degrees either side"),
    "lowres": Kind(low_resolution, 20.0, "face side in pixels before upscaling"),
}

# The robustness table of models/README.md, in its order: what a Pi camera does to a face.
TABLE = ("noise:5", "noise:10", "jpeg:30", "blur:0.8", "night:1", "rotate:20", "lowres:20")


@dataclass(frozen=True)
class Degradation:
    """One named degradation at one level, e.g. ``Degradation.parse("noise:10")``."""

    kind: str
    level: float

    @classmethod
    def parse(cls, text: str) -> Degradation:
        name, _, level = text.partition(":")
        if name not in KINDS:
            raise ConfigError(f"--degrade {text}: unknown kind {name!r}; known: {', '.join(KINDS)}")
        try:
            value = float(level) if level else KINDS[name].default
        except ValueError:
            raise ConfigError(f"--degrade {text}: the level after ':' must be a number") from None
        return cls(name, value)

    def __str__(self) -> str:
        return f"{self.kind}:{self.level:g}"

    def __call__(self, images: np.ndarray, seed: int = 0) -> np.ndarray:
        """The degraded copy; the same seed gives the same copy (one draw per kind and level)."""
        rng = np.random.default_rng([seed, *str(self).encode()])
        return KINDS[self.kind].apply(images.astype(np.float32), self.level, rng)
