"""The repository these scripts run from (they are checkout tools, not part of the installed package)."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
