"""``moodcast doctor``: what a Pi user checks when something is wrong, or before enabling the
service. Each check says ok, warn or fail, what it found, and the fix in one line."""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from moodcast.edge.config import Config
from moodcast.edge.errors import MoodcastError
from moodcast.edge.install import add_extra_command
from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.tools.machine import FAIL, OK, WARN, Check, check_system, check_versions


def shipped_hashes() -> dict[str, str]:
    """File name -> sha256 as the model cards in models/ record it."""
    hashes = {}
    for card in MODELS_DIR.glob("*.json"):
        data = json.loads(card.read_text())
        if "sha256" in data:
            hashes[data["model"]] = data["sha256"]
        if "conversion" in data:
            hashes[data["model"]] = data["conversion"]["sha256"]
        for entry in data.get("files", {}).values():
            hashes[entry["file"]] = entry["sha256"]
    return hashes


def check_runtime() -> Check:
    from moodcast.edge.vision.runtime import RUNTIMES, interpreter_class

    try:
        name, _ = interpreter_class()
    except MoodcastError:
        return Check("runtime", FAIL, "no TFLite runtime is installed", add_extra_command("litert"))
    dist = {"ai_edge_litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime", "tensorflow": "tensorflow"}[name]
    version = importlib.metadata.version(dist)
    if name != RUNTIMES[0]:
        fix = f"{add_extra_command('litert')} (about 9x faster int8 than tflite-runtime)"
        return Check("runtime", WARN, f"{dist} {version}", fix)
    return Check("runtime", OK, f"{dist} {version}")


def check_models(config: Config, runtime: bool = True) -> list[Check]:
    """Each model the config uses: it loads in its stage (when a runtime is there to load it: a
    missing runtime is its own one failure), and its bytes are the shipped ones."""
    from moodcast.edge.vision.detectors import create_detector
    from moodcast.edge.vision.emotion import EmotionClassifier

    known = shipped_hashes()
    checks = []
    stages: list[tuple[str, list[Path], Callable[[], object]]] = [
        ("detector", config.detector.model_files(), lambda: create_detector(config.detector)),
        ("emotion model", [Path(config.emotion.model)], lambda: EmotionClassifier(config.emotion)),
    ]
    for name, files, load in stages:
        missing = [path for path in files if not path.is_file()]
        if missing:
            checks.append(
                Check(name, FAIL, f"{missing[0]}: model file not found", "set the model path, or reinstall moodcast")
            )
            continue
        try:
            if runtime:
                load()
        except MoodcastError as exc:
            checks.append(Check(name, FAIL, str(exc), "a model of your own: check it; else reinstall moodcast"))
            continue
        loaded = "loads" if runtime else "not loaded (no runtime)"
        for path in files:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if path.name not in known:
                checks.append(Check(f"{name} {path.name}", WARN, f"{loaded}; sha256 {digest[:12]}..., no model card"))
            elif known[path.name] != digest:
                checks.append(
                    Check(
                        f"{name} {path.name}",
                        WARN,
                        f"sha256 {digest[:12]}... is not the card's {known[path.name][:12]}...",
                        "a model of your own is fine; else reinstall moodcast",
                    )
                )
            else:
                checks.append(Check(f"{name} {path.name}", OK, f"{loaded}; sha256 matches its card"))
    return checks


def check_source(config: Config, frames: int = 10, timeout_s: float = 10.0) -> Check:
    """The configured source opened and a few frames read: size, rate, exposure."""
    from moodcast.edge.sources import open_source

    try:
        source = open_source(config.source)
    except MoodcastError as exc:
        return Check("source", FAIL, str(exc), "set [source] uri (docs/configuration.md)")
    got, started = [], time.monotonic()
    try:
        for frame in source.frames():
            got.append(frame.rgb)
            if len(got) >= frames or time.monotonic() - started > timeout_s:
                break
    except MoodcastError as exc:
        return Check("source", FAIL, str(exc), "check the cable or URL, and that this user is in the 'video' group")
    finally:
        source.close()
    if not got:
        return Check("source", FAIL, f"{config.source.uri}: no frame in {timeout_s:g} s", "check the camera")
    h, w = got[0].shape[:2]
    brightness = float(np.mean([g.mean() for g in got]))
    detail = f"{config.source.uri}: {w}x{h}, {len(got)} frames in {time.monotonic() - started:.1f} s, "
    detail += f"mean brightness {brightness:.0f}/255"
    if brightness < 40:
        return Check("source", WARN, detail + " (too dark)", "more light, or the camera's exposure")
    if brightness > 215:
        return Check("source", WARN, detail + " (too bright)", "less light, or the camera's exposure")
    return Check("source", OK, detail)


def check_broker(config: Config, timeout_s: float = 5.0) -> list[Check]:
    """Connect as the daemon would (auth, TLS), publish and receive on a topic of our own, and
    look for Home Assistant's retained status."""

    from moodcast.edge.service.broker import make_client

    m = config.mqtt
    where = f"{m.host}:{m.port}"
    try:
        client = make_client(config, f"moodcast-doctor-{secrets.token_hex(4)}")
    except MoodcastError as exc:
        return [Check("broker", FAIL, str(exc), "check [mqtt] ca_file, cert_file, key_file, password_file")]
    connected, echoed, status = threading.Event(), threading.Event(), []
    refused: list[str] = []
    probe = f"{config.topic_prefix}/doctor/{secrets.token_hex(4)}"

    def on_connect(c, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            refused.append(str(reason_code))
            connected.set()
            return
        c.subscribe([(probe, 1), (f"{m.discovery_prefix}/status", 1)])
        connected.set()

    def on_subscribe(c, userdata, mid, reason_codes, properties):
        c.publish(probe, "ping", qos=1)

    def on_message(c, userdata, message):
        if message.topic == probe:
            echoed.set()
        else:
            status.append(message.payload.decode(errors="replace"))

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(m.host, m.port, keepalive=m.keepalive)
    except (OSError, ValueError) as exc:
        return [Check("broker", FAIL, f"{where}: {exc}", "is the broker running there? check [mqtt] host, port, tls")]
    client.loop_start()
    try:
        if not connected.wait(timeout_s):
            return [Check("broker", FAIL, f"{where}: no answer in {timeout_s:g} s", "check the broker and firewall")]
        if refused:
            return [Check("broker", FAIL, f"{where} refused: {refused[0]}", "check [mqtt] username and the password")]
        if not echoed.wait(timeout_s):
            return [Check("broker", FAIL, f"{where}: connected, but {probe} did not come back", "check the ACL")]
        checks = [Check("broker", OK, f"{where}: connected, a message went round on {probe}")]
        time.sleep(0.2)  # a retained status arrives right after the subscription
        if status:
            checks.append(Check("home assistant", OK, f"{m.discovery_prefix}/status says {status[-1]!r}"))
        else:
            checks.append(
                Check(
                    "home assistant",
                    WARN,
                    f"no retained {m.discovery_prefix}/status",
                    "fine without Home Assistant; else enable its MQTT integration on this broker",
                )
            )
        return checks
    finally:
        client.loop_stop()
        client.disconnect()


def run_checks(config: Config, broker: bool = True, source: bool = True) -> list[Check]:
    runtime = check_runtime()
    checks = [runtime, *check_models(config, runtime=runtime.status != FAIL)]
    if source:
        checks.append(check_source(config))
    if broker:
        checks += check_broker(config)
    return [*checks, *check_system(), *check_versions()]


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{c.status.upper():<5} {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != OK:
            lines.append(f"{'':<5} {'':<{width}}  fix: {c.fix}")
    return "\n".join(lines)


def as_dict(checks: list[Check]) -> dict:
    worst = FAIL if any(c.status == FAIL for c in checks) else WARN if any(c.status == WARN for c in checks) else OK
    return {"status": worst, "checks": [asdict(c) for c in checks]}
