"""Home Assistant says ``online`` once when it starts; a flood of them (a loop, a prank) must not
become a flood of retained discovery documents. Shared by the daemon and the player."""

from __future__ import annotations

import threading

DISCOVERY_REPUBLISH_S = 10.0  # at most one republish at once and one more per this many seconds


class Republish:
    """Asked from any thread, due in the loop: at most once at once and once more per
    ``interval_s``, however often it is asked meanwhile (a flood of Home Assistant's ``online``)."""

    def __init__(self, interval_s: float = DISCOVERY_REPUBLISH_S):
        self.interval_s = interval_s
        self._asked = False
        self._last = float("-inf")
        self._lock = threading.Lock()

    def ask(self) -> None:
        with self._lock:
            self._asked = True

    def due(self, now: float) -> bool:
        with self._lock:
            if not self._asked or now - self._last < self.interval_s:
                return False
            self._asked, self._last = False, now
            return True
