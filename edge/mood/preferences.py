"""What this listener likes: a Beta-Bernoulli preference per (emotion, genre), learned online from
feedback, and the one small file it is kept in.

For each emotion the candidates are its ``recommend.match`` genre and the ``learn.neighbours``
genres nearest the emotion on the valence/arousal plane (``edge.scene.CIRCUMPLEX``). Each pair
holds a Beta(a, b) belief that the listener keeps that genre on in that mood: the match genre
starts at Beta(``learn.prior``, 1), the others at Beta(1, 1). ``played`` and ``liked`` add to a,
``skipped`` and ``disliked`` to b (``liked``/``disliked`` count ``learn.button_weight``). The pick is
the greatest posterior mean a / (a + b), ties to the match genre, then the nearest: with no
feedback that is today's table. Deterministic on purpose: Thompson sampling would change the
published genre from frame to frame; here the genre moves only when the evidence does, and each
choice is explained by two counts. When a + b passes ``learn.max_count`` both are scaled down, so
old evidence fades, a taste can move back, and nothing grows; a file written under a larger
``max_count`` is scaled down the same way when it is read.

Feedback on a genre outside the emotion's candidates (``uplift`` plays them on its way to the goal)
is learned too, in a pair of its own under that emotion: it weighs in uplift's nearest genre
(``dislike``) but never competes in ``choose``. At most one pair per (emotion, genre).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from moodcast.edge.errors import ConfigError
from moodcast.edge.labels import EMOTIONS
from moodcast.edge.mood.recommend import RecommendOptions
from moodcast.edge.mood.scene import CIRCUMPLEX
from moodcast.edge.parsing import parse_json
from moodcast.edge.paths import state_directory

log = logging.getLogger("moodcast.preferences")

OUTCOMES = ("played", "skipped", "liked", "disliked")
FILE_VERSION = 1
FILE_NAME = "preferences.json"
MAX_FILE_BYTES = 1 << 20  # a larger preferences file is not ours: reported and reset


@dataclass(frozen=True)
class LearnOptions:
    """The ``[learn]`` settings."""

    enabled: bool = True  # false: today's table, feedback ignored
    neighbours: int = 3  # genres nearest each emotion that compete with its match genre
    prior: float = 4.0  # a of the match genre's Beta(a, 1): skips needed to move it ~ prior
    button_weight: float = 2.0  # liked / disliked count this many plays / skips
    max_count: float = 50.0  # a + b of one pair is scaled down to this (old evidence fades)
    uplift_weight: float = 0.5  # uplift: distance^2 traded per unit of learned dislike
    file: str = ""  # "" = $STATE_DIRECTORY/preferences.json (systemd), else ~/.local/state/moodcast/

    def __post_init__(self):
        for key, low in (("neighbours", 0), ("prior", 1), ("button_weight", 0), ("uplift_weight", 0)):
            if getattr(self, key) < low:
                raise ConfigError(f"{key}: must be >= {low}, got {getattr(self, key)!r}")
        if self.max_count < 2 * self.prior:
            raise ConfigError(f"max_count: must be at least 2 x learn.prior, got {self.max_count!r}")

    def path(self, environ: dict | os._Environ = os.environ) -> Path:
        if self.file:
            return Path(self.file)
        return state_directory(environ) / FILE_NAME


@dataclass(frozen=True)
class Feedback:
    """One listening outcome; ``emotion`` or ``genre`` None: the daemon's current ones."""

    outcome: str
    emotion: str | None = None
    genre: str | None = None


def faded(a: float, b: float, max_count: float) -> list[float]:
    """``[a, b]`` scaled down to ``a + b = max_count`` when past it; the mean a / (a + b) is kept."""
    total = a + b
    if total <= max_count:
        return [a, b]
    scale = max_count / total
    return [max(a * scale, 1e-3), max(b * scale, 1e-3)]


class Preferences:
    """The learned beliefs over the genres of each emotion (its candidates, and any other genre it
    had feedback on); every number is bounded."""

    def __init__(self, recommend: RecommendOptions, options: LearnOptions):
        self.options = options
        self.genres = recommend.genres
        self.match = recommend.match
        self.candidates: dict[str, list[str]] = {}
        for emotion in EMOTIONS:
            near = sorted(self.genres, key=functools.partial(self._distance, emotion))
            others = [g for g in near if g != self.match[emotion]]
            names = [self.match[emotion], *others[: options.neighbours]]
            self.candidates[emotion] = names
        self.counts: dict[str, dict[str, list[float]]] = {}
        self.updates = 0
        self.reset()

    def prior(self, emotion: str, genre: str) -> list[float]:
        return [self.options.prior if genre == self.match[emotion] else 1.0, 1.0]

    def reset(self) -> None:
        self.counts = {e: {g: self.prior(e, g) for g in names} for e, names in self.candidates.items()}
        self.updates = 0

    def mean(self, emotion: str, genre: str) -> float:
        a, b = self.counts[emotion][genre]
        return a / (a + b)

    def _distance(self, emotion: str, genre: str) -> float:
        v, a = CIRCUMPLEX[emotion]
        return (self.genres[genre][0] - v) ** 2 + (self.genres[genre][1] - a) ** 2

    def choose(self, emotion: str) -> str:
        """The candidate with the greatest posterior mean (ties: the match genre, the nearest)."""
        names = self.candidates[emotion]
        return max(names, key=lambda g: (self.mean(emotion, g), g == self.match[emotion], -self._distance(emotion, g)))

    def uplift_weight(self) -> float:
        return self.options.uplift_weight

    def dislike(self, emotion: str, genre: str) -> float:
        """How far below its prior the listener has pushed a pair (0 when never heard or liked)."""
        if genre not in self.counts.get(emotion, {}):
            return 0.0
        a0, b0 = self.prior(emotion, genre)
        return max(0.0, a0 / (a0 + b0) - self.mean(emotion, genre))

    def update(self, feedback: Feedback) -> None:
        """Learn from one outcome; ValueError for an emotion or genre this model does not know."""
        e, g = feedback.emotion, feedback.genre
        if e is None or e not in self.counts:
            raise ValueError(f"emotion: unknown {str(e)[:32]!r}")
        if g is None or g not in self.genres:
            raise ValueError(f"genre: {str(g)[:32]!r} is not one of recommend.genres")
        weight = self.options.button_weight if feedback.outcome in ("liked", "disliked") else 1.0
        a, b = self.counts[e].get(g) or self.prior(e, g)
        if feedback.outcome in ("played", "liked"):
            a += weight
        else:
            b += weight
        self.counts[e][g] = faded(a, b, self.options.max_count)
        self.updates += 1

    def as_dict(self) -> dict:
        """What ``.../preferences`` publishes and the file holds."""
        return {
            "version": FILE_VERSION,
            "updates": self.updates,
            "emotions": {
                e: {
                    "genre": self.choose(e),
                    "genres": {
                        g: {"a": round(a, 4), "b": round(b, 4), "score": round(a / (a + b), 4)}
                        for g, (a, b) in pairs.items()
                    },
                }
                for e, pairs in self.counts.items()
            },
        }

    def restore(self, saved: dict) -> None:
        """Counts from ``as_dict``, each scaled down to ``learn.max_count``; pairs of emotions or
        genres no longer known are left out, missing candidates keep their prior. ValueError when
        ``saved`` is not such a dict."""
        if not isinstance(saved, dict) or saved.get("version") != FILE_VERSION:
            raise ValueError("not a moodcast preferences file of version 1")
        fresh = {e: {g: list(p) for g, p in pairs.items()} for e, pairs in self.counts.items()}
        emotions = saved.get("emotions")
        if not isinstance(emotions, dict):
            raise ValueError("emotions: expected an object")
        for e, entry in emotions.items():
            for g, pair in (entry.get("genres") or {}).items() if isinstance(entry, dict) else ():
                if e in fresh and g in self.genres:
                    a, b = float(pair["a"]), float(pair["b"])
                    if not (a > 0 and b > 0 and math.isfinite(a + b)):
                        raise ValueError(f"{e}.{g}: counts out of range")
                    fresh[e][g] = faded(a, b, self.options.max_count)
        try:
            updates = int(saved.get("updates", 0))
        except OverflowError:  # 1e999 reads as inf
            updates = -1
        if updates < 0:
            raise ValueError("updates: out of range")
        self.counts, self.updates = fresh, updates


class PreferenceFile:
    """The preferences on disk: replaced atomically (temp file, fsync, rename, fsync of the
    folder), so a ``kill -9`` or a power cut leaves the old file or the new one, never half."""

    def __init__(self, path: Path):
        self.path = path
        self.error: str | None = None  # the last failure to write, reported once per kind

    def load(self, preferences: Preferences) -> None:
        """Restore ``preferences`` from the file; a missing one is the prior, a corrupt one is
        reported, kept beside as ``.corrupt`` and reset. Temp files a killed writer left are removed."""
        for stale in self.path.parent.glob(f".{self.path.name}.*"):
            with contextlib.suppress(OSError):
                stale.unlink()
        try:
            if self.path.stat().st_size > MAX_FILE_BYTES:
                raise ValueError(f"larger than {MAX_FILE_BYTES} bytes")
            saved = parse_json(self.path.read_bytes(), MAX_FILE_BYTES)
            if not isinstance(saved, dict):
                raise ValueError("not a JSON object")
            preferences.restore(saved)
            log.info("preferences from %s (%d updates)", self.path, preferences.updates)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            preferences.reset()
            aside = self.path.with_name(self.path.name + ".corrupt")
            log.error("%s is corrupt (%s): starting from the table; kept as %s", self.path, exc, aside)
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)

    def remove(self) -> bool:
        """Forget the file (a reset while learning is off: there is nothing in memory to reset);
        False, logged, when it cannot be removed."""
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            log.error("cannot remove %s: %s", self.path, exc.strerror)
            return False
        log.info("preferences file %s removed", self.path)
        return True

    def save(self, preferences: Preferences) -> bool:
        body = json.dumps(preferences.as_dict(), separators=(",", ":"), sort_keys=True).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(body)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)  # the rename itself survives a power cut
            finally:
                os.close(folder)
        except OSError as exc:
            error = f"cannot write {self.path}: {exc.strerror}"
            if error != self.error:
                log.error("%s; preferences kept in memory only", error)
            self.error = error
            return False
        self.error = None
        return True
