"""Warnings about what a flood brings (rejected commands, unusable feedback, a full queue), counted
and logged at most once per interval: a flood cannot flood the journal too."""

from __future__ import annotations

import logging

LOG_EVERY_S = 10.0


class CountedWarning:
    """``what: N rejected (last: <reason>), M dropped by the full queue (the oldest)``, at most
    once per ``every_s``; nothing while there is nothing to say."""

    def __init__(self, log: logging.Logger, what: str, every_s: float = LOG_EVERY_S):
        self.log, self.what, self.every_s = log, what, every_s
        self.rejected = 0  # since the last line
        self.last_reason: str | None = None
        self._dropped_logged = 0  # the queue's dropped count at the last line
        self._logged_at = -every_s

    def reject(self, reason: str) -> None:
        self.rejected += 1
        self.last_reason = reason

    def flush(self, now: float, dropped_total: int) -> None:
        """Log what was counted if the interval has passed; ``dropped_total``: the queue's count."""
        dropped = dropped_total - self._dropped_logged
        if not (self.rejected or dropped) or now - self._logged_at < self.every_s:
            return
        self.log.warning(
            "%s: %d rejected (last: %s), %d dropped by the full queue (the oldest)",
            self.what,
            self.rejected,
            self.last_reason,
            dropped,
        )
        self.rejected, self._dropped_logged, self._logged_at = 0, dropped_total, now
