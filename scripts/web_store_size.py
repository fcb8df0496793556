"""The page's store after simulated days: ``moodcast web``'s own Store class fed as the page's
process feeds it (a point every ``web.sample_s``, a genre change every few minutes, a write every
``web.flush_s``) on a simulated clock, into a real SQLite file; its size and row counts after 1, 24
and 48 hours show where it stops growing, with the write transactions an SD card sees.

    .venv/bin/python scripts/web_store_size.py [--set web.sample_s=10 ...] [--change-every-s 300]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from pathlib import Path

from moodcast.edge.config import load, parse_assignment
from moodcast.edge.web.store import Change, Point, Store

GENRES = ("pop", "funk", "lo-fi", "blues", "metal", "ambient", "electronic")
EMOTIONS = ("happy", "neutral", "sad", "angry", "surprise", None)


def simulate(
    path: Path,
    hours: list[float],
    sample_s: float,
    flush_s: float,
    retention_h: float,
    max_changes: int,
    change_every_s: float,
) -> list[dict]:
    store = Store(path, retention_h * 3600, max_changes)
    rng = random.Random(26)
    rows, t, last_flush, next_change = [], 0.0, 0.0, change_every_s
    genre, emotion = "pop", "happy"
    for until in hours:
        while t < until * 3600:
            t += sample_s
            if t >= next_change:
                previous, genre, emotion = genre, rng.choice(GENRES), rng.choice(EMOTIONS)
                store.add_change(Change(t, genre, previous, f"the mood changed to {emotion}, which plays {genre}"))
                next_change += rng.expovariate(1 / change_every_s)
            v = math.sin(t / 900)
            store.add_point(Point(t, emotion, 0.5 + 0.4 * rng.random(), round(v, 4), round(-v / 2, 4), 1, genre))
            if t - last_flush >= flush_s:
                store.flush(t)
                last_flush = t
        store.flush(t)
        points, changes = store.counts()
        rows.append(
            {
                "hours": until,
                "points": points,
                "changes": changes,
                "kb": path.stat().st_size / 1024,
                "writes": store.writes,
            }
        )
    store.close(t)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", default=[], metavar="web.KEY=VALUE")
    parser.add_argument("--change-every-s", type=float, default=300.0, help="mean time between genre changes")
    args = parser.parse_args()
    config = load(overrides=[parse_assignment(s) for s in args.set], environ={})
    w = config.web
    with tempfile.TemporaryDirectory() as tmp:
        rows = simulate(
            Path(tmp) / "web.sqlite",
            [1, 24, 48],
            w.sample_s,
            w.flush_s,
            w.retention_h,
            w.max_changes,
            args.change_every_s,
        )
    print(
        f"web.sqlite on a simulated clock: sample_s={w.sample_s:g}, flush_s={w.flush_s:g}, "
        f"retention_h={w.retention_h:g}, max_changes={w.max_changes}, a genre change every ~{args.change_every_s:g} s"
    )
    print(f"{'hours':>6} {'points':>8} {'changes':>8} {'file KB':>9} {'writes':>7}")
    for r in rows:
        print(f"{r['hours']:>6g} {r['points']:>8} {r['changes']:>8} {r['kb']:>9.0f} {r['writes']:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
