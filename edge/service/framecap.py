"""Which frames get analysed: at most ``fps_cap`` a second, and ``idle_fps_cap`` while nobody is in
view and nothing moves. The daemon and ``moodcast bench --video`` decide with the same rule."""

from __future__ import annotations

from moodcast.edge.pipeline import FrameResult
from moodcast.edge.sources.base import SourceOptions


def idle(result: FrameResult | None) -> bool:
    """Nobody in view, nothing moved in the last analysed frame, and the scene already says so
    (while its no-face countdown runs, frames keep coming at the full cap to end it on time)."""
    return result is not None and result.work.gated and not result.faces and result.scene.emotion is None


class FrameCap:
    """Stateful: ask ``keep`` for each frame's timestamp in order, with the last result."""

    def __init__(self, options: SourceOptions):
        self.gap = 1 / options.fps_cap if options.fps_cap > 0 else 0.0
        self.idle_gap = max(self.gap, 1 / options.idle_fps_cap) if options.idle_fps_cap > 0 else self.gap
        self._last: float | None = None

    def keep(self, ts: float, last_result: FrameResult | None) -> bool:
        if self._last is not None and ts < self._last:
            self._last = None  # a reopened file starts its media time again
        gap = self.idle_gap if idle(last_result) else self.gap
        if self._last is not None and ts - self._last < gap * 0.999:
            return False
        self._last = ts
        return True
