"""Where the shipped files are: data packages of ``moodcast``, in a wheel or a checkout alike."""

from importlib.resources import files
from pathlib import Path


def _package_dir(package: str) -> Path:
    found = files(package)
    if not isinstance(found, Path):  # a zip import: TFLite and OpenCV need real files
        raise ImportError(f"{package} is not installed as files on disk ({found}); install moodcast with pip")
    return found


MODELS_DIR = _package_dir("moodcast.models")
SAMPLES_DIR = _package_dir("moodcast.samples")
SCHEMAS_DIR = _package_dir("moodcast.schemas")
CONFIG_EXAMPLE = _package_dir("moodcast.config") / "moodcast.example.toml"
