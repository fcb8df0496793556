"""Face detectors, one small class per backend behind :class:`~edge.detectors.base.FaceDetector`."""

from __future__ import annotations

from pathlib import Path

from edge.detectors.base import Box, Face, FaceDetector

__all__ = ["BACKENDS", "Box", "Face", "FaceDetector", "create_detector"]

BACKENDS = ("blazeface-short", "blazeface-full")


def create_detector(
    name: str, model: str | Path, score_threshold: float = 0.5, num_threads: int = 1, max_faces: int = 10
) -> FaceDetector:
    """The backend called ``name`` over the model file ``model``."""
    if name in ("blazeface-short", "blazeface-full"):
        from edge.detectors.blazeface import BlazeFace, BlazeFaceOptions

        variant = name.split("-")[1]
        return BlazeFace(
            BlazeFaceOptions(Path(model), variant, score_threshold, num_threads=num_threads, max_faces=max_faces)
        )
    raise ValueError(f"detector.name: unknown detector {name!r}; choose from {', '.join(BACKENDS)}")
