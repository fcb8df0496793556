"""Genre recommender: from the smoothed scene to a music genre.

Strategies:

- ``match``: mood-congruent; each emotion has its genre (``match`` table).
- ``uplift``: the music-therapy iso principle. Start with music that matches the listener's mood
  (valence, arousal), then every ``step_s`` seconds move the target ``step_valence`` toward
  ``goal_valence`` (and the arousal toward ``goal_arousal``); the genre is the one whose
  coordinates lie nearest the target. A positive mood needs no lifting and gets ``match``.

With learned ``preferences`` (``edge/mood/preferences.py``) the mood's genre is the listener's preferred
one for the emotion instead of the table's, and uplift's nearest genre is weighed against what the
listener skipped for this emotion; without feedback both are exactly the table's choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from moodcast.edge.errors import ConfigError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.scene import Scene

# (valence, arousal) of each genre, placed on the same circumplex as the emotions.
DEFAULT_GENRES: dict[str, tuple[float, float]] = {
    "metal": (-0.5, 0.9),
    "punk": (-0.3, 0.8),
    "rock": (0.1, 0.7),
    "electronic": (0.4, 0.8),
    "dance": (0.8, 0.8),
    "pop": (0.7, 0.5),
    "funk": (0.6, 0.4),
    "soul": (0.4, 0.1),
    "indie": (0.1, 0.2),
    "jazz": (0.3, -0.1),
    "reggae": (0.5, -0.1),
    "lo-fi": (0.1, -0.4),
    "acoustic": (0.3, -0.3),
    "classical": (0.2, -0.5),
    "ambient": (0.0, -0.7),
    "blues": (-0.5, -0.3),
}
DEFAULT_MATCH: dict[str, str] = {
    "angry": "metal",
    "disgust": "punk",
    "fear": "ambient",
    "happy": "pop",
    "neutral": "lo-fi",
    "sad": "blues",
    "surprise": "electronic",
}
STRATEGIES = ("match", "uplift")


@dataclass(frozen=True)
class RecommendOptions:
    """The ``[recommend]`` settings; ``genres`` and ``match`` tables from a config file are
    merged over the defaults."""

    strategy: str = "match"  # one of STRATEGIES
    genres: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_GENRES))
    match: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MATCH))
    idle_genre: str = ""  # genre while nobody is in view; "" publishes null
    step_valence: float = 0.15  # uplift: valence added per step
    step_s: float = 120.0  # uplift: seconds per step
    goal_valence: float = 0.5
    goal_arousal: float = 0.3

    def __post_init__(self):
        check_strategy(self.strategy)
        genres = {}
        for genre, coords in self.genres.items():
            try:
                valence, arousal = (float(c) for c in coords)
            except (TypeError, ValueError):
                raise ConfigError(f"genres.{genre}: expected [valence, arousal], got {coords!r}") from None
            if not (-1 <= valence <= 1 and -1 <= arousal <= 1):
                raise ConfigError(f"genres.{genre}: valence and arousal must be in [-1, 1], got {coords!r}")
            genres[genre] = (valence, arousal)
        # Coordinates as float tuples whatever the file gave (TOML arrays are lists).
        object.__setattr__(self, "genres", genres)
        missing = [e for e in EMOTIONS if e not in self.match]
        if missing:
            raise ConfigError(f"match: has no genre for {missing}")
        unknown = sorted({g for g in self.match.values() if g not in self.genres})
        if unknown:
            raise ConfigError(f"match: names genres not in recommend.genres: {unknown}")
        for key in ("step_s", "step_valence"):
            if getattr(self, key) <= 0:
                raise ConfigError(f"{key}: must be > 0, got {getattr(self, key)!r}")
        for key in ("goal_valence", "goal_arousal"):
            if not -1 <= getattr(self, key) <= 1:
                raise ConfigError(f"{key}: must be between -1 and 1, got {getattr(self, key)!r}")
        if self.idle_genre and self.idle_genre not in self.genres:
            raise ConfigError(f"idle_genre: must be '' or one of recommend.genres, got {self.idle_genre!r}")


def check_strategy(strategy: str) -> str:
    """``strategy`` if it is one of STRATEGIES, else ConfigError naming them."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"strategy: must be {' or '.join(repr(s) for s in STRATEGIES)}, got {strategy!r}")
    return strategy


class Learned(Protocol):
    """What the recommender asks of learned preferences (``edge/mood/preferences.py``, which
    builds on this module's tables, not the other way round)."""

    def choose(self, emotion: str) -> str:
        """The genre the listener prefers for ``emotion``."""
        ...

    def dislike(self, emotion: str, genre: str) -> float:
        """How far below its prior the listener has pushed ``genre`` for ``emotion`` (>= 0)."""
        ...

    def uplift_weight(self) -> float:
        """Distance^2 traded per unit of ``dislike`` when uplift picks the nearest genre."""
        ...


@dataclass(frozen=True)
class Recommendation:
    genre: str | None
    strategy: str
    target_valence: float
    target_arousal: float


class GenreRecommender:
    """Stateful under ``uplift`` (the session's start); feed it every scene in time order."""

    def __init__(self, options: RecommendOptions | None = None):
        self.options = options or RecommendOptions()
        self._names = list(self.options.genres)
        self._coords = np.array([self.options.genres[n] for n in self._names], np.float32)
        self._session: tuple[float, float, float] | None = None  # start ts, valence, arousal
        self.strategy = self.options.strategy
        self.preferences: Learned | None = None  # None: the table alone

    def set_strategy(self, strategy: str) -> None:
        self.strategy, self._session = check_strategy(strategy), None

    def nearest(self, valence: float, arousal: float, emotion: str | None = None) -> str:
        """The genre nearest the point; with preferences, each genre's distance^2 is raised by
        what the listener skipped of it for ``emotion``."""
        d = ((self._coords - (valence, arousal)) ** 2).sum(axis=1)
        if self.preferences is not None and emotion is not None:
            weight = self.preferences.uplift_weight()
            d = d + weight * np.array([self.preferences.dislike(emotion, g) for g in self._names], np.float32)
        return self._names[int(d.argmin())]

    def matched(self, emotion: str) -> str:
        """The mood's own genre: learned when there are preferences, else the table's."""
        return self.preferences.choose(emotion) if self.preferences is not None else self.options.match[emotion]

    def recommend(self, scene: Scene, ts: float) -> Recommendation:
        o = self.options
        if scene.emotion is None:
            self._session = None
            return Recommendation(o.idle_genre or None, self.strategy, 0.0, 0.0)
        matched = self.matched(scene.emotion)
        if self.strategy == "match" or scene.valence >= o.goal_valence:
            self._session = None
            return Recommendation(matched, self.strategy, scene.valence, scene.arousal)
        if self._session is None:
            self._session = (ts, scene.valence, scene.arousal)
            return Recommendation(matched, self.strategy, scene.valence, scene.arousal)
        start, v0, a0 = self._session
        steps = int((ts - start) // o.step_s)
        if steps == 0:
            return Recommendation(matched, self.strategy, v0, a0)
        # The mood may lift faster than the plan: never aim below where the listener already is.
        target_v = min(max(v0 + steps * o.step_valence, scene.valence), o.goal_valence)
        progress = (target_v - v0) / max(o.goal_valence - v0, 1e-6)
        target_a = a0 + (o.goal_arousal - a0) * progress
        genre = self.nearest(target_v, target_a, scene.emotion)
        return Recommendation(genre, self.strategy, target_v, target_a)
