"""What arrives on the daemon's command and feedback topics, parsed in paho's thread and queued
for the loop: bounded queues, so a flood drops the oldest (counted) and the latest gets through."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from moodcast.edge.mood.preferences import Feedback
from moodcast.edge.service.contract import parse_command, parse_feedback

COMMAND_QUEUE = 64  # commands waiting for the loop; more in a flood are dropped and counted
FEEDBACK_QUEUE = 64  # ... and feedback messages, the same way
COMMAND_BYTES = 256  # a longer command payload is rejected unread
ECHO_CHARS = 64  # of a rejected payload, echoed in the log and in .../config


@dataclass(frozen=True)
class Command:
    key: str
    value: object
    error: str | None = None  # set when the command was rejected


@dataclass(frozen=True)
class Rejected:
    """A ``.../feedback`` message that is not one, and why."""

    reason: str


T = TypeVar("T")


class CommandQueue(Generic[T]):
    """Commands (or feedback) waiting for the loop, at most ``size``: in a flood the oldest are
    dropped (and counted), so the latest always gets through. One thread puts, one gets."""

    def __init__(self, size: int = COMMAND_QUEUE):
        self._items: deque[T] = deque(maxlen=size)
        self.dropped = 0

    def put(self, command: T) -> None:
        if len(self._items) == self._items.maxlen:
            self.dropped += 1
        self._items.append(command)

    def get(self) -> T | None:
        try:
            return self._items.popleft()
        except IndexError:
            return None

    def __len__(self) -> int:
        return len(self._items)


def echo(payload: bytes) -> str:
    """What may be shown of a payload: its start, decoded."""
    text = payload[: ECHO_CHARS * 4].decode("utf-8", "replace")
    return text[:ECHO_CHARS] + ("..." if len(payload) > ECHO_CHARS else "")


def parse_message(key: str, payload: bytes) -> Command:
    """A ``.../set/<key>`` message as a Command, rejected (with the reason) when it is not valid."""
    if len(payload) > COMMAND_BYTES:
        return Command(key, echo(payload), f"payload too long ({len(payload)} bytes; at most {COMMAND_BYTES})")
    try:
        key, value = parse_command(key, payload)
    except ValueError as exc:
        return Command(key[:ECHO_CHARS], echo(payload), str(exc))
    return Command(key, value)


def feedback_message(payload: bytes) -> Feedback | Rejected:
    """A ``.../feedback`` message as Feedback, or Rejected with the reason and its start."""
    try:
        return parse_feedback(payload)
    except ValueError as exc:
        return Rejected(f"{exc} (payload {echo(payload)!r})")
