"""How this moodcast was installed, and the pip commands that add to it or repair it.

A fix that ``doctor`` or a missing-extra error prints must work where it is read: moodcast is not on
a package index (``pip install 'moodcast[api]'`` finds nothing), it may be an editable checkout or
a wheel, and a Bookworm venv must keep apt's numpy 1.x, which python3-picamera2 is built against.
"""

from __future__ import annotations

import importlib.metadata
import shlex
import sys
from pathlib import Path

# What keeps a venv on numpy 1.x: constraints/bookworm.txt, for installs without the checkout.
NUMPY1_PINS = ("numpy<2", "opencv-python-headless<4.12", "ml-dtypes<0.6")


def numpy_major() -> int:
    try:
        return int(importlib.metadata.version("numpy").split(".")[0])
    except importlib.metadata.PackageNotFoundError:
        return 0


def checkout() -> Path | None:
    """The source checkout this moodcast runs from (an editable install, or no install at all):
    its subpackages are the checkout's top-level folders, not folders inside ``moodcast/``."""
    root = Path(__file__).resolve().parent.parent  # site-packages/moodcast once installed from a wheel
    is_checkout = (root / "setup.cfg").is_file() and (root / "moodcast" / "__init__.py").is_file()
    return root if is_checkout else None


def extra_requirements(extra: str) -> list[str]:
    """The requirements of ``extra`` as the installed metadata lists them."""
    try:
        requires = importlib.metadata.requires("moodcast") or []
    except importlib.metadata.PackageNotFoundError:
        return []
    marker = f'extra == "{extra}"'
    return [r.split(";")[0].strip() for r in requires if marker in r]


def _pip() -> str:
    return f"{shlex.quote(sys.executable)} -m pip install"


def _install(extra: str, keep_numpy1: bool) -> str:
    source = checkout()
    if source is not None:
        command = f"{_pip()} -e {shlex.quote(f'{source}[{extra}]')}"
        if keep_numpy1:
            command += f" -c {shlex.quote(str(source / 'constraints' / 'bookworm.txt'))}"
        return command
    wanted = [*extra_requirements(extra), *(NUMPY1_PINS if keep_numpy1 else ())]
    return f"{_pip()} {' '.join(shlex.quote(r) for r in wanted)}"


def add_extra_command(extra: str) -> str:
    """The command that installs ``extra`` into this moodcast without moving numpy across a major
    version (numpy 1.x stays 1.x: apt's packages are built against it)."""
    return _install(extra, keep_numpy1=numpy_major() < 2)


def numpy1_repair_command() -> str:
    """The command that brings this venv back to numpy 1.x beside apt's picamera2 (Bookworm)."""
    return _install("litert", keep_numpy1=True)
