"""Frame sources: one small class per kind, each yielding timestamped RGB frames."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np


class SourceError(RuntimeError):
    """A source that cannot be opened or stopped delivering; the message says what to check."""


@dataclass(frozen=True)
class Frame:
    rgb: np.ndarray  # (H, W, 3) uint8
    ts: float  # seconds; wall clock for cameras, media time for files
    index: int


class FrameSource(Protocol):
    """``frames()`` yields until the source ends (a file) or fails (raises SourceError)."""

    name: str

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...
