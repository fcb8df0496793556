"""``moodcast doctor``'s last summary for the page: run on request, in its own process (the page's
process loads no model), with the page's configuration; the camera is left to the daemon."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

TIMEOUT_S = 120


class DoctorRuns:
    """Thread-safe: ``start`` runs doctor in the background; ``summary`` is its last answer."""

    def __init__(self, argv: Sequence[str], clock: Callable[[], float] = time.time):
        self.argv = [sys.executable, "-m", "moodcast", "doctor", "--json", "--no-source", *argv]
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict | None = None
        self._running = False

    def start(self) -> bool:
        """False when one is already running."""
        with self._lock:
            if self._running:
                return False
            self._running = True
        threading.Thread(target=self._run, daemon=True, name="doctor").start()
        return True

    def _run(self) -> None:
        try:
            done = subprocess.run(self.argv, capture_output=True, text=True, timeout=TIMEOUT_S)
            lines = done.stdout.strip().splitlines()
            report = json.loads(lines[-1]) if lines else {}
            checks = report.get("checks", [])
            summary = {
                "status": report.get("status", "fail"),
                "checks": len(checks),
                "problems": [c for c in checks if c.get("status") != "ok"],
            }
            if not lines:
                summary["problems"] = [{"name": "doctor", "status": "fail", "detail": done.stderr[-300:], "fix": ""}]
        except (subprocess.TimeoutExpired, ValueError) as exc:
            summary = {
                "status": "fail",
                "checks": 0,
                "problems": [{"name": "doctor", "status": "fail", "detail": str(exc)[:300], "fix": ""}],
            }
        summary["at"] = self.clock()
        with self._lock:
            self._last, self._running = summary, False

    def summary(self) -> dict:
        with self._lock:
            return {"running": self._running, "last": self._last}
