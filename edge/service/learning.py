"""What the daemon learns from ``.../feedback``: the preferences in memory, their file (written
sparingly: an SD card wears with every rewrite) and their retained topic."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from moodcast.edge.config import Config
from moodcast.edge.mood.preferences import Feedback, PreferenceFile, Preferences
from moodcast.edge.service.contract import iso_now
from moodcast.edge.service.inbox import Rejected
from moodcast.edge.service.lograte import CountedWarning
from moodcast.edge.service.mqtt import Publisher

log = logging.getLogger("moodcast")

FEEDBACK_PER_TICK = 10  # a flood of feedback cannot starve the frames (one learning step per tick)
# What was learned reaches the file at once, then at most this often: a crash loses at most this
# much learning; a stop loses none.
PREFERENCES_SAVE_EVERY_S = 30.0


class Learning:
    """Feedback in, preferences out. With ``learn.enabled`` false, feedback is read and dropped,
    and a reset removes the file an earlier run left."""

    def __init__(self, config: Config, publisher: Publisher, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.publisher = publisher
        self.clock = clock
        self.preferences: Preferences | None = None
        self.file = PreferenceFile(config.learn.path())
        if config.learn.enabled:
            self.preferences = Preferences(config.recommend, config.learn)
            self.file.load(self.preferences)
        self._unsaved = False
        self._saved_at = -PREFERENCES_SAVE_EVERY_S
        self._warning = CountedWarning(log, "feedback")

    def apply_feedback(self, now_playing: Callable[[], tuple[str | None, str | None]]) -> None:
        """Learn from at most FEEDBACK_PER_TICK queued messages, then publish once. Feedback
        without emotion or genre (a Like button) is about ``now_playing()``'s (emotion, genre);
        feedback that cannot be placed is counted and logged, never applied."""
        learned = 0
        for _ in range(FEEDBACK_PER_TICK):
            item = self.publisher.feedback.get()
            if item is None:
                break
            if self.preferences is None:
                continue
            try:
                if isinstance(item, Rejected):
                    raise ValueError(item.reason)
                self.preferences.update(about(item, *now_playing()))
                learned += 1
            except ValueError as exc:
                self._warning.reject(str(exc))
        if learned:
            self._learned()
        self._warning.flush(time.monotonic(), self.publisher.feedback.dropped)

    def reset(self) -> None:
        """Forget what was learned; with learning off, the file a run with learning on left."""
        if self.preferences is not None:
            self.preferences.reset()
            self._learned()
        else:
            self.file.remove()
            self.publisher.clear_preferences()  # what a run with learning on left on the broker

    def save(self, now: bool = False) -> None:
        """Write what is unsaved if PREFERENCES_SAVE_EVERY_S have passed since the last write (or ``now``)."""
        if not self._unsaved or self.preferences is None:
            return
        at = self.clock()
        if not now and at - self._saved_at < PREFERENCES_SAVE_EVERY_S:
            return
        self.file.save(self.preferences)
        self._unsaved, self._saved_at = False, at

    def publish(self) -> None:
        if self.preferences is not None:
            self.publisher.publish_preferences({"ts": iso_now(), **self.preferences.as_dict()})

    def _learned(self) -> None:
        self._unsaved = True
        self.save()
        self.publish()


def about(feedback: Feedback, emotion: str | None, genre: str | None) -> Feedback:
    """``feedback`` with the current emotion and genre where it names none."""
    emotion, genre = feedback.emotion or emotion, feedback.genre or genre
    if emotion is None or genre is None:
        raise ValueError("feedback without emotion or genre while nobody is in view")
    return Feedback(feedback.outcome, emotion, genre)
