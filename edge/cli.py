"""The device subcommands of ``moodcast``: run, play, analyze, serve, bench.

Each handler takes the parsed arguments and returns an exit code; errors are raised as
:class:`~edge.errors.MoodcastError` and ``moodcast``'s ``main`` turns them into exit codes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from moodcast.edge import config as cfg
from moodcast.edge.errors import SourceError
from moodcast.edge.paths import SAMPLES_DIR


def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--config FILE`` and repeatable ``--set section.key=value``."""
    p.add_argument("--config", help="TOML file (see config/moodcast.example.toml)")
    p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override one setting")
    return p


def load_config(args: argparse.Namespace, overrides: dict | None = None) -> cfg.Config:
    sets = [cfg.parse_assignment(s) for s in getattr(args, "set", None) or []]
    # Each --set and then the flags, as layers: a bad --set is refused even where a flag replaces it.
    return cfg.load(getattr(args, "config", None), [*sets, overrides or {}])


MQTT_FLAGS = (("mqtt_host", "mqtt", "host"), ("mqtt_port", "mqtt", "port"), ("device_id", "mqtt", "device_id"))


def flag_layer(args: argparse.Namespace, flags: tuple[tuple[str, str, str], ...]) -> dict[str, dict]:
    """The config layer of the command-line flags given: ``(attribute, section, key)`` each."""
    layer: dict[str, dict] = {}
    for attribute, section, key in flags:
        value = getattr(args, attribute)
        if value is not None:
            layer.setdefault(section, {})[key] = value
    return layer


def print_json_last(obj: dict) -> None:
    print(json.dumps(obj, separators=(",", ":")))


def cmd_analyze(args: argparse.Namespace) -> int:
    import cv2

    from moodcast.edge.pipeline import Pipeline
    from moodcast.edge.sources.images import IMAGE_SUFFIXES, decode, read_bytes
    from moodcast.edge.tools.annotate import draw

    config = load_config(args)
    pipeline = Pipeline.from_config(config, still=True)
    limits = (config.source.max_image_pixels, config.source.max_image_side)
    results, failed = [], 0
    images = []
    for given in map(Path, args.images):  # a folder stands for the images in it, by name
        found = sorted(p for p in given.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if given.is_dir() else [given]
        if not found:
            print(f"error: {given}: no images in this folder ({', '.join(IMAGE_SUFFIXES)})", file=sys.stderr)
            failed += 1
        images += found
    for image in images:
        try:
            decoded = decode(read_bytes(image), str(image), *limits)
        except SourceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        rgb = decoded.rgb
        result = pipeline.process(rgb)
        entry: dict[str, Any] = {"image": str(image), "width": decoded.width, "height": decoded.height}
        entry.update(result.as_dict(box_scale=1 / decoded.scale))
        results.append(entry)
        if args.annotate:
            out_dir = Path(args.annotate)
            out_dir.mkdir(parents=True, exist_ok=True)
            out = out_dir / (Path(image).stem + ".png")
            cv2.imwrite(str(out), cv2.cvtColor(draw(rgb, result), cv2.COLOR_RGB2BGR))
            entry["annotated"] = str(out)
        if not args.json:
            scene = entry["scene"]
            unread = f", {scene['unclassified']} too small to read" if scene["unclassified"] else ""
            print(
                f"{image}: {len(entry['faces'])} face(s){unread}, scene "
                f"{scene['emotion'] or ('none readable' if unread else 'no face')}"
                f" ({scene['confidence']:.0%}), genre {entry['genre'] or '-'}"
            )
            if entry["faces_capped"]:
                cap = config.detector.max_faces
                print(
                    f"  more than {cap} faces found: the {cap} best are listed "
                    "(detector.max_faces; --set detector.max_faces=N for more)"
                )
            for i, face in enumerate(entry["faces"]):
                read = (
                    f"{face['emotion']} {face['confidence']:.0%}"
                    if face["classified"]
                    else f"not classified: {face['why']}"
                )
                print(f"  face {i}: box {face['box']} score {face['score']:.2f} {read}")
    if args.json:
        print_json_last({"images": results})
    return 1 if failed else 0


def cmd_bench(args: argparse.Namespace) -> int:
    from moodcast.edge.tools.bench import BenchReport, VideoReport, run_bench, run_video_bench

    config = load_config(args, {"runtime": {"threads": args.threads}} if args.threads else None)
    report: BenchReport | VideoReport
    if args.video:
        report = run_video_bench(config, args.input, args.passes)
    else:
        report = run_bench(config, args.input, args.frames)
    print(report.format())
    if args.json:
        print_json_last(report.as_dict())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from moodcast.edge.service.api import serve

    config = load_config(args)
    host = args.host or config.api.host
    port = args.port or config.api.port
    serve(config, host, port, announce=lambda line: print(line, flush=True))
    return 0


def cmd_web(args: argparse.Namespace) -> int:
    from moodcast.edge.web.server import serve_web

    config = load_config(args, flag_layer(args, (("host", "web", "host"), ("port", "web", "port"), *MQTT_FLAGS)))
    # doctor reads the same file and settings; the flags given as the settings they stand for.
    same = ["--config", args.config] if args.config else []
    same += [arg for assignment in args.set or [] for arg in ("--set", assignment)]
    for section, values in flag_layer(args, MQTT_FLAGS).items():
        same += [arg for key, value in values.items() for arg in ("--set", f"{section}.{key}={value}")]
    serve_web(config, config.web.host, config.web.port, same, announce=lambda line: print(line, flush=True))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from moodcast.edge.tools.doctor import as_dict, format_checks, run_checks

    checks = run_checks(load_config(args), broker=not args.no_broker, source=not args.no_source)
    print(format_checks(checks))
    report = as_dict(checks)
    if args.json:
        print_json_last(report)
    return 1 if report["status"] == "fail" else 0


def cmd_run(args: argparse.Namespace) -> int:
    from moodcast.edge.service.daemon import Ending, run_daemon
    from moodcast.edge.tools.annotate import preview_jpeg

    flags = flag_layer(args, (("source", "source", "uri"), *MQTT_FLAGS))
    if args.loop:
        flags.setdefault("source", {})["loop"] = True
    config = load_config(args, flags)
    if run_daemon(config, max_frames=args.max_frames, render=preview_jpeg) is Ending.RELOAD:
        # The same command in the same process (systemd keeps its PID): every file read anew.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, sys.orig_argv)
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    from moodcast.edge.player.service import run_player

    flags = flag_layer(args, (*MQTT_FLAGS, ("mpd_host", "play", "host"), ("mpd_port", "play", "port")))
    run_player(load_config(args, flags))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    """Add run, play, analyze, serve, web, doctor and bench to ``moodcast``'s subcommands."""
    p = with_config(sub.add_parser("run", help="the daemon: camera -> MQTT"))
    p.add_argument("--source", help="picamera2[:N], camera index, /dev/videoN, stream URL, video, image or folder")
    p.add_argument("--mqtt-host")
    p.add_argument("--mqtt-port", type=int)
    p.add_argument("--device-id")
    p.add_argument("--loop", action="store_true", help="repeat a video file at its end")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: no limit)")
    p.set_defaults(func=cmd_run)

    p = with_config(
        sub.add_parser("play", help="follow the daemon's genre on MPD and feed back skips (needs the [play] extra)")
    )
    p.add_argument("--mqtt-host")
    p.add_argument("--mqtt-port", type=int)
    p.add_argument("--device-id", help="the daemon's mqtt.device_id (whose .../state to follow)")
    p.add_argument("--mpd-host")
    p.add_argument("--mpd-port", type=int)
    p.set_defaults(func=cmd_play)

    p = with_config(sub.add_parser("analyze", help="faces, emotions and a genre for images"))
    p.add_argument("images", nargs="+", help="image files, or folders of them")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    p.add_argument("--annotate", metavar="OUT_DIR", help="write a PNG with boxes and labels per image")
    p.set_defaults(func=cmd_analyze)

    p = with_config(sub.add_parser("serve", help="HTTP API (needs the [api] extra)"))
    p.add_argument("--host", help=f"default {cfg.ApiConfig.host} (api.host)")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = with_config(
        sub.add_parser("web", help="the page on the device: mood, timeline, what it learned (needs the [api] extra)")
    )
    p.add_argument("--host", help=f"default {cfg.WebOptions.host} (web.host); another address needs MOODCAST_WEB_TOKEN")
    p.add_argument("--port", type=int, help=f"default {cfg.WebOptions.port} (web.port)")
    p.add_argument("--mqtt-host")
    p.add_argument("--mqtt-port", type=int)
    p.add_argument("--device-id", help="the daemon's mqtt.device_id (whose topics to follow)")
    p.set_defaults(func=cmd_web)

    p = with_config(
        sub.add_parser("doctor", help="check the runtime, models, camera, broker and system; the fix for each")
    )
    p.add_argument("--no-broker", action="store_true", help="skip the broker round trip")
    p.add_argument("--no-source", action="store_true", help="skip opening the camera or source")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)

    p = with_config(sub.add_parser("bench", help="per-stage latency, fps and memory"))
    p.add_argument("--input", default=str(SAMPLES_DIR / "astronaut.jpg"), help="image or video")
    p.add_argument("--threads", type=int, help="interpreter threads (default: runtime.threads)")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument(
        "--video",
        action="store_true",
        help="a clip as the daemon runs it (frame rate, fps cap, motion gate, tracking): CPU and what was skipped",
    )
    p.add_argument("--passes", type=int, default=1, help="--video: times through the clip")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
