"""The device package and the command type-check (mypy, pyproject.toml's settings, the installed layout)."""

import subprocess
import sys

from conftest import REPO


def test_mypy_finds_nothing_in_the_device_package_and_the_command():
    done = subprocess.run(
        [sys.executable, REPO / "scripts" / "typecheck.py"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "Success: no issues found" in done.stdout
