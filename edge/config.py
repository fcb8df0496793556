"""moodcast's configuration: typed sections, read from TOML, ``MOODCAST_*`` environment and flags.

Precedence: defaults < TOML file < environment (``MOODCAST_<SECTION>_<KEY>``, e.g.
``MOODCAST_MQTT_HOST``) < command-line flags. Every error names the key it is about.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from edge.detectors import BACKENDS
from edge.recommend import DEFAULT_GENRES, DEFAULT_MATCH, RecommendOptions
from edge.scene import SceneOptions

REPO = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO / "models"
SAMPLES_DIR = REPO / "samples"


# MOODCAST_* variables that are not config keys: the secret (read where it is used) and the log level.
NOT_SETTINGS = ("MOODCAST_MQTT_PASSWORD", "MOODCAST_LOG")


class ConfigError(ValueError):
    """A bad key or value; the message starts with the key."""


@dataclass
class SourceConfig:
    uri: str = str(SAMPLES_DIR / "astronaut.avi")  # picamera2[:N], camera index, /dev/videoN, URL, file, folder
    fps_cap: float = 10.0  # frames per second processed at most; 0 = no cap
    loop: bool = False  # repeat a video file or image folder at its end
    realtime: bool = True  # play a video file at its own frame rate
    width: int = 640  # requested from cameras
    height: int = 480
    retry_max_s: float = 30.0  # longest wait between reopen attempts of a failed source


@dataclass
class DetectorConfig:
    name: str = "blazeface-onet"  # or blazeface-full, blazeface-short, mtcnn
    model: str = ""  # "" = the shipped models; else a folder with the backend's files (or the one .tflite)
    score_threshold: float = 0.0  # 0 = the backend's default (0.5; MTCNN 0.8)
    max_faces: int = 10
    # blazeface-onet: BlazeFace score a face needs to be checked by R-Net and O-Net (0.1: ~0.3 ms
    # faster per frame, 0.8 points less AP50 on faces-dev; models/README.md)
    proposal_floor: float = 0.05


@dataclass
class EmotionConfig:
    model: str = str(MODELS_DIR / "emotion.tflite")
    margin: float = 0.10
    shift_y: float = -0.10
    flip_average: bool = True  # average each face with its mirror image (one batched invoke)


@dataclass
class SceneConfig:
    mode: str = "largest"
    smoothing_s: float = 1.5
    min_dwell_s: float = 3.0
    switch_margin: float = 0.1
    no_face_after_s: float = 2.0


@dataclass
class RecommendConfig:
    strategy: str = "match"
    idle_genre: str = ""
    step_valence: float = 0.15
    step_s: float = 120.0
    goal_valence: float = 0.5
    goal_arousal: float = 0.3
    genres: dict[str, list[float]] = field(default_factory=lambda: {k: list(v) for k, v in DEFAULT_GENRES.items()})
    match: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_MATCH))


@dataclass
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


@dataclass
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_mb: float = 10.0


@dataclass
class RuntimeConfig:
    threads: int = 1
    enabled: bool = True  # false: frames are read but not analysed (privacy switch)


@dataclass
class Config:
    source: SourceConfig = field(default_factory=SourceConfig)
    detector: DetectorConfig = field(default_factory=DetectorConfig)
    emotion: EmotionConfig = field(default_factory=EmotionConfig)
    scene: SceneConfig = field(default_factory=SceneConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    @property
    def device_id(self) -> str:
        return self.mqtt.device_id or socket.gethostname().split(".")[0]

    @property
    def topic_prefix(self) -> str:
        return self.mqtt.prefix or f"moodcast/{self.device_id}"

    def detector_models(self) -> Path:
        return Path(self.detector.model) if self.detector.model else MODELS_DIR

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def scene_options(self) -> SceneOptions:
        c = self.scene
        return SceneOptions(c.mode, c.smoothing_s, c.min_dwell_s, c.switch_margin, c.no_face_after_s)

    def recommend_options(self) -> RecommendOptions:
        c = self.recommend
        genres = {name: (float(v), float(a)) for name, (v, a) in c.genres.items()}
        return RecommendOptions(
            c.strategy, genres, dict(c.match), c.idle_genre, c.step_valence, c.step_s, c.goal_valence, c.goal_arousal
        )


def _coerce(value: object, kind: object, key: str) -> object:
    """``value`` (from TOML or a string from env/flags) as the field's type, or ConfigError."""
    origin = typing.get_origin(kind)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a table")
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if kind is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if kind is float:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected a number, got {value!r}") from None
    if kind is str:
        if isinstance(value, (dict, list)):
            raise ConfigError(f"{key}: expected a string, got {type(value).__name__}")
        return str(value)
    return value


def _section_types(section_cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(section_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(section_cls)}


def apply(config: Config, values: dict, origin: str) -> None:
    """Set ``{section: {key: value}}`` on ``config``; unknown sections and keys are errors."""
    sections = {f.name for f in dataclasses.fields(Config)}
    for section, table in values.items():
        if section not in sections:
            raise ConfigError(f"{section}: unknown section in {origin}; known: {', '.join(sorted(sections))}")
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: expected a table in {origin}")
        target = getattr(config, section)
        kinds = _section_types(type(target))
        for key, value in table.items():
            if key not in kinds:
                raise ConfigError(
                    f"{section}.{key}: unknown key in {origin}; known in [{section}]: {', '.join(sorted(kinds))}"
                )
            value = _coerce(value, kinds[key], f"{section}.{key}")
            if isinstance(value, dict):  # tables (genres, match) add to and override the defaults
                value = {**getattr(target, key), **value}
            setattr(target, key, value)


def from_environment(environ: typing.Mapping[str, str]) -> dict:
    """``MOODCAST_SECTION_KEY=value`` pairs as nested values (section is the first word)."""
    values: dict[str, dict] = {}
    sections = {f.name for f in dataclasses.fields(Config)}
    for name, value in environ.items():
        if not name.startswith("MOODCAST_") or name in NOT_SETTINGS:
            continue
        section, _, key = name[len("MOODCAST_") :].lower().partition("_")
        if section not in sections or not key:
            raise ConfigError(f"{name}: not a moodcast setting; use MOODCAST_<SECTION>_<KEY>, e.g. MOODCAST_MQTT_HOST")
        values.setdefault(section, {})[key] = value
    return values


def load(
    path: str | Path | None = None,
    overrides: dict | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Config:
    """Defaults, then the TOML file, then the environment, then ``overrides`` (from flags)."""
    config = Config()
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"--config: cannot read {path} ({exc.strerror})") from None
        try:
            apply(config, tomllib.loads(text), str(path))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"--config: {path} is not valid TOML ({exc})") from None
    apply(config, from_environment(os.environ if environ is None else environ), "the environment")
    if overrides:
        apply(config, overrides, "the command line")
    validate(config)
    return config


def parse_assignment(text: str) -> dict:
    """``section.key=value`` (from ``--set``) as nested values."""
    key, sep, value = text.partition("=")
    section, dot, name = key.strip().partition(".")
    if not sep or not dot or not name:
        raise ConfigError(f"--set {text}: expected section.key=value, e.g. --set scene.mode=room")
    return {section: {name: value}}


def merge(*dicts: dict) -> dict:
    out: dict[str, dict] = {}
    for d in dicts:
        for section, table in d.items():
            out.setdefault(section, {}).update(table)
    return out


def validate(config: Config) -> None:
    """Checks that need more than a type; each names its key."""
    checks = [
        ("detector.name", config.detector.name in BACKENDS, f"one of {', '.join(BACKENDS)}"),
        ("detector.score_threshold", 0 <= config.detector.score_threshold < 1, "between 0 and 1 (0: default)"),
        ("detector.proposal_floor", 0 < config.detector.proposal_floor < 1, "between 0 and 1"),
        ("scene.mode", config.scene.mode in ("largest", "room"), "'largest' or 'room'"),
        ("recommend.strategy", config.recommend.strategy in ("match", "uplift"), "'match' or 'uplift'"),
        ("mqtt.port", 0 < config.mqtt.port < 65536, "a port number 1-65535"),
        ("mqtt.protocol", config.mqtt.protocol in ("5", "3.1.1"), "'5' or '3.1.1'"),
        ("mqtt.qos", config.mqtt.qos in (0, 1, 2), "0, 1 or 2"),
        ("mqtt.keepalive", config.mqtt.keepalive >= 5, "at least 5 seconds"),
        ("mqtt.queue_size", config.mqtt.queue_size >= 1, "at least 1"),
        ("mqtt.heartbeat_s", config.mqtt.heartbeat_s > 0, "> 0"),
        ("api.port", 0 < config.api.port < 65536, "a port number 1-65535"),
        ("api.max_body_mb", config.api.max_body_mb > 0, "> 0"),
        ("source.fps_cap", config.source.fps_cap >= 0, ">= 0"),
        ("runtime.threads", config.runtime.threads >= 1, "at least 1"),
    ]
    for key, ok, expected in checks:
        if not ok:
            section, name = key.split(".")
            raise ConfigError(f"{key}: must be {expected}, got {getattr(getattr(config, section), name)!r}")
    if config.mqtt.tls and config.mqtt.cert_file and not config.mqtt.key_file:
        raise ConfigError("mqtt.key_file: needed with mqtt.cert_file")
    for genre, coords in config.recommend.genres.items():
        if not (isinstance(coords, list | tuple) and len(coords) == 2):
            raise ConfigError(f"recommend.genres.{genre}: expected [valence, arousal]")
    try:
        config.scene_options()
        config.recommend_options()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
