"""The daemon's counters and the ``.../stats`` message made from them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from moodcast.edge.pipeline import WORK_COUNTS, FrameResult
from moodcast.edge.service.host import cpu_temperature, current_rss_mb


@dataclass
class RunStats:
    started: float = field(default_factory=time.monotonic)
    frames: int = 0
    processed: int = 0
    dropped: int = 0  # frames skipped by the frame-rate cap
    source_ok: bool = True
    source_error: str | None = None
    source_failures: int = 0
    stage_ms: dict[str, float] = field(default_factory=dict)  # EMA of each stage
    fps: float | None = None  # None until two frames were analysed: no 0.0 that was never measured
    work: dict[str, int] = field(default_factory=lambda: dict.fromkeys(WORK_COUNTS, 0))  # counts so far
    _last_processed: float | None = None

    def record(self, result: FrameResult) -> None:
        for key, count in result.work.counts().items():
            self.work[key] += count
        now = time.monotonic()
        if self._last_processed is not None:
            dt = max(now - self._last_processed, 1e-6)
            self.fps = 1 / dt if self.fps is None else 0.9 * self.fps + 0.1 / dt
        self._last_processed = now
        for stage, ms in result.timings_ms.items():
            self.stage_ms[stage] = ms if stage not in self.stage_ms else 0.9 * self.stage_ms[stage] + 0.1 * ms


class StatsReport:
    """When ``.../stats`` is due (every ``interval_s``) and what it says: the counters, and the
    work rates since the last report that was sent."""

    def __init__(self, stats: RunStats, interval_s: float):
        self.stats = stats
        self.interval_s = interval_s
        self._sent_at = stats.started
        self._work_at_sent: dict[str, int] = dict(stats.work)

    def due(self, now: float) -> bool:
        return now - self._sent_at >= self.interval_s

    def payload(self, now: float, queued_messages: int, dropped_messages: int) -> dict:
        """The message, counted as sent at ``now``."""
        s = self.stats
        elapsed = max(now - self._sent_at, 1e-6)
        rates = {k: round((s.work[k] - self._work_at_sent.get(k, 0)) / elapsed, 2) for k in WORK_COUNTS}
        self._sent_at, self._work_at_sent = now, dict(s.work)
        return {
            "fps": None if s.fps is None else round(s.fps, 2),
            "frames": s.frames,
            "processed": s.processed,
            "dropped_frames": s.dropped,
            "stage_ms": {k: round(v, 3) for k, v in s.stage_ms.items()},
            "work_per_s": rates,
            "uptime_s": round(now - s.started, 1),
            "queued_messages": queued_messages,
            "dropped_messages": dropped_messages,
            "rss_mb": round(current_rss_mb(), 1),
            "cpu_temp_c": cpu_temperature(),
            "source_ok": s.source_ok,
            "source_error": s.source_error,
            "source_failures": s.source_failures,
        }
