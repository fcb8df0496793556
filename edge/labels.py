"""The emotion label set shared by every stage, in model output order."""

from __future__ import annotations

import numpy as np

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def probabilities_dict(probabilities: np.ndarray) -> dict[str, float]:
    """``{emotion: probability}`` rounded for a payload, in EMOTIONS order."""
    return {name: round(float(p), 4) for name, p in zip(EMOTIONS, probabilities)}
