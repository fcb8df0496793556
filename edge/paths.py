"""Where the shipped files are: data packages of ``moodcast``, in a wheel or a checkout alike;
and where a device keeps what it writes."""

import os
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


def state_directory(environ: dict | os._Environ = os.environ) -> Path:
    """systemd's $STATE_DIRECTORY, else ~/.local/state/moodcast: the preferences and the page's store."""
    state = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state) if state else Path.home() / ".local" / "state" / "moodcast"
