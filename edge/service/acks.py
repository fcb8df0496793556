"""Which published messages the broker has not acknowledged yet: what ``queued`` reports, and
what bounds the state messages kept while the broker is away."""

from __future__ import annotations

EARLY_KEPT_S = 5.0  # an early acknowledgement is forgotten after this: paho reuses message ids


class Unacknowledged:
    """Message ids handed to paho and not acknowledged yet; of them, the state messages (the
    bounded kind). paho may report an acknowledgement before ``publish`` returned its id (or one
    of an untracked QoS 0 message): such ids are kept a few seconds, so the send that follows
    is not counted as waiting forever. Not thread-safe: the publisher holds its lock around it."""

    def __init__(self) -> None:
        self._waiting: set[int] = set()
        self._state: set[int] = set()
        self._early: dict[int, float] = {}  # id -> when its acknowledgement came

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def states(self) -> int:
        return len(self._state)

    def sent(self, mid: int, now: float, tracked: bool, state: bool) -> None:
        """``tracked``: a QoS 1 message, acknowledged later; ``state``: one of the bounded kind."""
        self._early = {m: t for m, t in self._early.items() if now - t < EARLY_KEPT_S}
        if self._early.pop(mid, None) is None and tracked:
            self._waiting.add(mid)
            if state:
                self._state.add(mid)

    def acknowledged(self, mid: int, now: float) -> None:
        self._state.discard(mid)
        if mid in self._waiting:
            self._waiting.discard(mid)
        else:
            self._early[mid] = now
