"""moodcast's errors: each says what is wrong and what to do; only ``main`` turns them into exit codes."""

from __future__ import annotations

from moodcast.edge.install import add_extra_command


class MoodcastError(Exception):
    """Base of every error moodcast reports to its user (exit code 1 unless a subclass says)."""


class ConfigError(MoodcastError, ValueError):
    """A bad key or value; the message starts with the key (exit code 2)."""


class ModelError(MoodcastError, RuntimeError):
    """A model that cannot be used; the message names the file and what to do."""


class SourceError(MoodcastError, RuntimeError):
    """A source that cannot be opened or stopped delivering; the message says what to check."""


class SourceGone(SourceError):
    """A source that trying again cannot bring back (a video file that cannot be opened): the run
    ends with it, where a camera or stream that fails is retried."""


class DatasetError(MoodcastError, ValueError):
    """A data set that cannot be read; the message names the file."""


class MissingExtraError(MoodcastError, ImportError):
    """A command needs an optional part that is not installed; the message names the extra and the
    command that installs it into this moodcast (an editable checkout or a wheel)."""

    def __init__(self, what: str, extra: str, missing: str = ""):
        because = f" ({missing} is missing)" if missing else ""
        super().__init__(f"{what} needs the [{extra}] extra{because}: {add_extra_command(extra)}")
        self.extra = extra
