"""The machine under ``moodcast doctor``: temperature, throttling, disk, memory, the service, and
the Python, numpy and picamera2 it runs with. Each check says ok, warn or fail, what it found,
and the fix in one line."""

from __future__ import annotations

import importlib
import platform
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.service.host import cpu_temperature
from moodcast.edge.sources.picamera import numpy_repair

OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn or fail
    detail: str
    fix: str = ""


def check_system() -> list[Check]:
    checks = []
    temp = cpu_temperature()
    if temp is not None:
        hot = temp >= 80
        checks.append(Check("cpu temperature", WARN if hot else OK, f"{temp:.1f} °C", "cooling" if hot else ""))
    if shutil.which("vcgencmd"):
        run = subprocess.run(["vcgencmd", "get_throttled"], capture_output=True, text=True, timeout=5)
        value = run.stdout.strip().partition("=")[2]
        throttled = value not in ("", "0x0")
        checks.append(
            Check(
                "throttling",
                WARN if throttled else OK,
                run.stdout.strip() or run.stderr.strip(),
                "a better power supply or cooling" if throttled else "",
            )
        )
    free_gb = shutil.disk_usage(MODELS_DIR).free / 1e9  # the SD card moodcast and its state live on
    checks.append(Check("disk", WARN if free_gb < 0.5 else OK, f"{free_gb:.1f} GB free", "free some space"))
    available = next(
        (
            int(line.split()[1]) / 1e6
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemAvailable")
        ),
        None,
    )
    if available is not None:
        low = available < 0.2
        checks.append(
            Check("memory", WARN if low else OK, f"{available:.2f} GB available", "close other programs" if low else "")
        )
    if shutil.which("systemctl"):
        run = subprocess.run(["systemctl", "is-active", "moodcast"], capture_output=True, text=True, timeout=5)
        state = run.stdout.strip() or "unknown"
        checks.append(
            Check(
                "service",
                OK if state == "active" else WARN,
                f"moodcast.service is {state}",
                "" if state == "active" else "sudo systemctl enable --now moodcast (docs/install-pi.md)",
            )
        )
    return checks


def check_versions() -> list[Check]:
    """Python and numpy, and whether picamera2 (apt) imports with this numpy: the common Pi trap."""
    checks = [Check("python", OK, f"{platform.python_version()} on {platform.machine()}")]
    checks.append(Check("numpy", OK, np.__version__))
    try:
        importlib.import_module("picamera2")
    except ImportError:
        checks.append(
            Check(
                "picamera2",
                WARN,
                "not importable",
                "on a Pi: sudo apt install python3-picamera2, and the venv made with --system-site-packages",
            )
        )
    except ValueError as exc:  # "numpy.dtype size changed": built against another numpy
        checks.append(
            Check(
                "picamera2",
                FAIL,
                f"imports with an error: {exc}",
                f"picamera2 is built against the system's numpy, this venv has {np.__version__}: {numpy_repair()}",
            )
        )
    else:
        checks.append(Check("picamera2", OK, "importable"))
    return checks
