"""The MQTT contract: topic names and payloads, built from the typed results.

Every payload here has a JSON Schema in ``schemas/`` and the tests validate against it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from moodcast.edge.mood.preferences import OUTCOMES, Feedback
from moodcast.edge.mood.recommend import check_strategy
from moodcast.edge.mood.scene import Scene
from moodcast.edge.parsing import parse_bool, parse_json
from moodcast.edge.pipeline import FrameResult

ONLINE, OFFLINE = "online", "offline"
COMMANDS = ("strategy", "enabled", "preferences")
STATE_BYTES = 4096  # a larger .../state message is not a moodcast daemon's (ours are ~0.5 kB)


@dataclass(frozen=True)
class Topics:
    prefix: str

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def state(self) -> str:
        return f"{self.prefix}/state"

    @property
    def faces(self) -> str:
        return f"{self.prefix}/faces"

    @property
    def stats(self) -> str:
        return f"{self.prefix}/stats"

    @property
    def config(self) -> str:
        return f"{self.prefix}/config"

    @property
    def feedback(self) -> str:
        return f"{self.prefix}/feedback"

    @property
    def preferences(self) -> str:
        return f"{self.prefix}/preferences"

    @property
    def player(self) -> str:
        return f"{self.prefix}/player"

    @property
    def player_availability(self) -> str:
        return f"{self.prefix}/player/availability"

    @property
    def commands(self) -> str:
        return f"{self.prefix}/set/#"

    def command(self, key: str) -> str:
        return f"{self.prefix}/set/{key}"


def iso_now(ts: float | None = None) -> str:
    when = dt.datetime.now(dt.UTC) if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC)
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def state_payload(result: FrameResult | None, enabled: bool, source_ok: bool, wall_ts: float | None = None) -> dict:
    """``.../state`` without ``seq`` (the publisher numbers what it sends); ``result`` is None
    while analysis is disabled or before the first frame."""
    scene = result.scene if result else Scene.nobody()
    r = result.recommendation if result else None
    return {
        "ts": iso_now(wall_ts),
        **scene.as_dict(),
        "genre": r.genre if r else None,
        "strategy": r.strategy if r else None,
        "enabled": enabled,
        "source_ok": source_ok,
    }


def faces_payload(result: FrameResult, wall_ts: float | None = None) -> dict:
    return {"ts": iso_now(wall_ts), "faces": [f.as_dict() for f in result.faces]}


def parse_feedback(payload: bytes, max_bytes: int = 256) -> Feedback:
    """A ``.../feedback`` message; ValueError with the reason when it is not one."""
    body = parse_json(payload, max_bytes)
    if not isinstance(body, dict):
        raise ValueError("expected an object")
    outcome, emotion, genre = body.get("outcome"), body.get("emotion"), body.get("genre")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome: must be one of {', '.join(OUTCOMES)}, got {str(outcome)[:32]!r}")
    for key, value in (("emotion", emotion), ("genre", genre)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key}: expected a string or null")
    return Feedback(outcome, emotion, genre)


def feedback_payload(feedback: Feedback) -> dict:
    """A ``.../feedback`` message: what ``parse_feedback`` reads; no emotion or genre means the
    daemon's current ones."""
    body = {"emotion": feedback.emotion, "genre": feedback.genre, "outcome": feedback.outcome}
    return {k: v for k, v in body.items() if v is not None}


def parse_command(key: str, payload: bytes) -> tuple[str, object]:
    """Validate a ``.../set/<key>`` command; ValueError with a message for the ack otherwise."""
    text = payload.decode("utf-8", "replace").strip()
    if key == "strategy":
        return key, check_strategy(text)  # a ConfigError is a ValueError
    if key == "enabled":
        try:
            return key, parse_bool(text)
        except ValueError:
            raise ValueError(f"enabled: must be ON/OFF or true/false, got {text!r}") from None
    if key == "preferences":
        if text != "reset":
            raise ValueError(f"preferences: the only command is 'reset', got {text!r}")
        return key, text
    raise ValueError(f"unknown setting {key!r}; settable: {', '.join(COMMANDS)}")
