"""Augmentation for face crops, in numpy/OpenCV so it runs the same under any Keras backend."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from moodcast.evaluation import degrade


@dataclass(frozen=True)
class AugmentConfig:
    flip: bool = True  # horizontal only: an upside-down face is not a face a camera sees
    rotation_deg: float = 12.0
    shift: float = 0.1  # fraction of the crop
    zoom: float = 0.12  # scale in [1 - zoom, 1 + zoom]
    brightness: float = 0.25  # added, as a fraction of 255
    contrast: float = 0.3  # multiplied around the mean, in [1 - c, 1 + c]
    erase: float = 0.25  # probability of blanking one random rectangle
    # What a camera does (evaluation.degrade), each with its probability (0: off) and its worst
    # level; a crop's level is drawn uniformly up to it. Applied in the camera's order: optics
    # (resolution, blur), the dark sensor (low light), noise, then the encoder (JPEG).
    low_resolution: float = 0.0
    low_resolution_side: int = 14  # smallest face side, pixels (up to the crop's own)
    blur: float = 0.0  # half Gaussian (focus), half a short motion smear
    blur_sigma: float = 1.2
    low_light: float = 0.0
    low_light_level: float = 1.3  # degrade.night's axis: 1 = gamma 2.5, gain 0.6, noise sigma 8
    noise: float = 0.0  # half Gaussian, half Poisson-like
    noise_sigma: float = 12.0
    jpeg: float = 0.0
    jpeg_quality: int = 15  # worst quality; the best is 95


def augment(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Randomly transformed float32 copies of ``(N, H, W)`` uint8 crops, values kept in 0-255."""
    n, h, w = images.shape
    out = np.empty((n, h, w), np.float32)
    centre = (w / 2 - 0.5, h / 2 - 0.5)
    for i in range(n):
        angle = rng.uniform(-cfg.rotation_deg, cfg.rotation_deg)
        scale = rng.uniform(1 - cfg.zoom, 1 + cfg.zoom)
        m = cv2.getRotationMatrix2D(centre, angle, scale)
        m[:, 2] += rng.uniform(-cfg.shift, cfg.shift, 2) * (w, h)
        img = cv2.warpAffine(images[i], m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        if cfg.flip and rng.random() < 0.5:
            img = img[:, ::-1]
        out[i] = img
    mean = out.mean(axis=(1, 2), keepdims=True)
    contrast = rng.uniform(1 - cfg.contrast, 1 + cfg.contrast, (n, 1, 1))
    bright = rng.uniform(-cfg.brightness, cfg.brightness, (n, 1, 1)) * 255
    out = (out - mean) * contrast + mean + bright
    for i in np.flatnonzero(rng.random(n) < cfg.erase):
        eh, ew = (int(math.ceil(d * rng.uniform(0.15, 0.35))) for d in (h, w))
        y, x = rng.integers(0, h - eh), rng.integers(0, w - ew)
        out[i, y : y + eh, x : x + ew] = rng.uniform(0, 255)
    np.clip(out, 0, 255, out=out)
    return camera(out, rng, cfg)


def camera(images: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """``images`` with the camera degradations of ``cfg``, each crop drawing its own kinds and
    levels (``u``: a uniform draw in [0, 1) per crop and step)."""
    side = images.shape[1]
    steps = (
        (
            cfg.low_resolution,
            lambda x, u: degrade.low_resolution(x, cfg.low_resolution_side + u * (side - cfg.low_resolution_side)),
        ),
        (cfg.blur / 2, lambda x, u: degrade.blur(x, (0.3 + 0.7 * u) * cfg.blur_sigma)),
        # A Gaussian of sigma s smears about 4 s pixels: the same worst level as a length.
        (cfg.blur / 2, lambda x, u: degrade.motion_blur(x, (0.3 + 0.7 * u) * 4 * cfg.blur_sigma, rng)),
        (cfg.low_light, lambda x, u: degrade.night(x, (0.2 + 0.8 * u) * cfg.low_light_level, rng)),
        (cfg.noise / 2, lambda x, u: degrade.noise(x, u * cfg.noise_sigma, rng)),
        (cfg.noise / 2, lambda x, u: degrade.shot_noise(x, u * cfg.noise_sigma, rng)),
        (cfg.jpeg, lambda x, u: degrade.jpeg(x, cfg.jpeg_quality + u * (95 - cfg.jpeg_quality))),
    )
    for p, step in steps:
        for i in np.flatnonzero(rng.random(len(images)) < p):
            images[i] = step(images[i : i + 1], rng.random())[0]
    return np.clip(images, 0, 255, out=images)


def test_time_views(images: np.ndarray, count: int) -> list[np.ndarray]:
    """``count`` (2 or 8) float32 views of ``(N, H, W)`` crops whose predictions are averaged: the
    crop and its mirror image; with 8, also zoomed in (1.1) and out (0.93) and shifted by 2 pixels,
    each with its mirror image."""
    if count not in (2, 8):
        raise ValueError(f"test-time views must be 2 or 8, not {count}")
    x = images.astype(np.float32)
    views = [x]
    if count == 8:
        h, w = x.shape[1:3]
        centre = (w / 2 - 0.5, h / 2 - 0.5)
        for m in (cv2.getRotationMatrix2D(centre, 0, 1.1), cv2.getRotationMatrix2D(centre, 0, 0.93)):
            views.append(_warp(x, m))
        views.append(_warp(x, np.float32([[1, 0, 2], [0, 1, 0]])))
    return views + [v[:, :, ::-1] for v in views]


def _warp(images: np.ndarray, m: np.ndarray) -> np.ndarray:
    h, w = images.shape[1:3]
    return np.stack([cv2.warpAffine(i, m, (w, h), borderMode=cv2.BORDER_REPLICATE) for i in images])
