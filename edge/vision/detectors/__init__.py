"""Face detectors: one small class per backend behind :class:`~edge.detectors.base.FaceDetector`,
found by name in :data:`BACKENDS` and built from one :class:`DetectorOptions`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moodcast.edge.errors import ConfigError
from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.vision.detectors.base import Box, Face, FaceDetector
from moodcast.edge.vision.detectors.blazeface import BlazeFaceFull, BlazeFaceShort
from moodcast.edge.vision.detectors.mtcnn import Mtcnn
from moodcast.edge.vision.detectors.refined import BlazeFaceOnet, RefinedOptions
from moodcast.edge.vision.detectors.yunet import YuNet

__all__ = ["BACKENDS", "Box", "DetectorOptions", "Face", "FaceDetector", "create_detector", "default_threshold"]

BACKENDS = {cls.name: cls for cls in (BlazeFaceOnet, YuNet, BlazeFaceFull, BlazeFaceShort, Mtcnn)}


@dataclass(frozen=True)
class DetectorOptions:
    """The ``[detector]`` settings: which backend, its files, and what it keeps."""

    name: str = BlazeFaceOnet.name
    model: str = ""  # "" = the shipped models; else a folder with the backend's files (or the one .tflite)
    score_threshold: float = 0.0  # 0 = the backend's default
    max_faces: int = RefinedOptions.max_faces
    # blazeface-onet: BlazeFace score a face needs to be checked by R-Net and O-Net
    proposal_floor: float = RefinedOptions.proposal_floor

    def __post_init__(self):
        if self.name not in BACKENDS:
            raise ConfigError(f"name: must be one of {', '.join(BACKENDS)}, got {self.name!r}")
        if not 0 <= self.score_threshold < 1:
            raise ConfigError(f"score_threshold: must be between 0 and 1 (0: default), got {self.score_threshold!r}")
        if not 0 < self.proposal_floor < 1:
            raise ConfigError(f"proposal_floor: must be between 0 and 1, got {self.proposal_floor!r}")
        if self.max_faces < 1:
            raise ConfigError(f"max_faces: must be at least 1, got {self.max_faces!r}")
        files = BACKENDS[self.name].model_files
        if self.model.endswith(".tflite") and len(files) > 1:
            raise ConfigError(f"model: {self.name} needs a folder with {', '.join(files)}, not one file")

    @property
    def threshold(self) -> float:
        """The score threshold in force: the configured one, else the backend's default."""
        return self.score_threshold or default_threshold(self.name)

    def model_files(self) -> list[Path]:
        """The backend's files: from the folder ``model`` (default: the shipped models), or
        ``model`` itself for a one-file backend."""
        folder = Path(self.model) if self.model else MODELS_DIR
        if folder.suffix == ".tflite":
            return [folder]
        return [folder / f for f in BACKENDS[self.name].model_files]


def default_threshold(name: str) -> float:
    """The operating score threshold of backend ``name`` when the config leaves it at 0."""
    return BACKENDS[name].default_score_threshold


def create_detector(options: DetectorOptions, num_threads: int = 1) -> FaceDetector:
    """The backend ``options.name`` on its model files."""
    return BACKENDS[options.name].from_options(options.model_files(), options, num_threads)
