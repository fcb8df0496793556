"""Draw a frame's result: a box and an emotion label per face, the scene and genre on top."""

from __future__ import annotations

import cv2
import numpy as np

from moodcast.edge.pipeline import FrameResult

COLOURS = {  # RGB
    "angry": (230, 57, 70),
    "disgust": (106, 153, 78),
    "fear": (155, 93, 229),
    "happy": (255, 190, 11),
    "neutral": (173, 181, 189),
    "sad": (58, 134, 255),
    "surprise": (255, 0, 110),
}
UNREAD = (96, 96, 96)  # a face too small to classify


def _label(image: np.ndarray, text: str, x: int, y: int, colour: tuple[int, int, int]) -> None:
    font, scale, thick = cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1
    (w, h), base = cv2.getTextSize(text, font, scale, thick)
    y = max(y, h + base + 2)
    cv2.rectangle(image, (x, y - h - base - 2), (x + w + 4, y), colour, -1)
    cv2.putText(image, text, (x + 2, y - base), font, scale, (0, 0, 0), thick, cv2.LINE_AA)


def draw(rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    """A copy of ``rgb`` with the result drawn on it."""
    out = rgb.copy()
    for face in result.faces:
        b = face.face.box
        e = face.emotion
        colour = COLOURS[e.label] if e else UNREAD
        p0, p1 = (int(b.x), int(b.y)), (int(b.x + b.w), int(b.y + b.h))
        cv2.rectangle(out, p0, p1, colour, 2)
        _label(out, f"{e.label} {e.confidence:.0%}" if e else "too small", p0[0], p0[1] - 2, colour)
    scene = result.scene.emotion or ("none readable" if result.scene.unclassified else "no face")
    _label(out, f"scene: {scene}  genre: {result.recommendation.genre or '-'}", 4, 20, (255, 255, 255))
    return out


def preview_jpeg(rgb: np.ndarray, result: FrameResult, width: int = 480) -> bytes:
    """The page's live view: ``draw`` with the motion gate's state, at most ``width`` wide, JPEG."""
    out = draw(rgb, result)
    gate = "closed (nothing moved, nothing run)" if result.work.gated else "open"
    _label(out, f"motion gate: {gate}", 4, out.shape[0] - 4, (255, 255, 255))
    if out.shape[1] > width:
        out = cv2.resize(out, (width, round(out.shape[0] * width / out.shape[1])), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    if not ok:
        raise ValueError("the preview picture could not be encoded")
    return data.tobytes()
