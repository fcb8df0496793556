"""Face detectors, one small class per backend behind :class:`~edge.detectors.base.FaceDetector`."""

from __future__ import annotations

from pathlib import Path

from edge.detectors.base import Box, Face, FaceDetector

__all__ = ["BACKENDS", "DEFAULT_THRESHOLDS", "Box", "Face", "FaceDetector", "create_detector", "model_files"]

# The model files each backend needs, by their shipped names.
BACKENDS: dict[str, tuple[str, ...]] = {
    "blazeface-onet": ("blazeface_full.tflite", "mtcnn_rnet.tflite", "mtcnn_onet.tflite"),
    "blazeface-full": ("blazeface_full.tflite",),
    "blazeface-short": ("blazeface_short.tflite",),
    "mtcnn": ("mtcnn_pnet.tflite", "mtcnn_rnet.tflite", "mtcnn_onet.tflite"),
}

# Operating score threshold of each backend when the config leaves it at 0 (MTCNN: its O-Net's).
DEFAULT_THRESHOLDS = {"blazeface-onet": 0.5, "blazeface-full": 0.5, "blazeface-short": 0.5, "mtcnn": 0.8}


def model_files(name: str, models: str | Path) -> list[Path]:
    """``models`` is a folder holding the backend's files, or (one-file backends) the file itself."""
    if name not in BACKENDS:
        raise ValueError(f"detector.name: unknown detector {name!r}; choose from {', '.join(BACKENDS)}")
    models = Path(models)
    if models.suffix == ".tflite":
        if len(BACKENDS[name]) > 1:
            raise ValueError(f"detector.model: {name} needs a folder with {', '.join(BACKENDS[name])}, not one file")
        return [models]
    return [models / f for f in BACKENDS[name]]


def create_detector(
    name: str,
    models: str | Path,
    score_threshold: float = 0.5,
    num_threads: int = 1,
    max_faces: int = 10,
    proposal_floor: float = 0.05,
) -> FaceDetector:
    """The backend called ``name``, its model files taken from ``models`` (see model_files);
    a ``score_threshold`` of 0 means the backend's default; ``proposal_floor``: blazeface-onet only."""
    files = model_files(name, models)
    score_threshold = score_threshold or DEFAULT_THRESHOLDS[name]
    if name in ("blazeface-short", "blazeface-full"):
        from edge.detectors.blazeface import BlazeFace, BlazeFaceOptions

        return BlazeFace(
            BlazeFaceOptions(
                files[0], name.split("-")[1], score_threshold, num_threads=num_threads, max_faces=max_faces
            )
        )
    if name == "blazeface-onet":
        from edge.detectors.refined import BlazeFaceOnet, RefinedOptions

        return BlazeFaceOnet(
            RefinedOptions(*files, score_threshold, proposal_floor, num_threads=num_threads, max_faces=max_faces)
        )
    from edge.detectors.mtcnn import Mtcnn, MtcnnOptions

    thresholds = (0.6, 0.7, score_threshold)
    return Mtcnn(MtcnnOptions(*files, thresholds=thresholds, num_threads=num_threads, max_faces=max_faces))
