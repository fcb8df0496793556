"""Two daemons publishing under one device id: the broker lets one client id connect at a time, so
they would take the connection from each other every second. Each sees the other's state on its
own topic; one of them gives way."""

from __future__ import annotations

from moodcast.edge.parsing import parse_json
from moodcast.edge.service.contract import STATE_BYTES

TWIN_BACKOFF_S = (60, 600)  # offline after another daemon was seen on our topics: first, longest
REMEMBERED = 16  # other boot_ids remembered; more (a replayed history) start the memory again


class TwinWatch:
    """Another process that keeps publishing our state: its boot_id seen again with another seq (a
    retained state left by an earlier run never changes, whatever the clock says). Of two twins,
    the one with the smaller boot_id gives way, so exactly one goes offline."""

    def __init__(self, boot_id: str):
        self.boot_id = boot_id
        self.twins = 0  # times this process gave way
        self._seqs: dict[str, int] = {}  # boot_id -> seq of other processes' states seen

    def gives_way_to(self, payload: bytes) -> str | None:
        """The other daemon's boot_id when a state on our topic says this one should give way."""
        try:
            state = parse_json(payload, STATE_BYTES)
            if not isinstance(state, dict):
                return None
            other, seq = str(state["boot_id"]), state["seq"]
        except (ValueError, KeyError, TypeError):
            return None
        if other == self.boot_id:
            return None
        seen = self._seqs.get(other)
        if len(self._seqs) > REMEMBERED:
            self._seqs.clear()
        self._seqs[other] = seq
        if seen is None or seen == seq or other < self.boot_id:
            return None
        return other

    def backoff_s(self) -> int:
        """How long to stay offline this time: doubling from the first to the longest."""
        self.twins += 1
        return min(TWIN_BACKOFF_S[0] * 2 ** min(self.twins - 1, 8), TWIN_BACKOFF_S[1])
