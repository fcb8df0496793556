"""Short real clips for the tests and benchmarks, made from still photos with camera-like motion
(pan, zoom, a small shake) and sensor noise: an empty room, one face, a face entering and leaving,
two people. Written as MJPG AVI files, read back like any video.

    .venv/bin/python testbed/clips.py OUT_DIR [--seconds 10]
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from moodcast.edge.paths import SAMPLES_DIR

SIZE = (640, 480)
FPS = 10.0
# The sample portrait's face, [x, y, w, h] in its pixels (moodcast analyze samples/astronaut.jpg).
ASTRONAUT_FACE = (249, 60, 80, 102)


@functools.cache
def astronaut() -> np.ndarray:
    return cv2.imread(str(SAMPLES_DIR / "astronaut.jpg"))


@functools.cache
def empty_astronaut() -> np.ndarray:
    return without_face(astronaut(), ASTRONAUT_FACE)


@functools.cache
def pair() -> np.ndarray:
    """Two people side by side: the portrait's middle and its mirror image, 640x480."""
    x, _, w, _ = ASTRONAUT_FACE
    middle = astronaut()[:, x + w // 2 - 160 : x + w // 2 + 160]
    return np.concatenate([middle, middle[:, ::-1]], axis=1)


def without_face(bgr: np.ndarray, box: tuple[int, int, int, int], margin: float = 0.35) -> np.ndarray:
    """The photo with the face painted over from its surroundings (an empty room's stand-in)."""
    x, y, w, h = box
    mask = np.zeros(bgr.shape[:2], np.uint8)
    dx, dy = int(w * margin), int(h * margin)
    mask[max(y - dy, 0) : y + h + dy, max(x - dx, 0) : x + w + dx] = 255
    return cv2.inpaint(bgr, mask, 7, cv2.INPAINT_TELEA)


def camera(bgr: np.ndarray, t: float, pan: float = 12.0, zoom: float = 0.03, shake: float = 1.0) -> np.ndarray:
    """The photo as a handheld camera would see it at time ``t``: a slow pan and zoom, a small
    shake (seeded by ``t``), scaled to the frame."""
    rng = np.random.default_rng(int(t * 1000))
    h, w = bgr.shape[:2]
    scale = (1 + zoom * math.sin(t * 0.5)) * max(SIZE[0] / w, SIZE[1] / h) * 1.05
    tx = pan * math.sin(t * 0.3) + rng.normal(0, shake)
    ty = pan * 0.5 * math.cos(t * 0.4) + rng.normal(0, shake)
    m = np.array([[scale, 0, SIZE[0] / 2 - scale * w / 2 + tx], [0, scale, SIZE[1] / 2 - scale * h / 2 + ty]])
    return cv2.warpAffine(bgr, m, SIZE, borderMode=cv2.BORDER_REFLECT)


def noisy(bgr: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(bgr + rng.normal(0, sigma, bgr.shape), 0, 255).astype(np.uint8)


def still(bgr: np.ndarray, t: float) -> np.ndarray:
    """A fixed camera: the photo scaled to the frame, no motion."""
    return camera(bgr, 0.0, pan=0, zoom=0, shake=0)


def frames(scene: Callable[[float], np.ndarray], seconds: float, sigma: float, seed: int) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for i in range(round(seconds * FPS)):
        yield noisy(scene(i / FPS), sigma, rng)


def empty_room(t: float) -> np.ndarray:
    return still(empty_astronaut(), t)


def one_face(t: float) -> np.ndarray:
    return camera(astronaut(), t)


def enter_and_leave(seconds: float) -> Callable[[float], np.ndarray]:
    """Nobody for the first fifth of ``seconds``, then the face walks in from the left (a quarter,
    ~30 px a frame at 10 s), stays, walks out to the left, and nobody again for the last fifth."""
    empty = still(empty_astronaut(), 0)
    face = still(astronaut(), 0)
    arrive, settled, depart, gone = (seconds * f for f in (0.2, 0.45, 0.6, 0.8))

    def scene(t: float) -> np.ndarray:
        if t < arrive or t >= gone:
            return empty
        into = min((t - arrive) / (settled - arrive), 1.0)
        out = max((t - depart) / (gone - depart), 0.0)
        shift = int(SIZE[0] * ((1 - into) + out))
        frame = empty.copy()
        m = np.float32([[1, 0, -shift], [0, 1, 0]])
        moved = cv2.warpAffine(face, m, SIZE, borderMode=cv2.BORDER_CONSTANT)
        keep = moved.any(axis=2)
        frame[keep] = moved[keep]
        return frame

    return scene


def two_people(t: float) -> np.ndarray:
    return camera(pair(), t, pan=6.0)


def write(path: Path, images: Iterator[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    for image in images:
        writer.write(image)
    writer.release()
    return path


def make(out: Path, seconds: float = 10.0, sigma: float = 3.0) -> dict[str, Path]:
    """Every clip, ``seconds`` long, into ``out``; returns name -> path."""
    out.mkdir(parents=True, exist_ok=True)
    scenes = {
        "empty_room": empty_room,
        "one_face": one_face,
        "enter_and_leave": enter_and_leave(seconds),
        "two_people": two_people,
    }
    return {
        name: write(out / f"{name}.avi", frames(scene, seconds, sigma, seed))
        for seed, (name, scene) in enumerate(scenes.items())
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--noise", type=float, default=3.0, help="sensor noise sigma, of 255")
    args = parser.parse_args()
    for name, path in make(args.out, args.seconds, args.noise).items():
        print(f"{name}: {path}")


if __name__ == "__main__":
    main()
