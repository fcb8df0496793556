"""The page's timeline, kept in SQLite so that it survives a restart while sparing an SD card:
points wait in memory and are written in one transaction every ``web.flush_s``; points and genre
changes older than ``web.retention_h`` are deleted at each write, and at most ``web.max_changes``
changes are kept, so the file stops growing once the retention is reached (SQLite reuses the pages
it freed)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    ts REAL PRIMARY KEY, emotion TEXT, confidence REAL, valence REAL, arousal REAL, faces INTEGER, genre TEXT
);
CREATE TABLE IF NOT EXISTS changes (ts REAL, genre TEXT, previous TEXT, reason TEXT);
CREATE INDEX IF NOT EXISTS changes_ts ON changes (ts);
"""
MAX_POINTS_SENT = 720  # a day at 10 s is 8,640 points: averaged into this many for the page


@dataclass(frozen=True)
class Point:
    ts: float  # unix seconds
    emotion: str | None
    confidence: float
    valence: float
    arousal: float
    faces: int
    genre: str | None

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Change:
    ts: float
    genre: str | None
    previous: str | None
    reason: str

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class Store:
    """Thread-safe: the follower adds, the HTTP threads read; ``flush`` writes what waits."""

    def __init__(self, path: Path, retention_s: float, max_changes: int):
        self.path = Path(path)
        self.retention_s = retention_s
        self.max_changes = max_changes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._points: list[Point] = []
        self._changes: list[Change] = []
        self.writes = 0  # transactions committed (what the SD card sees)

    def add_point(self, point: Point) -> None:
        with self._lock:
            self._points.append(point)

    def add_change(self, change: Change) -> None:
        with self._lock:
            self._changes.append(change)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._points) + len(self._changes)

    def flush(self, now: float) -> None:
        """Write what waits and delete what is past the retention, in one transaction."""
        with self._lock:
            points, changes = self._points, self._changes
            self._points, self._changes = [], []
            cutoff = now - self.retention_s
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO points VALUES (?, ?, ?, ?, ?, ?, ?)", map(astuple, points))
                self._db.executemany("INSERT INTO changes VALUES (?, ?, ?, ?)", map(astuple, changes))
                self._db.execute("DELETE FROM points WHERE ts < ?", (cutoff,))
                self._db.execute(
                    "DELETE FROM changes WHERE ts < ? OR rowid NOT IN "
                    "(SELECT rowid FROM changes ORDER BY ts DESC LIMIT ?)",
                    (cutoff, self.max_changes),
                )
            self.writes += 1

    def timeline(self, since: float, max_points: int = MAX_POINTS_SENT) -> dict:
        """Points (averaged into at most ``max_points`` buckets, the last emotion and genre of each)
        and genre changes since ``since``, written or still waiting."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM points WHERE ts >= ? ORDER BY ts", (since,)).fetchall()
            points = [Point(*r) for r in rows] + [p for p in self._points if p.ts >= since]
            rows = self._db.execute("SELECT * FROM changes WHERE ts >= ? ORDER BY ts", (since,)).fetchall()
            changes = [Change(*r) for r in rows] + [c for c in self._changes if c.ts >= since]
        sent = bucketed(points, max_points)
        return {"points": [p.as_dict() for p in sent], "changes": [c.as_dict() for c in changes]}

    def counts(self) -> tuple[int, int]:
        """(points, changes) on disk."""
        with self._lock:
            points = self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0]
            changes = self._db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
        return points, changes

    def close(self, now: float) -> None:
        self.flush(now)
        with self._lock:
            self._db.close()


def bucketed(points: list[Point], most: int) -> list[Point]:
    """``points`` (in time order) as at most ``most``: consecutive runs averaged, each run keeping
    its last emotion, genre and face count."""
    if len(points) <= most:
        return points
    size = -(-len(points) // most)
    out = []
    for i in range(0, len(points), size):
        run = points[i : i + size]
        n = len(run)
        last = run[-1]
        out.append(
            Point(
                last.ts,
                last.emotion,
                round(sum(p.confidence for p in run) / n, 4),
                round(sum(p.valence for p in run) / n, 4),
                round(sum(p.arousal for p in run) / n, 4),
                last.faces,
                last.genre,
            )
        )
    return out
