"""moodcast's configuration: the stages' own options dataclasses, read from TOML, ``MOODCAST_*``
environment and flags.

Precedence: defaults < TOML file < environment (``MOODCAST_<SECTION>_<KEY>``, e.g.
``MOODCAST_MQTT_HOST``) < command-line flags. Each section is the options dataclass of the stage
it configures, so each default is defined once, where the stage is, and each section validates
itself; every error names the key it is about.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import socket
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from moodcast.edge.errors import ConfigError
from moodcast.edge.mood.preferences import LearnOptions
from moodcast.edge.mood.recommend import RecommendOptions
from moodcast.edge.mood.scene import SceneOptions
from moodcast.edge.parsing import parse_bool
from moodcast.edge.player.options import PlayOptions
from moodcast.edge.sources.base import SourceOptions
from moodcast.edge.vision.detectors import DetectorOptions
from moodcast.edge.vision.emotion import EmotionOptions
from moodcast.edge.vision.motion import MotionOptions
from moodcast.edge.vision.tracker import TrackingOptions
from moodcast.edge.web.options import WebOptions

__all__ = ["Config", "ConfigError", "WebOptions", "load", "parse_assignment"]

# MOODCAST_* variables that are not config keys: the secrets (read where they are used) and the log level.
NOT_SETTINGS = ("MOODCAST_MQTT_PASSWORD", "MOODCAST_MPD_PASSWORD", "MOODCAST_WEB_TOKEN", "MOODCAST_LOG")


def require(ok: bool, key: str, expected: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"{key}: must be {expected}, got {value!r}")


def require_topic_level(value: str, key: str, empty_ok: bool = True) -> None:
    """An MQTT topic part we publish under: no wildcards, no leading or trailing ``/``."""
    if not value:
        require(empty_ok, key, "set", value)
        return
    bad = any(c in value for c in "#+\0") or value.startswith("/") or value.endswith("/") or "//" in value
    require(not bad, key, "a topic without '#', '+', empty levels or a leading or trailing '/'", value)
    # Topics under '$' are the broker's own ($SYS): a client publishing there is disconnected.
    require(not value.startswith("$"), key, "a topic that does not start with '$' (the broker's own)", value)


# Home Assistant accepts only these in a discovery topic's node and object ids; it ignores the
# rest without a word ("illegal discovery topic").
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class MqttConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    device_id: str = ""  # "" = this machine's host name
    prefix: str = ""  # "" = moodcast/<device_id>
    protocol: str = "5"  # "5" or "3.1.1"
    keepalive: int = 30
    qos: int = 1
    heartbeat_s: float = 30.0
    stats_interval_s: float = 10.0
    faces: bool = False  # publish per-face detail on .../faces
    faces_interval_s: float = 1.0
    queue_size: int = 1000  # state messages kept while the broker is away
    username: str = ""
    password_file: str = ""  # or MOODCAST_MQTT_PASSWORD; never logged
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    reconnect_max_s: float = 30.0

    def __post_init__(self):
        require(bool(self.host.strip()), "host", "a host name or address", self.host)
        require(0 < self.port < 65536, "port", "a port number 1-65535", self.port)
        if self.device_id:
            require(
                DEVICE_ID.fullmatch(self.device_id) is not None,
                "device_id",
                "1-64 letters, digits, '_' or '-' (what Home Assistant accepts in a discovery id)",
                self.device_id[:80],
            )
        require_topic_level(self.prefix, "prefix")
        require_topic_level(self.discovery_prefix, "discovery_prefix", empty_ok=False)
        require(self.protocol in ("5", "3.1.1"), "protocol", "'5' or '3.1.1'", self.protocol)
        require(5 <= self.keepalive <= 65535, "keepalive", "5-65535 seconds", self.keepalive)
        require(self.qos in (0, 1, 2), "qos", "0, 1 or 2", self.qos)
        require(self.heartbeat_s > 0, "heartbeat_s", "> 0", self.heartbeat_s)
        require(self.stats_interval_s > 0, "stats_interval_s", "> 0", self.stats_interval_s)
        require(self.faces_interval_s >= 0, "faces_interval_s", ">= 0", self.faces_interval_s)
        require(self.queue_size >= 1, "queue_size", "at least 1", self.queue_size)
        require(self.reconnect_max_s >= 1, "reconnect_max_s", "at least 1 second", self.reconnect_max_s)
        if self.tls and self.cert_file and not self.key_file:
            raise ConfigError("key_file: needed with mqtt.cert_file")


@dataclass(frozen=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_mb: float = 10.0

    def __post_init__(self):
        require(bool(self.host.strip()), "host", "a host name or address", self.host)
        require(0 < self.port < 65536, "port", "a port number 1-65535", self.port)
        require(self.max_body_mb > 0, "max_body_mb", "> 0", self.max_body_mb)


@dataclass(frozen=True)
class RuntimeConfig:
    threads: int = 1
    enabled: bool = True  # false: frames are read but not analysed (privacy switch)

    def __post_init__(self):
        require(1 <= self.threads <= 64, "threads", "1-64", self.threads)


@dataclass(frozen=True)
class Config:
    source: SourceOptions = field(default_factory=SourceOptions)
    detector: DetectorOptions = field(default_factory=DetectorOptions)
    motion: MotionOptions = field(default_factory=MotionOptions)
    tracking: TrackingOptions = field(default_factory=TrackingOptions)
    emotion: EmotionOptions = field(default_factory=EmotionOptions)
    scene: SceneOptions = field(default_factory=SceneOptions)
    recommend: RecommendOptions = field(default_factory=RecommendOptions)
    learn: LearnOptions = field(default_factory=LearnOptions)
    play: PlayOptions = field(default_factory=PlayOptions)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    web: WebOptions = field(default_factory=WebOptions)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    @property
    def device_id(self) -> str:
        return self.mqtt.device_id or socket.gethostname().split(".")[0]

    @property
    def topic_prefix(self) -> str:
        return self.mqtt.prefix or f"moodcast/{self.device_id}"

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS: dict[str, type] = {f.name: typing.get_type_hints(Config)[f.name] for f in dataclasses.fields(Config)}


def _field_types(section_cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(section_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(section_cls)}


def _coerce(value: object, kind: object, key: str) -> object:
    """``value`` (from TOML or a string from env/flags) as the field's type, or ConfigError."""
    if isinstance(value, str) and any(ord(c) < 32 or ord(c) == 127 for c in value):
        # A CRLF env file leaves '\r' at the end of every value; in a client id or topic it makes
        # the broker drop the connection, in a log line it splits the line.
        raise ConfigError(f"{key}: control characters in {value[:80]!r} (an env file saved with CRLF line ends?)")
    if typing.get_origin(kind) is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table")
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return parse_bool(value)
            except ValueError:
                pass
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if kind in (int, float):
        what = "an integer" if kind is int else "a number"
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected {what}, got {value!r}")
        if not isinstance(value, (int, float, str)):
            raise ConfigError(f"{key}: expected {what}, got {value!r}")
        try:
            number = int(value) if kind is int else float(value)
        except (TypeError, ValueError, OverflowError):
            raise ConfigError(f"{key}: expected {what}, got {value!r}") from None
        if not math.isfinite(number):  # nan and inf pass float() and then break arithmetic, JSON and sleeps
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return number
    if kind is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{key}: expected a string, got {type(value).__name__}")
        return str(value)
    return value


def apply(values: dict[str, dict], layer: dict, origin: str) -> None:
    """Add one layer of ``{section: {key: value}}`` to ``values``, checking each key and type;
    tables (recommend.genres, recommend.match, play.targets, play.aliases) add to and override those below."""
    for section, table in layer.items():
        if section not in SECTIONS:
            raise ConfigError(f"{section}: unknown section in {origin}; known: {', '.join(sorted(SECTIONS))}")
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: expected a table in {origin}")
        kinds = _field_types(SECTIONS[section])
        target = values.setdefault(section, {})
        for key, value in table.items():
            if key not in kinds:
                raise ConfigError(
                    f"{section}.{key}: unknown key in {origin}; known in [{section}]: {', '.join(sorted(kinds))}"
                )
            value = _coerce(value, kinds[key], f"{section}.{key}")
            target[key] = {**target[key], **value} if isinstance(value, dict) and key in target else value


def build(values: dict[str, dict]) -> Config:
    """The Config of checked ``values``: each section is constructed, so validated, once."""
    sections = {}
    for name, cls in SECTIONS.items():
        table = dict(values.get(name, {}))
        defaults = cls()
        for key, value in table.items():
            if isinstance(value, dict):
                table[key] = {**getattr(defaults, key), **value}
        try:
            sections[name] = cls(**table)
        except ConfigError as exc:
            raise ConfigError(f"{name}.{exc}") from None
    return Config(**sections)


def from_environment(environ: typing.Mapping[str, str]) -> dict:
    """``MOODCAST_SECTION_KEY=value`` pairs as nested values (section is the first word)."""
    values: dict[str, dict] = {}
    for name, value in environ.items():
        if not name.startswith("MOODCAST_") or name in NOT_SETTINGS:
            continue
        section, _, key = name[len("MOODCAST_") :].lower().partition("_")
        if section not in SECTIONS or not key:
            raise ConfigError(f"{name}: not a moodcast setting; use MOODCAST_<SECTION>_<KEY>, e.g. MOODCAST_MQTT_HOST")
        values.setdefault(section, {})[key] = value
    return values


def load(
    path: str | Path | None = None,
    overrides: dict | typing.Sequence[dict] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Config:
    """Defaults, then the TOML file, then the environment, then ``overrides`` (from flags): one
    layer, or several in order, each checked before the next replaces any of its values."""
    values: dict[str, dict] = {}
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"--config: cannot read {path} ({exc.strerror})") from None
        try:
            layer = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"--config: {path} is not valid TOML ({exc})") from None
        apply(values, layer, str(path))
    apply(values, from_environment(os.environ if environ is None else environ), "the environment")
    for layer in [overrides] if isinstance(overrides, dict) else overrides or ():
        apply(values, layer, "the command line")
    return build(values)


def parse_assignment(text: str) -> dict:
    """``section.key=value`` (from ``--set``) as nested values."""
    key, sep, value = text.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise ConfigError(f"--set {text}: expected section.key=value, e.g. --set scene.mode=room")
    return {section: {name: value}}
