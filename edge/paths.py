"""Where the shipped files live in a checkout (or an installed tree laid out the same way)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "models"
SAMPLES_DIR = REPO / "samples"
